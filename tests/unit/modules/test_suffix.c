/*
 * test_suffix.c - unit tests of modules/suffix.c against the fake host:
 * line endings, binary lines, long lines, options and write failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

#define S(lit) lit, sizeof(lit) - 1 /* a literal and its length, \0 kept */

/* Feeds in line by line with the given options; checks rc and output. */
static void
check(const struct fake_opt *opts, size_t count, const char *in, size_t len,
      const char *want, size_t want_len)
{
    struct fake_session s;

    assert_int_equal(
        fake_start(&s, plugsrv_handler_v1(&fake_host), opts, count),
        PLUGSRV_OK);
    assert_int_equal(fake_lines(&s, in, len), PLUGSRV_OK);
    assert_int_equal(s.conn.len, want_len);
    assert_memory_equal(s.conn.out, want, want_len);
    assert_false(s.conn.closed);
    fake_stop(&s);
}

static void
test_entry(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);

    (void)unused;
    assert_int_equal(h->size, sizeof(plugsrv_handler));
    assert_string_equal(h->name, "suffix");
    assert_int_equal(h->mode, PLUGSRV_MODE_LINE);
}

static void
test_endings(void **unused)
{
    (void)unused;
    check(NULL, 0, S("hello\n"), S("hello----k\n"));
    check(NULL, 0, S("hello\r\n"), S("hello----k\r\n"));
    check(NULL, 0, S("hello"), S("hello----k"));
    check(NULL, 0, S("\n"), S("----k\n"));
    check(NULL, 0, S("\r\n"), S("----k\r\n"));
    check(NULL, 0, S("a\nb\r\n\nc"), S("a----k\nb----k\r\n----k\nc----k"));
}

static void
test_binary(void **unused)
{
    (void)unused;
    check(NULL, 0, S("a\0b\n"), S("a\0b----k\n"));
    check(NULL, 0, S("\0\n"), S("\0----k\n"));
    check(NULL, 0, S("a\rb\r\n"), S("a\rb----k\r\n"));
    check(NULL, 0, S("a\r\r\n"), S("a\r----k\r\n"));
    check(NULL, 0, S("a\r"), S("a\r----k"));
    check(NULL, 0, S("\xff\x80\n"), S("\xff\x80----k\n"));
}

/* One write for a short line, so a reply never reaches the wire torn. */
static void
test_one_write(void **unused)
{
    struct fake_session s;

    (void)unused;
    assert_int_equal(fake_start(&s, plugsrv_handler_v1(&fake_host), NULL, 0),
                     PLUGSRV_OK);
    assert_int_equal(fake_lines(&s, S("hello\r\n")), PLUGSRV_OK);
    assert_int_equal(s.conn.writes, 1);
    fake_stop(&s);
}

/* Lengths around and far past the handler's stack buffer. */
static void
test_long_lines(void **unused)
{
    size_t k;
    static const size_t lens[] = { 4000, 4089, 4090, 4091, 4092, 4093,
                                   4094, 4095, 4096, 4097, 8192, 200000 };
    (void)unused;
    for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t n = lens[k];
        char *in = malloc(n + 2), *want = malloc(n + 7);

        assert_non_null(in);
        assert_non_null(want);
        memset(in, 'x', n);
        memcpy(in + n, "\r\n", 2);
        memset(want, 'x', n);
        memcpy(want + n, "----k\r\n", 7);
        check(NULL, 0, in, n + 2, want, n + 7);
        check(NULL, 0, in, n, want, n + 5);
        free(in);
        free(want);
    }
}

static void
test_custom_suffix(void **unused)
{
    static const struct fake_opt bang[] = { { "suffix", FAKE_STRING, "!!",
                                              0 } };
    static const struct fake_opt none[] = { { "suffix", FAKE_STRING, "", 0 } };
    struct fake_opt big = { "suffix", FAKE_STRING, NULL, 0 };
    char *text = malloc(10001), *want = malloc(10004);

    (void)unused;
    check(bang, 1, S("a\r\nb\nc"), S("a!!\r\nb!!\nc!!"));
    check(none, 1, S("a\r\nb\nc"), S("a\r\nb\nc"));
    /* A suffix longer than the stack buffer takes the three-write path. */
    assert_non_null(text);
    assert_non_null(want);
    memset(text, 's', 10000);
    text[10000] = '\0';
    big.str = text;
    want[0] = 'a';
    memcpy(want + 1, text, 10000);
    memcpy(want + 10001, "\r\n", 2);
    check(&big, 1, "a\r\n", 3, want, 10003);
    free(text);
    free(want);
}

static void
test_bad_options(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);
    static const struct fake_opt num[] = { { "suffix", FAKE_INT, NULL, 7 } };
    static const struct fake_opt flag[] = { { "suffix", FAKE_BOOL, NULL, 1 } };
    static const struct fake_opt typo[] = { { "sufix", FAKE_STRING, "!", 0 } };
    static const struct fake_opt extra[] = {
        { "suffix", FAKE_STRING, "!", 0 }, { "colour", FAKE_BOOL, NULL, 0 }
    };

    (void)unused;
    fake_check_refused(h, num, 1, "option \"suffix\" must be a string");
    fake_check_refused(h, flag, 1, "option \"suffix\" must be a string");
    fake_check_refused(h, typo, 1, "unknown option \"sufix\"");
    fake_check_refused(h, extra, 2, "unknown option \"colour\"");
}

static void
test_write_fails(void **unused)
{
    size_t after;
    static char big[10000];
    struct fake_session s;

    (void)unused;
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\n'; /* three pieces: body, suffix, ending */
    for (after = 0; after < 3; after++) {
        assert_int_equal(
            fake_start(&s, plugsrv_handler_v1(&fake_host), NULL, 0),
            PLUGSRV_OK);
        s.conn.fail_write = 1;
        s.conn.fail_after = after;
        assert_int_equal(fake_lines(&s, big, sizeof(big)), PLUGSRV_ERROR);
        assert_int_equal(s.conn.writes, after + 1);
        fake_stop(&s);
    }
    assert_int_equal(fake_start(&s, plugsrv_handler_v1(&fake_host), NULL, 0),
                     PLUGSRV_OK);
    s.conn.fail_write = 1;
    assert_int_equal(fake_lines(&s, S("hi\n")), PLUGSRV_ERROR);
    fake_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry),
        cmocka_unit_test(test_endings),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_one_write),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_custom_suffix),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_write_fails),
    };

    return cmocka_run_group_tests_name("suffix", tests, NULL, NULL);
}
