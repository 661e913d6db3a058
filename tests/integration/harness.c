/*
 * harness.c - the life of a struct hs: its temp folder and the files in it
 * (config and others), free ports, the cmocka fixtures, and the clock the
 * other harness files share.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "harness_int.h"

#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define HS_PORT_LOCKS 512

/* ---- time ---- */

long long
hs_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
hs_left(long long deadline)
{
    long long left = deadline - hs_now_ms();

    if (left < 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- global set-up and ports ---- */

static uint64_t hs_rng;
static int hs_port_fds[HS_PORT_LOCKS];
static int hs_nport_fds;

void
hs_global_init(void)
{
    struct timespec ts;

    /* Orphans of the daemon's children come to us: we can count them and
     * end them, and "no process left behind" becomes checkable. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    hs_rng = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
             (uint64_t)ts.tv_sec;
    if (hs_rng == 0)
        hs_rng = 88172645463325252ULL;
}

static uint32_t
hs_random(void)
{
    hs_rng ^= hs_rng << 13;
    hs_rng ^= hs_rng >> 7;
    hs_rng ^= hs_rng << 17;
    return (uint32_t)(hs_rng >> 16);
}

/* Can a listener bind addr:port right now (as plugsrv would)? */
static int
hs_bindable(int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, one = 1, ok;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof(*sin6);
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

/* Takes the cross-process claim on port, kept until we exit; 1 if ours.
 * The claim is an abstract AF_UNIX socket name: only one process can bind
 * it, the kernel drops it when we exit, and it leaves no file behind. */
static int
hs_port_lock(int port)
{
    struct sockaddr_un sun;
    socklen_t len;
    int fd;

    if (hs_nport_fds >= HS_PORT_LOCKS)
        return 0;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    /* sun_path[0] stays '\0': the abstract namespace. */
    snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
             "plugsrv-test-port-%d", port);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                      strlen(sun.sun_path + 1));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (bind(fd, (struct sockaddr *)&sun, len) < 0) {
        close(fd);
        return 0;
    }
    hs_port_fds[hs_nport_fds++] = fd;
    return 1;
}

int
hs_port(void)
{
    int i;

    for (i = 0; i < 500; i++) {
        int port = 20000 + (int)(hs_random() % 12001);

        if (!hs_bindable(AF_INET, port) || !hs_bindable(AF_INET6, port))
            continue;
        if (hs_port_lock(port))
            return port;
    }
    fail_msg("no free port found in 20000-32000");
    return -1;
}

/* ---- files ---- */

void
hs_path(struct hs *h, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", h->dir, name);
}

static int
hs_vwrite(const char *path, const char *fmt, va_list ap)
{
    FILE *f = fopen(path, "we");
    int rc;

    if (f == NULL)
        return -1;
    rc = vfprintf(f, fmt, ap) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int
hs_write_file(struct hs *h, const char *name, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    int rc;

    hs_path(h, name, path, sizeof(path));
    va_start(ap, fmt);
    rc = hs_vwrite(path, fmt, ap);
    va_end(ap);
    return rc;
}

int
hs_write_config(struct hs *h, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = hs_vwrite(h->conf, fmt, ap);
    va_end(ap);
    return rc;
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
char *
hs_slurp(const char *path)
{
    size_t len = 0, cap = 8192;
    char *buf = malloc(cap);
    int fd, i;

    if (buf == NULL)
        return NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf[0] = '\0';
        return buf;
    }
    for (i = 0; i < 100000; i++) {
        ssize_t n;

        if (cap - len < 4096) {
            char *nb = realloc(buf, cap * 2);

            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

static int
hs_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---- the struct ---- */

struct hs *
hs_new(void)
{
    const char *tmp = getenv("TMPDIR");
    struct hs *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    snprintf(h->dir, sizeof(h->dir), "%s/plugsrv-it.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(h->dir) == NULL) {
        free(h);
        return NULL;
    }
    hs_path(h, "server.json", h->conf, sizeof(h->conf));
    hs_path(h, "plugsrv.log", h->log, sizeof(h->log));
    h->pidfd = -1;
    return h;
}

void
hs_free(struct hs *h)
{
    if (h == NULL)
        return;
    if (h->pid > 0 && !h->reaped) {
        hs_signal(h, SIGTERM);
        if (hs_wait_exit(h, 3000) < 0) {
            kill(h->pid, SIGKILL);
            hs_wait_exit(h, 5000);
        }
    }
    hs_end_orphans(h);
    if (!h->passed) {
        hs_dump_log(h);
        if (h->out && *h->out)
            fprintf(stderr, "--- last run's stdout:\n%s", h->out);
        if (h->err && *h->err)
            fprintf(stderr, "--- last run's stderr:\n%s", h->err);
    }
    if (h->pidfd >= 0)
        close(h->pidfd);
    if (getenv("HS_KEEP") == NULL)
        nftw(h->dir, hs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "harness: kept %s\n", h->dir);
    free(h->out);
    free(h->err);
    free(h);
}

int
hs_setup(void **state)
{
    *state = hs_new();
    return *state == NULL ? -1 : 0;
}

int
hs_teardown(void **state)
{
    hs_free(*state);
    *state = NULL;
    return 0;
}
