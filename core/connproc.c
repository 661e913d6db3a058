/*
 * connproc.c - turning a fork of the parent into a connection's process
 * (connproc_init, run in the new process): the parent's signal handling
 * undone, only the fds it needs kept, resource limits applied. The parent
 * runs only connproc_signals_prepare() (or, checking a config,
 * connproc_snapshot()) and connproc_limits_prepare(), to set up once what
 * every such process will do.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "plugsrv.h"

LEAN_DATA volatile sig_atomic_t connproc_stop;   /* SIGTERM: finish and exit */
LEAN_DATA volatile sig_atomic_t connproc_retire; /* SIGUSR2: a spare retires */
volatile sig_atomic_t connproc_conn_fd = -1; /* the connection, once there */
LEAN_DATA volatile sig_atomic_t connproc_listen_fd = -1; /* prefork_accept */
volatile sig_atomic_t connproc_wake_fd = -1; /* conn_loop.c's self-pipe */

/*
 * From a handler: the kernel gives a process's signal to any thread that
 * does not block it, such as one a module's entry point started, while
 * the wait the signal must end is the main thread's: a spare's accept(),
 * which holds the listener whatever is put in its place, or a read of the
 * connection. The signal is sent on to the main thread (its tid is the
 * pid), whose call it interrupts; there, the handler runs again.
 */
static void
connproc_forward_to_main(int sig)
{
    long pid = syscall(SYS_getpid);

    if (syscall(SYS_gettid) != pid)
        syscall(SYS_tgkill, pid, pid, sig);
}

/*
 * SIGTERM must end a process wherever it waits, even if it came just
 * before the wait began, but what the client has sent already is still
 * served: reads stop waiting longer than CONNPROC_DRAIN_MS (session.c
 * ends the connection at the first pause), and a spare with no
 * connection yet just exits.
 */
static void
connproc_on_signal(int sig)
{
    int saved = errno;

    if (sig == SIGUSR2) {
        /* A spare checks connproc_retire, then calls accept(): come in
         * between, the flag alone would leave it waiting there to serve
         * one more connection with the old config. With /dev/null (fd 0)
         * in the listener's place that accept() fails at once, and the
         * number stays taken: no thread of a module's gets it while the
         * spare still calls accept() and close() on it. */
        int fd = connproc_listen_fd;

        connproc_retire = 1;
        connproc_listen_fd = -1;
        if (fd > 0) {
            if (dup2(STDIN_FILENO, fd) == -1)
                close(fd);
            connproc_forward_to_main(sig);
        }
        errno = saved;
        return;
    }
    struct timeval tv = clock_timeval(CONNPROC_DRAIN_MS);

    connproc_stop = 1;
    if (connproc_wake_fd >= 0 && write(connproc_wake_fd, "", 1) == -1) {
        /* full already: the loop is awake anyway */
    }
    if (connproc_conn_fd >= 0)
        setsockopt(connproc_conn_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    else if (connproc_listen_fd >= 0)
        _exit(CONN_OK);
    /* A read already waiting keeps the timeout it began with. */
    connproc_forward_to_main(sig);
    errno = saved;
}

/* Signals whose disposition the parent changed (any a library or a
 * sanitizer runtime installed): the ones a child resets. A list, not a
 * sigset_t: the child then calls none of libc's sigset functions, each a
 * page to fault in (lean.c). */
static int connproc_changed[NSIG];
static int connproc_nchanged;
static int connproc_term_inherited; /* SIGTERM's handler comes with fork */
static int connproc_usr2_inherited; /* and SIGUSR2's, a spare's "retire" */

void
connproc_snapshot(void)
{
    struct sigaction sa;
    int sig;

    connproc_nchanged = 0;
    for (sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGPIPE ||
            sig == SIGTERM || sig == SIGALRM ||
            (sig == SIGUSR2 && connproc_usr2_inherited))
            continue;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
            connproc_changed[connproc_nchanged++] = sig;
    }
}

