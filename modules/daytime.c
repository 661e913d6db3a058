/*
 * daytime.c - the daytime protocol (RFC 867): the server sends the date
 * and time as one line of text and closes; whatever the client sends is
 * ignored. The time is the server's local time, e.g.
 * "Saturday, November 28, 2026 01:50:02 UTC\r\n"; "utc": true gives UTC.
 * An example of a handler that does all its work in open().
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r, localtime_r */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handler.h"

static const plugsrv_host *daytime_host;
static int daytime_utc; /* the process serves one listener: a static will do */

static int
daytime_init(const plugsrv_options *opts, void **module_state, char *err,
             size_t errlen)
{
    size_t i;

    (void)module_state;
    for (i = 0; i < daytime_host->opt_count(opts); i++) {
        if (strcmp(daytime_host->opt_key(opts, i), "utc") != 0) {
            snprintf(err, errlen, "unknown option \"%s\"",
                     daytime_host->opt_key(opts, i));
            return PLUGSRV_ERROR;
        }
    }
    if (daytime_host->opt_bool(opts, "utc", 0, &daytime_utc) != PLUGSRV_OK) {
        snprintf(err, errlen, "option \"utc\" must be a boolean");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

/* The line, into buf; its length, 0 if the clock cannot be read. */
static size_t
daytime_line(char *buf, size_t len, int utc)
{
    struct tm tm;
    time_t now = time(NULL);

    if ((utc ? gmtime_r(&now, &tm) : localtime_r(&now, &tm)) == NULL)
        return 0;
    /* glibc's %Z says "GMT" for gmtime()'s struct tm */
    return strftime(buf, len,
                    utc ? "%A, %B %d, %Y %H:%M:%S UTC\r\n"
                        : "%A, %B %d, %Y %H:%M:%S %Z\r\n",
                    &tm);
}

static int
daytime_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    char line[128];
    size_t n;

    (void)module_state, (void)conn_state;
    if ((n = daytime_line(line, sizeof(line), daytime_utc)) == 0)
        return PLUGSRV_ERROR;
    if (daytime_host->write(conn, line, n) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    daytime_host = host;
    handler.name = "daytime";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.init = daytime_init;
    handler.open = daytime_open;
    return &handler;
}
