/*
 * priv.c - giving up root. Listeners are bound and modules loaded first,
 * then groups, gid and uid are dropped for good, each step checked, before
 * any connection is served.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

static int
priv_lookup(const struct config *conf, uid_t *uid, gid_t *gid, char *err,
            size_t errlen)
{
    struct passwd *pw;
    struct group *gr;

    if ((pw = getpwnam(conf->user)) == NULL) {
        snprintf(err, errlen, "%s: user: no such user \"%s\"", conf->path,
                 conf->user);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (conf->group != NULL) {
        if ((gr = getgrnam(conf->group)) == NULL) {
            snprintf(err, errlen, "%s: group: no such group \"%s\"",
                     conf->path, conf->group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

/* A group alone would leave handlers running as root with another gid:
 * more likely a mistake than a wish. */
static int
priv_no_user(const struct config *conf, char *err, size_t errlen)
{
    if (conf->group == NULL)
        return 0;
    snprintf(err, errlen,
             "%s: group: needs \"user\" too (handlers would "
             "still run as root)",
             conf->path);
    return -1;
}

/* For `plugsrv -t`: the user and group must exist. */
int
priv_check(const struct config *conf, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    if (conf->user == NULL)
        return priv_no_user(conf, err, errlen);
    return priv_lookup(conf, &uid, &gid, err, errlen);
}

int
priv_drop(const struct config *conf, char *err, size_t errlen)
{
    char msg[ERRBUF], v[LOG_VALUE_MAX];
    uid_t uid;
    gid_t gid;

    if (conf->user == NULL) {
        if (priv_no_user(conf, err, errlen) == -1)
            return -1;
        if (geteuid() == 0) {
            snprintf(msg, sizeof(msg),
                     "no user in %s: handlers will run as root", conf->path);
            log_event("warning what=privileges msg=%s",
                      log_value(v, sizeof(v), msg));
        }
        return 0;
    }
    if (priv_lookup(conf, &uid, &gid, err, errlen) == -1)
        return -1;
    if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
        setresuid(uid, uid, uid) == -1) {
        snprintf(err, errlen, "%s: user: cannot become %s: %s", conf->path,
                 conf->user, strerror(errno));
        return -1;
    }
    /* Proof that it is for good: root must not be reachable again. */
    if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        snprintf(err, errlen, "%s: user: could regain root after dropping it",
                 conf->path);
        return -1;
    }
    log_event("privileges user=%s uid=%ld gid=%ld",
              log_value(v, sizeof(v), conf->user), (long)uid, (long)gid);
    return 0;
}
