/*
 * prefork.c - listeners in "prefork" mode: a pool of children forked ahead
 * of time, each blocked in accept() with the module loaded and its entry
 * point called. Each still serves exactly one connection and exits, so the
 * isolation is that of fork mode; what is saved is the fork on the
 * connection's path. A child that takes a connection tells the parent
 * through a pipe, and the parent forks its replacement.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

struct prefork_msg {
    pid_t pid;
    long long accepted; /* clock_ms(): the parent may read this late */
    char peer[ADDRSTRLEN];
    struct sockaddr_storage sa; /* for admit_peer() */
};

/* Its log line's buffers out of prefork_child()'s frame, which the parent's
 * loop would otherwise push onto a second page of stack for each spare
 * (lean_stack_page()). */
static __attribute__((noinline, noreturn)) void
prefork_module_failed(const struct listener *l, const char *err)
{
    char why[LOG_VALUE_MAX];

    log_event("error what=module listener=%s msg=%s", l->logname,
              log_value(why, sizeof(why), err));
    connproc_exit(CONN_MODULE);
}

/*
 * The spare's wait: its connection's fd; -1 once SIGTERM or SIGUSR2 came
 * (exit CONN_OK), -2 if the listener failed it (CONN_SETUP). The flags
 * are checked before any error is taken for a failure: SIGUSR2's handler
 * may have put /dev/null in the listener's place (ENOTSOCK) just after
 * the check and before accept(). With a connection, connproc_conn_fd
 * holds it before connproc_listen_fd lets go of the listener: a SIGTERM
 * in between finds one or the other (connproc_on_signal()).
 */
int
prefork_accept(int lfd, struct sockaddr_storage *ss)
{
    socklen_t len;
    int fd, err = 0;

    connproc_listen_fd = lfd;
    for (;;) {
        if (connproc_stop || connproc_retire) {
            fd = -1;
            break;
        }
        /* EAGAIN: the listener's SO_RCVTIMEO (idle_timeout) ran out. */
        if (err != 0 && err != EINTR && err != ECONNABORTED && err != EAGAIN) {
            fd = -2;
            break;
        }
        len = sizeof(*ss);
        fd = lean_accept(lfd, (struct sockaddr *)ss, &len);
        if (fd >= 0) {
            connproc_conn_fd = fd;
            break;
        }
        err = errno;
    }
    connproc_listen_fd = -1;
    return fd;
}

/* The spare's life: wait for one connection, report it, serve it. */
static __attribute__((noreturn)) void
prefork_child(const struct listener *l, int notify, pid_t parent)
{
    struct module m = l->module;
    char err[ERRBUF];
    struct prefork_msg msg;
    struct sockaddr_storage ss;
    int fds[2] = { l->fd, notify };
    struct connproc_setup cs = { .parent = parent,
                                 .spare = 1,
                                 .conn_fd = -1,
                                 .keep = fds,
                                 .nkeep = 2,
                                 .as = l->conf };
    int fd;

    if (connproc_init(&cs) == -1)
        _exit(CONN_SETUP);
    proctitle_set(l->conf->name, "spare");
    /* The entry point, once, here: not on the connection's path. On a
     * copy of the module, as session.c does: the listener is on a page of
     * the parent's heap, which a write would copy. */
    connproc_signals_hold();
    if (module_entry(&m, err, sizeof(err)) == -1)
        prefork_module_failed(l, err);
    connproc_signals_reclaim();
    if ((fd = prefork_accept(fds[0], &ss)) == -1)
        connproc_exit(CONN_OK);
    if (fd == -2)
        _exit(CONN_SETUP);
    memset(&msg, 0, sizeof(msg));
    msg.accepted = clock_ms();
    msg.pid = getpid();
    addr_format((struct sockaddr *)&ss, msg.peer, sizeof(msg.peer));
    msg.sa = ss;
    /* Smaller than PIPE_BUF: the write is atomic among all the spares. It
     * blocks while the parent is busy (a reload), which is when the
     * parent's SIGUSR2 may interrupt it: written again, unless SIGTERM
     * came. If it fails all the same, the parent learns of the connection
     * at its exit. */
    while (lean_write(fds[1], &msg, sizeof(msg)) == -1 && errno == EINTR &&
           !connproc_stop)
        ;
    lean_close(fds[0]);
    lean_close(fds[1]);
    /* The ACL holds exactly: a refused peer never reaches the handler.
     * The parent logs the refusal from the report. */
    if (!admit_acl(l->conf, (struct sockaddr *)&ss))
        connproc_exit(CONN_OK);
    proctitle_set(l->conf->name, msg.peer);
    connproc_exit(session_run(l, m.handler, fd, msg.peer));
}

