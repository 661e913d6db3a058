/*
 * children.c - the parent's table of its children, and their reaping.
 * children_reap() (on SIGCHLD, read by signals.c) only reaps and records;
 * children_collect() turns the records into log lines and table updates.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "plugsrv.h"

/* Exits recorded between two children_collect() calls; more wait for the
 * next round of the collect loop. Small: under valgrind a child still
 * "has" this memory, and its leak scan faults on every word of it. */
#define EXITS_MAX 256

struct exit_rec {
    pid_t pid;
    int status;
    long long when; /* clock_ms() */
};

/*
 * Memory only the parent uses is kept out of its children (MADV_DONTFORK):
 * a page the parent writes while a child still shares it is copied, and the
 * parent writes these on every connection. Measured: 8 page faults per
 * connection in the parent before, 5 after; the counts joined the exit
 * records in round 3 (bench/README.md), one fault fewer.
 */
struct children_tab {
    size_t n, cap;  /* children[]: in use, room */
    size_t serving; /* of them, serving a connection */
    size_t nexits;  /* exits[] recorded since the last collect */
    /* When to look for orphans adopted from ended children (reaper.c), in
     * clock_ms(); 0: nothing to look for. */
    long long strays_due;
    struct exit_rec exits[EXITS_MAX];
};
static struct children_tab *tab;
static struct child *children;

int
children_init(void)
{
    if (tab == NULL && (tab = lean_parent_alloc(sizeof(*tab))) == NULL)
        return -1;
    return 0;
}

static int
children_grow(void)
{
    size_t cap = tab->cap ? tab->cap * 2 : 32;
    struct child *p;

    if ((p = lean_parent_alloc(cap * sizeof(*p))) == NULL)
        return -1;
    if (children != NULL)
        memcpy(p, children, tab->n * sizeof(*p));
    lean_parent_free(children);
    children = p;
    tab->cap = cap;
    return 0;
}

void
children_reap(void)
{
    int status;
    pid_t pid;

    while (tab->nexits < EXITS_MAX && (pid = lean_reap(&status)) > 0) {
        tab->exits[tab->nexits].pid = pid;
        tab->exits[tab->nexits].status = status;
        tab->exits[tab->nexits].when = clock_ms();
        tab->nexits++;
    }
}

struct child *
children_add(pid_t pid, struct listener *l, enum child_state st)
{
    struct child *c;

    if (tab->n == tab->cap && children_grow() == -1)
        return NULL;
    c = &children[tab->n++];
    memset(c, 0, sizeof(*c));
    c->pid = pid;
    c->state = st;
    c->listener = l;
    lean_copy(c->listener_name, sizeof(c->listener_name), l->conf->name);
    c->start = clock_ms();
    c->verdict = -1;
    if (st == CHILD_SERVING) {
        l->count->active++;
        tab->serving++;
    } else {
        l->count->spare++;
    }
    return c;
}

struct child *
children_find(pid_t pid)
{
    size_t i;

    for (i = 0; i < tab->n; i++) {
        if (children[i].pid == pid)
            return &children[i];
    }
    return NULL;
}

struct child *
children_at(size_t i)
{
    return &children[i];
}

size_t
children_count(void)
{
    return tab->n;
}

size_t
children_serving(void)
{
    return tab->serving;
}

/* A spare prefork child took a connection. */
void
children_serve(struct child *c, const char *peer, long long since)
{
    long long now = clock_ms();

    c->state = CHILD_SERVING;
    tab->serving++;
    lean_copy(c->peer, sizeof(c->peer), peer);
    /* From its accept(), not the time it waited for one. */
    c->start = since > 0 && since <= now ? since : now;
    if (c->listener != NULL) {
        c->listener->count->spare--;
        c->listener->count->active++;
    }
}

static const char *
children_reason(const struct child *c, int status)
{
    static const char *const codes[] = {
        [CONN_SETUP] = "setup",           [CONN_MODULE] = "module",
        [CONN_HANDLER] = "handler-error", [CONN_IDLE] = "idle-timeout",
        [CONN_LINE] = "line-too-long",    [CONN_IO] = "io-error",
        [CONN_SHUTDOWN] = "shutdown",     [CONN_STUCK] = "handler-timeout",
        [CONN_NOMEM] = "out-of-memory",
    };
    int code;

    if (c != NULL && c->refused)
        return "refused";
    if (c != NULL && c->termed != 0) /* lifetime.c ended it */
        return "max-duration";
    if (WIFSIGNALED(status)) {
        if (WTERMSIG(status) == SIGXCPU)
            return "cpu-limit";
        return c != NULL && c->killed ? "killed" : "signal";
    }
    code = WEXITSTATUS(status);
    if (code == 0)
        return "ok";
    if (code >= CONN_SETUP && code <= CONN_NOMEM && codes[code] != NULL)
        return codes[code];
    return "exit";
}

/* A PROXY listener's process that ended before it was accepted: a bad or
 * late header is the balancer's connection refused. 1 if that was it. */
static int
children_log_proxy(const struct child *c, const struct exit_rec *e)
{
    const char *why;

    if (c->refused || !WIFEXITED(e->status))
        return 0;
    switch (WEXITSTATUS(e->status)) {
    case CONN_PROXY_BAD:
        why = "proxy-bad";
        break;
    case CONN_PROXY_TIMEOUT:
        why = "proxy-timeout";
        break;
    default:
        return 0;
    }
    admit_refuse_from(c->listener, c->listener_name, c->peer, c->via, e->pid,
                      why);
    return 1;
}

/* For the journal: an end that needs a look (a crash, a limit, a module
 * that would not start) is a warning, the others are news. */
