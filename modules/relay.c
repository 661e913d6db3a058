/*
 * relay.c - a TCP relay: "options": { "to": "127.0.0.1:6379" } (or
 * "[::1]:6379") connects each client to that backend and passes the bytes
 * both ways until both sides are done. A half-close is passed on (the
 * client's FIN goes to the backend once what it sent has gone, and the
 * backend's FIN to the client), so request/EOF/reply protocols work. A
 * backend that refuses the connection, or resets it, is logged and the
 * client is closed. The connection is idle (idle_timeout) only when
 * neither side sends anything.
 *
 * An example of the ABI 1.1 fd watches with flow control both ways: the
 * client is paused (host->pause_input) while the backend has not taken
 * what it sent, and the backend is not read while the client has not
 * read what came from it (host->write_queued, host->want_write). Memory
 * stays bounded whatever the speeds.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handler.h"

#define RELAY_BUF   (256 * 1024) /* client bytes the backend has not taken */
#define RELAY_CHUNK 65536

static const plugsrv_host *relay_host;
static struct sockaddr_storage relay_to; /* the backend, from init() */
static socklen_t relay_tolen;
static const char *relay_name; /* "to" as written, for the log */

struct relay {
    int fd; /* the backend's socket */
    int connected;
    int client_eof;   /* the client sent its FIN */
    int backend_eof;  /* the backend sent its FIN */
    int backend_shut; /* we passed the client's FIN on */
    int client_full;  /* the client's queue is full: backend not read */
    char *buf;        /* client bytes not yet sent: buf[off..len) */
    size_t off, len;
};

/* "IP:PORT" or "[IPv6]:PORT" into relay_to; -1 if it is not one. */
static int
relay_parse(const char *text)
{
    char host[INET6_ADDRSTRLEN + 2];
    struct sockaddr_in *in4 = (struct sockaddr_in *)&relay_to;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&relay_to;
    const char *colon = strrchr(text, ':');
    char *end;
    long port;
    size_t n;

    if (colon == NULL || (n = (size_t)(colon - text)) >= sizeof(host))
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
        return -1;
    memcpy(host, text, n);
    host[n] = '\0';
    memset(&relay_to, 0, sizeof(relay_to));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        relay_tolen = sizeof(*in4);
        return 0;
    }
    if (n < 2 || host[0] != '[' || host[n - 1] != ']')
        return -1;
    host[n - 1] = '\0';
    if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
        return -1;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    relay_tolen = sizeof(*in6);
    return 0;
}

