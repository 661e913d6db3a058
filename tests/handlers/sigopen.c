/* sigopen.c - a test echo handler whose constructor, as some runtimes do,
 * clears the signal mask of whatever process loads it, then takes a second
 * (a slow library). It says when it starts, on stderr, so that a test can
 * send a signal while it loads. In plugsrv's parent a signal that came in
 * the meantime must still be heard as plugsrv means it, not take the
 * default action of a signal that was blocked. */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

__attribute__((constructor)) static void
sigopen_load(void)
{
    struct timespec ts = { .tv_sec = 1, .tv_nsec = 0 };
    sigset_t none;

    fprintf(stderr, "sigopen-load pid=%ld\n", (long)getpid());
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    while (nanosleep(&ts, &ts) == -1)
        ;
}

static int
sigopen_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "sigopen";
    handler.data = sigopen_data;
    return &handler;
}
