/*
 * modpath.c - who may replace a module may run code in plugsrv, as root if
 * it was started as root. So, as OpenSSH's StrictModes (safe_path) does,
 * the module's resolved path is checked from the file up to /: each
 * component owned by root or by the user plugsrv runs as, and writable by
 * nobody else. Run in the parent, on the fd it has just opened.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugsrv.h"

/* One component: "" if it is safe, else why not, after its path. */
static void
modpath_why(const struct stat *st, char *why, size_t len)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    int sticky = S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX);

    why[0] = '\0';
    if (st->st_uid != 0 && st->st_uid != geteuid())
        snprintf(why, len, "is owned by uid %lu, not root or plugsrv's user",
                 (unsigned long)st->st_uid);
    /* A sticky folder (/tmp) lets others add entries, not replace ours:
     * the entry below it is checked for its owner in turn. */
    else if (sticky)
        return;
    else if (st->st_mode & S_IWOTH)
        snprintf(why, len, "is writable by others (mode %04o); chmod o-w it",
                 mode);
    else if (st->st_mode & S_IWGRP)
        snprintf(why, len, "is writable by group (mode %04o); chmod g-w it",
                 mode);
}

/* Checks real (a resolved path) and every folder above it; -1 with the
 * first offender, from the file up, in err. */
static int
modpath_walk(char *real, const struct stat *file, const char *path, char *err,
             size_t errlen)
{
    char why[128];
    struct stat st;
    char *slash;

    modpath_why(file, why, sizeof(why));
    while (why[0] == '\0') {
        if (strcmp(real, "/") == 0)
            return 0;
        slash = strrchr(real, '/');
        *(slash == real ? slash + 1 : slash) = '\0';
        if (stat(real, &st) == -1) {
            snprintf(err, errlen, "cannot load: %s: %s: %s", path, real,
                     strerror(errno));
            return -1;
        }
        modpath_why(&st, why, sizeof(why));
    }
    snprintf(err, errlen, "refused: module %s: %s %s", path, real, why);
    return -1;
}

int
modpath_check(int fd, const char *path, char *err, size_t errlen)
{
    struct stat file, named;
    char real[PATH_MAX];

    if (fstat(fd, &file) == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(file.st_mode)) {
        snprintf(err, errlen, "refused: module %s is not a regular file",
                 path);
        return -1;
    }
    if (realpath(path, real) == NULL || stat(real, &named) == -1) {
        snprintf(err, errlen, "cannot load: %s: %s", path, strerror(errno));
        return -1;
    }
    /* The names checked must lead to the file that was opened. */
    if (named.st_dev != file.st_dev || named.st_ino != file.st_ino) {
        snprintf(err, errlen,
                 "refused: module %s was replaced while it was checked", path);
        return -1;
    }
    return modpath_walk(real, &file, path, err, errlen);
}
