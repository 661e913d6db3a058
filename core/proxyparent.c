/*
 * proxyparent.c - the parent's side of a listener with proxy_protocol. It
 * refuses a balancer it does not trust before forking; the connection's
 * process reads the header (proxyconn.c) and reports the client it names
 * on one pipe shared by all; the parent admits or refuses that client as
 * if it had connected itself, and answers on the connection's own verdict
 * pipe. Nothing here waits on a client: reports come when they are whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

static int proxyparent_pipe[2] = { -1, -1 };

/* Only the parent's end is non-blocking: a report waits while the parent
 * is busy rather than being lost. */
int
proxyparent_init(void)
{
    if (pipe2(proxyparent_pipe, O_CLOEXEC) == -1)
        return -1;
    return fcntl(proxyparent_pipe[0], F_SETFL, O_NONBLOCK);
}

void
proxyparent_close(void)
{
    if (proxyparent_pipe[0] != -1) {
        close(proxyparent_pipe[0]);
        close(proxyparent_pipe[1]);
    }
    proxyparent_pipe[0] = proxyparent_pipe[1] = -1;
}

int
proxyparent_fd(void)
{
    return proxyparent_pipe[0];
}

int
proxyparent_report_fd(void)
{
    return proxyparent_pipe[1];
}

int
proxyparent_trusted(const struct listener *l, const struct sockaddr *sa)
{
    struct acl_addr a;

    return acl_from_sockaddr(sa, &a) == 0 &&
           acl_match(&l->conf->proxy_trusted, &a);
}

static void
proxyparent_answer(struct child *c, char verdict)
{
    if (write(c->verdict, &verdict, 1) != 1) {
        /* The process is gone: its exit will be logged. */
    }
    close(c->verdict);
    c->verdict = -1;
}

/* The rules the parent applies to a client that connects directly,
 * applied to the one the header named (admit.c). A listener a reload
 * removed has no rules left: its connection is served. */
static void
proxyparent_decide(struct child *c, const struct proxy_report *r)
{
    static char name[LOG_VALUE_MAX];
    char peer[ADDRSTRLEN];
    struct listener *l = c->listener;
    const char *why = NULL;

    addr_format((const struct sockaddr *)&r->src, peer, sizeof(peer));
    if (!r->local) {
        memcpy(c->via, c->peer, sizeof(c->via));
        memcpy(c->peer, peer, sizeof(c->peer));
    }
    if (l != NULL)
        why = admit_client(l, (const struct sockaddr *)&r->src, &c->ref);
    if (why != NULL) {
        admit_refuse_from(l, c->listener_name, c->peer, c->via, 0, why);
        c->refused = 1;
        proxyparent_answer(c, PROXY_VERDICT_NO);
        return;
    }
    if (l != NULL) {
        lifetime_arm(c, l);
        stats_accepted(&l->count->stats);
    }
    log_event("accept listener=%s peer=%s%s%s pid=%ld",
              log_value(name, sizeof(name), c->listener_name), c->peer,
              c->via[0] ? " via=" : "", c->via, (long)c->pid);
    metrics_accept(c->listener_name);
    proxyparent_answer(c, PROXY_VERDICT_OK);
}

void
proxyparent_read(void)
{
    struct proxy_report r;
    struct child *c;

    while (read(proxyparent_pipe[0], &r, sizeof(r)) == (ssize_t)sizeof(r)) {
        if ((c = children_find(r.pid)) == NULL || c->verdict == -1)
            continue;
        proxyparent_decide(c, &r);
    }
}
