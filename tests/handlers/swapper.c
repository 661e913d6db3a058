/* swapper.c - a test echo handler whose constructor, in the first process
 * that loads it (plugsrv's probe), installs another module over its own
 * path: rename(2) of the file named by PLUGSRV_TEST_SWAP_FROM onto
 * PLUGSRV_TEST_SWAP_TO. plugsrv must go on to load the file it proved,
 * not the one now at that path. */
#include <stdio.h>
#include <stdlib.h>

#include "handler.h"

static const plugsrv_host *host;

__attribute__((constructor)) static void
swapper_load(void)
{
    const char *from = getenv("PLUGSRV_TEST_SWAP_FROM");
    const char *to = getenv("PLUGSRV_TEST_SWAP_TO");

    /* Only the first time: later loads find nothing left to move. */
    if (from != NULL && to != NULL && rename(from, to) != 0) {
        /* Done already. */
    }
}

static int
swapper_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "swapper";
    handler.data = swapper_data;
    return &handler;
}
