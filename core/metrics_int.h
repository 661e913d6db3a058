/*
 * metrics_int.h - what metrics.c (the parent's counters and endpoint) and
 * scrape.c (the process that answers one scrape) share: the counters'
 * layout. Only these two files include it.
 */
#ifndef PLUGSRV_METRICS_INT_H
#define PLUGSRV_METRICS_INT_H

#include <stddef.h>

#include "plugsrv.h"

#define METRICS_REASONS 24   /* distinct reasons per listener and kind */
#define METRICS_SERIES  1024 /* listeners, however many reloads name */
#define METRICS_SCRAPES 4    /* scrapes answered at once; more wait */
#define METRICS_BUCKETS 12

struct metrics_count {
    char reason[32]; /* "listener_max_connections" and its NUL fit */
    unsigned long long n;
};

struct metrics_series {
    char listener[64];
    unsigned long long accepted;
    struct metrics_count refused[METRICS_REASONS];
    struct metrics_count exited[METRICS_REASONS];
    unsigned long long buckets[METRICS_BUCKETS]; /* not cumulative */
    unsigned long long count, sum_ms;
    /* In a scrape's snapshot only: its connections being served then. The
     * parent counts those in memory a fork does not share (lean.c). */
    unsigned long long active;
};

struct metrics_state {
    long long start;               /* the parent's start, Unix seconds */
    unsigned long long reloads[2]; /* error, ok */
    size_t nseries;
    struct metrics_series series[]; /* room for as many as metrics.c mapped */
};

/* The bytes of a state with n series: what a snapshot copies. */
#define METRICS_SIZE(n)                                                       \
    (offsetof(struct metrics_state, series) +                                 \
     (n) * sizeof(struct metrics_series))

/* Upper bounds of the duration histogram, in milliseconds. */
extern const long long metrics_le_ms[METRICS_BUCKETS];

/* ---- scrape.c: the process that answers one scrape ---- */
__attribute__((noreturn)) void
scrape_run(const struct config *conf, const struct metrics_state *snap,
           int fd);

#endif /* PLUGSRV_METRICS_INT_H */
