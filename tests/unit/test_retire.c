/*
 * test_retire.c - a prefork spare's SIGUSR2 ("retire", sent to every spare
 * on a reload and an upgrade) and its accept(). The spare checks
 * connproc_retire, then calls accept(): a SIGUSR2 between the two used to
 * set the flag and leave the spare blocked in accept(), to serve one more
 * connection with the old config (or, after an upgrade, the old binary).
 * raise() runs the handler at exactly that point: after the check, before
 * the call. The listener's SO_RCVTIMEO bounds a wait that should not be.
 * Then prefork_accept(), the spare's whole wait, for each way it ends.
 * Last, SIGUSR2 and SIGTERM taken by a thread of the module's: the kernel
 * gives a process's signal to any thread that does not block it, while
 * the wait the signal must end is the main thread's (a spare's accept(), a
 * connection's read). Those tests send the signal to a second thread
 * alone, once the main thread waits.
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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

#define WAIT_MS 10000 /* what a wait that is not ended would last */

static int lfd = -1;
static struct sockaddr_in bound;

static int
setup(void **state)
{
    struct timeval tv = clock_timeval(WAIT_MS);
    socklen_t len = sizeof(bound);
    sigset_t usr2; /* and SIGTERM */

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
    sigaddset(&usr2, SIGTERM);
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

/* Whether the main thread (its tid is the pid) is in system call nr now:
 * the first field of /proc's record of it, which is "running" (not a
 * number: strtol() would read 0, SYS_read on x86-64) while it is on a CPU. */
static int
main_thread_in(long nr)
{
    char path[64], buf[64], *end = buf;
    long now = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/syscall",
             (long)getpid());
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) != NULL)
        now = strtol(buf, &end, 10);
    fclose(f);
    return end != buf && now == nr;
}

struct module_thread {
    long nr1, nr2; /* the system calls the main thread waits in */
    int sig;
};

/* A thread of the module's: once the main thread waits, it takes the
 * signal itself, sent to it alone. */
static void *
module_thread(void *arg)
{
    const struct module_thread *mt = arg;
    long long t0 = clock_ms();

    while (!main_thread_in(mt->nr1) && !main_thread_in(mt->nr2) &&
           clock_ms() - t0 < WAIT_MS / 4) {
        struct timespec nap = { 0, 1000000L }; /* polls /proc, bounded */

        nanosleep(&nap, NULL);
    }
    pthread_kill(pthread_self(), mt->sig);
    return NULL;
}

#ifndef SYS_accept
#define SYS_accept SYS_accept4
#endif
#ifndef SYS_recvfrom
#define SYS_recvfrom SYS_read
#endif

/* A spare retired while it waits in accept(), the SIGUSR2 in another
 * thread: the accept() still ends (and no connection is then served with
 * the old config). */
static void
test_retire_taken_by_another_thread(void **state)
{
    struct module_thread mt = { SYS_accept, SYS_accept4, SIGUSR2 };
    struct sockaddr_storage ss;
    pthread_t th;
    long long t0;

    (void)state;
    t0 = clock_ms();
    assert_int_equal(pthread_create(&th, NULL, module_thread, &mt), 0);
    assert_int_equal(prefork_accept(lfd, &ss), -1);
    assert_true(clock_ms() - t0 < WAIT_MS / 2);
    assert_int_equal(connproc_retire, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
}

/* A connection's process told to stop while its main thread waits in a
 * read, the SIGTERM in another thread: the read ends (EINTR). Setting the
 * drain's SO_RCVTIMEO alone would not: a read already waiting keeps the
 * timeout it began with. */
static void
test_stop_taken_by_another_thread(void **state)
{
    struct module_thread mt = { SYS_recvfrom, SYS_read, SIGTERM };
    struct timeval tv = clock_timeval(WAIT_MS);
    pthread_t th;
    long long t0;
    char c;
    ssize_t n;
    int cfd, sfd, err;

    (void)state;
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&bound, sizeof(bound)),
                     0);
    sfd = accept(lfd, NULL, NULL);
    assert_true(sfd >= 0);
    assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                     0);
    connproc_conn_fd = sfd;
    t0 = clock_ms();
    assert_int_equal(pthread_create(&th, NULL, module_thread, &mt), 0);
    n = read(sfd, &c, 1);
    err = errno;
    assert_int_equal(n, -1);
    assert_int_equal(err, EINTR);
    assert_true(clock_ms() - t0 < WAIT_MS / 2);
    assert_int_equal(connproc_stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(cfd); /* sfd is teardown()'s, as connproc_conn_fd */
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
        cmocka_unit_test_setup_teardown(test_retire_taken_by_another_thread,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_taken_by_another_thread,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
