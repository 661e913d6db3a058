/*
 * test_retire.c - a prefork spare's SIGUSR2 ("retire", sent to every spare
 * on a reload and an upgrade) and its accept(). The spare checks
 * connproc_retire, then calls accept(): a SIGUSR2 between the two used to
 * set the flag and leave the spare blocked in accept(), to serve one more
 * connection with the old config (or, after an upgrade, the old binary).
 * raise() runs the handler at exactly that point: after the check, before
 * the call. The listener's SO_RCVTIMEO bounds a wait that should not be.
 * Then prefork_accept(), the spare's whole wait, for each way it ends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

#define WAIT_MS 2000 /* what a blocked accept() would wait */

static int lfd = -1;
static struct sockaddr_in bound;

static int
setup(void **state)
{
    struct timeval tv = clock_timeval(WAIT_MS);
    socklen_t len = sizeof(bound);
    sigset_t usr2;

    (void)state;
    /* A spare's fd 0 is /dev/null, which the handler puts in the
     * listener's place. */
    if (fcntl(STDIN_FILENO, F_GETFD) == -1 &&
        open("/dev/null", O_RDWR) != STDIN_FILENO)
        return -1;
    memset(&bound, 0, sizeof(bound));
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&bound, len) == -1 ||
        getsockname(lfd, (struct sockaddr *)&bound, &len) == -1 ||
        listen(lfd, 8) == -1 ||
        setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
        return -1;
    /* The handlers a spare inherits from a serving parent. */
    connproc_signals_prepare();
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);
    connproc_retire = 0;
    connproc_stop = 0;
    connproc_conn_fd = -1;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    connproc_listen_fd = -1;
    if (connproc_conn_fd >= 0)
        close(connproc_conn_fd);
    connproc_conn_fd = -1;
    close(lfd);
    lfd = -1;
    return 0;
}

/* Whether fd is a socket still. */
static int
is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The window: the spare is about to enter accept() when SIGUSR2 comes. */
static void
test_retire_before_accept(void **state)
{
    long long t0;
    int fd, err;

    (void)state;
    connproc_listen_fd = lfd; /* as prefork_accept() sets it */
    raise(SIGUSR2);
    t0 = clock_ms();
    fd = lean_accept(lfd, NULL, NULL);
    err = errno;
    assert_int_equal(connproc_retire, 1);
    assert_int_equal(fd, -1);
    assert_int_not_equal(err, EAGAIN); /* it did not wait out SO_RCVTIMEO */
    assert_true(clock_ms() - t0 < WAIT_MS / 2);
    assert_int_equal(connproc_listen_fd, -1);
    /* The number is still taken (by /dev/null): nothing else can get it
     * before the spare closes it. */
    assert_int_not_equal(fcntl(lfd, F_GETFD), -1);
    assert_false(is_socket(lfd));
}

/* A spare that has its connection: SIGUSR2 leaves its fds alone. */
static void
test_retire_after_accept(void **state)
{
    (void)state;
    connproc_listen_fd = -1; /* as prefork_accept() leaves it */
    raise(SIGUSR2);
    assert_int_equal(connproc_retire, 1);
    assert_true(is_socket(lfd));
}

/* prefork_accept(): a connection waiting is taken, and the handlers
 * then know the connection, not the listener. */
static void
test_accept_takes_a_connection(void **state)
{
    struct sockaddr_storage ss;
    int c, fd;

    (void)state;
    c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&bound, sizeof(bound)), 0);
    fd = prefork_accept(lfd, &ss);
    assert_true(fd >= 0);
    assert_int_equal(connproc_conn_fd, fd);
    assert_int_equal(connproc_listen_fd, -1);
    assert_int_equal(ss.ss_family, AF_INET);
    close(c);
}

/* Retired while it waits: -1 (exit CONN_OK), long before SO_RCVTIMEO. */
static void
test_accept_retired_while_waiting(void **state)
{
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
                           .sigev_signo = SIGUSR2 };
    struct itimerspec in = { .it_value = { .tv_nsec = 50 * 1000000L } };
    struct sockaddr_storage ss;
    timer_t t;
    long long t0;

    (void)state;
    assert_int_equal(timer_create(CLOCK_MONOTONIC, &ev, &t), 0);
    assert_int_equal(timer_settime(t, 0, &in, NULL), 0);
    t0 = clock_ms();
    /* Whether SIGUSR2 comes before accept() or during it, the answer is
     * the same. */
    assert_int_equal(prefork_accept(lfd, &ss), -1);
    assert_true(clock_ms() - t0 < WAIT_MS / 2);
    assert_int_equal(connproc_listen_fd, -1);
    assert_int_equal(connproc_conn_fd, -1);
    timer_delete(t);
}

/* Retired before it waits: -1 at once. */
static void
test_accept_retired_before(void **state)
{
    struct sockaddr_storage ss;

    (void)state;
    connproc_retire = 1;
    assert_int_equal(prefork_accept(lfd, &ss), -1);
    assert_int_equal(connproc_listen_fd, -1);
}

/* A listener that fails, no signal: -2 (exit CONN_SETUP), not a loop. */
static void
test_accept_listener_fails(void **state)
{
    struct sockaddr_storage ss;
    int null = open("/dev/null", O_RDWR);

    (void)state;
    assert_true(null >= 0);
    assert_int_equal(prefork_accept(null, &ss), -2);
    assert_int_equal(connproc_retire, 0);
    assert_int_equal(connproc_listen_fd, -1);
    close(null);
}

/* SO_RCVTIMEO ran out: the wait goes on (the flags checked again). */
static void
test_accept_timeout_waits_on(void **state)
{
    struct timeval tv = clock_timeval(20);
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
                           .sigev_signo = SIGUSR2 };
    struct itimerspec in = { .it_value = { .tv_nsec = 300 * 1000000L } };
    struct sockaddr_storage ss;
    timer_t t;

    (void)state;
    assert_int_equal(setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                     0);
    assert_int_equal(timer_create(CLOCK_MONOTONIC, &ev, &t), 0);
    assert_int_equal(timer_settime(t, 0, &in, NULL), 0);
    /* Several 20 ms timeouts, then the retirement ends it. */
    assert_int_equal(prefork_accept(lfd, &ss), -1);
    assert_int_equal(connproc_retire, 1);
    timer_delete(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retire_before_accept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retire_after_accept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accept_takes_a_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accept_retired_while_waiting,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_retired_before, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accept_listener_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_accept_timeout_waits_on, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