static int
children_prio(int status)
{
    if (WIFSIGNALED(status))
        return LOG_PRIO_WARNING;
    switch (WEXITSTATUS(status)) {
    case CONN_OK:
    case CONN_HANDLER:
    case CONN_IDLE:
    case CONN_LINE:
    case CONN_IO:
    case CONN_SHUTDOWN:
        return LOG_PRIO_INFO;
    default:
        return LOG_PRIO_WARNING;
    }
}

static void
children_log_exit(const struct child *c, const struct exit_rec *e)
{
    char how[64], name[LOG_VALUE_MAX];
    const char *reason = children_reason(c, e->status);
    long long ms = 0;

    if (WIFSIGNALED(e->status))
        snprintf(how, sizeof(how), "signal=%s",
                 log_signame(WTERMSIG(e->status)));
    else
        snprintf(how, sizeof(how), "status=%d", WEXITSTATUS(e->status));
    if (c == NULL) {
        log_prio(children_prio(e->status), "exit pid=%ld %s reason=%s",
                 (long)e->pid, how, reason);
        return;
    }
    ms = e->when - c->start;
    if (children_log_proxy(c, e))
        return;
    if (c->listener != NULL && c->state == CHILD_SERVING)
        stats_exited(&c->listener->count->stats, reason);
    if (c->state == CHILD_SERVING)
        metrics_exit(c->listener_name, reason, ms);
    log_prio(
        children_prio(e->status),
        "exit listener=%s peer=%s%s%s pid=%ld %s reason=%s duration_ms=%lld%s",
        log_value(name, sizeof(name), c->listener_name),
        c->peer[0] ? c->peer : "-", c->via[0] ? " via=" : "", c->via,
        (long)e->pid, how, reason, ms,
        c->state == CHILD_SPARE ? " spare=1" : "");
}

static void
children_forget(struct child *c)
{
    if (c->state == CHILD_SERVING) {
        tab->serving--;
        sources_release(c->ref.source); /* admit.c counted it */
    }
    if (c->verdict != -1)
        close(c->verdict);
    if (c->listener != NULL) {
        if (c->state == CHILD_SERVING)
            c->listener->count->active--;
        else
            c->listener->count->spare--;
    }
    *c = children[--tab->n];
}

/* Ended through connproc_exit(), which ends what it started: only
 * plugsrv's own statuses come from there. */
static int
children_clean(int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

    return code == CONN_OK ||
           (code >= CONN_SETUP && code <= CONN_NOMEM && code != CONN_STUCK);
}

static void
children_exited(const struct exit_rec *e)
{
    struct child *c = children_find(e->pid);

    if (c == NULL && metrics_reaped(e->pid))
        return; /* a scrape's process: nothing to say */
    children_log_exit(c, e);
    /* Whatever the handler forked dies with its connection. */
    lean_parent_kill_group(e->pid);
    if (c == NULL) {
        /* A stray: its own orphans are the parent's now. Look at once. */
        tab->strays_due = e->when;
        return;
    }
    children_forget(c);
    /* A handler may have ended the process itself (exit(0) too): look
     * again a second from now; at once if it surely left orphans. */
    if (!children_clean(e->status))
        tab->strays_due = e->when;
    else if (tab->strays_due == 0)
        tab->strays_due = e->when + 1000;
}

static int
children_known(pid_t pid)
{
    return children_find(pid) != NULL;
}

/* Milliseconds until children_strays() has work, or -1 for never. */
long long
children_strays_in(void)
{
    long long ms;

    if (tab->strays_due == 0)
        return -1;
    ms = tab->strays_due - clock_ms();
    return ms > 0 ? ms : 0;
}

/* Ends the orphans that children left behind (adopted by the parent, a
 * child subreaper), once they are due. */
void
children_strays(void)
{
    if (tab->strays_due == 0 || tab->strays_due > clock_ms())
        return;
    tab->strays_due = 0;
    reaper_kill_strays(children_known);
}

void
children_collect(void)
{
    size_t i, n;

    do {
        n = tab->nexits;
        for (i = 0; i < n; i++)
            children_exited(&tab->exits[i]);
        tab->nexits = 0;
        if (n == EXITS_MAX)
            children_reap(); /* the records were full */
    } while (tab->nexits > 0);
}

void
children_signal_all(int sig)
{
    size_t i;

    for (i = 0; i < tab->n; i++) {
        if (sig == SIGKILL)
            children[i].killed = 1;
        kill(children[i].pid, sig);
    }
}

/* Retires the spares of one listener (prefork pools after a reload). */
void
children_signal_spares(const struct listener *l, int sig)
{
    size_t i;

    for (i = 0; i < tab->n; i++) {
        if (children[i].state == CHILD_SPARE && children[i].listener == l)
            kill(children[i].pid, sig);
    }
}

/* After a reload: point each child at the new listener for its address,
 * or at none if its listener was removed, and recount. */
void
children_relink(struct listener *ls, size_t n)
{
    struct listener *old;
    size_t i, j;

    for (j = 0; j < n; j++)
        ls[j].count->active = ls[j].count->spare = 0;
    for (i = 0; i < tab->n; i++) {
        old = children[i].listener;
        children[i].listener = NULL;
        for (j = 0; old != NULL && j < n; j++) {
            if (listen_same(old->conf, ls[j].conf)) {
                children[i].listener = &ls[j];
                break;
            }
        }
        if (children[i].listener == NULL)
            continue;
        if (children[i].state == CHILD_SERVING)
            ls[j].count->active++;
        else
            ls[j].count->spare++;
    }
}

void
children_free(void)
{
    if (tab == NULL) /* children_init() never ran */
        return;
    if (children != NULL)
        lean_parent_free(children);
    children = NULL;
    tab->serving = 0;
    tab->n = tab->cap = 0;
}
