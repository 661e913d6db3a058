/*
 * host.c - the services plugsrv offers handlers (the plugsrv_host table of
 * include/handler.h), as they run inside a connection's process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugsrv.h"

static int
host_write_fail(plugsrv_conn *c, int timedout)
{
    watchdog_write(0);
    c->timedout = timedout;
    c->failed = 1;
    return PLUGSRV_ERROR;
}

/* Waiting for a slow client is not the handler being stuck: the watchdog
 * stands aside, and the client may stall for idle_timeout at most. */
static int
host_write(plugsrv_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    long long progress = clock_coarse_ms();
    ssize_t n;

    if (c->failed || c->taken)
        return PLUGSRV_ERROR;
    if (c->ev != NULL && conn_loop_flush(c) != 0)
        return PLUGSRV_ERROR;
    watchdog_write(1);
    while (len > 0) {
        n = lean_send(c->fd, p, len, MSG_NOSIGNAL);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
            progress = clock_coarse_ms();
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return host_write_fail(c, 1); /* SO_SNDTIMEO ran out */
        } else if (errno != EINTR) {
            return host_write_fail(c, 0);
        } else if (watchdog_stalled(progress)) {
            return host_write_fail(c, 1);
        }
    }
    watchdog_write(0);
    if (c->ev != NULL)
        conn_loop_progress(c);
    return PLUGSRV_OK;
}

static void
host_close(plugsrv_conn *c)
{
    c->closing = 1;
}

static const char *
host_peer_addr(plugsrv_conn *c)
{
    return c->peer;
}

/* Looked up on demand: most handlers never ask, and it costs a syscall. */
static const char *
host_local_addr(plugsrv_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (c->local[0] == '\0') {
        if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
            addr_format((struct sockaddr *)&ss, c->local, sizeof(c->local));
        else
            snprintf(c->local, sizeof(c->local), "unknown");
    }
    return c->local;
}

/* ---- ABI 1.1: numeric addresses, the listener, taking the fd over ---- */

/* "127.0.0.1" or "::1" and the port, from addr_format()'s text: the
 * same source as peer_addr() and local_addr(), so a PROXY header's client
 * is what both give. "unknown" and port 0 for anything else. */
static void
host_numeric(const char *addr, char *ip, size_t len, int *port)
{
    const char *colon = strrchr(addr, ':');
    const char *start = addr, *end = colon;
    char *stop;
    long n;

    if (addr[0] == '[') {
        start = addr + 1;
        end = colon != NULL && colon > addr && colon[-1] == ']' ? colon - 1
                                                                : NULL;
    }
    n = colon != NULL ? strtol(colon + 1, &stop, 10) : -1;
    if (end == NULL || end <= start || (size_t)(end - start) >= len || n < 0 ||
        n > 65535 || *stop != '\0') {
        snprintf(ip, len, "unknown");
        *port = 0;
        return;
    }
    memcpy(ip, start, (size_t)(end - start));
    ip[end - start] = '\0';
    *port = (int)n;
}

/* Both ends, worked out once, on the first question. */
static void
host_ends(plugsrv_conn *c)
{
    if (c->peer_ip[0] != '\0')
        return;
    host_numeric(c->peer, c->peer_ip, sizeof(c->peer_ip), &c->peer_port);
    host_numeric(host_local_addr(c), c->local_ip, sizeof(c->local_ip),
                 &c->local_port);
}

static const char *
host_peer_ip(plugsrv_conn *c)
{
    host_ends(c);
    return c->peer_ip;
}

static int
host_peer_port(plugsrv_conn *c)
{
    host_ends(c);
    return c->peer_port;
}

static const char *
host_local_ip(plugsrv_conn *c)
{
    host_ends(c);
    return c->local_ip;
}

static int
host_local_port(plugsrv_conn *c)
{
    host_ends(c);
    return c->local_port;
}

static const char *
host_listener_name(plugsrv_conn *c)
{
    return c != NULL && c->listener != NULL ? c->listener : host_listener;
}

static int
host_stopping(plugsrv_conn *c)
{
    (void)c;
    return connproc_stop != 0;
}

/* The fd becomes the handler's: handler.h says what plugsrv still does. */
static int
host_take_fd(plugsrv_conn *c)
{
    if (c == NULL || !c->live || c->taken || c->failed ||
        conn_loop_queued(c) > 0)
        return -1;
    host_ends(c);
    host_local_addr(c);
    c->taken = 1;
    connproc_conn_fd = -1; /* SIGTERM must not shut it down any more */
    watchdog_stop();
    return c->fd;
}

static const char *const host_levels[] = { "error", "warn", "info", "debug" };

const char *host_listener = "-"; /* for log lines without a connection */

static const int host_prios[] = { LOG_PRIO_ERR, LOG_PRIO_WARNING,
                                  LOG_PRIO_INFO, LOG_PRIO_DEBUG };

/* The message is the handler's: escaped, it stays one value of one line
 * whatever it holds. */
static void
host_log(plugsrv_conn *c, int level, const char *fmt, ...)
{
    char msg[1024], v[2 * LOG_VALUE_MAX], name[LOG_VALUE_MAX];
    va_list ap;

    if (level < PLUGSRV_LOG_ERROR || level > PLUGSRV_LOG_DEBUG)
        level = PLUGSRV_LOG_INFO;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_value(v, sizeof(v), msg);
    log_value(name, sizeof(name), c != NULL ? c->listener : host_listener);
    if (c != NULL)
        log_prio(host_prios[level],
                 "handler listener=%s pid=%ld peer=%s%s%s level=%s msg=%s",
                 name, (long)getpid(), c->peer, c->via[0] ? " via=" : "",
                 c->via, host_levels[level], v);
    else
        log_prio(host_prios[level],
                 "handler listener=%s pid=%ld level=%s msg=%s", name,
                 (long)getpid(), host_levels[level], v);
}

const plugsrv_host host_services = {
    .size = sizeof(plugsrv_host),
    .abi_major = PLUGSRV_ABI_MAJOR,
    .abi_minor = PLUGSRV_ABI_MINOR,
    .write = host_write,
    .close = host_close,
    .peer_addr = host_peer_addr,
    .local_addr = host_local_addr,
    .opt_string = options_string,
    .opt_int = options_int,
    .opt_bool = options_bool,
    .opt_count = options_count,
    .opt_key = options_key,
    .log = host_log,
    .timer_add = conn_loop_timer_add,
    .timer_set = conn_loop_timer_set,
    .timer_cancel = conn_loop_timer_cancel,
    .write_queued = conn_loop_write_queued,
    .queued = conn_loop_queued,
    .want_write = conn_loop_want_write,
    .pause_input = conn_loop_pause_input,
    .shutdown_write = conn_loop_shutdown_write,
    .watch = conn_loop_watch,
    .unwatch = conn_loop_unwatch,
    .take_fd = host_take_fd,
    .stopping = host_stopping,
    .listener_name = host_listener_name,
    .peer_ip = host_peer_ip,
    .peer_port = host_peer_port,
    .local_ip = host_local_ip,
    .local_port = host_local_port,
    .opt_list = options_list,
    .opt_map = options_map,
};
