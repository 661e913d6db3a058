/*
 * test_hardening_modules.c - module code never runs in the parent, and
 * loading modules is bounded (issue 8, item 2 and the probe's rlimits):
 *  - a module that sets SIGCHLD to SIG_IGN (constructor and entry point),
 *    at start or after a reload: every connection is still reaped and
 *    logged, max_connections is never used up by the dead;
 *  - an entry point that aborts when called twice in one process, named by
 *    two listeners: `plugsrv -t` says "configuration OK" and it serves;
 *  - an entry point that takes 60 s: `plugsrv -t` fails in bounded time
 *    naming the module; one that is slow only when called twice in a
 *    process delays neither `-t` nor a reload;
 *  - the check of a config runs init() under the config's rlimits.
 */
#define _GNU_SOURCE
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

/* A config with max_connections 4 and one listener on module. */
static void
one_listener(struct hs *h, int port, const char *module)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"max_connections\": 4,\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port, module),
        0);
}

/* A config with two listeners on one module. */
static void
two_listeners(struct hs *h, int p1, int p2, const char *module)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\" },\n"
                        "  { \"address\": \"::1\", \"port\": %d, "
                        "\"module\": \"%s\" } ] }\n",
                        p1, module, p2, module),
        0);
}

/* n sequential connections, each served, and each one's exit logged
 * (reaped) before the next: with max_connections 4, unreaped children
 * would soon refuse every client. */
static void
served_and_reaped(struct hs *h, int port, int n)
{
    int i, before = hs_log_count(h, "]: exit ", NULL);

    for (i = 0; i < n; i++) {
        if (hs_echo_once("127.0.0.1", port, 5000) != 0) {
            fprintf(stderr, "connection %d of %d not served\n", i + 1, n);
            fail();
        }
        if (hs_wait_log(h, before + i + 1, 5000, "]: exit ", NULL) != 0) {
            fprintf(stderr, "connection %d of %d: no exit line (not reaped)\n",
                    i + 1, n);
            fail();
        }
    }
    assert_int_equal(hs_log_count(h, "]: exit ", NULL), before + n);
    assert_int_equal(hs_zombies(h->pid), 0);
}

static void
test_sigchld_ignored_by_module(void **state)
{
    struct hs *h = *state;
    int port = hs_port();

    one_listener(h, port, TEST_MODULE("sigchld_ign"));
    assert_int_equal(hs_start_ready(h), 0);
    served_and_reaped(h, port, 20);
    h->passed = 1;
}

static void
test_sigchld_ignored_after_reload(void **state)
{
    struct hs *h = *state;
    char line[1024];
    int port = hs_port();

    one_listener(h, port, "echo");
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    /* Its exit line first: served_and_reaped() counts those after it. */
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ", NULL), 0);
    one_listener(h, port, TEST_MODULE("sigchld_ign"));
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: reload ", NULL),
                     0);
    assert_non_null(strstr(line, "status=ok"));
    served_and_reaped(h, port, 20);
    h->passed = 1;
}

static void
test_entry_called_once(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    int p1 = hs_port(), p2 = hs_port(), st;

    two_listeners(h, p1, p2, TEST_MODULE("abort_twice"));
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: status %d, stdout: %s, stderr: %s\n", st,
            h->out, h->err);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(h->out, "configuration OK"));
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_echo_once("127.0.0.1", p1, 5000), 0);
    assert_int_equal(hs_echo_once("::1", p2, 5000), 0);
    assert_int_equal(hs_echo_once("127.0.0.1", p1, 5000), 0);
    assert_int_equal(hs_wait_log(h, 3, HS_IO_MS, "]: exit ", NULL), 0);
    assert_int_equal(hs_log_count(h, "]: exit ", " reason=ok", NULL), 3);
    h->passed = 1;
}

static void
test_slow_entry_bounded(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    long long t0;
    int st;

    one_listener(h, hs_port(), TEST_MODULE("slow_entry"));
    t0 = hs_now_ms();
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: status %d after %lld ms, stderr: %s\n", st,
            hs_now_ms() - t0, h->err);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(h->err, TEST_MODULE("slow_entry")));
    assert_non_null(strstr(h->err, "did not finish"));
    h->passed = 1;
}

/* Slow only when called twice in one process: nobody should. */
static void
test_slow_second_entry(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    char line[1024];
    int p1 = hs_port(), p2 = hs_port(), st;

    two_listeners(h, p1, p2, TEST_MODULE("slow_second"));
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: status %d, stderr: %s\n", st, h->err);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    /* A reload to it is not held up either. */
    one_listener(h, p1, "echo");
    assert_int_equal(hs_start_ready(h), 0);
    two_listeners(h, p1, p2, TEST_MODULE("slow_second"));
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, 30000, "]: reload ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: reload ", NULL),
                     0);
    assert_non_null(strstr(line, "status=ok"));
    assert_int_equal(hs_echo_once("::1", p2, 5000), 0);
    h->passed = 1;
}

/* The check runs init() under the rlimits connections get. */
static void
test_probe_rlimits(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    char path[512], buf[64] = "";
    FILE *f;
    int st;

    hs_path(h, "nofile", path, sizeof(path));
    assert_int_equal(
        hs_write_config(h,
                        "{ \"rlimits\": { \"nofile\": 77 },\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\",\n"
                        "    \"options\": { \"file\": \"%s\" } } ] }\n",
                        hs_port(), TEST_MODULE("nofile_probe"), path),
        0);
    st = hs_run(h, 30000, check);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "77\n");
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sigchld_ignored_by_module),
        T(test_sigchld_ignored_after_reload),
        T(test_entry_called_once),
        T(test_slow_entry_bounded),
        T(test_slow_second_entry),
        T(test_probe_rlimits),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
