/*
 * uppercase.c - sends back what the client sends, with ASCII a-z turned to
 * A-Z and every other byte (UTF-8 included) left as it is.
 */
#include "handler.h"

/* Bytes converted per host->write; a stream piece may be any size. */
#define UPPERCASE_CHUNK 4096

static const plugsrv_host *uppercase_host;

/* Not toupper(): its result depends on the locale, and we want ASCII only. */
static char uppercase_byte(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int uppercase_data(plugsrv_conn *conn, void *conn_state,
                          const char *buf, size_t len)
{
    char out[UPPERCASE_CHUNK];
    size_t done = 0;

    (void)conn_state;
    while (done < len) {
        size_t n = len - done < sizeof out ? len - done : sizeof out;

        for (size_t i = 0; i < n; i++)
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
