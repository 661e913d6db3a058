/*
 * parent.c - the parent: has its listeners made (listeners.c), accepts,
 * forks one process per connection, and stops (SIGTERM, SIGINT, SIGQUIT),
 * reloads (SIGHUP) or starts the binary again and leaves once it serves
 * (SIGUSR2, upgrade.c) when signals.c says so. It never runs handler code
 * on a connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

#define ACCEPT_BATCH 64   /* connections taken per wakeup per listener */
#define PAUSE_MS     100  /* no accepting after EMFILE or a failed fork */
#define KILL_WAIT_MS 5000 /* for SIGKILLed children to be reaped */
/* After the fork-mode listeners, the poll set always ends with these: */
#define TAIL_UPGRADE 0 /* an upgrade's new parent, or -1 (upgrade.c) */
#define TAIL_NOTIFY  1 /* prefork spares' reports */
#define TAIL_PROXY   2 /* PROXY headers read (proxyparent.c) */
#define TAIL_METRICS 3 /* the metrics endpoint, or -1 (metrics.c) */
#define TAIL_SIGNALS 4 /* signals, read as data (signals.c) */
#define TAIL         5

struct parent {
    struct config *conf;
    struct listener *ls;
    size_t nls;
    struct pollfd *pfds; /* a listener each, then the TAIL */
    size_t npfds;
    int notify[2];    /* prefork spares report their connection */
    int reserve;      /* an fd to give back when out of fds */
    long long paused; /* clock_ms() when accepting resumes */
    int retry;        /* a prefork refill failed */
    int prefork;      /* a listener was ever in prefork mode */
    pid_t pid;
    pid_t successor; /* an upgrade's new parent took over */
};

/* ---- the poll set ---- */

/* Fills p, room for every listener, the TAIL and the log (set by
 * parent_wait), and takes it. */
static void
parent_pollset(struct parent *s, struct pollfd *p)
{
    size_t i, n = 0;

    lean_parent_free(s->pfds);
    s->pfds = p;
    /* A prefork listener's is -1 (not polled) unless its pool is full
     * (parent_watch()). */
    for (i = 0; i < s->nls; i++) {
        p[n++] = (struct pollfd){ .fd = s->ls[i].fd, .events = POLLIN };
        if (s->ls[i].conf->mode == MODE_PREFORK) {
            p[n - 1].fd = -1;
            s->prefork = 1;
        }
    }
    p[n + TAIL_UPGRADE] = (struct pollfd){ .fd = -1, .events = POLLIN };
    p[n + TAIL_NOTIFY] =
        (struct pollfd){ .fd = s->notify[0], .events = POLLIN };
    p[n + TAIL_PROXY] =
        (struct pollfd){ .fd = proxyparent_fd(), .events = POLLIN };
    p[n + TAIL_METRICS] =
        (struct pollfd){ .fd = metrics_fd(), .events = POLLIN };
    p[n + TAIL_SIGNALS] =
        (struct pollfd){ .fd = signals_fd_get(), .events = POLLIN };
    s->npfds = n + TAIL;
}

static void
parent_log_listeners(const struct parent *s)
{
    char path[LOG_VALUE_MAX];
    size_t i;

    for (i = 0; i < s->nls; i++)
        metrics_track(s->ls[i].conf->name);
    for (i = 0; i < s->nls; i++)
        log_event("listen listener=%s addr=%s module=%s mode=%s",
                  s->ls[i].logname, s->ls[i].addr,
                  log_value(path, sizeof(path), s->ls[i].conf->module_path),
                  s->ls[i].conf->mode == MODE_FORK ? "fork" : "prefork");
}

/* ---- accepting ---- */

static __attribute__((noreturn)) void
parent_child(struct parent *s, struct listener *l, int fd,
             struct conn_addrs *a, int verdict)
{
    int keep[3] = { fd, verdict, proxyparent_report_fd() };
    struct connproc_setup cs = { .parent = s->pid,
                                 .conn_fd = fd,
                                 .keep = keep,
                                 .nkeep = verdict == -1 ? 1 : 3,
                                 .as = l->conf };
    struct proxyconn pc = { fd, keep[2], verdict };
    enum conn_exit rc;

