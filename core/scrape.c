/*
 * scrape.c - the process that answers one scrape of the metrics endpoint:
 * a fork of the parent holding a snapshot of its counters. It notes what
 * only a fork can see of the parent (its fds, its memory), drops
 * privileges, reads the request (at most SCRAPE_REQ bytes, all of it
 * within SCRAPE_SECONDS, after which the kernel ends it), and writes the
 * Prometheus text exposition format (version 0.0.4).
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "metrics_int.h"

#define SCRAPE_REQ     8192
#define SCRAPE_SECONDS 5

/* What the parent holds, seen from its fresh fork. */
struct scrape_proc {
    long fds;
    long long rss;
};

/* The fork has the parent's fds: all but the one opendir() takes and the
 * scrape's own socket, which the parent closes at once. */
static long
scrape_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 2;
}

static long long
scrape_rss(pid_t pid)
{
    char path[64];
    long long size = 0, pages = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    if ((f = fopen(path, "re")) == NULL)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &pages) != 2)
        pages = -1;
    fclose(f);
    return pages < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

/* Who the scrape runs as: root is given up for the top-level user, or
 * for nobody (connproc_init does it, as for a connection). */
static int
scrape_identity(const struct config *conf, struct listener_conf *as)
{
    struct passwd *pw;

    memset(as, 0, sizeof(*as));
    if (geteuid() != 0)
        return 0;
    as->user = conf->user ? conf->user : "nobody";
    if ((pw = getpwnam(as->user)) == NULL)
        return -1;
    as->uid = pw->pw_uid;
    as->gid = pw->pw_gid;
    return 0;
}

/* ---- the request ---- */

/* Reads the request head into buf; its length, or -1. */
static ssize_t
scrape_read(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    ssize_t n;

    while (have < cap - 1) {
        n = read(fd, buf + have, cap - 1 - have);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
            return (ssize_t)have;
    }
    return -1;
}

/* "GET /metrics HTTP/1.1": 200; another path 404, another method 405. */
static int
scrape_route(const char *req)
{
    const char *path;
    size_t len;

    if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0)
        return 405;
    path = strchr(req, ' ') + 1;
    len = strcspn(path, " ?\r\n");
    if (len == 8 && strncmp(path, "/metrics", 8) == 0)
        return 200;
    return 404;
}

/* ---- the text ---- */

static void
scrape_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, quote and newline escaped. Listener names
 * cannot hold the last two (config_listener.c), but may hold the first. */
static void
scrape_label(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        fputc(*s == '\n' ? 'n' : *s, f);
    }
}

static void
scrape_sample(FILE *f, const char *name, const char *listener, const char *key,
              const char *value, unsigned long long n)
{
    fprintf(f, "%s{listener=\"", name);
    scrape_label(f, listener);
    if (key != NULL)
        fprintf(f, "\",%s=\"%s", key, value);
    fprintf(f, "\"} %llu\n", n);
}

static void
scrape_counts(FILE *f, const struct metrics_state *m, const char *name,
              int refused)
{
    const struct metrics_count *c;
    size_t i, j;

    for (i = 0; i < m->nseries; i++) {
        c = refused ? m->series[i].refused : m->series[i].exited;
        for (j = 0; j < METRICS_REASONS && c[j].reason[0] != '\0'; j++)
            scrape_sample(f, name, m->series[i].listener, "reason",
                          c[j].reason, c[j].n);
    }
}

static void
scrape_histogram(FILE *f, const struct metrics_series *s)
{
    const char *name = "plugsrv_connection_duration_seconds";
    unsigned long long cum = 0;
    char le[32];
    size_t b;

    for (b = 0; b < METRICS_BUCKETS; b++) {
        cum += s->buckets[b];
        snprintf(le, sizeof(le), "%g", (double)metrics_le_ms[b] / 1000.0);
        scrape_sample(f, "plugsrv_connection_duration_seconds_bucket",
                      s->listener, "le", le, cum);
    }
    scrape_sample(f, "plugsrv_connection_duration_seconds_bucket", s->listener,
                  "le", "+Inf", s->count);
    fprintf(f, "%s_sum{listener=\"", name);
    scrape_label(f, s->listener);
    fprintf(f, "\"} %.3f\n", (double)s->sum_ms / 1000.0);
    scrape_sample(f, "plugsrv_connection_duration_seconds_count", s->listener,
                  NULL, NULL, s->count);
}

