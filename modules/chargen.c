/*
 * chargen.c - the character generator protocol (RFC 864): the server
 * sends lines of 72 printable ASCII characters, each starting one
 * character further into the 95 printable ones, until the client closes;
 * input is discarded.
 *
 * An example of pushing with the ABI 1.1 queued output: chargen writes
 * with host->write_queued() until it says PLUGSRV_AGAIN, then asks
 * host->want_write() to be called back when the client has read. It thus
 * keeps up with a fast reader and uses no CPU while the client does not
 * read (and such a client is closed after idle_timeout). On SIGTERM, stop()
 * ends the connection at once.
 */
#include <stdio.h>
#include <string.h>

#include "handler.h"

#define CHARGEN_WIDTH 72
#define CHARGEN_CHARS 95                  /* ' ' to '~' */
#define CHARGEN_LINE  (CHARGEN_WIDTH + 2) /* and "\r\n" */
#define CHARGEN_CYCLE (CHARGEN_CHARS * CHARGEN_LINE)
#define CHARGEN_BURST (1024 * 1024) /* per callback: timers and input too */

static const plugsrv_host *chargen_host;
/* The whole cycle of 95 lines, made once; the stream repeats it. */
static char chargen_cycle[CHARGEN_CYCLE];

static void
chargen_fill(void)
{
    int line, col;

    for (line = 0; line < CHARGEN_CHARS; line++) {
        char *p = chargen_cycle + line * CHARGEN_LINE;

        for (col = 0; col < CHARGEN_WIDTH; col++)
            p[col] = (char)(' ' + (line + col) % CHARGEN_CHARS);
        p[CHARGEN_WIDTH] = '\r';
        p[CHARGEN_WIDTH + 1] = '\n';
    }
}

static int
chargen_init(const plugsrv_options *opts, void **module_state, char *err,
             size_t errlen)
{
    (void)module_state;
    if (chargen_host->opt_count(opts) > 0) {
        snprintf(err, errlen, "unknown option \"%s\"",
                 chargen_host->opt_key(opts, 0));
        return PLUGSRV_ERROR;
    }
    chargen_fill();
    return PLUGSRV_OK;
}

/* Writes until the queue is full (or a burst is out), then waits to be
 * called back: never a busy loop. */
static int
chargen_push(plugsrv_conn *conn, void *arg)
{
    size_t sent;
    int rc;

    (void)arg;
    /* write_queued() takes all or nothing: the stream stays whole cycles */
    for (sent = 0; sent < CHARGEN_BURST; sent += CHARGEN_CYCLE) {
        rc = chargen_host->write_queued(conn, chargen_cycle, CHARGEN_CYCLE);
        if (rc == PLUGSRV_AGAIN)
            break;
        if (rc != PLUGSRV_OK)
            return PLUGSRV_ERROR;
    }
    if (chargen_host->want_write(conn, chargen_push, NULL) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_OK;
}

static int
chargen_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    (void)module_state, (void)conn_state;
    return chargen_push(conn, NULL);
}

/* Server stopping: nothing to say goodbye with; end now. */
static int
chargen_stop(plugsrv_conn *conn, void *conn_state)
{
    (void)conn, (void)conn_state;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    chargen_host = host;
    handler.name = "chargen";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.init = chargen_init;
    handler.open = chargen_open;
    handler.stop = chargen_stop;
    return &handler;
}
