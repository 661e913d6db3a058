/*
 * config_proxy.c - the keys of the PROXY protocol and of the metrics
 * endpoint: a listener's "proxy_protocol", "proxy_trusted" and
 * "proxy_timeout", and the top-level "metrics" object, with the lists of
 * CIDR blocks both use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

#define DEF_PROXY_TIMEOUT 5
#define MAX_PROXY_TIMEOUT 3600

static const char *const config_metrics_keys[] = { "address", "port", "allow",
                                                   NULL };
static const char *const config_loopback[] = { "127.0.0.0/8", "::1", NULL };

static int
config_proxy_version(struct cfgparse *p, json_t *v, const char *key,
                     int *proxy)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";

    if (strcmp(s, "v1") == 0)
        *proxy = PROXY_V1;
    else if (strcmp(s, "v2") == 0)
        *proxy = PROXY_V2;
    else if (strcmp(s, "any") == 0)
        *proxy = PROXY_ANY;
    else
        return config_fail(p, key, "must be \"v1\", \"v2\" or \"any\"");
    return 0;
}

/* A listener's PROXY keys: the trusted list is required with the
 * protocol and meaningless without it. */
int
config_listener_proxy(struct cfgparse *p, json_t *obj, const char *prefix,
                      struct listener_conf *lc)
{
    json_t *v = json_object_get(obj, "proxy_protocol");
    char key[KEYLEN];

    lc->proxy = PROXY_OFF;
    lc->proxy_timeout = DEF_PROXY_TIMEOUT;
    config_key(key, sizeof(key), prefix, "proxy_protocol");
    if (v != NULL && config_proxy_version(p, v, key, &lc->proxy) == -1)
        return -1;
    if (config_int_as_int(p, obj, prefix, "proxy_timeout", 1,
                          MAX_PROXY_TIMEOUT, &lc->proxy_timeout) < 0)
        return -1;
    if (json_object_get(obj, "proxy_trusted") != NULL) {
        config_key(key, sizeof(key), prefix, "proxy_trusted");
        if (lc->proxy == PROXY_OFF)
            return config_fail(p, key, "needs \"proxy_protocol\"");
        return config_acl(p, obj, prefix, "proxy_trusted", &lc->proxy_trusted);
    }
    if (lc->proxy != PROXY_OFF)
        return config_fail(p, key,
                           "needs \"proxy_trusted\", the balancers' "
                           "addresses");
    return 0;
}

/* The balancer's header is read by the connection's own process, which a
 * prefork spare already is before the parent hears of the connection. */
int
config_listener_proxy_mode(struct cfgparse *p, const char *prefix,
                           const struct listener_conf *lc)
{
    char key[KEYLEN];

    if (lc->proxy == PROXY_OFF || lc->mode == MODE_FORK)
        return 0;
    config_key(key, sizeof(key), prefix, "proxy_protocol");
    return config_fail(p, key, "needs \"mode\": \"fork\"");
}

static int
config_metrics_default_allow(struct cfgparse *p, struct acl *l)
{
    char why[ERRBUF];
    size_t i;

    l->set = 1;
    l->nets = calloc(2, sizeof(*l->nets));
    if (l->nets == NULL)
        return config_fail(p, NULL, "out of memory");
    for (i = 0; config_loopback[i] != NULL; i++)
        acl_parse(config_loopback[i], &l->nets[l->n++], why, sizeof(why));
    return 0;
}

/* The top-level "metrics": { "address", "port", "allow" }. */
int
config_metrics(struct cfgparse *p, json_t *root, struct metrics_conf *m)
{
    json_t *obj = json_object_get(root, "metrics");

    if (obj == NULL)
        return 0;
    if (!json_is_object(obj))
        return config_fail(p, "metrics", "must be an object");
    if (config_check_keys(p, obj, "metrics.", config_metrics_keys) < 0 ||
        config_required(p, obj, "metrics.", "port") < 0 ||
        config_int_as_int(p, obj, "metrics.", "port", 1, MAX_PORT, &m->port) <
            0 ||
        config_str(p, obj, "metrics.", "address", &m->address) < 0)
        return -1;
    if (m->address == NULL && config_strdup(p, "127.0.0.1", &m->address) < 0)
        return -1;
    if (addr_parse(m->address, m->port, &m->sa, &m->salen) < 0)
        return config_fail(p, "metrics.address",
                           "\"%.64s\" is not a numeric IPv4 or IPv6 address",
                           m->address);
    if (json_object_get(obj, "allow") != NULL)
        return config_acl(p, obj, "metrics.", "allow", &m->allow);
    return config_metrics_default_allow(p, &m->allow);
}

void
config_free_metrics(struct metrics_conf *m)
{
    free(m->address);
    acl_free(&m->allow);
}
