/*
 * fuzz_proxy.c - libFuzzer target for the PROXY header parser
 * (core/proxy.c). The first byte chooses the versions allowed; the rest is
 * what a balancer (or anyone) sent. The parser must never read past what
 * it was given (each call gets an exactly sized copy, for ASan), and must
 * agree with itself as the bytes arrive: a header is whole at one length
 * only, every shorter prefix wants more, and once refused, more bytes
 * never make it good.
 */
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum proxy_status
fuzz_parse(const uint8_t *data, size_t len, int versions, struct proxy_hdr *h)
{
    unsigned char *copy = malloc(len ? len : 1);
    enum proxy_status st;

    assert(copy != NULL);
    memcpy(copy, data, len);
    st = proxy_parse(copy, len, versions, h);
    free(copy);
    return st;
}

static void
fuzz_check_done(const struct proxy_hdr *h, size_t size)
{
    assert(h->len > 0 && h->len <= size);
    if (h->local)
        return;
    assert(h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6);
    assert(h->dst.ss_family == h->src.ss_family);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxy_hdr h, p;
    enum proxy_status st, pst;
    int versions;
    size_t i, step;

    if (size < 1)
        return 0;
    versions = 1 + data[0] % 3;
    data++;
    size--;
    st = fuzz_parse(data, size, versions, &h);
    if (st == PROXY_DONE) {
        fuzz_check_done(&h, size);
        /* The header alone is the same header. */
        assert(fuzz_parse(data, h.len, versions, &p) == PROXY_DONE);
        assert(p.len == h.len && p.local == h.local);
        assert(memcmp(&p.src, &h.src, sizeof(p.src)) == 0);
    }
    if (st == PROXY_MORE)
        assert(size < 16 + 65535);
    /* Prefixes, as reads would bring them (every one for short inputs). */
    step = size <= 256 ? 1 : size / 64;
    for (i = 0; i < size; i += step) {
        pst = fuzz_parse(data, i, versions, &p);
        if (st == PROXY_DONE && i < h.len)
            assert(pst == PROXY_MORE);
        if (pst == PROXY_BAD)
            assert(st == PROXY_BAD);
        if (pst == PROXY_DONE)
            assert(st == PROXY_DONE && p.len == h.len);
    }
    return 0;
}
