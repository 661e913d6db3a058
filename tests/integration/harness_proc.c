/*
 * harness_proc.c - processes: starting plugsrv or any program (with a hook
 * in the child before exec), signalling, waiting for an end on a pidfd, and
 * counting children, zombies, fds and orphans in /proc.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- processes ---- */

/* Waits for pid with a deadline (poll on pidfd if there is one). */
static int
hs_waitpid(pid_t pid, int pidfd, int timeout_ms, int *status)
{
    long long deadline = hs_now_ms() + timeout_ms;
    int i;

    for (i = 0; i < 100000; i++) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        pid_t r = waitpid(pid, status, WNOHANG);
        int left;

        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        left = hs_left(deadline);
        if (left == 0)
            return -1;
        if (pidfd >= 0)
            poll(&pfd, 1, left);
        else
            poll(NULL, 0, left < 10 ? left : 10);
    }
    return -1;
}

/* Ends and reaps every process that was left to us, but the daemon. */
void
hs_end_orphans(struct hs *h)
{
    int round;

    for (round = 0; round < 20 && hs_orphans(h) > 0; round++) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        if (d == NULL)
            return;
        while ((de = readdir(d)) != NULL && n++ < 100000) {
            pid_t pid = (pid_t)atoi(de->d_name);
            char path[64], *stat;
            char *p;
            int status;

            if (pid <= 0 || (pid == h->pid && !h->reaped))
                continue;
            snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
            stat = hs_slurp(path);
            p = stat ? strrchr(stat, ')') : NULL;
            if (p && atoi(p + 4) == (int)getpid()) {
                kill(pid, SIGKILL);
                hs_waitpid(pid, -1, 5000, &status);
            }
            free(stat);
        }
        closedir(d);
    }
}

/* Under ASan, let faults be faults: the tests check that plugsrv reports
 * a handler's SIGSEGV or SIGABRT, not ASan's report of it. Options the
 * user set come after ours, so they win. */
static void
hs_asan_options(void)
{
    static const char ours[] = "handle_segv=0:handle_sigbus=0:"
                               "handle_sigfpe=0:handle_sigill=0:"
                               "handle_abort=0";
    const char *user = getenv("ASAN_OPTIONS");
    char buf[2048];

    if (user == NULL || *user == '\0') {
        setenv("ASAN_OPTIONS", ours, 1);
        return;
    }
    snprintf(buf, sizeof(buf), "%s:%s", ours, user);
    setenv("ASAN_OPTIONS", buf, 1);
}

/* In the child: a clean slate, prep(arg) if there is one, then exec.
 * Never returns. */
static void
hs_exec(const char *const *argv, const char *outpath, const char *errpath,
        hs_prep_fn prep, void *arg)
{
    struct rlimit core = { 0, 0 };
    sigset_t none;
    int sig, fd;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    setrlimit(RLIMIT_CORE, &core);
    /* Not the config's folder: relative paths must be resolved against
     * the config file, never against the working directory. */
    if (chdir("/") < 0)
        _exit(126);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != 0) {
        dup2(fd, 0);
        close(fd);
    }
    fd = open(outpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0 && fd != 1) {
        dup2(fd, 1);
        close(fd);
    }
    fd = open(errpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0 && fd != 2) {
        dup2(fd, 2);
        close(fd);
    }
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
        for (fd = 3; fd < 4096; fd++)
            close(fd);
    hs_asan_options();
    if (prep != NULL)
        prep(arg);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

pid_t
hs_spawn(const char *const *argv, const char *outpath, const char *errpath,
         hs_prep_fn prep, void *arg)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0)
        hs_exec(argv, outpath, errpath, prep, arg);
    return pid;
}

