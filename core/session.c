/*
 * session.c - one connection, served in its own process: reads from the
 * client, frames lines for line-mode handlers, calls the handler, and turns
 * the way it ended into the process's exit status (enum conn_exit).
 */
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

#define SESSION_BUF  65536
#define LINGER_MS    2000 /* draining unread input before close */
#define LINGER_BYTES (1 << 20)

static char session_buf[SESSION_BUF];

enum session_step
session_step(const struct session *s, int rc)
{
    if (rc == PLUGSRV_ERROR || s->conn.failed)
        return STEP_ERROR;
    if (rc == PLUGSRV_CLOSE || s->conn.closing)
        return STEP_CLOSE;
    return STEP_GO;
}

/* A frame_cb: non-zero stops the framer, and s->step says why. */
static int
session_deliver(void *arg, const char *buf, size_t len)
{
    struct session *s = arg;
    int rc;

    if (s->h->data == NULL)
        return 0;
    watchdog_enter();
    rc = s->h->data(&s->conn, s->conn_state, buf, len);
    watchdog_leave();
    s->step = session_step(s, rc);
    /* After host->take_fd() the rest of the input is no longer ours. */
    return s->step != STEP_GO || s->conn.taken;
}

/* Hands input to the handler: whole lines in line mode, else as read. */
enum session_step
session_input(struct session *s, const char *buf, size_t len)
{
    if (s->h->mode != PLUGSRV_MODE_LINE) {
        session_deliver(s, buf, len);
        return s->step;
    }
    s->framing = frame_feed(s->frame, buf, len, session_deliver, s);
    if (s->framing == FRAME_STOPPED)
        s->framing = FRAME_OK;
    return s->framing == FRAME_OK ? s->step : STEP_ERROR;
}

/* The client's EOF: the last unfinished line, then eof() if the handler
 * has one (ABI 1.1); without one, the end of the connection. */
enum session_step
session_eof(struct session *s)
{
    int rc;

    if (s->h->mode == PLUGSRV_MODE_LINE)
        frame_finish(s->frame, session_deliver, s);
    if (s->step != STEP_GO || s->eof == NULL || s->conn.taken)
        return s->step;
    watchdog_enter();
    rc = s->eof(&s->conn, s->conn_state);
    watchdog_leave();
    s->step = session_step(s, rc);
    return s->step;
}

/* Turns how the session stopped into the process's exit status. */
enum conn_exit
session_verdict(const struct session *s, enum session_step step)
{
    if (s->stopped && step != STEP_ERROR)
        return CONN_SHUTDOWN;
    if (s->framing == FRAME_TOOLONG)
        return CONN_LINE;
    if (s->framing == FRAME_NOMEM)
        return CONN_NOMEM;
    if (step != STEP_ERROR)
        return CONN_OK;
    if (s->conn.failed)
        return s->conn.timedout ? CONN_IDLE : CONN_IO;
    return CONN_HANDLER;
}

/* The watchdog's alarm cut a read short: the client is idle if it has
 * been silent for idle_timeout since the read began; else wait for what
 * is left of it (SO_RCVTIMEO would start again from now). */
