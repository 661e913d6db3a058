/* exit3.c - a test handler that greets, then calls exit(3) on its first
 * data: the parent must log status=3 for this connection only. */
#include <stdlib.h>

#include "handler.h"

static const plugsrv_host *host;

static int
exit3_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "exit3\n", 6);
}

static int
exit3_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)conn;
    (void)cs;
    (void)buf;
    (void)len;
    exit(3);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "exit3";
    handler.open = exit3_open;
    handler.data = exit3_data;
    return &handler;
}
