/*
 * sources.c - one listener's table of sources (a peer address cut to
 * source_prefix_v4/_v6 bits): how many connections each has open, and its
 * token bucket for rate_per_source.
 *
 * The memory is fixed when the listener is made, whatever the number of
 * distinct peers: groups of SOURCES_WAYS entries, 4 entries for each
 * connection the listener may serve (cap). A new source takes a free entry
 * of its group, or the least recently seen entry of the group with no
 * connection open (whose rate history is then forgotten). Entries with a
 * connection open are never more than cap, a quarter of the table, so a
 * group is full of them only by extreme chance (the hash is keyed with a
 * random seed, so a client cannot aim at one group); such a connection is
 * then served without being counted, rather than refused.
 */
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "plugsrv.h"

#define SOURCES_WAYS    16 /* entries of a group, scanned on each lookup */
#define SOURCES_PER_CAP 4  /* entries per connection the listener serves */

struct source {
    struct acl_addr key; /* family 0: a free entry */
    unsigned open;       /* connections open from it */
    long long tat;       /* the bucket, as GCRA's theoretical arrival time
                            (microseconds) */
    long long seen;      /* clock_ms() it last connected */
};

struct sources {
    size_t bytes;   /* of the mapping, this header included */
    size_t ngroups; /* a power of two */
    uint64_t seed;
    struct source entries[];
};

/*
 * The table is the parent's alone: mapped apart and kept out of its
 * children (MADV_DONTFORK), so that writing it never copies a page a
 * child still shares (children.c measures what that costs).
 */
struct sources *
sources_new(size_t cap)
{
    size_t ngroups = 1, bytes;
    struct sources *t;

    while (ngroups * SOURCES_WAYS < cap * SOURCES_PER_CAP)
        ngroups *= 2;
    bytes = sizeof(*t) + ngroups * SOURCES_WAYS * sizeof(struct source);
    if ((t = lean_parent_alloc(bytes)) == NULL)
        return NULL;
    t->bytes = bytes;
    t->ngroups = ngroups;
    if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
        (ssize_t)sizeof(t->seed))
        t->seed = (uint64_t)clock_ms() * 0x9e3779b97f4a7c15ULL;
    return t;
}

void
sources_free(struct sources *t)
{
    lean_parent_free(t);
}

size_t
sources_bytes(const struct sources *t)
{
    return t != NULL ? t->bytes : 0;
}

static uint64_t
sources_hash(const struct sources *t, const struct acl_addr *k)
{
    uint64_t a, b, h = t->seed ^ ((uint64_t)k->family << 8 | k->bits);

    memcpy(&a, k->b, sizeof(a));
    memcpy(&b, k->b + 8, sizeof(b));
    h = (h ^ a) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h = (h ^ b) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

struct source *
sources_get(struct sources *t, const struct acl_addr *key, long long now_ms)
{
    struct source *g, *slot = NULL, *idle = NULL;
    size_t i;

    g = &t->entries[(sources_hash(t, key) & (t->ngroups - 1)) * SOURCES_WAYS];
    for (i = 0; i < SOURCES_WAYS; i++) {
        if (g[i].key.family == 0) {
            if (slot == NULL)
                slot = &g[i];
        } else if (memcmp(&g[i].key, key, sizeof(*key)) == 0) {
            g[i].seen = now_ms;
            return &g[i];
        } else if (g[i].open == 0 && (idle == NULL || g[i].seen < idle->seen))
            idle = &g[i];
    }
    if (slot == NULL && (slot = idle) == NULL)
        return NULL;
    memset(slot, 0, sizeof(*slot));
    slot->key = *key;
    slot->seen = now_ms;
    return slot;
}

unsigned
sources_open(const struct source *e)
{
    return e->open;
}

void
sources_hold(struct source *e)
{
    e->open++;
}

/* NULL-safe: a connection that was never counted. */
void
sources_release(struct source *e)
{
    if (e != NULL && e->open > 0)
        e->open--;
}

/* GCRA: one connection every 1/rate s, and burst of them at once. */
int
sources_take(struct source *e, int rate, int burst, long long now_ms)
{
    long long step = 1000000LL / rate, now = now_ms * 1000LL;
    long long tat = e->tat > now ? e->tat : now;

    if (tat - now > (long long)(burst - 1) * step)
        return -1;
    e->tat = tat + step;
    return 0;
}

/* A reload's new table takes the old one's rate history (open counts are
 * made again from the children). Bounded by the old table's size. */
void
sources_carry(struct sources *to, const struct sources *from)
{
    const struct source *o;
    struct source *e;
    size_t i, n = from->ngroups * SOURCES_WAYS;

    for (i = 0; i < n; i++) {
        o = &from->entries[i];
        if (o->key.family == 0 || o->tat == 0)
            continue;
        if ((e = sources_get(to, &o->key, o->seen)) != NULL)
            e->tat = o->tat;
    }
}