static int
relay_init(const plugsrv_options *opts, void **module_state, char *err,
           size_t errlen)
{
    size_t i;

    (void)module_state;
    for (i = 0; i < relay_host->opt_count(opts); i++) {
        if (strcmp(relay_host->opt_key(opts, i), "to") != 0) {
            snprintf(err, errlen, "unknown option \"%s\"",
                     relay_host->opt_key(opts, i));
            return PLUGSRV_ERROR;
        }
    }
    if (relay_host->opt_string(opts, "to", NULL, &relay_name) != PLUGSRV_OK ||
        relay_name == NULL || relay_parse(relay_name) == -1) {
        snprintf(err, errlen,
                 "option \"to\" must be \"IP:PORT\" or \"[IPv6]:PORT\"");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static int relay_on_backend(plugsrv_conn *conn, int fd, int events, void *arg);

/* The watch and the pause that fit the relay's state now. */
static int
relay_update(plugsrv_conn *conn, struct relay *r)
{
    int events = 0;

    if (r->connected && !r->backend_eof && !r->client_full)
        events |= PLUGSRV_READABLE;
    if (!r->connected || r->len > r->off)
        events |= PLUGSRV_WRITABLE;
    if (relay_host->watch(conn, r->fd, events, relay_on_backend, r) !=
        PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return relay_host->pause_input(conn, !r->connected ||
                                             r->len - r->off >= RELAY_BUF);
}

static int
relay_failed(plugsrv_conn *conn, const char *what, int err)
{
    relay_host->log(conn, PLUGSRV_LOG_ERROR, "backend %s %s: %s", relay_name,
                    what, strerror(err));
    return PLUGSRV_ERROR;
}

/* Client bytes to the backend, as many as it takes now. */
static int
relay_send(plugsrv_conn *conn, struct relay *r)
{
    ssize_t n;

    while (r->connected && r->len > r->off) {
        n = send(r->fd, r->buf + r->off, r->len - r->off,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            r->off += (size_t)n;
        else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else if (n == -1 && errno != EINTR)
            return relay_failed(conn, "reset", errno);
    }
    if (r->off == r->len)
        r->off = r->len = 0;
    if (r->connected && r->client_eof && r->len == 0 && !r->backend_shut) {
        shutdown(r->fd, SHUT_WR);
        r->backend_shut = 1;
    }
    return PLUGSRV_OK;
}

static int
relay_keep(struct relay *r, const char *buf, size_t len)
{
    size_t cap;
    char *p;

    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    cap = r->len + len;
    if ((p = realloc(r->buf, cap)) == NULL)
        return PLUGSRV_ERROR;
    r->buf = p;
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    return PLUGSRV_OK;
}

static int
relay_client_writable(plugsrv_conn *conn, void *arg)
{
    struct relay *r = arg;

    r->client_full = 0;
    return relay_update(conn, r);
}

/* Backend bytes to the client's queue, until it is full. */
static int
relay_recv(plugsrv_conn *conn, struct relay *r)
{
    char buf[RELAY_CHUNK];
    ssize_t n;
    int rc;

    while (!r->client_full) {
        n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return PLUGSRV_OK;
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return relay_failed(conn, "reset", errno);
        if (n == 0) {
            r->backend_eof = 1;
            if (r->client_eof)
                return PLUGSRV_CLOSE; /* the queue is sent first */
            return relay_host->shutdown_write(conn);
        }
        rc = relay_host->write_queued(conn, buf, (size_t)n);
        if (rc != PLUGSRV_OK) /* AGAIN cannot be: we stop at the bound */
            return PLUGSRV_ERROR;
        if (relay_host->queued(conn) >= PLUGSRV_QUEUE_MAX) {
            r->client_full = 1;
            if (relay_host->want_write(conn, relay_client_writable, r) !=
                PLUGSRV_OK)
                return PLUGSRV_ERROR;
        }
    }
    return PLUGSRV_OK;
}

static int
relay_connected(plugsrv_conn *conn, struct relay *r)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return PLUGSRV_OK;
    if (err != 0) /* reset: it accepted, then gave up at once */
        return relay_failed(conn, err == ECONNRESET ? "reset" : "refused",
                            err);
    r->connected = 1;
    return PLUGSRV_OK;
}

static int
relay_on_backend(plugsrv_conn *conn, int fd, int events, void *arg)
{
    struct relay *r = arg;
    int rc;

    (void)fd;
    if (!r->connected && (rc = relay_connected(conn, r)) != PLUGSRV_OK)
        return rc;
    if ((events & PLUGSRV_WRITABLE) &&
        (rc = relay_send(conn, r)) != PLUGSRV_OK)
        return rc;
    if ((events & PLUGSRV_READABLE) && r->connected &&
        (rc = relay_recv(conn, r)) != PLUGSRV_OK)
        return rc;
    return relay_update(conn, r);
}

static int
relay_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    struct relay *r;
    int one = 1;

    (void)module_state;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return PLUGSRV_ERROR;
    *conn_state = r;
    r->fd = socket(relay_to.ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd == -1)
        return relay_failed(conn, "socket", errno);
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(r->fd, (struct sockaddr *)&relay_to, relay_tolen) == 0)
        r->connected = 1;
    else if (errno != EINPROGRESS)
        return relay_failed(conn, "refused", errno);
    return relay_update(conn, r);
}

/* Client bytes: straight on if the backend takes them, else kept (and
 * the client paused once RELAY_BUF are waiting). */
static int
relay_data(plugsrv_conn *conn, void *conn_state, const char *buf, size_t len)
{
    struct relay *r = conn_state;
    ssize_t n = 0;

    if (r->connected && r->len == r->off) {
        n = send(r->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR)
            return relay_failed(conn, "reset", errno);
        if (n < 0)
            n = 0;
    }
    if ((size_t)n < len &&
        relay_keep(r, buf + n, len - (size_t)n) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return relay_update(conn, r);
}

static int
relay_eof(plugsrv_conn *conn, void *conn_state)
{
    struct relay *r = conn_state;
    int rc;

    r->client_eof = 1;
    if (r->backend_eof)
        return PLUGSRV_CLOSE;
    if ((rc = relay_send(conn, r)) != PLUGSRV_OK)
        return rc;
    return relay_update(conn, r);
}

static int
relay_stop(plugsrv_conn *conn, void *conn_state)
{
    (void)conn, (void)conn_state;
    return PLUGSRV_CLOSE;
}

static void
relay_close(plugsrv_conn *conn, void *conn_state)
{
    struct relay *r = conn_state;

    (void)conn;
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    relay_host = host;
    handler.name = "relay";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.init = relay_init;
    handler.open = relay_open;
    handler.data = relay_data;
    handler.eof = relay_eof;
    handler.stop = relay_stop;
    handler.close = relay_close;
    return &handler;
}
