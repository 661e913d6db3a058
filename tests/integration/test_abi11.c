/*
 * test_abi11.c - handler ABI 1.1 through the real binary: a module built
 * against the 1.0 header still serves, a module newer than the host is
 * refused naming both versions, timers and input together (ticker.so),
 * stop() on SIGTERM, a connection's stdin/stdout on /dev/null, and the
 * bundled daytime, chargen, exec and relay handlers.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIG (8 * 1024 * 1024)

/* ---- helpers ---- */

/* Receives into buf (NUL-terminated, cap bytes) until it holds needle;
 * the bytes received, or -1 at EOF, an error or the deadline. */
static ssize_t
recv_until(int fd, char *buf, size_t cap, const char *needle, int timeout_ms)
{
    long long end = hs_now_ms() + timeout_ms;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    size_t len = 0;
    ssize_t n;

    buf[0] = '\0';
    while (strstr(buf, needle) == NULL) {
        long long left = end - hs_now_ms();

        if (left <= 0 || len + 1 >= cap)
            return -1;
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0 && !(n == -1 && (errno == EAGAIN || errno == EINTR)))
            return -1;
        if (n > 0) {
            len += (size_t)n;
            buf[len] = '\0';
        }
    }
    return (ssize_t)len;
}

/* The pid of the connection the log accepted last on listener. */
static pid_t
conn_pid(struct hs *h, const char *listener)
{
    char want[128], line[1024], pid[32];

    snprintf(want, sizeof(want), "listener=%s ", listener);
    if (hs_wait_log(h, 1, HS_IO_MS, ": accept ", want, NULL) < 0 ||
        hs_log_last(h, line, sizeof(line), ": accept ", want, NULL) < 0)
        return -1;
    hs_log_value(line, "pid", pid, sizeof(pid));
    return (pid_t)atol(pid);
}

/* utime + stime of pid, in clock ticks; -1 if it is gone. */
static long long
cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    if (!ok || (p = strrchr(buf, ')')) == NULL)
        return -1;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static unsigned char *
random_bytes(size_t n, unsigned seed)
{
    unsigned char *b = malloc(n);
    size_t i;

    assert_non_null(b);
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
    return b;
}

/* Sends out, half-closes, and expects exactly want back before EOF. */
static void
exchange(const char *addr, int port, const void *out, size_t outlen,
         const void *want, size_t wantlen)
{
    unsigned char *in = malloc(wantlen + 1);
    struct hs_xfer x = {
        .out = out, .outlen = outlen, .shut_wr = 1, .timeout_ms = 60000
    };
    int fd = hs_connect(addr, port, HS_IO_MS);
    ssize_t got;

    assert_non_null(in);
    assert_true(fd >= 0);
    x.in = in;
    x.incap = wantlen + 1;
    got = hs_exchange(fd, &x);
    if (got != (ssize_t)wantlen)
        fprintf(stderr, "port %d: got %zd bytes, want %zu\n", port, got,
                wantlen);
    assert_int_equal(got, (ssize_t)wantlen);
    assert_memory_equal(in, want, wantlen);
    assert_false(x.reset);
    close(fd);
    free(in);
}

/* ---- compatibility ---- */

/* A module built against a copy of the 1.0 header serves unchanged; the
 * connection's stdin and stdout are /dev/null (the module checks). */
static void
test_abi10_module_serves(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;

    hs_write_config(h,
                    "{ \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"%s\" } ] }\n",
                    port, TEST_MODULE("echo10"));
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "", "stdio ok\n"), 0);
    assert_int_equal(hs_roundtrip(fd, "hello\n", "hello\n"), 0);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=ok", NULL),
                     0);
    h->passed = 1;
}

/* A module newer than the host (1.2 on 1.1) is refused, both named. */
static void
test_newer_minor_refused(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-t", "-c", h->conf, NULL };
    int st;

    hs_write_config(h,
                    "{ \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"%s\" } ] }\n",
                    hs_port(), TEST_MODULE("new_minor"));
    st = hs_run(h, HS_EXIT_MS, argv);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    if (strstr(h->err, "handler ABI 1.2, plugsrv supports 1.0 to 1.1") == NULL)
        fail_msg("stderr: %s", h->err);
    h->passed = 1;
}

/* A 1.0-sized struct that claims 1.1 is refused: plugsrv would read
 * eof() and stop() past its end. */
