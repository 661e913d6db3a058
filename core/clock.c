/*
 * clock.c - the monotonic clock every timeout and duration in plugsrv is
 * measured with, in milliseconds (both processes). Deadlines are plain
 * numbers of milliseconds: "now + ms" to set one, "deadline - now" to see
 * what is left.
 */
#include <sys/time.h>
#include <time.h>

#include "plugsrv.h"

/* The clock id in units of 1/per_second of a second. */
static long long
clock_read(clockid_t id, long long per_second)
{
    struct timespec ts;

    lean_clock_gettime(id, &ts);
    return (long long)ts.tv_sec * per_second +
           ts.tv_nsec / (1000000000 / per_second);
}

long long
clock_ms(void)
{
    return clock_read(CLOCK_MONOTONIC, 1000);
}

/* Microseconds, for those who compare with others' clocks (systemd). */
long long
clock_us(void)
{
    return clock_read(CLOCK_MONOTONIC, 1000000);
}

/* A few milliseconds coarse, but read without touching the clock source
 * (from the vDSO once lean.c lets it): cheap enough to take around every
 * handler callback. */
long long
clock_coarse_ms(void)
{
    return clock_read(CLOCK_MONOTONIC_COARSE, 1000);
}

/* Seconds, as the config gives timeouts, in milliseconds. */
long long
clock_sec_ms(long long seconds)
{
    return seconds * 1000;
}

/* ms milliseconds (none if ms <= 0) as a timeval, as SO_RCVTIMEO takes it. */
struct timeval
clock_timeval(long long ms)
{
    struct timeval tv;

    if (ms < 0)
        ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

/* A wait of ms milliseconds (none if ms <= 0), as ppoll() takes it. */
struct timespec *
clock_wait(long long ms, struct timespec *ts)
{
    if (ms < 0)
        ms = 0;
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000;
    return ts;
}
