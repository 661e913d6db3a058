/*
 * listen.c - the listening sockets: one per configured address and port,
 * IPv4 or IPv6, bound with SO_REUSEADDR so that a restart does not wait
 * for old connections in TIME_WAIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/filter.h>

#include "plugsrv.h"

/*
 * What the listener's config asks of its socket. Fork-mode listeners are
 * accepted on by the parent, which must never block; prefork children
 * block in accept() on theirs. TCP_NODELAY and the idle timeouts are set
 * here once rather than per connection: accepted sockets inherit them.
 */
int
listen_configure(struct listener *l)
{
    struct timeval tv = { .tv_sec = l->conf->idle_timeout, .tv_usec = 0 };
    int flags = fcntl(l->fd, F_GETFL), one = 1;

    if (flags == -1)
        return -1;
    if (l->conf->mode == MODE_FORK)
        flags |= O_NONBLOCK;
    else
        flags &= ~O_NONBLOCK;
    l->nonblock = l->conf->mode == MODE_FORK;
    if (fcntl(l->fd, F_SETFL, flags) == -1 ||
        setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
        setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
        return -1;
    return 0;
}

/* A socket another process had meanwhile (a reload that failed, a new
 * plugsrv that failed to start) as l's config wants it again: backlog,
 * blocking or not, timeouts. 0, or -1 and errno. */
int
listen_reclaim(struct listener *l)
{
    if (l->fd == -1)
        return 0;
    if (listen(l->fd, l->conf->backlog) == -1)
        return -1;
    return listen_configure(l);
}

int
listen_nonblocking(const struct listener *l)
{
    int flags = fcntl(l->fd, F_GETFL);

    return flags != -1 && (flags & O_NONBLOCK) != 0;
}

/* The description is shared with the spares: on only while none waits in
 * accept() (prefork.c). */
int
listen_set_nonblock(struct listener *l, int on)
{
    int flags;

    if (l->nonblock == on)
        return 0;
    if ((flags = fcntl(l->fd, F_GETFL)) == -1 ||
        fcntl(l->fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) ==
            -1)
        return -1;
    l->nonblock = on;
    return 0;
}

static int
listen_fail(struct listener *l, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s: %s", l->addr, what, strerror(errno));
    if (l->fd != -1)
        close(l->fd);
    l->fd = -1;
    return -1;
}

int
listen_open(struct listener *l, char *err, size_t errlen)
{
    const struct sockaddr_storage *ss = &l->conf->sa;
    int one = 1, v6only = l->conf->ipv6_only;

    l->fd = -1;
    addr_format((const struct sockaddr *)ss, l->addr, sizeof(l->addr));
    l->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd == -1)
        return listen_fail(l, "socket", err, errlen);
    if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
        return listen_fail(l, "SO_REUSEADDR", err, errlen);
    /* Several processes may share the port: the kernel spreads the
     * connections among them. */
    if (l->conf->reuseport &&
        setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
        return listen_fail(l, "SO_REUSEPORT", err, errlen);
    /* "::" means IPv6 only unless "ipv6_only": false; 0.0.0.0 is its own
     * listener. */
    if (ss->ss_family == AF_INET6 &&
        setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                   sizeof(v6only)) == -1)
        return listen_fail(l, "IPV6_V6ONLY", err, errlen);
    if (bind(l->fd, (const struct sockaddr *)ss, l->conf->salen) == -1)
        return listen_fail(l, "bind", err, errlen);
    if (listen(l->fd, l->conf->backlog) == -1)
        return listen_fail(l, "listen", err, errlen);
    if (listen_configure(l) == -1)
        return listen_fail(l, "socket options", err, errlen);
    return 0;
}

/* A socket bound elsewhere (the old config's, or one passed in at start),
 * now l's: its backlog (listen() again keeps the queue) and options; -1
 * with errno. */
int
listen_take(struct listener *l)
{
    if (listen(l->fd, l->conf->backlog) == -1)
        return -1;
    return listen_configure(l);
}

/*
 * Stopping: no new handshake starts on l's socket from now on, so that the
 * last accepts before close() leave nothing in its backlog to reset (a
 * connection reset after its client sent the request is lost: a balancer
 * retries only a refused connect). A socket filter that drops a SYN
 * without ACK: the client's kernel sends it again a second later, when
 * the socket is closed and refuses it; the final ACKs of handshakes
 * already under way pass, and they join the backlog. Not on a socket
 * another process holds too (l->inherited: systemd's, or one an upgrade
 * passed on): the filter would stay on it after us.
 */
void
listen_quiesce(struct listener *l)
{
    /* A TCP socket's filter sees the segment from the TCP header on:
     * byte 13 holds the flags. */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),       /* SYN, ACK */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 1, 0), /* SYN alone */
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),           /* kept whole */
        BPF_STMT(BPF_RET | BPF_K, 0),                    /* dropped */
    };
    struct sock_fprog prog = { .len = 5, .filter = code };

    if (l->fd != -1 && !l->inherited)
        setsockopt(l->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

void
listen_close(struct listener *l)
{
    if (l->fd != -1)
        close(l->fd);
    l->fd = -1;
}

/* A reload keeps the socket of an address it keeps: the options only a
 * new socket can take cannot change then. 1, with why, if they did.
 * l->from is the old listener: a socket passed in at start has none. */
int
listen_changed(const struct listener *l, char *why, size_t whylen)
{
    const struct listener_conf *a = l->conf, *b = l->from->conf;

    if (a->reuseport == b->reuseport && a->ipv6_only == b->ipv6_only)
        return 0;
    snprintf(why, whylen,
             "%s: \"reuseport\" and \"ipv6_only\" of a bound address "
             "change only at a restart",
             l->addr);
    return 1;
}

/* Two listener configs that name the same socket address. */
int
listen_same(const struct listener_conf *a, const struct listener_conf *b)
{
    return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0;
}
