/* abort_twice.c - a test handler whose entry point aborts when it is
 * called a second time in the same process (handler.h: "once per
 * process"), then echoes. Two listeners naming it must still start. */
#include <stdlib.h>

#include "handler.h"

static const plugsrv_host *host;

static int
abort_twice_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;
    static int calls;

    if (++calls > 1)
        abort();
    host = h;
    handler.name = "abort_twice";
    handler.data = abort_twice_data;
    return &handler;
}
