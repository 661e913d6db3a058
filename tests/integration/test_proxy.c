/*
 * test_proxy.c - listeners with proxy_protocol: v1 and v2 headers (with
 * TLVs, cut into 1-byte writes, with data right behind them), LOCAL and
 * UNKNOWN served as the balancer, the client's address everywhere
 * (host->peer_addr(), host->local_addr(), peer= and via= in the log),
 * each refusal (proxy-untrusted, proxy-bad, proxy-timeout), allow/deny
 * and max_per_source applied to the client the header names, and the
 * config errors of the new keys.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const unsigned char v2sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                         0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A v2 PROXY header for TCP over IPv4 from src:sport to dst:dport, with
 * tlvs (tlen bytes) after the addresses; its length. */
static size_t
v2_tcp4(unsigned char *out, const char *src, int sport, const char *dst,
        int dport, const void *tlvs, size_t tlen)
{
    size_t body = 12 + tlen;

    memcpy(out, v2sig, 12);
    out[12] = 0x21;
    out[13] = 0x11;
    out[14] = (unsigned char)(body >> 8);
    out[15] = (unsigned char)body;
    inet_pton(AF_INET, src, out + 16);
    inet_pton(AF_INET, dst, out + 20);
    out[24] = (unsigned char)(sport >> 8);
    out[25] = (unsigned char)sport;
    out[26] = (unsigned char)(dport >> 8);
    out[27] = (unsigned char)dport;
    memcpy(out + 28, tlvs, tlen);
    return 16 + body;
}

static void
start(struct hs *h, int port, const char *extra)
{
    hs_write_config(
        h,
        "{ \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"%s\",\n"
        "    \"name\": \"px\", \"proxy_protocol\": \"any\",\n"
        "    \"proxy_trusted\": [\"127.0.0.1\"]%s } ] }\n",
        port, TEST_MODULE("peeraddr"), extra);
    assert_int_equal(hs_start_ready(h), 0);
}

/* Sends hdr (in chunks of chunk bytes) and then data; expects the
 * handler's first line, then data back. */
static void
expect_served(int port, const void *hdr, size_t len, size_t chunk,
              const char *first)
{
    char want[512], got[512];
    size_t n = strlen(first) + 5;
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_send_all(fd, hdr, len, chunk, HS_IO_MS), 0);
    assert_int_equal(hs_send_str(fd, "data\n"), 0);
    snprintf(want, sizeof(want), "%sdata\n", first);
    assert_int_equal(hs_recv_n(fd, got, n, HS_IO_MS), (ssize_t)n);
    got[n] = '\0';
    assert_string_equal(got, want);
    close(fd);
}

static void
test_v1_v2(void **state)
{
    static const char v1[] = "PROXY TCP4 192.0.2.1 198.51.100.2 5000 80\r\n";
    static const char v16[] = "PROXY TCP6 2001:db8::5 2001:db8::6 7 8\r\n";
    /* ALPN "h2", authority "example.com", NOOP */
    static const char tlvs[] = "\x01\x00\x02h2\x02\x00\x0b"
                               "example.com\x04\x00\x00";
    struct hs *h = *state;
    unsigned char v2[128];
    char line[512];
    size_t n;
    int port = hs_port();

    start(h, port, "");
    /* The header and the first data in one segment. */
    expect_served(port, v1, strlen(v1), 0,
                  "peer=192.0.2.1:5000 local=198.51.100.2:80 ip=192.0.2.1 "
                  "port=5000 lip=198.51.100.2 lport=80\n");
    expect_served(port, v16, strlen(v16), 3,
                  "peer=[2001:db8::5]:7 local=[2001:db8::6]:8 ip=2001:db8::5 "
                  "port=7 lip=2001:db8::6 lport=8\n");
    /* v2, one byte per write, TLVs skipped. */
    n = v2_tcp4(v2, "203.0.113.9", 40000, "127.0.0.1", port, tlvs,
                sizeof(tlvs) - 1);
    snprintf(line, sizeof(line),
             "peer=203.0.113.9:40000 local=127.0.0.1:%d ip=203.0.113.9 "
             "port=40000 lip=127.0.0.1 lport=%d\n",
             port, port);
    expect_served(port, v2, n, 1, line);

    /* The log names the client, and the balancer as via=, on every line. */
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ",
                                 "peer=203.0.113.9:40000 via=127.0.0.1:",
                                 "reason=ok", NULL),
                     0);
    assert_int_equal(hs_log_count(h, ": accept ", "listener=px",
                                  "peer=192.0.2.1:5000 via=127.0.0.1:", NULL),
                     1);
    assert_int_equal(hs_log_count(h, ": handler ", "peeraddr",
                                  "peer=192.0.2.1:5000 via=127.0.0.1:", NULL),
                     1);
    assert_int_equal(
        hs_log_count(h, ": exit ", "peer=[2001:db8::5]:7 via=", NULL), 1);
    assert_int_equal(hs_log_count(h, ": refuse ", NULL), 0);
    h->passed = 1;
}

