/* nodelete.c - an echo handler linked with -Wl,-z,nodelete, as a module
 * with C++ unique symbols ends up: once loaded, it can never be unloaded.
 * Upgrading it again and again must not leak without bound. */
#include "handler.h"

static const plugsrv_host *host;

static int
nodelete_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "nodelete";
    handler.data = nodelete_data;
    return &handler;
}
