/*
 * module.c - loading a handler .so and holding it to the ABI contract of
 * include/handler.h, in two halves that run in different processes:
 *
 *   module_file(), module_load()  the parent (and each probe, first): open
 *       the file, check who can replace it (modpath.c), dlopen() it, find
 *       its entry point. No code of the module's is called; its
 *       constructors run, under modguard.c's watch.
 *   module_entry()  the process that serves (a probe, a prefork spare, a
 *       connection's process): calls the entry point, checks the ABI.
 *
 * The parent opens each file before its probe forks and dlopen()s that very
 * fd once the probe has passed, so the file it loads is the one the probe
 * proved: a module replaced in between is not loaded. What is bounded in
 * time is the probe's load, entry point and init() (PROBE_TIMEOUT_MS); the
 * parent's own dlopen() of the same file, its constructors again, has no
 * timer of its own: it finished in time in an identical process.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugsrv.h"

/* Names the ABI a module was built for when it lacks our entry point. */
static void
module_no_entry(void *dl, const char *path, char *err, size_t errlen)
{
    char sym[64];
    int major;

    for (major = 2; major <= 9; major++) {
        snprintf(sym, sizeof(sym), "plugsrv_handler_v%d", major);
        if (dlsym(dl, sym) != NULL) {
            snprintf(err, errlen,
                     "%s: handler ABI %d.x, plugsrv supports "
                     "%d.x (%s found, " PLUGSRV_ENTRY_SYMBOL " missing)",
                     path, major, PLUGSRV_ABI_MAJOR, sym);
            return;
        }
    }
    snprintf(err, errlen,
             "%s: no entry point " PLUGSRV_ENTRY_SYMBOL
             " (not a plugsrv handler, or built without PLUGSRV_EXPORT)",
             path);
}

static int
module_check(const plugsrv_handler *h, const char *path, char *err,
             size_t errlen)
{
    size_t need;

    if (h == NULL) {
        snprintf(err, errlen,
                 "%s: " PLUGSRV_ENTRY_SYMBOL "() returned NULL: "
                 "the handler refused plugsrv's ABI %d.%d",
                 path, PLUGSRV_ABI_MAJOR, PLUGSRV_ABI_MINOR);
        return -1;
    }
    if (h->abi_major != PLUGSRV_ABI_MAJOR ||
        h->abi_minor > PLUGSRV_ABI_MINOR) {
        snprintf(err, errlen,
                 "%s: handler ABI %u.%u, plugsrv supports "
                 "%d.0 to %d.%d",
                 path, h->abi_major, h->abi_minor, PLUGSRV_ABI_MAJOR,
                 PLUGSRV_ABI_MAJOR, PLUGSRV_ABI_MINOR);
        return -1;
    }
    /* A 1.0 handler's struct ends before eof(): plugsrv reads no further. */
    need = h->abi_minor == 0 ? offsetof(plugsrv_handler, eof)
                             : sizeof(plugsrv_handler);
    if (h->size < need) {
        snprintf(err, errlen,
                 "%s: handler struct is %u bytes, ABI %u.%u "
                 "needs %zu",
                 path, h->size, h->abi_major, h->abi_minor, need);
        return -1;
    }
    if (h->mode != PLUGSRV_MODE_STREAM && h->mode != PLUGSRV_MODE_LINE) {
        snprintf(err, errlen, "%s: unknown handler mode %d", path, h->mode);
        return -1;
    }
    return 0;
}

