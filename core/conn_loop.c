/*
 * conn_loop.c - the event loop of a connection whose handler uses the ABI
 * 1.1 events (timers, queued output, want_write, fd watches, pause_input,
 * shutdown_write), has taken the connection's fd, or has a stop() to call
 * on SIGTERM; and those services. session.c's plain read() loop hands
 * over to it only then, so a 1.0 handler never pays for it. One poll()
 * waits for the client, the handler's fds, the next timer, the idle
 * deadline and SIGTERM (a self-pipe) at once.
 *
 * A connection's process serves one connection: the loop's state is a
 * static, and conn->ev points at it once an event service was used.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugsrv.h"

#define LOOP_BUF           65536
#define LOOP_MAX_TIMERS    4096 /* a handler adding timers in a loop... */
#define LOOP_MAX_WATCHES   1024 /* ... or watching fds cannot grow us */
#define LOOP_STOP_DRAIN_MS 1000 /* a goodbye to a client that reads */

struct plugsrv_timer {
    long long due; /* clock_ms(); -1: disarmed */
    plugsrv_timer_fn fn;
    void *arg;
    int dead; /* cancelled: freed at the top of the next pass */
};

struct conn_watch {
    int fd;
    int events; /* PLUGSRV_READABLE | PLUGSRV_WRITABLE */
    plugsrv_fd_fn fn;
    void *arg;
};

struct conn_ev {
    plugsrv_timer **timers;
    size_t ntimers, captimers;
    struct conn_watch *watches;
    size_t nwatches, capwatches;
    struct pollfd *pfds; /* the poll set: wake pipe, client, watches */
    size_t cappfds;
    char *out; /* the output queue: out[off..len) waits */
    size_t off, len, cap;
    plugsrv_conn_fn want_fn;
    void *want_arg;
    int paused;
    int shut_wr;       /* 1: FIN asked for, 2: sent */
    int idled;         /* idle_timeout passed */
    int wake[2];       /* SIGTERM's self-pipe */
    long long last_io; /* clock_ms() of the last byte in or out */
};

static struct conn_ev loop_state = { .wake = { -1, -1 } };
static char loop_buf[LOOP_BUF];

/* ---- the services' common checks ---- */

/* The loop's state, made on first use; NULL outside open()..close(). */
static struct conn_ev *
loop_ev(plugsrv_conn *c)
{
    if (c == NULL || !c->live || c->failed)
        return NULL;
    if (c->ev == NULL) {
        c->ev = &loop_state;
        loop_state.last_io = clock_ms();
    }
    return c->ev;
}

/* The same for the services that need the client's socket. */
static struct conn_ev *
loop_ev_io(plugsrv_conn *c)
{
    if (c == NULL || c->taken)
        return NULL;
    return loop_ev(c);
}

static size_t
loop_pending(const struct conn_ev *ev)
{
    return ev == NULL ? 0 : ev->len - ev->off;
}

/* ---- timers ---- */