    if (connproc_init(&cs) == -1)
        _exit(CONN_SETUP);
    if (verdict != -1) {
        if ((rc = proxyconn_run(l, &pc, a)) != CONN_OK)
            _exit(rc);
        close(keep[1]);
        close(keep[2]);
    }
    proctitle_set(l->conf->name, a->peer);
    connproc_exit(session_serve(l, fd, a));
}

static void
parent_fork(struct parent *s, struct listener *l, int fd,
            const struct sockaddr *sa, struct conn_addrs *a)
{
    const char *peer = a->peer;
    int verdict[2] = { -1, -1 };
    struct admit_ref ref;
    const char *refused;
    struct child *c;
    pid_t pid;

    /* Behind a balancer, who the client is is known once its process has
     * read the header (proxyparent.c); only the room is checked now. */
    if (l->conf->proxy != PROXY_OFF)
        refused = admit_capacity(l, &ref);
    else
        refused = admit_peer(l, sa, &ref);
    if (refused != NULL) {
        admit_refuse(l, l->conf->name, peer, refused);
        close(fd);
        return;
    }
    /* A PROXY listener's process waits for its verdict on a pipe of its
     * own (proxyparent.c). */
    if (l->conf->proxy != PROXY_OFF && pipe2(verdict, O_CLOEXEC) == -1) {
        log_warn("error what=pipe listener=%s peer=%s", l->logname, peer);
        close(fd);
        s->paused = clock_ms() + PAUSE_MS;
        return;
    }
    if ((pid = lean_fork()) == -1) {
        log_warn("error what=fork listener=%s peer=%s", l->logname, peer);
        sources_release(ref.source);
        close(fd);
        if (verdict[0] != -1) {
            close(verdict[0]);
            close(verdict[1]);
        }
        s->paused = clock_ms() + PAUSE_MS;
        return;
    }
    if (pid == 0)
        parent_child(s, l, fd, a, verdict[0]);
    close(fd);
    if (verdict[0] != -1)
        close(verdict[0]);
    if ((c = children_add(pid, l, CHILD_SERVING)) == NULL) {
        /* Untracked, it could not be counted or logged: end it. */
        log_warn("error what=table listener=%s peer=%s", l->logname, peer);
        sources_release(ref.source);
        kill(pid, SIGKILL);
        if (verdict[1] != -1)
            close(verdict[1]);
        return;
    }
    lean_copy(c->peer, sizeof(c->peer), peer);
    c->ref = ref;
    c->verdict = verdict[1];
    if (c->verdict != -1)
        return; /* accepted, or not, once its header is read */
    lifetime_arm(c, l);
    stats_accepted(&l->count->stats);
    log_event("accept listener=%s peer=%s pid=%ld", l->logname, peer,
              (long)pid);
    metrics_accept(l->conf->name);
}

/*
 * Out of fds: a connection left in the backlog would hang until its client
 * gives up, so the fd kept in reserve is given back for a moment to take
 * the connection and close it (nginx and libevent do the same).
 */
static void
parent_shed(struct parent *s, struct listener *l)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[ADDRSTRLEN];
    int fd;

    if (s->reserve == -1)
        return;
    close(s->reserve);
    fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (fd != -1) {
        addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
        admit_refuse(l, l->conf->name, peer, stats_refusals[STATS_NO_FDS]);
        close(fd);
    }
    s->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of fds or buffers: waiting a moment is all that helps, and keeps
 * the loop from spinning on a listener that stays readable. */
static int
parent_accept_failed(struct parent *s, struct listener *l)
{
    switch (errno) {
    case EAGAIN:
        return 1;
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
        return 0;
    case EMFILE:
    case ENFILE:
        log_warn("error what=accept listener=%s", l->logname);
        parent_shed(s, l);
        s->paused = clock_ms() + PAUSE_MS;
        return 1;
    default:
        log_warn("error what=accept listener=%s", l->logname);
        s->paused = clock_ms() + PAUSE_MS;
        return 1;
    }
}

/* Takes a batch of l's clients: each to a process of its own, or, with
 * refuse (a full prefork pool's reason, prefork_full()), closed at once
 * and logged. Never on a blocking socket: it would block the parent. */
