/*
 * Black-box tests of the real plugcli binary against tiny servers forked
 * here on 127.0.0.1 / ::1 (not plugsrv), talking to it through pipes.
 * Run as `test_plugcli NAME` to run one case (ctest registers client.NAME).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#ifndef PLUGCLI_BIN
#error "PLUGCLI_BIN must name the plugcli binary"
#endif

#define DEADLINE_MS    30000     /* one plugcli run, far above what it needs */
#define SERVER_ALARM_S 40        /* a stuck server child dies on its own */
#define MAX_STEPS      10000000L /* bound on pump iterations besides the clock */
#define BIG            (4u * 1024 * 1024)

/* ---- time and data ------------------------------------------------------ */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every byte value, NULs and newlines included: plugcli must not care. */
static unsigned char *
random_bytes(size_t len)
{
    size_t i;
    uint64_t x = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^
                 0x9e3779b97f4a7c15u;
    unsigned char *p = malloc(len);

    assert_non_null(p);
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

/* ---- servers ------------------------------------------------------------ */

typedef int (*serve_fn)(int conn);

struct server {
    pid_t pid;
    int port;
};

/* Returns -1 when the address family is not available here (no ::1). */
static int
listen_on(const char *addr, int *port, int do_listen)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
        len = sizeof(*s4);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        (do_listen && listen(fd, 8) < 0)) {
        close(fd);
        return -1;
    }
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/*
 * Forks a child that accepts one connection and runs fn on it. The socket
 * listens before plugcli starts, so there is no race to wait out.
 */
static int
server_start(struct server *s, const char *addr, serve_fn fn)
{
    int lfd = listen_on(addr, &s->port, 1);

    if (lfd < 0)
        return -1;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int conn;

        alarm(SERVER_ALARM_S);
        signal(SIGPIPE, SIG_IGN);
        conn = accept(lfd, NULL, NULL);
        _exit(conn < 0 ? 90 : fn(conn));
    }
    close(lfd);
    return 0;
}

/* The child is bounded by its alarm, so a blocking wait ends. */
static int
server_wait(struct server *s)
{
    int st;

    assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
serve_echo(int conn)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(conn, buf, sizeof(buf))) > 0)
        if (write_all(conn, buf, (size_t)n) < 0)
            return 91;
    return n == 0 ? 0 : 92;
}

