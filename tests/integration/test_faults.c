/*
 * test_faults.c - handlers that fail in every way we could think of
 * (abort, exit(3), a CPU loop, blocking forever, leaking memory, forking,
 * writing to a client that has gone) each cost their own connection only:
 * the parent logs what happened, a connection open on another listener
 * goes on, and the next connection to the same listener is served.
 * And what a child inherits: no fd but its connection, no signal mask or
 * handler of the parent.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* One daemon: echo on 127.0.0.1, the test module name on ::1 with the
 * listener keys lconf; top-level keys top. Ports into *pe, *pf. */
static void
start(struct hs *h, const char *name, const char *top, const char *lconf,
      int *pe, int *pf)
{
    char module[512];

    snprintf(module, sizeof(module), "%s/%s.so", TEST_MODULE_DIR, name);
    *pe = hs_port();
    *pf = hs_port();
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",%s\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"%s\"%s } ] }\n",
        PLUGSRV_MODULE_DIR, top, *pe, *pf, module, lconf);
    assert_int_equal(hs_start_ready(h), 0);
}

/* Connects to the fault listener and reads its greeting "name\n". */
static int
greet(const char *name, int port)
{
    char want[64];
    int fd = hs_connect("::1", port, HS_IO_MS);

    assert_true(fd >= 0);
    snprintf(want, sizeof(want), "%s\n", name);
    assert_int_equal(hs_roundtrip(fd, "", want), 0);
    return fd;
}

/*
 * The common scenario: an echo connection is open; the faulty handler is
 * set off by "go\n" and its connection must end within end_ms; its exit
 * line must hold every string of want (NULL-terminated); then the echo
 * connection still works, and so does a new one to the faulty listener.
 */
static void
fault(struct hs *h, const char *name, const char *top, const char *lconf,
      int end_ms, const char *const *want)
{
    char line[1024], lname[64];
    int pe, pf, fe, ff, i;
    long long t0;

    start(h, name, top, lconf, &pe, &pf);
    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    assert_true(fe >= 0);
    assert_int_equal(hs_roundtrip(fe, "before\n", "before\n"), 0);

    ff = greet(name, pf);
    t0 = hs_now_ms();
    assert_int_equal(hs_send_str(ff, "go\n"), 0);
    if (hs_wait_closed(ff, end_ms) != 1)
        fail_msg("%s: connection still open after %d ms", name, end_ms);
    close(ff);
    snprintf(lname, sizeof(lname), "listener=%s ", name);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", lname, NULL), 0);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), ": exit ", lname, NULL), 0);
    fprintf(stderr, "# %s ended in %lld ms: %s\n", name, hs_now_ms() - t0,
            line);
    for (i = 0; want[i] != NULL; i++)
        if (strstr(line, want[i]) == NULL)
            fail_msg("%s: exit line lacks \"%s\"", name, want[i]);

    /* Nobody else noticed, and the listener serves the next one. */
    assert_int_equal(hs_roundtrip(fe, "after\n", "after\n"), 0);
    ff = greet(name, pf);
    close(ff);
    close(fe);
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, ": exit ", lname, NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "listener=echo",
                                 "status=0", NULL),
                     0);
    assert_true(hs_alive(h));
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
}

static void
test_abort(void **state)
{
    struct hs *h = *state;
    const char *want[] = { " signal=SIGABRT", " reason=signal", NULL };

    fault(h, "abort", "", "", HS_IO_MS, want);
    h->passed = 1;
}

static void
test_exit3(void **state)
{
    struct hs *h = *state;
    const char *want[] = { " status=3 ", " reason=exit", NULL };

    fault(h, "exit3", "", "", HS_IO_MS, want);
    h->passed = 1;
}

