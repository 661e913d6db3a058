/*
 * harness.c - runs the real plugsrv for the integration tests (the stress
 * tests too, with a hook in the child before exec) and talks to it over
 * loopback. Waits are bounded and wait for a condition: poll() on a
 * socket, on a pidfd for a process's end, on inotify for the log to grow.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define HS_MAX_STRINGS 8
#define HS_PORT_LOCKS 512

/* ---- time ---- */

long long hs_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hs_left(long long deadline)
{
    long long left = deadline - hs_now_ms();

    if (left < 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- global set-up and ports ---- */

static uint64_t hs_rng;
static int hs_port_fds[HS_PORT_LOCKS];
static int hs_nport_fds;

void hs_global_init(void)
{
    struct timespec ts;

    /* Orphans of the daemon's children come to us: we can count them and
     * end them, and "no process left behind" becomes checkable. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    hs_rng = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
             (uint64_t)ts.tv_sec;
    if (hs_rng == 0)
        hs_rng = 88172645463325252ULL;
}

static uint32_t hs_random(void)
{
    hs_rng ^= hs_rng << 13;
    hs_rng ^= hs_rng >> 7;
    hs_rng ^= hs_rng << 17;
    return (uint32_t)(hs_rng >> 16);
}

/* Can a listener bind addr:port right now (as plugsrv would)? */
static int hs_bindable(int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, ok;

    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof *sin6;
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

/* Takes the cross-process claim on port, kept until we exit; 1 if ours.
 * The claim is an abstract AF_UNIX socket name: only one process can bind
 * it, the kernel drops it when we exit, and it leaves no file behind. */
static int hs_port_lock(int port)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd;

    if (hs_nport_fds >= HS_PORT_LOCKS)
        return 0;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    /* sun_path[0] stays '\0': the abstract namespace. */
    snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1,
             "plugsrv-test-port-%d", port);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                      strlen(sun.sun_path + 1));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
        close(fd);
        return 0;
    }
    hs_port_fds[hs_nport_fds++] = fd;
    return 1;
}

int hs_port(void)
{
    int i;

    for (i = 0; i < 500; i++) {
        int port = 20000 + (int)(hs_random() % 12001);

        if (!hs_bindable(AF_INET, port) || !hs_bindable(AF_INET6, port))
            continue;
        if (hs_port_lock(port))
            return port;
    }
    fail_msg("no free port found in 20000-32000");
    return -1;
}

/* ---- files ---- */

void hs_path(struct hs *h, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", h->dir, name);
}

