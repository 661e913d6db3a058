/*
 * suffix.c - a line protocol: each line comes back with a suffix put just
 * before its line ending ("hi\r\n" -> "hi----k\r\n"). An example of
 * options, of module state, and of the init()/open()/fini() lifecycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

#define SUFFIX_DEFAULT "----k"
/* A reply that fits here goes out in one write; a longer one in three. */
#define SUFFIX_STACK 4096

static const plugsrv_host *suffix_host;

/* What every connection of the listener shares: the configured suffix. */
struct suffix_conf {
    const char *text; /* owned by plugsrv, valid until fini() */
    size_t len;
};

/* Refuse keys we do not know, so that a typo ("sufix") fails the start. */
static int
suffix_check_keys(const plugsrv_options *opts, char *err, size_t errlen)
{
    size_t i;
    size_t count = suffix_host->opt_count(opts);

    for (i = 0; i < count; i++) {
        const char *key = suffix_host->opt_key(opts, i);

        if (key != NULL && strcmp(key, "suffix") != 0) {
            snprintf(err, errlen, "unknown option \"%s\"", key);
            return PLUGSRV_ERROR;
        }
    }
    return PLUGSRV_OK;
}

static int
suffix_init(const plugsrv_options *opts, void **module_state, char *err,
            size_t errlen)
{
    struct suffix_conf *conf;
    const char *text;

    if (suffix_check_keys(opts, err, errlen) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    if (suffix_host->opt_string(opts, "suffix", SUFFIX_DEFAULT, &text) !=
        PLUGSRV_OK) {
        snprintf(err, errlen, "option \"suffix\" must be a string");
        return PLUGSRV_ERROR;
    }
    if ((conf = malloc(sizeof(*conf))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return PLUGSRV_ERROR;
    }
    conf->text = text;
    conf->len = strlen(text);
    *module_state = conf;
    return PLUGSRV_OK;
}

static void
suffix_fini(void *module_state)
{
    free(module_state);
}

/* data() is only given the connection's state: make it the shared conf. */
static int
suffix_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    (void)conn;
    *conn_state = module_state;
    return PLUGSRV_OK;
}

/* Length of the line ending: "\r\n", "\n", or none (last line at EOF). */
static size_t
suffix_ending(const char *line, size_t len)
{
    if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
        return 2;
    if (len >= 1 && line[len - 1] == '\n')
        return 1;
    return 0;
}

/* host->write, treating an empty piece as written. */
static int
suffix_write(plugsrv_conn *conn, const char *buf, size_t len)
{
    return len == 0 ? PLUGSRV_OK : suffix_host->write(conn, buf, len);
}

/* Line mode: buf is exactly one line, ending included (binary-safe). */
static int
suffix_data(plugsrv_conn *conn, void *conn_state, const char *buf, size_t len)
{
    const struct suffix_conf *conf = conn_state;
    size_t ending = suffix_ending(buf, len);
    size_t body = len - ending;
    char out[SUFFIX_STACK];
    int rc;

    if (conf->len <= sizeof(out) && len <= sizeof(out) - conf->len) {
        memcpy(out, buf, body);
        memcpy(out + body, conf->text, conf->len);
        memcpy(out + body + conf->len, buf + body, ending);
        rc = suffix_write(conn, out, len + conf->len);
    } else {
        rc = suffix_write(conn, buf, body);
        if (rc == PLUGSRV_OK)
            rc = suffix_write(conn, conf->text, conf->len);
        if (rc == PLUGSRV_OK)
            rc = suffix_write(conn, buf + body, ending);
    }
    return rc == PLUGSRV_OK ? PLUGSRV_OK : PLUGSRV_ERROR;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    suffix_host = host;
    handler.name = "suffix";
    handler.mode = PLUGSRV_MODE_LINE;
    handler.init = suffix_init;
    handler.open = suffix_open;
    handler.data = suffix_data;
    handler.fini = suffix_fini;
    return &handler;
}