static void
test_short_struct_refused(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-t", "-c", h->conf, NULL };
    int st;

    hs_write_config(h,
                    "{ \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"%s\" } ] }\n",
                    hs_port(), TEST_MODULE("short11"));
    st = hs_run(h, HS_EXIT_MS, argv);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    if (strstr(h->err, "short11.so: handler struct is ") == NULL ||
        strstr(h->err, " bytes, ABI 1.1 needs ") == NULL)
        fail_msg("stderr: %s", h->err);
    h->passed = 1;
}

/* ---- timers and input together; stop() ---- */

static int
start_ticker(struct hs *h, int port)
{
    return hs_write_config(
               h,
               "{ \"shutdown_timeout\": 5, \"idle_timeout\": 30,\n"
               "  \"listeners\": [ { \"address\": \"::1\", \"port\": %d, "
               "\"module\": \"%s\", \"options\": { \"peer\": true } } ] }\n",
               port, TEST_MODULE("ticker")) < 0
               ? -1
               : hs_start_ready(h);
}

static void
test_ticker_echoes_between_ticks(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char buf[8192], want[128];
    struct sockaddr_in6 me;
    socklen_t len = sizeof(me);

    assert_int_equal(start_ticker(h, port), 0);
    fd = hs_connect("::1", port, HS_IO_MS);
    assert_true(fd >= 0);
    /* the numeric addresses and ports, the listener's name */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
    snprintf(want, sizeof(want), "peer ::1 %d local ::1 %d listener ticker\n",
             ntohs(me.sin6_port), port);
    assert_true(recv_until(fd, buf, sizeof(buf), "\n", HS_IO_MS) > 0);
    assert_string_equal(buf, want);
    /* ticks come on their own, input is echoed in between */
    assert_true(recv_until(fd, buf, sizeof(buf), "tick 2\n", HS_IO_MS) > 0);
    assert_int_equal(hs_send_str(fd, "ping one\n"), 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "ping one\n", HS_IO_MS) > 0);
    assert_int_equal(hs_send_str(fd, "ping two\n"), 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "ping two\n", HS_IO_MS) > 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "tick ", HS_IO_MS) > 0);
    /* eof(): the handler's last word, then the end */
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "eof\n", HS_IO_MS) > 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=ok", NULL),
                     0);
    h->passed = 1;
}

/* SIGTERM: stop() says goodbye and closes, long before shutdown_timeout;
 * a 1.0 handler's connection ends as before. */
