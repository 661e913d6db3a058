/*
 * config.c - reads server.json into a struct config, checking every key.
 * The only file that includes jansson: nothing of jansson outlives
 * config_parse(), the rest of plugsrv sees plain structs and plain strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <jansson.h>

#include "plugsrv.h"

/* Defaults, as docs/DESIGN.md promises them. */
#define DEF_MODULES_DIR "modules"
#define DEF_MAX_CONNECTIONS 256
#define DEF_IDLE_TIMEOUT 300
#define DEF_MAX_LINE 65536
#define DEF_SHUTDOWN_TIMEOUT 10
#define DEF_BACKLOG 511
#define DEF_MODE MODE_FORK
#define DEF_SPARE 4
/* A connection's process: enough for any honest handler, little enough
 * that a runaway one cannot take the machine (0 = unlimited/inherit). */
#define DEF_RLIMIT_CPU 300              /* seconds of CPU */
#define DEF_RLIMIT_AS (1LL << 30)       /* bytes of address space */
#define DEF_RLIMIT_NOFILE 1024

/* Limits: beyond them a value is a typo, not a wish. */
#define CONFIG_MAX_BYTES (1024 * 1024)
#define MAX_LISTENERS 1024
#define MAX_MAX_CONNECTIONS 1000000
#define MAX_IDLE_TIMEOUT 31536000       /* a year */
#define MAX_MAX_LINE (1LL << 30)
#define MAX_SHUTDOWN_TIMEOUT 3600
#define MAX_PORT 65535
#define MAX_BACKLOG 65535
#define MAX_SPARE 10000
#define MAX_RLIMIT (1LL << 50)
#define MAX_NAME 63                     /* struct child keeps 64 bytes */

#define KEYLEN 256                      /* "listeners[1023].options.KEY" */

/* What one parse carries around: where messages go, and the anchor for
 * relative paths. */
struct cfgparse {
    const char *file;       /* the path as given, for messages */
    char *dir;              /* absolute folder of the file, owned */
    char *err;
    size_t errlen;
};

/* A listener's address in binary, to find two listeners on one socket
 * however their addresses are spelled. */
struct addrkey {
    int family;
    unsigned char bytes[16];
    int port;
};

static const char *const config_top_keys[] = {
    "modules_dir", "max_connections", "idle_timeout", "max_line",
    "shutdown_timeout", "user", "group", "rlimits", "listeners", NULL
};
static const char *const config_rlimit_keys[] = {
    "cpu", "as", "nofile", NULL
};
static const char *const config_listener_keys[] = {
    "name", "address", "port", "module", "options", "max_connections",
    "idle_timeout", "max_line", "backlog", "mode", "spare", NULL
};

static int config_fail(struct cfgparse *p, const char *key,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "FILE: KEY: what" (or "FILE: what" without a key) into the caller's
 * buffer; always returns -1 so that callers can return it. */
static int
config_fail(struct cfgparse *p, const char *key,
            const char *fmt, ...)
{
    char what[ERRBUF];
    va_list ap;

    if (p->err == NULL || p->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key != NULL)
        snprintf(p->err, p->errlen, "%s: %s: %s", p->file, key, what);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, what);
    return -1;
}

/* The message must stay one line whatever a key or jansson's "near '...'"
 * held, so control bytes become '?'. */
