/* plugload: the benchmark's load generator. One process, non-blocking sockets
 * on epoll, libc only. Three loads (conn, rr, stream) against a loopback line
 * server; every reply byte is checked against the expected transformation.
 *
 * With -P, conn alternates its connections between two servers, one each
 * in turn, and reports each on its own: on a machine whose speed drifts
 * by 10% from one second to the next (a shared VM), two servers measured
 * one after the other cannot be told apart within 3%; measured connection
 * by connection, both see the same drift. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum load_mode {
    MODE_CONN,
    MODE_RR,
    MODE_STREAM
};
enum load_xform {
    XF_ECHO,
    XF_UPPER,
    XF_SUFFIX
};
enum conn_state {
    ST_IDLE,
    ST_WAIT,
    ST_CONNECTING,
    ST_ACTIVE
};
/* Failure kinds, each counted on its own: a refused connection says the
 * backlog overflowed, a reset says the server died, wrong says it is broken. */
enum fail_kind {
    F_REFUSED,
    F_RESET,
    F_TIMEOUT,
    F_WRONG,
    F_EOF,
    F_OTHER,
    F_NKINDS
};
static const char *fail_names[F_NKINDS] = { "refused", "reset", "timeout",
                                            "wrong",   "eof",   "other" };

#define MAX_CONC     10000
#define MAX_SAMPLES  (1u << 24)
#define SEND_BUF_MIN 65536
#define RETRY_DELAY  0.01 /* after a failure, so a dead server is not spun on */

struct load_cfg {
    enum load_mode mode;
    enum load_xform xform;
    struct sockaddr_storage addr[2]; /* -p, and -P's second server */
    socklen_t addrlen[2];
    int ports[2];
    int targets; /* 2 with -P */
    int conc;
    long total; /* ops to attempt; 0 = run for secs */
    double secs;
    double op_timeout; /* seconds without progress before an op fails */
    double hard_secs;  /* the whole run never outlives this */
    size_t stream_bytes;
    const char *suffix;
    char *line; /* one request line, '\n'-terminated */
    size_t line_len;
};

/* What one op sends and must get back: nlines copies of the line, and
 * nlines copies of its transformation. sendbuf repeats the line so that a
 * stream goes out in large writes. */
struct load_expect {
    char *sendbuf;
    size_t sendbuf_len;
    char *reply; /* one transformed line */
    size_t reply_len;
    uint64_t nlines;
    uint64_t send_total;
    uint64_t recv_total;
};

struct conn {
    int fd;
    enum conn_state state;
    uint64_t sent, rcvd;
    double t_start, deadline, retry_at;
    uint32_t events; /* current epoll interest */
    int t;           /* the target of the current op: 0, or 1 (-P) */
};

struct load_stats {
    uint64_t ops, bytes, conns, fails[F_NKINDS];
    char first_err[F_NKINDS][128];
    uint32_t *samples;
    size_t nsamples, cap, dropped;
    double t_first, t_last, sum_us;
};

static struct load_cfg cfg;
static struct load_expect exp_;
static struct load_stats stats[2]; /* one per target */
static struct conn *conns;
static int epfd = -1;
static long launched;
static double t_stop_launch;

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
    fprintf(stderr, "plugload: %s\n", msg);
    exit(2);
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: plugload -m conn|rr|stream -p PORT -c CONC (-n TOTAL | -d "
            "SECONDS)\n"
            "                [-H 127.0.0.1|::1] [-b BYTES] [-x "
            "echo|upper|suffix:SUFFIX]\n"
            "                [-l LINE] [-t OP_TIMEOUT_S] [-D HARD_DEADLINE_S] "
            "[-P PORT2]\n"
            "  conn:   each client connects, sends one line, reads the reply, "
            "closes\n"
            "  rr:     persistent connections, one line per round trip\n"
            "  stream: each connection pushes BYTES (default 1 MiB) of lines "
            "while\n"
            "          reading the reply; -n counts streams (default CONC)\n"
            "  -P:     conn only: connections alternate between PORT and "
            "PORT2,\n"
            "          each reported on its own RESULT line (port=)\n"
            "  Prints one 'RESULT ...' line. Exit 0 clean, 1 a wrong reply,\n"
            "  2 usage, 3 other failures (refused/reset/timeout/eof) or "
            "deadline.\n");
}

/* ---- the expected reply ---------------------------------------------- */

