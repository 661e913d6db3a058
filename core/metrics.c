/*
 * metrics.c - what the parent counts (connections accepted, refused and
 * ended, by listener and reason; their durations; reloads), and the
 * Prometheus endpoint that shows it. The parent only counts and accepts:
 * each scrape is answered by a process of its own, forked with a snapshot
 * of the counters, which drops privileges, reads the request (bounded in
 * size and time), writes the text and exits. A slow or hostile scraper
 * holds that process only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics_int.h"

/*
 * Kept out of connections' processes (MADV_DONTFORK), as children.c keeps
 * its table: the parent writes it on every connection, and a page shared
 * with a child would be copied. A scrape's process gets a copy made just
 * before its fork.
 */
/* Upper bounds of the duration histogram, in milliseconds. */
const long long metrics_le_ms[METRICS_BUCKETS] = {
    1, 5, 10, 50, 100, 500, 1000, 5000, 10000, 30000, 60000, 300000
};

static struct metrics_state *metrics;
static size_t metrics_cap; /* series the mapping has room for */
static int metrics_sock = -1;
static struct sockaddr_storage metrics_sa;
static pid_t metrics_pids[METRICS_SCRAPES];

/* Room for twice as many series (4 at first, METRICS_SERIES at most): 0,
 * or -1. Grown, not mapped whole at start: a child's valgrind still sees
 * this memory and scans all of it at the child's exit. */
static int
metrics_grow(void)
{
    size_t cap = metrics_cap ? metrics_cap * 2 : 4;
    void *p;

    if (cap > METRICS_SERIES)
        cap = METRICS_SERIES;
    if (metrics == NULL) {
        p = mmap(NULL, METRICS_SIZE(cap), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            return -1;
        madvise(p, METRICS_SIZE(cap), MADV_DONTFORK);
    } else if ((p = mremap(metrics, METRICS_SIZE(metrics_cap),
                           METRICS_SIZE(cap), MREMAP_MAYMOVE)) == MAP_FAILED) {
        return -1;
    }
    metrics = p;
    metrics_cap = cap;
    return 0;
}

static struct metrics_state *
metrics_state(void)
{
    if (metrics == NULL && metrics_grow() == -1)
        return NULL;
    return metrics;
}

void
metrics_start(void)
{
    if (metrics_state() != NULL)
        metrics->start = (long long)time(NULL);
}

static struct metrics_series *
metrics_series(const char *listener)
{
    struct metrics_series *s;
    size_t i;

    if (metrics_state() == NULL)
        return NULL;
    for (i = 0; i < metrics->nseries; i++) {
        if (strcmp(metrics->series[i].listener, listener) == 0)
            return &metrics->series[i];
    }
    if (metrics->nseries == METRICS_SERIES ||
        (metrics->nseries == metrics_cap && metrics_grow() == -1))
        return NULL; /* counted nowhere: the log still has it */
    s = &metrics->series[metrics->nseries++];
    snprintf(s->listener, sizeof(s->listener), "%s", listener);
    return s;
}

static void
metrics_bump(struct metrics_count *c, const char *reason)
{
    size_t i;

    for (i = 0; i < METRICS_REASONS && c[i].reason[0] != '\0'; i++) {
        if (strcmp(c[i].reason, reason) == 0)
            break;
    }
    if (i == METRICS_REASONS)
        i = METRICS_REASONS - 1; /* a closed set in practice */
    if (c[i].reason[0] == '\0')
        snprintf(c[i].reason, sizeof(c[i].reason), "%s", reason);
    c[i].n++;
}

/* A listener's series exists, with zeros, before its first connection. */
void
metrics_track(const char *listener)
{
    metrics_series(listener);
}

/* Is the series' listener among ls, or named by a child still running? */
static int
metrics_in_use(const char *name, const struct listener *ls, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(ls[i].conf->name, name) == 0)
            return 1;
    for (i = 0; i < children_count(); i++)
        if (strcmp(children_at(i)->listener_name, name) == 0)
            return 1;
    return 0;
}

/*
 * After a reload: the series of a listener that is gone and serves no one
 * is dropped, as Prometheus expects of a target's series that ends. Kept
 * forever, reloads that rename listeners would fill the table, and a new
 * listener would go uncounted while the log has its lines. One whose
 * connections are still open stays until a reload after they end: its
 * counts must agree with their lines.
 */
void
metrics_keep(const struct listener *ls, size_t n)
{
    size_t i, kept = 0;

    if (metrics == NULL)
        return;
    for (i = 0; i < metrics->nseries; i++) {
        if (!metrics_in_use(metrics->series[i].listener, ls, n))
            continue;
        if (kept != i)
            metrics->series[kept] = metrics->series[i];
        kept++;
    }
    metrics->nseries = kept;
}

void
metrics_accept(const char *listener)
{
    struct metrics_series *s = metrics_series(listener);

    if (s != NULL)
        s->accepted++;
}

void
metrics_refuse(const char *listener, const char *reason)
{
    struct metrics_series *s = metrics_series(listener);

    if (s != NULL)
        metrics_bump(s->refused, reason);
}

void
metrics_exit(const char *listener, const char *reason, long long ms)
{
    struct metrics_series *s = metrics_series(listener);
    size_t b;

    if (s == NULL)
        return;
    metrics_bump(s->exited, reason);
    if (ms < 0)
        ms = 0;
    for (b = 0; b < METRICS_BUCKETS && ms > metrics_le_ms[b]; b++)
        ;
    if (b < METRICS_BUCKETS)
        s->buckets[b]++;
    s->count++;
    s->sum_ms += (unsigned long long)ms;
}

