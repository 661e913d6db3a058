/*
 * stats.c - each listener's counters: connections accepted, refused by
 * reason, ended by reason. The parent counts where it logs, so that the
 * numbers and the log lines agree; the metrics read them.
 */
#include <string.h>

#include "plugsrv.h"

const char *const stats_refusals[STATS_NREFUSALS] = {
    [STATS_ACL] = "acl",
    [STATS_PER_SOURCE] = "per_source",
    [STATS_RATE] = "rate",
    [STATS_MAX_CONNECTIONS] = "max_connections",
    [STATS_LISTENER_MAX] = "listener_max_connections",
    [STATS_NO_FDS] = "no_fds",
};

/* children.c's reason=... words; the last counts any other. */
const char *const stats_exits[STATS_NEXITS] = {
    "ok",
    "setup",
    "module",
    "handler-error",
    "idle-timeout",
    "line-too-long",
    "io-error",
    "shutdown",
    "handler-timeout",
    "out-of-memory",
    "cpu-limit",
    "killed",
    "signal",
    "exit",
    "max-duration",
    "refused",
    "other",
};

/* The index of word in names (n of them), or n. */
static size_t
stats_index(const char *const *names, size_t n, const char *word)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (names[i] == word || strcmp(names[i], word) == 0)
            return i;
    }
    return n;
}

void
stats_accepted(struct stats *st)
{
    st->accepted++;
}

void
stats_refused(struct stats *st, const char *reason)
{
    size_t i = stats_index(stats_refusals, STATS_NREFUSALS, reason);

    if (i < STATS_NREFUSALS) /* every reason plugsrv logs is there */
        st->refused[i]++;
}

void
stats_exited(struct stats *st, const char *reason)
{
    size_t i = stats_index(stats_exits, STATS_NEXITS - 1, reason);

    st->exited[i]++; /* "other" when it is none of them */
}
