/* forker.c - a test handler that forks on open: the grandchild lingers
 * (up to 30 s, holding whatever fds it inherited), the handler writes
 * "child=PID\n" so that the test can end the grandchild by its pid, then
 * closes the connection. The server must still end the connection and go
 * on serving. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static int
forker_open(plugsrv_conn *conn, void *ms, void **cs)
{
    char msg[64];
    pid_t pid;
    int n;

    (void)ms;
    (void)cs;
    pid = fork();
    if (pid < 0)
        return PLUGSRV_ERROR;
    if (pid == 0) {
        poll(NULL, 0, 30000);
        _exit(0);
    }
    n = snprintf(msg, sizeof(msg), "child=%ld\n", (long)pid);
    if (host->write(conn, msg, (size_t)n) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "forker";
    handler.open = forker_open;
    return &handler;
}
