/*
 * test_addr.c - addresses as the log and handlers show them
 * (core/addr.c): IPv4 formatted by hand, so every octet and port width,
 * IPv6 in brackets, and cutting to the buffer as snprintf() would.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugsrv.h"

static void
check(const char *host, int port, size_t len, const char *want)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char got[ADDRSTRLEN + 8];

    memset(got, 'x', sizeof(got));
    assert_int_equal(addr_parse(host, port, &ss, &sslen), 0);
    addr_format((struct sockaddr *)&ss, got, len);
    assert_string_equal(got, want);
}

static void
test_v4(void **state)
{
    (void)state;
    check("127.0.0.1", 50112, ADDRSTRLEN, "127.0.0.1:50112");
    check("0.0.0.0", 0, ADDRSTRLEN, "0.0.0.0:0");
    check("255.255.255.255", 65535, ADDRSTRLEN, "255.255.255.255:65535");
    check("10.20.3.9", 80, ADDRSTRLEN, "10.20.3.9:80");
}

/* Every octet and port against snprintf's own rendering. */
static void
test_v4_every_value(void **state)
{
    char host[32], want[64];
    int i;

    (void)state;
    for (i = 0; i < 256; i++) {
        snprintf(host, sizeof(host), "%d.%d.%d.%d", i, 255 - i, i / 2, 7);
        snprintf(want, sizeof(want), "%s:%d", host, i * 257);
        check(host, i * 257, ADDRSTRLEN, want);
    }
}

static void
test_v6(void **state)
{
    (void)state;
    check("::1", 50112, ADDRSTRLEN, "[::1]:50112");
    check("2001:db8::ff00:42:8329", 443, ADDRSTRLEN,
          "[2001:db8::ff00:42:8329]:443");
    check("::ffff:127.0.0.1", 9, ADDRSTRLEN, "[::ffff:127.0.0.1]:9");
}

/* Cut to len - 1 bytes and a NUL, as snprintf() does. */
static void
test_cut(void **state)
{
    size_t len;
    char want[64];

    (void)state;
    for (len = 1; len <= 16; len++) {
        snprintf(want, len, "%s", "127.0.0.1:50112");
        check("127.0.0.1", 50112, len, want);
        snprintf(want, len, "%s", "[::1]:50112");
        check("::1", 50112, len, want);
    }
}

static void
test_unknown_family(void **state)
{
    struct sockaddr sa;
    char got[ADDRSTRLEN];

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNIX;
    addr_format(&sa, got, sizeof(got));
    assert_string_equal(got, "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4),
        cmocka_unit_test(test_v4_every_value),
        cmocka_unit_test(test_v6),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_unknown_family),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