plugsrv_timer *
conn_loop_timer_add(plugsrv_conn *c, long long ms, plugsrv_timer_fn fn,
                    void *arg)
{
    struct conn_ev *ev = loop_ev(c);
    plugsrv_timer **p, *t;
    size_t cap;

    if (ev == NULL || fn == NULL || ev->ntimers >= LOOP_MAX_TIMERS)
        return NULL;
    if (ev->ntimers == ev->captimers) {
        cap = ev->captimers ? ev->captimers * 2 : 8;
        if ((p = realloc(ev->timers, cap * sizeof(*p))) == NULL)
            return NULL;
        ev->timers = p;
        ev->captimers = cap;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->due = ms < 0 ? -1 : clock_ms() + ms;
    ev->timers[ev->ntimers++] = t;
    return t;
}

int
conn_loop_timer_set(plugsrv_conn *c, plugsrv_timer *t, long long ms)
{
    if (loop_ev(c) == NULL || t == NULL || t->dead)
        return PLUGSRV_ERROR;
    t->due = ms < 0 ? -1 : clock_ms() + ms;
    return PLUGSRV_OK;
}

/* Only marked here: the loop may be walking the timers right now. */
void
conn_loop_timer_cancel(plugsrv_conn *c, plugsrv_timer *t)
{
    (void)c;
    if (t == NULL)
        return;
    t->dead = 1;
    t->due = -1;
}

/* Frees the cancelled timers, between passes. */
static void
loop_sweep(struct conn_ev *ev)
{
    size_t i, n = 0;

    for (i = 0; i < ev->ntimers; i++) {
        if (ev->timers[i]->dead)
            free(ev->timers[i]);
        else
            ev->timers[n++] = ev->timers[i];
    }
    ev->ntimers = n;
}

/* The first armed timer's due time, or -1. */
static long long
loop_next_due(const struct conn_ev *ev)
{
    long long due = -1;
    size_t i;

    for (i = 0; i < ev->ntimers; i++) {
        if (ev->timers[i]->due >= 0 && (due < 0 || ev->timers[i]->due < due))
            due = ev->timers[i]->due;
    }
    return due;
}

/* ---- output ---- */

static int
loop_fail(plugsrv_conn *c)
{
    c->failed = 1;
    return PLUGSRV_ERROR;
}

/* The FIN host->shutdown_write() asked for, once nothing waits. */
static void
loop_fin(plugsrv_conn *c, struct conn_ev *ev)
{
    if (ev->shut_wr == 1 && loop_pending(ev) == 0) {
        shutdown(c->fd, SHUT_WR);
        ev->shut_wr = 2;
    }
}

/* Sends what the socket takes now; PLUGSRV_ERROR if the client is gone. */
static int
loop_send(plugsrv_conn *c, struct conn_ev *ev)
{
    ssize_t n;

    while (loop_pending(ev) > 0) {
        n = send(c->fd, ev->out + ev->off, loop_pending(ev),
                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            ev->off += (size_t)n;
            ev->last_io = clock_coarse_ms();
        } else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return PLUGSRV_OK;
        } else if (n == -1 && errno != EINTR) {
            return loop_fail(c);
        }
    }
    ev->off = ev->len = 0;
    loop_fin(c, ev);
    return PLUGSRV_OK;
}

static int
loop_append(struct conn_ev *ev, const void *buf, size_t len)
{
    size_t need, cap;
    char *p;

    if (ev->off > 0) { /* what was sent makes room at the front */
        memmove(ev->out, ev->out + ev->off, ev->len - ev->off);
        ev->len -= ev->off;
        ev->off = 0;
    }
    need = ev->len + len;
    if (need > ev->cap) {
        cap = ev->cap ? ev->cap : 16384;
        while (cap < need)
            cap *= 2;
        if ((p = realloc(ev->out, cap)) == NULL)
            return PLUGSRV_ERROR;
        ev->out = p;
        ev->cap = cap;
    }
    memcpy(ev->out + ev->len, buf, len);
    ev->len += len;
    return PLUGSRV_OK;
}

int
conn_loop_write_queued(plugsrv_conn *c, const void *buf, size_t len)
{
    struct conn_ev *ev = loop_ev_io(c);
    ssize_t n = 0;

    if (ev == NULL || ev->shut_wr)
        return PLUGSRV_ERROR;
    if (loop_pending(ev) >= PLUGSRV_QUEUE_MAX)
        return PLUGSRV_AGAIN;
    if (loop_pending(ev) == 0 && len > 0) { /* most often, it all fits */
        do
            n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (n == -1 && errno == EINTR);
        if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
            return loop_fail(c);
        if (n < 0)
            n = 0;
        if (n > 0)
            ev->last_io = clock_coarse_ms();
        if ((size_t)n == len)
            return PLUGSRV_OK;
    }
    return loop_append(ev, (const char *)buf + n, len - (size_t)n);
}