static void
xform_line(const char *in, size_t len, char *out, size_t *outlen)
{
    size_t body = len, i;

    memcpy(out, in, len);
    *outlen = len;
    if (cfg.xform == XF_UPPER) {
        for (i = 0; i < len; i++)
            if (out[i] >= 'a' && out[i] <= 'z')
                out[i] = (char)(out[i] - 'a' + 'A');
    } else if (cfg.xform == XF_SUFFIX) {
        /* "X\n" -> "X<suffix>\n", "X\r\n" -> "X<suffix>\r\n" */
        size_t sl = strlen(cfg.suffix);

        if (body > 0 && in[body - 1] == '\n')
            body--;
        if (body > 0 && in[body - 1] == '\r')
            body--;
        memcpy(out + body, cfg.suffix, sl);
        memcpy(out + body + sl, in + body, len - body);
        *outlen = len + sl;
    }
}

static void
expect_build(void)
{
    size_t reps = SEND_BUF_MIN / cfg.line_len + 2, i;

    exp_.sendbuf_len = reps * cfg.line_len;
    exp_.sendbuf = malloc(exp_.sendbuf_len);
    exp_.reply = malloc(cfg.line_len + strlen(cfg.suffix) + 1);
    if (!exp_.sendbuf || !exp_.reply)
        die("out of memory");
    for (i = 0; i < reps; i++)
        memcpy(exp_.sendbuf + i * cfg.line_len, cfg.line, cfg.line_len);
    xform_line(cfg.line, cfg.line_len, exp_.reply, &exp_.reply_len);
    exp_.nlines = 1;
    if (cfg.mode == MODE_STREAM)
        exp_.nlines = (cfg.stream_bytes + cfg.line_len - 1) / cfg.line_len;
    exp_.send_total = exp_.nlines * cfg.line_len;
    exp_.recv_total = exp_.nlines * exp_.reply_len;
}

/* Checks bytes received at stream offset off against the expected reply. */
static int
expect_match(uint64_t off, const char *buf, size_t len)
{
    while (len > 0) {
        size_t pos = (size_t)(off % exp_.reply_len);
        size_t n = exp_.reply_len - pos;

        if (n > len)
            n = len;
        if (memcmp(buf, exp_.reply + pos, n) != 0)
            return 0;
        buf += n;
        off += n;
        len -= n;
    }
    return 1;
}

/* ---- statistics ------------------------------------------------------ */

static void
stats_sample(struct load_stats *st, double secs)
{
    double us = secs * 1e6;

    st->sum_us += us;
    if (st->nsamples == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 65536;
        uint32_t *p;

        if (ncap > MAX_SAMPLES ||
            !(p = realloc(st->samples, ncap * sizeof(*p)))) {
            st->dropped++;
            return;
        }
        st->samples = p;
        st->cap = ncap;
    }
    st->samples[st->nsamples++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}

static void
stats_fail(struct load_stats *st, enum fail_kind k, const char *why)
{
    st->fails[k]++;
    if (!st->first_err[k][0])
        snprintf(st->first_err[k], sizeof(st->first_err[k]), "%s", why);
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static uint32_t
stats_pct(const struct load_stats *st, double p)
{
    size_t i;

    if (st->nsamples == 0)
        return 0;
    i = (size_t)(p * (double)(st->nsamples - 1) + 0.5);
    return st->samples[i];
}

/* ---- one connection -------------------------------------------------- */

static void
conn_watch(struct conn *c, uint32_t ev)
{
    struct epoll_event e = { .events = ev, .data.ptr = c };

    if (c->events == ev)
        return;
    if (epoll_ctl(epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) <
        0)
        die("epoll_ctl failed");
    c->events = ev;
}

static void
conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->events = 0;
    c->state = ST_IDLE;
}

/* One more op may start on c: within the count, the duration and the
 * deadline. Its target is the next in turn. */
static int
slot_take(struct conn *c, double now)
{
    if (cfg.total > 0 ? launched >= cfg.total : now >= t_stop_launch)
        return 0;
    c->t = (int)(launched % cfg.targets);
    launched++;
    return 1;
}

static void
conn_fail(struct conn *c, enum fail_kind k, const char *why)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "%s (after %llu sent, %llu received)", why,
             (unsigned long long)c->sent, (unsigned long long)c->rcvd);
    stats_fail(&stats[c->t], k, msg);
    conn_close(c);
    c->state = ST_WAIT;
    c->retry_at = now_s() + RETRY_DELAY;
}

static enum fail_kind
errno_kind(int e)
{
    if (e == ECONNREFUSED)
        return F_REFUSED;
    if (e == ECONNRESET || e == EPIPE)
        return F_RESET;
    if (e == ETIMEDOUT)
        return F_TIMEOUT;
    return F_OTHER;
}

