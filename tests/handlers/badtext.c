/* badtext.c - a test handler that hands plugsrv hostile text, as chosen
 * by option "what":
 *   "newline": init() fails with a reason holding a newline and what looks
 *              like a log line of plugsrv's own ("reload status=ok");
 *   "nonul":   init() fills the whole err buffer with 'A' and no NUL (and,
 *              if option "errlen_file" names a file, writes errlen there);
 *   "log":     open() logs, with host->log, a message holding a '"', a
 *              newline, a tab and "key=value", then writes "ok\n" and
 *              closes.
 * Every such text must reach the log escaped, on one line. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"

#define BADTEXT_FORGED                                                        \
    "bad\n2026-01-01T00:00:00.000Z plugsrv[1]: reload status=ok"

static const plugsrv_host *host;

static void
badtext_errlen(const plugsrv_options *opts, size_t errlen)
{
    const char *path = NULL;
    char buf[32];
    int fd, n;

    if (host->opt_string(opts, "errlen_file", NULL, &path) != PLUGSRV_OK ||
        path == NULL)
        return;
    n = snprintf(buf, sizeof(buf), "%zu\n", errlen);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, buf, (size_t)n) != n) {
            /* the test sees an empty file */
        }
        close(fd);
    }
}

static int
badtext_init(const plugsrv_options *opts, void **ms, char *err, size_t errlen)
{
    const char *what = "log";

    (void)ms;
    host->opt_string(opts, "what", "log", &what);
    if (strcmp(what, "newline") == 0) {
        snprintf(err, errlen, "%s", BADTEXT_FORGED);
        return PLUGSRV_ERROR;
    }
    if (strcmp(what, "nonul") == 0) {
        badtext_errlen(opts, errlen);
        memset(err, 'A', errlen);
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static int
badtext_open(plugsrv_conn *conn, void *ms, void **cs)
{
    (void)ms;
    (void)cs;
    host->log(conn, PLUGSRV_LOG_INFO,
              "say \"hi\"\nkey=value tab\there back\\slash");
    if (host->write(conn, "ok\n", 3) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "badtext";
    handler.init = badtext_init;
    handler.open = badtext_open;
    return &handler;
}
