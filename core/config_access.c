/*
 * config_access.c - the keys that say who may connect and how much: "allow"
 * and "deny" lists, per-source limits and rates, max_duration. Each is read
 * at the top level (the default) and per listener (which replaces it, a
 * list as a whole), and every bad entry is named by its key and index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

static const char *const config_rate_keys[] = { "rate", "burst", NULL };

/* One entry of a list: "10.0.0.0/8". */
static int
config_acl_entry(struct cfgparse *p, const char *key, json_t *v,
                 struct acl_addr *out)
{
    char why[ERRBUF];

    if (!json_is_string(v))
        return config_fail(p, key, "must be a string (an address or block)");
    if (strlen(json_string_value(v)) != json_string_length(v) ||
        acl_parse(json_string_value(v), out, why, sizeof(why)) < 0) {
        if (strlen(json_string_value(v)) != json_string_length(v))
            snprintf(why, sizeof(why), "must not contain a NUL byte");
        return config_fail(p, key, "\"%.64s\": %s", json_string_value(v), why);
    }
    return 0;
}

/* "allow" or "deny": replaces *list if present. */
static int
config_acl(struct cfgparse *p, json_t *obj, const char *prefix,
           const char *name, struct acl *list)
{
    json_t *arr = json_object_get(obj, name);
    char key[KEYLEN];
    size_t i, n;

    if (arr == NULL)
        return 0;
    config_key(key, sizeof(key), prefix, name);
    if (!json_is_array(arr))
        return config_fail(p, key, "must be an array of addresses or blocks");
    n = json_array_size(arr);
    if (n > MAX_ACL)
        return config_fail(p, key, "has %zu entries, at most %d", n, MAX_ACL);
    acl_free(list);
    list->set = 1;
    if (n == 0)
        return 0;
    if ((list->nets = calloc(n, sizeof(*list->nets))) == NULL)
        return config_fail(p, NULL, "out of memory");
    for (i = 0; i < n; i++, list->n++) {
        snprintf(key, sizeof(key), "%s%s[%zu]", prefix, name, i);
        if (config_acl_entry(p, key, json_array_get(arr, i), &list->nets[i]) <
            0)
            return -1;
    }
    return 0;
}

/* "rate_per_source": { "rate": R, "burst": B }; rate 0 turns it off,
 * burst defaults to the rate (one second's worth at once). */
static int
config_rate(struct cfgparse *p, json_t *obj, const char *prefix,
            struct access_conf *ac)
{
    json_t *v = json_object_get(obj, "rate_per_source");
    char key[KEYLEN], sub[KEYLEN + 2];

    if (v == NULL)
        return 0;
    config_key(key, sizeof(key), prefix, "rate_per_source");
    if (!json_is_object(v))
        return config_fail(p, key,
                           "must be an object { \"rate\": R, \"burst\": B }");
    snprintf(sub, sizeof(sub), "%s.", key);
    ac->rate = 0;
    ac->burst = 0;
    if (config_check_keys(p, v, sub, config_rate_keys) < 0 ||
        config_required(p, v, sub, "rate") < 0 ||
        config_int_as_int(p, v, sub, "rate", 0, MAX_RATE, &ac->rate) < 0 ||
        config_int_as_int(p, v, sub, "burst", 1, MAX_RATE, &ac->burst) < 0)
        return -1;
    if (ac->burst == 0)
        ac->burst = ac->rate > 0 ? ac->rate : 1;
    return 0;
}

static int
config_access_read(struct cfgparse *p, json_t *obj, const char *prefix,
                   struct access_conf *ac)
{
    if (config_acl(p, obj, prefix, "allow", &ac->allow) < 0 ||
        config_acl(p, obj, prefix, "deny", &ac->deny) < 0 ||
        config_int_as_int(p, obj, prefix, "max_per_source", 0,
                          MAX_MAX_CONNECTIONS, &ac->max_per_source) < 0 ||
        config_rate(p, obj, prefix, ac) < 0 ||
        config_int_as_int(p, obj, prefix, "source_prefix_v4", 0, 32,
                          &ac->prefix_v4) < 0 ||
        config_int_as_int(p, obj, prefix, "source_prefix_v6", 0, 128,
                          &ac->prefix_v6) < 0 ||
        config_int_as_int(p, obj, prefix, "max_duration", 0, MAX_IDLE_TIMEOUT,
                          &ac->max_duration) < 0)
        return -1;
    return 0;
}

/* The top level: the defaults of every listener. */
int
config_access_top(struct cfgparse *p, json_t *root, int max_connections,
                  struct access_conf *ac)
{
    memset(ac, 0, sizeof(*ac));
    ac->max_per_source = max_connections / DEF_MAX_PER_SOURCE_DIV;
    if (ac->max_per_source < DEF_MAX_PER_SOURCE_MIN)
        ac->max_per_source = DEF_MAX_PER_SOURCE_MIN;
    ac->prefix_v4 = DEF_SOURCE_PREFIX_V4;
    ac->prefix_v6 = DEF_SOURCE_PREFIX_V6;
    return config_access_read(p, root, "", ac);
}

/* A listener: the top level's values, then its own. */
int
config_access_listener(struct cfgparse *p, json_t *obj, const char *prefix,
                       const struct access_conf *def, struct access_conf *ac)
{
    *ac = *def;
    memset(&ac->allow, 0, sizeof(ac->allow));
    memset(&ac->deny, 0, sizeof(ac->deny));
    if (acl_copy(&ac->allow, &def->allow) < 0 ||
        acl_copy(&ac->deny, &def->deny) < 0)
        return config_fail(p, NULL, "out of memory");
    return config_access_read(p, obj, prefix, ac);
}

static int
config_bool(struct cfgparse *p, json_t *obj, const char *prefix,
            const char *name, int *val)
{
    json_t *v = json_object_get(obj, name);
    char key[KEYLEN];

    if (v == NULL)
        return 0;
    if (!json_is_boolean(v)) {
        config_key(key, sizeof(key), prefix, name);
        return config_fail(p, key, "must be true or false");
    }
    *val = json_is_true(v);
    return 0;
}

/* "reuseport" and "ipv6_only", a listener's socket options (after its
 * address was read). */
int
config_access_socket(struct cfgparse *p, json_t *obj, const char *prefix,
                     struct listener_conf *lc)
{
    char key[KEYLEN];

    lc->reuseport = 0;
    lc->ipv6_only = 1;
    if (config_bool(p, obj, prefix, "reuseport", &lc->reuseport) < 0 ||
        config_bool(p, obj, prefix, "ipv6_only", &lc->ipv6_only) < 0)
        return -1;
    if (json_object_get(obj, "ipv6_only") != NULL &&
        lc->sa.ss_family != AF_INET6) {
        config_key(key, sizeof(key), prefix, "ipv6_only");
        return config_fail(p, key, "is only for an IPv6 address");
    }
    return 0;
}

void
config_access_free(struct access_conf *ac)
{
    acl_free(&ac->allow);
    acl_free(&ac->deny);
}
