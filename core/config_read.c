/*
 * config_read.c - the typed readers of JSON members and the path helpers
 * that config.c and config_listener.c both use: each checks one member and
 * says "FILE: KEY: what" when it is wrong. They call nothing back, so the
 * dependencies run one way: config.c -> config_listener.c -> here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"

/* "FILE: KEY: what" (or "FILE: what" without a key) into the caller's
 * buffer; always returns -1 so that callers can return it. */
int
config_fail(struct cfgparse *p, const char *key, const char *fmt, ...)
{
    char what[ERRBUF];
    va_list ap;

    if (p->err == NULL || p->errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (key != NULL)
        snprintf(p->err, p->errlen, "%s: %s: %s", p->file, key, what);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->file, what);
    return -1;
}

/* The message must stay one line whatever a key or jansson's "near '...'"
 * held, so control bytes become '?'. */
void
config_sanitize(char *err, size_t errlen)
{
    unsigned char *c;

    if (err == NULL || errlen == 0)
        return;
    for (c = (unsigned char *)err; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            *c = '?';
}

void
config_key(char *key, size_t len, const char *prefix, const char *name)
{
    snprintf(key, len, "%s%s", prefix, name);
}

int
config_strdup(struct cfgparse *p, const char *s, char **out)
{
    *out = strdup(s);
    if (*out == NULL)
        return config_fail(p, NULL, "out of memory");
    return 0;
}

int
config_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- paths ---- */

/* dir "/" rel, with leading "./" of rel dropped; rel "." is dir itself. */
char *
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
int
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
        return config_fail(p, NULL,
                           "cannot resolve relative paths: "
                           "getcwd: %s",
                           strerror(errno));
    }
    p->dir = config_join(cwd, head);
    free(cwd);
    free(head);
    return p->dir ? 0 : config_fail(p, NULL, "out of memory");
}

/* path made absolute against the config's folder, into *out. */
int
config_resolve(struct cfgparse *p, const char *path, char **out)
{
    if (path[0] == '/')
        return config_strdup(p, path, out);
    *out = config_join(p->dir, path);
    return *out ? 0 : config_fail(p, NULL, "out of memory");
}

/* ---- typed members ---- */

int
config_check_keys(struct cfgparse *p, json_t *obj, const char *prefix,
                  const char *const *names)
{
    char key[KEYLEN];
    void *it;
    size_t i;

    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);

        for (i = 0; names[i] && strcmp(names[i], k) != 0; i++)
            ;
        if (names[i] == NULL) {
            config_key(key, sizeof(key), prefix, k);
            return config_fail(p, key, "unknown key");
        }
    }
    return 0;
}

/* An optional integer member in [lo, hi]; *val is left alone if absent. */
int
config_int(struct cfgparse *p, json_t *obj, const char *prefix,
           const char *name, long long lo, long long hi, long long *val)
{
    json_t *v = json_object_get(obj, name);
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        config_key(key, sizeof(key), prefix, name);
        return config_fail(p, key, "must be an integer from %lld to %lld", lo,
                           hi);
    }
    *val = json_integer_value(v);
    return 0;
}

int
config_int_as_int(struct cfgparse *p, json_t *obj, const char *prefix,
                  const char *name, long long lo, long long hi, int *val)
{
    long long v = *val;

    if (config_int(p, obj, prefix, name, lo, hi, &v) < 0)
        return -1;
    *val = (int)v;
    return 0;
}

int
config_int_as_size(struct cfgparse *p, json_t *obj, const char *prefix,
                   const char *name, long long lo, long long hi, size_t *val)
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
int
config_str(struct cfgparse *p, json_t *obj, const char *prefix,
           const char *name, char **out)
{
    json_t *v = json_object_get(obj, name);
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    config_key(key, sizeof(key), prefix, name);
    if (!json_is_string(v))
        return config_fail(p, key, "must be a string");
    if (json_string_length(v) == 0)
        return config_fail(p, key, "must not be empty");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return config_fail(p, key, "must not contain a NUL byte");
    free(*out);
    return config_strdup(p, json_string_value(v), out);
}

int
config_required(struct cfgparse *p, json_t *obj, const char *prefix,
                const char *name)
{
    char key[KEYLEN];

    if (json_object_get(obj, name) != NULL)
        return 0;
    config_key(key, sizeof(key), prefix, name);
    return config_fail(p, key, "is required");
}
