/*
 * short11.c - a test handler built against the 1.0 header that claims ABI
 * 1.1: its plugsrv_handler is the smaller 1.0 struct, without eof() and
 * stop(). plugsrv must refuse it rather than read past its end.
 */
#include "handler.h"

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.abi_minor = 1;
    handler.name = "short11";
    return &handler;
}
