/*
 * test_load.c - 100 clients at once on 127.0.0.1 and ::1; afterwards the
 * parent has no children, no zombies, and no more open fds than before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CLIENTS 100

static void
test_hundred_clients(void **state)
{
    struct hs *h = *state;
    int p4 = hs_port(), p6 = hs_port(), fds[CLIENTS], i, before;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\",\n"
                    "  \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" },\n"
                    "  { \"address\": \"::1\", \"port\": %d, \"module\": "
                    "\"suffix\" } ] }\n",
                    PLUGSRV_MODULE_DIR, p4, p6);
    assert_int_equal(hs_start_ready(h), 0);

    /* One connection first, so that whatever the parent opens once (on
     * its first fork, say) is counted in "before". */
    fds[0] = hs_connect("127.0.0.1", p4, HS_IO_MS);
    assert_true(fds[0] >= 0);
    assert_int_equal(hs_roundtrip(fds[0], "warm\n", "warm\n"), 0);
    close(fds[0]);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", NULL), 0);
    before = hs_fd_count(h->pid);
    assert_true(before > 0);

    for (i = 0; i < CLIENTS; i++) {
        fds[i] = i % 2 ? hs_connect("::1", p6, HS_IO_MS)
                       : hs_connect("127.0.0.1", p4, HS_IO_MS);
        assert_true(fds[i] >= 0);
    }
    for (i = 0; i < CLIENTS; i++) {
        char msg[32];

        snprintf(msg, sizeof(msg), "client %d\n", i);
        assert_int_equal(hs_send_str(fds[i], msg), 0);
    }
    /* All 100 are served at the same time. */
    assert_int_equal(hs_wait_log(h, 1 + CLIENTS, HS_IO_MS, ": accept ", NULL),
                     0);
    assert_int_equal(hs_children(h->pid), CLIENTS);
    for (i = 0; i < CLIENTS; i++) {
        char want[32];

        snprintf(want, sizeof(want),
                 i % 2 ? "client %d----k\n" : "client %d\n", i);
        assert_int_equal(hs_roundtrip(fds[i], "", want), 0);
    }
    for (i = 0; i < CLIENTS; i++)
        close(fds[i]);

    assert_int_equal(hs_wait_log(h, 1 + CLIENTS, 30000, ": exit ", NULL), 0);
    assert_int_equal(hs_log_count(h, ": exit ", "status=0", "reason=ok", NULL),
                     1 + CLIENTS);
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_fd_count(h->pid), before);
    assert_int_equal(hs_orphans(h), 0);
    assert_true(hs_alive(h));
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hundred_clients, hs_setup,
                                        hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
