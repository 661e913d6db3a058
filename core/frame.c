/*
 * frame.c - cuts a byte stream into lines for line-mode handlers.
 * Lines that arrive whole inside one read are handed over in place; only
 * the unfinished tail of a read is copied, and never more than max bytes,
 * so a client cannot make a line handler buffer without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

void
frame_init(struct frame *f, size_t max)
{
    memset(f, 0, sizeof(*f));
    f->max = max;
}

void
frame_free(struct frame *f)
{
    if (f->buf != NULL) /* free()'s code is one more page to fault in */
        free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
}

static enum frame_status
frame_append(struct frame *f, const char *data, size_t len)
{
    size_t cap;
    char *p;

    if (f->len + len > f->max)
        return FRAME_TOOLONG;
    if (f->len + len > f->cap) {
        cap = f->cap ? f->cap : 256;
        while (cap < f->len + len)
            cap *= 2;
        if (cap > f->max)
            cap = f->max;
        if ((p = realloc(f->buf, cap)) == NULL)
            return FRAME_NOMEM;
        f->buf = p;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, data, len);
    f->len += len;
    return FRAME_OK;
}

/* Finishes the buffered line with data up to and including its '\n'. */
static enum frame_status
frame_complete(struct frame *f, const char *data, size_t len, frame_cb cb,
               void *arg)
{
    enum frame_status rc;
    size_t n;

    if ((rc = frame_append(f, data, len)) != FRAME_OK)
        return rc;
    n = f->len;
    f->len = 0;
    return cb(arg, f->buf, n) ? FRAME_STOPPED : FRAME_OK;
}

enum frame_status
frame_feed(struct frame *f, const char *data, size_t len, frame_cb cb,
           void *arg)
{
    const char *end = data + len, *nl;
    enum frame_status rc;
    size_t n;

    while (data < end) {
        nl = memchr(data, '\n', (size_t)(end - data));
        if (nl == NULL)
            return frame_append(f, data, (size_t)(end - data));
        n = (size_t)(nl - data) + 1;
        if (f->len > 0)
            rc = frame_complete(f, data, n, cb, arg);
        else if (n > f->max)
            rc = FRAME_TOOLONG;
        else
            rc = cb(arg, data, n) ? FRAME_STOPPED : FRAME_OK;
        if (rc != FRAME_OK)
            return rc;
        data += n;
    }
    return FRAME_OK;
}

enum frame_status
frame_finish(struct frame *f, frame_cb cb, void *arg)
{
    size_t n = f->len;

    if (n == 0)
        return FRAME_OK;
    f->len = 0;
    return cb(arg, f->buf, n) ? FRAME_STOPPED : FRAME_OK;
}