static void
test_cpu_loop(void **state)
{
    struct hs *h = *state;
    /* DESIGN.md: reason cpu-limit (SIGXCPU). A bare SIGKILL would not
     * tell the reader that the CPU limit did it. */
    const char *want[] = { " reason=cpu-limit", NULL };

    /* One CPU second: the kernel ends the loop, not the 60 s safety. */
    fault(h, "loop", " \"rlimits\": { \"cpu\": 1 },", "", 10000, want);
    h->passed = 1;
}

static void
test_block_forever(void **state)
{
    struct hs *h = *state;
    const char *want[] = { " status=17 ", " reason=handler-timeout", NULL };

    /* Stuck inside data(): only something outside the handler (the
     * watchdog, DESIGN.md) can end it once idle_timeout has passed. */
    fault(h, "block", "", ", \"idle_timeout\": 1", 10000, want);
    h->passed = 1;
}

static void
test_leak(void **state)
{
    struct hs *h = *state;
    const char *want[] = { " status=12", " reason=handler-error", NULL };

    if (hs_sanitized())
        skip(); /* ASan reserves terabytes: no RLIMIT_AS under it */
    fault(h, "leak", " \"rlimits\": { \"as\": 268435456 },", "", 20000, want);
    /* The kernel stopped it, not its own 1 GiB safety. */
    assert_int_equal(hs_log_count(h, "leak: out of memory", NULL), 1);
    assert_int_equal(hs_log_count(h, "leak: no limit", NULL), 0);
    h->passed = 1;
}

static void
test_sigpipe(void **state)
{
    struct hs *h = *state;
    char line[1024];
    int pe, pf, fe, fd;

    start(h, "sigpipe", "", "", &pe, &pf);
    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    assert_true(fe >= 0);
    /* Say one thing and go: the handler writes to nobody. */
    fd = hs_connect("::1", pf, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_send_str(fd, "x"), 0);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "listener=sigpipe ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), ": exit ",
                                 "listener=sigpipe ", NULL),
                     0);
    fprintf(stderr, "# %s\n", line);
    assert_null(strstr(line, "SIGPIPE"));
    assert_null(strstr(line, " signal="));
    assert_non_null(strstr(line, " status="));
    /* host->write() said so, rather than the process dying. */
    assert_int_equal(hs_log_count(h, "sigpipe: write failed after", NULL), 1);
    assert_int_equal(hs_roundtrip(fe, "fine\n", "fine\n"), 0);
    close(fe);
    h->passed = 1;
}

/* Waits (bounded) until pid has ended; pidfd for any process. */
static int
ended_within(pid_t pid, int ms)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = { .fd = pfd, .events = POLLIN };
    int rc;

    if (pfd < 0)
        return !hs_pid_exists(pid);
    rc = poll(&p, 1, ms) == 1;
    close(pfd);
    return rc;
}

static void
test_forker(void **state)
{
    struct hs *h = *state;
    char buf[64], line[1024];
    int pe, pf, fe, fd, i;
    ssize_t n;

    start(h, "forker", "", "", &pe, &pf);
    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    assert_true(fe >= 0);
    for (i = 1; i <= 2; i++) {
        long grandchild;

        fd = hs_connect("::1", pf, HS_IO_MS);
        assert_true(fd >= 0);
        /* The handler returns at once, though its own child lives on
         * (holding a copy of the connection): the client is still told
         * the connection is over. */
        n = hs_recv_eof(fd, buf, sizeof(buf) - 1, 5000);
        if (n < 0)
            fail_msg("forker: no end of connection while the handler's "
                     "child lingers");
        buf[n] = '\0';
        assert_int_equal(sscanf(buf, "child=%ld\n", &grandchild), 1);
        close(fd);
        assert_int_equal(
            hs_wait_log(h, i, HS_IO_MS, ": exit ", "listener=forker ", NULL),
            0);
        assert_int_equal(hs_log_last(h, line, sizeof(line), ": exit ",
                                     "listener=forker ", NULL),
                         0);
        assert_non_null(strstr(line, " status=0 "));
        assert_true(hs_alive(h));
        /* End the lingerer by its pid; whoever it now belongs to (us, as
         * subreaper, or plugsrv) must reap it. */
        if (hs_pid_exists((pid_t)grandchild)) {
            kill((pid_t)grandchild, SIGKILL);
            assert_true(ended_within((pid_t)grandchild, 5000));
        }
    }
    assert_int_equal(hs_roundtrip(fe, "fine\n", "fine\n"), 0);
    close(fe);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "listener=echo", NULL), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    h->passed = 1;
}

