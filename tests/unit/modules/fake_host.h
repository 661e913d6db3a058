/*
 * fake_host.h - a plugsrv_host for unit tests of handlers: it records what a
 * handler writes, closes and logs, serves options from a table, and drives
 * the callbacks in the order plugsrv's connection process would.
 */
#ifndef FAKE_HOST_H
#define FAKE_HOST_H

#include <stddef.h>

#include "handler.h"

enum fake_opt_type {
    FAKE_STRING,
    FAKE_INT,
    FAKE_BOOL,
    FAKE_LIST, /* an array of strings */
    FAKE_MAP   /* an object of strings */
};

/* One option of a listener's "options" object. */
struct fake_opt {
    const char *key;
    enum fake_opt_type type;
    const char *str;               /* FAKE_STRING */
    long long num;                 /* FAKE_INT, FAKE_BOOL */
    const char *const *list;       /* FAKE_LIST, FAKE_MAP's keys */
    const char *const *vals;       /* FAKE_MAP's values */
    size_t n;                      /* FAKE_LIST, FAKE_MAP */
};

/* ABI 1.1 timers: the fake fires them when the test says (fake_fire). */
#define FAKE_TIMERS 8
struct plugsrv_timer {
    int used, armed;
    long long ms; /* as last armed */
    plugsrv_timer_fn fn;
    void *arg;
};

/* Opaque to handlers; the real core defines it its own way. */
struct plugsrv_options {
    size_t count;
    const struct fake_opt *items;
};

/* Opaque to handlers: here, a record of what was done to the client. */
struct plugsrv_conn {
    char *out; /* every byte written, in order (malloc'd) */
    size_t len, cap;
    size_t writes;  /* host->write calls, failed ones included */
    int fail_write; /* when set, writes number fail_after on fail */
    size_t fail_after;
    int closed;  /* host->close was called */
    size_t logs; /* host->log calls, and the last line */
    char last_log[512];
    /* ABI 1.1 */
    struct plugsrv_timer timers[FAKE_TIMERS];
    size_t room;    /* bytes write_queued takes before AGAIN; 0: any */
    size_t queued;  /* bytes "in the queue" (taken since the last drain) */
    size_t agains;  /* PLUGSRV_AGAIN answers */
    plugsrv_conn_fn want_fn; /* want_write()'s, until fake_drain() */
    void *want_arg;
    int paused;
    int stopping; /* what host->stopping() says */
};

extern const plugsrv_host fake_host;

/* One connection's life: entry point, init, open, data..., close, fini. */
struct fake_session {
    const plugsrv_handler *handler;
    struct plugsrv_options opts;
    void *module_state;
    void *conn_state;
    int inited, opened;
    struct plugsrv_conn conn;
    char err[256];
};

/* init() with the given options, then open(); returns the first non-OK. */
/* Asserts that the handler's init() with these options fails with exactly
 * msg (a NUL-terminated line in the error buffer). */
void fake_check_refused(const plugsrv_handler *h, const struct fake_opt *opts,
                        size_t count, const char *msg);

int fake_start(struct fake_session *s, const plugsrv_handler *handler,
               const struct fake_opt *opts, size_t count);
/* Frames in as plugsrv's line mode does, one data() per line. */
int fake_lines(struct fake_session *s, const char *in, size_t len);
/* Hands in to data() in pieces of at most piece bytes (stream mode). */
int
fake_stream(struct fake_session *s, const char *in, size_t len, size_t piece);
/* Fires every armed timer once, in order; the first non-OK result. */
int fake_fire(struct fake_session *s);
/* The client read everything queued: want_write()'s callback, if any. */
int fake_drain(struct fake_session *s);
/* Armed timers. */
size_t fake_armed(const struct fake_session *s);
/* close() and fini() as far as started, and frees what was recorded. */
void fake_stop(struct fake_session *s);

#endif /* FAKE_HOST_H */
