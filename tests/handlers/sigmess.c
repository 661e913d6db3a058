/* sigmess.c - a test echo handler whose constructor meddles with the
 * signals of whatever process loads it: SIGTERM and SIGHUP ignored, SIGCHLD
 * and SIGHUP unblocked. In plugsrv's parent all of it must be undone (and
 * logged), or SIGTERM would no longer stop the server. */
#include <signal.h>

#include "handler.h"

static const plugsrv_host *host;

__attribute__((constructor)) static void
sigmess_load(void)
{
    sigset_t set;

    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static int
sigmess_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "sigmess";
    handler.data = sigmess_data;
    return &handler;
}
