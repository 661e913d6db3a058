/*
 * listeners.c - a config's listeners made ready to serve, in the parent
 * (at start, on reload, and for plugsrv -t): each module's file opened and
 * proven in a probe process, then loaded; each socket bound, or taken
 * over from the listener of the running config with the same address, or
 * from those passed at start (activation.c). All or nothing: on failure
 * nothing is left open and the old listeners keep their sockets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

/* "FILE: listeners[I]KEY: why" into err, cut to fit (why may fill a
 * whole ERRBUF of its own). */
static void
listeners_fail(char *err, size_t errlen, const struct config *conf, size_t i,
               const char *key, const char *why)
{
    int n =
        snprintf(err, errlen, "%s: listeners[%zu]%s: ", conf->path, i, key);
    size_t len = strlen(why);

    if (n < 0 || (size_t)n >= errlen)
        return;
    if (len > errlen - (size_t)n - 1)
        len = errlen - (size_t)n - 1;
    memcpy(err + n, why, len);
    err[(size_t)n + len] = '\0';
}

void
listeners_discard(struct listener *ls, size_t n)
{
    size_t i;

    for (i = 0; ls != NULL && i < n; i++) {
        listen_close(&ls[i]);
        module_close(&ls[i].module);
        admit_close(&ls[i]);
    }
    if (ls != NULL && n > 0)
        lean_parent_free(ls[0].count); /* the array of them all */
    free(ls);
}

/* Takes over the socket of an old listener for the same address, so that a
 * reload neither drops queued connections nor fails to bind. Returns 1 if
 * there is none. */
static int
listeners_adopt(struct listener *l, struct listener *old, size_t nold)
{
    size_t i;

    for (i = 0; i < nold; i++) {
        if (old[i].fd != -1 && listen_same(l->conf, old[i].conf)) {
            l->fd = old[i].fd;
            l->from = &old[i];
            /* Connections already queued keep the timeouts they were
             * accepted with: their processes must set the new ones. */
            l->retimed = old[i].retimed ||
                         old[i].conf->idle_timeout != l->conf->idle_timeout;
            memcpy(l->addr, old[i].addr, sizeof(l->addr));
            return listen_take(l);
        }
    }
    return 1;
}

/* A reload failed: the sockets taken over go back as they were. */
void
listeners_unadopt(struct listener *ls, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (ls[i].from == NULL)
            continue;
        listen_reclaim(ls[i].from);
        ls[i].fd = -1;
        ls[i].from = NULL;
    }
}

/*
 * The listener's socket, from one of three places: an old listener's on a
 * reload (whose options must not have changed, listen_changed()), one
 * passed in at start (activation.c), else a new one. Each source's result
 * is checked on its own: only an adopted old socket has l->from to compare
 * with. 0, or -1 with why.
 */
static int
listeners_socket(struct listener *l, size_t i, struct listener *old,
                 size_t nold, char *why, size_t whylen)
{
    int rc;

    if ((rc = listeners_adopt(l, old, nold)) == 0)
        return listen_changed(l, why, whylen) ? -1 : 0;
    if (rc == 1 && (rc = activation_adopt(l, i)) == 1)
        return listen_open(l, why, whylen);
    if (rc == -1)
        snprintf(why, whylen, "%s: %s", l->addr, strerror(errno));
    return rc;
}

static int
listeners_prepare_one(struct listener *l, size_t i, const struct config *conf,
                      struct listener *old, size_t nold, int bind, char *err,
                      size_t errlen)
{
    char why[ERRBUF];

    /* The file its probe proved; no code of the module's is called. */
    if (module_load(&l->module, 1, why, sizeof(why)) == -1) {
        listeners_fail(err, errlen, conf, i, ".module", why);
        return -1;
    }
    if (admit_open(l, conf) == -1) {
        snprintf(err, errlen, "%s: listeners[%zu]: out of memory", conf->path,
                 i);
        return -1;
    }
    if (!bind)
        return 0;
    if (listeners_socket(l, i, old, nold, why, sizeof(why)) == -1) {
        listeners_fail(err, errlen, conf, i, "", why);
        return -1;
    }
    return 0;
}

/*
 * Everything a config needs before it can serve: modules proven and
 * loaded, sockets bound. All or nothing: on failure nothing is left open
 * and the old listeners keep their sockets.
 */
struct listener *
listeners_prepare(const struct config *conf, struct listener *old, size_t nold,
                  int bind, char *err, size_t errlen)
{
    struct listener_count *count;
    struct listener *ls;
    char why[ERRBUF];
    size_t i, bad;

    if ((ls = calloc(conf->nlisteners, sizeof(*ls))) == NULL ||
        (count = lean_parent_alloc(conf->nlisteners * sizeof(*count))) ==
            NULL) {
        snprintf(err, errlen, "%s: out of memory", conf->path);
        free(ls);
        return NULL;
    }
    for (i = 0; i < conf->nlisteners; i++) {
        ls[i].conf = &conf->listeners[i];
        ls[i].fd = -1;
        ls[i].count = &count[i];
        log_value(ls[i].logname, sizeof(ls[i].logname), ls[i].conf->name);
    }
    /* Each module's file is opened before its probe forks: the probe
     * loads that very file, and so does the parent if it passes. */
    for (bad = 0; bad < conf->nlisteners; bad++) {
        if (module_file(&ls[bad].module, ls[bad].conf->module_path, why,
                        sizeof(why)) == -1)
            break;
    }
    /* The probes run under the limits connections will run under. */
    connproc_limits_prepare(&conf->rlimits);
    if (bad < conf->nlisteners ||
        probe_all(ls, conf->nlisteners, &bad, why, sizeof(why)) == -1) {
        listeners_fail(err, errlen, conf, bad, ".module", why);
        listeners_discard(ls, conf->nlisteners);
        return NULL;
    }
    for (i = 0; i < conf->nlisteners; i++) {
        if (listeners_prepare_one(&ls[i], i, conf, old, nold, bind, err,
                                  errlen) == 0)
            continue;
        listeners_unadopt(ls, conf->nlisteners);
        listeners_discard(ls, conf->nlisteners);
        return NULL;
    }
    return ls;
}

int
listeners_check(struct config *conf, int bind, char *err, size_t errlen)
{
    struct listener *ls;

    connproc_snapshot();
    reaper_init(); /* what a probe's init() leaves behind comes to us */
    ls = NULL;
    if (priv_resolve(conf, err, errlen) == 0 &&
        log_file_prepare(conf, err, errlen) == 0) {
        log_file_commit(0);
        ls = listeners_prepare(conf, NULL, 0, bind, err, errlen);
    }
    reaper_end_descendants();
    if (ls == NULL)
        return -1;
    listeners_discard(ls, conf->nlisteners);
    if (bind && metrics_open(conf, err, errlen) == -1)
        return -1;
    metrics_close();
    return 0;
}
