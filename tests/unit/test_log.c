/*
 * test_log.c - the log's values: what stays bare, what is quoted and how
 * it is escaped, the bounds (a cut never splits an escape, the quote is
 * always closed, a buffer without a NUL is not read past), and the config's
 * "log" key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugsrv.h"

static void
check_value(const char *text, const char *want)
{
    char buf[LOG_VALUE_MAX];

    assert_ptr_equal(log_value(buf, sizeof(buf), text), buf);
    assert_string_equal(buf, want);
}

static void
test_bare(void **state)
{
    (void)state;
    check_value("echo", "echo");
    check_value("127.0.0.1:50112", "127.0.0.1:50112");
    check_value("/a/b-c_d.so", "/a/b-c_d.so");
    check_value("caf\xc3\xa9", "caf\xc3\xa9"); /* UTF-8 stays as it is */
}

static void
test_quoted(void **state)
{
    (void)state;
    check_value("", "\"\"");
    check_value("a b", "\"a b\"");
    check_value("k=v", "\"k=v\"");
    check_value("say \"hi\"", "\"say \\\"hi\\\"\"");
    check_value("back\\slash", "\"back\\\\slash\"");
    check_value("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    check_value("\x01\x1f\x7f", "\"\\x01\\x1f\\x7f\"");
    check_value("x\n2026-01-01T00:00:00.000Z plugsrv[1]: reload status=ok",
                "\"x\\n2026-01-01T00:00:00.000Z plugsrv[1]: reload "
                "status=ok\"");
}

/* Cut to the buffer: well formed, the quote closed, no escape split. */
static void
test_bounds(void **state)
{
    char buf[8], big[LOG_VALUE_MAX * 2];

    (void)state;
    log_value(buf, sizeof(buf), "abcdefghijkl");
    assert_string_equal(buf, "abcdefg");
    log_value(buf, sizeof(buf), "a bcdefghijkl");
    assert_string_equal(buf, "\"a bcd\"");
    log_value(buf, sizeof(buf), "ab\x01xyz");
    assert_string_equal(buf, "\"ab\"");
    log_value(buf, sizeof(buf), "ab\nxyz");
    assert_string_equal(buf, "\"ab\\nx\"");
    log_value(buf, 3, "a b");
    assert_string_equal(buf, "\"\"");
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_value(buf, sizeof(buf), big);
    assert_string_equal(buf, "\"\\\"\\\"\"");
}

/* A module's err buffer, full and with no NUL: only its bytes are read. */
static void
test_no_nul(void **state)
{
    char err[16], buf[LOG_VALUE_MAX];
    char *heap = malloc(sizeof(err)); /* so that ASan sees a read past it */

    (void)state;
    assert_non_null(heap);
    memset(heap, 'B', sizeof(err));
    log_nvalue(buf, sizeof(buf), heap, sizeof(err));
    assert_string_equal(buf, "BBBBBBBBBBBBBBBB");
    memcpy(heap, "a b\nc", 5);
    log_nvalue(buf, sizeof(buf), heap, 5);
    assert_string_equal(buf, "\"a b\\nc\"");
    free(heap);
}

static void
expect_config(const char *text, const char *want_err, const char *want_file)
{
    char err[ERRBUF];
    struct config *conf = NULL;
    int rc = config_parse(text, strlen(text), "/etc/plugsrv/t.json", &conf,
                          err, sizeof(err));

    if (want_err != NULL) {
        assert_int_equal(rc, -1);
        if (strstr(err, want_err) == NULL)
            fail_msg("\"%s\" does not hold \"%s\"", err, want_err);
        return;
    }
    assert_int_equal(rc, 0);
    if (want_file == NULL)
        assert_null(conf->log_file);
    else
        assert_string_equal(conf->log_file, want_file);
    config_free(conf);
}

#define LOGCONF(T)                                                            \
    "{" T ", \"listeners\": [{\"address\": \"127.0.0.1\", \"port\": 9999, "   \
    "\"module\": \"echo\"}]}"

static void
test_config_log(void **state)
{
    (void)state;
    expect_config(LOGCONF("\"max_line\": 1"), NULL, NULL);
    expect_config(LOGCONF("\"log\": {}"), NULL, NULL);
    expect_config(LOGCONF("\"log\": {\"file\": \"/var/log/p.log\"}"), NULL,
                  "/var/log/p.log");
    expect_config(LOGCONF("\"log\": {\"file\": \"logs/p.log\"}"), NULL,
                  "/etc/plugsrv/logs/p.log");
    expect_config(LOGCONF("\"log\": \"/var/log/p.log\""),
                  "t.json: log: must be an object", NULL);
    expect_config(LOGCONF("\"log\": {\"file\": 5}"),
                  "t.json: log.file: must be a string", NULL);
    expect_config(LOGCONF("\"log\": {\"file\": \"\"}"),
                  "t.json: log.file: must not be empty", NULL);
    expect_config(LOGCONF("\"log\": {\"path\": \"x\"}"),
                  "t.json: log.path: unknown key", NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bare),       cmocka_unit_test(test_quoted),
        cmocka_unit_test(test_bounds),     cmocka_unit_test(test_no_nul),
        cmocka_unit_test(test_config_log),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