static void
test_stop_says_goodbye(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, st;
    char buf[8192];
    long long t0;

    assert_int_equal(start_ticker(h, port), 0);
    fd = hs_connect("::1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "tick 1\n", HS_IO_MS) > 0);
    t0 = hs_now_ms();
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_true(recv_until(fd, buf, sizeof(buf), "bye\n", HS_IO_MS) > 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(hs_now_ms() - t0 < 4000); /* not the 5 s grace */
    assert_int_equal(hs_log_count(h, ": exit ", "reason=shutdown", NULL), 1);
    assert_int_equal(hs_log_count(h, "reason=killed", NULL), 0);
    h->passed = 1;
}

/* ---- daytime and chargen ---- */

static void
test_daytime(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char buf[256];
    ssize_t n;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [ { "
                    "\"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
                    "\"daytime\", \"options\": { \"utc\": true } } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    n = hs_recv_eof(fd, buf, sizeof(buf) - 1, HS_IO_MS);
    assert_true(n > 2);
    buf[n] = '\0';
    /* "Saturday, November 28, 2026 01:50:02 UTC\r\n" */
    assert_non_null(strstr(buf, " UTC\r\n"));
    assert_int_equal(strchr(buf, '\n') - buf, n - 1);
    assert_non_null(strchr(buf, ','));
    close(fd);
    h->passed = 1;
}

static int
start_chargen(struct hs *h, int port, int idle)
{
    if (hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 5, "
                        "\"listeners\": [ { \"address\": \"127.0.0.1\", "
                        "\"port\": %d, \"module\": \"chargen\", "
                        "\"idle_timeout\": %d } ] }\n",
                        PLUGSRV_MODULE_DIR, port, idle) < 0)
        return -1;
    return hs_start_ready(h);
}

/* The RFC 864 pattern at offset i of the stream. */
static char
chargen_at(size_t i)
{
    size_t line = (i / 74) % 95, col = i % 74;

    if (col == 72)
        return '\r';
    if (col == 73)
        return '\n';
    return (char)(' ' + (line + col) % 95);
}

/* A fast reader gets the pattern, many MiB of it, quickly. */
static void
test_chargen_fast_reader(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char *buf = malloc(BIG);
    ssize_t n;
    size_t i;
    long long t0;

    assert_non_null(buf);
    assert_int_equal(start_chargen(h, port, 30), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    t0 = hs_now_ms();
    n = hs_recv_n(fd, buf, BIG, 30000);
    assert_int_equal(n, BIG);
    for (i = 0; i < BIG; i++) {
        if (buf[i] != chargen_at(i))
            fail_msg("byte %zu is 0x%02x, want 0x%02x", i,
                     (unsigned char)buf[i], (unsigned char)chargen_at(i));
    }
    fprintf(stderr, "chargen: 8 MiB in %lld ms\n", hs_now_ms() - t0);
    close(fd);
    free(buf);
    /* the client's close ends it */
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "chargen", NULL),
                     0);
    h->passed = 1;
}

/* A client that reads nothing: chargen uses no CPU while it waits, and
 * the connection is closed after idle_timeout. */
static void
test_chargen_idle_reader(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    struct pollfd p;
    long long a, b;
    pid_t pid;
    int i;

    assert_int_equal(start_chargen(h, port, 8), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_true((pid = conn_pid(h, "chargen")) > 0);
    /* Once both socket buffers and the queue are full it only waits:
     * wait (bounded) for its CPU time to stop moving, then measure it
     * across 1.5 s. */
    p = (struct pollfd){ .fd = -1 };
    a = cpu_ticks(pid);
    for (i = 0; i < 12; i++) {
        poll(&p, 0, 250);
        b = cpu_ticks(pid);
        if (b == a)
            break;
        a = b;
    }
    poll(&p, 0, 1500);
    b = cpu_ticks(pid);
    assert_true(a >= 0 && b >= 0);
    if (b - a > 2)
        fail_msg("chargen used %lld ticks while the client did not read",
                 b - a);
    assert_int_equal(hs_wait_log(h, 1, 10000, ": exit ", "chargen",
                                 "reason=idle-timeout", NULL),
                     0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    h->passed = 1;
}

/* SIGTERM ends a streaming chargen cleanly within shutdown_timeout. */
static void
test_chargen_sigterm(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, st;
    char buf[65536];
    long long t0;

    assert_int_equal(start_chargen(h, port, 30), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, sizeof(buf), HS_IO_MS),
                     (ssize_t)sizeof(buf));
    t0 = hs_now_ms();
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(hs_now_ms() - t0 < 4000);
    assert_int_equal(hs_log_count(h, ": exit ", "reason=shutdown", NULL), 1);
    h->passed = 1;
}

/* ---- exec ---- */

static int
start_exec(struct hs *h, const char *addr, int port, int idle,
           const char *options)
{
    if (hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 5, "
                        "\"listeners\": [ { \"address\": \"%s\", "
                        "\"port\": %d, \"module\": \"exec\", "
                        "\"idle_timeout\": %d, \"options\": %s } ] }\n",
                        PLUGSRV_MODULE_DIR, addr, port, idle, options) < 0)
        return -1;
    return hs_start_ready(h);
}

/* cat, unchanged: 8 MiB through it, every byte; its exit is logged. */
static void
test_exec_cat(void **state)
{
    struct hs *h = *state;
    int port = hs_port();
    unsigned char *out = random_bytes(BIG, 7);

    assert_int_equal(
        start_exec(h, "127.0.0.1", port, 30, "{ \"argv\": [\"cat\"] }"), 0);
    exchange("127.0.0.1", port, out, BIG, out, BIG);
    free(out);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "handler listener=exec",
                                 "msg=\"exit status=0\"", NULL),
                     0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=ok", NULL),
                     0);
    h->passed = 1;
}

/* The UCSPI environment (IPv6 here), "env", no signal blocked, ignored
 * or pending, no fd but 0, 1, 2 (and ls's own). */