static void
parent_accept(struct parent *s, struct listener *l, const char *refuse)
{
    struct sockaddr_storage ss;
    /* Filled here, where the connection's process finds it on the stack
     * it starts with: no copy on its path (lean.c). */
    struct conn_addrs a = { .via = "", .local = "" };
    const char *why;
    socklen_t len;
    int i, fd;

    for (i = 0; i < ACCEPT_BATCH && l->nonblock && s->paused <= clock_ms();
         i++) {
        len = sizeof(ss);
        fd = lean_parent_accept(l->fd, (struct sockaddr *)&ss, &len);
        if (fd == -EAGAIN)
            return; /* the usual end of a batch: errno untouched */
        if (fd < 0) {
            errno = -fd;
            if (parent_accept_failed(s, l))
                return;
            continue;
        }
        addr_format((struct sockaddr *)&ss, a.peer, sizeof(a.peer));
        why = refuse;
        if (why == NULL && l->conf->proxy != PROXY_OFF &&
            !proxyparent_trusted(l, (struct sockaddr *)&ss))
            why = "proxy-untrusted";
        if (why != NULL) {
            admit_refuse(l, l->conf->name, a.peer, why);
            close(fd);
            continue;
        }
        parent_fork(s, l, fd, (struct sockaddr *)&ss, &a);
    }
}

/*
 * Which listeners the parent polls: every fork-mode one, and a prefork
 * one only while its pool is full (made non-blocking first). The parent
 * must never block in accept(), and a socket's O_NONBLOCK belongs to a
 * description it may share with a new plugsrv starting (an upgrade),
 * which sets it as its own config wants. Until that one is ready or has
 * failed, a fork-mode socket it made blocking is left to it, and a full
 * pool's clients wait for it.
 */
static void
parent_watch(struct parent *s)
{
    int upgrading = upgrade_fd() != -1;
    struct listener *l;
    size_t i;

    for (i = 0; i < s->nls; i++) {
        l = &s->ls[i];
        if (l->conf->mode == MODE_FORK)
            s->pfds[i].fd = !upgrading || listen_nonblocking(l) ? l->fd : -1;
        else
            s->pfds[i].fd = !upgrading && prefork_full(l, s->conf) != NULL &&
                                    listen_set_nonblock(l, 1) == 0
                                ? l->fd
                                : -1;
    }
}

/* An upgrade failed: its process may have changed the sockets' flags. */
static void
parent_reclaim(struct parent *s)
{
    size_t i;

    for (i = 0; i < s->nls; i++)
        if (listen_reclaim(&s->ls[i]) == -1)
            log_warn("error what=listen listener=%s", s->ls[i].logname);
}

/* ---- reload ---- */

static void
parent_reload_failed(const struct parent *s, const char *err)
{
    char path[LOG_VALUE_MAX], why[LOG_VALUE_MAX];

    log_prio(LOG_PRIO_ERR, "reload status=error config=%s error=%s",
             log_value(path, sizeof(path), s->conf->path),
             log_value(why, sizeof(why), err));
    metrics_reload(0);
}

