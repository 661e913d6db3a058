/*
 * peeraddr.c - a test handler that says who plugsrv says the client is: on
 * open it writes "peer=<host->peer_addr()> local=<host->local_addr()>
 * ip=<peer_ip()> port=<peer_port()> lip=<local_ip()> lport=<local_port()>\n"
 * and logs it through host->log, then echoes what it gets. Behind a PROXY
 * header, all of them must be the header's addresses.
 */
#include <stdio.h>

#include "handler.h"

static const plugsrv_host *host;

static int
peeraddr_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    char line[256];
    int n;

    (void)module_state;
    *conn_state = NULL;
    n = snprintf(
        line, sizeof(line), "peer=%s local=%s ip=%s port=%d lip=%s lport=%d\n",
        host->peer_addr(conn), host->local_addr(conn), host->peer_ip(conn),
        host->peer_port(conn), host->local_ip(conn), host->local_port(conn));
    host->log(conn, PLUGSRV_LOG_INFO, "peeraddr %.*s", n - 1, line);
    return host->write(conn, line, (size_t)n);
}

static int
peeraddr_data(plugsrv_conn *conn, void *state, const char *buf, size_t len)
{
    (void)state;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "peeraddr";
    handler.open = peeraddr_open;
    handler.data = peeraddr_data;
    return &handler;
}
