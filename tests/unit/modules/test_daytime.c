/*
 * test_daytime.c - unit tests of modules/daytime.c against the fake host:
 * one line at open(), then PLUGSRV_CLOSE; options checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake_host.h"

static void
test_one_line_then_close(void **unused)
{
    static const struct fake_opt utc[] = { { "utc", FAKE_BOOL, NULL, 1 } };
    struct fake_session s;
    char year[8], *line;
    time_t now = time(NULL);
    struct tm tm;

    (void)unused;
    assert_int_equal(fake_start(&s, plugsrv_handler_v1(&fake_host), utc, 1),
                     PLUGSRV_CLOSE);
    assert_true(s.conn.len > 2);
    line = strndup(s.conn.out, s.conn.len);
    assert_non_null(line);
    /* "Saturday, November 28, 2026 01:50:02 UTC\r\n" */
    assert_non_null(strstr(line, " UTC\r\n"));
    assert_ptr_equal(strchr(line, '\n'), line + s.conn.len - 1);
    gmtime_r(&now, &tm);
    strftime(year, sizeof(year), "%Y", &tm);
    assert_non_null(strstr(line, year));
    free(line);
    fake_stop(&s);
}

static void
test_refuses_bad_options(void **unused)
{
    static const struct fake_opt typo[] = { { "utx", FAKE_BOOL, NULL, 1 } };
    static const struct fake_opt type[] = { { "utc", FAKE_STRING, "yes", 0 } };
    const plugsrv_handler *h = plugsrv_handler_v1(&fake_host);

    (void)unused;
    fake_check_refused(h, typo, 1, "unknown option \"utx\"");
    fake_check_refused(h, type, 1, "option \"utc\" must be a boolean");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_then_close),
        cmocka_unit_test(test_refuses_bad_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
