/*
 * stress.c - helpers of the stress tests (see stress.h): a start with a
 * hook in the child (the harness's hs_start_prep()) that waits for ready,
 * background plugload runs, /proc numbers, log pids.
 * Every wait has a deadline and waits for a condition, never a sleep.
 */
#define _GNU_SOURCE
#include "stress.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

int
st_start_ready(struct hs *h, const char *const *argv, hs_prep_fn prep,
               void *arg, int timeout_ms)
{
    if (hs_start_prep(h, argv, prep, arg) < 0)
        return -1;
    return hs_wait_log(h, 1, timeout_ms, " ready ", NULL);
}

int
st_wait(pid_t pid, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int status = 0, i, rc = -1;

    for (i = 0; i < 1000000; i++) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        pid_t r = waitpid(pid, &status, WNOHANG);
        long long left = deadline - hs_now_ms();

        if (r == pid) {
            rc = status;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        if (pidfd >= 0)
            poll(&pfd, 1, (int)left);
        else
            poll(NULL, 0, left < 10 ? (int)left : 10);
    }
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

/* ---- plugload ---- */

int
st_load_start(struct hs *h, struct st_load *ld, const char *tag, int port,
              const char *mode, const char *xform, long total, int conc,
              int hard_secs)
{
    char sport[16], stotal[32], sconc[16], shard[16], name[64];
    const char *argv[] = {
        PLUGLOAD_BIN, "-m", mode,   "-p", sport,       "-c",
        sconc,        "-n", stotal, "-H", "127.0.0.1", "-x",
        xform,        "-t", "20",   "-D", shard,       NULL
    };

    memset(ld, 0, sizeof(*ld));
    snprintf(sport, sizeof(sport), "%d", port);
    snprintf(stotal, sizeof(stotal), "%ld", total);
    snprintf(sconc, sizeof(sconc), "%d", conc);
    snprintf(shard, sizeof(shard), "%d", hard_secs);
    snprintf(name, sizeof(name), "load-%s.out", tag);
    hs_path(h, name, ld->out, sizeof(ld->out));
    snprintf(name, sizeof(name), "load-%s.err", tag);
    hs_path(h, name, ld->err, sizeof(ld->err));
    unlink(ld->out);
    unlink(ld->err);
    ld->pid = hs_spawn(argv, ld->out, ld->err, NULL, NULL);
    return ld->pid > 0 ? 0 : -1;
}

static void
st_first_line(const char *path, const char *prefix, char *buf, size_t len)
{
    char line[1024];
    FILE *f = fopen(path, "re");

    buf[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(line, "\n");

            if (n >= len)
                n = len - 1;
            memcpy(buf, line, n);
            buf[n] = '\0';
            break;
        }
    fclose(f);
}

int
st_load_wait(struct st_load *ld, int timeout_ms)
{
    ld->status = st_wait(ld->pid, timeout_ms);
    st_first_line(ld->out, "RESULT", ld->result, sizeof(ld->result));
    fprintf(stderr, "plugload[%d]: status %d: %s\n", (int)ld->pid, ld->status,
            ld->result[0] ? ld->result : "(no RESULT line)");
    if (ld->status != 0) {
        char err[512];

        st_first_line(ld->err, "", err, sizeof(err));
        fprintf(stderr, "plugload stderr: %s\n", err);
        return -1;
    }
    if (st_load_value(ld, "wrong") != 0 || st_load_value(ld, "refused") != 0 ||
        st_load_value(ld, "reset") != 0 || st_load_value(ld, "timeout") != 0 ||
        st_load_value(ld, "eof") != 0 || st_load_value(ld, "other") != 0)
        return -1;
    return 0;
}

long
st_load_value(const struct st_load *ld, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(ld->result, pat);
    return p == NULL ? -1 : strtol(p + strlen(pat), NULL, 10);
}

/* ---- /proc ---- */

long
st_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

long long
st_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, stime;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime(14) stime(15) */
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %llu %llu",
                            &ut, &stime) != 2)
        return -1;
    return (long long)(ut + stime);
}

long
st_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return def;
    n = strtol(v, &end, 10);
    return *end == '\0' && n > 0 ? n : def;
}

/* ---- the log ---- */