static int
session_interrupted(struct session *s, long long since)
{
    long long left = watchdog_left(since);
    struct timeval tv = clock_timeval(left);

    if (s->idle == 0)
        return 0;
    if (left <= 0)
        return 1;
    setsockopt(s->conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    s->shortened = 1;
    return 0;
}

/* Sockets inherit their timeouts from the listener when the handshake
 * completes; one queued across a reload that changed them needs this. */
static void
session_timeouts(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* After a shortened wait, the next one is whole again. */
static void
session_whole_timeout(struct session *s)
{
    struct timeval tv = { .tv_sec = s->idle, .tv_usec = 0 };

    setsockopt(s->conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    s->shortened = 0;
}

/*
 * Stopping (SIGTERM): what the client has sent already is served, so that
 * a request that reached us is answered, not lost. Reads wait at most
 * CONNPROC_DRAIN_MS from now on; the first pause, or CONNPROC_DRAIN_MAX_MS
 * of a client that keeps sending, ends the connection. 1 once it is over.
 */
static int
session_drained(struct session *s)
{
    struct timeval tv = clock_timeval(CONNPROC_DRAIN_MS);

    if (s->drain_until == 0) {
        s->drain_until = clock_ms() + CONNPROC_DRAIN_MAX_MS;
        setsockopt(s->conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        return 0;
    }
    return clock_ms() >= s->drain_until;
}

/* Returns the exit status, and whether the client has sent its EOF. */
static enum conn_exit
session_loop(struct session *s, int *eof)
{
    enum session_step step;
    long long since = 0;
    int retry = 0;
    ssize_t n;

    *eof = 0;
    for (;;) {
        /* One test per read: the 1.0 path stays a plain read(). */
        if (s->conn.ev != NULL || s->conn.taken)
            return conn_loop_run(s, eof);
        if (connproc_stop && s->stop != NULL)
            return conn_loop_run(s, eof); /* it says goodbye itself */
        if (connproc_stop && session_drained(s))
            return CONN_SHUTDOWN;
        if (!retry)
            since = clock_coarse_ms();
        retry = 0;
        n = lean_read(s->conn.fd, session_buf, sizeof(session_buf));
        if (n > 0) {
            if (s->shortened)
                session_whole_timeout(s);
            if ((step = session_input(s, session_buf, (size_t)n)) != STEP_GO)
                return session_verdict(s, step);
        } else if (n == 0) {
            *eof = 1;
            if ((step = session_eof(s)) != STEP_GO || s->eof == NULL)
                return session_verdict(s, step == STEP_GO ? STEP_CLOSE : step);
            return conn_loop_run(s, eof);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return connproc_stop ? CONN_SHUTDOWN : CONN_IDLE;
        } else if (errno != EINTR) {
            return CONN_IO;
        } else if (connproc_stop) {
            retry = 1; /* session_drained() says for how long */
        } else if (session_interrupted(s, since)) {
            return CONN_IDLE;
        } else {
            retry = 1;
        }
    }
}

/*
 * Closing a socket with unread input makes the kernel send a reset, which
 * can destroy replies the client has not read yet. So when we end first,
 * send our FIN and read what is still coming, for a bounded time.
 */
static void
session_linger(int fd)
{
    struct timeval tv = clock_timeval(200);
    long long end;
    size_t total = 0;
    ssize_t n;

    if (shutdown(fd, SHUT_WR) == -1)
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    end = clock_ms() + LINGER_MS;
    while (total < LINGER_BYTES && clock_ms() < end) {
        n = read(fd, session_buf, sizeof(session_buf));
        if (n <= 0 && !(n == -1 && errno == EINTR))
            break;
        if (n > 0)
            total += (size_t)n;
    }
}

/* A client that stopped reading would keep our unsent replies in the
 * kernel after we are gone: reset instead of a FIN. */
static void
session_abort(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Out of session_init's frame, which every connection's init() runs
 * below: its buffers would push the handler's stack onto one more page. */
static __attribute__((noinline)) void
session_failed(const struct listener *l, const char *what, const char *err,
               size_t errlen)
{
    char msg[LOG_VALUE_MAX];

    /* The module may have filled err to the end, with no NUL. */
    log_event("error what=%s listener=%s msg=%s", what, l->logname,
              log_nvalue(msg, sizeof(msg), err, errlen));
}

/* The module's entry point and ABI check, in this process and never in
 * the parent (a prefork spare has done it before accept(), and brings its
 * handler): 0, or -1 once logged. On a copy of the module on the stack:
 * writing to the listener would copy one more of the parent's pages in
 * every connection. */
static int
session_entry(struct session *s, const struct listener *l,
              const plugsrv_handler *found)
{
    char err[ERRBUF] = "";
    struct module m = l->module;
    int rc;

    if (found != NULL) {
        s->h = found;
        return 0;
    }

    watchdog_enter();
    rc = module_entry(&m, err, sizeof(err));
    watchdog_leave();
    if (rc == 0) {
        s->h = m.handler;
        return 0;
    }
    session_failed(l, "module", err, sizeof(err));
    return -1;
}

/* The module's init(), in this process: 0, or -1 once logged. */
static int
session_init(struct session *s, const struct listener *l)
{
    char err[ERRBUF] = "";
    int rc;

    if (s->h->init == NULL)
        return 0;
    watchdog_enter();
    rc = s->h->init(&l->conf->options, &s->module_state, err, sizeof(err));
    watchdog_leave();
    if (rc == PLUGSRV_OK)
        return 0;
    session_failed(l, "init", err, sizeof(err));
    return -1;
}

static enum session_step
session_open(struct session *s)
{
    int rc;

    if (s->h->open == NULL)
        return STEP_GO;
    s->conn.live = 1;
    watchdog_enter();
    rc = s->h->open(&s->conn, s->module_state, &s->conn_state);
    watchdog_leave();
    return session_step(s, rc);
}

/* The handler's last word: close() and fini(), under the watchdog too. */
static void
session_end(struct session *s)
{
    s->conn.live = 0;
    if (s->h->close != NULL || s->h->fini != NULL) {
        watchdog_enter();
        if (s->h->close != NULL)
            s->h->close(&s->conn, s->conn_state);
        if (s->h->fini != NULL)
            s->h->fini(s->module_state);
        watchdog_leave();
    }
    conn_loop_free(&s->conn);
}

/* The callbacks a 1.0 handler's smaller struct does not have. */
static void
session_callbacks(struct session *s)
{
    if (s->h->abi_minor < 1 ||
        s->h->size < offsetof(plugsrv_handler, stop) + sizeof(s->h->stop))
        return;
    s->eof = s->h->eof;
    s->stop = s->h->stop;
}

static enum conn_exit
session_go(const struct listener *l, const plugsrv_handler *found, int fd,
           const struct conn_addrs *a)
{
    enum session_step step;
    enum conn_exit status;
    struct session s;
    struct frame frame;
    int eof = 0;

    memset(&s, 0, sizeof(s));
    s.frame = &frame;
    s.conn.fd = fd;
    s.idle = l->conf->idle_timeout;
    if (l->retimed)
        session_timeouts(fd, s.idle);
    s.conn.listener = l->conf->name;
    memcpy(s.conn.peer, a->peer, sizeof(s.conn.peer));
    memcpy(s.conn.via, a->via, sizeof(s.conn.via));
    memcpy(s.conn.local, a->local, sizeof(s.conn.local));
    host_listener = l->conf->name;
    frame_init(&frame, l->conf->max_line);
    watchdog_start(l->conf->idle_timeout);

    if (session_entry(&s, l, found) == -1)
        return CONN_MODULE;
    session_callbacks(&s);
    if (session_init(&s, l) == -1)
        return CONN_MODULE;
    step = session_open(&s);
    status =
        step == STEP_GO ? session_loop(&s, &eof) : session_verdict(&s, step);
    session_end(&s);
    frame_free(&frame);
    if (s.conn.taken) /* the handler's now, not ours to close */
        return status;
    if (!eof &&
        (status == CONN_OK || status == CONN_LINE || status == CONN_HANDLER))
        session_linger(fd);
    else if (s.conn.timedout)
        session_abort(fd);
    lean_close(fd);
    return status;
}

enum conn_exit
session_run(const struct listener *l, const plugsrv_handler *h, int fd,
            const char *peer)
{
    struct conn_addrs a = { .via = "", .local = "" };

    lean_copy(a.peer, sizeof(a.peer), peer);
    return session_go(l, h, fd, &a);
}

enum conn_exit
session_serve(const struct listener *l, int fd, const struct conn_addrs *a)
{
    return session_go(l, NULL, fd, a);
}
