/*
 * test_echo.c - unit tests of modules/echo.c against the fake host: byte
 * exactness over all 256 values, any piece size, and write failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static void
echo_start(struct fake_session *s)
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
    assert_int_equal(h->abi_minor, PLUGSRV_ABI_MINOR);
    assert_string_equal(h->name, "echo");
    assert_int_equal(h->mode, PLUGSRV_MODE_STREAM);
    assert_non_null(h->data);
}

static void
test_all_bytes(void **unused)
{
    int i;
    size_t p;
    static const size_t pieces[] = { 1, 3, 256 };
    char in[256];

    (void)unused;
    for (i = 0; i < 256; i++)
        in[i] = (char)i;
    for (p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
        struct fake_session s;

        echo_start(&s);
        assert_int_equal(fake_stream(&s, in, sizeof(in), pieces[p]),
                         PLUGSRV_OK);
        assert_int_equal(s.conn.len, sizeof(in));
        assert_memory_equal(s.conn.out, in, sizeof(in));
        assert_false(s.conn.closed);
        fake_stop(&s);
    }
}

static void
test_large(void **unused)
{
    size_t i;
    size_t len = 1 << 20;
    char *in = malloc(len);
    struct fake_session s;

    (void)unused;
    assert_non_null(in);
    for (i = 0; i < len; i++)
        in[i] = (char)(i * 7 + (i >> 8));
    echo_start(&s);
    assert_int_equal(fake_stream(&s, in, len, 65536), PLUGSRV_OK);
    assert_int_equal(s.conn.len, len);
    assert_memory_equal(s.conn.out, in, len);
    fake_stop(&s);
    free(in);
}

static void
test_write_fails(void **unused)
{
    struct fake_session s;

    (void)unused;
    echo_start(&s);
    s.conn.fail_write = 1;
    assert_int_equal(fake_stream(&s, "hello", 5, 5), PLUGSRV_ERROR);
    assert_int_equal(s.conn.len, 0);
    fake_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry),
        cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_write_fails),
    };

    return cmocka_run_group_tests_name("echo", tests, NULL, NULL);
}