static void
conn_fail_errno(struct conn *c, const char *what, int e)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "%s: %s%s", what, strerror(e),
             e == EADDRNOTAVAIL ? " (out of ephemeral ports? TIME_WAIT)" : "");
    conn_fail(c, errno_kind(e), msg);
}

static void
conn_send(struct conn *c)
{
    while (c->sent < exp_.send_total) {
        size_t pos = (size_t)(c->sent % cfg.line_len);
        uint64_t left = exp_.send_total - c->sent;
        size_t n = exp_.sendbuf_len - pos;
        ssize_t w;

        if (n > left)
            n = (size_t)left;
        w = send(c->fd, exp_.sendbuf + pos, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            break;
        if (w < 0) {
            conn_fail_errno(c, "send", errno);
            return;
        }
        c->sent += (uint64_t)w;
        c->deadline = now_s() + cfg.op_timeout;
    }
    conn_watch(c, EPOLLIN | (c->sent < exp_.send_total ? EPOLLOUT : 0));
}

/* A request starts on a connected socket. */
static void
conn_request(struct conn *c, double now)
{
    c->state = ST_ACTIVE;
    c->sent = c->rcvd = 0;
    if (cfg.mode == MODE_RR)
        c->t_start = now;
    c->deadline = now + cfg.op_timeout;
    conn_send(c);
}

static int
conn_open(struct conn *c)
{
    c->fd = socket(cfg.addr[c->t].ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail_errno(c, "socket", errno);
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&cfg.addr[c->t],
                cfg.addrlen[c->t]) == 0) {
        stats[c->t].conns++;
        return 0;
    }
    if (errno == EINPROGRESS) {
        c->state = ST_CONNECTING;
        conn_watch(c, EPOLLOUT);
        return 1;
    }
    conn_fail_errno(c, "connect", errno);
    return -1;
}

/* Starts the next op on c, if one is left; rr keeps its socket. */
static void
conn_start(struct conn *c, double now)
{
    if (!slot_take(c, now)) {
        conn_close(c);
        return;
    }
    c->sent = c->rcvd = 0;
    c->t_start = now;
    c->deadline = now + cfg.op_timeout;
    if (stats[c->t].t_first == 0)
        stats[c->t].t_first = now;
    if (c->fd >= 0 && cfg.mode == MODE_RR) {
        conn_request(c, now);
        return;
    }
    if (conn_open(c) == 0)
        conn_request(c, now);
}

static void
conn_done(struct conn *c, double now)
{
    struct load_stats *st = &stats[c->t];

    stats_sample(st, now - c->t_start);
    st->ops++;
    st->bytes += exp_.send_total;
    st->t_last = now;
    if (cfg.mode != MODE_RR)
        conn_close(c);
    conn_start(c, now);
}

static void
conn_connected(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        conn_fail_errno(c, "connect", err);
        return;
    }
    stats[c->t].conns++;
    conn_request(c, now_s());
}

static void
conn_read(struct conn *c)
{
    char buf[65536];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            conn_fail_errno(c, "recv", errno);
            return;
        }
        if (n == 0) {
            conn_fail(c, F_EOF, "server closed before the full reply");
            return;
        }
        if (c->rcvd + (uint64_t)n > exp_.recv_total ||
            !expect_match(c->rcvd, buf, (size_t)n)) {
            conn_fail(c, F_WRONG, "reply differs from the expected bytes");
            return;
        }
        c->rcvd += (uint64_t)n;
        c->deadline = now_s() + cfg.op_timeout;
        if (c->rcvd == exp_.recv_total && c->sent == exp_.send_total) {
            conn_done(c, now_s());
            return;
        }
    }
}

static void
conn_event(struct conn *c, uint32_t ev)
{
    int fd = c->fd;

    if (c->state == ST_CONNECTING) {
        conn_connected(c);
        return;
    }
    if (c->state != ST_ACTIVE)
        return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(c);
    if (c->fd == fd && c->state == ST_ACTIVE && (ev & EPOLLOUT))
        conn_send(c);
}

/* ---- the run --------------------------------------------------------- */

/* Fails ops that made no progress in time; restarts waiting connections. */
static void
run_timers(double now)
{
    int i;

    for (i = 0; i < cfg.conc; i++) {
        struct conn *c = &conns[i];

        if ((c->state == ST_ACTIVE || c->state == ST_CONNECTING) &&
            now >= c->deadline)
            conn_fail(c, F_TIMEOUT, "no progress within the op timeout");
        else if (c->state == ST_WAIT && now >= c->retry_at)
            conn_start(c, now);
    }
}