/*
 * The serving parent's part (signals.c, once SIGTERM, SIGUSR2 and SIGALRM
 * are blocked for good and read from its signalfd): their dispositions are
 * set to the handlers a connection's process needs, SIGTERM's and
 * SIGUSR2's here and the watchdog's. Blocked, they never run in the
 * parent, and every fork inherits them: no rt_sigaction on the
 * connection's path, where each call, and libc's page of it, costs
 * (lean.c). SIGUSR2 only retires a spare still waiting in accept(); to
 * any other connection's process it is plugsrv's (handler.h): it does
 * nothing but interrupt a blocking call, as the watchdog's SIGALRM may.
 */
void
connproc_signals_prepare(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = connproc_on_signal; /* no SA_RESTART: wake up a read */
    connproc_term_inherited = sigaction(SIGTERM, &sa, NULL) == 0;
    connproc_usr2_inherited = sigaction(SIGUSR2, &sa, NULL) == 0;
    watchdog_prepare();
    connproc_snapshot();
}

static void
connproc_take(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = connproc_on_signal; /* no SA_RESTART: wake up a read */
    sigaction(sig, &sa, NULL);
}

/*
 * handler.h keeps SIGTERM and SIGUSR2 for plugsrv, but a module's entry
 * point, or a library it loads, may take them over. In a spare that
 * would cost more than its connection: it would sit in accept() through a
 * reload, serving the old config, and through a shutdown. They are held
 * while the entry point runs and put back after it, so that one sent
 * meanwhile reaches plugsrv's handler. Raw system calls when nothing
 * changed: libc's sigaction() is a page more for every spare (lean.c).
 */
void
connproc_signals_hold(void)
{
    lean_sigmask2(SIG_BLOCK, SIGTERM, SIGUSR2);
}

void
connproc_signals_reclaim(void)
{
    if (lean_sig_handler(SIGTERM) != connproc_on_signal)
        connproc_take(SIGTERM);
    if (lean_sig_handler(SIGUSR2) != connproc_on_signal)
        connproc_take(SIGUSR2);
    lean_sigmask2(SIG_UNBLOCK, SIGTERM, SIGUSR2);
}

/* Everything back to the default, except that SIGPIPE stays ignored (as
 * the parent left it: a handler writing to a client that has gone must not
 * die of it), SIGTERM asks for a clean end and SIGUSR2 for a spare's
 * retirement (both inherited from a serving parent, set here otherwise).
 * A zeroed sigset_t is the empty set on Linux. */
static void
connproc_reset_signals(int spare)
{
    struct sigaction sa;
    int i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (i = 0; i < connproc_nchanged; i++)
        sigaction(connproc_changed[i], &sa, NULL);
    if (!connproc_term_inherited)
        connproc_take(SIGTERM);
    if (spare && !connproc_usr2_inherited)
        connproc_take(SIGUSR2);
    lean_unblock_all();
}

/* Closes every fd above 2 but the n in keep: a handler gets no listener,
 * pipe or log file of the parent's. */
static void
connproc_keep_fds(const int *keep, int n)
{
    int fds[CONNPROC_KEEP_MAX], i, j, t;
    unsigned lo = 3;

    if (n > CONNPROC_KEEP_MAX)
        n = CONNPROC_KEEP_MAX;
    for (i = 0; i < n; i++) {
        for (j = i; j > 0 && fds[j - 1] > keep[i]; j--)
            fds[j] = fds[j - 1];
        fds[j] = keep[i];
    }
    for (i = 0; i < n; i++) {
        t = fds[i];
        if (t < (int)lo)
            continue;
        if (t > (int)lo)
            lean_close_range(lo, (unsigned)t - 1);
        lo = (unsigned)t + 1;
    }
    lean_close_range(lo, ~0U);
}

/* Set by the parent once its fd 0 is /dev/null, opened read-write. */
int connproc_stdin_null;

static int
connproc_kept(const int *keep, int n, int fd)
{
    int i;

    for (i = 0; i < n; i++)
        if (keep[i] == fd)
            return 1;
    return 0;
}

/* stdin and stdout on /dev/null, not the parent's terminal or pipe (a
 * handler's stray printf, a program it runs); stderr stays the log. An fd
 * the process keeps is left alone, should it be 0 or 1. Usually fd 0 is
 * the parent's /dev/null already: one dup2() instead of an open() that
 * walks the path on every connection. */