static void
config_sanitize(char *err, size_t errlen)
{
    unsigned char *c;

    if (err == NULL || errlen == 0)
        return;
    for (c = (unsigned char *)err; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static void
config_key(char *key, size_t len, const char *prefix,
           const char *name)
{
    snprintf(key, len, "%s%s", prefix, name);
}

static int
config_strdup(struct cfgparse *p, const char *s, char **out)
{
    *out = strdup(s);
    if (*out == NULL)
        return config_fail(p, NULL, "out of memory");
    return 0;
}

static int
config_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- paths ---- */

/* dir "/" rel, with leading "./" of rel dropped; rel "." is dir itself. */
static char *
config_join(const char *dir, const char *rel)
{
    size_t dlen = strlen(dir);
    char *s;

    while (rel[0] == '.' && rel[1] == '/')
        for (rel += 2; *rel == '/'; rel++)
            ;
    if (strcmp(rel, ".") == 0)
        rel = "";
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    s = malloc(dlen + 1 + strlen(rel) + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, dir, dlen);
    if (rel[0] == '\0')
        s[dlen] = '\0';
    else
        sprintf(s + dlen, "%s%s", dir[dlen - 1] == '/' ? "" : "/", rel);
    return s;
}

/*
 * The absolute folder of the config file. A relative path is taken from
 * the cwd now, so that a later chdir (daemons chdir "/") changes nothing.
 */
static int
config_dir(struct cfgparse *p)
{
    const char *slash = strrchr(p->file, '/');
    char *head, *cwd;

    if (slash == p->file)
        return config_strdup(p, "/", &p->dir);
    head = strndup(p->file, slash ? (size_t)(slash - p->file) : 0);
    if (head == NULL)
        return config_fail(p, NULL, "out of memory");
    if (head[0] == '/') {
        p->dir = head;
        return 0;
    }
    cwd = getcwd(NULL, 0);
    if (cwd == NULL) {
        free(head);
        return config_fail(p, NULL, "cannot resolve relative paths: "
                           "getcwd: %s", strerror(errno));
    }
    p->dir = config_join(cwd, head);
    free(cwd);
    free(head);
    return p->dir ? 0 : config_fail(p, NULL, "out of memory");
}

/* path made absolute against the config's folder, into *out. */
static int
config_resolve(struct cfgparse *p, const char *path, char **out)
{
    if (path[0] == '/')
        return config_strdup(p, path, out);
    *out = config_join(p->dir, path);
    return *out ? 0 : config_fail(p, NULL, "out of memory");
}

/* ---- typed members ---- */

static int
config_check_keys(struct cfgparse *p, json_t *obj,
                  const char *prefix, const char *const *names)
{
    char key[KEYLEN];
    void *it;
    size_t i;

    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);

        for (i = 0; names[i] && strcmp(names[i], k) != 0; i++)
            ;
        if (names[i] == NULL) {
            config_key(key, sizeof key, prefix, k);
            return config_fail(p, key, "unknown key");
        }
    }
    return 0;
}

/* An optional integer member in [lo, hi]; *val is left alone if absent. */
static int
config_int(struct cfgparse *p, json_t *obj, const char *prefix,
           const char *name, long long lo, long long hi,
           long long *val)
{
    json_t *v = json_object_get(obj, name);
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        config_key(key, sizeof key, prefix, name);
        return config_fail(p, key, "must be an integer from %lld to %lld",
                           lo, hi);
    }
    *val = json_integer_value(v);
    return 0;
}

static int
config_int_as_int(struct cfgparse *p, json_t *obj,
                  const char *prefix, const char *name,
                  long long lo, long long hi, int *val)
{
    long long v = *val;

    if (config_int(p, obj, prefix, name, lo, hi, &v) < 0)
        return -1;
    *val = (int)v;
    return 0;
}

static int
config_int_as_size(struct cfgparse *p, json_t *obj,
                   const char *prefix, const char *name,
                   long long lo, long long hi, size_t *val)
{
    long long v = (long long)*val;

    if (config_int(p, obj, prefix, name, lo, hi, &v) < 0)
        return -1;
    *val = (size_t)v;
    return 0;
}

/* An optional non-empty string member, copied into *out (left alone if
 * absent). A "\u0000" inside would silently cut a path or an address, so
 * it is refused here (option values are another matter). */
static int
config_str(struct cfgparse *p, json_t *obj, const char *prefix,
           const char *name, char **out)
{
    json_t *v = json_object_get(obj, name);
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    config_key(key, sizeof key, prefix, name);
    if (!json_is_string(v))
        return config_fail(p, key, "must be a string");
    if (json_string_length(v) == 0)
        return config_fail(p, key, "must not be empty");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return config_fail(p, key, "must not contain a NUL byte");
    free(*out);
    return config_strdup(p, json_string_value(v), out);
}

