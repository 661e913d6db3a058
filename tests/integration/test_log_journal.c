/*
 * test_log_journal.c - when stderr is the journal ($JOURNAL_STREAM names
 * the dev:ino of fd 2), each line starts with its syslog priority, so that
 * `journalctl -p err` works (issue 9): <3> errors, <4> warnings (refuse,
 * a crash), <6> the rest, a handler's own level for its lines; no prefix
 * when $JOURNAL_STREAM names another stream than fd 2. On a stream socket nobody reads (the
 * journal stalled), the parent goes on serving and stops on SIGTERM.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define SOCK_CONNS 300 /* ~300 bytes of log each: socket and buffer */

static void
prep_env(void *arg)
{
    setenv("JOURNAL_STREAM", (const char *)arg, 1);
}

/* stderr's dev:ino as systemd writes it in $JOURNAL_STREAM. */
static void
stream_of(const char *path, char *buf, size_t len)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    snprintf(buf, len, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

/* The last line holding s starts with prefix. */
static void
expect_prefix(struct hs *h, const char *s, const char *prefix)
{
    char line[4096];

    assert_int_equal(hs_log_last(h, line, sizeof(line), s, NULL), 0);
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with %s", line, prefix);
}

/* Every line of the log starts with "<N>" and the time stamp. */
static void
every_line_prefixed(struct hs *h)
{
    regex_t re;
    FILE *f = fopen(h->log, "re");
    char *line = NULL;
    size_t cap = 0;
    int i;

    assert_non_null(f);
    assert_int_equal(
        regcomp(&re, "^<[0-7]>[0-9]{4}-[0-9]{2}-[0-9]{2}T", REG_EXTENDED), 0);
    for (i = 0; i < 100000 && getline(&line, &cap, f) > 0; i++)
        if (regexec(&re, line, 0, NULL, 0) != 0)
            fail_msg("no priority: %s", line);
    regfree(&re);
    free(line);
    fclose(f);
}

/* An echo listener for one connection at a time, and logtext logging
 * "boom" at level error. */
static void
journal_conf(struct hs *h, int port, int port2)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"max_connections\": 1,\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" },\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\", \"name\": \"lt\",\n"
                        "    \"options\": { \"msg\": \"boom\", "
                        "\"level\": 0 } } ] }\n",
                        PLUGSRV_MODULE_DIR, port, port2,
                        TEST_MODULE("logtext")),
        0);
}

static void
test_journal_priorities(void **state)
{
    struct hs *h = *state;
    char stream[64], buf[8], line[4096];
    int port = hs_port(), port2 = hs_port(), held, fd;

    assert_int_equal(hs_write_file(h, "plugsrv.log", "%s", ""), 0);
    stream_of(h->log, stream, sizeof(stream));
    journal_conf(h, port, port2);
    assert_int_equal(hs_start_prep(h, NULL, prep_env, stream), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    expect_prefix(h, "]: ready ", "<6>");

    /* A handler's error, from its connection's process. */
    fd = hs_connect("127.0.0.1", port2, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ", NULL), 0);
    expect_prefix(h, "]: handler ", "<3>");
    expect_prefix(h, "]: exit ", "<6>");

    /* One too many: refused, a warning. */
    held = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(held >= 0);
    assert_int_equal(hs_roundtrip(held, "a\n", "a\n"), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: refuse ", NULL), 0);
    expect_prefix(h, "]: refuse ", "<4>");
    close(fd);
    close(held);

    /* A reload that fails: an error. */
    assert_int_equal(hs_write_config(h, "{ \"listeners\": 5 }\n"), 0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: reload status=error", NULL), 0);
    expect_prefix(h, "]: reload status=error", "<3>");
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_true(hs_wait_exit(h, HS_EXIT_MS) != -1);
    every_line_prefixed(h);

    /* $JOURNAL_STREAM names another stream (fd 2 was redirected since):
     * no prefix. */
    journal_conf(h, port, port2);
    assert_int_equal(hs_start_prep(h, NULL, prep_env, "1:1"), 0);
    assert_int_equal(hs_wait_log(h, 2, HS_START_MS, " ready ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), " ready ", NULL), 0);
    assert_true(line[0] >= '0' && line[0] <= '9');
    h->passed = 1;
}

/* ---- a journal stream nobody reads ---- */

/* In plugsrv's process: stdout and stderr become a stream connection to
 * the test's socket, with the smallest send buffer, and $JOURNAL_STREAM
 * its dev:ino, as systemd sets them up. */
static void
prep_socket(void *arg)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), small = 1;
    char stream[64];
    struct stat st;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", (const char *)arg);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        fstat(fd, &st) < 0)
        _exit(126);
    snprintf(stream, sizeof(stream), "%llu:%llu",
             (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", stream, 1);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

/* Reads the stream until s has come in a whole line, or timeout_ms. */
static int
sock_wait_for(int fd, char *buf, size_t cap, size_t *len, const char *s,
              int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms, left;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    const char *p;
    ssize_t n;
    int i;

    for (i = 0; i < 100000; i++) {
        buf[*len] = '\0';
        p = strstr(buf, s);
        if (p != NULL && strchr(p, '\n') != NULL)
            return 0;
        left = deadline - hs_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return -1;
        n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
    }
    return -1;
}

static void
test_journal_socket_unread(void **state)
{
    struct hs *h = *state;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct pollfd pfd;
    char path[100], buf[65536], reply[4], *p;
    size_t len = 0;
    int port = hs_port(), lfd, sfd, fd, i, st, small = 1;
    long long deadline;

    hs_path(h, "journal.sock", path, sizeof(path));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_prep(h, NULL, prep_socket, path), 0);
    pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, HS_START_MS), 1);
    sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(sfd >= 0);
    close(lfd);
    setsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    assert_int_equal(
        sock_wait_for(sfd, buf, sizeof(buf), &len, " ready ", HS_START_MS), 0);
    for (p = strstr(buf, " ready "); p > buf && p[-1] != '\n'; p--)
        ;
    assert_int_equal(strncmp(p, "<6>", 3), 0);

    /* Not read from now on: every connection is served all the same. */
    deadline = hs_now_ms() + 60000;
    for (i = 0; i < SOCK_CONNS; i++) {
        fd = hs_connect("127.0.0.1", port, 5000);
        if (fd < 0 || hs_send_str(fd, "hi\n") != 0 ||
            hs_recv_n(fd, reply, 3, 5000) != 3 || hs_now_ms() > deadline)
            fail_msg("connection %d of %d not served (journal unread)", i + 1,
                     SOCK_CONNS);
        close(fd);
    }
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, 5000);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(sfd);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_journal_priorities),
        T(test_journal_socket_unread),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
