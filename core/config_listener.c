/*
 * config_listener.c - the "listeners" array of server.json: each
 * listener's address, module, options and limits, checked key by key, and
 * no two listeners on one socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "config_int.h"

static const char *const config_listener_keys[] = {
    "name", "address", "port", "module", "options", "max_connections",
    "idle_timeout", "max_line", "backlog", "mode", "spare", "user", "group",
    "proxy_protocol", "proxy_trusted", "proxy_timeout",
    /* config_access.c */
    "allow", "deny", "max_per_source", "rate_per_source", "source_prefix_v4",
    "source_prefix_v6", "max_duration", "reuseport", "ipv6_only", NULL
};

/* ---- options ---- */

/* A NULL-terminated array for n strings. */
static char **
config_strings(struct cfgparse *p, size_t n)
{
    char **v = calloc(n + 1, sizeof(*v));

    if (v == NULL)
        config_fail(p, NULL, "out of memory");
    return v;
}

/* "argv": ["/bin/cat", "-u"]: an array of strings only. */
static int
config_option_list(struct cfgparse *p, const char *key, json_t *v,
                   struct option *o)
{
    size_t i;

    o->type = OPTION_LIST;
    if ((o->list = config_strings(p, json_array_size(v))) == NULL)
        return -1;
    for (i = 0; i < json_array_size(v); i++) {
        if (!json_is_string(json_array_get(v, i)))
            return config_fail(p, key, "[%zu] must be a string", i);
        if (config_strdup(p, json_string_value(json_array_get(v, i)),
                          &o->list[o->n++]) < 0)
            return -1;
    }
    return 0;
}

/* "env": { "LANG": "C" }: an object whose values are strings, in file
 * order. */
static int
config_option_map(struct cfgparse *p, const char *key, json_t *v,
                  struct option *o)
{
    size_t n = json_object_size(v);
    void *it;

    o->type = OPTION_MAP;
    if ((o->list = config_strings(p, n)) == NULL ||
        (o->vals = config_strings(p, n)) == NULL)
        return -1;
    for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        if (!json_is_string(json_object_iter_value(it)))
            return config_fail(p, key, "\"%.64s\" must be a string",
                               json_object_iter_key(it));
        if (config_strdup(p, json_object_iter_key(it), &o->list[o->n]) < 0 ||
            config_strdup(p, json_string_value(json_object_iter_value(it)),
                          &o->vals[o->n]) < 0)
            return -1;
        o->n++;
    }
    return 0;
}

static int
config_option(struct cfgparse *p, const char *prefix, const char *k, json_t *v,
              struct option *o)
{
    char key[KEYLEN];

    if (config_strdup(p, k, &o->key) < 0)
        return -1;
    if (json_is_string(v)) {
        o->type = OPTION_STRING;
        return config_strdup(p, json_string_value(v), &o->str);
    }
    if (json_is_integer(v)) {
        o->type = OPTION_INT;
        o->num = json_integer_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        o->type = OPTION_BOOL;
        o->num = json_is_true(v);
        return 0;
    }
    config_key(key, sizeof(key), prefix, k);
    if (json_is_array(v))
        return config_option_list(p, key, v, o);
    if (json_is_object(v))
        return config_option_map(p, key, v, o);
    return config_fail(p, key,
                       "must be a string, integer, boolean, array of "
                       "strings or object of strings");
}

/* The listener's "options" object, copied out of jansson in file order. */
static int
config_options(struct cfgparse *p, json_t *obj, const char *prefix,
               struct plugsrv_options *opts)
{
    json_t *v = json_object_get(obj, "options");
    char key[KEYLEN], optprefix[KEYLEN];
    void *it;

    if (v == NULL)
        return 0;
    config_key(key, sizeof(key), prefix, "options");
    if (!json_is_object(v))
        return config_fail(p, key, "must be an object");
    if (json_object_size(v) == 0)
        return 0;
    opts->items = calloc(json_object_size(v), sizeof(*opts->items));
    if (opts->items == NULL)
        return config_fail(p, NULL, "out of memory");
    config_key(optprefix, sizeof(optprefix), prefix, "options.");
    for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        struct option *o = &opts->items[opts->count++];

