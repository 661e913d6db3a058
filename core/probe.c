/*
 * probe.c - proving a config's modules before they are used: each in a
 * throwaway process, all at once, that loads it, checks its ABI and runs
 * init() with the listener's options, so that a module that crashes, hangs
 * or refuses its options fails the start or the reload, not the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

#define PROBE_TIMEOUT_MS 10000 /* load, entry point and init() together */

/* The throwaway process: everything a connection's process will do before
 * its first byte, with the verdict written to fd. It loads the very file
 * the parent opened (l->module.fd), which the parent loads if it passes. */
static __attribute__((noreturn)) void
probe_child(const struct listener *l, int fd, pid_t parent)
{
    char err[ERRBUF] = "";
    int keep[CONNPROC_KEEP_MAX];
    struct connproc_setup cs = { .parent = parent,
                                 .conn_fd = -1,
                                 .keep = keep };
    struct module m = l->module;
    void *state = NULL;
    const plugsrv_handler *h;

    /* As isolated as a connection's process, under the same limits. The
     * fds of the modules loaded already stay open: they hold the names
     * glibc knows them by (see module.c). */
    keep[0] = fd;
    keep[1] = m.fd;
    cs.nkeep = 2 + module_fds(keep + 2, CONNPROC_KEEP_MAX - 2);
    if (connproc_init(&cs) == -1)
        _exit(CONN_SETUP);
    proctitle_set(l->conf->name, "probe");
    /* Loaded as the parent loads it; the module's code runs as the
     * listener's user, as in a connection's process. */
    if (module_load(&m, 0, err, sizeof(err)) == 0) {
        if (connproc_become(l->conf, parent) == -1)
            connproc_exit(CONN_SETUP);
    }
    if (err[0] == '\0' && module_entry(&m, err, sizeof(err)) == 0) {
        h = m.handler;
        if (h->init != NULL && h->init(&l->conf->options, &state, err,
                                       sizeof(err)) != PLUGSRV_OK) {
            if (err[0] == '\0')
                snprintf(err, sizeof(err), "init() failed");
        } else if (h->fini != NULL) {
            h->fini(state);
        }
    }
    /* err is the module's: it may have filled it with no NUL. */
    if (write(fd, err, strnlen(err, sizeof(err))) < 0)
        connproc_exit(CONN_SETUP);
    connproc_exit(err[0] ? CONN_MODULE : CONN_OK);
}

/* One throwaway process at work on one listener's module. */
struct probe {
    pid_t pid;
    int fd; /* its verdict, -1 once read to the end */
    char msg[ERRBUF];
    size_t len;
    int status;
};

static int
probe_start(const struct listener *l, struct probe *p, pid_t parent, char *err,
            size_t errlen)
{
    const struct listener_conf *lc = l->conf;
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "cannot check %s: pipe: %s", lc->module_path,
                 strerror(errno));
        return -1;
    }
    if ((p->pid = fork()) == -1) {
        snprintf(err, errlen, "cannot check %s: fork: %s", lc->module_path,
                 strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (p->pid == 0) {
        close(fds[0]);
        probe_child(l, fds[1], parent);
    }
    close(fds[1]);
    p->fd = fds[0];
    return 0;
}

static void
probe_input(struct probe *p)
{
    ssize_t r = read(p->fd, p->msg + p->len, sizeof(p->msg) - 1 - p->len);

    if (r > 0)
        p->len += (size_t)r;
    if (r == 0 || (r == -1 && errno != EINTR) ||
        p->len == sizeof(p->msg) - 1) {
        close(p->fd);
        p->fd = -1;
    }
    p->msg[p->len] = '\0';
}

/* Reads every verdict, all at once, until each is complete or the time
 * for them all has run out: one slow module delays a start or a reload by
 * PROBE_TIMEOUT_MS at most, not once per listener. */
static void
probe_collect(struct probe *ps, size_t n)
{
    struct pollfd pfds[n > 0 ? n : 1];
    long long end = clock_ms() + PROBE_TIMEOUT_MS, ms;
    size_t i, k, map[n > 0 ? n : 1];

    for (;;) {
        for (i = k = 0; i < n; i++) {
            if (ps[i].fd != -1) {
                pfds[k] = (struct pollfd){ .fd = ps[i].fd, .events = POLLIN };
                map[k++] = i;
            }
        }
        ms = end - clock_ms();
        if (k == 0 || ms <= 0 || poll(pfds, k, (int)ms) == 0)
            return;
        for (i = 0; i < k; i++) {
            if (pfds[i].revents != 0)
                probe_input(&ps[map[i]]);
        }
    }
}

/* Ends a probe; its verdict into err, or "" if the module passed. */
static void
probe_end(const struct listener_conf *lc, struct probe *p, char *err,
          size_t errlen)
{
    int timedout = p->fd != -1;

    if (timedout) {
        kill(p->pid, SIGKILL);
        close(p->fd);
    }
    while (waitpid(p->pid, &p->status, 0) == -1 && errno == EINTR)
        ;
    kill(-p->pid, SIGKILL); /* anything init() left behind */
    err[0] = '\0';
    if (timedout)
        snprintf(err, errlen,
                 "%s: did not finish loading, entry point and init() in %d s",
                 lc->module_path, PROBE_TIMEOUT_MS / 1000);
    else if (WIFSIGNALED(p->status))
        snprintf(err, errlen, "%s: crashed while loading or in init() (%s)",
                 lc->module_path, log_signame(WTERMSIG(p->status)));
    else if (p->msg[0] != '\0')
        snprintf(err, errlen, "%s", p->msg);
    else if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)
        snprintf(err, errlen, "%s: the check exited with status %d",
                 lc->module_path, WEXITSTATUS(p->status));
}

int
probe_all(const struct listener *ls, size_t n, size_t *bad, char *err,
          size_t errlen)
{
    char why[ERRBUF];
    struct probe *ps;
    size_t i, started, len;
    pid_t parent = getpid();
    int rc = 0;

    /* mmap(), not malloc(): each probe is a fork that exits without
     * freeing the parent's heap, which valgrind would call a leak. */
    len = (n > 0 ? n : 1) * sizeof(*ps);
    ps = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
    if (ps == MAP_FAILED) {
        snprintf(err, errlen, "out of memory");
        *bad = 0;
        return -1;
    }
    for (started = 0; started < n; started++) {
        if (probe_start(&ls[started], &ps[started], parent, err, errlen) ==
            -1) {
            *bad = started;
            rc = -1;
            break;
        }
    }
    probe_collect(ps, started);
    for (i = 0; i < started; i++) {
        probe_end(ls[i].conf, &ps[i], why, sizeof(why));
        if (why[0] != '\0' && (rc == 0 || i < *bad)) {
            snprintf(err, errlen, "%s", why);
            *bad = i;
            rc = -1;
        }
    }
    munmap(ps, len);
    return rc;
}