size_t
conn_loop_queued(plugsrv_conn *c)
{
    return c == NULL ? 0 : loop_pending(c->ev);
}

/* Blocking, for host->write(): what was queued goes first. */
int
conn_loop_flush(plugsrv_conn *c)
{
    struct conn_ev *ev = c->ev;
    size_t n;

    if (ev == NULL)
        return 0;
    if (ev->shut_wr)
        return -1;
    if ((n = loop_pending(ev)) == 0)
        return 0;
    ev->off = ev->len = 0; /* the bytes stay where they are meanwhile */
    return host_services.write(c, ev->out, n) == PLUGSRV_OK ? 0 : -1;
}

/* host->write() made progress: the client is not idle. */
void
conn_loop_progress(plugsrv_conn *c)
{
    if (c->ev != NULL)
        c->ev->last_io = clock_coarse_ms();
}

int
conn_loop_want_write(plugsrv_conn *c, plugsrv_conn_fn fn, void *arg)
{
    struct conn_ev *ev = loop_ev_io(c);

    if (ev == NULL)
        return PLUGSRV_ERROR;
    ev->want_fn = fn;
    ev->want_arg = arg;
    return PLUGSRV_OK;
}

int
conn_loop_pause_input(plugsrv_conn *c, int paused)
{
    struct conn_ev *ev = loop_ev_io(c);

    if (ev == NULL)
        return PLUGSRV_ERROR;
    ev->paused = paused != 0;
    return PLUGSRV_OK;
}

int
conn_loop_shutdown_write(plugsrv_conn *c)
{
    struct conn_ev *ev = loop_ev_io(c);

    if (ev == NULL)
        return PLUGSRV_ERROR;
    if (ev->shut_wr == 0)
        ev->shut_wr = 1;
    loop_fin(c, ev);
    return PLUGSRV_OK;
}

/* ---- fd watches ---- */

static struct conn_watch *
loop_watch_find(struct conn_ev *ev, int fd)
{
    size_t i;

    for (i = 0; ev != NULL && i < ev->nwatches; i++) {
        if (ev->watches[i].fd == fd)
            return &ev->watches[i];
    }
    return NULL;
}

void
conn_loop_unwatch(plugsrv_conn *c, int fd)
{
    struct conn_ev *ev = c == NULL ? NULL : c->ev;
    struct conn_watch *w = loop_watch_find(ev, fd);

    if (w != NULL)
        *w = ev->watches[--ev->nwatches];
}

int
conn_loop_watch(plugsrv_conn *c, int fd, int events, plugsrv_fd_fn fn,
                void *arg)
{
    struct conn_ev *ev = loop_ev(c);
    struct conn_watch *w;
    size_t cap;

    if (ev == NULL || fd < 0 || (fd == c->fd && !c->taken))
        return PLUGSRV_ERROR;
    events &= PLUGSRV_READABLE | PLUGSRV_WRITABLE;
    if (events == 0) {
        conn_loop_unwatch(c, fd);
        return PLUGSRV_OK;
    }
    if (fn == NULL)
        return PLUGSRV_ERROR;
    if ((w = loop_watch_find(ev, fd)) == NULL) {
        if (ev->nwatches >= LOOP_MAX_WATCHES)
            return PLUGSRV_ERROR;
        if (ev->nwatches == ev->capwatches) {
            cap = ev->capwatches ? ev->capwatches * 2 : 4;
            w = realloc(ev->watches, cap * sizeof(*w));
            if (w == NULL)
                return PLUGSRV_ERROR;
            ev->watches = w;
            ev->capwatches = cap;
        }
        w = &ev->watches[ev->nwatches++];
    }
    *w = (struct conn_watch){
        .fd = fd, .events = events, .fn = fn, .arg = arg
    };
    return PLUGSRV_OK;
}

