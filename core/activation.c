/*
 * activation.c - listening sockets plugsrv is handed at start instead of
 * binding them, by the sd_listen_fds(3) protocol written by hand: systemd
 * socket activation, or an old plugsrv handing its sockets to the new one
 * on SIGUSR2 (upgrade.c). The parent runs it once, before its first bind.
 *
 * LISTEN_PID names the process the fds are for, LISTEN_FDS how many there
 * are from fd 3 on, LISTEN_FDNAMES their names, ':'-separated. A socket
 * goes to the listener with the same address and port, or (from systemd)
 * to the one whose "name" is the socket's name. From systemd a socket
 * that fits no listener stops the start: the unit and the config disagree.
 * From an old plugsrv it is a listener the new config removed: it is
 * closed. PLUGSRV_UPGRADE_FD is the pipe on which the new process tells
 * the old one it is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugsrv.h"

#define ACTIVATION_FD0 3   /* SD_LISTEN_FDS_START */
#define ACTIVATION_MAX 256 /* sockets taken at most */

struct activation_sock {
    int fd;
    char name[256]; /* from LISTEN_FDNAMES, or "unknown" */
    struct sockaddr_storage sa;
    socklen_t salen;
    char addr[ADDRSTRLEN];
    long listener;     /* index in the config, -1 for none, or METRICS */
    const char *lname; /* its name, once it took the socket */
};

#define ACTIVATION_METRICS (-2) /* the metrics endpoint's socket */

static struct activation_sock *socks;
static size_t nsocks;
static int activation_pipe = -1; /* write end: "ready" to the old parent */

/* A decimal number from the environment, or -1. */
static long
activation_env_num(const char *name)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (v == NULL || *v == '\0')
        return -1;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < 0)
        return -1;
    return n;
}

/* The i-th ':'-separated name of LISTEN_FDNAMES into s->name. */
static void
activation_name(struct activation_sock *s, const char *names, size_t i)
{
    const char *p = names, *end;
    size_t len;

    snprintf(s->name, sizeof(s->name), "unknown");
    for (; p != NULL && i > 0; i--)
        p = (p = strchr(p, ':')) != NULL ? p + 1 : NULL;
    if (p == NULL)
        return;
    end = strchr(p, ':');
    len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (len > 0 && len < sizeof(s->name)) {
        memcpy(s->name, p, len);
        s->name[len] = '\0';
    }
}

/* A TCP socket in the listening state, and its address. */
static int
activation_check(struct activation_sock *s, char *err, size_t errlen)
{
    int type = 0, listening = 0;
    socklen_t len = sizeof(type);
    struct stat st;

    s->salen = sizeof(s->sa);
    if (fstat(s->fd, &st) == -1 || !S_ISSOCK(st.st_mode) ||
        getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
        type != SOCK_STREAM ||
        getsockname(s->fd, (struct sockaddr *)&s->sa, &s->salen) == -1 ||
        (s->sa.ss_family != AF_INET && s->sa.ss_family != AF_INET6)) {
        snprintf(err, errlen,
                 "LISTEN_FDS: fd %d (name \"%s\"): not a TCP socket", s->fd,
                 s->name);
        return -1;
    }
    addr_format((struct sockaddr *)&s->sa, s->addr, sizeof(s->addr));
    len = sizeof(listening);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1 ||
        !listening) {
        snprintf(err, errlen,
                 "LISTEN_FDS: fd %d (name \"%s\", %s): not listening "
                 "(Accept=yes sockets are not supported)",
                 s->fd, s->name, s->addr);
        return -1;
    }
    return 0;
}

static void
activation_unsetenv(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("PLUGSRV_UPGRADE_FD");
}

