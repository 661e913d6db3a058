/* block.c - a test handler that greets, then blocks on its first data and
 * never reads again, whatever signals arrive (an interrupted wait just
 * waits again). Something outside the handler must end it. It gives up by
 * itself after 60 s so that a daemon that never does cannot hang a test. */
#include <poll.h>
#include <time.h>

#include "handler.h"

static const plugsrv_host *host;

static int
block_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "block\n", 6);
}

static int
block_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    struct timespec start, now;
    int i;

    (void)cs;
    (void)buf;
    (void)len;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < 100000; i++) {
        poll(NULL, 0, 1000);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 60)
            break;
    }
    host->log(conn, PLUGSRV_LOG_ERROR, "block: not stopped after 60 s");
    return PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "block";
    handler.open = block_open;
    handler.data = block_data;
    return &handler;
}