/* Replies only after the client's FIN: proves plugcli half-closes. */
static int
serve_count_then_reply(int conn)
{
    char buf[65536], reply[64];
    size_t total = 0;
    ssize_t n;

    while ((n = read(conn, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    if (n < 0)
        return 92;
    snprintf(reply, sizeof(reply), "got %zu bytes\n", total);
    return write_all(conn, reply, strlen(reply)) < 0 ? 91 : 0;
}

static const char greeting[] = "hello from the server\n";

static int
serve_greet_and_close(int conn)
{
    return write_all(conn, greeting, strlen(greeting)) < 0 ? 91 : 0;
}

/* Closes its sending side first but keeps reading, so no RST muddles it. */
static int
serve_greet_then_drain(int conn)
{
    char buf[65536];

    if (write_all(conn, greeting, strlen(greeting)) < 0 ||
        shutdown(conn, SHUT_WR) < 0)
        return 91;
    while (read(conn, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

#define SOURCE_LEN (4u * 1024 * 1024)
#define SINK_LEN   (1u * 1024 * 1024)

static unsigned char
source_byte(size_t i)
{
    return (unsigned char)(i * 2654435761u >> 13);
}

/* Reads until EOF; exits 0 only if exactly SINK_LEN bytes came. */
static void
sink_child(int conn)
{
    char buf[65536];
    size_t total = 0;
    ssize_t n;

    while ((n = read(conn, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    _exit(n == 0 && total == SINK_LEN ? 0 : 94);
}

/*
 * Talks and listens at once (a reader child shares the socket): sends
 * SOURCE_LEN bytes whether or not anyone reads them yet, and takes stdin.
 */
static int
serve_source_and_sink(int conn)
{
    size_t off, i;
    unsigned char buf[65536];
    pid_t sink = fork();
    int st;

    if (sink < 0)
        return 95;
    if (sink == 0)
        sink_child(conn);
    for (off = 0; off < SOURCE_LEN; off += sizeof(buf)) {
        for (i = 0; i < sizeof(buf); i++)
            buf[i] = source_byte(off + i);
        if (write_all(conn, buf, sizeof(buf)) < 0)
            return 91;
    }
    if (shutdown(conn, SHUT_WR) < 0 || waitpid(sink, &st, 0) != sink)
        return 96;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 97;
}

/* SO_LINGER 0 makes close() send a RST instead of a FIN. */
static int
serve_reset(int conn)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    if (setsockopt(conn, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
        return 93;
    close(conn);
    return 0;
}

/* Says nothing; ends when plugcli goes away. */
static int
serve_silent(int conn)
{
    char buf[4096];

    while (read(conn, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

/* ---- running plugcli ---------------------------------------------------- */

struct run {
    const unsigned char *in;
    size_t in_len;
    int keep_stdin_open; /* don't send EOF after the input */
    int close_stdout;    /* close our reading end at once */
    size_t read_chunk;   /* small = a slow reader of plugcli's stdout */
    int hold_stdout;     /* read no stdout until all stdin is written */
    /* results */
    int status; /* exit status, or 128+signal */
    unsigned char *out;
    size_t out_len, out_cap;
    char err[4096];
    size_t err_len;
    int64_t elapsed_ms;
};

static void
run_free(struct run *r)
{
    free(r->out);
    r->out = NULL;
}

static pid_t
spawn(char *const argv[], int fds[3])
{
    int i;
    int in[2], out[2], err[2];
    pid_t pid;

    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* plugcli must survive SIGPIPE itself, so don't hand it SIG_IGN. */
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(126);
        execv(PLUGCLI_BIN, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    fds[0] = in[1];
    fds[1] = out[0];
    fds[2] = err[0];
    for (i = 0; i < 3; i++)
        assert_int_equal(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
    return pid;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void
feed_stdin(struct run *r, int *fd, size_t *off)
{
    ssize_t n = write(*fd, r->in + *off, r->in_len - *off);

    if (n > 0)
        *off += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        close_fd(fd); /* EPIPE: plugcli is gone or stopped reading, fine */
}

static void
drain_stdout(struct run *r, int *fd)
{
    ssize_t n;

    if (r->out_cap - r->out_len < r->read_chunk) {
        r->out_cap = r->out_cap * 2 + r->read_chunk;
        r->out = realloc(r->out, r->out_cap);
        assert_non_null(r->out);
    }
    n = read(*fd, r->out + r->out_len, r->read_chunk);
    if (n > 0)
        r->out_len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_fd(fd);
}

static void
drain_stderr(struct run *r, int *fd)
{
    char buf[4096];
    ssize_t n = read(*fd, buf, sizeof(buf));
    size_t room = sizeof(r->err) - 1 - r->err_len;

    if (n > 0) {
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(r->err + r->err_len, buf, k);
        r->err_len += k;
        r->err[r->err_len] = '\0';
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(fd);
    }
}

/*
 * Writes stdin and reads stdout/stderr at the same time (an echo would
 * deadlock otherwise), until plugcli closes its outputs or the deadline.
 */
static int
pump(struct run *r, int fds[3], int64_t deadline)
{
    long step;
    size_t off = 0;

    for (step = 0; step < MAX_STEPS && (fds[1] >= 0 || fds[2] >= 0); step++) {
        struct pollfd p[3];
        int left = (int)(deadline - now_ms());

        if (fds[0] >= 0 && off == r->in_len && !r->keep_stdin_open)
            close_fd(&fds[0]);
        if (left <= 0)
            return -1;
        p[0] = (struct pollfd){ .fd = off < r->in_len ? fds[0] : -1,
                                .events = POLLOUT };
        p[1] =
            (struct pollfd){ .fd = r->hold_stdout && fds[0] >= 0 ? -1 : fds[1],
                             .events = POLLIN };
        p[2] = (struct pollfd){ .fd = fds[2], .events = POLLIN };
        if (poll(p, 3, left) < 0 && errno != EINTR)
            return -1;
        if (p[0].fd >= 0 && p[0].revents)
            feed_stdin(r, &fds[0], &off);
        if (p[1].fd >= 0 && p[1].revents)
            drain_stdout(r, &fds[1]);
        if (p[2].fd >= 0 && p[2].revents)
            drain_stderr(r, &fds[2]);
    }
    return fds[1] < 0 && fds[2] < 0 ? 0 : -1;
}

/* Runs plugcli with argv (NULL-terminated, argv[0] included). */
static void
run_cli(struct run *r, char *const argv[])
{
    int i;
    int fds[3], st;
    int64_t start = now_ms();
    pid_t pid = spawn(argv, fds);
    int rc;

    if (r->read_chunk == 0)
        r->read_chunk = 65536;
    if (r->close_stdout)
        close_fd(&fds[1]);
    rc = pump(r, fds, start + DEADLINE_MS);
    for (i = 0; i < 3; i++)
        close_fd(&fds[i]);
    if (rc < 0)
        kill(pid, SIGKILL); /* our own child, by its pid */
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->elapsed_ms = now_ms() - start;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (rc < 0 || r->err_len > 0)
        fprintf(stderr, "# plugcli status %d, stderr: %s\n", r->status,
                r->err);
    assert_int_equal(rc, 0);
}

/* plugcli HOST PORT [extra options first] */
static void
run_to(struct run *r, const char *host, int port, const char *opt,
       const char *val)
{
    char portstr[16];
    char *argv[6];
    int i = 0;

    snprintf(portstr, sizeof(portstr), "%d", port);
    argv[i++] = (char *)"plugcli";
    if (opt) {
        argv[i++] = (char *)opt;
        argv[i++] = (char *)val;
    }
    argv[i++] = (char *)host;
    argv[i++] = portstr;
    argv[i] = NULL;
    run_cli(r, argv);
}

/* ---- tests -------------------------------------------------------------- */

static void
echo_big(const char *addr, size_t read_chunk)
{
    struct server s;
    struct run r = { .in_len = BIG, .read_chunk = read_chunk };
    unsigned char *data;

    if (server_start(&s, addr, serve_echo) < 0)
        skip();
    data = random_bytes(BIG);
    r.in = data;
    run_to(&r, addr, s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, BIG);
    assert_memory_equal(r.out, data, BIG);
    assert_int_equal(server_wait(&s), 0);
    free(data);
    run_free(&r);
}

static void
test_echo_4mib_ipv4(void **state)
{
    (void)state;
    echo_big("127.0.0.1", 0);
}

/* Also a slow reader: small reads make plugcli's stdout back up. */
static void
test_echo_4mib_ipv6(void **state)
{
    (void)state;
    echo_big("::1", 1024);
}

static void
test_half_close(void **state)
{
    struct server s;
    struct run r = { .in_len = 100000 };
    unsigned char *data = random_bytes(r.in_len);
    const char want[] = "got 100000 bytes\n";

    (void)state;
    r.in = data;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_count_then_reply), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, strlen(want));
    assert_memory_equal(r.out, want, strlen(want));
    assert_int_equal(server_wait(&s), 0);
    free(data);
    run_free(&r);
}

/* The server closes while our stdin is still open: a clean end. */
static void
test_server_closes_first(void **state)
{
    struct server s;
    struct run r = { .keep_stdin_open = 1 };

    (void)state;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_greet_and_close), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, strlen(greeting));
    assert_memory_equal(r.out, greeting, strlen(greeting));
    assert_int_equal(server_wait(&s), 0);
    run_free(&r);
}

/* Same, while stdin still has plenty to send. */
static void
test_server_closes_first_busy(void **state)
{
    struct server s;
    struct run r = { .in_len = 1u << 20, .keep_stdin_open = 1 };
    unsigned char *data = random_bytes(r.in_len);

    (void)state;
    r.in = data;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_greet_then_drain), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, strlen(greeting));
    assert_memory_equal(r.out, greeting, strlen(greeting));
    assert_int_equal(server_wait(&s), 0);
    free(data);
    run_free(&r);
}

/*
 * Nobody reads plugcli's stdout until all of stdin was taken: plugcli must
 * keep sending while its output is stuck, not block in a write to stdout.
 */
static void
test_stdout_blocked(void **state)
{
    size_t i;
    struct server s;
    struct run r = { .in_len = SINK_LEN, .hold_stdout = 1 };
    unsigned char *data = random_bytes(SINK_LEN);

    (void)state;
    r.in = data;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_source_and_sink), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, SOURCE_LEN);
    for (i = 0; i < SOURCE_LEN; i++)
        if (r.out[i] != source_byte(i))
            fail_msg("stdout differs at byte %zu", i);
    assert_int_equal(server_wait(&s), 0);
    free(data);
    run_free(&r);
}

/* A bound socket that never listens: the port is ours, so refusal is sure. */
static void
refused(const char *addr, const char *shown)
{
    struct run r = { 0 };
    char want[64];
    int port, fd = listen_on(addr, &port, 0);

    if (fd < 0)
        skip();
    run_to(&r, addr, port, NULL, NULL);
    close(fd);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want), "plugcli: %s:%d: ", shown, port);
    assert_memory_equal(r.err, want, strlen(want));
    assert_non_null(strstr(r.err, "refused"));
    assert_int_equal(r.out_len, 0);
    run_free(&r);
}

static void
test_refused(void **state)
{
    (void)state;
    refused("127.0.0.1", "127.0.0.1");
}

static void
test_refused_ipv6(void **state)
{
    (void)state;
    refused("::1", "[::1]");
}

static void
test_reset(void **state)
{
    struct server s;
    struct run r = { .keep_stdin_open = 1 };

    (void)state;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_reset), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "reset"));
    assert_int_equal(server_wait(&s), 0);
    run_free(&r);
}

/* -w 1 against a silent server with stdin open: exit 3, about a second. */
static void
test_timeout(void **state)
{
    struct server s;
    struct run r = { .keep_stdin_open = 1 };

    (void)state;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_silent), 0);
    run_to(&r, "127.0.0.1", s.port, "-w", "1");
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "timed out"));
    assert_true(r.elapsed_ms >= 900 && r.elapsed_ms < 10000);
    assert_int_equal(server_wait(&s), 0);
    run_free(&r);
}

