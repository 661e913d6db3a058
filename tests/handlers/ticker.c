/*
 * ticker.c - a test handler that pushes "tick N\n" every interval_ms (100
 * by default) with an ABI 1.1 timer while it echoes its input, proving
 * that timers and input are served together. Its eof() says "eof\n" and
 * closes; its stop() says "bye\n" and closes. Option "peer": true first
 * writes "peer IP PORT local IP PORT listener NAME\n".
 */
#include <stdio.h>

#include "handler.h"

static const plugsrv_host *host;
static long long interval = 100;
static int say_peer;
static plugsrv_timer *timer;
static unsigned ticks;

static int
ticker_init(const plugsrv_options *opts, void **module_state, char *err,
            size_t errlen)
{
    (void)module_state;
    if (host->opt_int(opts, "interval_ms", 100, &interval) != PLUGSRV_OK ||
        interval < 0 ||
        host->opt_bool(opts, "peer", 0, &say_peer) != PLUGSRV_OK) {
        snprintf(err, errlen, "bad option");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static int
ticker_tick(plugsrv_conn *conn, void *arg)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "tick %u\n", ++ticks);

    (void)arg;
    if (host->write_queued(conn, line, (size_t)n) == PLUGSRV_ERROR)
        return PLUGSRV_ERROR;
    return host->timer_set(conn, timer, interval);
}

static int
ticker_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    char line[256];
    int n;

    (void)module_state, (void)conn_state;
    if (say_peer) {
        n = snprintf(
            line, sizeof(line), "peer %s %d local %s %d listener %s\n",
            host->peer_ip(conn), host->peer_port(conn), host->local_ip(conn),
            host->local_port(conn), host->listener_name(conn));
        if (host->write(conn, line, (size_t)n) != PLUGSRV_OK)
            return PLUGSRV_ERROR;
    }
    timer = host->timer_add(conn, interval, ticker_tick, NULL);
    return timer != NULL ? PLUGSRV_OK : PLUGSRV_ERROR;
}

static int
ticker_data(plugsrv_conn *conn, void *conn_state, const char *buf, size_t len)
{
    (void)conn_state;
    return host->write(conn, buf, len);
}

static int
ticker_eof(plugsrv_conn *conn, void *conn_state)
{
    (void)conn_state;
    host->timer_cancel(conn, timer);
    if (host->write_queued(conn, "eof\n", 4) == PLUGSRV_ERROR)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

static int
ticker_stop(plugsrv_conn *conn, void *conn_state)
{
    (void)conn_state;
    if (host->write_queued(conn, "bye\n", 4) == PLUGSRV_ERROR)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "ticker";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.init = ticker_init;
    handler.open = ticker_open;
    handler.data = ticker_data;
    handler.eof = ticker_eof;
    handler.stop = ticker_stop;
    return &handler;
}
