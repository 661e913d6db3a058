/*
 * test_modguard.c - what a module's loading may do to plugsrv's parent
 * (issue 8, item 2):
 *  - a module replaced on disk between its check and its load: the parent
 *    loads the file the probe proved, not the one now at its path;
 *  - a constructor that ignores SIGTERM and SIGHUP and unblocks signals:
 *    the parent puts it all back, says so once per change, and still
 *    reloads on SIGHUP and stops on SIGTERM;
 *  - a constructor that clears the signal mask while a signal is on its
 *    way (SIGHUP just after the start, before the parent's load): the
 *    signal is still heard as plugsrv means it, and the parent lives;
 *  - a constructor that starts a thread: refused, saying why.
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

/* A copy of from at to, mode 0644. */
static void
copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in, out, i;
    ssize_t n;

    in = open(from, O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(out >= 0);
    for (i = 0; i < 10000; i++) {
        n = read(in, buf, sizeof(buf));
        assert_true(n >= 0);
        if (n == 0)
            break;
        assert_int_equal(write(out, buf, (size_t)n), n);
    }
    close(in);
    assert_int_equal(close(out), 0);
}

/* Sends "hi\n" on a new connection; the 3 bytes of reply into reply. */
static void
exchange(int port, char *reply)
{
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_send_str(fd, "hi\n"), 0);
    assert_int_equal(hs_recv_n(fd, reply, 3, HS_IO_MS), 3);
    reply[3] = '\0';
    close(fd);
}

static void
one_listener(struct hs *h, int port, const char *module)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\" } ] }\n",
                        port, module),
        0);
}

struct swap {
    char from[512], to[512];
};

static void
swap_env(void *arg)
{
    const struct swap *sw = arg;

    setenv("PLUGSRV_TEST_SWAP_FROM", sw->from, 1);
    setenv("PLUGSRV_TEST_SWAP_TO", sw->to, 1);
}

static void
test_replaced_after_probe(void **state)
{
    struct hs *h = *state;
    struct swap sw;
    struct stat st;
    char reply[4];
    int port = hs_port();

    hs_path(h, "swap.so", sw.to, sizeof(sw.to));
    hs_path(h, "next.so", sw.from, sizeof(sw.from));
    copy_file(TEST_MODULE("swapper"), sw.to);
    copy_file(PLUGSRV_MODULE_DIR "/uppercase.so", sw.from);
    one_listener(h, port, sw.to);
    assert_int_equal(hs_start_prep(h, NULL, swap_env, &sw), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    /* The probe's load did install uppercase.so at the module's path... */
    assert_int_equal(stat(sw.from, &st), -1);
    /* ...yet the server runs the file it proved: an echo. */
    exchange(port, reply);
    assert_string_equal(reply, "hi\n");
    h->passed = 1;
}

static void
test_signals_restored(void **state)
{
    struct hs *h = *state;
    char reply[4];
    int port = hs_port(), st;

    one_listener(h, port, TEST_MODULE("sigmess"));
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_log_count(h, "warning what=module ",
                                  "disposition of SIGTERM in the parent; "
                                  "restored",
                                  NULL),
                     1);
    assert_int_equal(hs_log_count(h, "warning what=module ",
                                  "disposition of SIGHUP in the parent; "
                                  "restored",
                                  NULL),
                     1);
    assert_int_equal(hs_log_count(h, "warning what=module ",
                                  "signal mask in the parent; restored", NULL),
                     1);
    exchange(port, reply);
    assert_string_equal(reply, "hi\n");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    /* The object is shared by the new config: not loaded again, so no
     * constructor ran and nothing was to be restored. */
    assert_int_equal(hs_log_count(h, "warning what=module ", NULL), 3);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    h->passed = 1;
}

/* The probe's load says when it starts; SIGHUP then waits, blocked, in the
 * parent, whose own load of the module clears its mask. */
static void
test_signal_during_load(void **state)
{
    struct hs *h = *state;
    char reply[4];
    int port = hs_port(), st;

    one_listener(h, port, TEST_MODULE("sigopen"));
    assert_int_equal(hs_start(h), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, "sigopen-load", NULL), 0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    assert_true(hs_alive(h));
    assert_int_equal(hs_log_count(h, "warning what=module ",
                                  "signal mask in the parent; restored", NULL),
                     1);
    exchange(port, reply);
    assert_string_equal(reply, "hi\n");
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    h->passed = 1;
}

static void
test_thread_refused(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    int st;

    one_listener(h, hs_port(), TEST_MODULE("thread_ctor"));
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: status %d, stderr: %s\n", st, h->err);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(h->err, TEST_MODULE("thread_ctor")));
    assert_non_null(strstr(h->err, "started a thread"));
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_replaced_after_probe),
        T(test_signals_restored),
        T(test_signal_during_load),
        T(test_thread_refused),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
