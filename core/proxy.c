/*
 * proxy.c - the HAProxy PROXY protocol header (text v1 and binary v2), as
 * a pure function: bytes in, the addresses it carries, "more bytes needed"
 * or "bad" out. No I/O and no state, so that it can be fuzzed and so that
 * the process reading a header decides alone how many bytes to consume.
 * The spec is haproxy's doc/proxy-protocol.txt.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "plugsrv.h"

#define V1_MAX     107 /* the longest v1 line, CRLF included */
#define V2_HEAD    16  /* signature, version and command, family, length */
#define V2_CMD_LOC 0x20
#define V2_CMD_PRX 0x21
#define V2_TCP4    0x11
#define V2_TCP6    0x21
#define V2_ADDR4   12 /* two IPv4 addresses, two ports */
#define V2_ADDR6   36
#define V2_TLV     3 /* a TLV's type and length */

static const unsigned char proxy_v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a,
                                                0x00, 0x0d, 0x0a, 0x51,
                                                0x55, 0x49, 0x54, 0x0a };
static const char proxy_v1_sig[] = "PROXY ";

/* Is buf (len bytes) a prefix of sig, or sig a prefix of buf? */
static int
proxy_starts(const unsigned char *buf, size_t len, const void *sig,
             size_t siglen)
{
    return memcmp(buf, sig, len < siglen ? len : siglen) == 0;
}

/* ---- v1: "PROXY TCP4 1.2.3.4 5.6.7.8 1000 2000\r\n" ---- */

/* The next space-separated word of line[*pos..end) into word; -1 if it
 * is empty or longer than cap - 1. */
static int
proxy_v1_word(const char *line, size_t end, size_t *pos, char *word,
              size_t cap)
{
    size_t start = *pos, n;

    while (*pos < end && line[*pos] != ' ')
        (*pos)++;
    n = *pos - start;
    if (n == 0 || n >= cap)
        return -1;
    memcpy(word, line + start, n);
    word[n] = '\0';
    if (*pos < end)
        (*pos)++; /* the space */
    return 0;
}

/* A port: 1 to 5 decimal digits, at most 65535. */
static int
proxy_v1_port(const char *s, in_port_t *port)
{
    unsigned long v = 0;
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5)
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || v > 65535)
        return -1;
    *port = htons((in_port_t)v);
    return 0;
}

/* One address and port of the family into ss. */
static int
proxy_v1_addr(int family, const char *host, const char *port,
              struct sockaddr_storage *ss)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        in->sin_family = AF_INET;
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return -1;
        return proxy_v1_port(port, &in->sin_port);
    }
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
        return -1;
    return proxy_v1_port(port, &in6->sin6_port);
}

/* The words after "PROXY " up to the CR at end. */
static enum proxy_status
proxy_v1_fields(const char *line, size_t end, struct proxy_hdr *out)
{
    char proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    char sport[8], dport[8];
    size_t pos = sizeof(proxy_v1_sig) - 1;
    int family;

    if (proxy_v1_word(line, end, &pos, proto, sizeof(proto)) == -1)
        return PROXY_BAD;
    if (strcmp(proto, "UNKNOWN") == 0) {
        out->local = 1; /* whatever follows is to be ignored */
        return PROXY_DONE;
    }
    if (strcmp(proto, "TCP4") == 0)
        family = AF_INET;
    else if (strcmp(proto, "TCP6") == 0)
        family = AF_INET6;
    else
        return PROXY_BAD;
    if (proxy_v1_word(line, end, &pos, src, sizeof(src)) == -1 ||
        proxy_v1_word(line, end, &pos, dst, sizeof(dst)) == -1 ||
        proxy_v1_word(line, end, &pos, sport, sizeof(sport)) == -1 ||
        proxy_v1_word(line, end, &pos, dport, sizeof(dport)) == -1 ||
        pos != end || line[end - 1] == ' ')
        return PROXY_BAD;
    if (proxy_v1_addr(family, src, sport, &out->src) == -1 ||
        proxy_v1_addr(family, dst, dport, &out->dst) == -1)
        return PROXY_BAD;
    return PROXY_DONE;
}

