/*
 * watchdog.c - ends a connection's process when its handler is stuck
 * inside a callback for longer than idle_timeout: blocked or spinning
 * there, it is beyond the reach of SO_RCVTIMEO and SO_SNDTIMEO, which bound
 * only plugsrv's own waits.
 *
 * One SIGALRM is kept pending at most, armed when a callback starts and
 * none is, never disarmed: arming and disarming around every callback
 * cost two syscalls per request, and alarm() is dear (interrupts are
 * toggled). When it goes off, a callback that has run for idle_timeout
 * ends the process; a younger one gets the alarm re-armed for what it has
 * left; a handler waiting in host->write() for a slow client gets a fresh
 * one (the write judges the client); outside a callback it only
 * interrupts plugsrv's read, and session.c judges the client's silence.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

static LEAN_DATA long watch_ms; /* 0 = off */
static LEAN_DATA volatile sig_atomic_t in_handler, in_write;
static LEAN_DATA volatile long enter_ms; /* when the callback began */
static LEAN_DATA volatile long armed_ms; /* when the alarm goes off */
static LEAN_DATA long write_began;

/* alarm() counts whole seconds: round up, so it never goes off early. */
static void
watchdog_arm(long now, long ms)
{
    lean_alarm((unsigned)((ms + 999) / 1000));
    armed_ms = now + ((ms + 999) / 1000) * 1000;
}

static void
watchdog_on_alarm(int sig)
{
    long now = (long)clock_coarse_ms();

    (void)sig;
    armed_ms = 0;
    if (in_write)
        watchdog_arm(now, watch_ms);
    else if (in_handler && now - enter_ms >= watch_ms)
        _exit(CONN_STUCK);
    else if (in_handler)
        watchdog_arm(now, watch_ms - (now - enter_ms));
}

static int watchdog_inherited; /* the handler came with the fork */

static int
watchdog_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa)); /* an empty sa_mask, without a libc call */
    sa.sa_handler = watchdog_on_alarm;
    sa.sa_flags = SA_RESTART; /* most of a handler's own calls carry on */
    return sigaction(SIGALRM, &sa, NULL);
}

/* In the serving parent, where SIGALRM is blocked and read from the
 * signalfd (so the handler never runs there): set once for every fork to
 * inherit, as connproc.c does SIGTERM's. */
void
watchdog_prepare(void)
{
    watchdog_inherited = watchdog_install() == 0;
}

void
watchdog_start(int seconds)
{
    if (seconds <= 0)
        return;
    if (!watchdog_inherited)
        watchdog_install();
    watch_ms = (long)clock_sec_ms(seconds);
}

void
watchdog_enter(void)
{
    long now;

    if (watch_ms == 0)
        return;
    now = (long)clock_coarse_ms();
    enter_ms = now;
    in_handler = 1;
    /* A pending alarm goes off within watch_ms: it will do. */
    if (armed_ms <= now)
        watchdog_arm(now, watch_ms);
}

void
watchdog_leave(void)
{
    in_handler = 0;
}

/* Time spent waiting for a slow client is not the handler's: when the
 * write is done, the callback's clock moves on by as long as it took. */
void
watchdog_write(int writing)
{
    long now;

    if (watch_ms == 0)
        return;
    now = (long)clock_coarse_ms();
    if (writing)
        write_began = now;
    else
        enter_ms += now - write_began;
    in_write = writing;
}

/* Milliseconds of idle_timeout left since `since`; <= 0 when it is up. */
long long
watchdog_left(long long since)
{
    return watch_ms - (clock_coarse_ms() - since);
}

/* A write interrupted by the alarm: has the client read nothing for
 * idle_timeout? (SO_SNDTIMEO restarts with every retried send.) */
int
watchdog_stalled(long long since)
{
    return watch_ms > 0 && watchdog_left(since) <= 0;
}

/* The handler took the connection over (host->take_fd): from now on its
 * callbacks may run as long as they like, and no alarm is left pending
 * to interrupt them, or a program it runs. */
void
watchdog_stop(void)
{
    watch_ms = 0;
    in_handler = in_write = 0;
    lean_alarm(0);
    armed_ms = 0;
}
