/* slow_entry.c - a test handler whose entry point takes 60 s (waiting in
 * a bounded loop, so that it cannot hang a machine for longer): loading
 * it must be cut short by plugsrv's time limit, with a message. */
#include <poll.h>
#include <time.h>

#include "handler.h"

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;
    struct timespec start, now;
    int i;

    (void)h;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < 600; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 60)
            break;
        poll(NULL, 0, 100);
    }
    handler.name = "slow_entry";
    return &handler;
}