static int
config_required(struct cfgparse *p, json_t *obj,
                const char *prefix, const char *name)
{
    char key[KEYLEN];

    if (json_object_get(obj, name) != NULL)
        return 0;
    config_key(key, sizeof key, prefix, name);
    return config_fail(p, key, "is required");
}

/* ---- options ---- */

static int
config_option(struct cfgparse *p, const char *prefix,
              const char *k, json_t *v, struct option *o)
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
    config_key(key, sizeof key, prefix, k);
    return config_fail(p, key, "must be a string, integer or boolean");
}

/* The listener's "options" object, copied out of jansson in file order. */
static int
config_options(struct cfgparse *p, json_t *obj,
               const char *prefix, struct plugsrv_options *opts)
{
    json_t *v = json_object_get(obj, "options");
    char key[KEYLEN], optprefix[KEYLEN];
    void *it;

    if (v == NULL)
        return 0;
    config_key(key, sizeof key, prefix, "options");
    if (!json_is_object(v))
        return config_fail(p, key, "must be an object");
    if (json_object_size(v) == 0)
        return 0;
    opts->items = calloc(json_object_size(v), sizeof *opts->items);
    if (opts->items == NULL)
        return config_fail(p, NULL, "out of memory");
    snprintf(optprefix, sizeof optprefix, "%soptions.", prefix);
    for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        struct option *o = &opts->items[opts->count++];

        if (config_option(p, optprefix, json_object_iter_key(it),
                          json_object_iter_value(it), o) < 0)
            return -1;
    }
    return 0;
}

static void
config_free_options(struct plugsrv_options *opts)
{
    size_t i;

    for (i = 0; i < opts->count; i++) {
        free(opts->items[i].key);
        free(opts->items[i].str);
    }
    free(opts->items);
    opts->items = NULL;
    opts->count = 0;
}

/* ---- one listener ---- */

/* Numeric IPv4 or IPv6 text into its bytes; -1 if it is neither. */
static int
config_addrkey(const char *text, int port, struct addrkey *k)
{
    memset(k, 0, sizeof *k);
    k->port = port;
    if (inet_pton(AF_INET, text, k->bytes) == 1)
        k->family = AF_INET;
    else if (inet_pton(AF_INET6, text, k->bytes) == 1)
        k->family = AF_INET6;
    else
        return -1;
    return 0;
}

static int
config_listener_addr(struct cfgparse *p, json_t *obj,
                     const char *prefix, struct listener_conf *lc,
                     struct addrkey *k)
{
    char key[KEYLEN];

    if (config_required(p, obj, prefix, "address") < 0 ||
        config_str(p, obj, prefix, "address", &lc->address) < 0 ||
        config_required(p, obj, prefix, "port") < 0 ||
        config_int_as_int(p, obj, prefix, "port", 1, MAX_PORT,
                          &lc->port) < 0)
        return -1;
    if (config_addrkey(lc->address, lc->port, k) < 0) {
        config_key(key, sizeof key, prefix, "address");
        return config_fail(p, key, "\"%.64s\" is not a numeric IPv4 or "
                           "IPv6 address", lc->address);
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
                   const char *modules_dir,
                   struct listener_conf *lc)
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
config_listener_module(struct cfgparse *p, json_t *obj,
                       const char *prefix,
                       const struct config *conf,
                       struct listener_conf *lc)
{
    char key[KEYLEN];

