/* fds.c - a test handler that tells the client what its process inherited:
 * its open fds (from /proc/self/fd; each one above 2 with what it is and
 * whether it is a listening socket), its blocked signals, and the signals
 * it ignores or catches. One "key=value" line each, then "end", then it
 * closes the connection:
 *     fds=0,1,2,4
 *     fd4=socket:[1234] listen=0
 *     blocked=
 *     ignored=13
 *     caught=
 *     end
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static void
fds_append(char *out, size_t cap, const char *fmt, long v, int *first)
{
    size_t len = strlen(out);

    snprintf(out + len, cap - len, fmt, *first ? "" : ",", v);
    *first = 0;
}

/* "fds=..." and one "fdN=..." line per fd above 2, into out. */
static void
fds_list(char *out, size_t cap)
{
    char detail[2048] = "", path[64], target[256];
    struct dirent *de;
    DIR *d;
    int first = 1, n = 0;

    snprintf(out, cap, "fds=");
    d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL && n++ < 1024) {
        int fd, acc = 0;
        socklen_t alen = sizeof(acc);
        ssize_t tl;
        size_t dl;

        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == dirfd(d))
            continue;
        fds_append(out, cap, "%s%ld", fd, &first);
        if (fd <= 2)
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        tl = readlink(path, target, sizeof(target) - 1);
        target[tl < 0 ? 0 : tl] = '\0';
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0)
            acc = 0;
        dl = strlen(detail);
        snprintf(detail + dl, sizeof(detail) - dl, "fd%d=%s listen=%d\n", fd,
                 target, acc);
    }
    closedir(d);
    strncat(out, "\n", cap - strlen(out) - 1);
    strncat(out, detail, cap - strlen(out) - 1);
}

/* "blocked=", "ignored=", "caught=" lines, into out. */
static void
fds_signals(char *out, size_t cap)
{
    char blocked[512] = "", ignored[512] = "", caught[512] = "";
    int fb = 1, fi = 1, fc = 1, sig;
    sigset_t mask;

    sigprocmask(SIG_BLOCK, NULL, &mask);
    for (sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;

        if (sigismember(&mask, sig) == 1)
            fds_append(blocked, sizeof(blocked), "%s%ld", sig, &fb);
        if (sigaction(sig, NULL, &sa) < 0)
            continue;
        if (sa.sa_handler == SIG_IGN)
            fds_append(ignored, sizeof(ignored), "%s%ld", sig, &fi);
        else if (sa.sa_handler != SIG_DFL)
            fds_append(caught, sizeof(caught), "%s%ld", sig, &fc);
    }
    snprintf(out, cap, "blocked=%s\nignored=%s\ncaught=%s\n", blocked, ignored,
             caught);
}

static int
fds_open(plugsrv_conn *conn, void *ms, void **cs)
{
    char fdtext[4096], sigtext[2048];

    (void)ms;
    (void)cs;
    fds_list(fdtext, sizeof(fdtext));
    fds_signals(sigtext, sizeof(sigtext));
    if (host->write(conn, fdtext, strlen(fdtext)) != PLUGSRV_OK ||
        host->write(conn, sigtext, strlen(sigtext)) != PLUGSRV_OK ||
        host->write(conn, "end\n", 4) != PLUGSRV_OK)
        return PLUGSRV_ERROR;
    return PLUGSRV_CLOSE;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "fds";
    handler.open = fds_open;
    return &handler;
}
