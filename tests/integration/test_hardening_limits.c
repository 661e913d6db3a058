/*
 * test_hardening_limits.c - a fresh install (no per-source key in the
 * config) is not locked out by one flood (issue 8, item 9):
 *  - one source with 300 silent connections to listener A: a client from
 *    another source still gets served on A, a client of listener B too,
 *    and the log shows refusals with reason=per_source;
 *  - ten sources with 40 silent connections each to A (more than the
 *    default max_connections of 256): listener B still serves at once.
 * The default per-source limit is not assumed beyond "less than 300".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define FLOOD_MS 30000 /* to open all the silent connections */

/* A TCP connection from src (any 127.x.y.z, port 0) to 127.0.0.1:port,
 * within timeout_ms; the socket, or -1. */
static int
connect_from(const char *src, int port, int timeout_ms)
{
    struct sockaddr_in from, to;
    struct pollfd pfd;
    socklen_t elen = sizeof(int);
    int fd, err = 0;

    memset(&from, 0, sizeof(from));
    memset(&to, 0, sizeof(to));
    from.sin_family = to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
        inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0)
        goto fail;
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto fail;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, timeout_ms) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Sends "hi\n" and expects it back, within timeout_ms in all. */
static int
echo_on(int fd, int timeout_ms)
{
    char buf[8];

    if (fd < 0 || hs_send_str(fd, "hi\n") != 0)
        return -1;
    if (hs_recv_n(fd, buf, 3, timeout_ms) != 3 || memcmp(buf, "hi\n", 3))
        return -1;
    return 0;
}

/* One echo client from src to port: 0 if served within timeout_ms. */
static int
echo_from(const char *src, int port, int timeout_ms)
{
    long long t0 = hs_now_ms();
    int fd = connect_from(src, port, timeout_ms), rc;
    long long left = timeout_ms - (hs_now_ms() - t0);

    rc = left > 0 ? echo_on(fd, (int)left) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Two echo listeners, A and B, on 127.0.0.1, and nothing else set. */
static void
two_listeners(struct hs *h, int pa, int pb)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\",\n"
                        "  \"listeners\": [\n"
                        "  { \"name\": \"A\", \"address\": \"127.0.0.1\", "
                        "\"port\": %d, \"module\": \"echo\" },\n"
                        "  { \"name\": \"B\", \"address\": \"127.0.0.1\", "
                        "\"port\": %d, \"module\": \"echo\" } ] }\n",
                        PLUGSRV_MODULE_DIR, pa, pb),
        0);
}

/* Opens n silent connections from src to port (each within 2 s, all
 * within the flood's deadline) into fds; returns how many opened. */
static int
flood(const char *src, int port, int n, int *fds, long long deadline)
{
    int i, opened = 0;

    for (i = 0; i < n; i++) {
        long long left = deadline - hs_now_ms();

        fds[i] = left > 0 ? connect_from(src, port,
                                         (int)(left < 2000 ? left : 2000))
                          : -1;
        if (fds[i] >= 0)
            opened++;
    }
    return opened;
}

/* Waits (bounded) until the parent has taken n connections of listener
 * A: accepted or refused. */
static void
wait_taken(struct hs *h, int n, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int i, taken = 0;

    for (i = 0; i < 100000; i++) {
        taken = hs_log_count(h, "]: accept ", "listener=A", NULL) +
                hs_log_count(h, "]: refuse ", "listener=A", NULL);
        if (taken >= n || hs_now_ms() >= deadline)
            break;
        poll(NULL, 0, 50);
    }
    fprintf(stderr,
            "%d of %d silent connections taken: %d accepted, %d "
            "refused per_source\n",
            taken, n, hs_log_count(h, "]: accept ", "listener=A", NULL),
            hs_log_count(h, "]: refuse ", "reason=per_source", NULL));
}

static void
close_all(int *fds, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

static void
test_flood_one_source_default(void **state)
{
    struct hs *h = *state;
    int pa = hs_port(), pb = hs_port(), fds[300], opened;

    two_listeners(h, pa, pb);
    assert_int_equal(hs_start_ready(h), 0);
    opened = flood("127.0.0.1", pa, 300, fds, hs_now_ms() + FLOOD_MS);
    assert_true(opened > 0);
    wait_taken(h, opened, 15000);
    /* Another source on the same listener, and another listener. */
    assert_int_equal(echo_from("127.0.0.2", pa, 2000), 0);
    assert_int_equal(echo_from("127.0.0.1", pb, 2000), 0);
    assert_true(hs_log_count(h, "]: refuse ", "reason=per_source", NULL) > 0);
    assert_true(hs_log_count(h, "]: accept ", "listener=A",
                             "peer=127.0.0.1:", NULL) < 300);
    close_all(fds, 300);
    h->passed = 1;
}

static void
test_flood_many_sources_other_listener(void **state)
{
    struct hs *h = *state;
    long long deadline;
    int pa = hs_port(), pb = hs_port(), fds[400], opened = 0, s;
    char src[32];

    two_listeners(h, pa, pb);
    assert_int_equal(hs_start_ready(h), 0);
    deadline = hs_now_ms() + FLOOD_MS;
    for (s = 0; s < 10; s++) {
        snprintf(src, sizeof(src), "127.0.1.%d", s + 1);
        opened += flood(src, pa, 40, fds + 40 * s, deadline);
    }
    assert_true(opened > 256);
    wait_taken(h, opened, 15000);
    assert_int_equal(echo_from("127.0.0.1", pb, 2000), 0);
    close_all(fds, 400);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_flood_one_source_default),
        T(test_flood_many_sources_other_listener),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
