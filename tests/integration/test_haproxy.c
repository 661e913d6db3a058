/*
 * test_haproxy.c - scale-out behind a real HAProxy (Debian package
 * haproxy): HAProxy on loopback, mode tcp, in front of three plugsrv
 * instances that take PROXY v2 from it (send-proxy-v2, with health
 * checks, which send LOCAL). Clients bound to distinct 127.x.y.z sources
 * send requests through it and check every byte of every echo; the
 * plugsrv logs must name each client by its own address and port;
 * max_per_source must apply to a client's address; and stopping one
 * instance with SIGTERM in the middle of the load must lose no connection
 * that plugsrv accepted. HAProxy logs nothing (no "log" line) and is
 * ended by its PID.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define HAPROXY   "/usr/sbin/haproxy"
#define NINST     3
#define BATCH     12 /* connections in flight at once */
#define REQ_BYTES 3000

struct conn {
    int fd;
    char src[32]; /* the client's own address... */
    int port;     /* ...and port, as plugsrv must log them */
    char req[REQ_BYTES];
    size_t len;
    int ok;
};

struct farm {
    struct hs *inst[NINST];
    int port[NINST];
    int front;
    pid_t haproxy;
};

/* The test's farm, for the teardown to end whatever a failure left. */
static struct farm farm;

static void
farm_instance(struct farm *f, int i)
{
    struct hs *h = f->inst[i];

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": 10,\n"
        "  \"listeners\": [ { \"address\": \"127.0.0.1\",\n"
        "    \"port\": %d, \"module\": \"echo\", \"name\": \"be\",\n"
        "    \"proxy_protocol\": \"v2\",\n"
        "    \"proxy_trusted\": [\"127.0.0.1/32\"],\n"
        "    \"max_per_source\": 1 } ] }\n",
        PLUGSRV_MODULE_DIR, f->port[i]);
    assert_int_equal(hs_start_ready(h), 0);
}

/* HAProxy, as docs/haproxy.md shows it, minus what a test cannot use. */
static void
farm_haproxy(struct farm *f)
{
    const char *argv[] = { HAPROXY, "-db", "-f", NULL, NULL };
    char cfg[400], out[400];

    hs_write_file(f->inst[0], "haproxy.cfg",
                  "global\n"
                  "    nbthread 1\n"
                  "    maxconn 1000\n"
                  "defaults\n"
                  "    mode tcp\n"
                  "    timeout connect 2s\n"
                  "    timeout client 20s\n"
                  "    timeout server 20s\n"
                  "    timeout check 5s\n"
                  "    retries 3\n"
                  "    option redispatch\n"
                  "frontend front\n"
                  "    bind 127.0.0.1:%d\n"
                  "    default_backend plugsrv\n"
                  "backend plugsrv\n"
                  "    balance roundrobin\n"
                  "    default-server send-proxy-v2 check inter 200ms fall 3 "
                  "rise 1\n"
                  "    server a 127.0.0.1:%d\n"
                  "    server b 127.0.0.1:%d\n"
                  "    server c 127.0.0.1:%d\n",
                  f->front, f->port[0], f->port[1], f->port[2]);
    hs_path(f->inst[0], "haproxy.cfg", cfg, sizeof(cfg));
    hs_path(f->inst[0], "haproxy.out", out, sizeof(out));
    argv[3] = cfg;
    f->haproxy = hs_spawn(argv, out, out, NULL, NULL);
    assert_true(f->haproxy > 0);
}

/* Until HAProxy listens and has checked every instance (a LOCAL header:
 * served as the balancer, peer=127.0.0.1 without via=). */
static void
farm_wait(struct farm *f)
{
    long long end = hs_now_ms() + HS_START_MS;
    int fd = -1, i;

    while (fd < 0 && hs_now_ms() < end) {
        fd = hs_connect("127.0.0.1", f->front, 1000);
        if (fd < 0)
            poll(NULL, 0, 20); /* the bind is not ours to wait on */
    }
    assert_true(fd >= 0);
    close(fd);
    for (i = 0; i < NINST; i++)
        assert_int_equal(hs_wait_log(f->inst[i], 1, HS_START_MS, ": exit ",
                                     "listener=be", "peer=127.0.0.1:", NULL),
                         0);
}

static void
farm_end(struct farm *f)
{
    int i, st;

    if (f->haproxy > 0) {
        kill(f->haproxy, SIGKILL);
        waitpid(f->haproxy, &st, 0);
    }
    for (i = 1; i < NINST; i++) {
        if (f->inst[i] != NULL) {
            f->inst[i]->passed = f->inst[0]->passed;
            hs_free(f->inst[i]);
        }
    }
    memset(f, 0, sizeof(*f));
}

static int
farm_teardown(void **state)
{
    if (farm.inst[0] != NULL)
        farm_end(&farm);
    return hs_teardown(state);
}

/* ---- clients ---- */

static void
conn_open(struct conn *c, const struct farm *f, const char *src, int seq)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    size_t i;

    memset(c, 0, sizeof(*c));
    snprintf(c->src, sizeof(c->src), "%s", src);
    c->fd = hs_connect_from(src, "127.0.0.1", f->front, HS_IO_MS);
    assert_true(c->fd >= 0);
    assert_int_equal(getsockname(c->fd, (struct sockaddr *)&sin, &len), 0);
    c->port = ntohs(sin.sin_port);
    c->len = (size_t)snprintf(c->req, sizeof(c->req), "%s:%d #%d\n", src,
                              c->port, seq);
    for (i = c->len; i < sizeof(c->req) - 1; i++)
        c->req[i] = (char)('a' + (i * 7 + (size_t)seq) % 26);
    c->req[sizeof(c->req) - 1] = '\n';
    c->len = sizeof(c->req);
}