    config_key(key, sizeof key, prefix, "module");
    if (config_required(p, obj, prefix, "module") < 0 ||
        config_str(p, obj, prefix, "module", &lc->module) < 0 ||
        config_module_path(p, key, conf->modules_dir, lc) < 0 ||
        config_str(p, obj, prefix, "name", &lc->name) < 0)
        return -1;
    if (lc->name == NULL && config_default_name(p, lc) < 0)
        return -1;
    if (!config_name_ok(lc->name)) {
        if (json_object_get(obj, "name") == NULL)
            return config_fail(p, key, "\"%.64s\" cannot name a listener "
                               "(see \"name\")", lc->name);
        config_key(key, sizeof key, prefix, "name");
        return config_fail(p, key, "must be at most %d characters without "
                           "spaces, quotes or '='", MAX_NAME);
    }
    return 0;
}

static int
config_listener_mode(struct cfgparse *p, json_t *obj,
                     const char *prefix, struct listener_conf *lc)
{
    json_t *v = json_object_get(obj, "mode");
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    if (json_is_string(v) && strcmp(json_string_value(v), "fork") == 0)
        lc->mode = MODE_FORK;
    else if (json_is_string(v) &&
             strcmp(json_string_value(v), "prefork") == 0)
        lc->mode = MODE_PREFORK;
    else {
        config_key(key, sizeof key, prefix, "mode");
        return config_fail(p, key, "must be \"fork\" or \"prefork\"");
    }
    return 0;
}

/* Limits of a listener; absent ones come from the top level, except
 * max_connections whose 0 means "only the global cap". */
static int
config_listener_limits(struct cfgparse *p, json_t *obj,
                       const char *prefix,
                       const struct config *conf,
                       struct listener_conf *lc)
{
    lc->max_connections = 0;
    lc->idle_timeout = conf->idle_timeout;
    lc->max_line = conf->max_line;
    lc->backlog = DEF_BACKLOG;
    lc->mode = DEF_MODE;
    lc->spare = DEF_SPARE;
    if (config_int_as_int(p, obj, prefix, "max_connections", 1,
                          MAX_MAX_CONNECTIONS, &lc->max_connections) < 0 ||
        config_int_as_int(p, obj, prefix, "idle_timeout", 0,
                          MAX_IDLE_TIMEOUT, &lc->idle_timeout) < 0 ||
        config_int_as_size(p, obj, prefix, "max_line", 1, MAX_MAX_LINE,
                           &lc->max_line) < 0 ||
        config_int_as_int(p, obj, prefix, "backlog", 1, MAX_BACKLOG,
                          &lc->backlog) < 0 ||
        config_listener_mode(p, obj, prefix, lc) < 0 ||
        config_int_as_int(p, obj, prefix, "spare", 1, MAX_SPARE,
                          &lc->spare) < 0)
        return -1;
    return 0;
}

static int
config_listener(struct cfgparse *p, json_t *obj, size_t i,
                const struct config *conf,
                struct listener_conf *lc, struct addrkey *k)
{
    char prefix[KEYLEN];

    snprintf(prefix, sizeof prefix, "listeners[%zu]", i);
    if (!json_is_object(obj))
        return config_fail(p, prefix, "must be an object");
    strcat(prefix, ".");
    if (config_check_keys(p, obj, prefix, config_listener_keys) < 0 ||
        config_listener_addr(p, obj, prefix, lc, k) < 0 ||
        config_listener_module(p, obj, prefix, conf, lc) < 0 ||
        config_listener_limits(p, obj, prefix, conf, lc) < 0 ||
        config_options(p, obj, prefix, &lc->options) < 0)
        return -1;
    return 0;
}

/* Two listeners on one address and port would fail at bind time with a
 * vaguer message; say which two here. */
static int
config_duplicates(struct cfgparse *p, const struct config *conf,
                  const struct addrkey *keys)
{
    char key[KEYLEN];
    size_t i, j;

    for (i = 1; i < conf->nlisteners; i++) {
        for (j = 0; j < i; j++) {
            if (memcmp(&keys[i], &keys[j], sizeof keys[i]) != 0)
                continue;
            snprintf(key, sizeof key, "listeners[%zu]", i);
            return config_fail(p, key, "duplicate of listeners[%zu] "
                               "(%s%.64s%s:%d)", j,
                               keys[i].family == AF_INET6 ? "[" : "",
                               conf->listeners[i].address,
                               keys[i].family == AF_INET6 ? "]" : "",
                               conf->listeners[i].port);
        }
    }
    return 0;
}

static int
config_listeners(struct cfgparse *p, json_t *root,
                 struct config *conf)
{
    json_t *arr = json_object_get(root, "listeners");
    struct addrkey *keys;
    size_t i, n;
    int rc = 0;