/* dlerror()'s text without the "/proc/self/fd/N: " it starts with. */
static void
module_dlerror(const char *why, const char *byfd, const char *path, char *err,
               size_t errlen)
{
    size_t n = strlen(byfd);

    if (strncmp(why, byfd, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
        why += n + 2;
    snprintf(err, errlen, "cannot load: %s: %s", path, why);
}

/*
 * dlopen() by the open file, not by name: glibc would return the copy
 * loaded already for a path, even after a new module was installed there
 * with mv. Modules are told apart by device and inode instead: an
 * unchanged one is shared, a replaced one loaded anew, and modpath.c's
 * checks are made on the very file that is loaded.
 *
 * glibc names each object "/proc/self/fd/N" after the fd it came from and
 * matches later dlopen()s against those names first, so the fd stays open
 * as long as its object is loaded, and an object already loaded is never
 * dlopen()ed again under another fd's name.
 */
struct loaded {
    void *dl;
    int fd;
    dev_t dev;
    ino_t ino;
    int refs;     /* 0: unused but still in memory ("stuck") */
    int warned;   /* being stuck was logged */
    int threaded; /* its constructors started a thread: refused */
};

/*
 * An object that cannot be unloaded (linked with -z nodelete, or made so by
 * C++ STB_GNU_UNIQUE symbols) stays in memory, with its fd and its slot,
 * after its last listener is gone: each upgrade of such a module adds one.
 * Past this many, loading a new object is refused until plugsrv restarts;
 * reusing one already loaded still works.
 */
#define MODULE_STUCK_MAX 16

static struct loaded loaded[256];
static size_t nloaded;

static struct loaded *
module_find(void *dl, const struct stat *st)
{
    size_t i;

    for (i = 0; i < nloaded; i++) {
        if (dl != NULL
                ? loaded[i].dl == dl
                : loaded[i].dev == st->st_dev && loaded[i].ino == st->st_ino)
            return &loaded[i];
    }
    return NULL;
}

static size_t
module_nstuck(void)
{
    size_t i, n = 0;

    for (i = 0; i < nloaded; i++)
        n += loaded[i].refs == 0;
    return n;
}

static void
module_stuck(struct loaded *l, const char *path)
{
    char v[LOG_VALUE_MAX];

    if (l->warned)
        return;
    l->warned = 1;
    log_event("warning what=module path=%s msg=\"cannot be unloaded (built "
              "with -z nodelete or C++ unique symbols): it stays in memory, "
              "%zu of at most %d\"",
              log_value(v, sizeof(v), path), module_nstuck(),
              MODULE_STUCK_MAX);
}

static void
module_release(const struct module *m)
{
    struct loaded *l = module_find(m->dl, NULL);
    char name[64];

    if (l == NULL || --l->refs > 0)
        return;
    dlclose(l->dl);
    /* An object glibc keeps (nodelete, or another module needs it) keeps
     * its name, and so its fd; the NOLOAD handle is kept too, so that the
     * entry never points at an unloaded object. */
    snprintf(name, sizeof(name), "/proc/self/fd/%d", l->fd);
    if ((l->dl = dlopen(name, RTLD_NOW | RTLD_NOLOAD)) != NULL) {
        module_stuck(l, m->path);
        return;
    }
    close(l->fd);
    *l = loaded[--nloaded];
}

static int
module_room(const char *path, char *err, size_t errlen)
{
    if (nloaded == sizeof(loaded) / sizeof(loaded[0])) {
        snprintf(err, errlen, "cannot load %s: too many modules", path);
        return -1;
    }
    if (module_nstuck() >= MODULE_STUCK_MAX) {
        snprintf(err, errlen,
                 "cannot load %s: %d modules that cannot be unloaded (built "
                 "with -z nodelete or C++ unique symbols) are still in "
                 "memory; restart plugsrv to load more",
                 path, MODULE_STUCK_MAX);
        return -1;
    }
    return 0;
}

/* A new object: dlopen()ed by m->fd, which its table entry takes. Its
 * constructors run here; what they did to this process is undone, or the
 * module refused (modguard.c). */
static int
module_dlopen(struct module *m, const struct stat *st, int parent, char *err,
              size_t errlen)
{
    char byfd[64], why[ERRBUF];
    struct modguard g;
    struct loaded *l;
    void *dl;
    int safe;

    if (module_room(m->path, err, errlen) == -1)
        return -1;
    snprintf(byfd, sizeof(byfd), "/proc/self/fd/%d", m->fd);
    modguard_save(&g);
    if ((dl = dlopen(byfd, RTLD_NOW | RTLD_LOCAL)) == NULL)
        snprintf(why, sizeof(why), "%s", dlerror());
    safe = modguard_check(&g, m->path, parent, err, errlen);
    if (dl == NULL) {
        module_dlerror(why, byfd, m->path, err, errlen);
        return -1;
    }
    l = &loaded[nloaded++];
    *l = (struct loaded){
        .dl = dl, .fd = m->fd, .dev = st->st_dev, .ino = st->st_ino, .refs = 1
    };
    m->fd = -1;
    if (safe == -1) {
        /* Its thread runs its code: it must never be unloaded. */
        l->refs = 0;
        l->warned = l->threaded = 1;
        return -1;
    }
    m->dl = dl;
    return 0;
}

int
module_file(struct module *m, const char *path, char *err, size_t errlen)
{
    int fd;

    memset(m, 0, sizeof(*m));
    m->fd = -1;
    /* O_NONBLOCK: a FIFO in its place must not hang the parent. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", path, strerror(errno));
        return -1;
    }
    if (modpath_check(fd, path, err, errlen) == -1) {
        close(fd);
        return -1;
    }
    if ((m->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    m->fd = fd;
    return 0;
}

/* The object m->fd is open on, shared if it is loaded already. */
static int
module_object(struct module *m, int parent, char *err, size_t errlen)
{
    struct loaded *l;
    struct stat st;

    if (fstat(m->fd, &st) == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", m->path, strerror(errno));
        return -1;
    }
    if ((l = module_find(NULL, &st)) == NULL)
        return module_dlopen(m, &st, parent, err, errlen);
    if (l->threaded) {
        snprintf(err, errlen,
                 "refused: module %s started a thread when it was loaded "
                 "(forking a multi-threaded process is unsafe)",
                 m->path);
        return -1;
    }
    close(m->fd);
    m->fd = -1;
    l->refs++;
    m->dl = l->dl;
    return 0;
}

int
module_load(struct module *m, int parent, char *err, size_t errlen)
{
    if (module_object(m, parent, err, errlen) == -1)
        return -1;
    /* Only looked up: the entry point is called where the module serves. */
    *(void **)&m->entry = dlsym(m->dl, PLUGSRV_ENTRY_SYMBOL);
    if (m->entry == NULL) {
        module_no_entry(m->dl, m->path, err, errlen);
        module_release(m);
        m->dl = NULL;
        return -1;
    }
    return 0;
}

int
module_entry(struct module *m, char *err, size_t errlen)
{
    const plugsrv_handler *h;

    if (m->handler != NULL)
        return 0;
    h = m->entry(&host_services);
    if (module_check(h, m->path, err, errlen) == -1)
        return -1;
    m->handler = h;
    return 0;
}

int
module_fds(int *fds, int max)
{
    size_t i;
    int n = 0;

    for (i = 0; i < nloaded && n < max; i++)
        fds[n++] = loaded[i].fd;
    return n;
}

void
module_close(struct module *m)
{
    if (m->dl != NULL)
        module_release(m);
    else if (m->path != NULL && m->fd != -1)
        close(m->fd);
    free(m->path);
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}