static enum proxy_status
proxy_v1(const unsigned char *buf, size_t len, struct proxy_hdr *out)
{
    const unsigned char *lf;
    size_t scan = len < V1_MAX ? len : V1_MAX;

    if (!proxy_starts(buf, len, proxy_v1_sig, sizeof(proxy_v1_sig) - 1))
        return PROXY_BAD;
    if ((lf = memchr(buf, '\n', scan)) == NULL)
        return len >= V1_MAX ? PROXY_BAD : PROXY_MORE;
    out->len = (size_t)(lf - buf) + 1;
    if (out->len < sizeof(proxy_v1_sig) + 2 || lf[-1] != '\r' ||
        memchr(buf, '\r', out->len - 2) != NULL ||
        memchr(buf, '\0', out->len) != NULL)
        return PROXY_BAD;
    return proxy_v1_fields((const char *)buf, out->len - 2, out);
}

/* ---- v2: a binary header, then addresses, then TLVs ---- */

/* The TLVs must tile what is left of the header exactly. */
static int
proxy_v2_tlvs(const unsigned char *p, size_t len)
{
    size_t n;

    while (len > 0) {
        if (len < V2_TLV)
            return -1;
        n = V2_TLV + ((size_t)p[1] << 8 | p[2]);
        if (n > len)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

/* The address block of a TCP over IPv4 or IPv6 header; the number of
 * bytes it took, or 0 if len is too short for it. */
static size_t
proxy_v2_addrs(unsigned char fam, const unsigned char *p, size_t len,
               struct proxy_hdr *out)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->src;
    struct sockaddr_in *d4 = (struct sockaddr_in *)&out->dst;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->src;
    struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&out->dst;

    memset(&out->src, 0, sizeof(out->src));
    memset(&out->dst, 0, sizeof(out->dst));
    if (fam == V2_TCP4) {
        if (len < V2_ADDR4)
            return 0;
        s4->sin_family = d4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, p, 4);
        memcpy(&d4->sin_addr, p + 4, 4);
        memcpy(&s4->sin_port, p + 8, 2);
        memcpy(&d4->sin_port, p + 10, 2);
        return V2_ADDR4;
    }
    if (len < V2_ADDR6)
        return 0;
    s6->sin6_family = d6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, p, 16);
    memcpy(&d6->sin6_addr, p + 16, 16);
    memcpy(&s6->sin6_port, p + 32, 2);
    memcpy(&d6->sin6_port, p + 34, 2);
    return V2_ADDR6;
}

static enum proxy_status
proxy_v2(const unsigned char *buf, size_t len, struct proxy_hdr *out)
{
    size_t body, used = 0;

    if (!proxy_starts(buf, len, proxy_v2_sig, sizeof(proxy_v2_sig)))
        return PROXY_BAD;
    if (len > 12 && buf[12] != V2_CMD_LOC && buf[12] != V2_CMD_PRX)
        return PROXY_BAD; /* version 2, LOCAL or PROXY: nothing else */
    if (len < V2_HEAD)
        return PROXY_MORE;
    body = (size_t)buf[14] << 8 | buf[15];
    if (len < V2_HEAD + body)
        return PROXY_MORE;
    out->len = V2_HEAD + body;
    /* LOCAL (health checks), and families other than TCP over IPv4 or
     * IPv6 (UNSPEC, UNIX, UDP): the spec says to use the connection's
     * own addresses and skip the block. */
    if (buf[12] == V2_CMD_LOC || (buf[13] != V2_TCP4 && buf[13] != V2_TCP6)) {
        out->local = 1;
        return PROXY_DONE;
    }
    if ((used = proxy_v2_addrs(buf[13], buf + V2_HEAD, body, out)) == 0)
        return PROXY_BAD;
    if (proxy_v2_tlvs(buf + V2_HEAD + used, body - used) == -1)
        return PROXY_BAD;
    return PROXY_DONE;
}

enum proxy_status
proxy_parse(const unsigned char *buf, size_t len, int versions,
            struct proxy_hdr *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return PROXY_MORE;
    if ((versions & PROXY_V2) && buf[0] == proxy_v2_sig[0])
        return proxy_v2(buf, len, out);
    if ((versions & PROXY_V1) && buf[0] == (unsigned char)proxy_v1_sig[0])
        return proxy_v1(buf, len, out);
    return PROXY_BAD;
}
