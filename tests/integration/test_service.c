/*
 * test_service.c - plugsrv as a service manager sees it: the sd_notify
 * datagrams systemd would read on $NOTIFY_SOCKET (a real unix datagram
 * socket here), and the title ps shows for a connection's process.
 */
#define _GNU_SOURCE
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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static void
notify_env(void *arg)
{
    setenv("NOTIFY_SOCKET", arg, 1);
}

/* A datagram socket bound at path; its fd. */
static int
notify_socket(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    return fd;
}

/* Reads datagrams until one holds want (and, if not NULL, also2), within
 * timeout_ms; 0 when found, the datagram in buf. */
static int
notify_expect(int fd, const char *want, const char *also2, char *buf,
              size_t len, int timeout_ms)
{
    long long end = hs_now_ms() + timeout_ms;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ssize_t n;

    while (hs_now_ms() < end) {
        if (poll(&p, 1, (int)(end - hs_now_ms())) <= 0)
            continue;
        n = recv(fd, buf, len - 1, 0);
        if (n < 0)
            return -1;
        buf[n] = '\0';
        if (strstr(buf, want) != NULL &&
            (also2 == NULL || strstr(buf, also2) != NULL))
            return 0;
    }
    return -1;
}

static void
test_notify(void **state)
{
    struct hs *h = *state;
    char path[512], buf[1024];
    int fd, port = hs_port(), c;
    long long before;

    hs_path(h, "notify.sock", path, sizeof(path));
    fd = notify_socket(path);
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_prep(h, NULL, notify_env, path), 0);
    /* READY=1 only once every listener is bound. */
    assert_int_equal(
        notify_expect(fd, "READY=1", "STATUS=", buf, sizeof(buf), HS_EXIT_MS),
        0);
    c = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "x", "x"), 0);

    /* A reload: RELOADING=1 with the monotonic time, then READY=1. */
    before = hs_now_ms();
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(notify_expect(fd, "RELOADING=1", "MONOTONIC_USEC=", buf,
                                   sizeof(buf), HS_EXIT_MS),
                     0);
    assert_true(strtoll(strstr(buf, "MONOTONIC_USEC=") + 15, NULL, 10) /
                    1000 >=
                before - 1);
    assert_int_equal(
        notify_expect(fd, "READY=1", NULL, buf, sizeof(buf), HS_EXIT_MS), 0);
    close(c);

    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(
        notify_expect(fd, "STOPPING=1", NULL, buf, sizeof(buf), HS_EXIT_MS),
        0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    close(fd);
    h->passed = 1;
}

/* ps shows what a connection's process serves, as for nginx and sshd. */
static void
test_proctitle(void **state)
{
    struct hs *h = *state;
    char path[512], buf[1024], envpath[64], env[8192];
    int fd, port = hs_port(), c;
    FILE *f;
    size_t n;

    hs_path(h, "notify.sock", path, sizeof(path));
    fd = notify_socket(path);
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_prep(h, NULL, notify_env, path), 0);
    assert_int_equal(
        notify_expect(fd, "READY=1", NULL, buf, sizeof(buf), HS_EXIT_MS), 0);
    c = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "x", "x"), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": accept ", NULL), 0);
    assert_int_equal(hs_log_last(h, buf, sizeof(buf), ": accept ", NULL), 0);
    hs_log_value(buf, "pid", envpath, sizeof(envpath));
    snprintf(buf, sizeof(buf), "/proc/%s/cmdline", envpath);
    /* The connection's process shows what it serves. */
    assert_non_null(f = fopen(buf, "r"));
    n = fread(env, 1, sizeof(env) - 1, f);
    fclose(f);
    env[n] = '\0';
    assert_memory_equal(env, "plugsrv: echo 127.0.0.1:", 24);
    close(c);
    close(fd);
    h->passed = 1;
}

/* Every signal an admin might send has a defined effect: none ends the
 * parent without its stop line; QUIT stops it as TERM does. */
static void
test_every_signal(void **state)
{
    struct hs *h = *state;
    /* SIGUSR2 has a job: the restart of test_upgrade.c. */
    const int idle[] = { SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                         SIGPWR,  SIGXCPU,   SIGXFSZ, SIGRTMIN + 1 };
    char want[64];
    size_t i;
    int port = hs_port(), c;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                    "\"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < sizeof(idle) / sizeof(idle[0]); i++) {
        assert_int_equal(hs_signal(h, idle[i]), 0);
        snprintf(want, sizeof(want), "signal name=SIG%s action=ignored",
                 sigabbrev_np(idle[i]) ? sigabbrev_np(idle[i]) : "?");
        if (idle[i] >= SIGRTMIN)
            snprintf(want, sizeof(want), "action=ignored");
        assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, want, NULL), 0);
    }
    c = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "still here", "still here"), 0);
    close(c);
    assert_int_equal(hs_signal(h, SIGQUIT), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_log_count(h, "shutdown signal=SIGQUIT", NULL), 1);
    assert_int_equal(hs_log_count(h, "]: stop children=0", NULL), 1);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_notify),
        T(test_proctitle),
        T(test_every_signal),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
