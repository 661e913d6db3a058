/* no_entry.c - a test module that exports no entry point at all: plugsrv
 * must refuse it at start, naming the file and the missing symbol. */
#include "handler.h"

PLUGSRV_EXPORT int plugsrv_not_an_entry(void);

PLUGSRV_EXPORT int
plugsrv_not_an_entry(void)
{
    return 0;
}
