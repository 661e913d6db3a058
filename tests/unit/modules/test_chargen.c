/*
 * test_chargen.c - unit tests of modules/chargen.c against the fake host:
 * the RFC 864 pattern, writing until the queue is full and then waiting
 * for want_write()'s callback (never more), stop() ends it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

static char
pattern_at(size_t i)
{
    size_t line = (i / 74) % 95, col = i % 74;

    if (col == 72)
        return '\r';
    if (col == 73)
        return '\n';
    return (char)(' ' + (line + col) % 95);
}

static void
test_pattern_and_flow(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);
    struct fake_session s;
    size_t i, first;

    (void)unused;
    assert_int_equal(h->abi_minor, 1);
    assert_non_null(h->stop);
    memset(&s, 0, sizeof(s));
    /* A full queue at once: chargen must stop writing and ask to wait. */
    assert_int_equal(fake_start(&s, h, NULL, 0), PLUGSRV_OK);
    first = s.conn.len;
    assert_true(first > 0);
    assert_non_null(s.conn.want_fn);
    /* unbounded room: it stops after its burst, and waits all the same */
    for (i = 0; i < first; i++)
        assert_int_equal(s.conn.out[i], pattern_at(i));
    /* each drain brings more, continuing the pattern */
    assert_int_equal(fake_drain(&s), PLUGSRV_OK);
    assert_true(s.conn.len > first);
    assert_non_null(s.conn.want_fn);
    for (i = first; i < s.conn.len; i++)
        assert_int_equal(s.conn.out[i], pattern_at(i));
    assert_int_equal(h->stop(&s.conn, s.conn_state), PLUGSRV_CLOSE);
    fake_stop(&s);
}

static void
test_stops_at_again(void **unused)
{
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);
    struct fake_session s;
    size_t len;

    (void)unused;
    fake_start(&s, h, NULL, 0);
    fake_stop(&s);
    memset(&s, 0, sizeof(s));
    /* the fake's queue takes 10000 bytes, then says AGAIN */
    s.conn.room = 10000;
    assert_int_equal(h->open(&s.conn, NULL, &s.conn_state), PLUGSRV_OK);
    assert_int_equal(s.conn.agains, 1); /* asked once, then waited */
    assert_non_null(s.conn.want_fn);
    len = s.conn.len;
    assert_true(len >= 10000 && len < 10000 + 95 * 74 + 1);
    assert_int_equal(fake_drain(&s), PLUGSRV_OK);
    assert_int_equal(s.conn.agains, 2);
    assert_true(s.conn.len > len);
    free(s.conn.out);
}

static void
test_refuses_options(void **unused)
{
    static const struct fake_opt any[] = { { "width", FAKE_INT, NULL, 80 } };

    (void)unused;
    fake_check_refused(plugsrv_handler_v1(&fake_host), any, 1,
                       "unknown option \"width\"");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_and_flow),
        cmocka_unit_test(test_stops_at_again),
        cmocka_unit_test(test_refuses_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
