/*
 * test_duration.c - max_duration: a connection's whole life, silent or
 * talking, is ended by the parent at the deadline (SIGTERM, the exit line
 * says reason=max-duration); a handler that ignores it is SIGKILLed after
 * the grace. idle_timeout is long here, so nothing else ends them.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The duration_ms of the last exit line, which must be there. */
static long
exit_ms(struct hs *h, const char *reason)
{
    char line[512], v[32];

    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: exit ", reason, NULL), 0);
    hs_log_value(line, "duration_ms", v, sizeof(v));
    return strtol(v, NULL, 10);
}

static void
test_silent(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    long ms;

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"idle_timeout\": 60,\n"
                        "  \"max_duration\": 1, \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
    assert_int_equal(hs_wait_closed(fd, 10000), 1);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "reason=max-duration", NULL),
        0);
    ms = exit_ms(h, "reason=max-duration");
    assert_true(ms >= 1000 && ms < 5000);
    h->passed = 1;
}

/* Talking keeps idle_timeout away, not max_duration. */
static void
test_talking(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd, i, closed = 0;
    long long t0;

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\", \"idle_timeout\": 1,\n"
                        "    \"max_duration\": 2 } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    t0 = hs_now_ms();
    for (i = 0; i < 100 && !closed; i++) {
        if (hs_roundtrip(fd, "hi\n", "hi\n") != 0)
            closed = 1;
        else
            poll(NULL, 0, 200); /* a client that talks every 200 ms */
    }
    close(fd);
    assert_true(closed);
    assert_true(hs_now_ms() - t0 >= 1900);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "reason=max-duration", NULL),
        0);
    assert_int_equal(hs_log_count(h, "reason=idle-timeout", NULL), 0);
    h->passed = 1;
}

/* A handler stuck in a callback, deaf to SIGTERM: SIGKILL after the
 * grace. */
static void
test_stuck_handler(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;
    char buf[8];

    assert_int_equal(
        hs_write_config(h,
                        "{ \"idle_timeout\": 60, \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\", \"max_duration\": 1 } ] }\n",
                        port, TEST_MODULE("block")),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 6, HS_IO_MS), 6); /* "block\n" */
    assert_int_equal(hs_send_str(fd, "x\n"), 0);
    assert_int_equal(hs_wait_closed(fd, 15000), 1);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "signal=SIGKILL",
                                 "reason=max-duration", NULL),
                     0);
    assert_true(exit_ms(h, "reason=max-duration") >= 2500);
    h->passed = 1;
}

/* A prefork spare's connection has the same deadline, from when it took
 * its client. */
static void
test_prefork(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"idle_timeout\": 60,\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\", \"mode\": \"prefork\",\n"
                        "    \"spare\": 1, \"max_duration\": 1 } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
    assert_int_equal(hs_wait_closed(fd, 10000), 1);
    close(fd);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "reason=max-duration", NULL),
        0);
    assert_true(exit_ms(h, "reason=max-duration") >= 1000);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_silent),
        T(test_talking),
        T(test_stuck_handler),
        T(test_prefork),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
