/*
 * admit.c - the parent's one decision on a new connection, in this order:
 * the listener's "allow"/"deny" (reason=acl), the global pool
 * (max_connections, where each listener keeps a share for itself), the
 * listener's own max_connections, then its source's open connections
 * (per_source) and rate (rate). Nothing here makes a system call or
 * allocates: it is on every connection's path.
 */
#include <string.h>
#include <sys/socket.h>

#include "plugsrv.h"

/*
 * With several listeners, each keeps a share of max_connections that only
 * it may use: a flood on one listener leaves the others their shares (the
 * rest of the pool is taken first come). A quarter of an equal split:
 * half the pool stays shared.
 */
static struct {
    size_t max;   /* max_connections */
    size_t share; /* each listener's reserved connections; 0 = none */
    struct listener *ls;
    size_t n;
} admit;

void
admit_configure(const struct config *conf, struct listener *ls, size_t n)
{
    admit.max = (size_t)conf->max_connections;
    admit.share = n > 1 ? admit.max / (2 * n) : 0;
    admit.ls = ls;
    admit.n = n;
}

static size_t
admit_share(const struct listener *l)
{
    size_t cap = (size_t)l->conf->max_connections;

    return cap > 0 && cap < admit.share ? cap : admit.share;
}

/* The shares other listeners have not used yet: O(listeners), but only
 * when the pool is nearly full. */
static size_t
admit_reserved(const struct listener *l)
{
    size_t i, share, sum = 0;

    for (i = 0; i < admit.n; i++) {
        share = admit_share(&admit.ls[i]);
        if (&admit.ls[i] != l && (size_t)admit.ls[i].count->active < share)
            sum += share - (size_t)admit.ls[i].count->active;
    }
    return sum;
}

/* May l take one more connection from the global pool? */
static int
admit_pool(const struct listener *l)
{
    size_t total = children_serving();

    if (total >= admit.max)
        return 0;
    if ((size_t)l->count->active < admit_share(l))
        return 1;
    if (total + 1 + (admit.n - 1) * admit.share <= admit.max)
        return 1;
    return total + 1 + admit_reserved(l) <= admit.max;
}

/* An address that is not IP (a unix socket) matches no block. */
static void
admit_addr(const struct sockaddr *sa, struct acl_addr *a)
{
    if (acl_from_sockaddr(sa, a) == -1)
        memset(a, 0, sizeof(*a));
}

static int
admit_allowed(const struct access_conf *ac, const struct acl_addr *a)
{
    if (acl_match(&ac->deny, a))
        return 0;
    return !ac->allow.set || acl_match(&ac->allow, a);
}

int
admit_acl(const struct listener_conf *lc, const struct sockaddr *sa)
{
    struct acl_addr a;

    admit_addr(sa, &a);
    return admit_allowed(&lc->access, &a);
}

/* The source key of an address: cut to the listener's prefix. */
static void
admit_key(const struct access_conf *ac, const struct acl_addr *a,
          struct acl_addr *key)
{
    int bits = a->family == AF_INET ? ac->prefix_v4 : ac->prefix_v6;

    *key = *a;
    acl_cut(key, bits);
    key->bits = (unsigned char)bits;
}

/* The source's entry, made if new: seen even when the connection is
 * refused by a cap after, as it is known and recently used. NULL if the
 * listener counts no sources (or its group is full: see sources.c). */
static struct source *
admit_lookup(struct listener *l, const struct acl_addr *addr)
{
    struct acl_addr key;

    if (l->sources == NULL || addr->family == 0)
        return NULL;
    admit_key(&l->conf->access, addr, &key);
    return sources_get(l->sources, &key, clock_ms());
}

static const char *
admit_source(struct listener *l, struct source *e, struct admit_ref *ref)
{
    const struct access_conf *ac = &l->conf->access;

    if (e == NULL)
        return NULL;
    if (ac->max_per_source > 0 &&
        sources_open(e) >= (unsigned)ac->max_per_source)
        return stats_refusals[STATS_PER_SOURCE];
    if (ac->rate > 0 && sources_take(e, ac->rate, ac->burst, clock_ms()) == -1)
        return stats_refusals[STATS_RATE];
    sources_hold(e);
    ref->source = e;
    return NULL;
}

/* The listener's rules on who the peer is: its deny and allow lists. */
static const char *
admit_rules(struct listener *l, const struct sockaddr *sa,
            struct admit_ref *ref)
{
    ref->source = NULL;
    admit_addr(sa, &ref->addr);
    if (!admit_allowed(&l->conf->access, &ref->addr))
        return stats_refusals[STATS_ACL];
    return NULL;
}

