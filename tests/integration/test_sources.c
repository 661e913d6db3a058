/*
 * test_sources.c - per-source limits: max_per_source (reason=per_source),
 * source_prefix_v4 (a /24 is one source), rate_per_source (reason=rate,
 * and the listener serves that source again once its bucket refills),
 * counts kept across a reload, prefork listeners; and a flood from
 * 100,000 distinct addresses (127.1.0.0 and up) that does not grow the
 * parent: the source table has a fixed size.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define FLOOD_SOURCES 100000

static const char *listener_fmt =
    "{ \"modules_dir\": \"%s\", %s\n"
    "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,\n"
    "    \"module\": \"echo\", %s } ] }\n";

static void
config(struct hs *h, const char *top, int port, const char *keys)
{
    assert_int_equal(
        hs_write_config(h, listener_fmt, PLUGSRV_MODULE_DIR, top, port, keys),
        0);
}

/* A client from src, served: its socket, still open. */
static int
open_served(const char *src, int port)
{
    int fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hi\n", "hi\n"), 0);
    return fd;
}

/* A client from src that is closed without a reply; the log says why. */
static void
refused(struct hs *h, const char *src, int port, const char *reason, int nth)
{
    char peer[64], why[64], buf[8];
    int fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);

    if (fd >= 0) {
        hs_send_str(fd, "hi\n");
        assert_true(hs_recv_eof(fd, buf, sizeof(buf), HS_IO_MS) <= 0);
        close(fd);
    }
    snprintf(peer, sizeof(peer), "peer=%s:", src);
    snprintf(why, sizeof(why), "reason=%s", reason);
    assert_int_equal(
        hs_wait_log(h, nth, HS_IO_MS, "]: refuse ", peer, why, NULL), 0);
}

static void
test_max_per_source(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd[3], other, i;

    config(h, "", port, "\"max_per_source\": 3");
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < 3; i++)
        fd[i] = open_served("127.0.0.2", port);
    refused(h, "127.0.0.2", port, "per_source", 1);
    refused(h, "127.0.0.2", port, "per_source", 2);
    other = open_served("127.0.0.3", port); /* everyone else is served */
    /* One closes: the source may open one again, and only one. */
    close(fd[0]);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "peer=127.0.0.2:", NULL), 0);
    fd[0] = open_served("127.0.0.2", port);
    refused(h, "127.0.0.2", port, "per_source", 3);
    for (i = 0; i < 3; i++)
        close(fd[i]);
    close(other);
    h->passed = 1;
}

/* source_prefix_v4 24: 127.0.2.1 and 127.0.2.2 are one source. */
static void
test_source_prefix(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), a, b, c;

    config(h, "\"source_prefix_v4\": 24,", port, "\"max_per_source\": 2");
    assert_int_equal(hs_start_ready(h), 0);
    a = open_served("127.0.2.1", port);
    b = open_served("127.0.2.2", port);
    refused(h, "127.0.2.3", port, "per_source", 1);
    c = open_served("127.0.3.1", port);
    close(a);
    close(b);
    close(c);
    h->passed = 1;
}

/* ::1 is one source too (the only IPv6 address on loopback). */
static void
test_ipv6_source(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), a, b;
    char buf[8];

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                        "  { \"address\": \"::1\", \"port\": %d, "
                        "\"module\": \"echo\", \"max_per_source\": 1 } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    a = hs_connect("::1", port, HS_IO_MS);
    assert_true(a >= 0);
    assert_int_equal(hs_roundtrip(a, "hi\n", "hi\n"), 0);
    b = hs_connect("::1", port, HS_IO_MS);
    if (b >= 0) {
        assert_true(hs_recv_eof(b, buf, sizeof(buf), HS_IO_MS) == 0);
        close(b);
    }
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: refuse ",
                                 "peer=[::1]:", "reason=per_source", NULL),
                     0);
    close(a);
    h->passed = 1;
}

/* rate 1, burst 3: three at once, the fourth refused; another source is
 * served; the refused source is served again once a token is back (the
 * listener is never disabled, unlike xinetd's cps). */
static void
test_rate(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fd[3], i, fd4 = -1;
    long long deadline;

    config(h, "", port, "\"rate_per_source\": { \"rate\": 1, \"burst\": 3 }");
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < 3; i++) {
        fd[i] = hs_connect_from("127.0.0.2", "127.0.0.1", port, HS_IO_MS);
        assert_true(fd[i] >= 0);
    }
    refused(h, "127.0.0.2", port, "rate", 1);
    close(open_served("127.0.0.3", port));
    for (i = 0; i < 3; i++) {
        assert_int_equal(hs_roundtrip(fd[i], "hi\n", "hi\n"), 0);
        close(fd[i]);
    }
    /* A token every second: retry, bounded, until one is there. */
    deadline = hs_now_ms() + 10000;
    for (i = 0; i < 100 && hs_now_ms() < deadline && fd4 < 0; i++) {
        fd4 = hs_connect_from("127.0.0.2", "127.0.0.1", port, HS_IO_MS);
        if (fd4 >= 0 && hs_roundtrip(fd4, "hi\n", "hi\n") != 0) {
            close(fd4);
            fd4 = -1;
            poll(NULL, 0, 200); /* pacing the retries, not a wait */
        }
    }
    assert_true(fd4 >= 0);
    close(fd4);
    h->passed = 1;
}

