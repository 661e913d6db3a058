/* logtext.c - a test handler that hands plugsrv's log whatever text the
 * test puts in its options:
 *   "msg", "level": open() logs msg with host->log at that level (0 error
 *                   .. 3 debug), then writes "ok\n" and closes;
 *   "fail_if":      init() fails when this file exists (so a test can let
 *                   the start's check pass and fail a connection's init);
 *   "err":          the reason it fails with; "-nonul" fills the whole
 *                   err buffer with 'B' and no NUL. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static int
logtext_init(const plugsrv_options *opts, void **ms, char *err, size_t errlen)
{
    const char *fail_if = NULL, *reason = "refused";

    *ms = (void *)opts;
    host->opt_string(opts, "fail_if", NULL, &fail_if);
    if (fail_if == NULL || access(fail_if, F_OK) != 0)
        return PLUGSRV_OK;
    host->opt_string(opts, "err", "refused", &reason);
    if (strcmp(reason, "-nonul") == 0)
        memset(err, 'B', errlen);
    else
        snprintf(err, errlen, "%s", reason);
    return PLUGSRV_ERROR;
}

static int
logtext_open(plugsrv_conn *conn, void *ms, void **cs)
{
    const plugsrv_options *opts = ms;
    const char *msg = NULL;
    long long level = PLUGSRV_LOG_INFO;

    (void)cs;
    host->opt_string(opts, "msg", NULL, &msg);
    host->opt_int(opts, "level", PLUGSRV_LOG_INFO, &level);
    if (msg != NULL)
        host->log(conn, (int)level, "%s", msg);
    if (host->write(conn, "ok\n", 3) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "logtext";
    handler.init = logtext_init;
    handler.open = logtext_open;
    return &handler;
}
