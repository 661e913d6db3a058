/*
 * test_frame.c - the line framer: lines split across reads, CRLF, binary
 * bytes, the last line at EOF, and max_line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plugsrv.h"

struct lines {
    char out[8192];
    size_t len;
    int count;
    int stop_after; /* return 1 from the callback at this line; 0: never */
};

static int
collect(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;

    assert_true(l->len + len + 1 <= sizeof(l->out));
    memcpy(l->out + l->len, line, len);
    l->len += len;
    l->out[l->len++] = '|'; /* marks where each line ended */
    l->count++;
    return l->stop_after && l->count == l->stop_after;
}

/* Feeds text in chunks of size step, then finishes. */
static int
feed(struct frame *f, struct lines *l, const char *text, size_t len,
     size_t step)
{
    size_t off, n;
    int rc;

    for (off = 0; off < len; off += n) {
        n = len - off < step ? len - off : step;
        if ((rc = frame_feed(f, text + off, n, collect, l)) != 0)
            return rc;
    }
    return frame_finish(f, collect, l);
}

static void
test_every_chunking(void **state)
{
    static const char in[] = "one\ntwo\r\n\nthree\0x\nlast";
    static const char want[] = "one\n|two\r\n|\n|three\0x\n|last|";
    size_t step;

    (void)state;
    for (step = 1; step <= sizeof(in); step++) {
        struct lines l = { .len = 0 };
        struct frame f;

        frame_init(&f, 64);
        assert_int_equal(feed(&f, &l, in, sizeof(in) - 1, step), FRAME_OK);
        assert_int_equal(l.len, sizeof(want) - 1);
        assert_memory_equal(l.out, want, sizeof(want) - 1);
        assert_int_equal(l.count, 5);
        frame_free(&f);
    }
}

static void
test_crlf_split_across_reads(void **state)
{
    struct lines l = { .len = 0 };
    struct frame f;

    (void)state;
    frame_init(&f, 64);
    assert_int_equal(frame_feed(&f, "ab\r", 3, collect, &l), FRAME_OK);
    assert_int_equal(l.count, 0);
    assert_int_equal(frame_feed(&f, "\n", 1, collect, &l), FRAME_OK);
    assert_int_equal(l.count, 1);
    assert_memory_equal(l.out, "ab\r\n|", 5);
    frame_free(&f);
}

static void
test_max_line_is_inclusive(void **state)
{
    struct lines l = { .len = 0 };
    struct frame f;

    (void)state;
    frame_init(&f, 4);
    assert_int_equal(frame_feed(&f, "abc\n", 4, collect, &l), FRAME_OK);
    assert_int_equal(frame_feed(&f, "abcd\n", 5, collect, &l), FRAME_TOOLONG);
    frame_free(&f);

    /* The same when the long line comes byte by byte: never buffered. */
    frame_init(&f, 4);
    assert_int_equal(feed(&f, &l, "abcde", 5, 1), FRAME_TOOLONG);
    assert_true(f.cap <= 4);
    frame_free(&f);
}

static void
test_unfinished_line_at_max_is_delivered_at_eof(void **state)
{
    struct lines l = { .len = 0 };
    struct frame f;

    (void)state;
    frame_init(&f, 4);
    assert_int_equal(feed(&f, &l, "abcd", 4, 2), FRAME_OK);
    assert_int_equal(l.count, 1);
    assert_memory_equal(l.out, "abcd|", 5);
    frame_free(&f);
}

static void
test_callback_stops_the_feed(void **state)
{
    struct lines l = { .stop_after = 2 };
    struct frame f;

    (void)state;
    frame_init(&f, 64);
    assert_int_equal(frame_feed(&f, "a\nquit\nb\nc\n", 11, collect, &l), 1);
    assert_int_equal(l.count, 2);
    frame_free(&f);
}

static void
test_empty_input_delivers_nothing(void **state)
{
    struct lines l = { .len = 0 };
    struct frame f;

    (void)state;
    frame_init(&f, 64);
    assert_int_equal(frame_finish(&f, collect, &l), FRAME_OK);
    assert_int_equal(l.count, 0);
    frame_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_chunking),
        cmocka_unit_test(test_crlf_split_across_reads),
        cmocka_unit_test(test_max_line_is_inclusive),
        cmocka_unit_test(test_unfinished_line_at_max_is_delivered_at_eof),
        cmocka_unit_test(test_callback_stops_the_feed),
        cmocka_unit_test(test_empty_input_delivers_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