static void
parent_reload(struct parent *s)
{
    char err[ERRBUF], path[LOG_VALUE_MAX];
    struct config *conf = NULL;
    struct listener *ls = NULL;
    struct pollfd *pfds;
    size_t i;

    notify_reloading();
    if (config_load(s->conf->path, &conf, err, sizeof(err)) == -1 ||
        priv_resolve(conf, err, sizeof(err)) == -1) {
        parent_reload_failed(s, err);
        notify_send("READY=1\nSTATUS=reload failed, old config kept");
        if (conf != NULL)
            config_free(conf);
        return;
    }
    pfds = lean_parent_alloc((conf->nlisteners + TAIL + 1) * sizeof(*pfds));
    if (pfds == NULL)
        snprintf(err, sizeof(err), "out of memory");
    else if (log_file_prepare(conf, err, sizeof(err)) == 0)
        ls = listeners_prepare(conf, s->ls, s->nls, 1, err, sizeof(err));
    if (ls != NULL && metrics_open(conf, err, sizeof(err)) == -1) {
        listeners_unadopt(ls, conf->nlisteners);
        listeners_discard(ls, conf->nlisteners);
        ls = NULL;
    }
    if (pfds == NULL || ls == NULL) {
        parent_reload_failed(s, err);
        log_file_commit(0);
        connproc_limits_prepare(&s->conf->rlimits); /* the old ones again */
        notify_send("READY=1\nSTATUS=reload failed, old config kept");
        lean_parent_free(pfds);
        config_free(conf);
        return;
    }
    /* Spares were forked with the old config: retire them. */
    for (i = 0; i < s->nls; i++)
        children_signal_spares(&s->ls[i], SIGUSR2);
    for (i = 0; i < conf->nlisteners; i++) {
        if (ls[i].from != NULL) {
            ls[i].from->fd = -1; /* now the new listener's */
            ls[i].inherited = ls[i].from->inherited;
            ls[i].count->stats = ls[i].from->count->stats;
            admit_carry(&ls[i], ls[i].from);
        }
        ls[i].from = NULL;
    }
    children_relink(ls, conf->nlisteners);
    admit_relink();
    admit_configure(conf, ls, conf->nlisteners);
    listeners_discard(s->ls, s->nls);
    config_free(s->conf);
    s->conf = conf;
    s->ls = ls;
    s->nls = conf->nlisteners;
    parent_pollset(s, pfds);
    malloc_trim(0);
    log_file_commit(1);
    metrics_keep(s->ls, s->nls); /* before the new names take their room */
    parent_log_listeners(s);
    priv_log(conf);
    log_event("reload status=ok config=%s listeners=%zu",
              log_value(path, sizeof(path), conf->path), s->nls);
    metrics_reload(1);
    notify_send("READY=1\nSTATUS=reloaded, serving %zu listeners", s->nls);
}

/* ---- upgrade (SIGUSR2) ---- */

/* Starts a successor on SIGUSR2; once it is ready, hands systemd over to
 * it and ends the loop (1). */
static int
parent_upgrade(struct parent *s)
{
    if (signals_got.usr2) {
        signals_got.usr2 = 0;
        upgrade_start(s->ls, s->nls);
    }
    if (upgrade_fd() == -1)
        return 0;
    if ((s->successor = upgrade_check()) == 0) {
        if (upgrade_fd() == -1)
            parent_reclaim(s); /* it failed */
        return 0;
    }
    notify_handover(s->successor);
    signals_got.term = 1;
    return 1;
}

/* ---- the loop ---- */

/* How long the loop may sleep: -1 for as long as nothing happens. */
static long long
parent_timeout(const struct parent *s, long long paused)
{
    long long ms = -1, strays = children_strays_in();

    if (paused > 0)
        ms = paused;
    else if (s->retry)
        ms = PAUSE_MS;
    if (strays >= 0 && (ms < 0 || strays < ms))
        ms = strays;
    return lifetime_timeout(ms); /* max_duration deadlines */
}

static void
parent_wait(struct parent *s)
{
    struct timespec ts, *tsp = NULL;
    long long paused = s->paused - clock_ms(), ms;
    struct pollfd *p = s->pfds;
    size_t i, n = s->npfds;

    for (i = 0; i < n; i++)
        p[i].revents = 0; /* EINTR leaves them as they were */
    parent_watch(s);
    p[n - TAIL + TAIL_METRICS].fd = metrics_fd(); /* -1 while it is busy */
    p[n - TAIL + TAIL_UPGRADE].fd = upgrade_fd();
    if (paused > 0) {
        p += n - TAIL; /* only the TAIL while paused */
        n = TAIL;
    }
    if ((ms = parent_timeout(s, paused)) >= 0)
        tsp = clock_wait(ms, &ts);
    /* The round's log lines go out; those a full log holds back wait
     * for it to take more. */
    log_flush();
    p[n++] = (struct pollfd){ .fd = log_pending_fd(), .events = POLLOUT };
    ppoll(p, n, tsp, NULL);
}

/* Whether the TAIL's fd number t has something to read. */
static int
parent_ready(const struct parent *s, int t)
{
    return (s->pfds[s->npfds - TAIL + t].revents & POLLIN) != 0;
}