static void
scrape_connections(FILE *f, const struct metrics_state *m)
{
    size_t i;

    scrape_family(f, "plugsrv_connections_accepted_total", "counter",
                  "Connections accepted and given a process of their own.");
    for (i = 0; i < m->nseries; i++)
        scrape_sample(f, "plugsrv_connections_accepted_total",
                      m->series[i].listener, NULL, NULL,
                      m->series[i].accepted);
    scrape_family(f, "plugsrv_connections_refused_total", "counter",
                  "Connections closed unserved, by reason.");
    scrape_counts(f, m, "plugsrv_connections_refused_total", 1);
    scrape_family(f, "plugsrv_connections_exited_total", "counter",
                  "Connections ended, by how their process ended.");
    scrape_counts(f, m, "plugsrv_connections_exited_total", 0);
    scrape_family(f, "plugsrv_connections_active", "gauge",
                  "Connections being served now.");
    for (i = 0; i < m->nseries; i++)
        scrape_sample(f, "plugsrv_connections_active", m->series[i].listener,
                      NULL, NULL, m->series[i].active);
    scrape_family(f, "plugsrv_connection_duration_seconds", "histogram",
                  "How long connections lasted, from accept to exit.");
    for (i = 0; i < m->nseries; i++)
        scrape_histogram(f, &m->series[i]);
}

static void
scrape_process(FILE *f, const struct metrics_state *m,
               const struct scrape_proc *p)
{
    scrape_family(f, "plugsrv_reloads_total", "counter",
                  "Configuration reloads (SIGHUP), by result.");
    fprintf(f, "plugsrv_reloads_total{result=\"ok\"} %llu\n", m->reloads[1]);
    fprintf(f, "plugsrv_reloads_total{result=\"error\"} %llu\n",
            m->reloads[0]);
    scrape_family(f, "process_resident_memory_bytes", "gauge",
                  "Resident memory of the plugsrv parent, in bytes.");
    fprintf(f, "process_resident_memory_bytes %lld\n", p->rss);
    scrape_family(f, "process_open_fds", "gauge",
                  "Open file descriptors of the plugsrv parent.");
    fprintf(f, "process_open_fds %ld\n", p->fds);
    scrape_family(f, "process_start_time_seconds", "gauge",
                  "Start time of the plugsrv parent, in seconds since the "
                  "Unix epoch.");
    fprintf(f, "process_start_time_seconds %lld\n", m->start);
    scrape_family(f, "plugsrv_build_info", "gauge",
                  "The plugsrv version and handler ABI, as labels.");
    fprintf(f, "plugsrv_build_info{version=\"%s\",handler_abi=\"%d.%d\"} 1\n",
            PLUGSRV_VERSION, PLUGSRV_ABI_MAJOR, PLUGSRV_ABI_MINOR);
}

/* ---- the answer ---- */

static void
scrape_send(int fd, const char *buf, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void
scrape_answer(int fd, int code, const char *body, size_t len, int head)
{
    const char *text = code == 200   ? "OK"
                       : code == 404 ? "Not Found"
                       : code == 405 ? "Method Not Allowed"
                                     : "Bad Request";
    char hdr[256];
    int n;

    n = snprintf(hdr, sizeof(hdr),
                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                 "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n",
                 code, text, len);
    scrape_send(fd, hdr, (size_t)n);
    if (!head)
        scrape_send(fd, body, len);
}

static void
scrape_reply(int fd, const struct metrics_state *m,
             const struct scrape_proc *p)
{
    static char req[SCRAPE_REQ];
    char *body = NULL;
    size_t len = 0;
    int code = 400;
    FILE *f;

    if (scrape_read(fd, req, sizeof(req)) > 0)
        code = scrape_route(req);
    if (code != 200) {
        scrape_answer(fd, code, "", 0, 0);
        return;
    }
    if ((f = open_memstream(&body, &len)) == NULL)
        return;
    scrape_connections(f, m);
    scrape_process(f, m, p);
    if (fclose(f) == 0)
        scrape_answer(fd, 200, body, len, req[0] == 'H');
    free(body);
}

void
scrape_run(const struct config *conf, const struct metrics_state *snap, int fd)
{
    struct scrape_proc p = { .fds = scrape_fds(),
                             .rss = scrape_rss(getppid()) };
    struct listener_conf as;
    struct connproc_setup cs = {
        .parent = getppid(), .conn_fd = fd, .keep = &fd, .nkeep = 1, .as = &as
    };
    struct timeval tv = { .tv_sec = SCRAPE_SECONDS, .tv_usec = 0 };

    if (scrape_identity(conf, &as) == -1 || connproc_init(&cs) == -1)
        _exit(CONN_SETUP);
    signal(SIGALRM, SIG_DFL); /* not the watchdog's (watchdog_prepare) */
    alarm(SCRAPE_SECONDS);    /* the whole scrape, whatever the scraper does */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    scrape_reply(fd, snap, &p);
    shutdown(fd, SHUT_WR);
    close(fd);
    _exit(CONN_OK);
}
