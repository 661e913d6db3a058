/*
 * quit.c - a line protocol: echoes each line until the client sends the
 * quit word ("quit", or the option "word") on a line of its own; that line
 * is not echoed and ends the connection. Shows returning PLUGSRV_CLOSE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

#define QUIT_DEFAULT "quit"

static const plugsrv_host *quit_host;

/* What every connection of the listener shares: the quit word. */
struct quit_conf {
    const char *word; /* owned by plugsrv, valid until fini() */
    size_t len;
};

/* Refuse keys we do not know, so that a typo ("wrod") fails the start. */
static int
quit_check_keys(const plugsrv_options *opts, char *err, size_t errlen)
{
    size_t i;
    size_t count = quit_host->opt_count(opts);

    for (i = 0; i < count; i++) {
        const char *key = quit_host->opt_key(opts, i);

        if (key != NULL && strcmp(key, "word") != 0) {
            snprintf(err, errlen, "unknown option \"%s\"", key);
            return PLUGSRV_ERROR;
        }
    }
    return PLUGSRV_OK;
}

/*
 * A word that is empty or holds a line break could never be matched (or
 * would match oddly), so the client could never quit: refuse it up front.
 */
static int
quit_check_word(const char *word, char *err, size_t errlen)
{
    if (word[0] == '\0') {
        snprintf(err, errlen, "option \"word\" must not be empty");
        return PLUGSRV_ERROR;
    }
    if (strpbrk(word, "\r\n") != NULL) {
        snprintf(err, errlen, "option \"word\" must not contain \\r or \\n");
        return PLUGSRV_ERROR;
    }
    return PLUGSRV_OK;
}

static int
quit_init(const plugsrv_options *opts, void **module_state, char *err,
          size_t errlen)
{
    struct quit_conf *conf;
    const char *word;

    if (quit_check_keys(opts, err, errlen) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    if (quit_host->opt_string(opts, "word", QUIT_DEFAULT, &word) !=
        PLUGSRV_OK) {
        snprintf(err, errlen, "option \"word\" must be a string");
        return PLUGSRV_ERROR;
    }
    if (quit_check_word(word, err, errlen) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    if ((conf = malloc(sizeof(*conf))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return PLUGSRV_ERROR;
    }
    conf->word = word;
    conf->len = strlen(word);
    *module_state = conf;
    return PLUGSRV_OK;
}

static void
quit_fini(void *module_state)
{
    free(module_state);
}

/* data() is only given the connection's state: make it the shared conf. */
static int
quit_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    (void)conn;
    *conn_state = module_state;
    return PLUGSRV_OK;
}

/* Length of the line ending: "\r\n", "\n", or none (last line at EOF). */
static size_t
quit_ending(const char *line, size_t len)
{
    if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
        return 2;
    if (len >= 1 && line[len - 1] == '\n')
        return 1;
    return 0;
}

/* Line mode: buf is exactly one line, ending included (binary-safe). */
static int
quit_data(plugsrv_conn *conn, void *conn_state, const char *buf, size_t len)
{
    const struct quit_conf *conf = conn_state;
    size_t body = len - quit_ending(buf, len);

    if (body == conf->len && memcmp(buf, conf->word, body) == 0)
        return PLUGSRV_CLOSE;
    if (quit_host->write(conn, buf, len) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_OK;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    quit_host = host;
    handler.name = "quit";
    handler.mode = PLUGSRV_MODE_LINE;
    handler.init = quit_init;
    handler.open = quit_open;
    handler.data = quit_data;
    handler.fini = quit_fini;
    return &handler;
}
