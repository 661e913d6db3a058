/*
 * test_listeners.c - four listeners, four protocols, one daemon: all four
 * connections open at once, each served by its own handler, on both
 * address families.
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
test_four_at_once(void **state)
{
    struct hs *h = *state;
    int pe = hs_port(), pu = hs_port(), ps = hs_port(), pq = hs_port();
    int fe, fu, fs, fq;
    char line[512];

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"uppercase\" "
        "},\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
        "\"suffix\",\n"
        "    \"options\": { \"suffix\": \"<<\" } },\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"quit\",\n"
        "    \"options\": { \"word\": \"bye\" } } ] }\n",
        PLUGSRV_MODULE_DIR, pe, pu, ps, pq);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_log_count(h, " ready ", "listeners=4", NULL), 1);
    assert_int_equal(hs_log_count(h, ": listen ", NULL), 4);
    assert_int_equal(hs_log_last(h, line, sizeof(line), ": listen ",
                                 "addr=[::1]:", "module=", NULL),
                     0);

    /* All four open before any is used. */
    fe = hs_connect("127.0.0.1", pe, HS_IO_MS);
    fu = hs_connect("::1", pu, HS_IO_MS);
    fs = hs_connect("127.0.0.1", ps, HS_IO_MS);
    fq = hs_connect("::1", pq, HS_IO_MS);
    assert_true(fe >= 0 && fu >= 0 && fs >= 0 && fq >= 0);
    assert_int_equal(hs_send_str(fe, "Echo me\n"), 0);
    assert_int_equal(hs_send_str(fu, "Shout me\n"), 0);
    assert_int_equal(hs_send_str(fs, "Tag me\n"), 0);
    assert_int_equal(hs_send_str(fq, "Keep me\n"), 0);
    assert_int_equal(hs_wait_log(h, 4, HS_IO_MS, ": accept ", NULL), 0);
    assert_int_equal(hs_children(h->pid), 4);
    assert_int_equal(hs_roundtrip(fq, "", "Keep me\n"), 0);
    assert_int_equal(hs_roundtrip(fs, "", "Tag me<<\n"), 0);
    assert_int_equal(hs_roundtrip(fu, "", "SHOUT ME\n"), 0);
    assert_int_equal(hs_roundtrip(fe, "", "Echo me\n"), 0);
    assert_int_equal(hs_send_str(fq, "bye\n"), 0);
    assert_int_equal(hs_wait_closed(fq, HS_IO_MS), 1);
    /* The others are still there. */
    assert_int_equal(hs_roundtrip(fe, "again", "again"), 0);
    assert_int_equal(hs_roundtrip(fu, "again", "AGAIN"), 0);
    assert_int_equal(hs_roundtrip(fs, "again\r\n", "again<<\r\n"), 0);
    close(fe);
    close(fu);
    close(fs);
    close(fq);
    assert_int_equal(hs_wait_log(h, 4, HS_IO_MS, ": exit ", NULL), 0);
    assert_int_equal(
        hs_log_count(h, ": exit ", "listener=quit", "status=0", NULL), 1);
    assert_int_equal(hs_log_count(h, ": exit ", "peer=[::1]:", NULL), 2);
    assert_int_equal(hs_log_count(h, ": exit ", "peer=127.0.0.1:", NULL), 2);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_four_at_once, hs_setup,
                                        hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