int
hs_start_prep(struct hs *h, const char *const *argv, hs_prep_fn prep,
              void *arg)
{
    const char *def[] = { PLUGSRV_BIN, "-c", h->conf, NULL };
    char outpath[512];

    if (h->pid > 0 && !h->reaped)
        return -1;
    if (h->pidfd >= 0)
        close(h->pidfd);
    hs_path(h, "plugsrv.out", outpath, sizeof(outpath));
    h->reaped = 0;
    h->status = 0;
    h->pid = hs_spawn(argv ? argv : def, outpath, h->log, prep, arg);
    if (h->pid < 0) {
        h->pid = 0;
        h->pidfd = -1;
        return -1;
    }
    h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
    if (h->pidfd >= 0)
        fcntl(h->pidfd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int
hs_start(struct hs *h)
{
    return hs_start_prep(h, NULL, NULL, NULL);
}

int
hs_start_ready(struct hs *h)
{
    if (hs_start(h) < 0)
        return -1;
    return hs_wait_log(h, 1, HS_START_MS, " ready ", NULL);
}

int
hs_run_prog(struct hs *h, int timeout_ms, const char *const *argv)
{
    char outpath[512], errpath[512];
    int status = 0, pidfd, rc;
    pid_t pid;

    hs_path(h, "run.out", outpath, sizeof(outpath));
    hs_path(h, "run.err", errpath, sizeof(errpath));
    unlink(outpath);
    unlink(errpath);
    pid = hs_spawn(argv, outpath, errpath, NULL, NULL);
    if (pid < 0)
        return -1;
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    rc = hs_waitpid(pid, pidfd, timeout_ms, &status);
    if (rc < 0) {
        kill(pid, SIGKILL);
        hs_waitpid(pid, pidfd, 5000, &status);
    }
    if (pidfd >= 0)
        close(pidfd);
    free(h->out);
    free(h->err);
    h->out = hs_slurp(outpath);
    h->err = hs_slurp(errpath);
    return rc < 0 ? -1 : status;
}

int
hs_run(struct hs *h, int timeout_ms, const char *const *argv)
{
    const char *full[16];
    int i;

    full[0] = PLUGSRV_BIN;
    for (i = 0; argv[i] != NULL && i < 14; i++)
        full[i + 1] = argv[i];
    full[i + 1] = NULL;
    return hs_run_prog(h, timeout_ms, full);
}

int
hs_signal(struct hs *h, int sig)
{
    if (h->pid <= 0 || h->reaped)
        return -1;
    return kill(h->pid, sig);
}

int
hs_wait_exit(struct hs *h, int timeout_ms)
{
    if (h->pid <= 0)
        return -1;
    if (!h->reaped) {
        if (hs_waitpid(h->pid, h->pidfd, timeout_ms, &h->status) < 0)
            return -1;
        h->reaped = 1;
    }
    return h->status;
}

int
hs_follow(struct hs *h, pid_t pid)
{
    if (h->pidfd >= 0)
        close(h->pidfd);
    h->pid = pid;
    h->reaped = 0;
    h->status = 0;
    h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (h->pidfd < 0)
        return -1;
    fcntl(h->pidfd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int
hs_alive(struct hs *h)
{
    if (h->pid <= 0 || h->reaped)
        return 0;
    if (waitpid(h->pid, &h->status, WNOHANG) == h->pid) {
        h->reaped = 1;
        return 0;
    }
    return 1;
}

/* ---- /proc ---- */

/* Counts the processes whose parent is ppid (only zombies if asked). */
static int
hs_scan_children(pid_t ppid, int zombies_only)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int count = 0, n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL && n++ < 100000) {
        char path[300], buf[512], *p;
        ssize_t len;
        int fd;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        len = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        p = strrchr(buf, ')');
        /* ") S 1234 ..." : state, then parent pid */
        if (p == NULL || p[1] == '\0' || p[2] == '\0')
            continue;
        if (atoi(p + 4) != (int)ppid)
            continue;
        if (!zombies_only || p[2] == 'Z')
            count++;
    }
    closedir(d);
    return count;
}

int
hs_children(pid_t pid)
{
    return hs_scan_children(pid, 0);
}

int
hs_zombies(pid_t pid)
{
    return hs_scan_children(pid, 1);
}

int
hs_orphans(struct hs *h)
{
    int n = hs_scan_children(getpid(), 0);

    if (h->pid > 0 && !h->reaped && hs_pid_exists(h->pid))
        n--;
    return n;
}

int
hs_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *de;
    DIR *d;
    int count = 0, n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL && n++ < 100000)
        if (de->d_name[0] != '.')
            count++;
    closedir(d);
    return count;
}

int
hs_pid_exists(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int
hs_sanitized(void)
{
#if defined(HS_SANITIZE) && HS_SANITIZE
    return 1;
#elif defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}
