/*
 * test_retire.c - a prefork spare's SIGUSR2 ("retire", sent to every spare
 * on a reload and an upgrade) and its accept(). The spare checks
 * connproc_retire, then calls accept(): a SIGUSR2 between the two used to
 * set the flag and leave the spare blocked in accept(), to serve one more
 * connection with the old config (or, after an upgrade, the old binary).
 * raise() runs the handler at exactly that point: after the check, before
 * the call. The listener's SO_RCVTIMEO bounds a wait that should not be.
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
#include <unistd.h>

#include "plugsrv.h"

#define WAIT_MS 2000 /* what a blocked accept() would wait */

static int lfd = -1;

static int
setup(void **state)
{
    struct sockaddr_in sin;
    struct timeval tv = clock_timeval(WAIT_MS);
    sigset_t usr2;

    (void)state;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
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
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    connproc_listen_fd = -1;
    if (lfd != -1)
        close(lfd);
    lfd = -1;
    return 0;
}

/* The window: the spare is about to enter accept() when SIGUSR2 comes. */
static void
test_retire_before_accept(void **state)
{
    long long t0;
    int fd, err;

    (void)state;
    connproc_listen_fd = lfd; /* as prefork_child() sets it */
    raise(SIGUSR2);
    t0 = clock_ms();
    fd = lean_accept(lfd, NULL, NULL);
    err = errno;
    assert_int_equal(connproc_retire, 1);
    assert_int_equal(fd, -1);
    assert_int_not_equal(err, EAGAIN); /* it did not wait out SO_RCVTIMEO */
    assert_true(clock_ms() - t0 < WAIT_MS / 2);
    assert_int_equal(connproc_listen_fd, -1);
    lfd = -1; /* the handler closed it */
}

/* A spare that has its connection: SIGUSR2 leaves its fds alone. */
static void
test_retire_after_accept(void **state)
{
    (void)state;
    connproc_listen_fd = -1; /* as prefork_child() clears it */
    raise(SIGUSR2);
    assert_int_equal(connproc_retire, 1);
    assert_int_not_equal(fcntl(lfd, F_GETFD), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retire_before_accept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_retire_after_accept, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
