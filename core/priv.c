/*
 * priv.c - privilege separation. The parent keeps the identity it was
 * started with: it binds (a reload may add a port below 1024), re-reads a
 * config only root may read, and signals its children; it reads no client
 * data and runs no handler callback. Each connection's process becomes its
 * listener's user right after the fork, before any handler callback runs:
 * priv_resolve() turns the names into ids in the parent (start, reload and
 * -t alike, so a reload accepts exactly what a start does), priv_become()
 * drops for good in the new process.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

/* The key that set a listener's value: the top level's, which a listener
 * without its own copies, or its own. */
static void
priv_key(const struct config *conf, size_t i, const char *key,
         const char *value, const char *top, char *buf, size_t len)
{
    if (top != NULL && strcmp(value, top) == 0)
        snprintf(buf, len, "%s: %s", conf->path, key);
    else
        snprintf(buf, len, "%s: listeners[%zu].%s", conf->path, i, key);
}

static int
priv_lookup(const struct config *conf, size_t i, struct listener_conf *lc,
            char *err, size_t errlen)
{
    char key[PATH_MAX + 64];
    struct passwd *pw;
    struct group *gr;

    if ((pw = getpwnam(lc->user)) == NULL) {
        priv_key(conf, i, "user", lc->user, conf->user, key, sizeof(key));
        snprintf(err, errlen, "%s: no such user \"%s\"", key, lc->user);
        return -1;
    }
    lc->uid = pw->pw_uid;
    lc->gid = pw->pw_gid;
    if (lc->group == NULL)
        return 0;
    if ((gr = getgrnam(lc->group)) == NULL) {
        priv_key(conf, i, "group", lc->group, conf->group, key, sizeof(key));
        snprintf(err, errlen, "%s: no such group \"%s\"", key, lc->group);
        return -1;
    }
    lc->gid = gr->gr_gid;
    return 0;
}

/* Only root can become another user; anyone can stay who they are. */
static int
priv_possible(const struct config *conf, size_t i,
              const struct listener_conf *lc, char *err, size_t errlen)
{
    char key[PATH_MAX + 64];

    if (geteuid() == 0 || (lc->uid == geteuid() && lc->gid == getegid()))
        return 0;
    priv_key(conf, i, "user", lc->user, conf->user, key, sizeof(key));
    snprintf(err, errlen,
             "%s: plugsrv runs as uid %ld and cannot become %s (uid %ld gid "
             "%ld)",
             key, (long)geteuid(), lc->user, (long)lc->uid, (long)lc->gid);
    return -1;
}

int
priv_resolve(struct config *conf, char *err, size_t errlen)
{
    struct listener_conf *lc;
    size_t i;

    for (i = 0; i < conf->nlisteners; i++) {
        lc = &conf->listeners[i];
        if (lc->user == NULL)
            continue;
        if (priv_lookup(conf, i, lc, err, errlen) == -1 ||
            priv_possible(conf, i, lc, err, errlen) == -1)
            return -1;
    }
    return 0;
}

/* One line per listener that serves as someone else, and the warning an
 * admin should see when handlers would run as root. */
void
priv_log(const struct config *conf)
{
    char name[LOG_VALUE_MAX], user[LOG_VALUE_MAX], msg[ERRBUF];
    const struct listener_conf *lc;
    size_t i;
    int asroot = 0;

    for (i = 0; i < conf->nlisteners; i++) {
        lc = &conf->listeners[i];
        if (lc->user != NULL)
            log_event("privileges listener=%s user=%s uid=%ld gid=%ld",
                      log_value(name, sizeof(name), lc->name),
                      log_value(user, sizeof(user), lc->user), (long)lc->uid,
                      (long)lc->gid);
        else
            asroot |= geteuid() == 0;
    }
    if (asroot) {
        snprintf(msg, sizeof(msg), "no user in %s: handlers will run as root",
                 conf->path);
        log_event("warning what=privileges msg=%s",
                  log_value(name, sizeof(name), msg));
    }
}

int
priv_become(const struct listener_conf *lc)
{
    if (lc == NULL || lc->user == NULL)
        return 0;
    /* Through lean.c: in a fresh fork, one page of libc for all of them. */
    if (lean_setgroups(lc->gid) == -1 && errno != EPERM)
        return -1;
    if (lean_setresgid(lc->gid) == -1 || lean_setresuid(lc->uid) == -1)
        return -1;
    /* Proof that it is for good: root must not be reachable again. */
    if (lc->uid != 0 && (lean_setuid(0) == 0 || lean_geteuid() == 0))
        return -1;
    return 0;
}
