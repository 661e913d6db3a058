/*
 * clock.c - the monotonic clock every timeout and duration in plugsrv is
 * measured with, in milliseconds (both processes). Deadlines are plain
 * numbers of milliseconds: "now + ms" to set one, "deadline - now" to see
 * what is left.
 */
#include <time.h>

#include "plugsrv.h"

long long
clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Microseconds, for those who compare with others' clocks (systemd). */
long long
clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A few milliseconds coarse, but read from the vDSO without touching the
 * clock source: cheap enough to take around every handler callback. */
long long
clock_coarse_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
