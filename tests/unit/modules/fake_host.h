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
    FAKE_BOOL
};

/* One option of a listener's "options" object. */
struct fake_opt {
    const char *key;
    enum fake_opt_type type;
    const char *str; /* FAKE_STRING */
    long long num;   /* FAKE_INT, FAKE_BOOL */
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
/* close() and fini() as far as started, and frees what was recorded. */
void fake_stop(struct fake_session *s);

#endif /* FAKE_HOST_H */
