/* loop.c - a test handler that greets, then spins on the CPU on its first
 * data, as a runaway handler would. Only rlimits.cpu should end it; the
 * spin gives up by itself after 60 s of wall time so that a daemon without
 * CPU limits cannot hang the test machine. */
#include <time.h>

#include "handler.h"

static const plugsrv_host *host;

static int
loop_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "loop\n", 5);
}

static int
loop_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    struct timespec start, now;
    volatile unsigned long spins = 0;

    (void)cs;
    (void)buf;
    (void)len;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        spins++;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 60);
    host->log(conn, PLUGSRV_LOG_ERROR, "loop: not stopped after 60 s");
    return PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "loop";
    handler.open = loop_open;
    handler.data = loop_data;
    return &handler;
}
