/*
 * test_bundled.c - the four bundled handlers, byte-exact, through the real
 * binary on 127.0.0.1 and on ::1: binary payloads of 4 MiB sent while the
 * reply is read, 1-byte writes, a CRLF split across writes, a slow reader,
 * the last line without a newline, quit's exact match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BIG (4 * 1024 * 1024)

/* Listener ports, [0] on 127.0.0.1 and [1] on ::1. */
static int echo_port[2], upper_port[2], suffix_port[2], quit_port[2];
static const char *const addrs[2] = { "127.0.0.1", "::1" };
static int npassed;

static int
group_setup(void **state)
{
    struct hs *h = hs_new();
    int i;

    if (h == NULL)
        return -1;
    for (i = 0; i < 2; i++) {
        echo_port[i] = hs_port();
        upper_port[i] = hs_port();
        suffix_port[i] = hs_port();
        quit_port[i] = hs_port();
    }
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"idle_timeout\": 60,\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"echo\",\n"
        "    \"name\": \"echo6\" },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
        "\"uppercase\" },\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"uppercase\",\n"
        "    \"name\": \"uppercase6\" },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"suffix\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"suffix\",\n"
        "    \"name\": \"suffix6\", \"options\": { \"suffix\": \"----k\" } "
        "},\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"quit\" "
        "},\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"quit\",\n"
        "    \"name\": \"quit6\", \"options\": { \"word\": \"quit\" } } ] }\n",
        PLUGSRV_MODULE_DIR, echo_port[0], echo_port[1], upper_port[0],
        upper_port[1], suffix_port[0], suffix_port[1], quit_port[0],
        quit_port[1]);
    if (hs_start_ready(h) < 0) {
        hs_free(h); /* shows the log */
        return -1;
    }
    *state = h;
    return 0;
}

static int
group_teardown(void **state)
{
    struct hs *h = *state;

    if (h == NULL)
        return 0;
    h->passed = npassed == 9;
    hs_free(h);
    return 0;
}

/* 4 MiB of every byte value in a fixed pseudo-random order. */
static unsigned char *
payload(size_t len)
{
    unsigned char *p = malloc(len);
    uint32_t x = 2463534242u;
    size_t i;

    assert_non_null(p);
    for (i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

static void
to_upper(unsigned char *p, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (p[i] >= 'a' && p[i] <= 'z')
            p[i] = (unsigned char)(p[i] - 'a' + 'A');
}

/* Sends out to addr:port as x says and expects want back, then EOF. */
static void
transfer(const char *addr, int port, struct hs_xfer *x, const void *want,
         size_t wantlen)
{
    unsigned char *in = malloc(wantlen + 1);
    int fd = hs_connect(addr, port, HS_IO_MS);
    ssize_t got;

    assert_non_null(in);
    assert_true(fd >= 0);
    x->in = in;
    x->incap = wantlen + 1;
    x->shut_wr = 1;
    if (x->timeout_ms == 0)
        x->timeout_ms = 60000;
    got = hs_exchange(fd, x);
    if (got != (ssize_t)wantlen)
        fprintf(stderr, "%s port %d: got %zd bytes, want %zu\n", addr, port,
                got, wantlen);
    assert_int_equal(got, (ssize_t)wantlen);
    assert_memory_equal(in, want, wantlen);
    assert_false(x->reset);
    close(fd);
    free(in);
}

static void
test_big_binary(void **state)
{
    unsigned char *out = payload(BIG), *upper = malloc(BIG);
    int i;

    (void)state;
    assert_non_null(upper);
    memcpy(upper, out, BIG);
    to_upper(upper, BIG);
    for (i = 0; i < 2; i++) {
        struct hs_xfer x = { .out = out, .outlen = BIG };

        transfer(addrs[i], echo_port[i], &x, out, BIG);
        memset(&x, 0, sizeof(x));
        x.out = out;
        x.outlen = BIG;
        transfer(addrs[i], upper_port[i], &x, upper, BIG);
    }
    free(out);
    free(upper);
    npassed++;
}

static void
test_one_byte_writes(void **state)
{
    size_t len = 32 * 1024;
    unsigned char *out = payload(len), *upper = malloc(len);
    int i;

    (void)state;
    assert_non_null(upper);
    memcpy(upper, out, len);
    to_upper(upper, len);
    for (i = 0; i < 2; i++) {
        struct hs_xfer x = { .out = out, .outlen = len, .wchunk = 1 };

        transfer(addrs[i], echo_port[i], &x, out, len);
        memset(&x, 0, sizeof(x));
        x.out = out;
        x.outlen = len;
        x.wchunk = 1;
        x.rchunk = 1;
        transfer(addrs[i], upper_port[i], &x, upper, len);
    }
    free(out);
    free(upper);
    npassed++;
}

static void
test_slow_reader(void **state)
{
    size_t len = 1024 * 1024;
    unsigned char *out = payload(len);
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        /* 4 KiB per read and a 4 ms pause after each: the server has to
         * wait for us while its socket buffer is full. */
        struct hs_xfer x = {
            .out = out, .outlen = len, .rchunk = 4096, .rpause_ms = 4
        };

        transfer(addrs[i], echo_port[i], &x, out, len);
    }
    free(out);
    npassed++;
}

static void
test_suffix_lines(void **state)
{
    static const char in[] = "a\nb\r\n\n\r\nx\0y\rz\nlast";
    static const char want[] =
        "a----k\nb----k\r\n----k\n----k\r\nx\0y\rz----k\nlast----k";
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        struct hs_xfer x = { .out = in, .outlen = sizeof(in) - 1 };

        transfer(addrs[i], suffix_port[i], &x, want, sizeof(want) - 1);
    }
    npassed++;
}

