/*
 * test_prefork.c - listeners in "prefork" mode: the pool is there before
 * the first client, each child serves one connection and is replaced, a
 * crash costs one connection, a reload replaces the pool, SIGTERM ends it;
 * both even when the module's entry point took SIGTERM and SIGUSR2 over;
 * a pool at max_connections refuses one more client at once; a
 * connection is timed from its spare's accept().
 */
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

static int
write_prefork_config(struct hs *h, int port, const char *module, int spare)
{
    return hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 5,\n"
        "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,\n"
        "    \"module\": \"%s\", \"mode\": \"prefork\", \"spare\": %d } ] }\n",
        PLUGSRV_MODULE_DIR, port, module, spare);
}

/* Waits until the daemon has exactly n children. */
static int
wait_children(struct hs *h, int n)
{
    long long end = hs_now_ms() + HS_IO_MS;

    while (hs_children(h->pid) != n) {
        if (hs_now_ms() > end)
            return -1;
        /* The pool changes only when a log line is written. */
        hs_wait_log(h, hs_log_count(h, "plugsrv", NULL) + 1, 50, "plugsrv",
                    NULL);
    }
    return 0;
}

static void
test_pool_serves_and_refills(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), i, fd;
    char line[32];

    assert_int_equal(write_prefork_config(h, port, "echo", 3), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(wait_children(h, 3), 0);
    for (i = 0; i < 20; i++) {
        snprintf(line, sizeof(line), "hello %d\n", i);
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_roundtrip(fd, line, line), 0);
        close(fd);
    }
    assert_int_equal(hs_wait_log(h, 20, HS_IO_MS, " exit ", "reason=ok", NULL),
                     0);
    assert_int_equal(hs_log_count(h, " accept ", "listener=echo", NULL), 20);
    assert_int_equal(wait_children(h, 3), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    h->passed = 1;
}

static void
test_crash_costs_one_connection(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,\n"
            "    \"module\": \"%s\", \"mode\": \"prefork\", \"spare\": 2 } ] "
            "}\n",
            port, TEST_MODULE("crash")),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_send_str(fd, "boom\n"), 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, " exit ", "signal=SIGSEGV", NULL), 0);
    assert_true(hs_alive(h));
    assert_int_equal(wait_children(h, 2), 0);
    h->passed = 1;
}

/* Two spares of module, then a reload to n of uppercase: the old spares
 * retire; n new ones serve the new module. */
static void
reload_replaces_the_pool(struct hs *h, const char *module, int n)
{
    int port = hs_port(), fd;

    assert_int_equal(write_prefork_config(h, port, module, 2), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(wait_children(h, 2), 0);
    assert_int_equal(write_prefork_config(h, port, "uppercase", n), 0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, " reload ", "status=ok", NULL), 0);
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, " exit ", "spare=1", NULL),
                     0);
    assert_int_equal(wait_children(h, n), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "abc\n", "ABC\n"), 0);
    close(fd);
}

static void
test_reload_replaces_the_pool(void **state)
{
    struct hs *h = *state;

    reload_replaces_the_pool(h, "echo", 4);
    h->passed = 1;
}

