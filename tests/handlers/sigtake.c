/* sigtake.c - a test echo handler whose entry point takes SIGTERM and
 * SIGUSR2 over, as a library a module uses might: a handler that does
 * nothing, restarting what it interrupts. handler.h says both are
 * plugsrv's; in a prefork process waiting for its connection plugsrv must
 * take them back, or the spare would sit in accept() through a reload
 * (serving the old config) and through a shutdown. */
#include <signal.h>
#include <string.h>

#include "handler.h"

static const plugsrv_host *host;

static void
sigtake_nothing(int sig)
{
    (void)sig;
}

static int
sigtake_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sigtake_nothing;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    host = h;
    handler.name = "sigtake";
    handler.data = sigtake_data;
    return &handler;
}
