/*
 * test_hardening_config.c - configs that used to hang or mislead (issue 8,
 * item 7 and the "smaller" list):
 *  - a FIFO as the config: `plugsrv -t`, a start and a SIGHUP each refuse
 *    it at once ("not a regular file") instead of waiting for a writer;
 *  - "::ffff:127.0.0.1" is refused by the check, naming the key and
 *    "IPv4-mapped", not left to fail at bind;
 *  - 0.0.0.0:P and 127.0.0.1:P in one config: the error names both
 *    listeners.
 */
#define _GNU_SOURCE
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

/* Runs plugsrv with args; it must exit 1 within 5 s, its stderr holding
 * every one of the strings (NULL-terminated). */
static void
refused(struct hs *h, const char *const *args, ...)
{
    const char *s;
    va_list ap;
    int st;

    st = hs_run(h, 5000, args);
    fprintf(stderr, "plugsrv %s %s: status %d, stderr: %s\n", args[0], args[1],
            st, h->err ? h->err : "");
    assert_int_not_equal(st, -1); /* it did not hang */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    va_start(ap, args);
    while ((s = va_arg(ap, const char *)) != NULL)
        assert_non_null(strstr(h->err, s));
    va_end(ap);
}

static void
test_fifo_config_check(void **state)
{
    struct hs *h = *state;
    char fifo[512];

    hs_path(h, "fifo.json", fifo, sizeof(fifo));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    {
        const char *check[] = { "-t", "-c", fifo, NULL };

        refused(h, check, fifo, "not a regular file", NULL);
    }
    h->passed = 1;
}

static void
test_fifo_config_start(void **state)
{
    struct hs *h = *state;
    char fifo[512];

    hs_path(h, "fifo.json", fifo, sizeof(fifo));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    {
        const char *serve[] = { "-c", fifo, NULL };

        refused(h, serve, fifo, "not a regular file", NULL);
    }
    h->passed = 1;
}

static void
test_fifo_config_reload(void **state)
{
    struct hs *h = *state;
    char fifo[512], line[2048];
    int port = hs_port();

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    hs_path(h, "new.fifo", fifo, sizeof(fifo));
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(rename(fifo, h->conf), 0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, 5000, "]: reload ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: reload ", NULL),
                     0);
    assert_non_null(strstr(line, "status=error"));
    assert_non_null(strstr(line, "not a regular file"));
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    h->passed = 1;
}

static void
test_ipv4_mapped_address(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"::ffff:127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, hs_port()),
        0);
    refused(h, check, "listeners[0].address", "IPv4-mapped", NULL);
    h->passed = 1;
}

static void
test_wildcard_and_specific_same_port(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    int port = hs_port();

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"0.0.0.0\", \"port\": %d, "
                        "\"module\": \"echo\" },\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port, port),
        0);
    refused(h, check, "listeners[0]", "listeners[1]", NULL);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fifo_config_check),
        T(test_fifo_config_start),
        T(test_fifo_config_reload),
        T(test_ipv4_mapped_address),
        T(test_wildcard_and_specific_same_port),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
