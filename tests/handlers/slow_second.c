/* slow_second.c - a test handler whose entry point takes 60 s when it is
 * called a second time in the same process (a bounded wait), then echoes.
 * Called once per process, as handler.h says, it is quick. */
#include <poll.h>
#include <time.h>

#include "handler.h"

static const plugsrv_host *host;

static int
slow_second_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;
    static int calls;
    struct timespec start, now;
    int i;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; ++calls > 1 && i < 600; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 60)
            break;
        poll(NULL, 0, 100);
    }
    host = h;
    handler.name = "slow_second";
    handler.data = slow_second_data;
    return &handler;
}
