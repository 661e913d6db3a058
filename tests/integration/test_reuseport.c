/*
 * test_reuseport.c - "reuseport": true lets several plugsrv share a port:
 * two instances on one address both start, both serve (the kernel spreads
 * connections by address and port), and one's SIGTERM leaves the other
 * serving. Without it the second start fails, naming the address. A
 * reload cannot change the option of a socket it keeps, and says so.
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

static void
config(struct hs *h, int port, const char *reuse)
{
    assert_int_equal(hs_write_config(h,
                                     "{ \"modules_dir\": \"%s\", "
                                     "\"listeners\": [\n"
                                     "  { \"address\": \"127.0.0.1\", "
                                     "\"port\": %d, \"module\": \"echo\"%s } "
                                     "] }\n",
                                     PLUGSRV_MODULE_DIR, port, reuse),
                     0);
}

/* n clients from distinct sources, each served. */
static void
clients(int port, int n)
{
    char src[32];
    int i, fd;

    for (i = 0; i < n; i++) {
        snprintf(src, sizeof(src), "127.0.%d.%d", 10 + i / 200, 1 + i % 200);
        fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
        close(fd);
    }
}

static void
test_two_instances(void **state)
{
    struct hs *a = *state, *b = hs_new();
    int port = hs_port(), na, nb;

    assert_non_null(b);
    config(a, port, ", \"reuseport\": true");
    config(b, port, ", \"reuseport\": true");
    assert_int_equal(hs_start_ready(a), 0);
    assert_int_equal(hs_start_ready(b), 0);
    clients(port, 64);
    assert_int_equal(hs_wait_log(a, 1, HS_IO_MS, "]: exit ", NULL), 0);
    assert_int_equal(hs_wait_log(b, 1, HS_IO_MS, "]: exit ", NULL), 0);
    na = hs_log_count(a, "]: accept ", NULL);
    nb = hs_log_count(b, "]: accept ", NULL);
    fprintf(stderr, "64 clients: %d to one instance, %d to the other\n", na,
            nb);
    assert_int_equal(na + nb, 64);
    /* One stops; the other serves all. */
    assert_int_equal(hs_signal(a, SIGTERM), 0);
    assert_true(hs_wait_exit(a, HS_EXIT_MS) >= 0);
    clients(port, 16);
    assert_int_equal(hs_wait_log(b, nb + 16, HS_IO_MS, "]: accept ", NULL), 0);
    b->passed = 1;
    hs_free(b);
    a->passed = 1;
}

static void
test_without_reuseport(void **state)
{
    struct hs *a = *state, *b = hs_new();
    const char *argv[] = { "-c", NULL, NULL };
    int port = hs_port(), st;

    assert_non_null(b);
    config(a, port, "");
    config(b, port, "");
    argv[1] = b->conf;
    assert_int_equal(hs_start_ready(a), 0);
    st = hs_run(b, HS_EXIT_MS, argv);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(b->err, "Address already in use"));
    assert_non_null(strstr(b->err, "listeners[0]"));
    b->passed = 1;
    hs_free(b);
    a->passed = 1;
}

static void
test_reload_cannot_change(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd;

    config(h, port, "");
    assert_int_equal(hs_start_ready(h), 0);
    config(h, port, ", \"reuseport\": true");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=error",
                                 "reuseport", "restart", NULL),
                     0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
    close(fd);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_two_instances),
        T(test_without_reuseport),
        T(test_reload_cannot_change),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