/*
 * A listener with backlog 0 holding one unaccepted connection drops new
 * SYNs (Linux), so plugcli's connect hangs until -w gives up: exit 3.
 */
static void
test_connect_timeout(void **state)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct run r = { .keep_stdin_open = 1 };
    int port, lfd = listen_on("127.0.0.1", &port, 0);
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    (void)state;
    assert_true(lfd >= 0 && filler >= 0);
    assert_int_equal(listen(lfd, 0), 0);
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof(sa)), 0);
    run_to(&r, "127.0.0.1", port, "-w", "1");
    close(filler);
    close(lfd);
    assert_int_equal(r.status, 3);
    assert_non_null(strstr(r.err, "connect to 127.0.0.1"));
    assert_non_null(strstr(r.err, "timed out"));
    assert_true(r.elapsed_ms >= 900 && r.elapsed_ms < 10000);
    run_free(&r);
}

static void
test_localhost(void **state)
{
    struct server s;
    static const unsigned char hello[] = "hello\0world\n";
    struct run r = { .in = hello, .in_len = sizeof(hello) };

    (void)state;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_echo), 0);
    run_to(&r, "localhost", s.port, NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, sizeof(hello));
    assert_memory_equal(r.out, hello, sizeof(hello));
    assert_int_equal(server_wait(&s), 0);
    run_free(&r);
}

