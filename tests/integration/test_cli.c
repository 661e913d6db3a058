/*
 * test_cli.c - the command line as a user meets it: -h and -V print to
 * stdout and exit 0, -t checks a good config and says "configuration OK",
 * a bad option is a usage error (exit 2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "harness.h"

static void
test_help(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-h", NULL };
    int st = hs_run(h, HS_EXIT_MS, argv);

    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(h->out, "-c"));
    assert_non_null(strstr(h->out, "-t"));
    h->passed = 1;
}

static void
test_version(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-V", NULL };
    int st = hs_run(h, HS_EXIT_MS, argv);

    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* DESIGN.md: "plugsrv 1.0.0"; more words after it on the line are
     * fine (e.g. the handler ABI it speaks). */
    assert_memory_equal(h->out, "plugsrv 1.0.0", 13);
    assert_true(h->out[13] == '\n' || h->out[13] == ' ');
    h->passed = 1;
}

static void
test_usage_error(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-Z", NULL };
    const char *none[] = { "-c", NULL };
    int st = hs_run(h, HS_EXIT_MS, argv);

    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_true(strlen(h->err) > 0);
    st = hs_run(h, HS_EXIT_MS, none); /* -c without a file */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    h->passed = 1;
}

static void
test_check_ok(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-t", "-c", h->conf, NULL };
    char want[600];
    int st, p1 = hs_port(), p2 = hs_port();

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"listeners\": [\n"
        "    { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "    { \"address\": \"::1\", \"port\": %d, \"module\": \"suffix\",\n"
        "      \"options\": { \"suffix\": \"!\" } } ] }\n",
        PLUGSRV_MODULE_DIR, p1, p2);
    st = hs_run(h, HS_EXIT_MS, argv);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    snprintf(want, sizeof(want),
             "plugsrv: %s: configuration OK (2 listeners: keys, users, "
             "modules loaded and init() run; addresses not bound)\n",
             h->conf);
    assert_string_equal(h->out, want);
    /* A check serves nothing and leaves nothing behind. */
    assert_int_equal(hs_orphans(h), 0);
    assert_int_equal(hs_connect("127.0.0.1", p1, 2000), -1);
    h->passed = 1;
}

/* -t checks the config of a server that is running, as nginx -t does: it
 * binds nothing. -T also binds, and so finds the ports taken. */
static void
test_check_beside_running(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    const char *bind[] = { "-T", "-c", h->conf, NULL };
    int st, port = hs_port();

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_ready(h), 0);
    st = hs_run(h, HS_EXIT_MS, check);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(h->out, "configuration OK"));
    st = hs_run(h, HS_EXIT_MS, bind);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(h->err, "Address already in use"));
    /* The server was not disturbed. */
    assert_int_equal(hs_alive(h), 1);
    h->passed = 1;
}

/* The long options an admin types first. */
static void
test_long_options(void **state)
{
    struct hs *h = *state;
    const char *help[] = { "--help", NULL }, *version[] = { "--version", NULL };
    int st;

    st = hs_run(h, HS_EXIT_MS, help);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(h->out, "usage: plugsrv"));
    st = hs_run(h, HS_EXIT_MS, version);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_memory_equal(h->out, "plugsrv 1.0.0", 13);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_version, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_long_options, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_check_beside_running, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_usage_error, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_check_ok, hs_setup, hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