static void
test_suffix_split_crlf(void **state)
{
    static const char in[] = "ab\r\ncd\r\n\r\nlast\r";
    static const char want[] = "ab----k\r\ncd----k\r\n----k\r\nlast\r----k";
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        /* One byte per write: every CRLF is split across two writes. */
        struct hs_xfer x = { .out = in,
                             .outlen = sizeof(in) - 1,
                             .wchunk = 1 };

        transfer(addrs[i], suffix_port[i], &x, want, sizeof(want) - 1);
    }
    npassed++;
}

static void
test_suffix_big_lines(void **state)
{
    /* 1000 lines of 1000 bytes, any byte but '\n', in 7-byte writes. */
    size_t n = 1000, linelen = 1000, i, j;
    unsigned char *in = payload(n * linelen), *want;
    size_t wlen = 0;
    int a;

    (void)state;
    want = malloc(n * (linelen + 5));
    assert_non_null(want);
    for (i = 0; i < n; i++) {
        unsigned char *line = in + i * linelen;

        for (j = 0; j + 1 < linelen; j++)
            if (line[j] == '\n')
                line[j] = 'n';
        line[linelen - 1] = '\n';
        if (linelen > 1 && line[linelen - 2] == '\r')
            line[linelen - 2] = 'r';
        memcpy(want + wlen, line, linelen - 1);
        wlen += linelen - 1;
        memcpy(want + wlen, "----k\n", 6);
        wlen += 6;
    }
    for (a = 0; a < 2; a++) {
        struct hs_xfer x = { .out = in, .outlen = n * linelen, .wchunk = 7 };

        transfer(addrs[a], suffix_port[a], &x, want, wlen);
    }
    free(in);
    free(want);
    npassed++;
}

static void
test_echo_and_upper_small(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        int fd = hs_connect(addrs[i], echo_port[i], HS_IO_MS);
        int fu = hs_connect(addrs[i], upper_port[i], HS_IO_MS);

        assert_true(fd >= 0 && fu >= 0);
        assert_int_equal(hs_roundtrip(fd, "hello\n", "hello\n"), 0);
        assert_int_equal(hs_roundtrip(fd, "x", "x"), 0);
        assert_int_equal(
            hs_roundtrip(fu, "Hello, {world}\xe9!\n", "HELLO, {WORLD}\xe9!\n"),
            0);
        close(fd);
        close(fu);
    }
    npassed++;
}

static void
test_quit(void **state)
{
    static const char in1[] = "hello\nquitter\nQUIT\n quit\nquit\nafter\n";
    static const char want1[] = "hello\nquitter\nQUIT\n quit\n";
    static const char in2[] = "a\nquit\r\nb\n";
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        struct hs_xfer x = { .out = in1, .outlen = sizeof(in1) - 1 };
        char buf[256];
        int fd;
        ssize_t n;

        /* The lines after "quit" may be reset rather than read, so the
         * end may be a reset: only the bytes matter. */
        fd = hs_connect(addrs[i], quit_port[i], HS_IO_MS);
        assert_true(fd >= 0);
        x.in = buf;
        x.incap = sizeof(buf);
        x.timeout_ms = HS_IO_MS;
        n = hs_exchange(fd, &x);
        assert_int_equal(n, (ssize_t)(sizeof(want1) - 1));
        assert_memory_equal(buf, want1, sizeof(want1) - 1);
        close(fd);

        /* A trailing '\r' is ignored; the server closes without our
         * half-close. */
        fd = hs_connect(addrs[i], quit_port[i], HS_IO_MS);
        assert_true(fd >= 0);
        memset(&x, 0, sizeof(x));
        x.out = in2;
        x.outlen = sizeof(in2) - 1;
        x.in = buf;
        x.incap = sizeof(buf);
        x.timeout_ms = HS_IO_MS;
        n = hs_exchange(fd, &x);
        assert_int_equal(n, 2);
        assert_memory_equal(buf, "a\n", 2);
        close(fd);
    }
    npassed++;
}

static void
test_quit_one_line_at_a_time(void **state)
{
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        int fd = hs_connect(addrs[i], quit_port[i], HS_IO_MS);

        assert_true(fd >= 0);
        assert_int_equal(hs_roundtrip(fd, "one\n", "one\n"), 0);
        assert_int_equal(hs_roundtrip(fd, "quitter\n", "quitter\n"), 0);
        assert_int_equal(hs_send_str(fd, "quit\n"), 0);
        assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
        close(fd);
    }
    npassed++;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_upper_small),
        cmocka_unit_test(test_big_binary),
        cmocka_unit_test(test_one_byte_writes),
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test(test_suffix_lines),
        cmocka_unit_test(test_suffix_split_crlf),
        cmocka_unit_test(test_suffix_big_lines),
        cmocka_unit_test(test_quit),
        cmocka_unit_test(test_quit_one_line_at_a_time),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
