/*
 * test_quit.c - unit tests of modules/quit.c against the fake host: which
 * lines close the connection, which are echoed, options and write failure.
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

/* Feeds in line by line; checks the final rc and everything echoed. */
static void
check(const struct fake_opt *opts, size_t count, const char *in, size_t len,
      int rc, const char *want, size_t want_len)
{
    struct fake_session s;

    assert_int_equal(
        fake_start(&s, plugsrv_handler_v1(&fake_host), opts, count),
        PLUGSRV_OK);
    assert_int_equal(fake_lines(&s, in, len), rc);
    assert_int_equal(s.conn.len, want_len);
    assert_memory_equal(s.conn.out, want, want_len);
    fake_stop(&s);
}

static void
test_entry(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);

    (void)unused;
    assert_int_equal(h->size, sizeof(plugsrv_handler));
    assert_string_equal(h->name, "quit");
    assert_int_equal(h->mode, PLUGSRV_MODE_LINE);
}

static void
test_quits(void **unused)
{
    (void)unused;
    check(NULL, 0, S("quit\n"), PLUGSRV_CLOSE, S(""));
    check(NULL, 0, S("quit\r\n"), PLUGSRV_CLOSE, S(""));
    check(NULL, 0, S("quit"), PLUGSRV_CLOSE, S(""));
    /* Lines after the quit word are never delivered. */
    check(NULL, 0, S("hello\r\nquit\nafter\n"), PLUGSRV_CLOSE, S("hello\r\n"));
    check(NULL, 0, S("a\nquit"), PLUGSRV_CLOSE, S("a\n"));
}

static void
test_echoes(void **unused)
{
    size_t i;
    static const char *lines[] = {
        "quitter\n", "QUIT\n", "Quit\n", " quit\n",    "quit \n", "qui\n",
        "\n",        "\r\n",   "quit\r", "quit\r\r\n", "xquit\n", "a\n\nb\n",
    };
    (void)unused;
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        size_t n = strlen(lines[i]);

        check(NULL, 0, lines[i], n, PLUGSRV_OK, lines[i], n);
    }
    check(NULL, 0, S("quit\0\n"), PLUGSRV_OK, S("quit\0\n"));
    check(NULL, 0, S("a\0b\nc"), PLUGSRV_OK, S("a\0b\nc"));
}

static void
test_custom_word(void **unused)
{
    static const struct fake_opt bye[] = { { "word", FAKE_STRING, "bye", 0 } };
    static const struct fake_opt two[] = { { "word", FAKE_STRING, "good bye",
                                             0 } };

    (void)unused;
    check(bye, 1, S("quit\nbye\r\nx\n"), PLUGSRV_CLOSE, S("quit\n"));
    check(bye, 1, S("byebye\nBYE\nbye"), PLUGSRV_CLOSE, S("byebye\nBYE\n"));
    check(two, 1, S("good\ngood bye\n"), PLUGSRV_CLOSE, S("good\n"));
}

static void
test_bad_options(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);
    static const struct fake_opt num[] = { { "word", FAKE_INT, NULL, 1 } };
    static const struct fake_opt flag[] = { { "word", FAKE_BOOL, NULL, 0 } };
    static const struct fake_opt empty[] = { { "word", FAKE_STRING, "", 0 } };
    static const struct fake_opt nl[] = { { "word", FAKE_STRING, "a\nb", 0 } };
    static const struct fake_opt cr[] = { { "word", FAKE_STRING, "quit\r",
                                            0 } };
    static const struct fake_opt typo[] = { { "wrod", FAKE_STRING, "x", 0 } };

    (void)unused;
    fake_check_refused(h, num, 1, "option \"word\" must be a string");
    fake_check_refused(h, flag, 1, "option \"word\" must be a string");
    fake_check_refused(h, empty, 1, "option \"word\" must not be empty");
    fake_check_refused(h, nl, 1,
                       "option \"word\" must not contain \\r or \\n");
    fake_check_refused(h, cr, 1,
                       "option \"word\" must not contain \\r or \\n");
    fake_check_refused(h, typo, 1, "unknown option \"wrod\"");
}

static void
test_write_fails(void **unused)
{
    struct fake_session s;

    (void)unused;
    assert_int_equal(fake_start(&s, plugsrv_handler_v1(&fake_host), NULL, 0),
                     PLUGSRV_OK);
    s.conn.fail_write = 1;
    assert_int_equal(fake_lines(&s, S("hello\nquit\n")), PLUGSRV_ERROR);
    assert_int_equal(s.conn.writes, 1);
    fake_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry),       cmocka_unit_test(test_quits),
        cmocka_unit_test(test_echoes),      cmocka_unit_test(test_custom_word),
        cmocka_unit_test(test_bad_options), cmocka_unit_test(test_write_fails),
    };

    return cmocka_run_group_tests_name("quit", tests, NULL, NULL);
}
