/*
 * test_log_escape.c - text from a handler or a config reaches the log as
 * one value of one line (issue 8 item 8, issue 9): host->log messages with
 * quotes, backslashes and control bytes escaped, a bare word left bare; an
 * init() error in a connection's process that looks like a log line, or
 * that fills its buffer with no NUL; paths with spaces quoted.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A config with one logtext listener; opts is the inside of "options". */
static void
logtext_conf(struct hs *h, int port, const char *opts)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\", \"name\": \"lt\",\n"
                        "    \"options\": { %s } } ] }\n",
                        port, TEST_MODULE("logtext"), opts),
        0);
}

/* Connects, reads the handler's "ok\n" (or its close), waits for the
 * connection's exit line. */
static void
one_connection(struct hs *h, int port, int nexits)
{
    char buf[8];
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    hs_recv_n(fd, buf, 3, HS_IO_MS);
    close(fd);
    assert_int_equal(hs_wait_log(h, nexits, HS_IO_MS, "]: exit ", NULL), 0);
}

static char *
slurp_log(struct hs *h)
{
    FILE *f = fopen(h->log, "re");
    char *text = NULL;
    size_t cap = 0;

    assert_non_null(f);
    assert_true(getdelim(&text, &cap, '\0', f) > 0);
    fclose(f);
    return text;
}

static void
test_handler_message(void **state)
{
    struct hs *h = *state;
    const char *want;
    char line[4096];
    int port = hs_port();

    logtext_conf(h, port,
                 "\"level\": 0, \"msg\": \"a \\\"q\\\" b\\\\c\\r\\n\\t"
                 "\\u0001\\u007f k=v caf\\u00e9\"");
    assert_int_equal(hs_start_ready(h), 0);
    one_connection(h, port, 1);
    assert_int_equal(hs_log_count(h, "k=v", NULL), 1);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "k=v", NULL), 0);
    fprintf(stderr, "%s\n", line);
    assert_non_null(strstr(line, "]: handler listener=lt pid="));
    want = " level=error msg=\"a \\\"q\\\" b\\\\c\\r\\n\\t\\x01\\x7f k=v "
           "caf\xc3\xa9\"";
    assert_non_null(strstr(line, want));
    assert_string_equal(strstr(line, want), want); /* the last value */
    h->passed = 1;
}

/* A word is written bare, as every value plugsrv makes itself. */
static void
test_handler_word(void **state)
{
    struct hs *h = *state;
    char line[4096];
    int port = hs_port();

    logtext_conf(h, port, "\"msg\": \"plain\"");
    assert_int_equal(hs_start_ready(h), 0);
    one_connection(h, port, 1);
    assert_int_equal(hs_log_last(h, line, sizeof(line), "]: handler ", NULL),
                     0);
    assert_non_null(strstr(line, " level=info msg=plain"));
    assert_string_equal(strstr(line, " msg=plain"), " msg=plain");
    h->passed = 1;
}

/* init() passes the start's check, then fails in a connection's process
 * with a reason that holds a whole forged log line. */
static void
test_connection_init_forged(void **state)
{
    struct hs *h = *state;
    char flag[512], opts[1024], line[4096];
    char *log;
    int port = hs_port();

    hs_path(h, "fail", flag, sizeof(flag));
    snprintf(opts, sizeof(opts),
             "\"fail_if\": \"%s\", \"err\": \"x\\n2026-01-01T00:00:00.000Z "
             "plugsrv[1]: accept listener=forged peer=1.2.3.4:5 pid=1\"",
             flag);
    logtext_conf(h, port, opts);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_write_file(h, "fail", "1\n"), 0);
    one_connection(h, port, 1);
    assert_int_equal(hs_log_count(h, "]: exit ", "reason=module", NULL), 1);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: error what=init ", NULL), 0);
    fprintf(stderr, "%s\n", line);
    assert_non_null(strstr(line, " listener=lt msg=\"x\\n2026-01-01T00:00:00"
                                 ".000Z plugsrv[1]: accept listener=forged "
                                 "peer=1.2.3.4:5 pid=1\""));
    log = slurp_log(h);
    assert_int_equal(hs_event_count(log, "accept listener=forged"), 0);
    assert_int_equal(hs_event_count(log, "error what=init"), 1);
    free(log);
    h->passed = 1;
}

/* The same with an err buffer filled to its end, no NUL: the value holds
 * the buffer's bytes and nothing after them. */
static void
test_connection_init_no_nul(void **state)
{
    struct hs *h = *state;
    char flag[512], opts[1024], line[8192];
    const char *v;
    size_t n;
    int port = hs_port();

    hs_path(h, "fail", flag, sizeof(flag));
    snprintf(opts, sizeof(opts), "\"fail_if\": \"%s\", \"err\": \"-nonul\"",
             flag);
    logtext_conf(h, port, opts);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_write_file(h, "fail", "1\n"), 0);
    one_connection(h, port, 1);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: error what=init ", NULL), 0);
    fprintf(stderr, "%.200s...\n", line);
    v = strstr(line, " msg=");
    assert_non_null(v);
    v += strlen(" msg=");
    n = strspn(v, "B");
    /* handler.h promises at least 256 bytes; bare, the line ends there */
    assert_true(n >= 256);
    assert_true(n <= 4096);
    assert_int_equal(v[n], '\0');
    h->passed = 1;
}

/* A config and a modules folder whose paths hold a space. */
static void
test_paths_with_spaces(void **state)
{
    struct hs *h = *state;
    char conf[512], mods[512], want[1024];
    const char *argv[] = { PLUGSRV_BIN, "-c", conf, NULL };
    int port = hs_port();

    hs_path(h, "my conf", conf, sizeof(conf));
    assert_int_equal(mkdir(conf, 0755), 0);
    hs_path(h, "my mods", mods, sizeof(mods));
    assert_int_equal(symlink(PLUGSRV_MODULE_DIR, mods), 0);
    assert_int_equal(
        hs_write_file(h, "my conf/server.json",
                      "{ \"modules_dir\": \"../my mods\",\n"
                      "  \"listeners\": [\n"
                      "  { \"address\": \"127.0.0.1\", "
                      "\"port\": %d, \"module\": \"echo\" } ] }\n",
                      port),
        0);
    hs_path(h, "my conf/server.json", conf, sizeof(conf));
    assert_int_equal(hs_start_prep(h, argv, NULL, NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    snprintf(want, sizeof(want), " config=\"%s\"", conf);
    assert_int_equal(hs_log_count(h, "]: ready ", want, NULL), 1);
    assert_int_equal(hs_log_count(h, "]: listen ", " module=\"",
                                  "my mods/echo.so\" ", NULL),
                     1);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_handler_message),        T(test_handler_word),
        T(test_connection_init_forged), T(test_connection_init_no_nul),
        T(test_paths_with_spaces),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
