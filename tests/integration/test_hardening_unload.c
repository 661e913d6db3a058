/*
 * test_hardening_unload.c - a module that can never be unloaded (linked
 * with -z nodelete, as C++ unique symbols make one) upgraded again and
 * again (issue 8, item 10): the parent's fds stay bounded; once the bound
 * of stuck copies is reached, a reload that needs a new copy fails, saying
 * "cannot be unloaded", one that keeps the loaded file still succeeds, and
 * the server goes on serving.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define UPGRADES 40
#define FD_SLACK 20 /* the lead's bound is 16 stuck copies */

/* `cp from tmp && mv tmp to`: a new inode at to. */
static void
install_copy(const char *from, const char *tmp, const char *to)
{
    char buf[65536];
    int in, out, i;
    ssize_t n;

    in = open(from, O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(out >= 0);
    for (i = 0; i < 10000; i++) {
        n = read(in, buf, sizeof(buf));
        assert_true(n >= 0);
        if (n == 0)
            break;
        assert_int_equal(write(out, buf, (size_t)n), n);
    }
    close(in);
    assert_int_equal(fchmod(out, 0644), 0);
    assert_int_equal(close(out), 0);
    assert_int_equal(rename(tmp, to), 0);
}

/* SIGHUP, then the n-th reload line into line. */
static void
reload(struct hs *h, int n, char *line, size_t len)
{
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, n, HS_IO_MS, "]: reload ", NULL), 0);
    assert_int_equal(hs_log_last(h, line, len, "]: reload ", NULL), 0);
}

static void
test_nodelete_upgrades(void **state)
{
    struct hs *h = *state;
    char mods[512], mod[600], tmp[600], good[512], line[2048];
    char first_error[2048] = "";
    int port = hs_port(), i, fd0, fds, maxfds, oks = 0, errors = 0;

    hs_path(h, "modules", mods, sizeof(mods));
    assert_int_equal(mkdir(mods, 0755), 0);
    snprintf(mod, sizeof(mod), "%s/nodelete.so", mods);
    snprintf(tmp, sizeof(tmp), "%s/nodelete.so.tmp", mods);
    hs_path(h, "good.so", good, sizeof(good));
    install_copy(TEST_MODULE("nodelete"), tmp, mod);
    assert_int_equal(link(mod, good), 0); /* the copy that is loaded */
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"nodelete\" } ] }\n",
                        mods, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    fd0 = maxfds = hs_fd_count(h->pid);
    assert_true(fd0 > 0);

    for (i = 0; i < UPGRADES; i++) {
        install_copy(TEST_MODULE("nodelete"), tmp, mod);
        reload(h, i + 1, line, sizeof(line));
        if (strstr(line, "status=ok") != NULL) {
            oks++;
            unlink(good);
            assert_int_equal(link(mod, good), 0);
        } else {
            if (errors++ == 0)
                snprintf(first_error, sizeof(first_error), "%s", line);
        }
        fds = hs_fd_count(h->pid);
        if (fds > maxfds)
            maxfds = fds;
        if (fds > fd0 + FD_SLACK) {
            fprintf(stderr,
                    "after %d upgrades (%d ok, %d refused): %d fds, %d at "
                    "start\n",
                    i + 1, oks, errors, fds, fd0);
            fail();
        }
    }
    fprintf(stderr,
            "%d upgrades: %d ok, %d refused, fds %d at start, %d at "
            "most; first refusal: %s\n",
            UPGRADES, oks, errors, fd0, maxfds, first_error);
    /* Bounded, and said so. */
    assert_true(oks >= 1);
    assert_true(errors >= 1);
    assert_non_null(strstr(first_error, "status=error"));
    assert_non_null(strstr(first_error, "cannot be unloaded"));
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);

    /* The loaded file back in place: nothing new to load, so ok. */
    assert_int_equal(rename(good, mod), 0);
    reload(h, UPGRADES + 1, line, sizeof(line));
    assert_non_null(strstr(line, "status=ok"));
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    assert_true(hs_fd_count(h->pid) <= fd0 + FD_SLACK);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_nodelete_upgrades),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