static int hs_vwrite(const char *path, const char *fmt, va_list ap)
{
    FILE *f = fopen(path, "we");
    int rc;

    if (f == NULL)
        return -1;
    rc = vfprintf(f, fmt, ap) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int hs_write_file(struct hs *h, const char *name, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    int rc;

    hs_path(h, name, path, sizeof path);
    va_start(ap, fmt);
    rc = hs_vwrite(path, fmt, ap);
    va_end(ap);
    return rc;
}

int hs_write_config(struct hs *h, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hs_vwrite(h->conf, fmt, ap);
    va_end(ap);
    return rc;
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static char *hs_slurp(const char *path)
{
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    int fd, i;

    if (buf == NULL)
        return NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf[0] = '\0';
        return buf;
    }
    for (i = 0; i < 100000; i++) {
        ssize_t n;

        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

static int hs_rm_entry(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---- the struct ---- */

struct hs *hs_new(void)
{
    const char *tmp = getenv("TMPDIR");
    struct hs *h = calloc(1, sizeof *h);

    if (h == NULL)
        return NULL;
    snprintf(h->dir, sizeof h->dir, "%s/plugsrv-it.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(h->dir) == NULL) {
        free(h);
        return NULL;
    }
    hs_path(h, "server.json", h->conf, sizeof h->conf);
    hs_path(h, "plugsrv.log", h->log, sizeof h->log);
    h->pidfd = -1;
    return h;
}

/* Waits for pid with a deadline (poll on pidfd if there is one). */
static int hs_waitpid(pid_t pid, int pidfd, int timeout_ms, int *status)
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
static void hs_end_orphans(struct hs *h)
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
            snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
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

void hs_free(struct hs *h)
{
    if (h == NULL)
        return;
    if (h->pid > 0 && !h->reaped) {
        hs_signal(h, SIGTERM);
        if (hs_wait_exit(h, 3000) < 0) {
            kill(h->pid, SIGKILL);
            hs_wait_exit(h, 5000);
        }
    }
    hs_end_orphans(h);
    if (!h->passed) {
        hs_dump_log(h);
        if (h->out && *h->out)
            fprintf(stderr, "--- last run's stdout:\n%s", h->out);
        if (h->err && *h->err)
            fprintf(stderr, "--- last run's stderr:\n%s", h->err);
    }
    if (h->pidfd >= 0)
        close(h->pidfd);
    if (getenv("HS_KEEP") == NULL)
        nftw(h->dir, hs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "harness: kept %s\n", h->dir);
    free(h->out);
    free(h->err);
    free(h);
}

int hs_setup(void **state)
{
    *state = hs_new();
    return *state == NULL ? -1 : 0;
}

int hs_teardown(void **state)
{
    hs_free(*state);
    *state = NULL;
    return 0;
}

/* ---- processes ---- */

/* Under ASan, let faults be faults: the tests check that plugsrv reports
 * a handler's SIGSEGV or SIGABRT, not ASan's report of it. Options the
 * user set come after ours, so they win. */
static void hs_asan_options(void)
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
    snprintf(buf, sizeof buf, "%s:%s", ours, user);
    setenv("ASAN_OPTIONS", buf, 1);
}

/* In the child: a clean slate, prep(arg) if there is one, then exec.
 * Never returns. */
static void hs_exec(const char *const *argv, const char *outpath,
                    const char *errpath, hs_prep_fn prep, void *arg)
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

pid_t hs_spawn(const char *const *argv, const char *outpath,
               const char *errpath, hs_prep_fn prep, void *arg)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0)
        hs_exec(argv, outpath, errpath, prep, arg);
    return pid;
}

int hs_start_prep(struct hs *h, const char *const *argv, hs_prep_fn prep,
                  void *arg)
{
    const char *def[] = { PLUGSRV_BIN, "-c", h->conf, NULL };
    char outpath[512];

    if (h->pid > 0 && !h->reaped)
        return -1;
    if (h->pidfd >= 0)
        close(h->pidfd);
    hs_path(h, "plugsrv.out", outpath, sizeof outpath);
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

int hs_start(struct hs *h)
{
    return hs_start_prep(h, NULL, NULL, NULL);
}

int hs_start_ready(struct hs *h)
{
    if (hs_start(h) < 0)
        return -1;
    return hs_wait_log(h, 1, HS_START_MS, " ready ", NULL);
}

int hs_run_prog(struct hs *h, int timeout_ms, const char *const *argv)
{
    char outpath[512], errpath[512];
    int status = 0, pidfd, rc;
    pid_t pid;

    hs_path(h, "run.out", outpath, sizeof outpath);
    hs_path(h, "run.err", errpath, sizeof errpath);
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

int hs_run(struct hs *h, int timeout_ms, const char *const *argv)
{
    const char *full[16];
    int i;

    full[0] = PLUGSRV_BIN;
    for (i = 0; argv[i] != NULL && i < 14; i++)
        full[i + 1] = argv[i];
    full[i + 1] = NULL;
    return hs_run_prog(h, timeout_ms, full);
}

int hs_signal(struct hs *h, int sig)
{
    if (h->pid <= 0 || h->reaped)
        return -1;
    return kill(h->pid, sig);
}

int hs_wait_exit(struct hs *h, int timeout_ms)
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

int hs_alive(struct hs *h)
{
    if (h->pid <= 0 || h->reaped)
        return 0;
    if (waitpid(h->pid, &h->status, WNOHANG) == h->pid) {
        h->reaped = 1;
        return 0;
    }
    return 1;
}

/* ---- the log ---- */

static int hs_line_has_all(const char *line, size_t len,
                           const char *const *subs, int nsubs)
{
    char buf[4096];
    int i;

    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    for (i = 0; i < nsubs; i++)
        if (strstr(buf, subs[i]) == NULL)
            return 0;
    return 1;
}

/* Counts the matching lines; the last one into last (if not NULL). */
static int hs_log_scan(struct hs *h, const char *const *subs, int nsubs,
                       char *last, size_t lastlen)
{
    char *text = hs_slurp(h->log), *p, *nl;
    int count = 0;

    if (text == NULL)
        return 0;
    for (p = text; *p != '\0'; p = nl + 1) {
        size_t len;

        nl = strchr(p, '\n');
        if (nl == NULL)
            break;  /* a line still being written does not count yet */
        len = (size_t)(nl - p);
        if (hs_line_has_all(p, len, subs, nsubs)) {
            count++;
            if (last != NULL && lastlen > 0) {
                if (len >= lastlen)
                    len = lastlen - 1;
                memcpy(last, p, len);
                last[len] = '\0';
            }
        }
    }
    free(text);
    return count;
}

static int hs_collect(va_list ap, const char **subs)
{
    const char *s;
    int n = 0;

    while ((s = va_arg(ap, const char *)) != NULL && n < HS_MAX_STRINGS)
        subs[n++] = s;
    return n;
}

int hs_log_count(struct hs *h, ...)
{
    const char *subs[HS_MAX_STRINGS];
    va_list ap;
    int n;

    va_start(ap, h);
    n = hs_collect(ap, subs);
    va_end(ap);
    return hs_log_scan(h, subs, n, NULL, 0);
}

int hs_log_last(struct hs *h, char *buf, size_t len, ...)
{
    const char *subs[HS_MAX_STRINGS];
    va_list ap;
    int n;

    va_start(ap, len);
    n = hs_collect(ap, subs);
    va_end(ap);
    buf[0] = '\0';
    return hs_log_scan(h, subs, n, buf, len) > 0 ? 0 : -1;
}

int hs_wait_log(struct hs *h, int min, int timeout_ms, ...)
{
    const char *subs[HS_MAX_STRINGS];
    long long deadline = hs_now_ms() + timeout_ms;
    int n, ifd, i, rc = -1;
    va_list ap;

    va_start(ap, timeout_ms);
    n = hs_collect(ap, subs);
    va_end(ap);
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0)
        inotify_add_watch(ifd, h->log, IN_MODIFY | IN_CLOSE_WRITE);
    for (i = 0; i < 100000; i++) {
        struct pollfd pfd[2] = { { .fd = ifd, .events = POLLIN },
                                 { .fd = h->pidfd, .events = POLLIN } };
        char ev[4096];
        int left, alive = hs_alive(h);

        if (hs_log_scan(h, subs, n, NULL, 0) >= min) {
            rc = 0;
            break;
        }
        left = hs_left(deadline);
        if (!alive || left == 0)
            break;
        /* Woken by the log growing or the daemon ending; the 100 ms cap
         * only guards against a missed inotify event. */
        poll(pfd, h->pidfd >= 0 ? 2 : 1, left < 100 ? left : 100);
        if (ifd >= 0)
            while (read(ifd, ev, sizeof ev) > 0)
                ;
    }
    if (ifd >= 0)
        close(ifd);
    return rc;
}

void hs_log_value(const char *line, const char *key, char *buf, size_t len)
{
    char pat[64];
    const char *p = line;
    size_t n = 0;

    buf[0] = '\0';
    snprintf(pat, sizeof pat, " %s=", key);
    p = strstr(line, pat);
    if (p == NULL || len == 0)
        return;
    p += strlen(pat);
    if (*p == '"') {
        p++;
        while (p[n] != '\0' && p[n] != '"' && n < len - 1)
            n++;
    } else {
        while (p[n] != '\0' && p[n] != ' ' && n < len - 1)
            n++;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
}

void hs_dump_log(struct hs *h)
{
    char *text = hs_slurp(h->log);

    fprintf(stderr, "--- plugsrv log (%s):\n%s--- end of log\n", h->log,
            text ? text : "");
    free(text);
}

/* ---- sockets ---- */

int hs_connect(const char *addr, int port, int timeout_ms)
{
    struct sockaddr_storage ss;
    struct pollfd pfd;
    socklen_t len, elen = sizeof(int);
    int fd, one = 1, err = 0;

    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
            return -1;
        len = sizeof *sin6;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
            return -1;
        len = sizeof *sin;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&ss, len) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        err = errno;
        goto fail;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (poll(&pfd, 1, timeout_ms) != 1) {
        err = ETIMEDOUT;
        goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    errno = err;
    return -1;
}

/* Waits until fd is ready for events; 1, or 0 at the deadline. */
static int hs_wait_fd(int fd, short events, long long deadline)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int left = hs_left(deadline);

    if (left == 0)
        return 0;
    return poll(&pfd, 1, left) > 0;
}

int hs_send_all(int fd, const void *buf, size_t len, size_t chunk,
                int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    const char *p = buf;
    size_t off = 0;

    while (off < len && hs_left(deadline) > 0) {
        size_t want = len - off;
        ssize_t n;

        if (chunk > 0 && want > chunk)
            want = chunk;
        n = send(fd, p + off, want, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        if (!hs_wait_fd(fd, POLLOUT, deadline))
            return -1;
    }
    return off == len ? 0 : -1;
}

int hs_send_str(int fd, const char *s)
{
    return hs_send_all(fd, s, strlen(s), 0, HS_IO_MS);
}

ssize_t hs_recv_n(int fd, void *buf, size_t n, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char *p = buf;
    size_t got = 0;

    while (got < n && hs_left(deadline) > 0) {
        ssize_t r = recv(fd, p + got, n - got, 0);

        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            break;
        if (!hs_wait_fd(fd, POLLIN, deadline))
            break;
    }
    return (ssize_t)got;
}

ssize_t hs_recv_eof(int fd, void *buf, size_t cap, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char *p = buf;
    size_t got = 0;

    while (hs_left(deadline) > 0) {
        char extra;
        ssize_t r = got < cap ? recv(fd, p + got, cap - got, 0)
                              : recv(fd, &extra, 1, 0);

        if (r == 0)
            return (ssize_t)got;
        if (r > 0) {
            if (got >= cap)
                return -1;
            got += (size_t)r;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -1;
        if (!hs_wait_fd(fd, POLLIN, deadline))
            return -1;
    }
    return -1;
}

int hs_wait_closed(int fd, int timeout_ms)
{
    long long deadline = hs_now_ms() + timeout_ms;
    char buf[4096];

    /* Bounded by the deadline even while data keeps coming. */
    while (hs_left(deadline) > 0) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);

        if (r == 0)
            return 1;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return 1;
        if (r < 0 && !hs_wait_fd(fd, POLLIN, deadline))
            return 0;
    }
    return 0;
}

int hs_is_closed(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    if (r == 0)
        return 1;
    return r < 0 && errno != EAGAIN && errno != EINTR;
}

int hs_roundtrip(int fd, const char *s, const char *reply)
{
    size_t len = strlen(reply);
    char *buf = malloc(len + 1);
    ssize_t n;
    int rc;

    if (buf == NULL)
        return -1;
    if (hs_send_str(fd, s) < 0) {
        free(buf);
        return -1;
    }
    n = hs_recv_n(fd, buf, len, HS_IO_MS);
    rc = n == (ssize_t)len && memcmp(buf, reply, len) == 0 ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "roundtrip: sent \"%s\", wanted \"%s\", got %zd "
                "bytes \"%.*s\"\n", s, reply, n, (int)(n < 0 ? 0 : n), buf);
    free(buf);
    return rc;
}

/* One send of the transfer; 0 ok (or nothing to do), -1 failed. */
static int hs_xfer_send(int fd, struct hs_xfer *x, size_t *sent)
{
    size_t want = x->outlen - *sent;
    ssize_t n;

    if (x->wchunk > 0 && want > x->wchunk)
        want = x->wchunk;
    n = send(fd, (const char *)x->out + *sent, want, MSG_NOSIGNAL);
    if (n > 0)
        *sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
    if (*sent == x->outlen && x->shut_wr)
        shutdown(fd, SHUT_WR);
    return 0;
}

ssize_t hs_exchange(int fd, struct hs_xfer *x)
{
    long long deadline = hs_now_ms() + x->timeout_ms, next_read = 0;
    size_t sent = 0, got = 0;
    int writing = x->outlen > 0;
    long i;

    x->reset = 0;
    if (!writing && x->shut_wr)
        shutdown(fd, SHUT_WR);
    for (i = 0; i < 100000000L && got < x->incap; i++) {
        struct pollfd pfd = { .fd = fd, .events = 0 };
        long long now = hs_now_ms();
        int left = hs_left(deadline), reading = now >= next_read;

        if (left == 0)
            return -1;
        if (writing)
            pfd.events |= POLLOUT;
        if (reading)
            pfd.events |= POLLIN;
        else if (next_read - now < left)
            left = (int)(next_read - now);   /* the slow reader's pause */
        if (poll(&pfd, 1, left) <= 0)
            continue;
        if (writing && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (hs_xfer_send(fd, x, &sent) < 0)
                writing = 0;    /* the peer went: read what it sent */
            else
                writing = sent < x->outlen;
        }
        if (reading && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
            size_t want = x->incap - got;
            ssize_t n;

            if (x->rchunk > 0 && want > x->rchunk)
                want = x->rchunk;
            n = recv(fd, (char *)x->in + got, want, 0);
            if (n == 0)
                return (ssize_t)got;
            if (n < 0 && errno == ECONNRESET) {
                x->reset = 1;
                return (ssize_t)got;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (n > 0) {
                got += (size_t)n;
                if (x->rpause_ms > 0)
                    next_read = hs_now_ms() + x->rpause_ms;
            }
        }
    }
    return (ssize_t)got;
}

/* ---- /proc ---- */

/* Counts the processes whose parent is ppid (only zombies if asked). */
static int hs_scan_children(pid_t ppid, int zombies_only)
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
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
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

int hs_children(pid_t pid)
{
    return hs_scan_children(pid, 0);
}

int hs_zombies(pid_t pid)
{
    return hs_scan_children(pid, 1);
}

int hs_orphans(struct hs *h)
{
    int n = hs_scan_children(getpid(), 0);

    if (h->pid > 0 && !h->reaped && hs_pid_exists(h->pid))
        n--;
    return n;
}

int hs_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *de;
    DIR *d;
    int count = 0, n = 0;

    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL && n++ < 100000)
        if (de->d_name[0] != '.')
            count++;
    closedir(d);
    return count;
}

int hs_pid_exists(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int hs_sanitized(void)
{
#if defined(HS_SANITIZE) && HS_SANITIZE
    return 1;
#elif defined(__SANITIZE_ADDRESS__)
    return 1;
#else
    return 0;
#endif
}
