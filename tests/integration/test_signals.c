/*
 * test_signals.c - SIGTERM and SIGINT with connections open: plugsrv stops
 * accepting, gives the children shutdown_timeout seconds, ends the rest
 * (even a handler that never returns), logs "shutdown" and then "stop" as
 * its last line, exits 0, and leaves no process behind.
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

#define SHUTDOWN_S 2

static void
last_line_is_stop(struct hs *h)
{
    char line[512], all[512];

    assert_int_equal(hs_log_last(h, line, sizeof(line), ": stop", NULL), 0);
    assert_int_equal(hs_log_last(h, all, sizeof(all), "plugsrv[", NULL), 0);
    assert_string_equal(line, all);
}

static void
stop_with(void **state, int sig, const char *signame)
{
    struct hs *h = *state;
    int pe = hs_port(), pb = hs_port(), fds[4], i, st;
    long long t0, took;
    char want[64];

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": %d,\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"%s\" } ] }\n",
        PLUGSRV_MODULE_DIR, SHUTDOWN_S, pe, pb, TEST_MODULE("block"));
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < 3; i++) {
        fds[i] = hs_connect("127.0.0.1", pe, HS_IO_MS);
        assert_true(fds[i] >= 0);
        assert_int_equal(hs_roundtrip(fds[i], "hi\n", "hi\n"), 0);
    }
    /* One handler that is stuck inside data() and never comes back. */
    fds[3] = hs_connect("::1", pb, HS_IO_MS);
    assert_true(fds[3] >= 0);
    assert_int_equal(hs_roundtrip(fds[3], "", "block\n"), 0);
    assert_int_equal(hs_send_str(fds[3], "x"), 0);
    assert_int_equal(hs_wait_log(h, 4, HS_IO_MS, ": accept ", NULL), 0);
    assert_int_equal(hs_children(h->pid), 4);

    t0 = hs_now_ms();
    assert_int_equal(hs_signal(h, sig), 0);
    st = hs_wait_exit(h, (SHUTDOWN_S + 10) * 1000);
    took = hs_now_ms() - t0;
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(took < (SHUTDOWN_S + 5) * 1000);

    snprintf(want, sizeof(want), ": shutdown signal=%s", signame);
    assert_int_equal(hs_log_count(h, want, NULL), 1);
    last_line_is_stop(h);
    /* Every connection was ended and logged; nothing is left. */
    assert_int_equal(hs_log_count(h, ": exit ", NULL), 4);
    for (i = 0; i < 4; i++) {
        assert_int_equal(hs_wait_closed(fds[i], HS_IO_MS), 1);
        close(fds[i]);
    }
    assert_int_equal(hs_orphans(h), 0);
    /* Not listening any more. */
    assert_int_equal(hs_connect("127.0.0.1", pe, 2000), -1);
    assert_int_equal(hs_connect("::1", pb, 2000), -1);
    h->passed = 1;
}

static void
test_sigterm(void **state)
{
    stop_with(state, SIGTERM, "SIGTERM");
}

static void
test_sigint(void **state)
{
    stop_with(state, SIGINT, "SIGINT");
}

static void
test_sigterm_idle(void **state)
{
    struct hs *h = *state;
    int st;

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"echo\" } ] }\n",
        PLUGSRV_MODULE_DIR, hs_port());
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    /* Nothing to wait for: it ends long before the default 10 s grace. */
    st = hs_wait_exit(h, 5000);
    assert_int_not_equal(st, -1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    last_line_is_stop(h);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sigterm),
        T(test_sigint),
        T(test_sigterm_idle),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
