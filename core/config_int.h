/*
 * config_int.h - what config.c, config_listener.c and config_read.c share:
 * the limits and defaults, one parse's state, and the typed readers of JSON
 * members (config_read.c). Only these files include it (and jansson).
 */
#ifndef PLUGSRV_CONFIG_INT_H
#define PLUGSRV_CONFIG_INT_H

#include <jansson.h>

#include "plugsrv.h"

/* Defaults, as docs/DESIGN.md promises them. */
#define DEF_MODULES_DIR      PLUGSRV_DEFAULT_MODULES_DIR /* the installed ones */
#define DEF_MAX_CONNECTIONS  256
#define DEF_IDLE_TIMEOUT     300
#define DEF_MAX_LINE         65536
#define DEF_SHUTDOWN_TIMEOUT 10
#define DEF_BACKLOG          511
#define DEF_MODE             MODE_FORK
#define DEF_SPARE            4
/* One source (an IPv4 address, an IPv6 /64) may hold a quarter of
 * max_connections by default (at least 16): four hosts are needed to fill
 * the server.
 * Not less: the parent counts a connection until it reaps its process, and
 * under load a client's closed connections linger there (measured: twice
 * the client's concurrency on a loaded machine). README, "Defaults". */
#define DEF_MAX_PER_SOURCE_DIV 4
#define DEF_MAX_PER_SOURCE_MIN 16 /* a small server is a test or a lab */
#define DEF_SOURCE_PREFIX_V4   32
#define DEF_SOURCE_PREFIX_V6   64
/* A connection's process: enough for any honest handler, little enough
 * that a runaway one cannot take the machine (0 = unlimited/inherit). */
#define DEF_RLIMIT_CPU    300         /* seconds of CPU */
#define DEF_RLIMIT_AS     (1LL << 30) /* bytes of address space */
#define DEF_RLIMIT_NOFILE 1024

/* Limits: beyond them a value is a typo, not a wish. */
#define CONFIG_MAX_BYTES     (1024 * 1024)
#define MAX_LISTENERS        1024
#define MAX_MAX_CONNECTIONS  1000000
#define MAX_IDLE_TIMEOUT     31536000 /* a year */
#define MAX_MAX_LINE         (1LL << 30)
#define MAX_SHUTDOWN_TIMEOUT 3600
#define MAX_PORT             65535
#define MAX_BACKLOG          65535
#define MAX_SPARE            10000
#define MAX_RLIMIT           (1LL << 50)
#define MAX_NAME             LISTENER_NAME_MAX /* struct child keeps it */
#define MAX_ACL              1024 /* entries of "allow" or "deny" */
#define MAX_RATE             1000000

#define KEYLEN 256 /* "listeners[1023].options.KEY" */

/* What one parse carries around: where messages go, and the anchor for
 * relative paths. */
struct cfgparse {
    const char *file; /* the path as given, for messages */
    char *dir;        /* absolute folder of the file, owned */
    char *err;
    size_t errlen;
};

/* ---- config_read.c ---- */
int config_fail(struct cfgparse *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_key(char *key, size_t len, const char *prefix, const char *name);
int config_strdup(struct cfgparse *p, const char *s, char **out);
int config_has_suffix(const char *s, const char *suffix);
char *config_join(const char *dir, const char *rel);
int config_resolve(struct cfgparse *p, const char *path, char **out);
int config_check_keys(struct cfgparse *p, json_t *obj, const char *prefix,
                      const char *const *names);
int config_int_as_int(struct cfgparse *p, json_t *obj, const char *prefix,
                      const char *name, long long lo, long long hi, int *val);
int
config_int_as_size(struct cfgparse *p, json_t *obj, const char *prefix,
                   const char *name, long long lo, long long hi, size_t *val);
int config_str(struct cfgparse *p, json_t *obj, const char *prefix,
               const char *name, char **out);
int config_required(struct cfgparse *p, json_t *obj, const char *prefix,
                    const char *name);
void config_sanitize(char *err, size_t errlen);
int config_dir(struct cfgparse *p);
int config_int(struct cfgparse *p, json_t *obj, const char *prefix,
               const char *name, long long lo, long long hi, long long *val);

/* ---- config_proxy.c ---- */
int config_acl(struct cfgparse *p, json_t *obj, const char *prefix,
               const char *name, struct acl *list);
int config_listener_proxy(struct cfgparse *p, json_t *obj, const char *prefix,
                          struct listener_conf *lc);
int config_listener_proxy_mode(struct cfgparse *p, const char *prefix,
                               const struct listener_conf *lc);
int config_metrics(struct cfgparse *p, json_t *root, struct metrics_conf *m);
void config_free_metrics(struct metrics_conf *m);

/* ---- config_listener.c ---- */
int config_listeners(struct cfgparse *p, json_t *root, struct config *conf);
void config_free_listener(struct listener_conf *lc);

/* ---- config_access.c ---- */
int config_access_top(struct cfgparse *p, json_t *root, int max_connections,
                      struct access_conf *ac);
int
config_access_listener(struct cfgparse *p, json_t *obj, const char *prefix,
                       const struct access_conf *def, struct access_conf *ac);
int config_access_socket(struct cfgparse *p, json_t *obj, const char *prefix,
                         struct listener_conf *lc);
void config_access_free(struct access_conf *ac);

#endif /* PLUGSRV_CONFIG_INT_H */
