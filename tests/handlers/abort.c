/* abort.c - a test handler that greets, then calls abort() on its first
 * data: the parent must log signal=SIGABRT for this connection only. */
#include <stdlib.h>

#include "handler.h"

static const plugsrv_host *host;

static int
abort_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "abort\n", 6);
}

static int
abort_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)conn;
    (void)cs;
    (void)buf;
    (void)len;
    abort();
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "abort";
    handler.open = abort_open;
    handler.data = abort_data;
    return &handler;
}
