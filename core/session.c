/*
 * session.c - one connection, served in its own process: reads from the
 * client, frames lines for line-mode handlers, calls the handler, and turns
 * the way it ended into the process's exit status (enum child_exit).
 */
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

/* What a delivery asks for; frame.c passes the non-zero ones through. */
enum {
    SESSION_GO = 0,
    SESSION_CLOSE = 1,
    SESSION_ERROR = -1
};

struct session {
    plugsrv_conn conn;
    int idle;      /* idle_timeout, seconds */
    int shortened; /* SO_RCVTIMEO is less than idle for now */
    const plugsrv_handler *h;
    void *module_state;
    void *conn_state;
    struct frame frame;
};

static char session_buf[SESSION_BUF];

static int
session_deliver(void *arg, const char *buf, size_t len)
{
    struct session *s = arg;
    int rc;

    if (s->h->data == NULL)
        return SESSION_GO;
    watchdog_enter();
    rc = s->h->data(&s->conn, s->conn_state, buf, len);
    watchdog_leave();
    if (rc == PLUGSRV_ERROR || s->conn.failed)
        return SESSION_ERROR;
    if (rc == PLUGSRV_CLOSE || s->conn.closing)
        return SESSION_CLOSE;
    return SESSION_GO;
}

static int
session_input(struct session *s, const char *buf, size_t len)
{
    if (s->h->mode == PLUGSRV_MODE_LINE)
        return frame_feed(&s->frame, buf, len, session_deliver, s);
    return session_deliver(s, buf, len);
}

static int
session_eof(struct session *s)
{
    if (s->h->mode == PLUGSRV_MODE_LINE)
        return frame_finish(&s->frame, session_deliver, s);
    return SESSION_GO;
}

/* Turns how delivery stopped into the process's exit status. */
static int
session_verdict(const struct session *s, int rc)
{
    if (rc == SESSION_GO || rc == SESSION_CLOSE)
        return CHILD_OK;
    if (rc == FRAME_TOOLONG)
        return CHILD_LINE;
    if (s->conn.failed)
        return s->conn.timedout ? CHILD_IDLE : CHILD_IO;
    return CHILD_HANDLER;
}

/* The watchdog's alarm cut a read short: the client is idle if it has
 * been silent for idle_timeout since the read began; else wait for what
 * is left of it (SO_RCVTIMEO would start again from now). */
static int
session_interrupted(struct session *s, long long since)
{
    long long left = watchdog_left(since);
    struct timeval tv = { .tv_sec = (time_t)(left / 1000),
                          .tv_usec = (suseconds_t)(left % 1000) * 1000 };

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

/* Returns the exit status, and whether the client has sent its EOF. */
static int
session_loop(struct session *s, int *eof)
{
    long long since = 0;
    int rc, retry = 0;
    ssize_t n;

    *eof = 0;
    for (;;) {
        if (proc_stop)
            return CHILD_SHUTDOWN;
        if (!retry)
            since = watchdog_ms();
        retry = 0;
        n = read(s->conn.fd, session_buf, sizeof(session_buf));
        if (n > 0) {
            if (s->shortened)
                session_whole_timeout(s);
            if ((rc = session_input(s, session_buf, (size_t)n)) != 0)
                return session_verdict(s, rc);
        } else if (n == 0) {
            if (proc_stop) /* shut down by the SIGTERM handler */
                return CHILD_SHUTDOWN;
            *eof = 1;
            return session_verdict(s, session_eof(s));
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return CHILD_IDLE;
        } else if (errno != EINTR) {
            return CHILD_IO;
        } else if (session_interrupted(s, since)) {
            return CHILD_IDLE;
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
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200 * 1000 };
    struct timespec t0, t1;
    size_t total = 0;
    ssize_t n;
    long ms = 0;

    if (shutdown(fd, SHUT_WR) == -1)
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (total < LINGER_BYTES && ms < LINGER_MS) {
        n = read(fd, session_buf, sizeof(session_buf));
        if (n <= 0 && !(n == -1 && errno == EINTR))
            break;
        if (n > 0)
            total += (size_t)n;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 +
             (t1.tv_nsec - t0.tv_nsec) / 1000000;
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

static int
session_open(struct session *s, const struct listener *l)
{
    char err[ERRBUF] = "";
    int rc = PLUGSRV_OK;

    if (s->h->init != NULL) {
        watchdog_enter();
        rc = s->h->init(&l->conf->options, &s->module_state, err, sizeof(err));
        watchdog_leave();
    }
    if (rc != PLUGSRV_OK) {
        log_warnx("error what=init listener=%s msg=\"%s\"", l->conf->name,
                  err);
        return CHILD_MODULE;
    }
    if (s->h->open == NULL)
        return SESSION_GO;
    watchdog_enter();
    rc = s->h->open(&s->conn, s->module_state, &s->conn_state);
    watchdog_leave();
    if (rc == PLUGSRV_ERROR)
        return SESSION_ERROR;
    return rc == PLUGSRV_CLOSE || s->conn.closing ? SESSION_CLOSE : SESSION_GO;
}

/* The handler's last word: close() and fini(), under the watchdog too. */
static void
session_end(struct session *s)
{
    if (s->h->close == NULL && s->h->fini == NULL)
        return;
    watchdog_enter();
    if (s->h->close != NULL)
        s->h->close(&s->conn, s->conn_state);
    if (s->h->fini != NULL)
        s->h->fini(s->module_state);
    watchdog_leave();
}

int
session_run(const struct listener *l, int fd, const char *peer)
{
    struct session s;
    int rc, status, eof = 0;

    memset(&s, 0, sizeof(s));
    s.conn.fd = fd;
    s.idle = l->conf->idle_timeout;
    if (l->retimed)
        session_timeouts(fd, s.idle);
    s.conn.listener = l->conf->name;
    snprintf(s.conn.peer, sizeof(s.conn.peer), "%s", peer);
    s.h = l->module.handler;
    host_listener = l->conf->name;
    frame_init(&s.frame, l->conf->max_line);
    watchdog_start(l->conf->idle_timeout);

    rc = session_open(&s, l);
    if (rc == CHILD_MODULE)
        return CHILD_MODULE;
    status =
        rc == SESSION_GO ? session_loop(&s, &eof) : session_verdict(&s, rc);
    session_end(&s);
    frame_free(&s.frame);
    if (!eof && (status == CHILD_OK || status == CHILD_LINE ||
                 status == CHILD_HANDLER))
        session_linger(fd);
    else if (s.conn.timedout)
        session_abort(fd);
    close(fd);
    return status;
}
