/* null_entry.c - a test handler whose entry point returns NULL (it "cannot
 * run with this host"): plugsrv must refuse the module at start. */
#include "handler.h"

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    (void)h;
    return NULL;
}