static int
prefork_spawn(struct listener *l, int notify)
{
    static pid_t parent; /* asked once */
    pid_t pid;

    if (parent == 0)
        parent = getpid();
    /* Non-blocking while the pool was full: the spare blocks in accept(). */
    if (l->nonblock && listen_set_nonblock(l, 0) == -1) {
        log_warn("error what=fcntl listener=%s", l->logname);
        return -1;
    }
    if ((pid = lean_fork()) == -1) {
        log_warn("error what=fork listener=%s", l->logname);
        return -1;
    }
    if (pid == 0)
        prefork_child(l, notify, parent);
    if (children_add(pid, l, CHILD_SPARE) == NULL) {
        kill(pid, SIGKILL);
        return -1;
    }
    return 0;
}

/* Why l's pool may not have one more process (max_connections, the
 * server's or the listener's), or NULL. */
static const char *
prefork_cap(const struct listener *l, const struct config *conf)
{
    if (children_count() >= (size_t)conf->max_connections)
        return stats_refusals[STATS_MAX_CONNECTIONS];
    if (l->conf->max_connections > 0 &&
        l->count->active + l->count->spare >= l->conf->max_connections)
        return stats_refusals[STATS_LISTENER_MAX];
    return NULL;
}

/* Tops each pool up to its spare count, within the caps; -1 if a fork
 * failed, so that the caller tries again a little later. */
int
prefork_refill(struct listener *ls, size_t n, const struct config *conf,
               int notify)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (ls[i].conf->mode != MODE_PREFORK || ls[i].fd == -1)
            continue;
        while (ls[i].count->spare < ls[i].conf->spare &&
               prefork_cap(&ls[i], conf) == NULL) {
            if (prefork_spawn(&ls[i], notify) == -1)
                return -1;
        }
    }
    return 0;
}

/*
 * A pool with no spare that a cap keeps from forking one: the parent
 * takes its waiting clients itself and refuses them, as fork mode does,
 * rather than leave them in the listen queue. With a spare in accept()
 * the parent never touches the listener; without one, it makes it
 * non-blocking first (parent.c), and blocking again before it forks the
 * next spare. Why, or NULL if not full.
 */
const char *
prefork_full(const struct listener *l, const struct config *conf)
{
    if (l->conf->mode != MODE_PREFORK || l->fd == -1 || l->count->spare > 0)
        return NULL;
    return prefork_cap(l, conf);
}

/*
 * A spare took a connection by itself: the parent's decision comes after.
 * The ACL the spare applied too; a connection over a per-source limit or
 * rate is ended here, and its handler may have run for that moment.
 */
static void
prefork_admit(struct child *c, const struct prefork_msg *msg)
{
    /* Sized to what they hold, not LOG_VALUE_MAX: the parent's frames per
     * connection stay on one page of stack (lean_stack_page()). */
    char name[LOG_VALUE_ROOM(sizeof(c->listener_name))];
    char peer[LOG_VALUE_ROOM(sizeof(c->peer))];
    const char *refused = NULL;

    if (c->listener != NULL)
        refused = admit_peer(c->listener, (const struct sockaddr *)&msg->sa,
                             &c->ref);
    children_serve(c, msg->peer, msg->accepted);
    if (refused != NULL) {
        admit_refuse(c->listener, c->listener_name, c->peer, refused);
        c->refused = 1;
        kill(c->pid, SIGKILL);
        return;
    }
    if (c->listener != NULL) {
        lifetime_arm(c, c->listener);
        stats_accepted(&c->listener->count->stats);
    }
    /* The child's copy of the name, as its exit line will have: a reload
     * may have renamed the listener it now belongs to (children_relink()
     * matches by address). */
    log_event("accept listener=%s peer=%s pid=%ld",
              log_value(name, sizeof(name), c->listener_name),
              log_value(peer, sizeof(peer), c->peer), (long)c->pid);
    metrics_accept(c->listener_name);
}

/* Takes the spares' reports: which of them now serve whom. */
void
prefork_read(int notify)
{
    struct prefork_msg msg;
    struct child *c;

    /* It ends on EAGAIN: lean_parent_read() leaves errno's page alone. */
    while (lean_parent_read(notify, &msg, sizeof(msg)) ==
           (ssize_t)sizeof(msg)) {
        msg.peer[sizeof(msg.peer) - 1] = '\0';
        if ((c = children_find(msg.pid)) == NULL)
            continue;
        prefork_admit(c, &msg);
    }
}