static void
test_exec_environment(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char buf[4096], want[512];
    struct sockaddr_in6 me;
    socklen_t len = sizeof(me);
    ssize_t n;

    assert_int_equal(
        start_exec(h, "::1", port, 30,
                   "{ \"argv\": [\"/bin/sh\", \"-c\", \"read x; echo "
                   "\\\"$x $PROTO $TCPREMOTEIP $TCPREMOTEPORT $TCPLOCALIP "
                   "$TCPLOCALPORT $GREETING\\\"; grep -E "
                   "'^Sig(Pnd|Blk|Ign)' /proc/self/status; ls "
                   "/proc/self/fd\"], \"env\": { \"GREETING\": \"hi\" } }"),
        0);
    fd = hs_connect("::1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
    assert_int_equal(hs_send_str(fd, "line\n"), 0);
    n = hs_recv_eof(fd, buf, sizeof(buf) - 1, HS_IO_MS);
    assert_true(n > 0);
    buf[n] = '\0';
    snprintf(want, sizeof(want),
             "line TCP ::1 %d ::1 %d hi\n"
             "SigPnd:\t0000000000000000\n"
             "SigBlk:\t0000000000000000\n"
             "SigIgn:\t0000000000000000\n"
             "0\n1\n2\n3\n",
             ntohs(me.sin6_port), port);
    assert_string_equal(buf, want);
    close(fd);
    h->passed = 1;
}

/* What the program says on stderr is logged, line by line, and so is a
 * failing exit status (the connection ends as a handler error). */
static void
test_exec_stderr_and_status(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char buf[64];

    assert_int_equal(
        start_exec(h, "127.0.0.1", port, 30,
                   "{ \"argv\": [\"/bin/sh\", \"-c\", \"echo first >&2; "
                   "echo second >&2; echo out; exit 3\"] }"),
        0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_eof(fd, buf, sizeof(buf), HS_IO_MS), 4);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=handler-error", NULL),
        0);
    assert_int_equal(
        hs_log_count(h, "handler listener=exec", "level=warn", "first", NULL),
        1);
    assert_int_equal(hs_log_count(h, "handler listener=exec", "second", NULL),
                     1);
    assert_int_equal(hs_log_count(h, "msg=\"exit status=3\"", NULL), 1);
    h->passed = 1;
}

/* A program that cannot be started: the connection is closed, the reason
 * logged with the program's name, and the server serves on. */
static void
test_exec_missing(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, i;
    char buf[64];

    assert_int_equal(
        start_exec(h, "127.0.0.1", port, 30,
                   "{ \"argv\": [\"/nonexistent/prog\", \"x\"] }"),
        0);
    for (i = 0; i < 2; i++) {
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_recv_eof(fd, buf, sizeof(buf), HS_IO_MS), 0);
        close(fd);
    }
    assert_int_equal(
        hs_wait_log(h, 2, HS_IO_MS, ": exit ", "reason=handler-error", NULL),
        0);
    assert_int_equal(hs_log_count(h, "handler listener=exec", "level=error",
                                  "exec /nonexistent/prog",
                                  "No such file or directory", NULL),
                     2);
    h->passed = 1;
}

/* idle_timeout for a program: its read of a silent client fails after
 * idle_timeout (the socket's receive timeout), and cat ends. */
static void
test_exec_idle(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    long long t0;

    assert_int_equal(
        start_exec(h, "127.0.0.1", port, 1, "{ \"argv\": [\"cat\"] }"), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    t0 = hs_now_ms();
    assert_int_equal(hs_wait_closed(fd, 10000), 1);
    assert_true(hs_now_ms() - t0 >= 900);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "handler listener=exec",
                                 "Resource temporarily unavailable", NULL),
                     0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "msg=\"exit status=1\"", NULL), 0);
    h->passed = 1;
}

/* max_duration for a program: at the deadline the parent's SIGTERM
 * reaches the program through exec's stop(); the exit says max-duration. */