    if (arr == NULL)
        return config_fail(p, "listeners", "is required");
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return config_fail(p, "listeners", "must be a non-empty array");
    n = json_array_size(arr);
    if (n > MAX_LISTENERS)
        return config_fail(p, "listeners", "has %zu entries, at most %d",
                           n, MAX_LISTENERS);
    conf->listeners = calloc(n, sizeof *conf->listeners);
    keys = calloc(n, sizeof *keys);
    if (conf->listeners == NULL || keys == NULL) {
        free(keys);
        return config_fail(p, NULL, "out of memory");
    }
    conf->nlisteners = n;
    for (i = 0; i < n && rc == 0; i++)
        rc = config_listener(p, json_array_get(arr, i), i, conf,
                             &conf->listeners[i], &keys[i]);
    if (rc == 0)
        rc = config_duplicates(p, conf, keys);
    free(keys);
    return rc;
}

/* ---- the top level ---- */

static int
config_rlimits(struct cfgparse *p, json_t *root,
               struct rlimits *rl)
{
    json_t *obj = json_object_get(root, "rlimits");

    rl->cpu = DEF_RLIMIT_CPU;
    rl->as = DEF_RLIMIT_AS;
    rl->nofile = DEF_RLIMIT_NOFILE;
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return config_fail(p, "rlimits", "must be an object");
    if (config_check_keys(p, obj, "rlimits.", config_rlimit_keys) < 0 ||
        config_int(p, obj, "rlimits.", "cpu", 0, MAX_RLIMIT, &rl->cpu) < 0 ||
        config_int(p, obj, "rlimits.", "as", 0, MAX_RLIMIT, &rl->as) < 0 ||
        config_int(p, obj, "rlimits.", "nofile", 0, MAX_RLIMIT,
                   &rl->nofile) < 0)
        return -1;
    return 0;
}

static int
config_modules_dir(struct cfgparse *p, json_t *root,
                   struct config *conf)
{
    char *dir = NULL;
    size_t len;
    int rc;

