/*
 * reaper.c - whatever a handler starts ends with its connection, even a
 * daemon that called setsid() and left the connection's process group
 * (both processes). The parent and every connection's process are child
 * subreapers (PR_SET_CHILD_SUBREAPER): an orphan is adopted by the nearest
 * of them instead of init, so it stays within reach of kill().
 *
 * A connection's process ends its descendants on its way out; one
 * waitpid() tells whether it has any, so a handler that forks nothing pays
 * one syscall. What escapes that (a process killed by a signal, or a
 * handler that calls _exit() itself) is adopted by the parent, which looks
 * for such strays when a child ends abnormally, once a second while it
 * has children, when a stray it killed is reaped (whose own orphans it
 * adopts then), and at shutdown: listing a process's children reads /proc
 * (measured: about 17 us), too dear for every connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugsrv.h"

#define REAPER_WAIT_MS 2000 /* for every descendant to be gone */

/* The one child never to kill: the new plugsrv an upgrade started, which
 * is the old one's child until the old one exits (upgrade.c). */
static pid_t reaper_keep;

/* What reaper_kill() is given: whom to spare, and how many it killed. */
struct reaper_kill_arg {
    int (*known)(pid_t);
    int killed;
};

void
reaper_init(void)
{
    lean_prctl(PR_SET_CHILD_SUBREAPER, 1);
}

/*
 * Calls fn for each child of this process, from /proc (whose list is
 * read in one go: 64 KiB hold about 9000 pids). How many, or -1.
 */
static int
reaper_each_child(void (*fn)(pid_t, void *), void *arg)
{
    static char buf[65536];
    char path[64], *p, *end;
    ssize_t len;
    int fd, n = 0;
    long v;

    snprintf(path, sizeof(path), "/proc/self/task/%ld/children",
             (long)getpid());
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len < 0)
        return -1;
    buf[len] = '\0';
    for (p = buf;; p = end, n++) {
        v = strtol(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\0'))
            break;
        fn((pid_t)v, arg);
    }
    return n;
}

void
reaper_exempt(pid_t pid)
{
    reaper_keep = pid;
}

static void
reaper_kill(pid_t pid, void *arg)
{
    struct reaper_kill_arg *ka = arg;

    if (pid == reaper_keep || (ka->known != NULL && ka->known(pid)))
        return;
    kill(pid, SIGKILL);
    ka->killed++;
}

/* Waits, bounded, for a child to end; 0 if one was reaped. */
static int
reaper_wait_one(long long deadline)
{
    sigset_t set, old;
    struct timespec ts;
    int rc = -1, st;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    while (rc == -1 && clock_ms() < deadline) {
        if (waitpid(-1, &st, WNOHANG) > 0)
            rc = 0;
        else
            sigtimedwait(&set, NULL, clock_wait(deadline - clock_ms(), &ts));
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/*
 * On the way out (a connection's process, the parent at shutdown, a
 * config check): SIGKILL every child and reap it, generation after
 * generation as the kernel hands their orphans to us, until there is
 * none. Bounded in time alone: a count of rounds would be used up by
 * children dying one at a time, or by many that were already dead.
 */
void
reaper_end_descendants(void)
{
    struct reaper_kill_arg all = { NULL, 0 };
    long long deadline = 0;
    int st;
    pid_t pid;

    /* not libc's waitpid(): its page is one more fault */
    while ((pid = lean_reap(&st)) >= 0) {
        /* ECHILD at once (nothing was ever started) reads no clock. */
        if (deadline == 0)
            deadline = clock_ms() + REAPER_WAIT_MS;
        else if (clock_ms() >= deadline)
            return;
        if (pid > 0)
            continue;
        all.killed = 0;
        reaper_each_child(reaper_kill, &all);
        /* Only the exempt one is left: it is not waited for. */
        if (all.killed == 0 && reaper_keep != 0)
            return;
        if (reaper_wait_one(deadline) == -1)
            return;
    }
}

/* In the parent: SIGKILLs every child that known() does not claim (an
 * orphan it adopted); the main loop reaps them as usual. */
void
reaper_kill_strays(int (*known)(pid_t))
{
    struct reaper_kill_arg ka = { known, 0 };

    reaper_each_child(reaper_kill, &ka);
}