void
metrics_reload(int ok)
{
    if (metrics_state() != NULL)
        metrics->reloads[ok ? 1 : 0]++;
}

/* ---- the endpoint, in the parent ---- */

/* "FILE: metrics: ADDRESS: CALL: why", as a listener's bind error. */
static int
metrics_fail(const char *path, const char *addr, const char *call, char *err,
             size_t errlen)
{
    snprintf(err, errlen, "%s: metrics: %s: %s: %s", path, addr, call,
             strerror(errno));
    return -1;
}

/* A socket passed at start (an upgrade's, or systemd's), set up as if it
 * had been bound here; metrics now owns fd. */
static int
metrics_adopt(int fd, const struct config *cf, const char *addr, char *err,
              size_t errlen)
{
    const struct metrics_conf *conf = &cf->metrics;
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
        listen(fd, 64) == -1) {
        metrics_fail(cf->path, addr, "passed socket", err, errlen);
        close(fd);
        return -1;
    }
    metrics_sock = fd;
    metrics_sa = conf->sa;
    log_event("listen listener=metrics addr=%s from=passed", addr);
    return 0;
}

int
metrics_open(const struct config *cf, char *err, size_t errlen)
{
    const struct metrics_conf *conf = &cf->metrics;
    char addr[ADDRSTRLEN];
    int fd, one = 1;

    if (conf->port == 0) {
        metrics_close();
        return 0;
    }
    if (metrics_sock != -1 &&
        memcmp(&metrics_sa, &conf->sa, sizeof(metrics_sa)) == 0)
        return 0;
    addr_format((const struct sockaddr *)&conf->sa, addr, sizeof(addr));
    if (metrics_sock == -1 && (fd = activation_adopt_metrics()) != -1)
        return metrics_adopt(fd, cf, addr, err, errlen);
    fd = socket(conf->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd == -1)
        return metrics_fail(cf->path, addr, "socket", err, errlen);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (conf->sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&conf->sa, conf->salen) == -1 ||
        listen(fd, 64) == -1) {
        metrics_fail(cf->path, addr, "bind", err, errlen);
        close(fd);
        return -1;
    }
    metrics_close();
    metrics_sock = fd;
    metrics_sa = conf->sa;
    log_event("listen listener=metrics addr=%s", addr);
    return 0;
}

static int
metrics_slot(void)
{
    int i;

    for (i = 0; i < METRICS_SCRAPES; i++) {
        if (metrics_pids[i] == 0)
            return i;
    }
    return -1;
}

/* The listening socket itself, busy or not (an upgrade hands it on). */
int
metrics_socket(void)
{
    return metrics_sock;
}

/* The endpoint to poll: -1 while METRICS_SCRAPES scrapes are answered,
 * so that more wait in its backlog without waking the parent. */
int
metrics_fd(void)
{
    return metrics_slot() == -1 ? -1 : metrics_sock;
}

void
metrics_close(void)
{
    if (metrics_sock != -1)
        close(metrics_sock);
    metrics_sock = -1;
    memset(&metrics_sa, 0, sizeof(metrics_sa));
}

int
metrics_reaped(pid_t pid)
{
    size_t i;

    for (i = 0; i < METRICS_SCRAPES; i++) {
        if (metrics_pids[i] == pid && pid > 0) {
            metrics_pids[i] = 0;
            return 1;
        }
    }
    return 0;
}

/* The listeners' connections being served, into the snapshot: a series
 * whose listener is gone (renamed by a reload) has none. */
static void
metrics_snap_active(struct metrics_state *snap, const struct listener *ls,
                    size_t n)
{
    size_t i, j;

    for (i = 0; i < snap->nseries; i++) {
        snap->series[i].active = 0;
        for (j = 0; j < n; j++)
            if (strcmp(ls[j].conf->name, snap->series[i].listener) == 0)
                snap->series[i].active =
                    (unsigned long long)ls[j].count->active;
    }
}

void
metrics_serve(const struct config *conf, const struct listener *ls, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char peer[ADDRSTRLEN];
    struct metrics_state *snap;
    struct acl_addr who;
    int fd, slot;
    pid_t pid;

    /* Scrapers beyond METRICS_SCRAPES wait in the backlog. */
    if (metrics_sock == -1 || metrics_state() == NULL ||
        (slot = metrics_slot()) == -1)
        return;
    fd = accept4(metrics_sock, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (fd == -1)
        return;
    addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
    if (acl_from_sockaddr((struct sockaddr *)&ss, &who) == -1 ||
        !acl_match(&conf->metrics.allow, &who)) {
        log_event("refuse listener=metrics peer=%s reason=acl", peer);
        close(fd);
        return;
    }
    /* The counters as they are now, for the fork to take along. */
    if ((snap = malloc(METRICS_SIZE(metrics->nseries))) == NULL) {
        close(fd);
        return;
    }
    memcpy(snap, metrics, METRICS_SIZE(metrics->nseries));
    metrics_snap_active(snap, ls, n);
    if ((pid = fork()) == 0)
        scrape_run(conf, snap, fd);
    free(snap);
    close(fd);
    if (pid == -1)
        log_warn("error what=fork listener=metrics peer=%s", peer);
    else
        metrics_pids[slot] = pid;
}
