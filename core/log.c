/*
 * log.c - one line per event on stderr, as key=value pairs after a time
 * stamp and the process id, so that the log can be grepped and parsed.
 * Each line goes out in a single write() so that lines from the parent and
 * its children never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

static const char *log_name = "plugsrv";
static long log_pid;

void
log_init(const char *name)
{
    log_name = name;
    log_pid = (long)getpid();
}

/* In a new process: its own pid from now on (asked once, not per line). */
void
log_forked(void)
{
    log_pid = (long)getpid();
}

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

    gettimeofday(&tv, NULL);
    if (tv.tv_sec != date_sec) {
        gmtime_r(&tv.tv_sec, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        date_sec = tv.tv_sec;
    }
    return (size_t)snprintf(buf, len, "%s.%03ldZ %s[%ld]: ", date,
                            (long)(tv.tv_usec / 1000), log_name, log_pid);
}

/* Writes one line; errstr, when not NULL, is added as err="...". */
static void
log_vline(const char *fmt, va_list ap, const char *errstr)
{
    char line[2048];
    size_t n, cap = sizeof(line) - 1;
    int saved = errno;

    n = log_stamp(line, cap);
    n += (size_t)vsnprintf(line + n, cap - n, fmt, ap);
    if (n < cap && errstr != NULL)
        n += (size_t)snprintf(line + n, cap - n, " err=\"%s\"", errstr);
    if (n > cap)
        n = cap;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to say it. */
    }
    errno = saved;
}

void
log_event(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vline(fmt, ap, NULL);
    va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
    va_list ap;
    const char *e = strerror(errno);

    va_start(ap, fmt);
    log_vline(fmt, ap, e);
    va_end(ap);
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