static void
connproc_null_stdio(const int *keep, int n)
{
    int fd, null;

    if (connproc_stdin_null && !connproc_kept(keep, n, 0) &&
        !connproc_kept(keep, n, 1)) {
        lean_dup2(STDIN_FILENO, STDOUT_FILENO);
        return;
    }
    if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
        return;
    for (fd = 0; fd <= 1; fd++)
        if (!connproc_kept(keep, n, fd) && null != fd)
            dup2(null, fd);
    if (null > 1)
        close(null);
}

/* The limits a connection's process gets, worked out once in the parent
 * (whose own limits the children inherit), so that a child only sets. */
static struct {
    int resource;
    struct rlimit rl;
    int set;
} connproc_limits[3] = {
    { .resource = RLIMIT_CPU },
    { .resource = RLIMIT_AS },
    { .resource = RLIMIT_NOFILE },
};

static void
connproc_limit_prepare(int i, long long value)
{
    struct rlimit cur;

    connproc_limits[i].set = 0;
    if (value <= 0 || getrlimit(connproc_limits[i].resource, &cur) == -1)
        return;
    /* Only ever lower: a limit plugsrv was started under stays. */
    if (cur.rlim_max != RLIM_INFINITY && (rlim_t)value >= cur.rlim_max)
        return;
    connproc_limits[i].rl.rlim_cur = connproc_limits[i].rl.rlim_max =
        (rlim_t)value;
    /* At the soft CPU limit the kernel sends SIGXCPU, at the hard one
     * SIGKILL: a second apart, the log can say "cpu-limit". */
    if (connproc_limits[i].resource == RLIMIT_CPU &&
        (cur.rlim_max == RLIM_INFINITY || (rlim_t)value + 1 <= cur.rlim_max))
        connproc_limits[i].rl.rlim_max = (rlim_t)value + 1;
    connproc_limits[i].set = 1;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROC_ASAN 1
#endif
#endif

void
connproc_limits_prepare(const struct rlimits *rl)
{
    connproc_limit_prepare(0, rl->cpu);
#if !defined(__SANITIZE_ADDRESS__) && !defined(PROC_ASAN)
    /* AddressSanitizer reserves terabytes of address space up front. */
    connproc_limit_prepare(1, rl->as);
#endif
    connproc_limit_prepare(2, rl->nofile);
}

static int
connproc_limits_apply(void)
{
    int i;

    for (i = 0; i < 3; i++) {
        if (connproc_limits[i].set &&
            lean_setrlimit(connproc_limits[i].resource,
                           &connproc_limits[i].rl) == -1)
            return -1;
    }
    return 0;
}

/*
 * The one setup of a fresh fork of the parent, whatever it becomes: a
 * connection's process, a prefork spare or a probe. The parent's signal
 * handling undone, tied to the parent's life, its own process group (what
 * a handler forks dies with it), only the fds in cs->keep, and the
 * resource limits connections run under. -1 if a limit could not be set.
 */
int
connproc_init(const struct connproc_setup *cs)
{
    log_forked();
    lean_clock_forked();
    connproc_conn_fd = cs->conn_fd;
    connproc_reset_signals(cs->spare);
    lean_setpgid();
    reaper_init();
    connproc_keep_fds(cs->keep, cs->nkeep);
    connproc_null_stdio(cs->keep, cs->nkeep);
    if (connproc_limits_apply() == -1)
        return -1;
    return connproc_become(cs->as, cs->parent);
}

/*
 * Becomes the listener's user, then ties the process to the parent's
 * life: the kernel clears the parent-death signal when credentials
 * change, so it is set after. SIGKILL, not SIGTERM: a parent that was
 * killed cannot ask for a clean end, and a handler spinning in a callback
 * would never see one.
 */
int
connproc_become(const struct listener_conf *as, pid_t parent)
{
    if (priv_become(as) == -1)
        return -1;
    lean_prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (lean_getppid() != parent)
        _exit(CONN_SHUTDOWN);
    return 0;
}

void
connproc_exit(int status)
{
    reaper_end_descendants();
    _exit(status);
}
