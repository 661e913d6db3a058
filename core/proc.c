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
#include <unistd.h>

#include "plugsrv.h"

volatile sig_atomic_t proc_stop;     /* SIGTERM: finish and exit */
volatile sig_atomic_t proc_retire;   /* SIGUSR2: a prefork spare retires */

static void
proc_on_signal(int sig)
{
    if (sig == SIGTERM)
        proc_stop = 1;
    else
        proc_retire = 1;
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

/* Everything back to the default, except that SIGPIPE stays ignored (a
 * handler writing to a client that has gone must not die of it) and
 * SIGTERM asks for a clean end. */
void
proc_reset_signals(void)
{
    struct sigaction sa;
    sigset_t none;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(&proc_changed, sig) == 1) {
            sa.sa_handler = SIG_DFL;
            sigaction(sig, &sa, NULL);
        }
    }
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = proc_on_signal;     /* no SA_RESTART: wake up a read */
    sigaction(SIGTERM, &sa, NULL);
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

/*
 * Keeps fds[0..n-1] open as 3, 4, ... (in that order, updating fds[]) and
 * closes every other fd above 2: a handler gets no listener, pipe or log
 * file of the parent's. Returns 0, or -1 if a dup failed.
 */
int
proc_keep_fds(int *fds, int n)
{
    int i, top = 3 + n, tmp[8];

    for (i = 0; i < n; i++) {
        if (fds[i] > top)
            top = fds[i];
    }
    for (i = 0; i < n; i++) {
        if ((tmp[i] = fcntl(fds[i], F_DUPFD, top + 1)) == -1)
            return -1;
    }
    for (i = 0; i < n; i++) {
        if (dup2(tmp[i], 3 + i) == -1)
            return -1;
        fds[i] = 3 + i;
    }
    close_range((unsigned)(3 + n), ~0U, 0);
    return 0;
}

static int
proc_setlimit(int resource, long long value)
{
    struct rlimit rl;

    if (value <= 0 || getrlimit(resource, &rl) == -1)
        return 0;
    /* Only ever lower: a limit plugsrv was started under stays. */
    if (rl.rlim_max != RLIM_INFINITY && (rlim_t)value > rl.rlim_max)
        value = (long long)rl.rlim_max;
    rl.rlim_cur = rl.rlim_max = (rlim_t)value;
    return setrlimit(resource, &rl);
}

int
proc_rlimits(const struct rlimits *rl)
{
    if (proc_setlimit(RLIMIT_CPU, rl->cpu) == -1 ||
        proc_setlimit(RLIMIT_NOFILE, rl->nofile) == -1)
        return -1;
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROC_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(PROC_ASAN)
    /* AddressSanitizer reserves terabytes of address space up front. */
    if (proc_setlimit(RLIMIT_AS, rl->as) == -1)
        return -1;
#endif
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
