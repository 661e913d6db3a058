/*
 * uppercase.c - sends back what the client sends, with ASCII a-z turned to
 * A-Z and every other byte (UTF-8 included) left as it is.
 */
#include "handler.h"

/* Bytes converted per host->write. plugsrv hands over at most 64 KiB at a
 * time, so this is one write per piece: a write is a syscall, and a 4 KiB
 * buffer made streams half as fast. Static, because each connection has
 * its own process (and so its own copy), and the stack need not hold it. */
#define UPPERCASE_CHUNK 65536

static char uppercase_out[UPPERCASE_CHUNK];

static const plugsrv_host *uppercase_host;

/* Not toupper(): its result depends on the locale, and we want ASCII only. */
static char
uppercase_byte(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int
uppercase_data(plugsrv_conn *conn, void *conn_state, const char *buf,
               size_t len)
{
    size_t i;
    char *out = uppercase_out;
    size_t done = 0;

    (void)conn_state;
    while (done < len) {
        size_t n = len - done < UPPERCASE_CHUNK ? len - done : UPPERCASE_CHUNK;

        for (i = 0; i < n; i++)
            out[i] = uppercase_byte(buf[done + i]);
        if (uppercase_host->write(conn, out, n) != PLUGSRV_OK)
            return PLUGSRV_ERROR;
        done += n;
    }
    return PLUGSRV_OK;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    uppercase_host = host;
    handler.name = "uppercase";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.data = uppercase_data;
    return &handler;
}