/* Health checks: v2 LOCAL and v1 UNKNOWN are served as the balancer. */
static void
test_local_unknown(void **state)
{
    static const unsigned char local[16] = { 0x0d, 0x0a, 0x0d, 0x0a,
                                             0x00, 0x0d, 0x0a, 0x51,
                                             0x55, 0x49, 0x54, 0x0a,
                                             0x20, 0x00, 0x00, 0x00 };
    static const char unknown[] = "PROXY UNKNOWN\r\n";
    struct hs *h = *state;
    char got[256];
    ssize_t n;
    int port = hs_port(), fd, i;

    start(h, port, "");
    for (i = 0; i < 2; i++) {
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        if (i == 0)
            assert_int_equal(
                hs_send_all(fd, local, sizeof(local), 0, HS_IO_MS), 0);
        else
            assert_int_equal(hs_send_str(fd, unknown), 0);
        n = hs_recv_n(fd, got, 15, HS_IO_MS);
        assert_int_equal(n, 15);
        got[n] = '\0';
        assert_string_equal(got, "peer=127.0.0.1:");
        close(fd);
    }
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, ": exit ", "listener=px",
                                 "peer=127.0.0.1:", NULL),
                     0);
    assert_int_equal(hs_log_count(h, ": accept ", "via=", NULL), 0);
    h->passed = 1;
}

/* The connection must be closed unserved, and logged with reason. */
static void
expect_refused(struct hs *h, int fd, const char *reason)
{
    char buf[64];

    assert_true(fd >= 0);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    snprintf(buf, sizeof(buf), "reason=%s", reason);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": refuse ", "listener=px", buf, NULL), 0);
}

static void
test_refusals(void **state)
{
    struct hs *h = *state;
    long long t0;
    int port = hs_port(), fd;

    start(h, port, ", \"proxy_timeout\": 1");
    /* Not a trusted balancer: closed by the parent, never forked for. */
    fd = hs_connect_from("127.0.0.2", "127.0.0.1", port, HS_IO_MS);
    expect_refused(h, fd, "proxy-untrusted");
    assert_int_equal(hs_log_count(h, ": refuse ", "peer=127.0.0.2:",
                                  "reason=proxy-untrusted", NULL),
                     1);
    /* Not a header. */
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    hs_send_str(fd, "GET / HTTP/1.0\r\n\r\n");
    expect_refused(h, fd, "proxy-bad");
    /* A v1 header with a bad port. */
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    hs_send_str(fd, "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n");
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    /* Half a header, then silence: closed after proxy_timeout (1 s). */
    t0 = hs_now_ms();
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    hs_send_str(fd, "PROXY TCP4 1.2.3.4 ");
    expect_refused(h, fd, "proxy-timeout");
    assert_true(hs_now_ms() - t0 >= 900);
    assert_int_equal(
        hs_log_count(h, ": refuse ", "reason=proxy-bad", "pid=", NULL), 2);
    /* None of them reached the handler, none was accepted. */
    assert_int_equal(hs_log_count(h, ": accept ", NULL), 0);
    assert_int_equal(hs_log_count(h, ": handler ", NULL), 0);
    assert_int_equal(hs_log_count(h, ": exit ", NULL), 0);
    h->passed = 1;
}

/* Opens a connection with a v1 header from client src; the fd, once the
 * handler has answered. */
