/* killparent.c - a test handler that tries to SIGKILL its parent process
 * when a client connects and writes "rc=R errno=E\n" (kill()'s result),
 * then closes. With privileges separated it must get EPERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static int
killparent_open(plugsrv_conn *conn, void *ms, void **cs)
{
    char msg[64];
    int rc, e, n;

    (void)ms;
    (void)cs;
    errno = 0;
    rc = kill(getppid(), SIGKILL);
    e = errno;
    n = snprintf(msg, sizeof(msg), "rc=%d errno=%d\n", rc, e);
    if (host->write(conn, msg, (size_t)n) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "killparent";
    handler.open = killparent_open;
    return &handler;
}
