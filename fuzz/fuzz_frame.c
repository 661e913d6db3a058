/*
 * fuzz_frame.c - libFuzzer target for the line framer (core/frame.c).
 * The first three bytes choose the line limit, how the rest is cut into
 * reads, and when the callback stops the feed; the lines that come out
 * must be the input again, cut after each '\n', none longer than max.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    const char *input; /* the whole stream */
    size_t size;
    size_t done; /* bytes delivered as lines so far */
    size_t max;
    int finishing; /* inside frame_finish() */
    size_t lines, stop_after;
};

static int
fuzz_line(void *arg, const char *line, size_t len)
{
    struct check *c = arg;

    assert(len >= 1 && len <= c->max);
    assert(c->done + len <= c->size);
    assert(memcmp(line, c->input + c->done, len) == 0);
    assert(memchr(line, '\n', len - 1) == NULL);
    assert(line[len - 1] == '\n' || c->finishing);
    c->done += len;
    c->lines++;
    return c->stop_after && c->lines == c->stop_after ? 7 : 0;
}

/* Is there a line the framer had to refuse? One longer than max, or an
 * unfinished last one that filled max (a framer may refuse it early). */
static int
fuzz_has_long_line(const char *s, size_t size, size_t max)
{
    size_t start = 0, i;

    for (i = 0; i < size; i++) {
        if (s[i] != '\n')
            continue;
        if (i + 1 - start > max)
            return 1;
        start = i + 1;
    }
    return size - start >= max && size - start > 0;
}

/* The next read's size: 1..16, or 1..256, or all that is left. */
static size_t
fuzz_chunk(uint32_t *seed, uint8_t pattern, size_t left)
{
    size_t n;

    *seed = *seed * 1103515245u + 12345u;
    switch (pattern & 3) {
    case 0:
        n = left;
        break;
    case 1:
        n = 1;
        break;
    case 2:
        n = 1 + (*seed >> 16) % 16;
        break;
    default:
        n = 1 + (*seed >> 16) % 256;
        break;
    }
    return n < left ? n : left;
}

/* Feeds the stream in reads of fresh, exactly sized buffers so that ASan
 * sees a framer that reads past what it was given. */
static int
fuzz_feed(struct frame *f, struct check *c, uint8_t pattern)
{
    uint32_t seed = pattern;
    size_t off = 0, n;
    char *chunk;
    int rc = 0;

    while (off < c->size && rc == 0) {
        n = fuzz_chunk(&seed, pattern, c->size - off);
        chunk = malloc(n);
        assert(chunk != NULL);
        memcpy(chunk, c->input + off, n);
        rc = frame_feed(f, chunk, n, fuzz_line, c);
        free(chunk);
        off += n;
        if (rc == 0)
            assert(c->done + f->len == off);
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct check c = { 0 };
    struct frame f;
    int rc;

    if (size < 3)
        return 0;
    c.max = data[0] & 0x80 ? 1 + (size_t)(data[0] & 0x7f) * 37
                           : 1 + (size_t)data[0];
    c.stop_after = data[2] % 8;
    c.input = (const char *)data + 3;
    c.size = size - 3;
    frame_init(&f, c.max);
    rc = fuzz_feed(&f, &c, data[1]);
    if (rc == 0) {
        c.finishing = 1;
        rc = frame_finish(&f, fuzz_line, &c);
    }
    frame_free(&f);
    if (rc == FRAME_STOPPED) {
        assert(c.lines == c.stop_after);
    } else if (rc == FRAME_TOOLONG) {
        assert(fuzz_has_long_line(c.input, c.size, c.max));
    } else {
        assert(rc == FRAME_OK);
        assert(c.done == c.size);
        assert(!fuzz_has_long_line(c.input, c.size, c.max) ||
               (c.size > 0 && c.input[c.size - 1] != '\n'));
    }
    return 0;
}
