/*
 * test_hardening_reaper.c - plugsrv is the reaper of everything its
 * connections start (issue 8, item 5, and the spinning child of the
 * "smaller" list):
 *  - a daemon that a handler starts in a new session (fork, setsid, fork)
 *    is gone soon after its connection ends;
 *  - and after SIGTERM, when its connection was still open ("stop
 *    children=0" is then true);
 *  - and after `plugsrv -t`, when init() started it;
 *  - a connection's process spinning in a callback with idle_timeout 0
 *    does not outlive a SIGKILLed parent;
 *  - two generations alive, each in a session of its own, when the
 *    connection's process ends itself (_exit(0), SIGSEGV): the parent
 *    adopts the first, and the second only once the first is gone;
 *  - a daemon behind 70 children that are already dead, which the
 *    connection's process ends itself;
 *  - 70 such pairs at SIGTERM, nothing left once plugsrv has exited.
 * "Gone" means no process with that pid and start time, and not a zombie
 * either (one left to the test, a subreaper, is reaped first).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* Processes a test saw, so that teardown can end them by pid. */
struct seen {
    pid_t pid;
    unsigned long long start; /* /proc/PID/stat starttime */
};
static struct seen seen[8];
static int nseen;

/* State, parent and start time of pid from /proc/PID/stat; 0, or -1 if
 * there is no such process. */
static int
proc_stat(pid_t pid, char *state, pid_t *ppid, unsigned long long *start)
{
    char path[64], buf[1024], *p;
    int fd, i;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL || p[1] == '\0')
        return -1;
    *state = p[2];
    *ppid = (pid_t)atoi(p + 4);
    /* after ')': state is field 3, starttime field 22 */
    for (i = 3, p += 2; i < 22 && p != NULL; i++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    *start = p ? strtoull(p, NULL, 10) : 0;
    return 0;
}

static void
remember(pid_t pid)
{
    char st;
    pid_t pp;

    if (nseen < (int)(sizeof(seen) / sizeof(seen[0])) &&
        proc_stat(pid, &st, &pp, &seen[nseen].start) == 0)
        seen[nseen++].pid = pid;
}

/* Is the remembered process gone? A zombie of ours is reaped (then
 * gone); a zombie of another process is not gone yet. */
static int
gone(const struct seen *s)
{
    unsigned long long start;
    char state;
    pid_t ppid;
    int status;

    if (proc_stat(s->pid, &state, &ppid, &start) != 0 || start != s->start)
        return 1;
    if (state == 'Z' && ppid == getpid()) {
        waitpid(s->pid, &status, WNOHANG);
        return proc_stat(s->pid, &state, &ppid, &start) != 0;
    }
    return 0;
}

/* Waits (bounded) until the i-th remembered process is gone; 0 or -1. */
static int
wait_gone(int i, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int n;

    for (n = 0; n < 100000; n++) {
        if (gone(&seen[i]))
            return 0;
        if (hs_now_ms() >= deadline)
            break;
        poll(NULL, 0, 20);
    }
    fprintf(stderr, "pid %d still there after %d ms\n", (int)seen[i].pid,
            timeout_ms);
    return -1;
}

static int
rp_setup(void **state)
{
    nseen = 0;
    return hs_setup(state);
}

/* Ends, by pid, what a failed test left (if it is still the same
 * process), then the harness's teardown. */
static int
rp_teardown(void **state)
{
    int i, status;

    for (i = 0; i < nseen; i++) {
        if (gone(&seen[i]))
            continue;
        kill(seen[i].pid, SIGKILL);
        waitpid(seen[i].pid, &status, WNOHANG);
    }
    nseen = 0;
    return hs_teardown(state);
}

/* The pid in the pidfile, waiting (bounded) for the file. */
static pid_t
read_pidfile(const char *path, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    long pid = 0;
    int n;

    for (n = 0; n < 100000; n++) {
        FILE *f = fopen(path, "re");

        if (f != NULL) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
            if (pid > 0)
                return (pid_t)pid;
        }
        if (hs_now_ms() >= deadline)
            break;
        poll(NULL, 0, 20);
    }
    return -1;
}

/* A config with one daemonize listener; extra options after pidfile. */
static void
daemon_conf(struct hs *h, int port, const char *pidfile, const char *extra)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"shutdown_timeout\": 2, \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\",\n"
                        "    \"options\": { \"pidfile\": \"%s\"%s } } ] }\n",
                        port, TEST_MODULE("daemonize"), pidfile, extra),
        0);
}

/* A connection whose handler starts a daemon (extra options after
 * pidfile say how): the daemon must be gone soon after it ends. */
static void
daemon_dies(struct hs *h, const char *extra)
{
    char pidfile[512], buf[8];
    int port = hs_port(), fd;
    pid_t pid;

    hs_path(h, "daemon.pid", pidfile, sizeof(pidfile));
    daemon_conf(h, port, pidfile, extra);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
    assert_memory_equal(buf, "ok\n", 3);
    pid = read_pidfile(pidfile, 5000);
    assert_true(pid > 0);
    remember(pid);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ", NULL), 0);
    close(fd);
    assert_int_equal(wait_gone(0, 5000), 0);
}

static void
test_daemon_dies_with_connection(void **state)
{
    struct hs *h = *state;

    daemon_dies(h, "");
    h->passed = 1;
}

