/*
 * modguard.c - the process's state around a dlopen(): a module's
 * constructors run in whatever process loads it, the parent included. What
 * they may change that the parent relies on is saved before and put back
 * after (every signal's disposition, the signal mask); what cannot be put
 * back (a thread they started) refuses the module.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

/* The number of threads of this process, from /proc/self/stat; -1 if it
 * cannot be read. */
static long
modguard_threads(void)
{
    char buf[1024], *p;
    long n = -1;
    ssize_t len;
    int fd;

    if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) == -1)
        return -1;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return -1;
    buf[len] = '\0';
    /* The name, in parentheses, may hold spaces: count from its end. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d"
               " %*d %*d %ld",
               &n) != 1)
        return -1;
    return n;
}

static void
modguard_get(int sig, struct sigaction *sa)
{
    /* glibc fills only the kernel's part of sa_mask: zero the rest, so
     * that two snapshots compare equal when they are. */
    memset(sa, 0, sizeof(*sa));
    sigaction(sig, NULL, sa);
}

/* Signals that came while a module loaded, raised again once the state
 * is put back. */
static volatile sig_atomic_t modguard_came[NSIG];

static void
modguard_catch(int sig)
{
    modguard_came[sig] = 1;
}

/*
 * A signal that is blocked and not ignored is one the parent reads from
 * its signalfd (signals.c). A constructor that clears the mask would let
 * it take its default (end the parent: HUP, USR1...; vanish: CHLD) or run
 * the handler set for the children (TERM). While the module loads they
 * are caught instead.
 */
static void
modguard_hold(struct modguard *g)
{
    struct sigaction sa;
    int sig;

    memset(&sa, 0, sizeof(sa));
    sigfillset(&sa.sa_mask);
    sa.sa_handler = modguard_catch;
    sigemptyset(&g->caught);
    for (sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || !sigismember(&g->mask, sig) ||
            g->sa[sig].sa_handler == SIG_IGN)
            continue;
        modguard_came[sig] = 0;
        if (sigaction(sig, &sa, NULL) == 0)
            sigaddset(&g->caught, sig);
    }
}

void
modguard_save(struct modguard *g)
{
    int sig;

    for (sig = 1; sig < NSIG; sig++)
        modguard_get(sig, &g->sa[sig]);
    sigprocmask(SIG_SETMASK, NULL, &g->mask);
    g->threads = modguard_threads();
    modguard_hold(g);
}

static int
modguard_same_set(const sigset_t *a, const sigset_t *b)
{
    int sig;

    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    }
    return 1;
}

static int
modguard_same(const struct sigaction *a, const struct sigaction *b)
{
    return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
           modguard_same_set(&a->sa_mask, &b->sa_mask);
}

/* What came while it was caught goes to the signalfd now, blocked again.
 * SIGCHLD always: putting back its default dropped one pending. */
static void
modguard_release(const struct modguard *g)
{
    int sig;

    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(&g->caught, sig) &&
            (modguard_came[sig] || sig == SIGCHLD))
            raise(sig);
    }
}

/* Puts back the mask (first: nothing then takes a default action), then
 * each disposition that changed since g was saved, and says so if
 * logged. */
static void
modguard_signals(const struct modguard *g, const char *path, int logged)
{
    char v[LOG_VALUE_MAX];
    struct sigaction now;
    sigset_t mask;
    int sig, held, changed;

    log_value(v, sizeof(v), path);
    sigprocmask(SIG_SETMASK, NULL, &mask);
    if (!modguard_same_set(&mask, &g->mask)) {
        sigprocmask(SIG_SETMASK, &g->mask, NULL);
        if (logged)
            log_event("warning what=module path=%s msg=\"changed the signal "
                      "mask in the parent; restored\"",
                      v);
    }
    for (sig = 1; sig < NSIG; sig++) {
        modguard_get(sig, &now);
        held = sigismember(&g->caught, sig);
        changed = held ? now.sa_handler != modguard_catch
                       : !modguard_same(&now, &g->sa[sig]);
        if (!held && !changed)
            continue;
        /* A held one is put back whether or not the module changed it. */
        if (sigaction(sig, &g->sa[sig], NULL) == -1 || !changed)
            continue;
        if (logged)
            log_event("warning what=module path=%s msg=\"changed the "
                      "disposition of %s in the parent; restored\"",
                      v, log_signame(sig));
    }
    modguard_release(g);
}

int
modguard_check(const struct modguard *g, const char *path, int logged,
               char *err, size_t errlen)
{
    long threads = modguard_threads();

    modguard_signals(g, path, logged);
    /* fork() copies only the thread that calls it: locks another thread
     * held stay locked in every child for good. */
    if (g->threads > 0 && threads > g->threads) {
        snprintf(err, errlen,
                 "refused: module %s started a thread when it was loaded "
                 "(forking a multi-threaded process is unsafe)",
                 path);
        return -1;
    }
    return 0;
}