        if (config_option(p, optprefix, json_object_iter_key(it),
                          json_object_iter_value(it), o) < 0)
            return -1;
    }
    return 0;
}

static void
config_free_strings(char **v)
{
    size_t i;

    for (i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void
config_free_options(struct plugsrv_options *opts)
{
    size_t i;

    for (i = 0; i < opts->count; i++) {
        free(opts->items[i].key);
        free(opts->items[i].str);
        config_free_strings(opts->items[i].list);
        config_free_strings(opts->items[i].vals);
    }
    free(opts->items);
    opts->items = NULL;
    opts->count = 0;
}

/* ---- one listener ---- */

static int
config_listener_addr(struct cfgparse *p, json_t *obj, const char *prefix,
                     struct listener_conf *lc)
{
    char key[KEYLEN];

    if (config_required(p, obj, prefix, "address") < 0 ||
        config_str(p, obj, prefix, "address", &lc->address) < 0 ||
        config_required(p, obj, prefix, "port") < 0 ||
        config_int_as_int(p, obj, prefix, "port", 1, MAX_PORT, &lc->port) < 0)
        return -1;
    if (addr_parse(lc->address, lc->port, &lc->sa, &lc->salen) < 0) {
        config_key(key, sizeof(key), prefix, "address");
        return config_fail(p, key,
                           "\"%.64s\" is not a numeric IPv4 or "
                           "IPv6 address",
                           lc->address);
    }
    /* A dual-stack socket ("ipv6_only": false) can bind one. */
    if (addr_v4mapped(&lc->sa) &&
        !json_is_false(json_object_get(obj, "ipv6_only"))) {
        config_key(key, sizeof(key), prefix, "address");
        return config_fail(p, key,
                           "\"%.64s\" is an IPv4-mapped IPv6 address, "
                           "which an IPv6 listener cannot bind: write the "
                           "IPv4 address itself (or set \"ipv6_only\": "
                           "false)",
                           lc->address);
    }
    return 0;
}

/* A name goes into key=value log lines: no spaces, quotes or '='. */
static int
config_name_ok(const char *name)
{
    const unsigned char *c;

    if (strlen(name) > MAX_NAME)
        return 0;
    for (c = (const unsigned char *)name; *c; c++)
        if (*c <= ' ' || *c == 0x7f || *c == '"' || *c == '=')
            return 0;
    return 1;
}

/* The listener's name by default: the module's file name without ".so". */
static int
config_default_name(struct cfgparse *p, struct listener_conf *lc)
{
    const char *slash = strrchr(lc->module, '/');
    const char *base = slash ? slash + 1 : lc->module;
    size_t len = strlen(base);

    if (config_has_suffix(base, ".so") && len > 3)
        len -= 3;
    lc->name = strndup(base, len);
    return lc->name ? 0 : config_fail(p, NULL, "out of memory");
}

/*
 * A bare name is a file in modules_dir ("echo" -> modules_dir/echo.so; a
 * name already ending in ".so" is not given a second one); anything with
 * a '/' is a path, relative to the config's folder.
 */
static int
config_module_path(struct cfgparse *p, const char *key,
                   const char *modules_dir, struct listener_conf *lc)
{
    const char *m = lc->module;
    char *file;
    int rc;

    if (m[strlen(m) - 1] == '/')
        return config_fail(p, key, "must name a file, not a folder");
    if (strchr(m, '/') != NULL)
        return config_resolve(p, m, &lc->module_path);
    if (strcmp(m, ".") == 0 || strcmp(m, "..") == 0)
        return config_fail(p, key, "must be a module name or a path");
    file = malloc(strlen(m) + 4);
    if (file == NULL)
        return config_fail(p, NULL, "out of memory");
    sprintf(file, "%s%s", m, config_has_suffix(m, ".so") ? "" : ".so");
    lc->module_path = config_join(modules_dir, file);
    rc = lc->module_path ? 0 : config_fail(p, NULL, "out of memory");
    free(file);
    return rc;
}

static int
config_listener_module(struct cfgparse *p, json_t *obj, const char *prefix,
                       const struct config *conf, struct listener_conf *lc)
{
    char key[KEYLEN];

    config_key(key, sizeof(key), prefix, "module");
    if (config_required(p, obj, prefix, "module") < 0 ||
        config_str(p, obj, prefix, "module", &lc->module) < 0 ||
        config_module_path(p, key, conf->modules_dir, lc) < 0 ||
        config_str(p, obj, prefix, "name", &lc->name) < 0)
        return -1;
    if (lc->name == NULL && config_default_name(p, lc) < 0)
        return -1;
    if (!config_name_ok(lc->name)) {
        if (json_object_get(obj, "name") == NULL)
            return config_fail(p, key,
                               "\"%.64s\" cannot name a listener "
                               "(see \"name\")",
                               lc->name);
        config_key(key, sizeof(key), prefix, "name");
        return config_fail(p, key,
                           "must be at most %d characters without "
                           "spaces, quotes or '='",
                           MAX_NAME);
    }
    return 0;
}

static int
config_listener_mode(struct cfgparse *p, json_t *obj, const char *prefix,
                     struct listener_conf *lc)
{
    json_t *v = json_object_get(obj, "mode");
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    if (json_is_string(v) && strcmp(json_string_value(v), "fork") == 0)
        lc->mode = MODE_FORK;
    else if (json_is_string(v) && strcmp(json_string_value(v), "prefork") == 0)
        lc->mode = MODE_PREFORK;
    else {
        config_key(key, sizeof(key), prefix, "mode");
        return config_fail(p, key, "must be \"fork\" or \"prefork\"");
    }
    return 0;
}

/* Limits of a listener; absent ones come from the top level, except
 * max_connections whose 0 means "only the global cap". */
static int
config_listener_limits(struct cfgparse *p, json_t *obj, const char *prefix,
                       const struct config *conf, struct listener_conf *lc)
{
    lc->max_connections = 0;
    lc->idle_timeout = conf->idle_timeout;
    lc->max_line = conf->max_line;
    lc->backlog = DEF_BACKLOG;
    lc->mode = DEF_MODE;
    lc->spare = DEF_SPARE;
    if (config_int_as_int(p, obj, prefix, "max_connections", 1,
                          MAX_MAX_CONNECTIONS, &lc->max_connections) < 0 ||
        config_int_as_int(p, obj, prefix, "idle_timeout", 0, MAX_IDLE_TIMEOUT,
                          &lc->idle_timeout) < 0 ||
        config_int_as_size(p, obj, prefix, "max_line", 1, MAX_MAX_LINE,
                           &lc->max_line) < 0 ||
        config_int_as_int(p, obj, prefix, "backlog", 1, MAX_BACKLOG,
                          &lc->backlog) < 0 ||
        config_listener_mode(p, obj, prefix, lc) < 0 ||
        config_int_as_int(p, obj, prefix, "spare", 1, MAX_SPARE, &lc->spare) <
            0)
        return -1;
    return 0;
}

/* Who the listener's connections run as: its own user and group, or the
 * top-level ones. A group alone would leave handlers running as root with
 * another gid: more likely a mistake than a wish. */
static int
config_listener_ident(struct cfgparse *p, json_t *obj, const char *prefix,
                      const struct config *conf, struct listener_conf *lc)
{
    char key[KEYLEN];

    if ((conf->user != NULL && config_strdup(p, conf->user, &lc->user) < 0) ||
        (conf->group != NULL &&
         config_strdup(p, conf->group, &lc->group) < 0) ||
        config_str(p, obj, prefix, "user", &lc->user) < 0 ||
        config_str(p, obj, prefix, "group", &lc->group) < 0)
        return -1;
    if (lc->group == NULL || lc->user != NULL)
        return 0;
    if (json_object_get(obj, "group") != NULL)
        config_key(key, sizeof(key), prefix, "group");
    else
        snprintf(key, sizeof(key), "group");
    return config_fail(p, key,
                       "needs \"user\" too (handlers would still run as "
                       "root)");
}

static int
config_listener(struct cfgparse *p, json_t *obj, size_t i,
                const struct config *conf, struct listener_conf *lc)
{
    char prefix[KEYLEN];

    snprintf(prefix, sizeof(prefix), "listeners[%zu]", i);
    if (!json_is_object(obj))
        return config_fail(p, prefix, "must be an object");
    strcat(prefix, ".");
    if (config_check_keys(p, obj, prefix, config_listener_keys) < 0 ||
        config_listener_addr(p, obj, prefix, lc) < 0 ||
        config_listener_module(p, obj, prefix, conf, lc) < 0 ||
        config_listener_limits(p, obj, prefix, conf, lc) < 0 ||
        config_listener_ident(p, obj, prefix, conf, lc) < 0 ||
        config_listener_proxy(p, obj, prefix, lc) < 0 ||
        config_listener_proxy_mode(p, prefix, lc) < 0 ||
        config_options(p, obj, prefix, &lc->options) < 0 ||
        config_access_listener(p, obj, prefix, &conf->access, &lc->access) <
            0 ||
        config_access_socket(p, obj, prefix, lc) < 0)
        return -1;
    return 0;
}

/* A listener's address as the config wrote it: "[::1]:80". */
static void
config_addr_text(const struct listener_conf *lc, char *buf, size_t len)
{
    int v6 = lc->sa.ss_family == AF_INET6;

    snprintf(buf, len, "%s%.64s%s:%d", v6 ? "[" : "", lc->address,
             v6 ? "]" : "", lc->port);
}

/* Two listeners on one socket, or a wildcard and an address of its family
 * on one port, would fail at bind time with a vaguer message; say which
 * two here. */
static int
config_duplicates(struct cfgparse *p, const struct config *conf)
{
    const struct listener_conf *a, *b;
    char key[KEYLEN], as[ADDRSTRLEN + 16], bs[ADDRSTRLEN + 16];
    size_t i, j;

    for (i = 1; i < conf->nlisteners; i++) {
        for (j = 0; j < i; j++) {
            a = &conf->listeners[i];
            b = &conf->listeners[j];
            if (!addr_overlap(&a->sa, &b->sa))
                continue;
            config_addr_text(a, as, sizeof(as));
            config_addr_text(b, bs, sizeof(bs));
            snprintf(key, sizeof(key), "listeners[%zu]", i);
            if (listen_same(a, b))
                return config_fail(p, key, "duplicate of listeners[%zu] (%s)",
                                   j, as);
            return config_fail(p, key,
                               "%s overlaps listeners[%zu] (%s): a "
                               "wildcard address takes its port on every "
                               "address",
                               as, j, bs);
        }
    }
    return 0;
}

int
config_listeners(struct cfgparse *p, json_t *root, struct config *conf)
{
    json_t *arr = json_object_get(root, "listeners");
    size_t i, n;
    int rc = 0;

    if (arr == NULL)
        return config_fail(p, "listeners", "is required");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return config_fail(p, "listeners", "must be a non-empty array");
    n = json_array_size(arr);
    if (n > MAX_LISTENERS)
        return config_fail(p, "listeners", "has %zu entries, at most %d", n,
                           MAX_LISTENERS);
    conf->listeners = calloc(n, sizeof(*conf->listeners));
    if (conf->listeners == NULL)
        return config_fail(p, NULL, "out of memory");
    conf->nlisteners = n;
    for (i = 0; i < n && rc == 0; i++)
        rc = config_listener(p, json_array_get(arr, i), i, conf,
                             &conf->listeners[i]);
    if (rc == 0)
        rc = config_duplicates(p, conf);
    return rc;
}

void
config_free_listener(struct listener_conf *lc)
{
    free(lc->name);
    free(lc->address);
    free(lc->module);
    free(lc->module_path);
    free(lc->user);
    free(lc->group);
    config_free_options(&lc->options);
    config_access_free(&lc->access);
    acl_free(&lc->proxy_trusted);
}
