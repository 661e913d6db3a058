/*
 * signals.c - the parent's signals, read from a signalfd in its poll set.
 *
 * Every signal an admin might send has a defined effect: TERM, INT and
 * QUIT stop, HUP reloads, USR1 reopens the log file, USR2 upgrades
 * (upgrade.c), CHLD reaps, PIPE is ignored, and the others whose default
 * would end the parent silently (ALRM, the real-time ones...) are logged
 * and ignored. Faults
 * (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS) keep their default: they mean a
 * bug.
 *
 * They are all blocked for good and read as data, not caught: the parent
 * runs no handler, so a connection's process has none to undo (one
 * sigprocmask instead of an rt_sigaction per signal, 45 of them, on every
 * connection), no signal frame is built and torn down per child that ends,
 * and each is dealt with at one known point of the loop. The two handlers
 * set, SIGTERM's and SIGALRM's, are the connection's process's (connproc.c,
 * watchdog.c): blocked here, they never run in the parent, and every fork
 * starts with them. A prefork spare inherits USR2 blocked until it is
 * ready.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "plugsrv.h"

struct signals_got signals_got;
static int signals_fd = -1;

static const int signals_read_as_data[] = {
    SIGTERM,   SIGINT,  SIGQUIT, SIGHUP, SIGUSR1,   SIGUSR2, SIGALRM, SIGCHLD,
    SIGVTALRM, SIGPROF, SIGIO,   SIGPWR, SIGSTKFLT, SIGXCPU, SIGXFSZ,
};

/* A starter may have left some ignored (execve keeps SIG_IGN; a shell
 * does it to INT and QUIT for a job in the background, nohup to HUP): an
 * ignored signal never reaches the signalfd, and SIGCHLD ignored would have
 * the kernel reap every child itself. Blocked, the default is what the
 * signalfd needs, and what a connection's process inherits. */
static void
signals_unignore(const sigset_t *set)
{
    struct sigaction sa;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) == 1 && sigaction(sig, NULL, &sa) == 0 &&
            sa.sa_handler == SIG_IGN) {
            sa.sa_handler = SIG_DFL;
            sigaction(sig, &sa, NULL);
        }
    }
}

int
signals_init(void)
{
    struct sigaction sa;
    sigset_t set;
    size_t i;
    int sig;

    sigemptyset(&set);
    for (i = 0; i < sizeof(signals_read_as_data) / sizeof(int); i++)
        sigaddset(&set, signals_read_as_data[i]);
    for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        sigaddset(&set, sig);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
        return -1;
    if (signals_fd == -1 &&
        (signals_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    signals_unignore(&set);
    connproc_signals_prepare();
    return 0;
}

int
signals_fd_get(void)
{
    return signals_fd;
}

static void
signals_one(int sig)
{
    switch (sig) {
    case SIGCHLD:
        children_reap();
        break;
    case SIGHUP:
        signals_got.hup = 1;
        break;
    case SIGUSR1:
        signals_got.usr1 = 1;
        break;
    case SIGUSR2:
        signals_got.usr2 = 1;
        break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        signals_got.term++;
        signals_got.termsig = sig;
        break;
    default:
        log_event("signal name=%s action=ignored", log_signame(sig));
        break;
    }
}

/* Everything that came since the last call. */
void
signals_read(void)
{
    struct signalfd_siginfo si[16];
    ssize_t n, i;

    if (signals_fd == -1)
        return;
    while ((n = read(signals_fd, si, sizeof(si))) > 0) {
        for (i = 0; i < n / (ssize_t)sizeof(si[0]); i++)
            signals_one((int)si[i].ssi_signo);
        if ((size_t)n < sizeof(si))
            break;
    }
}
