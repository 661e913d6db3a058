/* daemonize.c - a test handler that starts a daemon the classic way: fork,
 * setsid(), fork again; the grandchild writes its pid into the file named
 * by option "pidfile" and then waits 60 s (a bounded loop), the middle
 * process exits at once. By default this happens in open(), which then
 * writes "ok\n" and closes (or, with option "stay": true, keeps the
 * connection open); with option "init": true it happens in init() instead.
 * plugsrv must end such descendants with the connection, at shutdown, and
 * after `plugsrv -t`. Options that make it harder:
 *  - "middle_stays": true, the middle process waits too, and the
 *    grandchild calls setsid() again: two generations alive, each in a
 *    session of its own, the grandchild adopted only once the middle one
 *    is gone;
 *  - "end": "exit" or "crash", open() then ends the process itself, with
 *    _exit(0) or SIGSEGV, before plugsrv can end what it started;
 *  - "zombies": N, open() first forks N children that exit at once and
 *    are never waited for;
 *  - "unique": true, the pidfile's name gets ".PID" of the connection's
 *    process, for many connections at once.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;
static char pidfile[1024], path[1100];
static char end[16];
static int stay, in_init, middle_stays, unique;
static long long zombies;

/* Waits 60 s at most, then exits. */
static __attribute__((noreturn)) void
daemonize_wait(void)
{
    struct timespec start, now;
    int i;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (i = 0; i < 600; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 60)
            break;
        poll(NULL, 0, 100);
    }
    _exit(0);
}

static __attribute__((noreturn)) void
daemonize_grandchild(void)
{
    char tmp[1200], buf[32];
    int fd, n;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) != 0 ||
        rename(tmp, path) != 0)
        _exit(1);
    syscall(SYS_close_range, 3U, ~0U, 0U); /* a daemon keeps no socket */
    daemonize_wait();
}

/* The double fork; 0 once the pidfile is there (5 s at most). */
static int
daemonize_start(void)
{
    pid_t mid;
    int status, i;

    if (unique)
        snprintf(path, sizeof(path), "%s.%ld", pidfile, (long)getpid());
    else
        snprintf(path, sizeof(path), "%s", pidfile);
    unlink(path);
    if ((mid = fork()) < 0)
        return -1;
    if (mid == 0) {
        setsid();
        if (fork() == 0) {
            if (middle_stays)
                setsid(); /* out of the middle one's group too */
            daemonize_grandchild();
        }
        if (middle_stays) {
            syscall(SYS_close_range, 3U, ~0U, 0U);
            daemonize_wait();
        }
        _exit(0);
    }
    while (!middle_stays && waitpid(mid, &status, 0) < 0)
        ;
    for (i = 0; i < 500; i++) {
        if (access(path, F_OK) == 0)
            return 0;
        poll(NULL, 0, 10);
    }
    return -1;
}

static int
daemonize_init(const plugsrv_options *opts, void **ms, char *err,
               size_t errlen)
{
    const char *p = NULL, *e = NULL;

    (void)ms;
    if (host->opt_string(opts, "pidfile", NULL, &p) != PLUGSRV_OK ||
        p == NULL || host->opt_bool(opts, "stay", 0, &stay) != PLUGSRV_OK ||
        host->opt_bool(opts, "init", 0, &in_init) != PLUGSRV_OK ||
        host->opt_bool(opts, "middle_stays", 0, &middle_stays) !=
            PLUGSRV_OK ||
        host->opt_bool(opts, "unique", 0, &unique) != PLUGSRV_OK ||
        host->opt_int(opts, "zombies", 0, &zombies) != PLUGSRV_OK ||
        host->opt_string(opts, "end", "", &e) != PLUGSRV_OK) {
        snprintf(err, errlen,
                 "options: pidfile (string), stay, init, middle_stays, "
                 "unique, zombies (integer), end (string)");
        return PLUGSRV_ERROR;
    }
    snprintf(pidfile, sizeof(pidfile), "%s", p);
    snprintf(end, sizeof(end), "%s", e);
    if (in_init && daemonize_start() != 0) {
        snprintf(err, errlen, "daemonize: no pidfile");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static int
daemonize_open(plugsrv_conn *conn, void *ms, void **cs)
{
    long long i;

    (void)ms;
    (void)cs;
    for (i = 0; i < zombies && i < 1000; i++)
        if (fork() == 0)
            _exit(0);
    if (!in_init && daemonize_start() != 0)
        return PLUGSRV_ERROR;
    if (host->write(conn, "ok\n", 3) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    if (strcmp(end, "exit") == 0)
        _exit(0);
    if (strcmp(end, "crash") == 0)
        raise(SIGSEGV);
    return stay ? PLUGSRV_OK : PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "daemonize";
    handler.init = daemonize_init;
    handler.open = daemonize_open;
    return &handler;
}