static void
test_exec_max_duration(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    long long t0;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [ { "
                    "\"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
                    "\"exec\", \"max_duration\": 1, \"options\": { "
                    "\"argv\": [\"cat\"] } } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    t0 = hs_now_ms();
    assert_int_equal(hs_roundtrip(fd, "x\n", "x\n"), 0);
    assert_int_equal(hs_wait_closed(fd, 10000), 1);
    assert_true(hs_now_ms() - t0 < 5000);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=max-duration", NULL),
        0);
    assert_int_equal(hs_log_count(h, "msg=\"exit signal=15\"", NULL), 1);
    assert_int_equal(hs_orphans(h), 0);
    h->passed = 1;
}

/* SIGTERM reaches the program; the connection ends as a shutdown. */
static void
test_exec_sigterm(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, st;

    assert_int_equal(
        start_exec(h, "127.0.0.1", port, 30, "{ \"argv\": [\"cat\"] }"), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "x\n", "x\n"), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(hs_log_count(h, "msg=\"exit signal=15\"", NULL), 1);
    assert_int_equal(hs_log_count(h, ": exit ", "reason=shutdown", NULL), 1);
    assert_int_equal(hs_orphans(h), 0);
    h->passed = 1;
}

/* ---- relay ---- */

/* Multi-MiB both ways through relay to an echo listener, every byte; the
 * client's half-close reaches the backend and the backend's comes back. */
static void
test_relay_big(void **state)
{
    struct hs *h = *state;
    int pe = hs_port(), pr = hs_port(), pr6 = hs_port();
    unsigned char *out = random_bytes(BIG, 11);

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"idle_timeout\": 30,\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
        "\"relay\", \"options\": { \"to\": \"127.0.0.1:%d\" } },\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"relay\", "
        "\"name\": \"relay6\", \"options\": { \"to\": \"127.0.0.1:%d\" } } ] "
        "}\n",
        PLUGSRV_MODULE_DIR, pe, pr, pe, pr6, pe);
    assert_int_equal(hs_start_ready(h), 0);
    exchange("127.0.0.1", pr, out, BIG, out, BIG);
    exchange("::1", pr6, out, 3 * 1024 * 1024 + 17, out, 3 * 1024 * 1024 + 17);
    exchange("127.0.0.1", pr, "", 0, "", 0);
    free(out);
    assert_int_equal(hs_wait_log(h, 3, HS_IO_MS, ": exit ", "listener=relay",
                                 "reason=ok", NULL),
                     0);
    h->passed = 1;
}

/* A backend that refuses: logged, and the client is closed. */
static void
test_relay_refused(void **state)
{
    struct hs *h = *state;
    int pr = hs_port(), dead = hs_port(), fd;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [ { "
                    "\"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
                    "\"relay\", \"options\": { \"to\": \"127.0.0.1:%d\" } } "
                    "] }\n",
                    PLUGSRV_MODULE_DIR, pr, dead);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", pr, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "handler listener=relay",
                                 "refused: Connection refused", NULL),
                     0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=handler-error", NULL),
        0);
    h->passed = 1;
}

/* A backend that resets the connection: logged, and the client closed.
 * The backend is a socket of the test's own, closed with SO_LINGER 0. */
static void
test_relay_backend_reset(void **state)
{
    struct hs *h = *state;
    int pr = hs_port(), pb = hs_port(), ls, b, fd, one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)pb) };
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    struct pollfd p;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(ls >= 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 4), 0);
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [ { "
                    "\"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
                    "\"relay\", \"options\": { \"to\": \"127.0.0.1:%d\" } } "
                    "] }\n",
                    PLUGSRV_MODULE_DIR, pr, pb);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", pr, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_send_str(fd, "to the backend\n"), 0);
    p = (struct pollfd){ .fd = ls, .events = POLLIN };
    assert_int_equal(poll(&p, 1, HS_IO_MS), 1);
    b = accept(ls, NULL, NULL);
    assert_true(b >= 0);
    setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(b); /* a reset */
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    close(ls);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "handler listener=relay",
                                 "reset: Connection reset by peer", NULL),
                     0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "reason=handler-error", NULL),
        0);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_abi10_module_serves),
        T(test_newer_minor_refused),
        T(test_short_struct_refused),
        T(test_ticker_echoes_between_ticks),
        T(test_stop_says_goodbye),
        T(test_daytime),
        T(test_chargen_fast_reader),
        T(test_chargen_idle_reader),
        T(test_chargen_sigterm),
        T(test_exec_cat),
        T(test_exec_environment),
        T(test_exec_stderr_and_status),
        T(test_exec_missing),
        T(test_exec_idle),
        T(test_exec_sigterm),
        T(test_exec_max_duration),
        T(test_relay_big),
        T(test_relay_refused),
        T(test_relay_backend_reset),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
