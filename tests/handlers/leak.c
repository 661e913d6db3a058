/* leak.c - a test handler that greets, then on its first data allocates
 * and touches memory as fast as it can, keeping every block. Only
 * rlimits.as should stop it: when malloc() fails it logs "out of memory"
 * and fails the connection. It stops by itself at 1 GiB so that a daemon
 * without memory limits cannot take the test machine down. */
#include <stdlib.h>

#include "handler.h"

#define BLOCK      (1024 * 1024)
#define MAX_BLOCKS 1024

struct block {
    struct block *next;
};

static const plugsrv_host *host;
static struct block *volatile kept;

static int
leak_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "leak\n", 5);
}

static int
leak_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    int n;

    (void)cs;
    (void)buf;
    (void)len;
    for (n = 0; n < MAX_BLOCKS; n++) {
        volatile char *p = malloc(BLOCK);
        size_t i;

        if (p == NULL) {
            host->log(conn, PLUGSRV_LOG_ERROR,
                      "leak: out of memory after %d MiB", n);
            return PLUGSRV_ERROR;
        }
        for (i = 0; i < BLOCK; i += 4096)
            p[i] = 1;
        ((struct block *)p)->next = kept;
        kept = (struct block *)p;
    }
    host->log(conn, PLUGSRV_LOG_ERROR, "leak: no limit after %d MiB", n);
    return PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "leak";
    handler.open = leak_open;
    handler.data = leak_data;
    return &handler;
}
