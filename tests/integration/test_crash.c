/*
 * test_crash.c - a handler that segfaults costs only its own connection:
 * the parent logs signal=SIGSEGV, a connection open on another listener
 * goes on, and new connections to both listeners are served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void
test_crash_costs_one_connection(void **state)
{
    struct hs *h = *state;
    int pe = hs_port(), pc = hs_port(), fe, fc, i;
    char line[512];

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\",\n"
                    "  \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" },\n"
                    "  { \"address\": \"::1\", \"port\": %d,\n"
                    "    \"module\": \"%s\" } ] }\n",
                    PLUGSRV_MODULE_DIR, pe, pc, TEST_MODULE("crash"));
    assert_int_equal(hs_start_ready(h), 0);

    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    assert_true(fe >= 0);
    assert_int_equal(hs_roundtrip(fe, "before\n", "before\n"), 0);

    for (i = 1; i <= 3; i++) {
        fc = hs_connect("::1", pc, HS_IO_MS);
        assert_true(fc >= 0);
        assert_int_equal(hs_roundtrip(fc, "", "crash\n"), 0);
        assert_int_equal(hs_send_str(fc, "boom\n"), 0);
        assert_int_equal(hs_wait_closed(fc, HS_IO_MS), 1);
        close(fc);
        assert_int_equal(
            hs_wait_log(h, i, HS_IO_MS, ": exit ", "listener=crash", NULL), 0);
        assert_int_equal(hs_log_last(h, line, sizeof(line), ": exit ",
                                     "listener=crash", NULL),
                         0);
        assert_non_null(strstr(line, " signal=SIGSEGV"));
        assert_non_null(strstr(line, " reason=signal"));
        assert_non_null(strstr(line, " peer=[::1]:"));
        /* The connection on the other listener never noticed. */
        assert_int_equal(hs_roundtrip(fe, "still here\n", "still here\n"), 0);
    }
    assert_true(hs_alive(h));
    close(fe);

    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    assert_true(fe >= 0);
    assert_int_equal(hs_roundtrip(fe, "after\n", "after\n"), 0);
    close(fe);
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, ": exit ", "listener=echo",
                                 "status=0", NULL),
                     0);
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_costs_one_connection,
                                        hs_setup, hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
