/*
 * cidr.c - lists of addresses and CIDR blocks ("127.0.0.1", "10.0.0.0/8",
 * "2001:db8::/32"), and whether a peer matches one. An IPv4-mapped IPv6
 * peer (::ffff:a.b.c.d) is matched as the IPv4 address it is.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

static int
cidr_bits(const char *s, int max, int *bits)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return -1;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > max)
        return -1;
    *bits = (int)v;
    return 0;
}

int
cidr_parse(const char *text, struct cidr *out, char *why, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);

    memset(out, 0, sizeof(*out));
    if (n >= sizeof(host)) {
        snprintf(why, len, "not an address or CIDR block");
        return -1;
    }
    memcpy(host, text, n);
    host[n] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
    } else {
        snprintf(why, len, "not an address or CIDR block");
        return -1;
    }
    if (slash != NULL && cidr_bits(slash + 1, out->bits, &out->bits) == -1) {
        snprintf(why, len, "prefix length must be 0 to %d",
                 out->family == AF_INET ? 32 : 128);
        return -1;
    }
    return 0;
}

/* Do the first bits bits of a and b agree? */
static int
cidr_prefix(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    unsigned char mask;

    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* The peer's address bytes and family, IPv4-mapped IPv6 as IPv4. */
static int
cidr_of(const struct sockaddr *sa, const unsigned char **addr)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

    if (sa->sa_family == AF_INET) {
        *addr =
            (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        return AF_INET;
    }
    if (sa->sa_family != AF_INET6)
        return -1;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        *addr = in6->sin6_addr.s6_addr + 12;
        return AF_INET;
    }
    *addr = in6->sin6_addr.s6_addr;
    return AF_INET6;
}

int
cidr_match(const struct cidr_list *l, const struct sockaddr *sa)
{
    const unsigned char *addr;
    int family = cidr_of(sa, &addr);
    size_t i;

    for (i = 0; family != -1 && i < l->count; i++) {
        if (l->items[i].family == family &&
            cidr_prefix(l->items[i].addr, addr, l->items[i].bits))
            return 1;
    }
    return 0;
}
