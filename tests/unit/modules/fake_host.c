/*
 * fake_host.c - the test double of plugsrv for handler unit tests: the
 * services of plugsrv_host over an in-memory connection and option table,
 * and a driver that calls a handler's callbacks as the core would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

/* Appends to conn->out, doubling the buffer; aborts the test on ENOMEM. */
static int
fake_write(plugsrv_conn *conn, const void *buf, size_t len)
{
    size_t n = conn->writes++;

    if (conn->fail_write && n >= conn->fail_after)
        return PLUGSRV_ERROR;
    if (conn->len + len > conn->cap) {
        size_t cap = conn->cap ? conn->cap : 256;

        while (cap < conn->len + len)
            cap *= 2;
        if ((conn->out = realloc(conn->out, cap)) == NULL)
            abort();
        conn->cap = cap;
    }
    if (len > 0)
        memcpy(conn->out + conn->len, buf, len);
    conn->len += len;
    return PLUGSRV_OK;
}

static void
fake_close(plugsrv_conn *conn)
{
    conn->closed = 1;
}

static const char *
fake_peer_addr(plugsrv_conn *conn)
{
    (void)conn;
    return "127.0.0.1:50112";
}

static const char *
fake_local_addr(plugsrv_conn *conn)
{
    (void)conn;
    return "127.0.0.1:7000";
}

static const struct fake_opt *
fake_find(const plugsrv_options *opts, const char *key)
{
    size_t i;

    for (i = 0; i < opts->count; i++)
        if (strcmp(opts->items[i].key, key) == 0)
            return &opts->items[i];
    return NULL;
}

static int
fake_opt_string(const plugsrv_options *opts, const char *key, const char *def,
                const char **out)
{
    const struct fake_opt *o = fake_find(opts, key);

    *out = def;
    if (o == NULL)
        return PLUGSRV_OK;
    if (o->type != FAKE_STRING)
        return PLUGSRV_ERROR;
    *out = o->str;
    return PLUGSRV_OK;
}

static int
fake_opt_int(const plugsrv_options *opts, const char *key, long long def,
             long long *out)
{
    const struct fake_opt *o = fake_find(opts, key);

    *out = def;
    if (o == NULL)
        return PLUGSRV_OK;
    if (o->type != FAKE_INT)
        return PLUGSRV_ERROR;
    *out = o->num;
    return PLUGSRV_OK;
}

static int
fake_opt_bool(const plugsrv_options *opts, const char *key, int def, int *out)
{
    const struct fake_opt *o = fake_find(opts, key);

    *out = def;
    if (o == NULL)
        return PLUGSRV_OK;
    if (o->type != FAKE_BOOL)
        return PLUGSRV_ERROR;
    *out = o->num != 0;
    return PLUGSRV_OK;
}

static size_t
fake_opt_count(const plugsrv_options *opts)
{
    return opts->count;
}

static const char *
fake_opt_key(const plugsrv_options *opts, size_t i)
{
    return i < opts->count ? opts->items[i].key : NULL;
}

static void fake_log(plugsrv_conn *conn, int level, const char *fmt, ...)
    PLUGSRV_PRINTF(3, 4);

