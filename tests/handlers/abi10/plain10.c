/*
 * plain10.c - the bundled echo, built against the ABI 1.0 header
 * (abi10/handler.h): what bench/compare.sh's plugsrv-echo10 row runs, to
 * show that a 1.0 module is served as fast as a 1.1 one.
 */
#include "handler.h"

static const plugsrv_host *plain10_host;

static int
plain10_data(plugsrv_conn *conn, void *conn_state, const char *buf,
             size_t len)
{
    (void)conn_state;
    return plain10_host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    plain10_host = host;
    handler.name = "plain10";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.data = plain10_data;
    return &handler;
}