/* ---- the loop ---- */

/* SIGTERM writes to this pipe: a wait on anything at all wakes up. */
static void
loop_wake_open(struct conn_ev *ev)
{
    if (ev->wake[0] >= 0 || pipe2(ev->wake, O_NONBLOCK | O_CLOEXEC) == -1)
        return;
    connproc_wake_fd = ev->wake[1];
}

static void
loop_wake_drain(struct conn_ev *ev)
{
    char buf[64];

    while (read(ev->wake[0], buf, sizeof(buf)) > 0)
        continue;
}

static int
loop_reading(const struct session *s, int eof)
{
    return !eof && !s->conn.taken && !s->stopped;
}

/* Could anything still happen? If not, the connection is over. */
static int
loop_alive(const struct session *s, const struct conn_ev *ev, int eof)
{
    return loop_reading(s, eof) || loop_next_due(ev) >= 0 ||
           ev->nwatches > 0 || loop_pending(ev) > 0 || ev->want_fn != NULL;
}

/* Milliseconds poll() may wait: until the next timer or the idle
 * deadline, -1 for ever. */
static int
loop_timeout(const struct session *s, const struct conn_ev *ev, long long now)
{
    long long due = loop_next_due(ev), wait = -1;

    if (s->idle > 0 && !s->conn.taken) {
        long long idle_due = ev->last_io + clock_sec_ms(s->idle);

        if (due < 0 || idle_due < due)
            due = idle_due;
    }
    if (due >= 0)
        wait = due > now ? due - now : 0;
    return wait > 60000 ? 60000 : (int)wait;
}

static int
loop_pollset(const struct session *s, struct conn_ev *ev, int eof)
{
    size_t i, need = ev->nwatches + 2;
    struct pollfd *p;
    short want = 0;

    if (need > ev->cappfds) {
        if ((p = realloc(ev->pfds, need * sizeof(*p))) == NULL)
            return -1;
        ev->pfds = p;
        ev->cappfds = need;
    }
    if (loop_reading(s, eof) && !ev->paused)
        want |= POLLIN;
    if (!s->conn.taken && (loop_pending(ev) > 0 || ev->want_fn != NULL))
        want |= POLLOUT;
    ev->pfds[0] = (struct pollfd){ .fd = ev->wake[0], .events = POLLIN };
    ev->pfds[1] =
        (struct pollfd){ .fd = want ? s->conn.fd : -1, .events = want };
    for (i = 0; i < ev->nwatches; i++) {
        want = 0;
        if (ev->watches[i].events & PLUGSRV_READABLE)
            want |= POLLIN;
        if (ev->watches[i].events & PLUGSRV_WRITABLE)
            want |= POLLOUT;
        ev->pfds[i + 2] =
            (struct pollfd){ .fd = ev->watches[i].fd, .events = want };
    }
    return (int)need;
}

/* Input from the client, or its EOF, for the handler. */
static enum session_step
loop_read(struct session *s, struct conn_ev *ev, int *eof)
{
    enum session_step step;
    ssize_t n;

    n = recv(s->conn.fd, loop_buf, sizeof(loop_buf), MSG_DONTWAIT);
    if (n > 0) {
        ev->last_io = clock_coarse_ms();
        return session_input(s, loop_buf, (size_t)n);
    }
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return STEP_GO;
        loop_fail(&s->conn);
        return STEP_ERROR;
    }
    *eof = 1;
    step = session_eof(s);
    return step == STEP_GO && s->eof == NULL ? STEP_CLOSE : step;
}

static enum session_step
loop_want_write(struct session *s, struct conn_ev *ev)
{
    plugsrv_conn_fn fn = ev->want_fn;
    int rc;

    ev->want_fn = NULL; /* one-shot: fn asks again to go on */
    watchdog_enter();
    rc = fn(&s->conn, ev->want_arg);
    watchdog_leave();
    return session_step(s, rc);
}