    if (config_str(p, root, "", "modules_dir", &dir) < 0)
        return -1;
    rc = config_resolve(p, dir ? dir : DEF_MODULES_DIR, &conf->modules_dir);
    free(dir);
    if (rc == 0)    /* "mods/" is "mods", as messages will show it */
        for (len = strlen(conf->modules_dir);
             len > 1 && conf->modules_dir[len - 1] == '/'; len--)
            conf->modules_dir[len - 1] = '\0';
    return rc;
}

static int
config_top(struct cfgparse *p, json_t *root, struct config *conf)
{
    conf->max_connections = DEF_MAX_CONNECTIONS;
    conf->idle_timeout = DEF_IDLE_TIMEOUT;
    conf->max_line = DEF_MAX_LINE;
    conf->shutdown_timeout = DEF_SHUTDOWN_TIMEOUT;
    if (config_check_keys(p, root, "", config_top_keys) < 0 ||
        config_int_as_int(p, root, "", "max_connections", 1,
                          MAX_MAX_CONNECTIONS, &conf->max_connections) < 0 ||
        config_int_as_int(p, root, "", "idle_timeout", 0, MAX_IDLE_TIMEOUT,
                          &conf->idle_timeout) < 0 ||
        config_int_as_size(p, root, "", "max_line", 1, MAX_MAX_LINE,
                           &conf->max_line) < 0 ||
        config_int_as_int(p, root, "", "shutdown_timeout", 0,
                          MAX_SHUTDOWN_TIMEOUT,
                          &conf->shutdown_timeout) < 0 ||
        config_str(p, root, "", "user", &conf->user) < 0 ||
        config_str(p, root, "", "group", &conf->group) < 0 ||
        config_rlimits(p, root, &conf->rlimits) < 0 ||
        config_modules_dir(p, root, conf) < 0 ||
        config_listeners(p, root, conf) < 0)
        return -1;
    return config_strdup(p, p->file, &conf->path);
}

/* ---- entry points ---- */

static json_t *
config_json(struct cfgparse *p, const char *text, size_t len)
{
    json_error_t je;
    json_t *root;

    if (len > CONFIG_MAX_BYTES) {
        config_fail(p, NULL, "too large (%zu bytes, at most %d)", len,
                    CONFIG_MAX_BYTES);
        return NULL;
    }
    /* "\u0000" is allowed so that an option may hold it (handler.h). */
    root = json_loadb(text ? text : "", text ? len : 0,
                      JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (root == NULL) {
        if (p->err != NULL && p->errlen > 0)
            snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->file, je.line,
                     je.column, je.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        config_fail(p, NULL, "must be a JSON object {...}");
        return NULL;
    }
    return root;
}

int
config_parse(const char *text, size_t len, const char *path,
             struct config **out, char *err, size_t errlen)
{
    struct cfgparse p = { path ? path : "(config)", NULL, err, errlen };
    struct config *conf = NULL;
    json_t *root;
    int rc = -1;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    root = config_json(&p, text, len);
    if (root != NULL && config_dir(&p) == 0) {
        conf = calloc(1, sizeof *conf);
        rc = conf ? config_top(&p, root, conf)
                  : config_fail(&p, NULL, "out of memory");
    }
    json_decref(root);
    free(p.dir);
    if (rc < 0) {
        config_free(conf);
        config_sanitize(err, errlen);
        return -1;
    }
    *out = conf;
    return 0;
}

/* The whole file into a new buffer, refusing what is too large to be a
 * config (a log file named by mistake, /dev/zero). */
static int
config_read(struct cfgparse *p, char **text, size_t *len)
{
    struct stat st;
    char *buf;
    ssize_t n;
    int fd;

    fd = open(p->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return config_fail(p, NULL, "cannot read: %s", strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        return config_fail(p, NULL, "too large (%lld bytes, at most %d)",
                           (long long)st.st_size, CONFIG_MAX_BYTES);
    }
    buf = malloc(CONFIG_MAX_BYTES + 1);
    if (buf == NULL) {
        close(fd);
        return config_fail(p, NULL, "out of memory");
    }
    *len = 0;
    do {
        n = read(fd, buf + *len, CONFIG_MAX_BYTES + 1 - *len);
        if (n > 0)
            *len += (size_t)n;
    } while ((n > 0 || (n < 0 && errno == EINTR)) &&
             *len <= CONFIG_MAX_BYTES);
    if (n < 0) {
        config_fail(p, NULL, "cannot read: %s", strerror(errno));
        close(fd);
        free(buf);
        return -1;
    }
    close(fd);
    if (*len > CONFIG_MAX_BYTES) {
        free(buf);
        return config_fail(p, NULL, "too large (more than %d bytes)",
                           CONFIG_MAX_BYTES);
    }
    *text = buf;
    return 0;
}

int
config_load(const char *path, struct config **out, char *err,
            size_t errlen)
{
    struct cfgparse p = { path, NULL, err, errlen };
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        p.file = "(config)";
        return config_fail(&p, NULL, "cannot read: no file named");
    }
    if (config_read(&p, &text, &len) < 0) {
        config_sanitize(err, errlen);
        return -1;
    }
    rc = config_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}

static void
config_free_listener(struct listener_conf *lc)
{
    free(lc->name);
    free(lc->address);
    free(lc->module);
    free(lc->module_path);
    config_free_options(&lc->options);
}

void
config_free(struct config *conf)
{
    size_t i;

    if (conf == NULL)
        return;
    for (i = 0; i < conf->nlisteners; i++)
        config_free_listener(&conf->listeners[i]);
    free(conf->listeners);
    free(conf->path);
    free(conf->modules_dir);
    free(conf->user);
    free(conf->group);
    free(conf);
}