static int
run_busy(void)
{
    int i;

    for (i = 0; i < cfg.conc; i++)
        if (conns[i].state != ST_IDLE)
            return 1;
    return 0;
}

static int
run(void)
{
    struct epoll_event evs[256];
    double t0 = now_s(), hard = t0 + cfg.hard_secs, next_timer = t0;
    int i;

    t_stop_launch = t0 + cfg.secs;
    for (i = 0; i < cfg.conc; i++)
        conn_start(&conns[i], now_s());
    for (;;) {
        double now = now_s();
        int n;

        if (now >= hard)
            return 1;
        if (now >= next_timer) {
            run_timers(now);
            next_timer = now + 0.01;
            if (!run_busy())
                return 0;
        }
        n = epoll_wait(epfd, evs, 256, 10);
        if (n < 0 && errno != EINTR)
            die("epoll_wait failed");
        for (i = 0; i < n; i++)
            conn_event(evs[i].data.ptr, evs[i].events);
    }
}

/* ---- setup and report ------------------------------------------------ */

static void
parse_addr(const char *host, int port, int t)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&cfg.addr[t];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cfg.addr[t];

    memset(&cfg.addr[t], 0, sizeof(cfg.addr[t]));
    cfg.ports[t] = port;
    if (port < 1 || port > 65535)
        die(t == 0 ? "-p: port must be 1-65535" : "-P: port must be 1-65535");
    if (strcmp(host, "127.0.0.1") == 0) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        cfg.addrlen[t] = sizeof(*s4);
    } else if (strcmp(host, "::1") == 0) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        cfg.addrlen[t] = sizeof(*s6);
    } else {
        die("-H: loopback only (127.0.0.1 or ::1)");
    }
}

static void
set_line(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        die("-l: empty line");
    cfg.line = malloc(n + 2);
    if (!cfg.line)
        die("out of memory");
    memcpy(cfg.line, s, n);
    if (s[n - 1] != '\n')
        cfg.line[n++] = '\n';
    cfg.line[n] = '\0';
    cfg.line_len = n;
}

/* A long printable line for stream, so that line handlers are not measured
 * on per-line overhead alone. */
static void
set_stream_line(void)
{
    int i;
    static char buf[1001];

    for (i = 0; i < 999; i++)
        buf[i] = (char)('a' + i % 26);
    buf[999] = '\n';
    set_line(buf);
}

static void
parse_xform(const char *s)
{
    cfg.suffix = "";
    if (strcmp(s, "echo") == 0)
        cfg.xform = XF_ECHO;
    else if (strcmp(s, "upper") == 0)
        cfg.xform = XF_UPPER;
    else if (strncmp(s, "suffix:", 7) == 0) {
        cfg.xform = XF_SUFFIX;
        cfg.suffix = s + 7;
    } else if (strcmp(s, "suffix") == 0) {
        cfg.xform = XF_SUFFIX;
        cfg.suffix = "----k";
    } else
        die("-x: echo, upper or suffix:SUFFIX");
}

static void
parse_mode(const char *s)
{
    if (strcmp(s, "conn") == 0)
        cfg.mode = MODE_CONN;
    else if (strcmp(s, "rr") == 0)
        cfg.mode = MODE_RR;
    else if (strcmp(s, "stream") == 0)
        cfg.mode = MODE_STREAM;
    else
        die("-m: conn, rr or stream");
}