/* The client's socket is ready: read, send the queue, want_write. */
static enum session_step
loop_client(struct session *s, struct conn_ev *ev, short revents, int *eof)
{
    enum session_step step = STEP_GO;

    if (revents == 0)
        return STEP_GO;
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && loop_reading(s, *eof) &&
        !ev->paused && (step = loop_read(s, ev, eof)) != STEP_GO)
        return step;
    if (s->conn.taken)
        return STEP_GO;
    if (loop_pending(ev) > 0 && loop_send(&s->conn, ev) != PLUGSRV_OK)
        return STEP_ERROR;
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) && ev->want_fn != NULL &&
        loop_pending(ev) == 0)
        step = loop_want_write(s, ev);
    return step;
}

static int
loop_events(short revents)
{
    int ev = 0;

    if (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
        ev |= PLUGSRV_READABLE;
    if (revents & (POLLOUT | POLLERR))
        ev |= PLUGSRV_WRITABLE;
    return ev;
}

/* Each ready watched fd, if it is still watched when its turn comes. */
static enum session_step
loop_watches(struct session *s, struct conn_ev *ev, int n)
{
    struct conn_watch *w, copy;
    int i, ready, rc;

    for (i = 2; i < n; i++) {
        if (ev->pfds[i].revents == 0 ||
            (w = loop_watch_find(ev, ev->pfds[i].fd)) == NULL)
            continue;
        ready = loop_events(ev->pfds[i].revents);
        if (!(w->events & PLUGSRV_WRITABLE))
            ready &= ~PLUGSRV_WRITABLE;
        if (ready == 0)
            continue;
        copy = *w; /* fn may unwatch it, and the table move */
        watchdog_enter();
        rc = copy.fn(&s->conn, copy.fd, ready, copy.arg);
        watchdog_leave();
        if (session_step(s, rc) != STEP_GO)
            return session_step(s, rc);
    }
    return STEP_GO;
}

/* Each timer due now goes off once; those armed meanwhile wait a pass. */
static enum session_step
loop_timers(struct session *s, struct conn_ev *ev, long long now)
{
    size_t i, n = ev->ntimers;
    plugsrv_timer *t;
    int rc;

    for (i = 0; i < n; i++) {
        t = ev->timers[i];
        if (t->dead || t->due < 0 || t->due > now)
            continue;
        t->due = -1;
        watchdog_enter();
        rc = t->fn(&s->conn, t->arg);
        watchdog_leave();
        if (session_step(s, rc) != STEP_GO)
            return session_step(s, rc);
    }
    return STEP_GO;
}

/* Idle: for idle_timeout, no byte in and none of the queue out. */
static int
loop_idle(struct session *s, struct conn_ev *ev, long long now)
{
    if (s->idle <= 0 || s->conn.taken ||
        now - ev->last_io < clock_sec_ms(s->idle))
        return 0;
    ev->idled = 1;
    /* Unsent output would linger in the kernel after us: reset. */
    s->conn.timedout = loop_pending(ev) > 0 ? 1 : 0;
    return 1;
}

/* One wait and what it brought; the step the callbacks asked for. */
static enum session_step
loop_pass(struct session *s, struct conn_ev *ev, int *eof)
{
    enum session_step step;
    long long now = clock_ms();
    int n, rc;

    if ((n = loop_pollset(s, ev, *eof)) == -1)
        return STEP_ERROR;
    rc = poll(ev->pfds, (nfds_t)n, loop_timeout(s, ev, now));
    if (rc == -1)
        return errno == EINTR || errno == EAGAIN ? STEP_GO : STEP_ERROR;
    if (ev->pfds[0].revents)
        loop_wake_drain(ev);
    if ((step = loop_client(s, ev, ev->pfds[1].revents, eof)) != STEP_GO ||
        (step = loop_watches(s, ev, n)) != STEP_GO ||
        (step = loop_timers(s, ev, clock_ms())) != STEP_GO)
        return step;
    return loop_idle(s, ev, clock_coarse_ms()) ? STEP_ERROR : STEP_GO;
}

/* SIGTERM: the handler's stop(), once. */
static enum session_step
loop_stop(struct session *s)
{
    int rc;

    s->stopped = 1;
    watchdog_enter();
    rc = s->stop(&s->conn, s->conn_state);
    watchdog_leave();
    return session_step(s, rc);
}

/* PLUGSRV_CLOSE with output queued: send it first, within idle_timeout
 * of no progress; once stopping, within LOOP_STOP_DRAIN_MS of none (the
 * parent is waiting), and not at all if SIGTERM comes before stop(). */
static enum session_step
loop_drain(struct session *s, struct conn_ev *ev)
{
    struct pollfd p[2];
    int wait;

    while (loop_pending(ev) > 0 && !s->conn.failed) {
        if (connproc_stop && !s->stopped)
            return STEP_CLOSE;
        p[0] = (struct pollfd){ .fd = ev->wake[0], .events = POLLIN };
        p[1] = (struct pollfd){ .fd = s->conn.fd, .events = POLLOUT };
        wait = loop_timeout(s, ev, clock_ms());
        if (s->stopped && (wait < 0 || wait > LOOP_STOP_DRAIN_MS))
            wait = LOOP_STOP_DRAIN_MS;
        if (poll(p, 2, wait) == 0) {
            if (s->stopped) { /* reset: unsent bytes must not linger */
                s->conn.timedout = 1;
                return STEP_CLOSE;
            }
            if (loop_idle(s, ev, clock_coarse_ms()))
                return STEP_ERROR;
        }
        if (p[0].revents)
            loop_wake_drain(ev);
        if (p[1].revents && loop_send(&s->conn, ev) != PLUGSRV_OK)
            return STEP_ERROR;
    }
    loop_fin(&s->conn, ev);
    return s->conn.failed ? STEP_ERROR : STEP_CLOSE;
}

static enum conn_exit
loop_end(struct session *s, struct conn_ev *ev, enum session_step step)
{
    if (ev->idled)
        return CONN_IDLE;
    if (step == STEP_CLOSE && !s->conn.taken &&
        (step = loop_drain(s, ev)) == STEP_ERROR && ev->idled)
        return CONN_IDLE;
    return session_verdict(s, step);
}

enum conn_exit
conn_loop_run(struct session *s, int *eof)
{
    enum session_step step = STEP_GO;
    struct conn_ev *ev = loop_ev(&s->conn);

    if (ev == NULL)
        return s->conn.failed ? CONN_IO : CONN_NOMEM;
    loop_wake_open(ev);
    for (;;) {
        if (connproc_stop && !s->stopped) {
            if (s->stop == NULL)
                return CONN_SHUTDOWN;
            if ((step = loop_stop(s)) != STEP_GO)
                break;
        }
        loop_sweep(ev);
        if (!loop_alive(s, ev, *eof)) {
            step = STEP_CLOSE;
            break;
        }
        if ((step = loop_pass(s, ev, eof)) != STEP_GO)
            break;
    }
    return loop_end(s, ev, step);
}

void
conn_loop_free(plugsrv_conn *c)
{
    struct conn_ev *ev = c->ev;
    size_t i;

    if (ev == NULL)
        return;
    for (i = 0; i < ev->ntimers; i++)
        free(ev->timers[i]);
    free(ev->timers);
    free(ev->watches);
    free(ev->pfds);
    free(ev->out);
    ev->timers = NULL;
    ev->watches = NULL;
    ev->pfds = NULL;
    ev->out = NULL;
    ev->ntimers = ev->nwatches = ev->off = ev->len = ev->cap = 0;
    ev->captimers = ev->capwatches = ev->cappfds = 0;
}