/* The value of "key=" in the fds handler's report, or NULL. */
static const char *
field(const char *report, const char *key, char *buf, size_t len)
{
    char pat[64]; /* room for "\n", any key[32], "=" (gcc -O3 checks) */
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof(pat), "\n%s=", key);
    p = strstr(report, pat);
    if (p == NULL)
        return NULL;
    p += strlen(pat);
    while (p[n] != '\0' && p[n] != '\n' && n < len - 1)
        n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* Is sig in the comma-separated list of signal numbers? */
static int
has_signal(const char *list, int sig)
{
    const char *p = list;
    int i;

    for (i = 0; i < 100 && *p != '\0'; i++) {
        if (atoi(p) == sig)
            return 1;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        p++;
    }
    return 0;
}

static void
test_child_inherits_nothing(void **state)
{
    struct hs *h = *state;
    char report[8192], fds[256], v[256], *tok, *save = NULL;
    int pe, pf, fd, extra = 0, i;
    ssize_t n;

    start(h, "fds", "", "", &pe, &pf);
    /* Some other connections open, so that there is something to leak. */
    for (i = 0; i < 2; i++) {
        int fe = hs_connect("127.0.0.1", pe, HS_IO_MS);

        assert_true(fe >= 0);
        assert_int_equal(hs_roundtrip(fe, "x", "x"), 0);
    }
    fd = hs_connect("::1", pf, HS_IO_MS);
    assert_true(fd >= 0);
    report[0] = '\n';
    n = hs_recv_eof(fd, report + 1, sizeof(report) - 2, HS_IO_MS);
    assert_true(n > 0);
    report[n + 1] = '\0';
    close(fd);
    fprintf(stderr, "# the child's view:%s", report);
    assert_non_null(strstr(report, "\nend\n"));

    assert_non_null(field(report, "fds", fds, sizeof(fds)));
    for (tok = strtok_r(fds, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        char key[32];

        if (atoi(tok) <= 2)
            continue;
        extra++;
        snprintf(key, sizeof(key), "fd%d", atoi(tok));
        assert_non_null(field(report, key, v, sizeof(v)));
        if (strncmp(v, "socket:", 7) != 0 || strstr(v, "listen=0") == NULL)
            fail_msg("the child has fd %s: %s", tok, v);
    }
    /* The connection, and nothing else (it may also sit on 0-2). */
    assert_true(extra <= 1);
    assert_null(strstr(report, "listen=1"));
    assert_non_null(field(report, "blocked", v, sizeof(v)));
    assert_string_equal(v, "");
    /* The child may catch signals for its own ends (SIGTERM to stop
     * cleanly, say), but none of the parent's: SIGHUP (reload), SIGINT
     * (stop), SIGCHLD (reaping). */
    assert_non_null(field(report, "caught", v, sizeof(v)));
    assert_false(has_signal(v, SIGHUP));
    assert_false(has_signal(v, SIGINT));
    assert_false(has_signal(v, SIGCHLD));
    /* SIGPIPE may be ignored (it must not kill a child); nothing else:
     * an ignored SIGCHLD, say, would break a handler's own waitpid(). */
    assert_non_null(field(report, "ignored", v, sizeof(v)));
    if (strcmp(v, "") != 0 && strcmp(v, "13") != 0)
        fail_msg("the child ignores signals %s", v);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_abort),    T(test_exit3),
        T(test_cpu_loop), T(test_block_forever),
        T(test_leak),     T(test_sigpipe),
        T(test_forker),   T(test_child_inherits_nothing),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
