/*
 * logbuf.c - where log lines go. A connection's process writes each line
 * to fd 2 at once: blocked by a full log, it only costs its own connection,
 * and its watchdog ends it. The parent must never block on its log: its
 * lines wait in a bounded buffer and go out whole, through a non-blocking
 * file description of its own, once per loop round; when the reader does
 * not keep up, lines are dropped and counted. Also here: what fd 2 is (the
 * journal wants a priority prefix) and the log file that replaces it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugsrv.h"

#define LOGBUF_SIZE (64 * 1024)

enum logbuf_kind {
    LOGBUF_FILE,   /* a regular file: never waits for a reader */
    LOGBUF_WAIT,   /* no way around blocking (no /proc): write() */
    LOGBUF_NOWAIT, /* pipe, FIFO, tty: our own O_NONBLOCK description */
    LOGBUF_SOCKET  /* the journal's stream: send(MSG_DONTWAIT) */
};

/* What the parent writes to; a child only uses fd 2 and journal. */
static struct {
    int parent; /* buffered: the parent's own lines */
    enum logbuf_kind kind;
    int fd;              /* fd 2, or our own description of it */
    int journal;         /* fd 2 is $JOURNAL_STREAM */
    int starter_journal; /* ... the one plugsrv was started with */
    int starter_fd;      /* a copy of the first fd 2, once replaced */
    char *path;          /* the log file now fd 2, or NULL */
    int next_fd;         /* opened by a reload, not yet taken */
    char *next_path;
    int changing; /* a reload changes log.file */
} lb = { .fd = STDERR_FILENO, .starter_fd = -1, .next_fd = -1 };

/* The parent's waiting lines, LOGBUF_SIZE bytes, then a line's worth of
 * room to format one in, never shared with its children
 * (MADV_WIPEONFORK: a child gets zeros): the parent writes here after
 * every fork, and each write to a page a child still shared was a copy
 * (a 4 KiB line on the stack spread log_event() over three stack pages).
 * Wiped rather than left out (MADV_DONTFORK) so that valgrind, which
 * does not know of either, finds readable zeros in a child, not 17 pages
 * to fault on word by word at its exit. NULL: lines are written at
 * once. */
#define LOGBUF_HEAD 64
#define LOGBUF_MAP  (LOGBUF_HEAD + LOGBUF_SIZE + LOG_LINE_MAX)
static char *logbuf_data;

/* What changes with every line: at the head of the same map, for the same
 * reason (a page of static data the parent wrote per connection was one
 * more copy). Zeros where there is no map, and in a child. */
static struct logbuf_state {
    int blocked;    /* the last write would have blocked */
    size_t len;     /* bytes waiting in logbuf_data */
    size_t dropped; /* lines lost since the last report */
} lb_none, *lbs = &lb_none;
_Static_assert(sizeof(struct logbuf_state) <= LOGBUF_HEAD, "LOGBUF_HEAD");

static int
logbuf_map(void)
{
    void *p;

    if (logbuf_data != NULL)
        return 0;
    p = mmap(NULL, LOGBUF_MAP, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (madvise(p, LOGBUF_MAP, MADV_WIPEONFORK) == -1) {
        munmap(p, LOGBUF_MAP);
        return -1;
    }
    lbs = p;
    logbuf_data = (char *)p + LOGBUF_HEAD;
    return 0;
}

/* systemd sets $JOURNAL_STREAM to the "dev:ino" of the stream it gives as
 * stdout and stderr; a fd 2 redirected since is not the journal. */
static int
logbuf_is_journal(const struct stat *st)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;

    if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    return (unsigned long long)st->st_dev == dev &&
           (unsigned long long)st->st_ino == ino;
}

static void
logbuf_close_own(void)
{
    if (lb.fd != STDERR_FILENO)
        close(lb.fd);
    lb.fd = STDERR_FILENO;
}

/*
 * The parent's way to write fd 2 without blocking. O_NONBLOCK on fd 2
 * itself would change the file description it shares with the shell,
 * terminal or collector that gave it: opening /proc/self/fd/2 makes a new
 * description of the same pipe or tty. A socket takes MSG_DONTWAIT per
 * call; a regular file never waits for a reader.
 */
void
logbuf_setup(void)
{
    struct stat st;
    int fd;

    logbuf_close_own();
    lb.parent = logbuf_map() == 0;
    lb.kind = LOGBUF_WAIT;
    lbs->blocked = 0;
    lb.journal = 0;
    if (fstat(STDERR_FILENO, &st) == -1)
        return;
    lb.journal = logbuf_is_journal(&st);
    if (lb.starter_fd == -1)
        lb.starter_journal = lb.journal;
    if (S_ISREG(st.st_mode)) {
        lb.kind = LOGBUF_FILE;
        return;
    }
    if (S_ISSOCK(st.st_mode)) {
        lb.kind = LOGBUF_SOCKET;
        return;
    }
    fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd != -1) {
        lb.fd = fd;
        lb.kind = LOGBUF_NOWAIT;
    }
}

/* A new process starts with nothing of the parent's: no waiting lines
 * (they are the parent's to write), no descriptions of its own. */
void
logbuf_forked(void)
{
    logbuf_close_own();
    if (lb.starter_fd != -1)
        close(lb.starter_fd);
    if (lb.next_fd != -1)
        close(lb.next_fd);
    lb.starter_fd = lb.next_fd = -1;
    lb.parent = 0;
    lbs = &lb_none; /* the map's are wiped: zeros, but a write would fault */
}

int
logbuf_journal(void)
{
    return lb.journal;
}

