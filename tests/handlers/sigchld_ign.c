/* sigchld_ign.c - a test handler with a common habit: it sets SIGCHLD to
 * SIG_IGN, both in a constructor (when it is loaded) and in its entry
 * point, then echoes. Whatever process loads it loses its children's exit
 * statuses, so the parent must never run its code. */
#include <signal.h>

#include "handler.h"

static const plugsrv_host *host;

__attribute__((constructor)) static void
sigchld_ign_load(void)
{
    signal(SIGCHLD, SIG_IGN);
}

static int
sigchld_ign_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    signal(SIGCHLD, SIG_IGN);
    host = h;
    handler.name = "sigchld_ign";
    handler.data = sigchld_ign_data;
    return &handler;
}
