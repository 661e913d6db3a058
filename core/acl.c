/*
 * acl.c - addresses and CIDR blocks for "allow" and "deny", and matching a
 * peer against them. An IPv4-mapped IPv6 address (::ffff:a.b.c.d), in a
 * rule or from a dual-stack socket, is the IPv4 address it is: otherwise a
 * "deny": ["10.0.0.0/8"] would let ::ffff:10.0.0.1 through.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

static const unsigned char acl_v4mapped[12] = { 0, 0, 0, 0, 0,    0,
                                                0, 0, 0, 0, 0xff, 0xff };

/* An IPv6 address into *out, as IPv4 if it is a mapped one; the bits it
 * adds to a prefix (96 for a mapped one, 0 otherwise). */
static int
acl_set_v6(struct acl_addr *out, const unsigned char *b)
{
    memset(out, 0, sizeof(*out));
    if (memcmp(b, acl_v4mapped, sizeof(acl_v4mapped)) == 0) {
        out->family = AF_INET;
        out->bits = 32;
        memcpy(out->b, b + 12, 4);
        return 96;
    }
    out->family = AF_INET6;
    out->bits = 128;
    memcpy(out->b, b, 16);
    return 0;
}

int
acl_from_sockaddr(const struct sockaddr *sa, struct acl_addr *out)
{
    if (sa->sa_family == AF_INET) {
        memset(out, 0, sizeof(*out));
        out->family = AF_INET;
        out->bits = 32;
        memcpy(out->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        acl_set_v6(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
        return 0;
    }
    return -1;
}

void
acl_cut(struct acl_addr *addr, int bits)
{
    int i;

    for (i = 0; i < 16; i++) {
        if (bits >= 8)
            bits -= 8;
        else {
            addr->b[i] &= (unsigned char)(0xff00 >> bits);
            bits = 0;
        }
    }
}

/* The "/N" of a block: -1 if it is not a number from 0 to max. */
static int
acl_prefix(const char *s, int max)
{
    int n = 0;

    if (*s == '\0' || strlen(s) > 3)
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n <= max ? n : -1;
}

/* A block must name its network: "10.0.0.1/8" is most likely a typo for
 * a host, and matching 10/8 for it would widen a rule silently. */
static int
acl_check_host_bits(const struct acl_addr *a, char *why, size_t whylen)
{
    struct acl_addr cut = *a;

    acl_cut(&cut, a->bits);
    if (memcmp(cut.b, a->b, sizeof(a->b)) == 0)
        return 0;
    snprintf(why, whylen, "has bits set beyond its prefix length");
    return -1;
}

int
acl_parse(const char *text, struct acl_addr *out, char *why, size_t whylen)
{
    char host[INET6_ADDRSTRLEN];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    unsigned char b[16];
    int bits, add, max;

    if (len == 0 || len >= sizeof(host)) {
        snprintf(why, whylen, "is not an IPv4 or IPv6 address or block");
        return -1;
    }
    memcpy(host, text, len);
    host[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, b) == 1) {
        out->family = AF_INET;
        out->bits = 32;
        memcpy(out->b, b, 4);
        add = 0;
        max = 32;
    } else if (inet_pton(AF_INET6, host, b) == 1) {
        add = acl_set_v6(out, b);
        max = 128;
    } else {
        snprintf(why, whylen, "is not an IPv4 or IPv6 address or block");
        return -1;
    }
    if (slash == NULL)
        return 0;
    bits = acl_prefix(slash + 1, max);
    if (bits < 0 || bits < add) {
        snprintf(why, whylen, "prefix length must be %d to %d", add, max);
        return -1;
    }
    out->bits = (unsigned char)(bits - add);
    return acl_check_host_bits(out, why, whylen);
}

/* Does addr fall in the block net? Families never match across: an IPv6
 * rule (even ::/0) says nothing of IPv4 peers. */
static int
acl_in(const struct acl_addr *net, const struct acl_addr *addr)
{
    int full = net->bits / 8, rest = net->bits % 8;

    if (net->family != addr->family)
        return 0;
    if (memcmp(net->b, addr->b, (size_t)full) != 0)
        return 0;
    return rest == 0 ||
           ((net->b[full] ^ addr->b[full]) & (0xff00 >> rest)) == 0;
}

int
acl_match(const struct acl *list, const struct acl_addr *addr)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        if (acl_in(&list->nets[i], addr))
            return 1;
    }
    return 0;
}

int
acl_copy(struct acl *dst, const struct acl *src)
{
    dst->set = src->set;
    dst->n = 0;
    dst->nets = NULL;
    if (src->n == 0)
        return 0;
    if ((dst->nets = calloc(src->n, sizeof(*dst->nets))) == NULL)
        return -1;
    memcpy(dst->nets, src->nets, src->n * sizeof(*dst->nets));
    dst->n = src->n;
    return 0;
}

void
acl_free(struct acl *list)
{
    free(list->nets);
    list->nets = NULL;
    list->n = 0;
    list->set = 0;
}
