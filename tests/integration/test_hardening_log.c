/*
 * test_hardening_log.c - the log never stops the parent (issue 8, item 1):
 * with stderr a pipe nobody reads, the parent goes on serving and stops at
 * once on SIGTERM, and the lines it wrote are whole lines. (The count of
 * dropped lines: test_hardening_logdrop.c, a program of its own so that
 * each fits in ctest's time.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Connections made while nobody reads: the pipe holds the lines of about
 * 300, so either is far past it; fewer under ASan, where a fork costs
 * more, so that each fits in ctest's 300 s (tests/integration/
 * CMakeLists.txt). */
#define NCONN      2000
#define NCONN_ASAN 1000
/* For all of them: a hang shows as one connection not served in 5 s; this
 * only bounds a slow run (a loaded 2-core machine took 50-180 s). */
#define TOTAL_MS 240000

/* ---- a stderr that nobody reads ---- */

/* In plugsrv's process before exec: stdout and stderr become the FIFO
 * (the test holds its read end open, so this does not block). */
static void
prep_fifo(void *arg)
{
    int fd = open((const char *)arg, O_WRONLY);

    if (fd < 0)
        _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

/* What the test has read from the pipe so far. */
struct pipebuf {
    int fd;
    char *data;
    size_t len, cap;
    int eof;
};

/* Reads what is there now, or waits up to wait_ms for something; returns
 * the bytes read (0 at EOF or when nothing came). */
static size_t
pipe_read(struct pipebuf *pb, int wait_ms)
{
    struct pollfd pfd = { .fd = pb->fd, .events = POLLIN };
    size_t got = 0;
    int i;

    if (wait_ms > 0 && poll(&pfd, 1, wait_ms) <= 0)
        return 0;
    for (i = 0; i < 100000 && !pb->eof; i++) {
        ssize_t n;

        if (pb->cap - pb->len < 65536) {
            pb->cap = pb->cap * 2 + 65536;
            pb->data = realloc(pb->data, pb->cap);
            assert_non_null(pb->data);
        }
        n = read(pb->fd, pb->data + pb->len, pb->cap - pb->len - 1);
        if (n == 0)
            pb->eof = 1;
        if (n <= 0)
            break;
        pb->len += (size_t)n;
        got += (size_t)n;
    }
    pb->data[pb->len] = '\0';
    return got;
}

/* Reads until a complete line holding s is there (or timeout_ms). */
static int
pipe_wait_for(struct pipebuf *pb, const char *s, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int i;

    for (i = 0; i < 100000; i++) {
        const char *p = pb->data ? strstr(pb->data, s) : NULL;
        long long left;

        if (p != NULL && strchr(p, '\n') != NULL)
            return 0;
        left = deadline - hs_now_ms();
        if (left <= 0 || pb->eof)
            return -1;
        pipe_read(pb, (int)(left < 200 ? left : 200));
    }
    return -1;
}

/* Every complete line is a whole log line: it starts with the time stamp
 * and "plugsrv[PID]: " (a line cut short and continued by another would
 * not). Returns the number of lines, or -1 (and shows the bad line). */
static int
pipe_whole_lines(struct pipebuf *pb)
{
    regex_t re;
    char *p, *nl;
    int n = 0, bad = 0;

    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                             "[0-9]{2}\\.[0-9]{3}Z plugsrv\\[[0-9]+\\]: [a-z]",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (p = pb->data; p != NULL && *p != '\0' && !bad; p = nl + 1) {
        if ((nl = strchr(p, '\n')) == NULL)
            break;
        *nl = '\0';
        if (regexec(&re, p, 0, NULL, 0) != 0) {
            fprintf(stderr, "not a whole log line: \"%.200s\"\n", p);
            bad = 1;
        }
        *nl = '\n';
        n++;
    }
    regfree(&re);
    return bad ? -1 : n;
}

/* Starts plugsrv with stdout and stderr the FIFO dir/err.fifo, whose read
 * end pb gets; reads its start (up to "ready"), then stops reading. */
static void
start_on_fifo(struct hs *h, struct pipebuf *pb, int port)
{
    char fifo[512];

    hs_path(h, "err.fifo", fifo, sizeof(fifo));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    memset(pb, 0, sizeof(*pb));
    pb->fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(pb->fd >= 0);
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_prep(h, NULL, prep_fifo, fifo), 0);
    assert_int_equal(pipe_wait_for(pb, " ready ", HS_START_MS), 0);
}

/* NCONN sequential echo connections, within TOTAL_MS in all, while nobody
 * reads the pipe. */
static void
serve_unread(int port)
{
    long long deadline = hs_now_ms() + TOTAL_MS, t0 = hs_now_ms();
    int i, n = hs_sanitized() ? NCONN_ASAN : NCONN;

    for (i = 0; i < n; i++) {
        long long left = deadline - hs_now_ms();

        if (left <= 0 || hs_echo_once("127.0.0.1", port,
                                      (int)(left < 5000 ? left : 5000)) != 0) {
            fprintf(stderr,
                    "connection %d of %d not served (stderr a full pipe)\n",
                    i + 1, n);
            fail();
        }
    }
    fprintf(stderr, "%d connections served in %lld ms\n", n, hs_now_ms() - t0);
}

/* stderr full: SIGTERM still ends the parent, at once and with 0. */
static void __attribute__((unused)) test_full_stderr_sigterm(void **state)
{
    struct hs *h = *state;
    struct pipebuf pb;
    int port = hs_port(), st;

    start_on_fifo(h, &pb, port);
    serve_unread(port);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, 5000);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Now everything can be read: whole lines only. */
    pipe_read(&pb, 0);
    assert_true(pipe_whole_lines(&pb) > 0);
    close(pb.fd);
    free(pb.data);
    h->passed = 1;
}

/* stderr full, then drained: the parent says how many lines it dropped. */
static void __attribute__((unused)) test_full_stderr_dropped(void **state)
{
    struct hs *h = *state;
    struct pipebuf pb;
    char line[256], *p, *nl;
    int port = hs_port(), st;
    long n;

    start_on_fifo(h, &pb, port);
    serve_unread(port);
    /* Drain, then one more connection: the count is written. */
    pipe_read(&pb, 0);
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    assert_int_equal(pipe_wait_for(&pb, "log-dropped lines=", 5000), 0);
    p = strstr(pb.data, "log-dropped lines=");
    nl = strchr(p, '\n');
    snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
    n = strtol(line + strlen("log-dropped lines="), NULL, 10);
    fprintf(stderr, "%s\n", line);
    assert_true(n > 0);
    assert_true(pipe_whole_lines(&pb) > 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, 5000);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(pb.fd);
    free(pb.data);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
#ifdef HARDENING_LOGDROP
        T(test_full_stderr_dropped),
#else
        T(test_full_stderr_sigterm),
#endif
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