static ssize_t
logbuf_write(const char *p, size_t n)
{
    if (lb.kind == LOGBUF_SOCKET)
        return send(lb.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return write(lb.fd, p, n);
}

/* The next piece to write from off: whole lines, at most PIPE_BUF bytes,
 * so that the kernel writes it at once or not at all and no child's line
 * lands inside one of ours. A file takes everything in one write. */
static size_t
logbuf_chunk(size_t off)
{
    size_t n = lbs->len - off;
    const char *nl;

    if (lb.kind == LOGBUF_FILE || n <= PIPE_BUF)
        return n;
    nl = memrchr(logbuf_data + off, '\n', PIPE_BUF);
    return nl != NULL ? (size_t)(nl - logbuf_data - off) + 1 : PIPE_BUF;
}

static size_t
logbuf_lines(const char *p, size_t n)
{
    size_t count = 0;
    const char *end = p + n;

    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}

void
logbuf_flush(void)
{
    size_t off = 0;
    ssize_t w;
    int saved = errno;

    lbs->blocked = 0;
    if (logbuf_data == NULL)
        return;
    while (off < lbs->len) {
        w = logbuf_write(logbuf_data + off, logbuf_chunk(off));
        if (w > 0) {
            off += (size_t)w;
        } else if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            lbs->blocked = 1;
            break;
        } else if (!(w == -1 && errno == EINTR)) {
            /* The reader has gone or the disk is full: lost. */
            lbs->dropped += logbuf_lines(logbuf_data + off, lbs->len - off);
            off = lbs->len;
        }
    }
    memmove(logbuf_data, logbuf_data + off, lbs->len - off);
    lbs->len -= off;
    /* Only if changed: a write to errno's page after a fork is a
     * copy-on-write fault (lean.c). */
    if (errno != saved)
        errno = saved;
}

/* A child writes at once; the parent keeps the line for log_flush(),
 * or, with no room even after trying to write, drops it. */
void
logbuf_put(const char *line, size_t len)
{
    if (!lb.parent) {
        if (write(STDERR_FILENO, line, len) < 0) {
            /* Nowhere left to say it. */
        }
        return;
    }
    if (len > LOGBUF_SIZE - lbs->len && !lbs->blocked)
        logbuf_flush();
    if (len > LOGBUF_SIZE - lbs->len) {
        lbs->dropped++;
        return;
    }
    memcpy(logbuf_data + lbs->len, line, len);
    lbs->len += len;
}

char *
logbuf_scratch(void)
{
    return lb.parent ? logbuf_data + LOGBUF_SIZE : NULL;
}

int
logbuf_pending_fd(void)
{
    return lb.parent && lbs->len > 0 && lbs->blocked ? lb.fd : -1;
}

/* The count of lines lost, once there is room to say so (then reset). */
size_t
logbuf_take_dropped(void)
{
    size_t n = lbs->dropped;

    if (n == 0 || LOGBUF_SIZE - lbs->len < LOG_LINE_MAX)
        return 0;
    lbs->dropped = 0;
    return n;
}

/* The stderr plugsrv was started with, and whether it is the journal. */
int
logbuf_stderr_fd(int *journal)
{
    *journal = lb.starter_journal;
    return lb.starter_fd != -1 ? lb.starter_fd : STDERR_FILENO;
}

/* ---- the log file: fd 2 of the parent and of every new child ---- */

/* O_NONBLOCK only for the open: a FIFO with no reader must not hang it.
 * Children write it blocking, like any stderr. */
static int
logbuf_open(const char *path)
{
    int fd, fl;

    fd =
        open(path,
             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
             0640);
    if (fd == -1)
        return -1;
    if ((fl = fcntl(fd, F_GETFL)) == -1 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* fd (owned) becomes fd 2; what waits goes to the old one first. */
static void
logbuf_use(int fd)
{
    logbuf_flush();
    if (lb.starter_fd == -1)
        lb.starter_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    dup2(fd, STDERR_FILENO);
    close(fd);
    logbuf_setup();
}

static int
logbuf_same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A reload's log.file, opened before anything changes; -1 with errno. */
int
logbuf_file_prepare(const char *path)
{
    logbuf_file_commit(0);
    if (logbuf_same(path, lb.path))
        return 0;
    if (path != NULL) {
        if ((lb.next_path = strdup(path)) == NULL)
            return -1;
        if ((lb.next_fd = logbuf_open(path)) == -1) {
            free(lb.next_path);
            lb.next_path = NULL;
            return -1;
        }
    }
    lb.changing = 1;
    return 0;
}

void
logbuf_file_commit(int take)
{
    if (!lb.changing)
        return;
    lb.changing = 0;
    if (!take) {
        if (lb.next_fd != -1)
            close(lb.next_fd);
        free(lb.next_path);
    } else if (lb.next_fd != -1) {
        logbuf_use(lb.next_fd);
        free(lb.path);
        lb.path = lb.next_path;
    } else if (lb.starter_fd != -1) { /* back to the starter's stderr */
        logbuf_flush();
        dup2(lb.starter_fd, STDERR_FILENO);
        logbuf_setup();
        free(lb.path);
        lb.path = NULL;
    }
    lb.next_fd = -1;
    lb.next_path = NULL;
}

/* 1: no log file; 0: opened again; -1 with errno, the old one kept. */
int
logbuf_reopen(void)
{
    int fd;

    if (lb.path == NULL)
        return 1;
    if ((fd = logbuf_open(lb.path)) == -1)
        return -1;
    logbuf_use(fd);
    return 0;
}

const char *
logbuf_path(void)
{
    return lb.path;
}