/* The pipe to an upgrading old parent, if it started us. */
static void
activation_upgrade_pipe(void)
{
    long fd = activation_env_num("PLUGSRV_UPGRADE_FD");

    if (fd >= ACTIVATION_FD0 && fd <= INT_MAX &&
        fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
        activation_pipe = (int)fd;
}

/*
 * Takes the sockets passed for this process, each made close-on-exec at
 * once so that no connection's process or program sees them, and clears
 * the variables (a handler's children must not think they are activated).
 * -1 with "LISTEN_FDS: fd N ...: why" in err.
 */
int
activation_init(char *err, size_t errlen)
{
    const char *names = getenv("LISTEN_FDNAMES");
    long pid = activation_env_num("LISTEN_PID");
    long n = activation_env_num("LISTEN_FDS");
    size_t i;

    activation_upgrade_pipe();
    if (pid != (long)getpid() || n <= 0) {
        activation_unsetenv();
        return 0;
    }
    if (n > ACTIVATION_MAX ||
        (socks = calloc((size_t)n, sizeof(*socks))) == NULL) {
        snprintf(err, errlen, "LISTEN_FDS=%ld: more sockets than %d", n,
                 ACTIVATION_MAX);
        activation_unsetenv();
        return -1;
    }
    for (nsocks = 0; nsocks < (size_t)n; nsocks++) {
        i = nsocks;
        socks[i].fd = ACTIVATION_FD0 + (int)i;
        socks[i].listener = -1;
        activation_name(&socks[i], names, i);
        if (fcntl(socks[i].fd, F_SETFD, FD_CLOEXEC) == -1) {
            snprintf(err, errlen, "LISTEN_FDS: fd %d (name \"%s\"): %s",
                     socks[i].fd, socks[i].name, strerror(errno));
            activation_unsetenv();
            return -1;
        }
    }
    activation_unsetenv();
    for (i = 0; i < nsocks; i++)
        if (activation_check(&socks[i], err, errlen) == -1)
            return -1;
    return 0;
}

/* The same family, port and address (sin_zero, flow labels aside). */
static int
activation_same(const struct activation_sock *s,
                const struct sockaddr_storage *sa)
{
    const struct sockaddr_in *a4 = (const void *)&s->sa;
    const struct sockaddr_in *b4 = (const void *)sa;
    const struct sockaddr_in6 *a6 = (const void *)&s->sa;
    const struct sockaddr_in6 *b6 = (const void *)sa;

    if (s->sa.ss_family != sa->ss_family)
        return 0;
    if (s->sa.ss_family == AF_INET)
        return a4->sin_port == b4->sin_port &&
               a4->sin_addr.s_addr == b4->sin_addr.s_addr;
    return a6->sin6_port == b6->sin6_port &&
           a6->sin6_scope_id == b6->sin6_scope_id &&
           memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* Does a passed socket already serve listener i? */
static int
activation_taken(long i)
{
    size_t k;

    for (k = 0; k < nsocks; k++)
        if (socks[k].listener == i)
            return 1;
    return 0;
}

/* First by address, so that a name never steals another listener's
 * socket; then, for systemd's sockets only, by name. */
static void
activation_assign(const struct config *conf, int by_name)
{
    size_t k, i;

    for (k = 0; k < nsocks; k++) {
        for (i = 0; socks[k].listener == -1 && i < conf->nlisteners; i++) {
            if (activation_taken((long)i))
                continue;
            if (by_name ? strcmp(socks[k].name, conf->listeners[i].name) == 0
                        : activation_same(&socks[k], &conf->listeners[i].sa))
                socks[k].listener = (long)i;
        }
    }
}

/* The metrics endpoint's socket: by address, or from systemd by the name
 * "metrics" (an upgrade names it so too). */
static void
activation_assign_metrics(const struct config *conf)
{
    size_t k;

    if (conf->metrics.port == 0 || activation_taken(ACTIVATION_METRICS))
        return;
    for (k = 0; k < nsocks; k++) {
        if (socks[k].listener == -1 &&
            (activation_same(&socks[k], &conf->metrics.sa) ||
             (activation_pipe == -1 &&
              strcmp(socks[k].name, "metrics") == 0))) {
            socks[k].listener = ACTIVATION_METRICS;
            return;
        }
    }
}

/* A socket no listener wants: an error from systemd, a retired listener
 * from an old plugsrv (it keeps serving on it until it hands over). */
static int
activation_unmatched(struct activation_sock *s, const struct config *conf,
                     char *err, size_t errlen)
{
    if (activation_pipe == -1) {
        snprintf(err, errlen,
                 "LISTEN_FDS: fd %d (name \"%s\", %s) matches no listener "
                 "of %s by address and port or by name",
                 s->fd, s->name, s->addr, conf->path);
        return -1;
    }
    close(s->fd);
    s->fd = -1;
    return 0;
}

/* Gives each passed socket to a listener of conf; -1 with the first
 * socket that fits none, named, in err. */
int
activation_match(const struct config *conf, char *err, size_t errlen)
{
    size_t k;

    activation_assign(conf, 0);
    if (activation_pipe == -1)
        activation_assign(conf, 1);
    activation_assign_metrics(conf);
    for (k = 0; k < nsocks; k++) {
        if (socks[k].listener == -1 &&
            activation_unmatched(&socks[k], conf, err, errlen) == -1)
            return -1;
    }
    return 0;
}

/*
 * Listener i takes its passed socket, if it has one, set up as if it had
 * bound it (the backlog and listen_configure()): 0, 1 if none was passed,
 * -1 with errno. The listener owns the fd from now on.
 */
int
activation_adopt(struct listener *l, size_t i)
{
    size_t k;

    for (k = 0; k < nsocks; k++) {
        if (socks[k].listener != (long)i || socks[k].fd == -1)
            continue;
        l->fd = socks[k].fd;
        l->inherited = 1;
        socks[k].fd = -1;
        socks[k].lname = l->conf->name;
        memcpy(l->addr, socks[k].addr, sizeof(l->addr));
        return listen_take(l);
    }
    return 1;
}

/* The metrics endpoint takes its passed socket: the fd, which it owns
 * from now on, or -1 if none was passed. */
int
activation_adopt_metrics(void)
{
    size_t k;
    int fd;

    for (k = 0; k < nsocks; k++) {
        if (socks[k].listener != ACTIVATION_METRICS || socks[k].fd == -1)
            continue;
        fd = socks[k].fd;
        socks[k].fd = -1;
        socks[k].lname = "metrics";
        return fd;
    }
    return -1;
}

/* After the start, once the log goes where the config says: what became
 * of each passed socket; the table is forgotten (a reload adopts sockets
 * from the listeners, by address). */
void
activation_done(void)
{
    char v[LOG_VALUE_MAX], w[LOG_VALUE_MAX];
    size_t k;

    for (k = 0; k < nsocks; k++) {
        if (socks[k].fd != -1)
            close(socks[k].fd);
        if (socks[k].lname != NULL)
            log_event("activation fd=%d name=%s addr=%s listener=%s from=%s",
                      ACTIVATION_FD0 + (int)k,
                      log_value(v, sizeof(v), socks[k].name), socks[k].addr,
                      log_value(w, sizeof(w), socks[k].lname),
                      activation_pipe == -1 ? "systemd" : "upgrade");
        else
            log_event("activation fd=%d name=%s addr=%s listener=- "
                      "action=closed",
                      ACTIVATION_FD0 + (int)k,
                      log_value(v, sizeof(v), socks[k].name), socks[k].addr);
    }
    free(socks);
    socks = NULL;
    nsocks = 0;
}

/*
 * Ready: if an old plugsrv started this one, tell it so (it then stops
 * accepting and hands systemd's MAINPID over). 1 if it did, 0 if this is
 * a plain start.
 */
int
activation_ready(void)
{
    ssize_t n;

    if (activation_pipe == -1)
        return 0;
    n = write(activation_pipe, "R", 1);
    close(activation_pipe);
    activation_pipe = -1;
    if (n != 1)
        log_warn("error what=upgrade-ready");
    return 1;
}
