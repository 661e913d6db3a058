/*
 * test_reload.c - SIGHUP re-reads the config. Good: a listener added on a
 * new port serves, a removed one stops listening, a kept one changes for
 * new connections only, and open connections are undisturbed. Bad (syntax
 * error, a port someone else holds): "reload status=error" and the old
 * config goes on whole.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Writes the config: suffix on pk (with the given suffix), and echo on pa
 * and/or uppercase on pb when their port is not 0. */
static void
write_conf(struct hs *h, int pk, const char *suffix, int pa, int pb)
{
    char a[256] = "", b[256] = "";

    if (pa)
        snprintf(a, sizeof(a),
                 ",\n  { \"address\": \"127.0.0.1\", "
                 "\"port\": %d, \"module\": \"echo\" }",
                 pa);
    if (pb)
        snprintf(b, sizeof(b),
                 ",\n  { \"address\": \"::1\", "
                 "\"port\": %d, \"module\": \"uppercase\" }",
                 pb);
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\",\n"
            "  \"listeners\": [\n"
            "  { \"address\": \"::1\", \"port\": %d, \"module\": \"suffix\",\n"
            "    \"options\": { \"suffix\": \"%s\" } }%s%s ] }\n",
            PLUGSRV_MODULE_DIR, pk, suffix, a, b),
        0);
}

/* Sends SIGHUP and waits for the n-th reload line, which must hold
 * status (and for an error, says why). */
static void
reload(struct hs *h, int n, const char *status)
{
    char line[1024];

    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, n, HS_IO_MS, ": reload ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), ": reload ", NULL), 0);
    assert_non_null(strstr(line, status));
    assert_non_null(strstr(line, h->conf));
    if (strcmp(status, "status=error") == 0)
        assert_non_null(strstr(line, " error="));
}

static void
test_reload_good(void **state)
{
    struct hs *h = *state;
    int pk = hs_port(), pa = hs_port(), pb = hs_port(), kept, ka, fd;

    write_conf(h, pk, "-old", pa, 0);
    assert_int_equal(hs_start_ready(h), 0);
    kept = hs_connect("::1", pk, HS_IO_MS);
    ka = hs_connect("127.0.0.1", pa, HS_IO_MS);
    assert_true(kept >= 0 && ka >= 0);
    assert_int_equal(hs_roundtrip(kept, "a\n", "a-old\n"), 0);
    assert_int_equal(hs_roundtrip(ka, "b\n", "b\n"), 0);
    assert_int_equal(hs_connect("::1", pb, 2000), -1);

    /* echo removed, uppercase added, suffix changed. */
    write_conf(h, pk, "-new", 0, pb);
    reload(h, 1, "status=ok");
    assert_int_equal(hs_log_count(h, ": reload ", "status=ok", NULL), 1);

    fd = hs_connect("::1", pb, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "added\n", "ADDED\n"), 0);
    close(fd);
    fd = hs_connect("127.0.0.1", pa, 2000);
    assert_int_equal(fd, -1);
    fd = hs_connect("::1", pk, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "c\n", "c-new\n"), 0);
    close(fd);
    /* The connections opened before the reload carry on as they were:
     * the old suffix, and an echo whose listener is gone. */
    assert_int_equal(hs_roundtrip(kept, "d\n", "d-old\n"), 0);
    assert_int_equal(hs_roundtrip(ka, "e\n", "e\n"), 0);
    close(kept);
    close(ka);
    assert_int_equal(hs_wait_log(h, 4, HS_IO_MS, ": exit ", NULL), 0);
    assert_int_equal(
        hs_log_count(h, ": exit ", "listener=echo", "reason=ok", NULL), 1);
    assert_true(hs_alive(h));
    h->passed = 1;
}

static void
test_reload_bad(void **state)
{
    struct hs *h = *state;
    int pk = hs_port(), pa = hs_port(), pb = hs_port(), kept, fd, held;

    write_conf(h, pk, "-old", pa, 0);
    assert_int_equal(hs_start_ready(h), 0);
    kept = hs_connect("::1", pk, HS_IO_MS);
    assert_true(kept >= 0);
    assert_int_equal(hs_roundtrip(kept, "a\n", "a-old\n"), 0);

    /* A syntax error. */
    assert_int_equal(hs_write_config(h, "{ \"listeners\": [ \n"), 0);
    reload(h, 1, "status=error");
    assert_int_equal(hs_log_count(h, ": reload ", "status=error", NULL), 1);
    assert_true(hs_alive(h));
    fd = hs_connect("127.0.0.1", pa, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "still\n", "still\n"), 0);
    close(fd);
    fd = hs_connect("::1", pk, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "b\n", "b-old\n"), 0);
    close(fd);

    /* A new listener on a port someone holds: the whole reload fails, so
     * the suffix change that came with it does not happen either. */
    assert_true((held = hs_hold_port(pb)) >= 0);
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\",\n"
            "  \"listeners\": [\n"
            "  { \"address\": \"::1\", \"port\": %d, \"module\": \"suffix\",\n"
            "    \"options\": { \"suffix\": \"-new\" } },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"echo\" } ] }\n",
            PLUGSRV_MODULE_DIR, pk, pb),
        0);
    reload(h, 2, "status=error");
    assert_int_equal(hs_log_count(h, ": reload ", "status=error", NULL), 2);
    close(held);
    fd = hs_connect("::1", pk, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "c\n", "c-old\n"), 0);
    close(fd);
    fd = hs_connect("127.0.0.1", pa, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "old echo\n", "old echo\n"), 0);
    close(fd);
    assert_int_equal(hs_roundtrip(kept, "d\n", "d-old\n"), 0);
    close(kept);

    /* Once the config is fixed, the next SIGHUP takes it. */
    write_conf(h, pk, "-fixed", pa, pb);
    reload(h, 3, "status=ok");
    fd = hs_connect("::1", pb, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "up\n", "UP\n"), 0);
    close(fd);
    fd = hs_connect("::1", pk, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "e\n", "e-fixed\n"), 0);
    close(fd);
    assert_true(hs_alive(h));
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reload_good),
        T(test_reload_bad),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
