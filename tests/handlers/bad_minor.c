/* bad_minor.c - a test handler that says it was built for ABI 1.99, newer
 * than any host: plugsrv must refuse it at start, naming the versions. */
#include "handler.h"

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.abi_minor = 99;
    handler.name = "bad_minor";
    return &handler;
}
