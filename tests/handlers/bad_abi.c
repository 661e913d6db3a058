/* bad_abi.c - a test module built for a future ABI 2: it exports only
 * plugsrv_handler_v2. plugsrv (ABI 1) must refuse it with a message that
 * names both versions. */
#include "handler.h"

PLUGSRV_EXPORT const void *plugsrv_handler_v2(const void *host);

PLUGSRV_EXPORT const void *
plugsrv_handler_v2(const void *host)
{
    (void)host;
    return 0;
}
