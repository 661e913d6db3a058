/*
 * config.c - reads server.json into a struct config, checking every key:
 * the file and the top level; config_listener.c reads each listener, and
 * config_read.c holds the typed readers both use. Only these three include
 * jansson: nothing of jansson outlives config_parse(), the rest of plugsrv
 * sees plain structs and strings. Runs in the parent (and plugsrv -t).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config_int.h"

static const char *const config_top_keys[] = {
    "modules_dir", "max_connections", "idle_timeout", "max_line",
    "shutdown_timeout", "user", "group", "rlimits", "listeners", "metrics",
    "log",
    /* config_access.c */
    "allow", "deny", "max_per_source", "rate_per_source", "source_prefix_v4",
    "source_prefix_v6", "max_duration", NULL
};
static const char *const config_rlimit_keys[] = { "cpu", "as", "nofile",
                                                  NULL };
static const char *const config_log_keys[] = { "file", NULL };

/* ---- the top level ---- */

static int
config_rlimits(struct cfgparse *p, json_t *root, struct rlimits *rl)
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
        config_int(p, obj, "rlimits.", "nofile", 0, MAX_RLIMIT, &rl->nofile) <
            0)
        return -1;
    return 0;
}

/* "log": { "file": PATH }, PATH against the config's folder. */
static int
config_log(struct cfgparse *p, json_t *root, struct config *conf)
{
    json_t *obj = json_object_get(root, "log");
    char *file = NULL;
    int rc;

    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return config_fail(p, "log", "must be an object");
    if (config_check_keys(p, obj, "log.", config_log_keys) < 0 ||
        config_str(p, obj, "log.", "file", &file) < 0)
        return -1;
    if (file == NULL)
        return 0;
    rc = config_resolve(p, file, &conf->log_file);
    free(file);
    return rc;
}

static int
config_modules_dir(struct cfgparse *p, json_t *root, struct config *conf)
{
    char *dir = NULL;
    size_t len;
    int rc;

    if (config_str(p, root, "", "modules_dir", &dir) < 0)
        return -1;
    rc = config_resolve(p, dir ? dir : DEF_MODULES_DIR, &conf->modules_dir);
    free(dir);
    if (rc == 0) /* "mods/" is "mods", as messages will show it */
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
                          MAX_SHUTDOWN_TIMEOUT, &conf->shutdown_timeout) < 0 ||
        config_str(p, root, "", "user", &conf->user) < 0 ||
        config_str(p, root, "", "group", &conf->group) < 0 ||
        config_rlimits(p, root, &conf->rlimits) < 0 ||
        config_metrics(p, root, &conf->metrics) < 0 ||
        config_log(p, root, conf) < 0 ||
        config_modules_dir(p, root, conf) < 0 ||
        config_access_top(p, root, conf->max_connections, &conf->access) < 0 ||
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
        conf = calloc(1, sizeof(*conf));
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

    /* Non-blocking: opening a FIFO would otherwise wait for a writer, and
     * a start, -t or a reload would hang for good. */
    fd = open(p->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return config_fail(p, NULL, "cannot read: %s", strerror(errno));
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return config_fail(p, NULL, "not a regular file");
    }
    if (st.st_size > CONFIG_MAX_BYTES) {
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
    } while ((n > 0 || (n < 0 && errno == EINTR)) && *len <= CONFIG_MAX_BYTES);
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
config_load(const char *path, struct config **out, char *err, size_t errlen)
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

void
config_free(struct config *conf)
{
    size_t i;

    if (conf == NULL)
        return;
    for (i = 0; i < conf->nlisteners; i++)
        config_free_listener(&conf->listeners[i]);
    free(conf->listeners);
    config_access_free(&conf->access);
    free(conf->path);
    free(conf->modules_dir);
    free(conf->user);
    free(conf->group);
    config_free_metrics(&conf->metrics);
    free(conf->log_file);
    free(conf);
}
