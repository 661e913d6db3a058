/* init_fail.c - a test handler whose init() refuses its options with
 * "option x: refused by test": plugsrv must fail the start with it. */
#include <stdio.h>

#include "handler.h"

static int
init_fail_init(const plugsrv_options *opts, void **ms, char *err,
               size_t errlen)
{
    (void)opts;
    (void)ms;
    snprintf(err, errlen, "option x: refused by test");
    return PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.name = "init_fail";
    handler.init = init_fail_init;
    return &handler;
}
