/*
 * log.c - one line per event, as key=value pairs after a time stamp and
 * the process id, so that the log can be grepped and parsed. Every value
 * that comes from a module, a client or a config goes through log_value(),
 * so that no text can forge a line or a key. Where the lines go, and how
 * the parent avoids blocking on them, is logbuf.c's business.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

static const char *log_name = "plugsrv";
static long log_pid;

/* The parent's log: set up once; lines left waiting are tried once more,
 * without blocking, at exit. */
void
log_init(const char *name)
{
    log_name = name;
    log_pid = (long)getpid();
    logbuf_setup();
    atexit(log_flush);
}

/* In a new process: its own pid from now on (asked at its first line,
 * not per line, nor on a connection's path when it logs nothing), and
 * each line written at once, none of the parent's. */
void
log_forked(void)
{
    log_pid = 0;
    logbuf_forked();
}

/* ---- values ---- */

static int
log_plain(unsigned char c)
{
    return c > ' ' && c != '"' && c != '=' && c != '\\' && c != 0x7f;
}

/* One byte as written inside quotes (or, with quote 0, in a message on
 * stderr: control bytes only) into esc; its length. */
static size_t
log_escape_byte(unsigned char c, int quote, char *esc)
{
    static const char hex[] = "0123456789abcdef";

    esc[0] = '\\';
    switch (c) {
    case '\n':
        esc[1] = 'n';
        return 2;
    case '\r':
        esc[1] = 'r';
        return 2;
    case '\t':
        esc[1] = 't';
        return 2;
    case '"':
    case '\\':
        if (!quote)
            break;
        esc[1] = (char)c;
        return 2;
    default:
        if (c >= 0x20 && c != 0x7f)
            break;
        esc[1] = 'x';
        esc[2] = hex[c >> 4];
        esc[3] = hex[c & 0xf];
        return 4;
    }
    esc[0] = (char)c;
    return 1;
}

/* text[0..n) escaped into buf, in quotes if asked; cut at a whole escape
 * so that the result is always well formed. */
static void
log_escape(char *buf, size_t len, const char *text, size_t n, int quote)
{
    size_t i, k, o = 0, end;
    char esc[4];

    if (len < 3) {
        if (len > 0)
            buf[0] = '\0';
        return;
    }
    end = len - 1 - (quote ? 1 : 0); /* room for the closing quote, NUL */
    if (quote)
        buf[o++] = '"';
    for (i = 0; i < n; i++) {
        k = log_escape_byte((unsigned char)text[i], quote, esc);
        if (o + k > end)
            break;
        memcpy(buf + o, esc, k);
        o += k;
    }
    if (quote)
        buf[o++] = '"';
    buf[o] = '\0';
}

const char *
log_nvalue(char *buf, size_t len, const char *text, size_t max)
{
    size_t i, n;
    int quote;

    if (text == NULL)
        text = "";
    n = max == (size_t)-1 ? strlen(text) : strnlen(text, max);
    for (i = 0; i < n && log_plain((unsigned char)text[i]); i++)
        ;
    quote = n == 0 || i < n;
    log_escape(buf, len, text, n, quote);
    return buf;
}

const char *
log_value(char *buf, size_t len, const char *text)
{
    return log_nvalue(buf, len, text, SIZE_MAX);
}

/* ---- lines ---- */

/* The date is formatted once a second, not once a line: the parent logs
 * twice per connection, and gmtime_r() writes libc's memory, which after a
 * fork costs a page copy. */
static size_t
log_stamp(char *buf, size_t len)
{
    static char date[32];
    static time_t date_sec = -1;
    struct timeval tv;
    struct tm tm;

    if (log_pid == 0)
        log_pid = (long)getpid();
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != date_sec) {
        gmtime_r(&tv.tv_sec, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        date_sec = tv.tv_sec;
    }
    return (size_t)snprintf(buf, len, "%s.%03ldZ %s[%ld]: ", date,
                            (long)(tv.tv_usec / 1000), log_name, log_pid);
}

/* err="..." at line + n (not in log_format's frame: LOG_VALUE_MAX more
 * bytes of stack for every line). */
static __attribute__((noinline)) size_t
log_format_err(char *line, size_t n, size_t cap, const char *errstr)
{
    char v[LOG_VALUE_MAX];

    return n + (size_t)snprintf(line + n, cap - n, " err=%s",
                                log_value(v, sizeof(v), errstr));
}

/* Formats one line, the journal's priority prefix first if stderr is the
 * journal; errstr, when not NULL, is added as err="...". */
