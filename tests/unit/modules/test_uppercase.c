/*
 * test_uppercase.c - unit tests of modules/uppercase.c against the fake
 * host: the mapping of all 256 byte values, input longer than its stack
 * buffer, and write failure on any chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

/* The expected mapping, written independently of the handler's. */
static char
expect_upper(unsigned char c)
{
    return (char)(c >= 0x61 && c <= 0x7a ? c - 0x20 : c);
}

static void
upper_start(struct fake_session *s)
{
    assert_int_equal(fake_start(s, plugsrv_handler_v1(&fake_host), NULL, 0),
                     PLUGSRV_OK);
}

static void
test_entry(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);

    (void)unused;
    assert_non_null(h);
    assert_int_equal(h->size, sizeof(plugsrv_handler));
    assert_int_equal(h->abi_major, PLUGSRV_ABI_MAJOR);
    assert_string_equal(h->name, "uppercase");
    assert_int_equal(h->mode, PLUGSRV_MODE_STREAM);
}

static void
test_all_bytes(void **unused)
{
    int i;
    char in[256], want[256];
    struct fake_session s;

    (void)unused;
    for (i = 0; i < 256; i++) {
        in[i] = (char)i;
        want[i] = expect_upper((unsigned char)i);
    }
    upper_start(&s);
    assert_int_equal(fake_stream(&s, in, sizeof(in), sizeof(in)), PLUGSRV_OK);
    assert_int_equal(s.conn.len, sizeof(want));
    assert_memory_equal(s.conn.out, want, sizeof(want));
    fake_stop(&s);
}

static void
test_text(void **unused)
{
    static const char in[] = "Hello, world! caf\xc3\xa9 z{`a@\r\n";
    static const char want[] = "HELLO, WORLD! CAF\xc3\xa9 Z{`A@\r\n";
    struct fake_session s;

    (void)unused;
    upper_start(&s);
    assert_int_equal(fake_stream(&s, in, sizeof(in) - 1, 1), PLUGSRV_OK);
    assert_int_equal(s.conn.len, sizeof(want) - 1);
    assert_memory_equal(s.conn.out, want, sizeof(want) - 1);
    fake_stop(&s);
}

/* Eight bytes at a time, then the tail: every length and alignment, with
 * bytes from all 256 values (neighbours in a word must not disturb each
 * other). */
static void
test_words_and_tails(void **unused)
{
    char in[64], want[64];
    struct fake_session s;
    size_t off, len, i;
    unsigned seed = 12345;

    (void)unused;
    for (off = 0; off < 8; off++) {
        for (len = 0; len + off <= sizeof(in); len++) {
            for (i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                in[off + i] = (char)(seed >> 16);
                want[i] = expect_upper((unsigned char)in[off + i]);
            }
            upper_start(&s);
            assert_int_equal(fake_stream(&s, in + off, len, len), PLUGSRV_OK);
            assert_int_equal(s.conn.len, len);
            if (len > 0)
                assert_memory_equal(s.conn.out, want, len);
            fake_stop(&s);
        }
    }
}

/* More than the handler's buffer in one call: written in chunks. */
static void
test_large(void **unused)
{
    size_t i;
    size_t len = 200000;
    char *in = malloc(len), *want = malloc(len);
    struct fake_session s;

    (void)unused;
    assert_non_null(in);
    assert_non_null(want);
    for (i = 0; i < len; i++) {
        in[i] = (char)(i * 31);
        want[i] = expect_upper((unsigned char)in[i]);
    }
    upper_start(&s);
    assert_int_equal(fake_stream(&s, in, len, len), PLUGSRV_OK);
    assert_int_equal(s.conn.len, len);
    assert_memory_equal(s.conn.out, want, len);
    assert_true(s.conn.writes > 1);
    fake_stop(&s);
    free(in);
    free(want);
}

static void
test_write_fails(void **unused)
{
    size_t after;
    static char in[200000];
    struct fake_session s;

    (void)unused;
    memset(in, 'a', sizeof(in));
    for (after = 0; after < 3; after++) {
        upper_start(&s);
        s.conn.fail_write = 1;
        s.conn.fail_after = after;
        assert_int_equal(fake_stream(&s, in, sizeof(in), sizeof(in)),
                         PLUGSRV_ERROR);
        /* It stops at the first failure instead of writing on. */
        assert_int_equal(s.conn.writes, after + 1);
        fake_stop(&s);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry), cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_text),  cmocka_unit_test(test_words_and_tails),
        cmocka_unit_test(test_large), cmocka_unit_test(test_write_fails),
    };

    return cmocka_run_group_tests_name("uppercase", tests, NULL, NULL);
}