static int
open_as(int port, const char *src)
{
    char hdr[128], got[64];
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    snprintf(hdr, sizeof(hdr), "PROXY TCP4 %s 127.0.0.1 1111 %d\r\n", src,
             port);
    if (fd < 0 || hs_send_str(fd, hdr) != 0 ||
        hs_recv_n(fd, got, 5, HS_IO_MS) != 5) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void
test_rules_apply_to_client(void **state)
{
    struct hs *h = *state;
    char hdr[128];
    int port = hs_port(), a, b, c;

    start(h, port,
          ", \"deny\": [\"192.0.2.66\"], \"max_per_source\": 1,"
          " \"allow\": [\"192.0.2.0/24\"]");
    /* The balancer is 127.0.0.1: were the rules applied to it, nothing
     * would be served at all. */
    a = open_as(port, "192.0.2.7");
    assert_true(a >= 0);
    /* The same client again while its first connection is open. */
    b = hs_connect("127.0.0.1", port, HS_IO_MS);
    snprintf(hdr, sizeof(hdr), "PROXY TCP4 192.0.2.7 127.0.0.1 2222 %d\r\n",
             port);
    hs_send_str(b, hdr);
    assert_int_equal(hs_wait_closed(b, HS_IO_MS), 1);
    close(b);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": refuse ",
                                 "peer=192.0.2.7:2222 via=127.0.0.1:",
                                 "reason=per_source", NULL),
                     0);
    /* Another client is served meanwhile. */
    c = open_as(port, "192.0.2.8");
    assert_true(c >= 0);
    close(c);
    /* Denied, and not allowed. */
    b = hs_connect("127.0.0.1", port, HS_IO_MS);
    hs_send_str(b, "PROXY TCP4 192.0.2.66 127.0.0.1 1 2\r\n");
    assert_int_equal(hs_wait_closed(b, HS_IO_MS), 1);
    close(b);
    b = hs_connect("127.0.0.1", port, HS_IO_MS);
    hs_send_str(b, "PROXY TCP4 198.51.100.1 127.0.0.1 1 2\r\n");
    assert_int_equal(hs_wait_closed(b, HS_IO_MS), 1);
    close(b);
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, ": refuse ", "reason=acl",
                                 "via=127.0.0.1:", NULL),
                     0);
    /* Once the first is closed, its client is let in again. */
    close(a);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "peer=192.0.2.7:1111", NULL),
        0);
    a = open_as(port, "192.0.2.7");
    assert_true(a >= 0);
    close(a);
    assert_int_equal(hs_log_count(h, ": handler ", "192.0.2.66", NULL), 0);
    h->passed = 1;
}

/* One bad config: exit 1 and one stderr line naming file, key and fault. */
static void
expect_config_error(struct hs *h, const char *listener, const char *want)
{
    const char *argv[] = { "-t", "-c", h->conf, NULL };
    int st;

    hs_write_config(h,
                    "{ \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"%s\"%s } ] }\n",
                    hs_port(), TEST_MODULE("peeraddr"), listener);
    st = hs_run(h, HS_EXIT_MS, argv);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    if (strstr(h->err, h->conf) == NULL || strstr(h->err, want) == NULL)
        fail_msg("stderr \"%s\" lacks \"%s\"", h->err, want);
}

static void
test_config_errors(void **state)
{
    struct hs *h = *state;

    expect_config_error(
        h, ", \"proxy_protocol\": \"v3\", \"proxy_trusted\": []",
        "listeners[0].proxy_protocol: must be \"v1\", \"v2\" or \"any\"");
    expect_config_error(
        h, ", \"proxy_protocol\": \"v2\"",
        "listeners[0].proxy_protocol: needs \"proxy_trusted\"");
    expect_config_error(
        h, ", \"proxy_trusted\": [\"127.0.0.1\"]",
        "listeners[0].proxy_trusted: needs \"proxy_protocol\"");
    expect_config_error(h,
                        ", \"proxy_protocol\": \"v1\", \"proxy_trusted\": "
                        "[\"127.0.0.1\", \"10.0.0.0/33\"]",
                        "listeners[0].proxy_trusted[1]: \"10.0.0.0/33\": "
                        "prefix length must be 0 to 32");
    expect_config_error(h,
                        ", \"proxy_protocol\": \"v1\", \"proxy_trusted\": "
                        "\"127.0.0.1\"",
                        "listeners[0].proxy_trusted: must be an array");
    expect_config_error(h,
                        ", \"proxy_protocol\": \"any\", \"proxy_trusted\": "
                        "[\"::1\"], \"proxy_timeout\": 0",
                        "listeners[0].proxy_timeout: must be an integer");
    expect_config_error(h,
                        ", \"proxy_protocol\": \"any\", \"proxy_trusted\": "
                        "[\"::1\"], \"mode\": \"prefork\"",
                        "listeners[0].proxy_protocol: needs \"mode\": "
                        "\"fork\"");
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v1_v2, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_local_unknown, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_rules_apply_to_client, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, hs_setup,
                                        hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
