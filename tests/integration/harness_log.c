/*
 * harness_log.c - reading the daemon's log (dir/plugsrv.log): counting the
 * lines that hold some strings, waiting for them (inotify, not sleeps),
 * taking the last one or a key's value, showing the log.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define HS_MAX_STRINGS 8

static int
hs_line_has_all(const char *line, size_t len, const char *const *subs,
                int nsubs)
{
    char buf[4096];
    int i;

    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    for (i = 0; i < nsubs; i++)
        if (strstr(buf, subs[i]) == NULL)
            return 0;
    return 1;
}

/* Counts the matching lines; the last one into last (if not NULL). */
static int
hs_log_scan(struct hs *h, const char *const *subs, int nsubs, char *last,
            size_t lastlen)
{
    char *text = hs_slurp(h->log), *p, *nl;
    int count = 0;

    if (text == NULL)
        return 0;
    for (p = text; *p != '\0'; p = nl + 1) {
        size_t len;

        nl = strchr(p, '\n');
        if (nl == NULL)
            break; /* a line still being written does not count yet */
        len = (size_t)(nl - p);
        if (hs_line_has_all(p, len, subs, nsubs)) {
            count++;
            if (last != NULL && lastlen > 0) {
                if (len >= lastlen)
                    len = lastlen - 1;
                memcpy(last, p, len);
                last[len] = '\0';
            }
        }
    }
    free(text);
    return count;
}

static int
hs_collect(va_list ap, const char **subs)
{
    const char *s;
    int n = 0;

    while ((s = va_arg(ap, const char *)) != NULL && n < HS_MAX_STRINGS)
        subs[n++] = s;
    return n;
}

int
hs_log_count(struct hs *h, ...)
{
    const char *subs[HS_MAX_STRINGS];
    va_list ap;
    int n;

    va_start(ap, h);
    n = hs_collect(ap, subs);
    va_end(ap);
    return hs_log_scan(h, subs, n, NULL, 0);
}

int
hs_log_last(struct hs *h, char *buf, size_t len, ...)
{
    const char *subs[HS_MAX_STRINGS];
    va_list ap;
    int n;

    va_start(ap, len);
    n = hs_collect(ap, subs);
    va_end(ap);
    buf[0] = '\0';
    return hs_log_scan(h, subs, n, buf, len) > 0 ? 0 : -1;
}

int
hs_wait_log(struct hs *h, int min, int timeout_ms, ...)
{
    const char *subs[HS_MAX_STRINGS];
    long long deadline = hs_now_ms() + timeout_ms;
    int n, ifd, i, rc = -1;
    va_list ap;

    va_start(ap, timeout_ms);
    n = hs_collect(ap, subs);
    va_end(ap);
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd >= 0)
        inotify_add_watch(ifd, h->log, IN_MODIFY | IN_CLOSE_WRITE);
    for (i = 0; i < 100000; i++) {
        struct pollfd pfd[2] = { { .fd = ifd, .events = POLLIN },
                                 { .fd = h->pidfd, .events = POLLIN } };
        char ev[4096];
        int left, alive = hs_alive(h);

        if (hs_log_scan(h, subs, n, NULL, 0) >= min) {
            rc = 0;
            break;
        }
        left = hs_left(deadline);
        if (!alive || left == 0)
            break;
        /* Woken by the log growing or the daemon ending; the 100 ms cap
         * only guards against a missed inotify event. */
        poll(pfd, h->pidfd >= 0 ? 2 : 1, left < 100 ? left : 100);
        if (ifd >= 0)
            while (read(ifd, ev, sizeof(ev)) > 0)
                ;
    }
    if (ifd >= 0)
        close(ifd);
    return rc;
}

void
hs_log_value(const char *line, const char *key, char *buf, size_t len)
{
    char pat[64];
    const char *p = line;
    size_t n = 0;

    buf[0] = '\0';
    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(line, pat);
    if (p == NULL || len == 0)
        return;
    p += strlen(pat);
    if (*p == '"') {
        p++;
        while (p[n] != '\0' && p[n] != '"' && n < len - 1)
            n++;
    } else {
        while (p[n] != '\0' && p[n] != ' ' && n < len - 1)
            n++;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
}

void
hs_dump_log(struct hs *h)
{
    char *text = hs_slurp(h->log);

    fprintf(stderr, "--- plugsrv log (%s):\n%s--- end of log\n", h->log,
            text ? text : "");
    free(text);
}

/* Lines whose event (the text after the first "]: ") begins with ev. */
int
hs_event_count(const char *text, const char *ev)
{
    const char *p, *nl, *e;
    int n = 0;

    for (p = text; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        e = strstr(p, "]: ");
        if (e != NULL && (nl == NULL || e < nl) &&
            strncmp(e + 3, ev, strlen(ev)) == 0)
            n++;
    }
    return n;
}
