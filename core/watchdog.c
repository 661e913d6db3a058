/*
 * watchdog.c - ends a connection's process when its handler is stuck
 * inside a callback for longer than idle_timeout: blocked or spinning
 * there, it is beyond the reach of SO_RCVTIMEO and SO_SNDTIMEO, which bound
 * only plugsrv's own waits. SIGALRM is armed for each callback and disarmed
 * after it; while the handler waits in host->write() for a slow client the
 * alarm only re-arms itself, and the write decides whether the client has
 * stalled.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

static unsigned watch;                          /* seconds, 0 = off */
static volatile sig_atomic_t in_handler, in_write;

static void
watchdog_on_alarm(int sig)
{
    (void)sig;
    if (in_write)
        alarm(watch);       /* the write's own stall check decides */
    else if (in_handler)
        _exit(CHILD_STUCK);
}

void
watchdog_start(int seconds)
{
    struct sigaction sa;

    if (seconds <= 0)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = watchdog_on_alarm;      /* no SA_RESTART: see host.c */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    watch = (unsigned)seconds;
}

void
watchdog_enter(void)
{
    if (watch > 0)
        alarm(watch);
    in_handler = 1;
}

void
watchdog_leave(void)
{
    if (watch > 0)
        alarm(0);
    in_handler = 0;
}

void
watchdog_write(int writing)
{
    in_write = writing;
}

long long
watchdog_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A write interrupted by the alarm: has the client read nothing for
 * idle_timeout? (SO_SNDTIMEO restarts with every retried send.) */
int
watchdog_stalled(long long since)
{
    return watch > 0 && watchdog_ms() - since >= (long long)watch * 1000;
}