static void
parse_args(int argc, char **argv)
{
    const char *host = "127.0.0.1", *line = NULL;
    int opt, port = 0, port2 = -1; /* -1: no -P */

    cfg.conc = 1;
    cfg.op_timeout = 5;
    cfg.stream_bytes = 1 << 20;
    cfg.suffix = "";
    while ((opt = getopt(argc, argv, "m:H:p:P:c:n:d:b:x:l:t:D:h")) != -1) {
        switch (opt) {
        case 'm':
            parse_mode(optarg);
            break;
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'P':
            port2 = atoi(optarg);
            break;
        case 'c':
            cfg.conc = atoi(optarg);
            break;
        case 'n':
            cfg.total = atol(optarg);
            break;
        case 'd':
            cfg.secs = atof(optarg);
            break;
        case 'b':
            cfg.stream_bytes = (size_t)atoll(optarg);
            break;
        case 'x':
            parse_xform(optarg);
            break;
        case 'l':
            line = optarg;
            break;
        case 't':
            cfg.op_timeout = atof(optarg);
            break;
        case 'D':
            cfg.hard_secs = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc) {
        usage(stderr);
        exit(2);
    }
    parse_addr(host, port, 0);
    cfg.targets = 1;
    if (port2 != -1) {
        if (cfg.mode != MODE_CONN)
            die("-P: conn only (rr and stream keep their connections)");
        parse_addr(host, port2, 1);
        cfg.targets = 2;
    }
    if (cfg.conc < 1 || cfg.conc > MAX_CONC)
        die("-c: concurrency must be 1-10000");
    if (cfg.mode == MODE_STREAM && cfg.total == 0 && cfg.secs <= 0)
        cfg.total = cfg.conc;
    if ((cfg.total > 0) == (cfg.secs > 0) || cfg.total < 0 || cfg.secs > 86400)
        die("give exactly one of -n TOTAL or -d SECONDS");
    if (cfg.op_timeout <= 0 || cfg.stream_bytes < 1)
        die("-t and -b must be positive");
    if (cfg.hard_secs <= 0)
        cfg.hard_secs = cfg.secs > 0 ? cfg.secs + cfg.op_timeout + 5 : 300;
    if (line)
        set_line(line);
    else if (cfg.mode == MODE_STREAM)
        set_stream_line();
    else
        set_line("hello plugsrv 0123456789\n");
}

/* Enough descriptors for every connection, when the hard limit allows. */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)cfg.conc + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static const char *
mode_name(void)
{
    return cfg.mode == MODE_CONN ? "conn"
           : cfg.mode == MODE_RR ? "rr"
                                 : "stream";
}

/* One RESULT line for a target; port= only when there are two. */
static void
report_target(struct load_stats *st, int t, int deadline_hit)
{
    double secs = st->t_last > st->t_first ? st->t_last - st->t_first : 0;
    int k;

    if (st->nsamples > 1)
        qsort(st->samples, st->nsamples, sizeof(*st->samples), cmp_u32);
    for (k = 0; k < F_NKINDS; k++)
        if (st->fails[k])
            fprintf(stderr, "plugload: port %d: %llu %s, first: %s\n",
                    cfg.ports[t], (unsigned long long)st->fails[k],
                    fail_names[k], st->first_err[k]);
    printf("RESULT mode=%s conc=%d ops=%llu secs=%.3f rate=%.1f p50_us=%u "
           "p90_us=%u p99_us=%u max_us=%u mean_us=%.1f mbps=%.2f",
           mode_name(), cfg.conc, (unsigned long long)st->ops, secs,
           secs > 0 ? (double)st->ops / secs : 0, stats_pct(st, 0.50),
           stats_pct(st, 0.90), stats_pct(st, 0.99),
           st->nsamples ? st->samples[st->nsamples - 1] : 0,
           st->nsamples ? st->sum_us / (double)st->nsamples : 0,
           secs > 0 ? (double)st->bytes / secs / 1e6 : 0);
    for (k = 0; k < F_NKINDS; k++)
        printf(" %s=%llu", fail_names[k], (unsigned long long)st->fails[k]);
    printf(" deadline=%d conns=%llu", deadline_hit,
           (unsigned long long)st->conns);
    if (cfg.targets > 1)
        printf(" port=%d", cfg.ports[t]);
    printf("\n");
}

static void
report(int deadline_hit)
{
    int t;

    if (deadline_hit)
        fprintf(stderr, "plugload: hard deadline of %.0f s reached\n",
                cfg.hard_secs);
    for (t = 0; t < cfg.targets; t++)
        report_target(&stats[t], t, deadline_hit);
    fflush(stdout);
}

static int
exit_status(int deadline_hit)
{
    int k, t, wrong = 0, other = 0;

    for (t = 0; t < cfg.targets; t++) {
        wrong |= stats[t].fails[F_WRONG] != 0;
        for (k = 0; k < F_NKINDS; k++)
            other |= stats[t].fails[k] != 0;
        other |= stats[t].ops == 0;
    }
    if (wrong)
        return 1;
    return deadline_hit || other ? 3 : 0;
}

int
main(int argc, char **argv)
{
    int i;
    int deadline_hit;

    parse_args(argc, argv);
    expect_build();
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    conns = calloc((size_t)cfg.conc, sizeof(*conns));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epfd < 0)
        die("setup failed");
    for (i = 0; i < cfg.conc; i++)
        conns[i].fd = -1;
    deadline_hit = run();
    report(deadline_hit);
    return exit_status(deadline_hit);
}
