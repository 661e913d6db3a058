/*
 * rot13.c - an example handler built outside plugsrv's tree: each line
 * comes back rot13-encoded. The option "rounds" (an integer, default 1)
 * shows how init() reads and refuses options.
 */
#include <stdio.h>

#include "handler.h"

static const plugsrv_host *host;
static long long rounds = 1;

static int
rot13_init(const plugsrv_options *opts, void **module_state, char *err,
           size_t errlen)
{
    (void)module_state;
    if (host->opt_int(opts, "rounds", 1, &rounds) != PLUGSRV_OK ||
        rounds < 0 || rounds > 25) {
        snprintf(err, errlen, "option \"rounds\" must be an integer 0-25");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static char
rot13_char(char c)
{
    int shift = (int)(13 * rounds % 26);

    if (c >= 'a' && c <= 'z')
        return (char)('a' + (c - 'a' + shift) % 26);
    if (c >= 'A' && c <= 'Z')
        return (char)('A' + (c - 'A' + shift) % 26);
    return c;
}

static int
rot13_data(plugsrv_conn *conn, void *conn_state, const char *line,
           size_t len)
{
    char out[512];
    size_t i, n;

    (void)conn_state;
    /* A line may be as long as max_line: encode it a piece at a time. */
    while (len > 0) {
        n = len < sizeof(out) ? len : sizeof(out);
        for (i = 0; i < n; i++)
            out[i] = rot13_char(line[i]);
        if (host->write(conn, out, n) != PLUGSRV_OK)
            return PLUGSRV_ERROR;
        line += n;
        len -= n;
    }
    return PLUGSRV_OK;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "rot13";
    handler.mode = PLUGSRV_MODE_LINE;
    handler.init = rot13_init;
    handler.data = rot13_data;
    return &handler;
}