/* Keeps the last line only (conn may be NULL, as in init()). */
static void
fake_log(plugsrv_conn *conn, int level, const char *fmt, ...)
{
    va_list ap;

    (void)level;
    if (conn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(conn->last_log, sizeof(conn->last_log), fmt, ap);
    va_end(ap);
    conn->logs++;
}

/* ---- ABI 1.1 ---- */

static plugsrv_timer *
fake_timer_add(plugsrv_conn *conn, long long ms, plugsrv_timer_fn fn,
               void *arg)
{
    size_t i;

    for (i = 0; i < FAKE_TIMERS; i++) {
        if (!conn->timers[i].used) {
            conn->timers[i] = (struct plugsrv_timer){
                .used = 1, .armed = ms >= 0, .ms = ms, .fn = fn, .arg = arg
            };
            return &conn->timers[i];
        }
    }
    return NULL;
}

static int
fake_timer_set(plugsrv_conn *conn, plugsrv_timer *t, long long ms)
{
    (void)conn;
    if (t == NULL || !t->used)
        return PLUGSRV_ERROR;
    t->armed = ms >= 0;
    t->ms = ms;
    return PLUGSRV_OK;
}

static void
fake_timer_cancel(plugsrv_conn *conn, plugsrv_timer *t)
{
    (void)conn;
    if (t != NULL)
        memset(t, 0, sizeof(*t));
}

static int
fake_write_queued(plugsrv_conn *conn, const void *buf, size_t len)
{
    if (conn->room > 0 && conn->queued >= conn->room) {
        conn->agains++;
        return PLUGSRV_AGAIN;
    }
    if (fake_write(conn, buf, len) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    conn->queued += len;
    return PLUGSRV_OK;
}

static size_t
fake_queued(plugsrv_conn *conn)
{
    return conn->queued;
}

static int
fake_want_write(plugsrv_conn *conn, plugsrv_conn_fn fn, void *arg)
{
    conn->want_fn = fn;
    conn->want_arg = arg;
    return PLUGSRV_OK;
}

static int
fake_pause_input(plugsrv_conn *conn, int paused)
{
    conn->paused = paused;
    return PLUGSRV_OK;
}

static int
fake_shutdown_write(plugsrv_conn *conn)
{
    (void)conn;
    return PLUGSRV_OK;
}

static int
fake_watch(plugsrv_conn *conn, int fd, int events, plugsrv_fd_fn fn,
           void *arg)
{
    (void)conn, (void)fd, (void)events, (void)fn, (void)arg;
    return PLUGSRV_ERROR; /* no fds in the fake */
}

static void
fake_unwatch(plugsrv_conn *conn, int fd)
{
    (void)conn, (void)fd;
}

static int
fake_take_fd(plugsrv_conn *conn)
{
    (void)conn;
    return -1;
}

static int
fake_stopping(plugsrv_conn *conn)
{
    return conn != NULL && conn->stopping;
}

static const char *
fake_listener_name(plugsrv_conn *conn)
{
    (void)conn;
    return "fake";
}

static const char *
fake_ip(plugsrv_conn *conn)
{
    (void)conn;
    return "127.0.0.1";
}

static int
fake_peer_port(plugsrv_conn *conn)
{
    (void)conn;
    return 50112;
}

static int
fake_local_port(plugsrv_conn *conn)
{
    (void)conn;
    return 7000;
}

static int
fake_opt_list(const plugsrv_options *opts, const char *key,
              const char *const **out, size_t *count)
{
    const struct fake_opt *o = fake_find(opts, key);
    int ok = o != NULL && o->type == FAKE_LIST;

    *out = ok ? o->list : NULL;
    if (count != NULL)
        *count = ok ? o->n : 0;
    return o == NULL || ok ? PLUGSRV_OK : PLUGSRV_ERROR;
}

static int
fake_opt_map(const plugsrv_options *opts, const char *key,
             const char *const **keys, const char *const **values,
             size_t *count)
{
    const struct fake_opt *o = fake_find(opts, key);
    int ok = o != NULL && o->type == FAKE_MAP;

    *keys = ok ? o->list : NULL;
    *values = ok ? o->vals : NULL;
    if (count != NULL)
        *count = ok ? o->n : 0;
    return o == NULL || ok ? PLUGSRV_OK : PLUGSRV_ERROR;
}

const plugsrv_host fake_host = {
    sizeof(plugsrv_host),
    PLUGSRV_ABI_MAJOR,
    PLUGSRV_ABI_MINOR,
    fake_write,
    fake_close,
    fake_peer_addr,
    fake_local_addr,
    fake_opt_string,
    fake_opt_int,
    fake_opt_bool,
    fake_opt_count,
    fake_opt_key,
    fake_log,
    fake_timer_add,
    fake_timer_set,
    fake_timer_cancel,
    fake_write_queued,
    fake_queued,
    fake_want_write,
    fake_pause_input,
    fake_shutdown_write,
    fake_watch,
    fake_unwatch,
    fake_take_fd,
    fake_stopping,
    fake_listener_name,
    fake_ip,
    fake_peer_port,
    fake_ip,
    fake_local_port,
    fake_opt_list,
    fake_opt_map,
};

int
fake_fire(struct fake_session *s)
{
    size_t i;
    int rc;

    for (i = 0; i < FAKE_TIMERS; i++) {
        if (!s->conn.timers[i].used || !s->conn.timers[i].armed)
            continue;
        s->conn.timers[i].armed = 0;
        rc = s->conn.timers[i].fn(&s->conn, s->conn.timers[i].arg);
        if (rc != PLUGSRV_OK)
            return rc;
    }
    return PLUGSRV_OK;
}

size_t
fake_armed(const struct fake_session *s)
{
    size_t i, n = 0;

    for (i = 0; i < FAKE_TIMERS; i++)
        n += s->conn.timers[i].used && s->conn.timers[i].armed;
    return n;
}

int
fake_drain(struct fake_session *s)
{
    plugsrv_conn_fn fn = s->conn.want_fn;

    s->conn.queued = 0;
    s->conn.want_fn = NULL;
    return fn == NULL ? PLUGSRV_OK : fn(&s->conn, s->conn.want_arg);
}

int
fake_start(struct fake_session *s, const plugsrv_handler *handler,
           const struct fake_opt *opts, size_t count)
{
    int rc;

    memset(s, 0, sizeof(*s));
    s->handler = handler;
    s->opts.count = count;
    s->opts.items = opts;
    /* A sentinel, so that tests see whether init() terminated err. */
    memset(s->err, 'X', sizeof(s->err));
    if (handler->init != NULL) {
        rc = handler->init(&s->opts, &s->module_state, s->err, sizeof(s->err));
        if (rc != PLUGSRV_OK)
            return rc;
    }
    s->inited = 1;
    if (handler->open != NULL) {
        rc = handler->open(&s->conn, s->module_state, &s->conn_state);
        if (rc != PLUGSRV_OK)
            return rc;
    }
    s->opened = 1;
    return PLUGSRV_OK;
}

/* One data() call; like the core, never with an empty buffer. */
static int
fake_data(struct fake_session *s, const char *buf, size_t len)
{
    if (len == 0 || s->handler->data == NULL)
        return PLUGSRV_OK;
    return s->handler->data(&s->conn, s->conn_state, buf, len);
}

int
fake_lines(struct fake_session *s, const char *in, size_t len)
{
    size_t at = 0;

    while (at < len) {
        const char *nl = memchr(in + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (in + at)) + 1 : len - at;
        int rc = fake_data(s, in + at, n);

        if (rc != PLUGSRV_OK)
            return rc;
        at += n;
    }
    return PLUGSRV_OK;
}

int
fake_stream(struct fake_session *s, const char *in, size_t len, size_t piece)
{
    size_t at;

    if (piece == 0)
        piece = 1;
    for (at = 0; at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        int rc = fake_data(s, in + at, n);

        if (rc != PLUGSRV_OK)
            return rc;
    }
    return PLUGSRV_OK;
}

void
fake_stop(struct fake_session *s)
{
    if (s->opened && s->handler->close != NULL)
        s->handler->close(&s->conn, s->conn_state);
    if (s->inited && s->handler->fini != NULL)
        s->handler->fini(s->module_state);
    free(s->conn.out);
    s->conn.out = NULL;
    s->opened = s->inited = 0;
}

void
fake_check_refused(const plugsrv_handler *h, const struct fake_opt *opts,
                   size_t count, const char *msg)
{
    struct fake_session s;

    assert_int_equal(fake_start(&s, h, opts, count), PLUGSRV_ERROR);
    assert_non_null(memchr(s.err, '\0', sizeof(s.err)));
    assert_string_equal(s.err, msg);
    fake_stop(&s);
}