/* Connections open when SIGHUP comes stay counted for their source; the
 * new limit applies to them. */
static void
test_reload_keeps_counts(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), a, b, c;

    config(h, "", port, "\"max_per_source\": 2");
    assert_int_equal(hs_start_ready(h), 0);
    a = open_served("127.0.0.2", port);
    b = open_served("127.0.0.2", port);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    refused(h, "127.0.0.2", port, "per_source", 1);
    config(h, "", port, "\"max_per_source\": 3");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 2, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    c = open_served("127.0.0.2", port);
    refused(h, "127.0.0.2", port, "per_source", 2);
    close(a);
    close(b);
    close(c);
    h->passed = 1;
}

/* A prefork spare takes the connection by itself; over the limit, the
 * parent ends it on the spare's report (reason=refused at its exit). */
static void
test_prefork(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), a, b;

    config(h, "", port,
           "\"mode\": \"prefork\", \"spare\": 2, \"max_per_source\": 1");
    assert_int_equal(hs_start_ready(h), 0);
    a = open_served("127.0.0.2", port);
    /* The handler may answer in the moment before the parent's SIGKILL:
     * the connection is ended all the same. */
    b = hs_connect_from("127.0.0.2", "127.0.0.1", port, HS_IO_MS);
    if (b >= 0) {
        hs_send_str(b, "hi\n");
        assert_int_equal(hs_wait_closed(b, HS_IO_MS), 1);
        close(b);
    }
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: refuse ",
                                 "peer=127.0.0.2:", "reason=per_source", NULL),
                     0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ",
                                 "peer=127.0.0.2:", "reason=refused", NULL),
                     0);
    close(open_served("127.0.0.3", port));
    close(a);
    h->passed = 1;
}

static long
rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "re")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* 127.1.0.0 + i */
static void
flood_addr(int i, char *buf, size_t len)
{
    snprintf(buf, len, "127.%d.%d.%d", 1 + (i >> 16), (i >> 8) & 0xff,
             i & 0xff);
}

/*
 * The server is full (4 sources hold its 16 connections), and 100,000
 * distinct addresses connect once each: every one is looked up in, and
 * made an entry of, the source table, then refused. The parent's RSS
 * stays where it was (a table growing per source would take 4 MB), and
 * the entries of the sources with connections open are kept: 127.0.0.2
 * still may not open a fifth.
 */
static void
test_flood_bounded(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fds[16], i, fd, opened = 0;
    char src[32], peer[48];
    long rss0, rss1;

    config(h, "\"max_connections\": 16,", port, "\"max_per_source\": 4");
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < 16; i++) {
        snprintf(src, sizeof(src), "127.0.0.%d", 2 + i / 4);
        fds[i] = open_served(src, port);
    }
    rss0 = rss_kb(h->pid);
    for (i = 0; i < FLOOD_SOURCES; i++) {
        flood_addr(i, src, sizeof(src));
        fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);
        if (fd >= 0) {
            opened++;
            close(fd);
        }
    }
    flood_addr(FLOOD_SOURCES - 1, src, sizeof(src));
    snprintf(peer, sizeof(peer), "peer=%s:", src);
    assert_int_equal(hs_wait_log(h, 1, 60000, "]: refuse ", peer,
                                 "reason=max_connections", NULL),
                     0);
    rss1 = rss_kb(h->pid);
    fprintf(stderr,
            "%d connections from distinct sources; parent RSS %ld "
            "KiB before, %ld KiB after\n",
            opened, rss0, rss1);
    assert_true(opened > FLOOD_SOURCES * 9 / 10);
    assert_true(rss1 - rss0 < 1024);
    /* 127.0.0.2's entry, with 4 open, is still there: with room in the
     * pool again, its fifth is refused for its source. */
    close(fds[4]);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: exit ", "peer=127.0.0.3:", NULL), 0);
    refused(h, "127.0.0.2", port, "per_source", 1);
    fds[4] = open_served("127.0.0.3", port);
    for (i = 0; i < 16; i++)
        close(fds[i]);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_max_per_source),      T(test_source_prefix),
        T(test_ipv6_source),         T(test_rate),
        T(test_reload_keeps_counts), T(test_prefork),
        T(test_flood_bounded),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
