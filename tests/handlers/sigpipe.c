/* sigpipe.c - a test handler that, on its first data, keeps writing to a
 * client that has gone. host->write() must fail (never raise SIGPIPE); the
 * handler logs "write failed after N" and fails the connection. At most
 * 100000 writes of 1 KiB, so that it ends even if no write ever fails. */
#include <string.h>

#include "handler.h"

static const plugsrv_host *host;

static int
sigpipe_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    char chunk[1024];
    int i;

    (void)cs;
    (void)buf;
    (void)len;
    memset(chunk, 'p', sizeof(chunk));
    for (i = 0; i < 100000; i++) {
        if (host->write(conn, chunk, sizeof(chunk)) != PLUGSRV_OK) {
            host->log(conn, PLUGSRV_LOG_INFO, "sigpipe: write failed after %d",
                      i);
            return PLUGSRV_ERROR;
        }
    }
    host->log(conn, PLUGSRV_LOG_ERROR, "sigpipe: no write failed");
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "sigpipe";
    handler.data = sigpipe_data;
    return &handler;
}
