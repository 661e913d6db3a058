/*
 * harness_net.c - talking to the daemon over loopback: connect, send,
 * receive, wait for the peer's close, and full-duplex exchanges, each
 * bounded by a deadline and waiting in poll(), never in a sleep.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* addr (numeric v4/v6) and port into *ss; its length, or 0. */
static socklen_t
hs_sockaddr(const char *addr, int port, struct sockaddr_storage *ss)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':') != NULL) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
            return 0;
        return sizeof(*sin6);
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
        return 0;
    return sizeof(*sin);
}

/* hs_connect(), from the source address src (port 0) if not NULL. */
static int
hs_connect_bound(const char *src, const char *addr, int port, int timeout_ms)
{
    struct sockaddr_storage ss, from;
    struct pollfd pfd;
    socklen_t len, flen = 0, elen = sizeof(int);
    int fd, one = 1, err = 0;

    if ((len = hs_sockaddr(addr, port, &ss)) == 0 ||
        (src != NULL && (flen = hs_sockaddr(src, 0, &from)) == 0)) {
        errno = EINVAL;
        return -1;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (src != NULL && bind(fd, (struct sockaddr *)&from, flen) == -1) {
        err = errno;
        goto fail;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        err = errno;
        goto fail;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, timeout_ms) != 1) {
        err = ETIMEDOUT;
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    errno = err;
    return -1;
}

int
hs_connect(const char *addr, int port, int timeout_ms)
{
    return hs_connect_bound(NULL, addr, port, timeout_ms);
}

int
hs_connect_from(const char *src, const char *addr, int port, int timeout_ms)
{
    return hs_connect_bound(src, addr, port, timeout_ms);
}

/* Waits until fd is ready for events; 1, or 0 at the deadline. */
static int
hs_wait_fd(int fd, short events, long long deadline)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int left = hs_left(deadline);

    if (left == 0)
        return 0;
    return poll(&pfd, 1, left) > 0;
}

int
hs_send_all(int fd, const void *buf, size_t len, size_t chunk, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    const char *p = buf;
    size_t off = 0;

    while (off < len && hs_left(deadline) > 0) {
        size_t want = len - off;
        ssize_t n;

        if (chunk > 0 && want > chunk)
            want = chunk;
        n = send(fd, p + off, want, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (!hs_wait_fd(fd, POLLOUT, deadline))
            return -1;
    }
    return off == len ? 0 : -1;
}

int
hs_send_str(int fd, const char *s)
{
    return hs_send_all(fd, s, strlen(s), 0, HS_IO_MS);
}

ssize_t
hs_recv_n(int fd, void *buf, size_t n, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char *p = buf;
    size_t got = 0;

    while (got < n && hs_left(deadline) > 0) {
        ssize_t r = recv(fd, p + got, n - got, 0);

        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        if (!hs_wait_fd(fd, POLLIN, deadline))
            break;
    }
    return (ssize_t)got;
}

ssize_t
hs_recv_eof(int fd, void *buf, size_t cap, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char *p = buf;
    size_t got = 0;

    while (hs_left(deadline) > 0) {
        char extra;
        ssize_t r = got < cap ? recv(fd, p + got, cap - got, 0)
                              : recv(fd, &extra, 1, 0);

        if (r == 0)
            return (ssize_t)got;
        if (r > 0) {
            if (got >= cap)
                return -1;
            got += (size_t)r;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        if (!hs_wait_fd(fd, POLLIN, deadline))
            return -1;
    }
    return -1;
}

int
hs_wait_closed(int fd, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char buf[4096];

    /* Bounded by the deadline even while data keeps coming. */
    while (hs_left(deadline) > 0) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);

        if (r == 0)
            return 1;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return 1;
        if (r < 0 && !hs_wait_fd(fd, POLLIN, deadline))
            return 0;
    }
    return 0;
}

int
hs_is_closed(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    if (r == 0)
        return 1;
    return r < 0 && errno != EAGAIN && errno != EINTR;
}

int
hs_roundtrip(int fd, const char *s, const char *reply)
{
    size_t len = strlen(reply);
    char *buf = malloc(len + 1);
    ssize_t n;
    int rc;

    if (buf == NULL)
        return -1;
    if (hs_send_str(fd, s) < 0) {
        free(buf);
        return -1;
    }
    n = hs_recv_n(fd, buf, len, HS_IO_MS);
    rc = n == (ssize_t)len && memcmp(buf, reply, len) == 0 ? 0 : -1;
    if (rc < 0)
        fprintf(stderr,
                "roundtrip: sent \"%s\", wanted \"%s\", got %zd "
                "bytes \"%.*s\"\n",
                s, reply, n, (int)(n < 0 ? 0 : n), buf);
    free(buf);
    return rc;
}

/* One send of the transfer; 0 ok (or nothing to do), -1 failed. */
static int
hs_xfer_send(int fd, struct hs_xfer *x, size_t *sent)
{
    size_t want = x->outlen - *sent;
    ssize_t n;

    if (x->wchunk > 0 && want > x->wchunk)
        want = x->wchunk;
    n = send(fd, (const char *)x->out + *sent, want, MSG_NOSIGNAL);
    if (n > 0)
        *sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
    if (*sent == x->outlen && x->shut_wr)
        shutdown(fd, SHUT_WR);
    return 0;
}

ssize_t
hs_exchange(int fd, struct hs_xfer *x)
{
    long long deadline = hs_now_ms() + x->timeout_ms, next_read = 0;
    size_t sent = 0, got = 0;
    int writing = x->outlen > 0;
    long i;

    x->reset = 0;
    if (!writing && x->shut_wr)
        shutdown(fd, SHUT_WR);
    for (i = 0; i < 100000000L && got < x->incap; i++) {
        struct pollfd pfd = { .fd = fd, .events = 0 };
        long long now = hs_now_ms();
        int left = hs_left(deadline), reading = now >= next_read;

        if (left == 0)
            return -1;
        if (writing)
            pfd.events |= POLLOUT;
        if (reading)
            pfd.events |= POLLIN;
        else if (next_read - now < left)
            left = (int)(next_read - now); /* the slow reader's pause */
        if (poll(&pfd, 1, left) <= 0)
            continue;
        if (writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (hs_xfer_send(fd, x, &sent) < 0)
                writing = 0; /* the peer went: read what it sent */
            else
                writing = sent < x->outlen;
        }
        if (reading && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
            size_t want = x->incap - got;
            ssize_t n;

            if (x->rchunk > 0 && want > x->rchunk)
                want = x->rchunk;
            n = recv(fd, (char *)x->in + got, want, 0);
            if (n == 0)
                return (ssize_t)got;
            if (n < 0 && errno == ECONNRESET) {
                x->reset = 1;
                return (ssize_t)got;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (n > 0) {
                got += (size_t)n;
                if (x->rpause_ms > 0)
                    next_read = hs_now_ms() + x->rpause_ms;
            }
        }
    }
    return (ssize_t)got;
}

/* One echo exchange on a new connection, all within timeout_ms. */
int
hs_echo_once(const char *addr, int port, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char buf[8];
    int fd, rc = -1;
    long long left;

    fd = hs_connect(addr, port, timeout_ms);
    if (fd < 0)
        return -1;
    if (hs_send_str(fd, "hi\n") == 0) {
        left = deadline - hs_now_ms();
        if (left > 0 && hs_recv_n(fd, buf, 3, (int)left) == 3 &&
            memcmp(buf, "hi\n", 3) == 0)
            rc = 0;
    }
    close(fd);
    return rc;
}

int
hs_hold_port(int port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
        listen(fd, 1) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}