/* Nobody reads plugcli's stdout: EPIPE is an I/O error (1), not SIGPIPE death. */
static void
test_stdout_closed(void **state)
{
    struct server s;
    struct run r = { .in_len = 65536, .close_stdout = 1 };
    unsigned char *data = random_bytes(r.in_len);

    (void)state;
    r.in = data;
    assert_int_equal(server_start(&s, "127.0.0.1", serve_echo), 0);
    run_to(&r, "127.0.0.1", s.port, NULL, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "stdout"));
    server_wait(&s); /* may see a reset; only its ending matters */
    free(data);
    run_free(&r);
}

static void
expect_usage(char *const argv[])
{
    struct run r = { 0 };

    run_cli(&r, argv);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage"));
    assert_int_equal(r.out_len, 0);
    run_free(&r);
}

static void
test_usage(void **state)
{
    char *none[] = { "plugcli", NULL };
    char *one[] = { "plugcli", "127.0.0.1", NULL };
    char *three[] = { "plugcli", "127.0.0.1", "1", "x", NULL };
    char *badw[] = { "plugcli", "-w", "soon", "127.0.0.1", "1", NULL };
    char *negw[] = { "plugcli", "-w", "-1", "127.0.0.1", "1", NULL };
    char *unknown[] = { "plugcli", "-q", "127.0.0.1", "1", NULL };
    char *noarg[] = { "plugcli", "127.0.0.1", "1", "-w", NULL };

    (void)state;
    expect_usage(none);
    expect_usage(one);
    expect_usage(three);
    expect_usage(badw);
    expect_usage(negw);
    expect_usage(unknown);
    expect_usage(noarg);
}

static void
test_help(void **state)
{
    char *argv[] = { "plugcli", "-h", NULL };
    struct run r = { 0 };

    (void)state;
    run_cli(&r, argv);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    assert_non_null(r.out);
    r.out[r.out_len < r.out_cap ? r.out_len : r.out_cap - 1] = '\0';
    assert_non_null(strstr((char *)r.out, "usage: plugcli"));
    assert_non_null(strstr((char *)r.out, "Exit status"));
    run_free(&r);
}

static int
known_test(const struct CMUnitTest *t, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return 1;
    return 0;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_4mib_ipv4),
        cmocka_unit_test(test_echo_4mib_ipv6),
        cmocka_unit_test(test_half_close),
        cmocka_unit_test(test_server_closes_first),
        cmocka_unit_test(test_server_closes_first_busy),
        cmocka_unit_test(test_stdout_blocked),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_refused_ipv6),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_stdout_closed),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_help),
    };

    /* The driver writes to pipes plugcli may have closed: EPIPE, not death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 &&
        !known_test(tests, sizeof(tests) / sizeof(tests[0]), argv[1])) {
        fprintf(stderr, "test_plugcli: no test named %s\n", argv[1]);
        return 2; /* a typo in CMakeLists must not pass by running nothing */
    }
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
