/*
 * test_log_full.c - a log nobody reads never stops the parent (issue 8
 * item 1): plugsrv's stderr is a pipe of one page that the test leaves
 * unread. Connections are all served, O_NONBLOCK never lands on the file
 * description plugsrv was given, the lines that found no room are counted
 * (log-dropped lines=N) once the reader is back, the reader only ever
 * sees whole lines, and SIGTERM stops the server at once with the pipe
 * full.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define FILL_CONNS 400   /* ~400 bytes of log each: pipe and 64 KiB buffer */
#define MORE_CONNS 60    /* enough to fill the pipe again */
#define TOTAL_MS   60000 /* for each batch */
/* The longest listener name: long lines fill the log sooner. */
#define LONG_NAME                                                             \
    "lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"

/* The read end of a one-page pipe whose write end is plugsrv's stdout and
 * stderr, and what was read from it. */
struct logpipe {
    int r, w;
    char wpath[64]; /* /proc/<test>/fd/<w>: the harness closes our fds */
    char *data;
    size_t len, cap;
    int eof;
};

static void
prep_pipe(void *arg)
{
    int fd = open((const char *)arg, O_WRONLY);

    if (fd < 0)
        _exit(126);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

/* Reads what is there, after waiting up to wait_ms for something. */
static void
pipe_read(struct logpipe *lp, int wait_ms)
{
    struct pollfd pfd = { .fd = lp->r, .events = POLLIN };
    ssize_t n;
    int i;

    if (wait_ms > 0 && poll(&pfd, 1, wait_ms) <= 0)
        return;
    for (i = 0; i < 100000 && !lp->eof; i++) {
        if (lp->cap - lp->len < 65536) {
            lp->cap = lp->cap * 2 + 65536;
            lp->data = realloc(lp->data, lp->cap);
            assert_non_null(lp->data);
        }
        n = read(lp->r, lp->data + lp->len, lp->cap - lp->len - 1);
        if (n == 0)
            lp->eof = 1;
        if (n <= 0)
            break;
        lp->len += (size_t)n;
    }
    lp->data[lp->len] = '\0';
}

/* Reads until a whole line holding s has come, or timeout_ms. */
static int
pipe_wait_for(struct logpipe *lp, const char *s, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms, left;
    const char *p;
    int i;

    for (i = 0; i < 100000; i++) {
        p = lp->data != NULL ? strstr(lp->data, s) : NULL;
        if (p != NULL && strchr(p, '\n') != NULL)
            return 0;
        left = deadline - hs_now_ms();
        if (left <= 0 || lp->eof)
            return -1;
        pipe_read(lp, (int)(left < 200 ? left : 200));
    }
    return -1;
}

/* Every line read is a whole log line (a line cut and continued by
 * another would not start so); the number of lines, or -1. */
static int
whole_lines(const struct logpipe *lp)
{
    regex_t re;
    const char *p, *nl;
    char line[256];
    int n = 0, bad = 0;

    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                             "[0-9]{2}\\.[0-9]{3}Z plugsrv\\[[0-9]+\\]: [a-z]",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (p = lp->data; p != NULL && !bad && (nl = strchr(p, '\n')) != NULL;
         p = nl + 1) {
        snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
        if (regexec(&re, line, 0, NULL, 0) != 0) {
            fprintf(stderr, "not a whole log line: \"%s\"\n", line);
            bad = 1;
        }
        n++;
    }
    regfree(&re);
    return bad ? -1 : n;
}

/* n connections, one after the other, all served in TOTAL_MS. */
static void
serve_unread(int port, int n)
{
    long long deadline = hs_now_ms() + TOTAL_MS, left;
    int i;

    for (i = 0; i < n; i++) {
        left = deadline - hs_now_ms();
        if (left <= 0 || hs_echo_once("127.0.0.1", port,
                                      (int)(left < 5000 ? left : 5000)) != 0) {
            fprintf(stderr, "connection %d of %d not served (log unread)\n",
                    i + 1, n);
            fail();
        }
    }
}

/* plugsrv's fd 2 is still the blocking description it was given. */
static void
check_fd2_blocking(pid_t pid)
{
    char path[64], buf[512], *p;
    unsigned long flags;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/fdinfo/2", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    p = strstr(buf, "flags:");
    assert_non_null(p);
    flags = strtoul(p + strlen("flags:"), NULL, 8);
    assert_int_equal(flags & O_NONBLOCK, 0);
}

static void
start_on_pipe(struct hs *h, struct logpipe *lp, int port)
{
    int fds[2];

    memset(lp, 0, sizeof(*lp));
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    lp->r = fds[0];
    lp->w = fds[1];
    assert_true(fcntl(lp->r, F_SETPIPE_SZ, 4096) >= 4096);
    assert_int_equal(fcntl(lp->r, F_SETFL, O_NONBLOCK), 0);
    snprintf(lp->wpath, sizeof(lp->wpath), "/proc/%d/fd/%d", (int)getpid(),
             lp->w);
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\", \"name\": \"%s\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port, LONG_NAME),
        0);
    assert_int_equal(hs_start_prep(h, NULL, prep_pipe, lp->wpath), 0);
    assert_int_equal(pipe_wait_for(lp, " ready ", HS_START_MS), 0);
    /* Only plugsrv writes now: EOF once it and its children are gone. */
    close(lp->w);
}

static void
test_full_pipe(void **state)
{
    struct hs *h = *state;
    struct logpipe lp;
    const char *p;
    long long t0;
    long dropped;
    int port = hs_port(), st;

    start_on_pipe(h, &lp, port);
    serve_unread(port, FILL_CONNS);
    check_fd2_blocking(h->pid);

    /* The reader comes back: one more connection, and the count. */
    pipe_read(&lp, 0);
    assert_int_equal(hs_echo_once("127.0.0.1", port, HS_IO_MS), 0);
    assert_int_equal(pipe_wait_for(&lp, "]: log-dropped lines=", HS_IO_MS), 0);
    p = strstr(lp.data, "]: log-dropped lines=");
    dropped = strtol(p + strlen("]: log-dropped lines="), NULL, 10);
    fprintf(stderr, "log-dropped lines=%ld\n", dropped);
    assert_true(dropped > 0);
    assert_int_equal(pipe_wait_for(&lp, "]: exit ", HS_IO_MS), 0);
    assert_true(whole_lines(&lp) > 0);

    /* Full again: SIGTERM still ends it, at once, with 0. */
    serve_unread(port, MORE_CONNS);
    t0 = hs_now_ms();
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, 5000);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fprintf(stderr, "SIGTERM to exit: %lld ms\n", hs_now_ms() - t0);
    pipe_read(&lp, 0);
    assert_true(whole_lines(&lp) > 0);
    close(lp.r);
    free(lp.data);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_full_pipe),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
