/*
 * test_proxy.c - the PROXY header parser (core/proxy.c): v1 and v2 headers
 * as HAProxy sends them, cut at every byte (each prefix must ask for more,
 * never be refused), LOCAL and UNKNOWN, TLVs, and malformed ones.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plugsrv.h"

static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                       0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A v2 header: cmd, fam, then body (len bytes); returns its length. */
static size_t
v2(unsigned char *out, unsigned char cmd, unsigned char fam,
   const unsigned char *body, size_t len)
{
    memcpy(out, sig, 12);
    out[12] = cmd;
    out[13] = fam;
    out[14] = (unsigned char)(len >> 8);
    out[15] = (unsigned char)len;
    memcpy(out + 16, body, len);
    return 16 + len;
}

/* Every proper prefix wants more; the whole is done, taking len bytes. */
static void
check_prefixes(const unsigned char *buf, size_t len, int versions,
               struct proxy_hdr *h)
{
    size_t i;

    for (i = 0; i < len; i++)
        assert_int_equal(proxy_parse(buf, i, versions, h), PROXY_MORE);
    assert_int_equal(proxy_parse(buf, len, versions, h), PROXY_DONE);
    assert_int_equal(h->len, len);
}

static void
addr_is(const struct sockaddr_storage *ss, const char *want)
{
    char got[ADDRSTRLEN];

    addr_format((const struct sockaddr *)ss, got, sizeof(got));
    assert_string_equal(got, want);
}

static void
test_v1_tcp4(void **state)
{
    static const char h1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\n";
    unsigned char buf[128];
    struct proxy_hdr h;

    (void)state;
    memcpy(buf, h1, sizeof(h1) - 1);
    memcpy(buf + sizeof(h1) - 1, "data", 4);
    check_prefixes(buf, sizeof(h1) - 1, PROXY_V1, &h);
    /* What follows the header is not the parser's. */
    assert_int_equal(proxy_parse(buf, sizeof(h1) + 3, PROXY_ANY, &h),
                     PROXY_DONE);
    assert_int_equal(h.len, sizeof(h1) - 1);
    assert_false(h.local);
    addr_is(&h.src, "192.0.2.1:5000");
    addr_is(&h.dst, "198.51.100.2:80");
}

static void
test_v1_tcp6_and_unknown(void **state)
{
    static const char h6[] = "PROXY TCP6 2001:db8::1 ::1 65535 1\r\n";
    static const char unk[] = "PROXY UNKNOWN ffff::1 ::1 1 2\r\n";
    static const char unk2[] = "PROXY UNKNOWN\r\n";
    struct proxy_hdr h;

    (void)state;
    check_prefixes((const unsigned char *)h6, sizeof(h6) - 1, PROXY_ANY, &h);
    addr_is(&h.src, "[2001:db8::1]:65535");
    addr_is(&h.dst, "[::1]:1");
    check_prefixes((const unsigned char *)unk, sizeof(unk) - 1, PROXY_V1, &h);
    assert_true(h.local);
    check_prefixes((const unsigned char *)unk2, sizeof(unk2) - 1, PROXY_V1,
                   &h);
    assert_true(h.local);
}

static void
test_v1_bad(void **state)
{
    static const char *const bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",       /* no CR */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", /* port */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",       /* missing port */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",   /* extra field */
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",    /* double space */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",    /* trailing space */
        "PROXY TCP4 ::1 ::1 1 2\r\n",             /* family */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",     /* family */
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",     /* protocol */
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",    /* sign */
        "PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n",   /* address */
        "PROXY \r\n",
        "PROXY\r\n",
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "GET / HTTP/1.0\r\n",
        "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",
    };
    char longline[200];
    struct proxy_hdr h;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(proxy_parse((const unsigned char *)bad[i],
                                     strlen(bad[i]), PROXY_ANY, &h),
                         PROXY_BAD);
    /* 107 bytes without a line end can no longer be a v1 header. */
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "PROXY ", 6);
    assert_int_equal(proxy_parse((unsigned char *)longline, 106, PROXY_V1, &h),
                     PROXY_MORE);
    assert_int_equal(proxy_parse((unsigned char *)longline, 107, PROXY_V1, &h),
                     PROXY_BAD);
    /* A v2 header where only v1 is allowed, and the reverse. */
    assert_int_equal(proxy_parse(sig, 12, PROXY_V1, &h), PROXY_BAD);
    assert_int_equal(
        proxy_parse((const unsigned char *)"PROXY ", 6, PROXY_V2, &h),
        PROXY_BAD);
}