int
st_log_pids(struct hs *h, const char *event, pid_t *pids, int cap)
{
    char line[4096], pat[64], val[32];
    int n = 0;
    FILE *f = fopen(h->log, "re");

    if (f == NULL)
        return 0;
    snprintf(pat, sizeof(pat), "]: %s ", event);
    while (n < cap && fgets(line, sizeof(line), f) != NULL) {
        if (strchr(line, '\n') == NULL || strstr(line, pat) == NULL)
            continue;
        hs_log_value(line, "pid", val, sizeof(val));
        if (val[0] != '\0')
            pids[n++] = (pid_t)atoi(val);
    }
    fclose(f);
    return n;
}

static int
st_cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

    return (x > y) - (x < y);
}

int
st_same_pids(pid_t *a, int na, pid_t *b, int nb)
{
    int i;

    if (na != nb)
        return 0;
    qsort(a, (size_t)na, sizeof(*a), st_cmp_pid);
    qsort(b, (size_t)nb, sizeof(*b), st_cmp_pid);
    for (i = 0; i < na; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

int
st_wait_balanced(struct hs *h, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int i;

    for (i = 0; i < 1000; i++) {
        int acc = hs_log_count(h, "]: accept ", NULL);
        long long left = deadline - hs_now_ms();

        if (left <= 0)
            return -1;
        if (hs_wait_log(h, acc, (int)left, "]: exit ", NULL) < 0)
            return -1;
        if (hs_log_count(h, "]: accept ", NULL) == acc &&
            hs_log_count(h, "]: exit ", NULL) == acc)
            return 0;
    }
    return -1;
}

/* ---- files ---- */

int
st_build_handler(struct hs *h, const char *name, const char *src)
{
    char cpath[512], sopath[512], file[64];
    const char *argv[] = { TEST_CC, "-shared",
                           "-fPIC", "-fvisibility=hidden",
                           "-I",    PLUGSRV_INCLUDE_DIR,
                           "-o",    sopath,
                           cpath,   NULL };
    int status;

    snprintf(file, sizeof(file), "%s.c", name);
    hs_path(h, file, cpath, sizeof(cpath));
    snprintf(file, sizeof(file), "%s.so", name);
    hs_path(h, file, sopath, sizeof(sopath));
    snprintf(file, sizeof(file), "%s.c", name);
    if (hs_write_file(h, file, "%s", src) < 0)
        return -1;
    status = hs_run_prog(h, 60000, argv);
    if (status != 0) {
        fprintf(stderr, "cc failed (%d): %s\n", status, h->err ? h->err : "");
        return -1;
    }
    return chmod(sopath, 0644);
}

int
st_copy(const char *from, const char *to, int mode)
{
    char buf[65536];
    int in, out, rc = 0, i;

    in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    for (i = 0; i < 100000; i++) {
        ssize_t n = read(in, buf, sizeof(buf));

        if (n == 0)
            break;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    }
    close(in);
    if (close(out) < 0 || fchmodat(AT_FDCWD, to, (mode_t)mode, 0) < 0)
        rc = -1;
    return rc;
}

/* ---- teardown ---- */

static void
st_log_summary(struct hs *h)
{
    char line[4096];
    int total = 0, shown = 0;
    FILE *f = fopen(h->log, "re");

    if (f == NULL)
        return;
    fprintf(stderr,
            "--- plugsrv log summary (%s): accept=%d exit=%d "
            "exit-not-ok=%d refuse=%d error=%d\n",
            h->log, hs_log_count(h, "]: accept ", NULL),
            hs_log_count(h, "]: exit ", NULL),
            hs_log_count(h, "]: exit ", NULL) -
                hs_log_count(h, "]: exit ", "reason=ok", NULL),
            hs_log_count(h, "]: refuse ", NULL),
            hs_log_count(h, "]: error ", NULL));
    while (fgets(line, sizeof(line), f) != NULL) {
        total++;
        if (strstr(line, "]: accept ") != NULL ||
            (strstr(line, "]: exit ") != NULL &&
             strstr(line, "reason=ok") != NULL))
            continue;
        if (shown++ < 60)
            fputs(line, stderr);
    }
    fclose(f);
    fprintf(stderr, "--- (%d other lines shown of %d; %d lines in all)\n",
            shown < 60 ? shown : 60, shown, total);
}

int
st_teardown(void **state)
{
    struct hs *h = *state;

    if (h != NULL && !h->passed && hs_log_count(h, "", NULL) > 200) {
        st_log_summary(h);
        h->passed = 1; /* the summary stands for the whole log */
    }
    return hs_teardown(state);
}

void
st_init(int argc, char **argv)
{
    hs_global_init();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
}

int
st_root(void)
{
    return geteuid() == 0;
}
