/*
 * module.c - loading a handler .so and holding it to the ABI contract of
 * include/handler.h: the file's ownership, its identity (so that a module
 * replaced on disk is loaded anew), the entry point and the versions.
 * probe.c runs this in a throwaway process before the parent does.
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

typedef const plugsrv_handler *(*entry_fn)(const plugsrv_host *);

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

/* Anyone who can write the module or replace it in its folder can run
 * code in plugsrv (as root, if it was started as root). */
static int
module_writable(const struct stat *st, const char *what, const char *path,
                char *err, size_t errlen)
{
    /* A sticky folder (/tmp) lets others add files, not replace ours. */
    if ((st->st_mode & S_IWOTH) &&
        !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))) {
        snprintf(err, errlen,
                 "refused: %s %s is writable by others "
                 "(mode %04o); chmod o-w it",
                 what, path, (unsigned)(st->st_mode & 07777));
        return -1;
    }
    return 0;
}

static int
module_safe(const struct stat *file, const char *path, char *err,
            size_t errlen)
{
    char dir[4096];
    struct stat st;
    char *slash;

    if (module_writable(file, "module", path, err, errlen) == -1)
        return -1;
    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (stat(dir, &st) == -1)
        return 0;
    return module_writable(&st, "module folder", dir, err, errlen);
}

/*
 * dlopen() by the open file, not by name: glibc would return the copy
 * loaded already for a path, even after a new module was installed there
 * with mv. Modules are told apart by device and inode instead: an
 * unchanged one is shared, a replaced one loaded anew, and the checks
 * above are made on the very file that is loaded.
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
    int refs;
};

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

static void
module_release(void *dl)
{
    struct loaded *l = module_find(dl, NULL);
    char name[64];

    if (l == NULL || --l->refs > 0)
        return;
    dlclose(dl);
    /* An object glibc keeps (C++ unique symbols make it NODELETE, another
     * module may need it) keeps its name, and so its fd; the NOLOAD handle
     * is kept too, so that the entry never points at an unloaded object. */
    snprintf(name, sizeof(name), "/proc/self/fd/%d", l->fd);
    if ((l->dl = dlopen(name, RTLD_NOW | RTLD_NOLOAD)) != NULL)
        return;
    close(l->fd);
    *l = loaded[--nloaded];
}

static void *
module_dlopen(int fd, const struct stat *st, const char *path, char *err,
              size_t errlen)
{
    char byfd[64];
    const char *why;
    void *dl;

    if (nloaded == sizeof(loaded) / sizeof(loaded[0])) {
        snprintf(err, errlen, "cannot load: %s: too many modules", path);
        return NULL;
    }
    snprintf(byfd, sizeof(byfd), "/proc/self/fd/%d", fd);
    if ((dl = dlopen(byfd, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        why = dlerror();
        if (strncmp(why, byfd, strlen(byfd)) == 0 && why[strlen(byfd)] == ':')
            why += strlen(byfd) + 2;
        snprintf(err, errlen, "cannot load: %s: %s", path, why);
        return NULL;
    }
    loaded[nloaded++] = (struct loaded){
        .dl = dl, .fd = fd, .dev = st->st_dev, .ino = st->st_ino, .refs = 1
    };
    return dl;
}

static void *
module_load(const char *path, char *err, size_t errlen)
{
    struct loaded *l;
    struct stat st;
    void *dl;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (module_safe(&st, path, err, errlen) == -1) {
        close(fd);
        return NULL;
    }
    if ((l = module_find(NULL, &st)) != NULL) {
        close(fd);
        l->refs++;
        return l->dl;
    }
    if ((dl = module_dlopen(fd, &st, path, err, errlen)) == NULL)
        close(fd);
    return dl;
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

int
module_open(struct module *m, const char *path, char *err, size_t errlen)
{
    entry_fn entry;
    const plugsrv_handler *h;
    void *dl;

    memset(m, 0, sizeof(*m));
    if ((dl = module_load(path, err, errlen)) == NULL)
        return -1;
    *(void **)&entry = dlsym(dl, PLUGSRV_ENTRY_SYMBOL);
    if (entry == NULL) {
        module_no_entry(dl, path, err, errlen);
        module_release(dl);
        return -1;
    }
    h = entry(&host_services);
    if (module_check(h, path, err, errlen) == -1) {
        module_release(dl);
        return -1;
    }
    if ((m->path = strdup(path)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        module_release(dl);
        return -1;
    }
    m->dl = dl;
    m->handler = h;
    return 0;
}

void
module_close(struct module *m)
{
    if (m->dl != NULL)
        module_release(m->dl);
    free(m->path);
    memset(m, 0, sizeof(*m));
}
