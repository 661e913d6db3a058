/*
 * stress.h - what the stress tests need beyond the integration harness:
 * starting a program with the harness's hook run in the forked child before
 * exec (an rlimit, another user) or under valgrind and waiting for it to be
 * ready, plugload runs in the background, and numbers read from /proc (RSS,
 * CPU time) and from the log (pids).
 */
#ifndef STRESS_H
#define STRESS_H

#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

/* hs_start_prep(): runs argv (argv[0] is the program; NULL means plugsrv
 * -c h->conf) with prep(arg) in the child first, as h->pid; then waits up
 * to timeout_ms for the " ready " line. */
int st_start_ready(struct hs *h, const char *const *argv, hs_prep_fn prep,
                   void *arg, int timeout_ms);

/* Waits for pid up to timeout_ms; its wait status, or -1 (then it was
 * killed and reaped). */
int st_wait(pid_t pid, int timeout_ms);

/* A plugload run in the background against 127.0.0.1:port. */
struct st_load {
    pid_t pid;
    char out[512]; /* its stdout: the RESULT line */
    char err[512];
    int status;       /* its wait status after st_load_wait() */
    char result[512]; /* the RESULT line */
};
/* mode conn|rr|stream, xform echo|upper|suffix:SFX, total ops, conc. */
int st_load_start(struct hs *h, struct st_load *ld, const char *tag, int port,
                  const char *mode, const char *xform, long total, int conc,
                  int hard_secs);
/* Waits for it; 0 when it exited 0 with no failure of any kind. */
int st_load_wait(struct st_load *ld, int timeout_ms);
/* A counter from the RESULT line ("ops", "wrong", ...), or -1. */
long st_load_value(const struct st_load *ld, const char *key);

/* VmRSS of pid in KiB, or -1. */
long st_rss_kb(pid_t pid);
/* utime + stime of pid in clock ticks, or -1. */
long long st_cpu_ticks(pid_t pid);
/* An integer from the environment, or def. */
long st_env_long(const char *name, long def);

/* The pids of the log lines "<event> ..." (the word after "]: "), in
 * order; returns how many (at most cap). */
int st_log_pids(struct hs *h, const char *event, pid_t *pids, int cap);
/* Are the two pid lists the same set? */
int st_same_pids(pid_t *a, int na, pid_t *b, int nb);

/* Waits until the log has as many "exit " lines as "accept " lines; 0, or
 * -1 at the deadline. */
int st_wait_balanced(struct hs *h, int timeout_ms);

/* Compiles a handler from C source text into dir/name.so (mode 0644). */
int st_build_handler(struct hs *h, const char *name, const char *src);

/* Copies a file (mode mode). */
int st_copy(const char *from, const char *to, int mode);

/* cmocka teardown for tests with long logs: when the test failed, shows a
 * summary (counts, the lines that are not accept or ok exits, the tail)
 * instead of the whole log, then hs_free(). */
int st_teardown(void **state);

/* Call first in main(): hs_global_init(), and argv[1], if there is one,
 * becomes cmocka's test filter (ctest runs each test on its own). */
void st_init(int argc, char **argv);

/* Are we root? (the privilege tests skip otherwise) */
int st_root(void);

#endif /* STRESS_H */