static void
parent_tick(struct parent *s)
{
    const char *full;
    size_t i;
    long long now;

    /* Each fd is read only when poll() says so: a read that finds
     * nothing is a syscall per connection for nothing. */
    parent_wait(s);
    if (parent_ready(s, TAIL_SIGNALS))
        signals_read();
    /* Reports before the exits they explain. A spare may report and end
     * after poll() returned: the SIGCHLD just read reaped it, and its
     * report is in the pipe (written before it ended) though poll() did
     * not say so; unread, its exit was logged as a spare's, and its
     * connection's accept line never. */
    if (parent_ready(s, TAIL_NOTIFY) ||
        (s->prefork && parent_ready(s, TAIL_SIGNALS)))
        prefork_read(s->notify[0]);
    if (parent_ready(s, TAIL_PROXY))
        proxyparent_read();
    children_collect();
    if (parent_ready(s, TAIL_METRICS))
        metrics_serve(s->conf, s->ls, s->nls);
    now = clock_ms();
    lifetime_tick(now);
    children_strays();
    notify_status(children_serving());
    if (signals_got.usr1) {
        signals_got.usr1 = 0;
        log_reopen();
    }
    if (signals_got.hup) {
        signals_got.hup = 0;
        parent_reload(s);
        return;
    }
    if (parent_upgrade(s))
        return;
    for (i = 0; i < s->nls && s->paused <= now; i++) {
        if (!(s->pfds[i].revents & POLLIN))
            continue;
        if (s->ls[i].conf->mode == MODE_FORK)
            parent_accept(s, &s->ls[i], NULL);
        else if ((full = prefork_full(&s->ls[i], s->conf)) != NULL)
            parent_accept(s, &s->ls[i], full);
    }
    s->retry = prefork_refill(s->ls, s->nls, s->conf, s->notify[1]) == -1;
}

static void
parent_reap_until(const struct parent *s, long long deadline)
{
    /* PROXY'd connections still wait for their verdicts. */
    struct pollfd p[3] = { { .fd = proxyparent_fd(), .events = POLLIN },
                           { .fd = signals_fd_get(), .events = POLLIN } };
    struct timespec ts;
    long long ms;

    while (children_count() > 0 && (ms = deadline - clock_ms()) > 0 &&
           signals_got.term < 2) {
        log_flush();
        p[2] = (struct pollfd){ .fd = log_pending_fd(), .events = POLLOUT };
        ppoll(p, 3, clock_wait(ms, &ts), NULL);
        signals_read();
        prefork_read(s->notify[0]);
        proxyparent_read();
        children_collect();
    }
}

/*
 * After an upgrade: the spares go (the successor accepts now), and the
 * connections get shutdown_timeout to end by themselves before they are
 * asked to stop. Closing the listeners lost nothing: what waits in their
 * backlogs is the successor's to accept.
 */
static void
parent_drain(struct parent *s)
{
    size_t i;

    log_event("shutdown reason=upgrade successor=%ld children=%zu",
              (long)s->successor, children_count());
    for (i = 0; i < s->nls; i++)
        children_signal_spares(&s->ls[i], SIGUSR2);
    parent_reap_until(s, clock_ms() + clock_sec_ms(s->conf->shutdown_timeout));
}

/* Stop accepting, let connections finish within shutdown_timeout, end the
 * rest. No child outlives the parent. */
static void
parent_shutdown(struct parent *s)
{
    long long grace = clock_sec_ms(s->conf->shutdown_timeout);
    size_t i;

    /* Connections the kernel has completed are served, not reset with the
     * listener (a balancer in front has sent them a request already). */
    for (i = 0; i < s->nls; i++) {
        if (s->ls[i].conf->mode != MODE_FORK || s->ls[i].fd == -1)
            continue;
        if (s->successor <= 0) /* a successor accepts on after us */
            listen_quiesce(&s->ls[i]);
        else if (!listen_nonblocking(&s->ls[i]))
            continue; /* its spares take them: no accept() that blocks */
        parent_accept(s, &s->ls[i], NULL);
    }
    for (i = 0; i < s->nls; i++)
        listen_close(&s->ls[i]);
    if (s->successor > 0) {
        parent_drain(s);
        grace = KILL_WAIT_MS;
    } else {
        upgrade_abandon();
        notify_send("STOPPING=1");
        log_event("shutdown signal=%s children=%zu",
                  log_signame(signals_got.termsig), children_count());
    }
    children_signal_all(SIGTERM);
    parent_reap_until(s, clock_ms() + grace);
    if (children_count() > 0) {
        children_signal_all(SIGKILL);
        signals_got.term = 1;
        parent_reap_until(s, clock_ms() + KILL_WAIT_MS);
    }
    /* Orphans the killed ones left behind, adopted by the parent. */
    reaper_end_descendants();
    log_event("stop children=%zu", children_count());
    log_flush(); /* once, without waiting: what cannot go is lost */
}