static void
test_sigterm_ends_the_pool(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, st;

    assert_int_equal(write_prefork_config(h, port, "echo", 4), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(wait_children(h, 4), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "x\n", "x\n"), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    assert_int_equal(hs_orphans(h), 0);
    h->passed = 1;
}

/* The spares of a module whose entry point took SIGUSR2 over still
 * retire at a reload, and the new pool serves the new config. */
static void
test_reload_retires_spares_of_a_signal_taker(void **state)
{
    struct hs *h = *state;

    reload_replaces_the_pool(h, TEST_MODULE("sigtake"), 2);
    h->passed = 1;
}

/* ...and end at SIGTERM, not at shutdown_timeout's SIGKILL. */
static void
test_sigterm_ends_spares_of_a_signal_taker(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), st;

    assert_int_equal(write_prefork_config(h, port, TEST_MODULE("sigtake"), 2),
                     0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(wait_children(h, 2), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(hs_log_count(h, " exit ", "spare=1", NULL), 2);
    assert_int_equal(hs_log_count(h, " exit ", "signal=SIGKILL", NULL), 0);
    h->passed = 1;
}

/* A pool at a cap, all of it serving: one more client is closed at once
 * and logged, as in fork mode, not left waiting in the listen queue.
 * top and keys go into the config's top level and the listener. */
static void
full_pool_refuses(struct hs *h, const char *top, const char *keys,
                  const char *reason)
{
    int port = hs_port(), held[2], fd, i;

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 5,%s\n"
            "  \"listeners\": [ { \"address\": \"127.0.0.1\", "
            "\"port\": %d,\n"
            "    \"module\": \"echo\", \"mode\": \"prefork\", "
            "\"spare\": 2%s } ] }\n",
            PLUGSRV_MODULE_DIR, top, port, keys),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < 2; i++) {
        held[i] = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(held[i] >= 0);
        assert_int_equal(hs_roundtrip(held[i], "x\n", "x\n"), 0);
    }
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, " accept ", NULL), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_wait_closed(fd, 5000), 1);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, " refuse ", "reason=", reason, NULL), 0);
    /* Room again: the pool serves. */
    close(held[0]);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, " exit ", NULL), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "y\n", "y\n"), 0);
    close(fd);
    close(held[1]);
}

static void
test_full_pool_refuses_listener_max(void **state)
{
    struct hs *h = *state;

    full_pool_refuses(h, "", ", \"max_connections\": 2",
                      "listener_max_connections");
    h->passed = 1;
}

static void
test_full_pool_refuses_max_connections(void **state)
{
    struct hs *h = *state;

    full_pool_refuses(h, " \"max_connections\": 2,", "", "max_connections");
    h->passed = 1;
}

/* A connection a spare took while the parent was busy (a reload whose
 * check of a slow module takes 10 s) is timed from its accept(), not
 * from when the parent read the spare's report: its exit line's
 * duration_ms counts the second the client held it. */
static void
test_duration_counts_from_the_spares_accept(void **state)
{
    struct hs *h = *state;
    char line[512], val[32];
    int port = hs_port(), fd, i;
    long long t0;

    assert_int_equal(write_prefork_config(h, port, "echo", 1), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(wait_children(h, 1), 0);
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 5,\n"
            "  \"listeners\": [ { \"address\": \"127.0.0.1\", "
            "\"port\": %d,\n"
            "    \"module\": \"echo\", \"mode\": \"prefork\", "
            "\"spare\": 1 },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"%s\" } ] }\n",
            PLUGSRV_MODULE_DIR, port, hs_port(), TEST_MODULE("slow_entry")),
        0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    /* The spare, and the probe that checks the slow module. */
    t0 = hs_now_ms();
    for (i = 0; i < 10000 && hs_children(h->pid) < 2; i++) {
        assert_true(hs_now_ms() - t0 < 5000);
        poll(NULL, 0, 5);
    }
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "x\n", "x\n"), 0);
    /* The client holds its connection a second: what is timed. */
    t0 = hs_now_ms();
    assert_int_equal(hs_wait_closed(fd, 1000), 0);
    assert_true(hs_now_ms() - t0 >= 1000);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, 20000, " reload ", "status=error", NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, " exit ", "peer=127", NULL),
                     0);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), " exit ", "peer=127", NULL), 0);
    hs_log_value(line, "duration_ms", val, sizeof(val));
    assert_true(atoi(val) >= 1000);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_serves_and_refills, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_crash_costs_one_connection,
                                        hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_reload_replaces_the_pool,
                                        hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_ends_the_pool, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(
            test_reload_retires_spares_of_a_signal_taker, hs_setup,
            hs_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigterm_ends_spares_of_a_signal_taker, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_full_pool_refuses_listener_max,
                                        hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_full_pool_refuses_max_connections,
                                        hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(
            test_duration_counts_from_the_spares_accept, hs_setup,
            hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
