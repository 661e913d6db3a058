/*
 * options.c - a listener's "options" as handlers read them (host->opt_*).
 * The values were copied out of the JSON by config_listener.c; here they are only
 * looked up, with the absent/wrong-type rules handler.h documents.
 */
#include <string.h>

#include "plugsrv.h"

/* The option named key, or NULL; a NULL table is an empty one. */
static const struct option *
options_find(const plugsrv_options *o, const char *key)
{
    size_t i;

    if (o == NULL || key == NULL)
        return NULL;
    for (i = 0; i < o->count; i++)
        if (strcmp(o->items[i].key, key) == 0)
            return &o->items[i];
    return NULL;
}

/*
 * Absent: def and PLUGSRV_OK. Present with another type: def and
 * PLUGSRV_ERROR, so that init() can refuse "7" where it wanted 7.
 */
static int
options_status(const struct option *opt, enum option_type type)
{
    if (opt == NULL)
        return PLUGSRV_OK;
    return opt->type == type ? PLUGSRV_OK : PLUGSRV_ERROR;
}

int
options_string(const plugsrv_options *o, const char *key, const char *def,
               const char **out)
{
    const struct option *opt = options_find(o, key);
    int rc = options_status(opt, OPTION_STRING);

    if (out != NULL)
        *out = (opt != NULL && rc == PLUGSRV_OK) ? opt->str : def;
    return rc;
}

int
options_int(const plugsrv_options *o, const char *key, long long def,
            long long *out)
{
    const struct option *opt = options_find(o, key);
    int rc = options_status(opt, OPTION_INT);

    if (out != NULL)
        *out = (opt != NULL && rc == PLUGSRV_OK) ? opt->num : def;
    return rc;
}

int
options_bool(const plugsrv_options *o, const char *key, int def, int *out)
{
    const struct option *opt = options_find(o, key);
    int rc = options_status(opt, OPTION_BOOL);

    if (out != NULL)
        *out = (opt != NULL && rc == PLUGSRV_OK) ? opt->num != 0 : def;
    return rc;
}

size_t
options_count(const plugsrv_options *o)
{
    return o == NULL ? 0 : o->count;
}

const char *
options_key(const plugsrv_options *o, size_t i)
{
    if (o == NULL || i >= o->count)
        return NULL;
    return o->items[i].key;
}

int
options_list(const plugsrv_options *o, const char *key,
             const char *const **out, size_t *count)
{
    const struct option *opt = options_find(o, key);
    int rc = options_status(opt, OPTION_LIST);
    int ok = opt != NULL && rc == PLUGSRV_OK;

    if (out != NULL)
        *out = ok ? (const char *const *)opt->list : NULL;
    if (count != NULL)
        *count = ok ? opt->n : 0;
    return rc;
}

int
options_map(const plugsrv_options *o, const char *key,
            const char *const **keys, const char *const **values,
            size_t *count)
{
    const struct option *opt = options_find(o, key);
    int rc = options_status(opt, OPTION_MAP);
    int ok = opt != NULL && rc == PLUGSRV_OK;

    if (keys != NULL)
        *keys = ok ? (const char *const *)opt->list : NULL;
    if (values != NULL)
        *values = ok ? (const char *const *)opt->vals : NULL;
    if (count != NULL)
        *count = ok ? opt->n : 0;
    return rc;
}