static void
test_daemon_dies_at_shutdown(void **state)
{
    struct hs *h = *state;
    char pidfile[512], buf[8], line[512];
    int port = hs_port(), fd, st;
    pid_t pid;

    hs_path(h, "daemon.pid", pidfile, sizeof(pidfile));
    daemon_conf(h, port, pidfile, ", \"stay\": true");
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
    assert_memory_equal(buf, "ok\n", 3);
    pid = read_pidfile(pidfile, 5000);
    assert_true(pid > 0);
    remember(pid);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    close(fd);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: stop ", NULL), 0);
    assert_non_null(strstr(line, "children=0"));
    assert_int_equal(wait_gone(0, 5000), 0);
    h->passed = 1;
}

static void
test_daemon_from_init_check(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    char pidfile[512];
    pid_t pid;
    int st;

    hs_path(h, "daemon.pid", pidfile, sizeof(pidfile));
    daemon_conf(h, hs_port(), pidfile, ", \"init\": true");
    st = hs_run(h, 30000, check);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    pid = read_pidfile(pidfile, 1000);
    assert_true(pid > 0);
    remember(pid);
    assert_int_equal(wait_gone(0, 5000), 0);
    h->passed = 1;
}

/* utime + stime of pid in ticks, or -1. */
static long long
cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, stt = 0;
    int fd, i;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    /* fields 14 and 15 */
    for (i = 3, p += 2; i < 14 && p != NULL; i++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    if (p == NULL || sscanf(p, "%llu %llu", &ut, &stt) != 2)
        return -1;
    return (long long)(ut + stt);
}

static void
test_spinning_child_dies_with_parent(void **state)
{
    struct hs *h = *state;
    char line[512], val[32], buf[8];
    long long deadline;
    int port = hs_port(), fd, i;
    pid_t child;

    assert_int_equal(
        hs_write_config(h,
                        "{ \"idle_timeout\": 0, \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\" } ] }\n",
                        port, TEST_MODULE("loop")),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 5, HS_IO_MS), 5);
    assert_int_equal(hs_send_str(fd, "x"), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: accept ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: accept ", NULL),
                     0);
    hs_log_value(line, "pid", val, sizeof(val));
    child = (pid_t)atoi(val);
    assert_true(child > 0);
    remember(child);
    /* It is spinning in data(): its CPU time grows. */
    deadline = hs_now_ms() + 5000;
    for (i = 0; i < 1000 && cpu_ticks(child) < 10; i++) {
        assert_true(hs_now_ms() < deadline);
        poll(NULL, 0, 20);
    }
    assert_int_equal(kill(h->pid, SIGKILL), 0);
    assert_int_not_equal(hs_wait_exit(h, HS_EXIT_MS), -1);
    assert_int_equal(wait_gone(0, 3000), 0);
    close(fd);
    h->passed = 1;
}

static void
test_chain_dies_after_exit(void **state)
{
    struct hs *h = *state;

    daemon_dies(h, ", \"middle_stays\": true, \"end\": \"exit\"");
    h->passed = 1;
}

static void
test_chain_dies_after_crash(void **state)
{
    struct hs *h = *state;

    daemon_dies(h, ", \"middle_stays\": true, \"end\": \"crash\"");
    h->passed = 1;
}

/* The connection's process ends the daemon itself, however many of its
 * children are already dead: the parent sees no stray ("exit pid=" with
 * no listener). */
static void
test_dead_children_do_not_hide_a_daemon(void **state)
{
    struct hs *h = *state;

    daemon_dies(h, ", \"middle_stays\": true, \"zombies\": 70");
    assert_int_equal(hs_log_count(h, "]: exit pid=", NULL), 0);
    h->passed = 1;
}

/* Waits (bounded) until no process is left to the test, reaping the
 * zombies among them; 0, or -1 with how many are left. */
static int
wait_no_orphans(struct hs *h, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int n = 0, i, status;

    for (i = 0; i < 100000; i++) {
        while (waitpid(-1, &status, WNOHANG) > 0)
            ;
        if ((n = hs_orphans(h)) == 0)
            return 0;
        if (hs_now_ms() >= deadline)
            break;
        poll(NULL, 0, 20);
    }
    fprintf(stderr, "%d processes left after %d ms\n", n, timeout_ms);
    return -1;
}

#define CHAINS 70

static void
test_chains_gone_after_sigterm(void **state)
{
    struct hs *h = *state;
    char pidfile[512], buf[8];
    int port = hs_port(), fd, i, st;

    hs_path(h, "daemon.pid", pidfile, sizeof(pidfile));
    daemon_conf(h, port, pidfile,
                ", \"middle_stays\": true, \"unique\": true, "
                "\"end\": \"exit\"");
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < CHAINS; i++) {
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
        assert_memory_equal(buf, "ok\n", 3);
        close(fd);
    }
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(wait_no_orphans(h, 5000), 0);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, rp_setup, rp_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_daemon_dies_with_connection),
        T(test_daemon_dies_at_shutdown),
        T(test_daemon_from_init_check),
        T(test_spinning_child_dies_with_parent),
        T(test_chain_dies_after_exit),
        T(test_chain_dies_after_crash),
        T(test_dead_children_do_not_hide_a_daemon),
        T(test_chains_gone_after_sigterm),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