static size_t
log_format(char *line, size_t len, int prio, const char *fmt, va_list ap,
           const char *errstr)
{
    size_t n = 0, cap = len - 1;
    int r;

    if (logbuf_journal())
        n = (size_t)snprintf(line, cap, "<%d>", prio);
    n += log_stamp(line + n, cap - n);
    if (n < cap && (r = vsnprintf(line + n, cap - n, fmt, ap)) > 0)
        n += (size_t)r;
    if (n < cap && errstr != NULL)
        n = log_format_err(line, n, cap, errstr);
    if (n > cap - 1)
        n = cap - 1;
    line[n++] = '\n';
    return n;
}

/* Lines lost to a full log are counted, and the count is said as soon as
 * there is room again. */
static int
log_dropped(void)
{
    char line[128];
    size_t n, dropped = logbuf_take_dropped();

    if (dropped == 0)
        return 0;
    n = (size_t)snprintf(line, sizeof(line), "%s",
                         logbuf_journal() ? "<4>" : "");
    n += log_stamp(line + n, sizeof(line) - n);
    n += (size_t)snprintf(line + n, sizeof(line) - n,
                          "log-dropped lines=%zu\n", dropped);
    logbuf_put(line, n < sizeof(line) ? n : sizeof(line) - 1);
    return 1;
}

/* A connection's process formats on its stack: it has no log buffer. */
static __attribute__((noinline)) void
log_vline_stack(int prio, const char *fmt, va_list ap, const char *errstr)
{
    char line[LOG_LINE_MAX];
    size_t n;

    n = log_format(line, sizeof(line), prio, fmt, ap, errstr);
    log_dropped();
    logbuf_put(line, n);
}

static void
log_vline(int prio, const char *fmt, va_list ap, const char *errstr)
{
    char *line = logbuf_scratch(); /* the parent's, out of its children */
    size_t n;
    int saved = errno;

    if (line == NULL) {
        log_vline_stack(prio, fmt, ap, errstr);
    } else {
        n = log_format(line, LOG_LINE_MAX, prio, fmt, ap, errstr);
        log_dropped();
        logbuf_put(line, n);
    }
    /* Put back only if changed: a write to errno's page is a copy while
     * a child shares it (lean.c). */
    if (errno != saved)
        errno = saved;
}

/* An event's priority, for the journal, from its first word. */
static int
log_prio_of(const char *fmt)
{
    if (strncmp(fmt, "error ", 6) == 0)
        return LOG_PRIO_ERR;
    if (strncmp(fmt, "warning ", 8) == 0 || strncmp(fmt, "refuse ", 7) == 0)
        return LOG_PRIO_WARNING;
    return LOG_PRIO_INFO;
}

void
log_event(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vline(log_prio_of(fmt), fmt, ap, NULL);
    va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;
    const char *e = strerror(errno);

    va_start(ap, fmt);
    log_vline(log_prio_of(fmt), fmt, ap, e);
    va_end(ap);
}

void
log_prio(int prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vline(prio, fmt, ap, NULL);
    va_end(ap);
}

/* One write, straight to the starter's stderr: this is for a message on
 * the way out, before any serving, when nothing else is waiting. */
void
log_stderr(const char *msg)
{
    char line[LOG_LINE_MAX];
    size_t n;
    int journal, fd = logbuf_stderr_fd(&journal);

    n = (size_t)snprintf(line, sizeof(line), "%s%s: ", journal ? "<3>" : "",
                         log_name);
    log_escape(line + n, sizeof(line) - n - 1, msg, strlen(msg), 0);
    n += strlen(line + n);
    line[n++] = '\n';
    if (write(fd, line, n) < 0) {
        /* Nowhere left to say it. */
    }
}

const char *
log_signame(int sig)
{
    static char buf[32];
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev != NULL)
        snprintf(buf, sizeof(buf), "SIG%s", abbrev);
    else
        snprintf(buf, sizeof(buf), "SIG%d", sig);
    return buf;
}

/* ---- the parent's hooks ---- */

void
log_flush(void)
{
    logbuf_flush();
    if (log_dropped())
        logbuf_flush();
}

int
log_pending_fd(void)
{
    return logbuf_pending_fd();
}

int
log_file_prepare(const struct config *conf, char *err, size_t errlen)
{
    if (logbuf_file_prepare(conf->log_file) == 0)
        return 0;
    snprintf(err, errlen, "%s: log.file: %s: %s", conf->path, conf->log_file,
             strerror(errno));
    return -1;
}

void
log_file_commit(int take)
{
    logbuf_file_commit(take);
}

void
log_reopen(void)
{
    char v[LOG_VALUE_MAX];
    const char *path = logbuf_path();
    int rc = logbuf_reopen();

    if (rc == 1)
        log_event("log-reopen file=-");
    else if (rc == 0)
        log_event("log-reopen file=%s", log_value(v, sizeof(v), path));
    else
        log_warn("error what=log-reopen file=%s",
                 log_value(v, sizeof(v), path));
}
