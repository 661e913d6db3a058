/*
 * lifetime.c - max_duration: a connection's whole life, enforced by the
 * parent, which owns the table of children and so ends any handler, even
 * one that exec'd another program or never reads. At the deadline the
 * process gets SIGTERM (plugsrv's own ends at its next read); LIFETIME_GRACE
 * later, SIGKILL. Its exit line then says reason=max-duration.
 *
 * The parent must wake for the earliest deadline without scanning its
 * children on every connection: it keeps only a lower bound of the next
 * deadline, lowered as connections start; when the bound passes, one scan
 * of the table ends what is due and finds the true next one. Scans are at
 * least LIFETIME_STEP apart, so a deadline is met within that.
 */
#include <signal.h>

#include "plugsrv.h"

#define LIFETIME_GRACE 2000 /* ms from SIGTERM to SIGKILL */
#define LIFETIME_STEP  100  /* ms between two scans, at least */

static long long lifetime_next; /* clock_ms() of the next scan; 0: none */

void
lifetime_arm(struct child *c, const struct listener *l)
{
    c->deadline = 0;
    c->termed = 0;
    if (l->conf->access.max_duration == 0)
        return;
    c->deadline = c->start + clock_sec_ms(l->conf->access.max_duration);
    if (lifetime_next == 0 || c->deadline < lifetime_next)
        lifetime_next = c->deadline;
}

long long
lifetime_timeout(long long ms)
{
    long long left;

    if (lifetime_next == 0)
        return ms;
    left = lifetime_next - clock_ms();
    if (left < 0)
        left = 0;
    return ms >= 0 && ms < left ? ms : left;
}

/* The child's next deadline (its SIGKILL once termed), or 0. */
static long long
lifetime_due(struct child *c, long long now)
{
    if (c->deadline == 0 || c->state != CHILD_SERVING)
        return 0;
    if (c->termed == 0 && now >= c->deadline) {
        c->termed = now;
        kill(c->pid, SIGTERM);
    } else if (c->termed != 0 && now >= c->termed + LIFETIME_GRACE &&
               !c->killed) {
        c->killed = 1;
        kill(c->pid, SIGKILL);
    }
    if (c->killed)
        return 0;
    return c->termed != 0 ? c->termed + LIFETIME_GRACE : c->deadline;
}

void
lifetime_tick(long long now)
{
    long long next = 0, due;
    size_t i;

    if (lifetime_next == 0 || now < lifetime_next)
        return;
    for (i = 0; i < children_count(); i++) {
        due = lifetime_due(children_at(i), now);
        if (due != 0 && (next == 0 || due < next))
            next = due;
    }
    if (next != 0 && next < now + LIFETIME_STEP)
        next = now + LIFETIME_STEP;
    lifetime_next = next;
}
