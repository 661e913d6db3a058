/*
 * echo.c - the echo protocol (RFC 862): every byte the client sends comes
 * back unchanged. The smallest useful handler, and a template for others.
 */
#include "handler.h"

/* The host's services, handed to the entry point; valid for the process. */
static const plugsrv_host *echo_host;

/*
 * Stream mode hands us whatever arrived, of any length; buf is not a C
 * string, so len (not strlen) keeps this binary-safe.
 */
static int
echo_data(plugsrv_conn *conn, void *conn_state, const char *buf, size_t len)
{
    (void)conn_state;
    if (echo_host->write(conn, buf, len) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_OK;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    echo_host = host;
    handler.name = "echo";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.data = echo_data;
    return &handler;
}
