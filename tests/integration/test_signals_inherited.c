/*
 * test_signals_inherited.c - the signal state plugsrv's starter leaves it
 * (execve keeps SIG_IGN dispositions): a supervisor, a script or a
 * language runtime that ignores SIGCHLD must not make the parent lose its
 * children's exits (the kernel reaps them itself then, and waitpid() has
 * nothing to report); a script's & that ignores INT and QUIT must not
 * make plugsrv deaf to them, nor its connections' processes.
 */
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

/* plugsrv serving echo on port, started with prep run before its exec. */
static void
start_echo(struct hs *h, int port, hs_prep_fn prep)
{
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 20,\n"
                    "  \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_prep(h, NULL, prep, NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
}

/* sig ends plugsrv, with status 0, within 5 s. */
static void
stop_cleanly(struct hs *h, int sig)
{
    int st;

    assert_int_equal(hs_signal(h, sig), 0);
    st = hs_wait_exit(h, 5000);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void
ignore_sigchld(void *arg)
{
    (void)arg;
    signal(SIGCHLD, SIG_IGN);
}

static void
test_sigchld_ignored_by_starter(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, i;

    start_echo(h, port, ignore_sigchld);
    for (i = 0; i < 3; i++) {
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
        close(fd);
    }
    /* Each connection that ended is logged, and none is left counted: a
     * stop has nothing to wait for. */
    assert_int_equal(hs_wait_log(h, 3, HS_IO_MS, ": exit ", NULL), 0);
    stop_cleanly(h, SIGTERM);
    assert_int_equal(hs_log_count(h, ": stop children=0", NULL), 1);
    h->passed = 1;
}

/* What a shell does to a command started with & from a script. */
static void
ignore_int_quit(void *arg)
{
    (void)arg;
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
}

/* The mask in "name:\t%016llx" of /proc/PID/status; -1 if not found. */
static long long
proc_sigmask(pid_t pid, const char *name)
{
    char path[64], line[256];
    unsigned long long v = 0;
    size_t n = strlen(name);
    long long found = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, n) == 0 && line[n] == ':' &&
            sscanf(line + n + 1, "%llx", &v) == 1) {
            found = (long long)v;
            break;
        }
    }
    fclose(f);
    return found;
}

#define SIGBIT(s) (1LL << ((s)-1))

/*
 * INT and QUIT stop plugsrv (README, Signals) even when its starter left
 * them ignored, and a connection's process starts with every signal at its
 * default but PIPE (ignored) and TERM and ALRM (plugsrv's handlers), the
 * state the parent sets up once for all its forks.
 */
static void
test_int_ignored_by_starter(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char line[512], pid[32];
    long long ign, cgt;

    start_echo(h, port, ignore_int_quit);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
    /* The child may answer before the parent's accept line is written. */
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": accept ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), ": accept ", NULL), 0);
    hs_log_value(line, "pid", pid, sizeof(pid));
    ign = proc_sigmask((pid_t)atol(pid), "SigIgn");
    cgt = proc_sigmask((pid_t)atol(pid), "SigCgt");
    assert_int_equal(ign, SIGBIT(SIGPIPE));
    assert_true(cgt != -1 && (cgt & SIGBIT(SIGTERM)) &&
                (cgt & SIGBIT(SIGALRM)) && (cgt & SIGBIT(SIGUSR2)));
    assert_int_equal(cgt & (SIGBIT(SIGINT) | SIGBIT(SIGQUIT) | SIGBIT(SIGHUP)),
                     0);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", NULL), 0);
    stop_cleanly(h, SIGINT);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sigchld_ignored_by_starter),
        T(test_int_ignored_by_starter),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