/* The request in one write, and the end of it. */
static void
conn_send(struct conn *c)
{
    assert_int_equal(hs_send_all(c->fd, c->req, c->len, 0, HS_IO_MS), 0);
    shutdown(c->fd, SHUT_WR);
}

/* The whole echo, byte for byte, then EOF. */
static void
conn_finish(struct conn *c)
{
    static char got[REQ_BYTES + 16];
    ssize_t n = hs_recv_eof(c->fd, got, sizeof(got), HS_IO_MS);

    c->ok = n == (ssize_t)c->len && memcmp(got, c->req, c->len) == 0;
    close(c->fd);
}

/* Across the three logs: accept lines naming this client exactly. */
static int
conn_accepts(const struct farm *f, const struct conn *c)
{
    char peer[64];
    int i, n = 0;

    snprintf(peer, sizeof(peer), "peer=%s:%d via=127.0.0.1:", c->src, c->port);
    for (i = 0; i < NINST; i++)
        n += hs_log_count(f->inst[i], ": accept ", peer, NULL);
    return n;
}

/* The same, once the parents have written their lines out (the log is
 * buffered): waits up to ms for at least one. */
static int
conn_accepts_wait(const struct farm *f, const struct conn *c, int ms)
{
    long long end = hs_now_ms() + ms;
    int n;

    while ((n = conn_accepts(f, c)) == 0 && hs_now_ms() < end)
        poll(NULL, 0, 20); /* three logs: no one fd to wait on */
    return n;
}

/* One batch of BATCH clients from 127.<net>.<round>.<k>; if stop is not
 * NULL, it gets SIGTERM while the requests are in flight. */
static int
farm_batch(struct farm *f, int net, int round, struct hs *stop)
{
    struct conn c[BATCH];
    char src[32];
    int k, failed = 0;

    for (k = 0; k < BATCH; k++) {
        snprintf(src, sizeof(src), "127.%d.%d.%d", net, round, k + 1);
        conn_open(&c[k], f, src, round * BATCH + k);
    }
    for (k = 0; k < BATCH; k++)
        conn_send(&c[k]);
    if (stop != NULL)
        assert_int_equal(hs_signal(stop, SIGTERM), 0);
    for (k = 0; k < BATCH; k++) {
        conn_finish(&c[k]);
        /* Every client plugsrv accepted got its whole echo, and every one
         * is logged by its own address and port, exactly once. */
        if (c[k].ok)
            assert_int_equal(conn_accepts_wait(f, &c[k], HS_IO_MS), 1);
        else if (conn_accepts_wait(f, &c[k], 2000) > 0)
            fail_msg("%s:%d was accepted and lost", c[k].src, c[k].port);
        else
            failed++;
    }
    return failed;
}

/* max_per_source 1 on each instance: one client's six connections held
 * open go round the three instances twice; the second on each is
 * refused, by the client's address. */
static void
farm_per_source(struct farm *f)
{
    int fds[6], i, served = 0, other;

    for (i = 0; i < 6; i++) {
        fds[i] = hs_connect_from("127.9.9.9", "127.0.0.1", f->front, HS_IO_MS);
        assert_true(fds[i] >= 0);
        if (hs_roundtrip(fds[i], "held\n", "held\n") == 0)
            served++;
    }
    /* Another client is served meanwhile. */
    other = hs_connect_from("127.9.9.10", "127.0.0.1", f->front, HS_IO_MS);
    assert_int_equal(hs_roundtrip(other, "other\n", "other\n"), 0);
    close(other);
    for (i = 0; i < 6; i++)
        close(fds[i]);
    assert_int_equal(served, NINST);
    for (i = 0; i < NINST; i++)
        assert_int_equal(hs_wait_log(f->inst[i], 1, HS_IO_MS, ": refuse ",
                                     "peer=127.9.9.9:", "via=127.0.0.1:",
                                     "reason=per_source", NULL),
                         0);
}

static void
test_scale_out(void **state)
{
    struct farm *f = &farm;
    int i, round, lost = 0;

    if (access(HAPROXY, X_OK) != 0) {
        fprintf(stderr, "skipped: no %s (Debian package haproxy)\n", HAPROXY);
        skip();
    }
    memset(f, 0, sizeof(*f));
    f->inst[0] = *state;
    for (i = 1; i < NINST; i++)
        assert_non_null(f->inst[i] = hs_new());
    for (i = 0; i < NINST; i++) {
        f->port[i] = hs_port();
        farm_instance(f, i);
    }
    f->front = hs_port();
    farm_haproxy(f);
    farm_wait(f);

    /* Load: every request comes back whole, spread over all three. */
    for (round = 0; round < 10; round++)
        assert_int_equal(farm_batch(f, 1, round, NULL), 0);
    for (i = 0; i < NINST; i++)
        assert_true(
            hs_log_count(f->inst[i], ": accept ", "peer=127.1.", NULL) > 0);
    farm_per_source(f);

    /* Instance b stops with requests in flight; the load goes on. */
    for (round = 0; round < 12; round++)
        lost += farm_batch(f, 2, round, round == 2 ? f->inst[1] : NULL);
    assert_true(WIFEXITED(hs_wait_exit(f->inst[1], HS_EXIT_MS)));
    assert_int_equal(hs_log_count(f->inst[1], ": stop children=0", NULL), 1);
    /* Connections HAProxy sent to b's socket after it closed are its to
     * retry elsewhere (retries, redispatch): none may be lost. */
    if (lost > 0)
        fail_msg("%d connections through HAProxy failed unaccepted", lost);
    f->inst[0]->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scale_out, hs_setup,
                                        farm_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
