/* crash.c - a test handler that greets, then segfaults on its first data.
 * The fault is a store to a PROT_NONE page: a real SIGSEGV that no
 * sanitizer check can turn into something else. */
#include <sys/mman.h>

#include "handler.h"

static const plugsrv_host *host;

static int
crash_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    return host->write(conn, "crash\n", 6);
}

static int
crash_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    volatile char *p;

    (void)conn;
    (void)cs;
    (void)buf;
    (void)len;
    p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return PLUGSRV_ERROR;
    p[0] = 1;
    return PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "crash";
    handler.open = crash_open;
    handler.data = crash_data;
    return &handler;
}
