/*
 * echo10.c - an echo handler built against a copy of the ABI 1.0 header
 * (handler.h in this folder, as it was before 1.1): its plugsrv_handler is
 * the smaller 1.0 struct and says minor 0. It proves that a 1.0 module
 * still loads and serves on a 1.1 host, unchanged. It also writes
 * "stdio ok\n" first if its stdin and stdout are /dev/null.
 */
#include <string.h>
#include <sys/stat.h>

#include "handler.h"

static const plugsrv_host *host;

static int
echo10_null(int fd)
{
    struct stat a, b;

    return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 &&
           a.st_rdev == b.st_rdev && S_ISCHR(a.st_mode);
}

static int
echo10_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    (void)module_state, (void)conn_state;
    if (echo10_null(0) && echo10_null(1))
        return host->write(conn, "stdio ok\n", 9);
    return host->write(conn, "stdio not null\n", 15);
}

static int
echo10_data(plugsrv_conn *conn, void *state, const char *buf, size_t len)
{
    (void)state;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "echo10";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.open = echo10_open;
    handler.data = echo10_data;
    /* Compiled against 1.0: these must be the 1.0 values. */
    if (handler.abi_minor != 0 || host->abi_minor < 1)
        return NULL;
    return &handler;
}
