/*
 * test_paths.c - relative paths in the config are relative to the config
 * file's folder, never to plugsrv's working directory (the harness runs it
 * from /): a relative modules_dir, and a module named with a "./" path.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Copies the file at from to to; 0 or -1. */
static int
copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out, rc = 0, i;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) {
        close(in);
        return -1;
    }
    for (i = 0; i < 100000; i++) {
        ssize_t n = read(in, buf, sizeof(buf));

        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    }
    close(in);
    if (close(out) < 0)
        rc = -1;
    return rc;
}

static void
test_relative_paths(void **state)
{
    struct hs *h = *state;
    char mods[512], to[600];
    int p1 = hs_port(), p2 = hs_port(), fd;

    hs_path(h, "mods", mods, sizeof(mods));
    assert_int_equal(mkdir(mods, 0755), 0);
    snprintf(to, sizeof(to), "%s/echo.so", mods);
    assert_int_equal(copy_file(PLUGSRV_MODULE_DIR "/echo.so", to), 0);
    snprintf(to, sizeof(to), "%s/shout.so", mods);
    assert_int_equal(copy_file(PLUGSRV_MODULE_DIR "/uppercase.so", to), 0);

    hs_write_config(h,
                    "{ \"modules_dir\": \"mods\",\n"
                    "  \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" },\n"
                    "  { \"address\": \"::1\", \"port\": %d,\n"
                    "    \"module\": \"./mods/shout.so\" } ] }\n",
                    p1, p2);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_log_count(h, ": listen ", mods, NULL), 2);
    fd = hs_connect("127.0.0.1", p1, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "rel\n", "rel\n"), 0);
    close(fd);
    fd = hs_connect("::1", p2, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "rel\n", "REL\n"), 0);
    close(fd);
    h->passed = 1;
}

static void
test_same_port_both_families(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), f4, f6;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\",\n"
                    "  \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" },\n"
                    "  { \"address\": \"::1\", \"port\": %d, \"module\": "
                    "\"uppercase\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port, port);
    assert_int_equal(hs_start_ready(h), 0);
    f4 = hs_connect("127.0.0.1", port, HS_IO_MS);
    f6 = hs_connect("::1", port, HS_IO_MS);
    assert_true(f4 >= 0 && f6 >= 0);
    assert_int_equal(hs_roundtrip(f4, "same\n", "same\n"), 0);
    assert_int_equal(hs_roundtrip(f6, "same\n", "SAME\n"), 0);
    close(f4);
    close(f6);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_relative_paths),
        T(test_same_port_both_families),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