/* Room for one more process: in the server's pool and the listener's. */
static const char *
admit_room(struct listener *l)
{
    if (!admit_pool(l))
        return stats_refusals[STATS_MAX_CONNECTIONS];
    if (l->conf->max_connections > 0 &&
        l->count->active >= l->conf->max_connections)
        return stats_refusals[STATS_LISTENER_MAX];
    return NULL;
}

const char *
admit_peer(struct listener *l, const struct sockaddr *sa,
           struct admit_ref *ref)
{
    struct source *e;
    const char *why;

    if ((why = admit_rules(l, sa, ref)) != NULL)
        return why;
    e = admit_lookup(l, &ref->addr);
    if ((why = admit_room(l)) != NULL)
        return why;
    return admit_source(l, e, ref);
}

/* A PROXY listener's connection, before its header: room for its process
 * only (proxyparent.c asks admit_client() once the client is known). */
const char *
admit_capacity(struct listener *l, struct admit_ref *ref)
{
    memset(ref, 0, sizeof(*ref));
    return admit_room(l);
}

/* ... and once the header named the client: the rules on who it is (its
 * process already holds its room). */
const char *
admit_client(struct listener *l, const struct sockaddr *sa,
             struct admit_ref *ref)
{
    const char *why;

    if ((why = admit_rules(l, sa, ref)) != NULL)
        return why;
    return admit_source(l, admit_lookup(l, &ref->addr), ref);
}

/*
 * Every refusal's line, count and metric. l is NULL for a listener a
 * reload removed (no count then); name is the listener's, from the
 * child's record where there is one. via is "" or the balancer that sent
 * a PROXY header; pid is 0 or the process refused after its fork.
 */
void
admit_refuse_from(struct listener *l, const char *name, const char *peer,
                  const char *via, pid_t pid, const char *reason)
{
    /* Static, not on the stack, where a connection's process starting
     * from the parent's frames would copy each page it touches. */
    static char ntext[LOG_VALUE_MAX], ptext[LOG_VALUE_MAX];

    log_value(ntext, sizeof(ntext), name);
    log_value(ptext, sizeof(ptext), peer);
    if (pid > 0)
        log_event("refuse listener=%s peer=%s%s%s reason=%s pid=%ld", ntext,
                  ptext, via[0] ? " via=" : "", via, reason, (long)pid);
    else
        log_event("refuse listener=%s peer=%s%s%s reason=%s", ntext, ptext,
                  via[0] ? " via=" : "", via, reason);
    if (l != NULL)
        stats_refused(&l->count->stats, reason);
    metrics_refuse(name, reason);
}

void
admit_refuse(struct listener *l, const char *name, const char *peer,
             const char *reason)
{
    admit_refuse_from(l, name, peer, "", 0, reason);
}

int
admit_open(struct listener *l, const struct config *conf)
{
    const struct access_conf *ac = &l->conf->access;
    int cap = l->conf->max_connections;

    l->sources = NULL;
    if (ac->max_per_source == 0 && ac->rate == 0)
        return 0;
    if (cap == 0 || cap > conf->max_connections)
        cap = conf->max_connections;
    l->sources = sources_new((size_t)cap);
    return l->sources != NULL ? 0 : -1;
}

void
admit_close(struct listener *l)
{
    sources_free(l->sources);
    l->sources = NULL;
}

void
admit_relink(void)
{
    struct child *c;
    size_t i;

    for (i = 0; i < children_count(); i++) {
        c = children_at(i);
        c->ref.source = NULL; /* its old table goes with the old config */
        if (c->state != CHILD_SERVING || c->listener == NULL)
            continue;
        c->ref.source = admit_lookup(c->listener, &c->ref.addr);
        if (c->ref.source != NULL)
            sources_hold(c->ref.source);
    }
}

/* A reload: l takes over the socket of old; if both count sources the same
 * way, the rate buckets carry over, so that a SIGHUP refills no one's. */
void
admit_carry(struct listener *l, const struct listener *old)
{
    const struct access_conf *a = &l->conf->access, *b = &old->conf->access;

    if (l->sources != NULL && old->sources != NULL &&
        a->prefix_v4 == b->prefix_v4 && a->prefix_v6 == b->prefix_v6)
        sources_carry(l->sources, old->sources);
}
