/*
 * test_hardening_escape.c - the log cannot be forged (issue 8, item 8):
 * text from a module (an init() error with a newline that looks like a log
 * line, an err buffer without a NUL, a host->log message with quotes,
 * newlines and key=value) reaches the log escaped, bounded, on one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

/* A config with one badtext listener (option "what"), plus extra
 * options. */
static void
badtext_conf(struct hs *h, int port, const char *what, const char *extra)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\",\n"
                        "    \"options\": { \"what\": \"%s\"%s } } ] }\n",
                        port, TEST_MODULE("badtext"), what, extra),
        0);
}

static void
echo_conf(struct hs *h, int port)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
}

/* No line of text begins like the forged line, and exactly one holds its
 * words: the one where the newline appears escaped. */
static void
not_forged(const char *what, const char *text)
{
    const char *p, *nl;
    int holders = 0;

    for (p = text; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (strncmp(p, "2026-01-01T00:00:00.000Z", 24) == 0) {
            fprintf(stderr, "%s: a forged line: %.200s\n", what, p);
            fail();
        }
        if (strstr(p, "plugsrv[1]: reload status=ok") != NULL &&
            (nl == NULL || strstr(p, "plugsrv[1]: reload status=ok") < nl)) {
            holders++;
            /* "bad\n2026-...", the backslash escaped again or not */
            assert_true(strstr(p, "bad\\") != NULL &&
                        strstr(p, "bad\\") < strstr(p, "n2026-01-01T"));
        }
    }
    if (holders != 1)
        fprintf(stderr, "%s: %d lines hold the forged words in:\n%s\n", what,
                holders, text);
    assert_int_equal(holders, 1);
}

static void
test_init_error_newline(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    const char *serve[] = { "-c", h->conf, NULL };
    char *log;
    int port = hs_port(), st;

    badtext_conf(h, port, "newline", "");
    st = hs_run(h, 30000, check);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    not_forged("plugsrv -t", h->err);
    st = hs_run(h, 30000, serve);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    not_forged("plugsrv -c", h->err);

    /* On a reload: the log itself. */
    echo_conf(h, port);
    assert_int_equal(hs_start_ready(h), 0);
    badtext_conf(h, port, "newline", "");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: reload status=error", NULL), 0);
    /* The forged words are in the log, escaped inside the error's value:
     * what must not be is a line whose event is "reload status=ok". */
    log = NULL;
    {
        FILE *f = fopen(h->log, "re");
        size_t cap = 0;
        ssize_t n;

        assert_non_null(f);
        n = getdelim(&log, &cap, '\0', f);
        fclose(f);
        assert_true(n > 0);
    }
    not_forged("the log", log);
    assert_int_equal(hs_event_count(log, "reload status=ok"), 0);
    free(log);
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    h->passed = 1;
}

/* The longest run of c in s. */
static size_t
longest_run(const char *s, char c)
{
    size_t best = 0, cur = 0;

    for (; *s != '\0'; s++) {
        cur = *s == c ? cur + 1 : 0;
        if (cur > best)
            best = cur;
    }
    return best;
}

/* Bytes a log line must not hold raw: control bytes but '\n'. */
static int
has_raw_control(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
            return 1;
    return 0;
}

static void
test_init_error_no_nul(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    char extra[600], path[512], line[8192];
    int port = hs_port(), st;
    long errlen;

    hs_path(h, "errlen", path, sizeof(path));
    snprintf(extra, sizeof(extra), ", \"errlen_file\": \"%s\"", path);
    badtext_conf(h, port, "nonul", extra);
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: status %d, stderr: %.600s\n", st, h->err);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    {
        FILE *f = fopen(path, "re");

        assert_non_null(f);
        assert_int_equal(fscanf(f, "%ld", &errlen), 1);
        fclose(f);
    }
    /* The module's text is reported, but no byte past its buffer. */
    assert_true(longest_run(h->err, 'A') >= 64);
    assert_true(longest_run(h->err, 'A') <= (size_t)errlen);
    assert_int_equal(has_raw_control(h->err), 0);

    /* The same on a reload, and the server goes on. */
    echo_conf(h, port);
    assert_int_equal(hs_start_ready(h), 0);
    badtext_conf(h, port, "nonul", extra);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: reload status=error", NULL), 0);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: reload status=error", NULL), 0);
    assert_true(longest_run(line, 'A') >= 64);
    assert_true(longest_run(line, 'A') <= (size_t)errlen);
    assert_int_equal(has_raw_control(line), 0);
    assert_int_equal(hs_echo_once("127.0.0.1", port, 5000), 0);
    h->passed = 1;
}

static void
test_handler_log_escaped(void **state)
{
    struct hs *h = *state;
    char line[4096], buf[8];
    int port = hs_port(), fd;

    badtext_conf(h, port, "log", "");
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ", NULL), 0);
    /* One line, and it is the handler's. */
    assert_int_equal(hs_log_count(h, "key=value", NULL), 1);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "key=value", NULL), 0);
    fprintf(stderr, "%s\n", line);
    assert_non_null(strstr(line, "]: handler "));
    assert_non_null(strstr(line, "msg=\"say \\\"hi\\\"\\nkey=value tab\\there "
                                 "back\\\\slash\""));
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_error_newline),
        T(test_init_error_no_nul),
        T(test_handler_log_escaped),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
