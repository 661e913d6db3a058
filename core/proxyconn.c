/*
 * proxyconn.c - a connection's process on a listener with proxy_protocol:
 * reads the balancer's PROXY header (the parent reads nothing a client
 * sends), reports the client it names to the parent, and waits for the
 * parent's verdict before any handler code runs, so that the parent's
 * limits count the real client. The header's bytes, and no more, are
 * taken from the socket: what follows is the handler's.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugsrv.h"

#define PROXYCONN_MAX (16 + 65535) /* the longest v2 header */

static unsigned char proxyconn_buf[PROXYCONN_MAX];

/* Takes n bytes the last peek saw, which are there to read at once. */
static int
proxyconn_consume(int fd, unsigned char *buf, size_t n)
{
    ssize_t got;

    while (n > 0) {
        got = recv(fd, buf, n, MSG_DONTWAIT);
        if (got <= 0 && !(got == -1 && errno == EINTR))
            return -1;
        if (got > 0) {
            buf += got;
            n -= (size_t)got;
        }
    }
    return 0;
}

/* Waits for input until deadline; CONN_OK when there is some. */
static enum conn_exit
proxyconn_wait(int fd, long long deadline)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    long long left;
    int rc;

    /* SIGTERM does not cut a header short: what follows it is served
     * (session.c), and proxy_timeout bounds the wait. */
    for (;;) {
        if ((left = deadline - clock_ms()) <= 0)
            return CONN_PROXY_TIMEOUT;
        rc = poll(&p, 1, (int)left);
        if (rc > 0)
            return CONN_OK;
        if (rc == -1 && errno != EINTR)
            return CONN_IO;
    }
}

/*
 * Peeks at what has come, and consumes it only as far as it is header:
 * all of it while the parser wants more (every such byte is header), the
 * header's exact length once it is whole.
 */
static enum conn_exit
proxyconn_read(int fd, int versions, long long deadline, struct proxy_hdr *h)
{
    size_t have = 0;
    enum conn_exit rc;
    ssize_t n;

    for (;;) {
        if ((rc = proxyconn_wait(fd, deadline)) != CONN_OK)
            return rc;
        n = recv(fd, proxyconn_buf + have, sizeof(proxyconn_buf) - have,
                 MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
            return CONN_PROXY_BAD; /* gone before a whole header */
        if (n == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return CONN_IO;
        }
        switch (proxy_parse(proxyconn_buf, have + (size_t)n, versions, h)) {
        case PROXY_DONE:
            return proxyconn_consume(fd, proxyconn_buf + have, h->len - have)
                       ? CONN_IO
                       : CONN_OK;
        case PROXY_MORE:
            if (proxyconn_consume(fd, proxyconn_buf + have, (size_t)n) == -1)
                return CONN_IO;
            have += (size_t)n;
            break;
        default:
            return CONN_PROXY_BAD;
        }
    }
}

/* For LOCAL and UNKNOWN: the connection's own addresses. */
static void
proxyconn_own(int fd, struct proxy_hdr *h)
{
    socklen_t len = sizeof(h->src);

    getpeername(fd, (struct sockaddr *)&h->src, &len);
    len = sizeof(h->dst);
    getsockname(fd, (struct sockaddr *)&h->dst, &len);
}

/* The parent's answer: 1 to serve. A refusal, or a parent gone, is 0.
 * A parent that is stopping answers too (parent_reap_until). */
static int
proxyconn_verdict(int fd)
{
    char v;
    ssize_t n;

    do {
        n = read(fd, &v, 1);
    } while (n == -1 && errno == EINTR);
    return n == 1 && v == PROXY_VERDICT_OK;
}

enum conn_exit
proxyconn_run(const struct listener *l, const struct proxyconn *pc,
              struct conn_addrs *a)
{
    struct proxy_report r;
    struct proxy_hdr h;
    enum conn_exit rc;

    rc = proxyconn_read(pc->fd, l->conf->proxy,
                        clock_ms() + clock_sec_ms(l->conf->proxy_timeout), &h);
    if (rc != CONN_OK)
        return rc;
    memset(&r, 0, sizeof(r));
    r.pid = getpid();
    r.local = h.local;
    if (h.local) {
        proxyconn_own(pc->fd, &h); /* served as the balancer */
    } else {
        memcpy(a->via, a->peer, sizeof(a->via));
        addr_format((struct sockaddr *)&h.src, a->peer, sizeof(a->peer));
        addr_format((struct sockaddr *)&h.dst, a->local, sizeof(a->local));
    }
    r.src = h.src;
    /* Smaller than PIPE_BUF: atomic among all the connections. */
    if (write(pc->report, &r, sizeof(r)) != (ssize_t)sizeof(r))
        return CONN_SETUP;
    if (!proxyconn_verdict(pc->verdict))
        return CONN_REFUSED;
    return CONN_OK;
}