/* Handlers must not read the terminal, or anything else plugsrv's
 * starter left on fd 0. Read-write: a connection's process puts its
 * stdout on it too (connproc_null_stdio). */
static void
parent_stdin(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (fd == -1)
        return;
    if (fd != STDIN_FILENO) {
        if (dup2(fd, STDIN_FILENO) == -1) {
            close(fd);
            return;
        }
        close(fd);
    } else {
        fcntl(fd, F_SETFD, 0); /* fd 0 is inherited */
    }
    connproc_stdin_null = 1;
}

/* Binds and loads: everything before the first accept. */
static int
parent_start(struct parent *s)
{
    char err[ERRBUF], path[LOG_VALUE_MAX];
    struct pollfd *pfds;

    /* Only the parent's end of the pipe is non-blocking: a spare's report
     * waits while the parent is busy rather than being lost. */
    metrics_start();
    reaper_init();
    notify_init();
    lean_parent_rseq_off();
    if (children_init() == -1 || signals_init() == -1 ||
        proxyparent_init() == -1 || pipe2(s->notify, O_CLOEXEC) == -1 ||
        fcntl(s->notify[0], F_SETFL, O_NONBLOCK) == -1) {
        log_stderr(strerror(errno));
        return EXIT_CONFIG;
    }
    if (activation_init(err, sizeof(err)) == -1 ||
        priv_resolve(s->conf, err, sizeof(err)) == -1 ||
        activation_match(s->conf, err, sizeof(err)) == -1 ||
        (s->ls = listeners_prepare(s->conf, NULL, 0, 1, err, sizeof(err))) ==
            NULL) {
        log_stderr(err);
        return EXIT_CONFIG;
    }
    s->nls = s->conf->nlisteners;
    admit_configure(s->conf, s->ls, s->nls);
    if (metrics_open(s->conf, err, sizeof(err)) == -1) {
        log_stderr(err);
        return EXIT_CONFIG;
    }
    if ((pfds = lean_parent_alloc((s->nls + TAIL + 1) * sizeof(*pfds))) ==
        NULL) {
        log_stderr(strerror(errno));
        return EXIT_CONFIG;
    }
    parent_pollset(s, pfds);
    /* The log file before anything is logged; children inherit it. */
    if (log_file_prepare(s->conf, err, sizeof(err)) == -1) {
        log_stderr(err);
        return EXIT_CONFIG;
    }
    log_file_commit(1);
    activation_done();
    parent_stdin();
    s->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    malloc_trim(0); /* every page the parent keeps, fork copies */
    parent_log_listeners(s);
    priv_log(s->conf);
    log_event("ready listeners=%zu config=%s", s->nls,
              log_value(path, sizeof(path), s->conf->path));
    /* Started by an upgrade, the old parent gives systemd our pid. */
    if (!activation_ready())
        notify_send("READY=1\nSTATUS=serving %zu listeners", s->nls);
    return 0;
}

static void
parent_free(struct parent *s)
{
    listeners_discard(s->ls, s->nls);
    lean_parent_free(s->pfds);
    if (s->notify[0] != -1) {
        close(s->notify[0]);
        close(s->notify[1]);
    }
    if (s->reserve != -1)
        close(s->reserve);
    children_free();
    proxyparent_close();
    metrics_close();
    config_free(s->conf); /* the last one read: reloads replace it */
}

/* Serves conf until SIGTERM or SIGINT. parent_run()'s, on the stack
 * where lean_stack_page() puts it. */
static __attribute__((noinline)) int
parent_main(void *arg)
{
    struct parent s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.conf = arg;
    s.pid = getpid();
    s.notify[0] = s.notify[1] = s.reserve = -1;
    if ((rc = parent_start(&s)) == 0) {
        while (!signals_got.term)
            parent_tick(&s);
        parent_shutdown(&s);
    }
    parent_free(&s);
    return rc;
}

/* Serves conf until SIGTERM or SIGINT; takes ownership of conf. */
int
parent_run(struct config *conf)
{
    return lean_stack_page(parent_main, conf);
}