static void
test_v2_tcp4_tlvs(void **state)
{
    unsigned char body[64], buf[128];
    struct proxy_hdr h;
    size_t n;

    (void)state;
    memcpy(body, "\xc0\x00\x02\x01\x7f\x00\x00\x01\x13\x88\x00\x50", 12);
    /* PP2_TYPE_ALPN "h2", then an empty PP2_TYPE_NOOP */
    memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x00", 8);
    n = v2(buf, 0x21, 0x11, body, 20);
    check_prefixes(buf, n, PROXY_V2, &h);
    addr_is(&h.src, "192.0.2.1:5000");
    addr_is(&h.dst, "127.0.0.1:80");
    /* A TLV longer than what is left, or a TLV cut short. */
    n = v2(buf, 0x21, 0x11, body, 19);
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_BAD);
    n = v2(buf, 0x21, 0x11, body, 14);
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_BAD);
    /* An address block too short for its family. */
    n = v2(buf, 0x21, 0x11, body, 11);
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_BAD);
}

static void
test_v2_tcp6_local_unspec(void **state)
{
    unsigned char body[64], buf[128];
    struct proxy_hdr h;
    size_t n;

    (void)state;
    memset(body, 0, sizeof(body));
    inet_pton(AF_INET6, "2001:db8::7", body);
    inet_pton(AF_INET6, "::1", body + 16);
    body[32] = 0x04; /* port 1234 */
    body[33] = 0xd2;
    body[35] = 9;
    n = v2(buf, 0x21, 0x21, body, 36);
    check_prefixes(buf, n, PROXY_ANY, &h);
    addr_is(&h.src, "[2001:db8::7]:1234");
    addr_is(&h.dst, "[::1]:9");
    /* LOCAL, as health checks send it: no addresses, or ignored ones. */
    n = v2(buf, 0x20, 0x00, body, 0);
    check_prefixes(buf, n, PROXY_V2, &h);
    assert_true(h.local);
    n = v2(buf, 0x20, 0x11, body, 12);
    check_prefixes(buf, n, PROXY_V2, &h);
    assert_true(h.local);
    /* PROXY over UNSPEC or a UNIX socket: the connection's addresses. */
    n = v2(buf, 0x21, 0x00, body, 0);
    check_prefixes(buf, n, PROXY_V2, &h);
    assert_true(h.local);
    n = v2(buf, 0x21, 0x31, body, 0);
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_DONE);
    assert_true(h.local);
}

static void
test_v2_bad(void **state)
{
    unsigned char body[16] = { 0 }, buf[64];
    struct proxy_hdr h;
    size_t n;

    (void)state;
    n = v2(buf, 0x11, 0x11, body, 12); /* version 1 in a v2 header */
    assert_int_equal(proxy_parse(buf, 13, PROXY_V2, &h), PROXY_BAD);
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_BAD);
    n = v2(buf, 0x22, 0x11, body, 12); /* command 2 */
    assert_int_equal(proxy_parse(buf, n, PROXY_V2, &h), PROXY_BAD);
    n = v2(buf, 0x21, 0x11, body, 12);
    buf[7] = 'X'; /* signature */
    assert_int_equal(proxy_parse(buf, 8, PROXY_V2, &h), PROXY_BAD);
    assert_int_equal(proxy_parse(buf, 0, PROXY_V2, &h), PROXY_MORE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4),
        cmocka_unit_test(test_v1_tcp6_and_unknown),
        cmocka_unit_test(test_v1_bad),
        cmocka_unit_test(test_v2_tcp4_tlvs),
        cmocka_unit_test(test_v2_tcp6_local_unspec),
        cmocka_unit_test(test_v2_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
