/*
 * host.c - the services plugsrv offers handlers (the plugsrv_host table of
 * include/handler.h), as they run inside a connection's process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

    if (c->failed)
        return PLUGSRV_ERROR;
    watchdog_write(1);
    while (len > 0) {
        n = send(c->fd, p, len, MSG_NOSIGNAL);
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
                 "handler listener=%s pid=%ld peer=%s level=%s msg=%s", name,
                 (long)getpid(), c->peer, host_levels[level], v);
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
};
