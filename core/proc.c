/*
 * proc.c - turning a fork of the parent into a connection's process: the
 * parent's signal handling undone, only the fds it needs kept, resource
 * limits applied. Also the names of signals, for the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugsrv.h"

volatile sig_atomic_t proc_stop;         /* SIGTERM: finish and exit */
volatile sig_atomic_t proc_retire;       /* SIGUSR2: a prefork spare retires */
volatile sig_atomic_t proc_conn_fd = -1; /* the connection, once there */
volatile sig_atomic_t proc_accepting;    /* a spare waits in accept() */

/*
 * SIGTERM must end a process wherever it waits, even if it came just
 * before the wait began: shutting the connection's read side makes any
 * read return at once, and a spare with no connection yet just exits.
 */
static void
proc_on_signal(int sig)
{
    if (sig == SIGUSR2) {
        proc_retire = 1;
        return;
    }
    proc_stop = 1;
    if (proc_conn_fd >= 0)
        shutdown(proc_conn_fd, SHUT_RD);
    else if (proc_accepting)
        _exit(CHILD_OK);
}

/* Signals whose disposition the parent changed (its own handlers, and any
 * a library or a sanitizer runtime installed): the ones a child resets. */
static sigset_t proc_changed;

void
proc_snapshot(void)
{
    struct sigaction sa;
    int sig;

    sigemptyset(&proc_changed);
    for (sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGPIPE)
            continue;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
            sigaddset(&proc_changed, sig);
    }
}

/* Everything back to the default, except that SIGPIPE stays ignored (as
 * the parent left it: a handler writing to a client that has gone must not
 * die of it) and SIGTERM asks for a clean end; a prefork spare also hears
 * SIGUSR2, "retire". */
void
proc_reset_signals(int spare)
{
    struct sigaction sa;
    sigset_t none;
    int sig;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGTERM && sigismember(&proc_changed, sig) == 1) {
            sa.sa_handler = SIG_DFL;
            sigaction(sig, &sa, NULL);
        }
    }
    sa.sa_handler = proc_on_signal; /* no SA_RESTART: wake up a read */
    sigaction(SIGTERM, &sa, NULL);
    if (spare)
        sigaction(SIGUSR2, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A connection's process must not outlive a parent that was killed. */
void
proc_die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(CHILD_SHUTDOWN);
}

/* Closes every fd above 2 but the n in keep: a handler gets no listener,
 * pipe or log file of the parent's. */
void
proc_keep_fds(const int *keep, int n)
{
    int fds[4], i, j, t;
    unsigned lo = 3;

    for (i = 0; i < n && i < 4; i++) {
        for (j = i; j > 0 && fds[j - 1] > keep[i]; j--)
            fds[j] = fds[j - 1];
        fds[j] = keep[i];
    }
    for (i = 0; i < n && i < 4; i++) {
        t = fds[i];
        if (t < (int)lo)
            continue;
        if (t > (int)lo)
            close_range(lo, (unsigned)t - 1, 0);
        lo = (unsigned)t + 1;
    }
    close_range(lo, ~0U, 0);
}

/* The limits a connection's process gets, worked out once in the parent
 * (whose own limits the children inherit), so that a child only sets. */
static struct {
    int resource;
    struct rlimit rl;
    int set;
} proc_limits[3] = {
    { .resource = RLIMIT_CPU },
    { .resource = RLIMIT_AS },
    { .resource = RLIMIT_NOFILE },
};

static void
proc_limit_prepare(int i, long long value)
{
    struct rlimit cur;

    proc_limits[i].set = 0;
    if (value <= 0 || getrlimit(proc_limits[i].resource, &cur) == -1)
        return;
    /* Only ever lower: a limit plugsrv was started under stays. */
    if (cur.rlim_max != RLIM_INFINITY && (rlim_t)value >= cur.rlim_max)
        return;
    proc_limits[i].rl.rlim_cur = proc_limits[i].rl.rlim_max = (rlim_t)value;
    /* At the soft CPU limit the kernel sends SIGXCPU, at the hard one
     * SIGKILL: a second apart, the log can say "cpu-limit". */
    if (proc_limits[i].resource == RLIMIT_CPU &&
        (cur.rlim_max == RLIM_INFINITY || (rlim_t)value + 1 <= cur.rlim_max))
        proc_limits[i].rl.rlim_max = (rlim_t)value + 1;
    proc_limits[i].set = 1;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROC_ASAN 1
#endif
#endif

void
proc_limits_prepare(const struct rlimits *rl)
{
    proc_limit_prepare(0, rl->cpu);
#if !defined(__SANITIZE_ADDRESS__) && !defined(PROC_ASAN)
    /* AddressSanitizer reserves terabytes of address space up front. */
    proc_limit_prepare(1, rl->as);
#endif
    proc_limit_prepare(2, rl->nofile);
}

int
proc_limits_apply(void)
{
    int i;

    for (i = 0; i < 3; i++) {
        if (proc_limits[i].set &&
            setrlimit(proc_limits[i].resource, &proc_limits[i].rl) == -1)
            return -1;
    }
    return 0;
}

const char *
proc_signame(int sig)
{
    static char buf[32];
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev != NULL)
        snprintf(buf, sizeof(buf), "SIG%s", abbrev);
    else
        snprintf(buf, sizeof(buf), "SIG%d", sig);
    return buf;
}
