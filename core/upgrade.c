/*
 * upgrade.c - a restart that refuses and resets no connection (SIGUSR2,
 * nginx's binary upgrade), on the old parent's side. The parent starts
 * its own binary again, by the path it was started from, with the same
 * arguments, and hands it every listening socket by the sd_listen_fds(3)
 * protocol (activation.c takes them in). Both accept on the shared
 * sockets until the new one is ready; a connection waiting in a backlog
 * belongs to the socket, not to a process, so none is lost when the old
 * one closes its copies. The new one says "ready" by writing one byte on
 * a pipe (PLUGSRV_UPGRADE_FD); if the pipe ends without it, the new
 * process failed to start and the old one keeps serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

static char upgrade_path[PATH_MAX]; /* this binary, resolved at start */
static char **upgrade_argv;         /* a copy of the arguments */
static int upgrade_pipe = -1;       /* read end while a successor starts */
static pid_t upgrade_pid;           /* that successor */

/*
 * In main(), first: how to start this program again. The binary's path is
 * read now, not at SIGUSR2: a package upgrade replaces the file, and the
 * path then names the new binary, which is the point.
 */
void
upgrade_init(int argc, char **argv)
{
    ssize_t n;
    int i;

    n = readlink("/proc/self/exe", upgrade_path, sizeof(upgrade_path) - 1);
    upgrade_path[n > 0 ? n : 0] = '\0';
    if ((upgrade_argv = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
        return;
    for (i = 0; i < argc; i++) {
        if ((upgrade_argv[i] = strdup(argv[i])) == NULL) {
            upgrade_argv = NULL; /* no upgrade; the rest is not freed */
            return;
        }
    }
}

/* The listeners' names for LISTEN_FDNAMES, then "metrics" if mfd is
 * passed too; one that systemd would not accept as a name becomes
 * "unknown" (the new process matches by address, the names are for its
 * log). */
static void
upgrade_names(const struct listener *ls, size_t n, int mfd, char *buf,
              size_t len)
{
    size_t i, at = 0;
    const char *name;
    int w;

    buf[0] = '\0';
    for (i = 0; i < n && at < len; i++) {
        name = ls[i].conf->name;
        if (strchr(name, ':') != NULL || strlen(name) > 255)
            name = "unknown";
        w = snprintf(buf + at, len - at, "%s%s", i ? ":" : "", name);
        if (w < 0)
            return;
        at += (size_t)w;
    }
    if (mfd != -1 && at < len)
        snprintf(buf + at, len - at, "%smetrics", n ? ":" : "");
}

/* fds 3.. are the n listeners, the metrics socket if mfd is one, then
 * the pipe; nothing else stays open. Each goes up first, so that moving
 * one down never closes another. */
static int
upgrade_arrange(const struct listener *ls, size_t n, int mfd, int wfd)
{
    int fds[ACTIVATION_MAX + 2], hi[ACTIVATION_MAX + 2];
    size_t i, k = 0;

    for (i = 0; i < n; i++)
        fds[k++] = ls[i].fd;
    if (mfd != -1)
        fds[k++] = mfd;
    fds[k++] = wfd;
    for (i = 0; i < k; i++) {
        hi[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + (int)k);
        if (hi[i] == -1)
            return -1;
    }
    for (i = 0; i < k; i++)
        if (dup2(hi[i], 3 + (int)i) == -1)
            return -1;
    close_range(3 + (unsigned)k, ~0U, 0);
    return 0;
}

/* In the fork: becomes the new plugsrv, or exits 127 saying why. */
static __attribute__((noreturn)) void
upgrade_exec(const struct listener *ls, size_t n, int wfd)
{
    char names[4096], num[32];
    const char *notify = notify_socket();
    int mfd = metrics_socket(), efd, journal;
    size_t nfds = n + (mfd != -1);
    sigset_t none;

    /* The new process's stderr is the one plugsrv was started with (the
     * journal, say), not this one's log.file: it opens that itself. */
    if ((efd = logbuf_stderr_fd(&journal)) != STDERR_FILENO)
        dup2(efd, STDERR_FILENO);
    log_forked();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    upgrade_names(ls, n, mfd, names, sizeof(names));
    if (upgrade_arrange(ls, n, mfd, wfd) == -1) {
        log_warn("upgrade status=error what=fds");
        _exit(127);
    }
    snprintf(num, sizeof(num), "%zu", nfds);
    setenv("LISTEN_FDS", num, 1);
    snprintf(num, sizeof(num), "%ld", (long)getpid());
    setenv("LISTEN_PID", num, 1);
    setenv("LISTEN_FDNAMES", names, 1);
    snprintf(num, sizeof(num), "%zu", 3 + nfds);
    setenv("PLUGSRV_UPGRADE_FD", num, 1);
    if (notify != NULL)
        setenv("NOTIFY_SOCKET", notify, 1);
    execv(upgrade_path, upgrade_argv);
    log_warn("upgrade status=error what=exec path=%s", upgrade_path);
    _exit(127);
}

static int
upgrade_fork(const struct listener *ls, size_t n)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
        return -1;
    if ((pid = fork()) == -1) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0)
        upgrade_exec(ls, n, p[1]);
    close(p[1]);
    upgrade_pipe = p[0];
    upgrade_pid = pid;
    /* Not a connection's process: the stray hunt must leave it alone. */
    reaper_exempt(pid);
    return 0;
}

/* SIGUSR2: starts the new plugsrv beside this one; the loop then waits
 * on upgrade_fd() for it to be ready. */
void
upgrade_start(const struct listener *ls, size_t n)
{
    if (upgrade_pipe != -1) {
        log_event("upgrade status=busy pid=%ld", (long)upgrade_pid);
        return;
    }
    if (upgrade_argv == NULL || upgrade_path[0] == '\0' ||
        n + 1 > ACTIVATION_MAX) {
        log_event("upgrade status=error error=\"cannot start %s again\"",
                  upgrade_path[0] ? upgrade_path : "this binary");
        return;
    }
    if (upgrade_fork(ls, n) == -1) {
        log_warn("upgrade status=error what=fork");
        return;
    }
    log_event("upgrade status=started pid=%ld path=%s listeners=%zu",
              (long)upgrade_pid, upgrade_path, n);
}

/* The pipe to poll while a new plugsrv starts, else -1. */
int
upgrade_fd(void)
{
    return upgrade_pipe;
}

static void
upgrade_end(void)
{
    close(upgrade_pipe);
    upgrade_pipe = -1;
}

/*
 * After a wakeup: the new process's pid once it is ready (this one must
 * then hand over and leave), 0 while it starts, or if it failed (logged:
 * this one keeps serving; the new one's own lines say why).
 */
pid_t
upgrade_check(void)
{
    char c;
    ssize_t n;

    if (upgrade_pipe == -1)
        return 0;
    n = read(upgrade_pipe, &c, 1);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    upgrade_end();
    if (n == 1) {
        log_event("upgrade status=ready pid=%ld", (long)upgrade_pid);
        return upgrade_pid;
    }
    log_event("upgrade status=error pid=%ld error=\"the new process ended "
              "before it was ready; its own lines say why; still serving\"",
              (long)upgrade_pid);
    reaper_exempt(0);
    return 0;
}

/* Stopping for good while a new plugsrv starts: it goes too (the stop
 * ends it with the other descendants). */
void
upgrade_abandon(void)
{
    if (upgrade_pipe == -1)
        return;
    upgrade_end();
    log_event("upgrade status=abandoned pid=%ld", (long)upgrade_pid);
    reaper_exempt(0);
}
