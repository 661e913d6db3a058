/* whoami.c - a test handler that writes "uid=U gid=G\n" (its process's
 * real uid and gid) when a client connects, then closes. */
#include <stdio.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static int
whoami_open(plugsrv_conn *conn, void *ms, void **cs)
{
    char msg[64];
    int n;

    (void)ms;
    (void)cs;
    n = snprintf(msg, sizeof(msg), "uid=%ld gid=%ld\n", (long)getuid(),
                 (long)getgid());
    if (host->write(conn, msg, (size_t)n) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "whoami";
    handler.open = whoami_open;
    return &handler;
}
