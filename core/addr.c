/*
 * addr.c - socket addresses to and from text. Peers are written the way
 * the log and handlers show them: "127.0.0.1:50112" or "[::1]:50112".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "plugsrv.h"

/* v in decimal, NUL-terminated, ending just before end; where it starts. */
static char *
addr_decimal(char *end, unsigned v)
{
    *--end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

/* IPv4 by hand, not inet_ntop(): that is sprintf() inside, and a prefork
 * spare formats its own peer, eight pages of libc to fault in for one
 * line of text (lean.c; bench/README.md, round 4). IPv6 keeps inet_ntop(), for its compression. */
static void
addr_host(const struct sockaddr *sa, char *host, size_t len)
{
    const unsigned char *b;
    char num[4];
    size_t n = 0;
    int i;

    if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                  host, (socklen_t)len);
        return;
    }
    b = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
    for (i = 0; i < 4; i++) {
        if (i > 0)
            host[n++] = '.';
        n += lean_copy(host + n, len - n,
                       addr_decimal(num + sizeof(num), b[i]));
    }
}

void
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN], port[8];
    int v6 = sa->sa_family == AF_INET6;
    size_t n = 0;

    if (len == 0)
        return;
    if (sa->sa_family != AF_INET && !v6) {
        lean_copy(buf, len, "unknown");
        return;
    }
    addr_host(sa, host, sizeof(host));
    n += lean_copy(buf + n, len - n, v6 ? "[" : "");
    n += lean_copy(buf + n, len - n, host);
    n += lean_copy(buf + n, len - n, v6 ? "]:" : ":");
    lean_copy(
        buf + n, len - n,
        addr_decimal(port + sizeof(port),
                     ntohs(v6 ? ((const struct sockaddr_in6 *)sa)->sin6_port
                              : ((const struct sockaddr_in *)sa)->sin_port)));
}

int
addr_parse(const char *text, int port, struct sockaddr_storage *ss,
           socklen_t *sslen)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*in);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*in6);
        return 0;
    }
    return -1;
}

/* ::ffff:a.b.c.d: an IPv4 address written as IPv6. */
int
addr_v4mapped(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

    return ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
}

static int
addr_wildcard(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

    if (ss->ss_family == AF_INET)
        return in->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
}

static int
addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Two socket addresses that cannot both be bound: the same one, or one
 * the wildcard of the other's family on the same port. */
int
addr_overlap(const struct sockaddr_storage *a,
             const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family || addr_port(a) != addr_port(b))
        return 0;
    if (addr_wildcard(a) || addr_wildcard(b))
        return 1;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr,
                  sizeof(struct in6_addr)) == 0;
}
