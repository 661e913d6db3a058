/* new_minor.c - a test handler that says it was built for ABI 1.2 with a
 * struct of the 1.1 size: a 1.1 host must refuse it, naming both
 * versions (as a 1.0 host refuses a 1.1 handler). */
#include "handler.h"

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.abi_minor = PLUGSRV_ABI_MINOR + 1;
    handler.name = "new_minor";
    return &handler;
}
