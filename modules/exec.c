/*
 * exec.c - runs a program per connection, as inetd, tcpserver and xinetd
 * do: "options": { "argv": ["/usr/bin/prog", "arg"], "env": { "K": "v" } }.
 *
 * The program gets the connection on fds 0 and 1, its stderr on a pipe
 * that this handler reads and writes to plugsrv's log line by line (as
 * handler lines, level warn), the UCSPI environment (PROTO=TCP,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT, the same names for
 * IPv6, as s6-tcpserver sets them) on top of plugsrv's own environment and
 * then "env", every signal at its default and none blocked, no alarm
 * pending and no other fd. argv[0] without a '/' is looked up in the
 * PATH of that environment. A program that cannot be started (not found,
 * not executable) is logged as "exec PROG: why" (level error) and the
 * connection ends as a handler error.
 * When it exits, its status is logged ("exit status=N" or "exit
 * signal=NAME") and the connection ends: normally if the status is 0,
 * as a handler error otherwise.
 *
 * Timeouts. The connection's process stays, as the program's parent, but
 * the program reads and writes the socket itself, so plugsrv sees none of
 * its traffic:
 *   - idle_timeout applies as the socket's receive and send timeouts: a
 *     read or write of the program's on the connection that waits that
 *     long fails with EAGAIN (cat then says "Resource temporarily
 *     unavailable" and exits). A program busy elsewhere, or sleeping, is
 *     not ended for being idle. 0 turns it off.
 *   - the watchdog does not apply (the handler took the fd over).
 *   - on SIGTERM (shutdown) the program gets SIGTERM; if it has not ended
 *     shutdown_timeout seconds later, the parent SIGKILLs the connection's
 *     process group, the program with it.
 *   - max_duration: at the deadline the parent sends the connection's
 *     process SIGTERM, which stop() passes on to the program (the exit is
 *     logged reason=max-duration); 2 s later the parent SIGKILLs the
 *     process, and what it started ends with it.
 *
 * This handler uses the ABI 1.1 services take_fd(), watch() and stop().
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handler.h"

#define EXEC_LINE  1024 /* longer stderr lines are logged in pieces */
#define EXEC_UCSPI 5

extern char **environ;

static const plugsrv_host *exec_host;

/* The listener's settings, from init() until fini(). */
static const char *const *exec_argv;
static const char *const *exec_env_keys, *const *exec_env_vals;
static size_t exec_nenv;

/* The one connection of this process. */
struct exec_conn {
    pid_t pid;  /* the program, until reaped */
    int pidfd;  /* readable when it exits; -1 if the kernel has none */
    int err;    /* its stderr's read end, or -1 */
    int status; /* its wait status, once reaped */
    int exited;
    int stopping; /* SIGTERM passed on */
    char line[EXEC_LINE];
    size_t len;
};

static int
exec_refuse(char *err, size_t errlen, const char *msg, const char *key)
{
    snprintf(err, errlen, msg, key);
    return PLUGSRV_ERROR;
}

static int
exec_init(const plugsrv_options *opts, void **module_state, char *err,
          size_t errlen)
{
    const char *key;
    size_t i, n;

    (void)module_state;
    for (i = 0; i < exec_host->opt_count(opts); i++) {
        key = exec_host->opt_key(opts, i);
        if (strcmp(key, "argv") != 0 && strcmp(key, "env") != 0)
            return exec_refuse(err, errlen, "unknown option \"%s\"", key);
    }
    if (exec_host->opt_list(opts, "argv", &exec_argv, &n) != PLUGSRV_OK ||
        n == 0)
        return exec_refuse(err, errlen,
                           "option \"%s\" must be a non-empty array of "
                           "strings",
                           "argv");
    if (exec_argv[0][0] == '\0')
        return exec_refuse(err, errlen, "option \"%s\": argv[0] is empty",
                           "argv");
    if (exec_host->opt_map(opts, "env", &exec_env_keys, &exec_env_vals,
                           &exec_nenv) != PLUGSRV_OK)
        return exec_refuse(
            err, errlen, "option \"%s\" must be an object of strings", "env");
    for (i = 0; i < exec_nenv; i++) {
        if (exec_env_keys[i][0] == '\0' || strchr(exec_env_keys[i], '='))
            return exec_refuse(err, errlen,
                               "option \"env\": \"%s\" is not a variable "
                               "name",
                               exec_env_keys[i]);
    }
    return PLUGSRV_OK;
}

/* ---- the program's environment ---- */

/* "NAME=value", malloc'd; NULL when out of memory. */
static char *
exec_var(const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);

    if (s != NULL)
        snprintf(s, len, "%s=%s", name, value);
    return s;
}

/* Does entry "NAME=..." set one of the names in vars? */
static int
exec_overridden(const char *entry, char *const *vars, size_t n)
{
    size_t i, len;

    for (i = 0; i < n; i++) {
        len = strcspn(vars[i], "=") + 1;
        if (strncmp(entry, vars[i], len) == 0)
            return 1;
    }
    return 0;
}

/*
 * plugsrv's environment, then UCSPI's variables, then "env"; a later one
 * replaces an earlier one of the same name. The strings leak into the
 * program's image, which replaces this one: only the child calls this.
 */
static char **
exec_environment(plugsrv_conn *conn)
{
    char port[2][16], **own, **envp;
    size_t i, n = 0, nown = 0, nenv = 0;

    while (environ != NULL && environ[nenv] != NULL)
        nenv++;
    own = calloc(EXEC_UCSPI + exec_nenv + 1, sizeof(*own));
    envp = calloc(nenv + EXEC_UCSPI + exec_nenv + 1, sizeof(*envp));
    if (own == NULL || envp == NULL)
        return NULL;
    snprintf(port[0], sizeof(port[0]), "%d", exec_host->peer_port(conn));
    snprintf(port[1], sizeof(port[1]), "%d", exec_host->local_port(conn));
    own[nown++] = exec_var("PROTO", "TCP");
    own[nown++] = exec_var("TCPREMOTEIP", exec_host->peer_ip(conn));
    own[nown++] = exec_var("TCPREMOTEPORT", port[0]);
    own[nown++] = exec_var("TCPLOCALIP", exec_host->local_ip(conn));
    own[nown++] = exec_var("TCPLOCALPORT", port[1]);
    for (i = 0; i < exec_nenv; i++)
        own[nown++] = exec_var(exec_env_keys[i], exec_env_vals[i]);
    for (i = 0; i < nown; i++) {
        if (own[i] == NULL)
            return NULL;
    }
    for (i = 0; i < nenv; i++) {
        if (!exec_overridden(environ[i], own, nown))
            envp[n++] = environ[i];
    }
    for (i = 0; i < nown; i++) {
        /* "env" may name a UCSPI variable again: the last one wins */
        if (!exec_overridden(own[i], own + i + 1, nown - i - 1))
            envp[n++] = own[i];
    }
    return envp;
}

/* ---- starting the program ---- */

/* fd moved to at least 3, so that dup2() onto 0, 1, 2 cannot clobber it. */
static int
exec_high(int fd)
{
    return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/*
 * What the program starts with: every signal at its default and none
 * blocked (posix_spawn's attributes), the socket on 0 and 1, the pipe on
 * 2, nothing else open. A spawned process is new, so no alarm is pending.
 * posix_spawn, not fork: glibc starts the program with CLONE_VM|CLONE_VFORK,
 * so the connection's process is not copied a second time (its page
 * tables, its copy-on-write faults, its teardown) for each connection.
 */
static int
exec_spawn(pid_t *pid, int sock, int errfd, char **envp)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    int rc;

    /* Every bit, not sigfillset(): that leaves out glibc's own two
     * real-time signals, which posix_spawn would then hand on ignored. */
    memset(&all, 0xff, sizeof(all));
    sigemptyset(&none);
    if ((rc = posix_spawnattr_init(&at)) != 0)
        return rc;
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
        posix_spawnattr_destroy(&at);
        return rc;
    }
    rc = posix_spawnattr_setsigdefault(&at, &all);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
                                               POSIX_SPAWN_SETSIGMASK);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, sock, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, sock, 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* PATH is looked up in the program's environment, as execvp() in it
     * would: this process's environ is the program's from here on. */
    environ = envp;
    if (rc == 0)
        rc = posix_spawnp(pid, exec_argv[0], &fa, &at,
                          (char *const *)exec_argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

/* ---- the connection's process: the program's stderr and its end ---- */

static void
exec_log_line(plugsrv_conn *conn, struct exec_conn *ec)
{
    if (ec->len > 0 && ec->line[ec->len - 1] == '\n')
        ec->len--;
    exec_host->log(conn, PLUGSRV_LOG_WARN, "%.*s", (int)ec->len, ec->line);
    ec->len = 0;
}

/* Logs what is in buf, a line at a time. */
static void
exec_take(plugsrv_conn *conn, struct exec_conn *ec, const char *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        ec->line[ec->len++] = buf[i];
        if (buf[i] == '\n' || ec->len == sizeof(ec->line))
            exec_log_line(conn, ec);
    }
}

/* Reads the stderr pipe until it would block; 0 at its end. */
static int
exec_read_err(plugsrv_conn *conn, struct exec_conn *ec)
{
    char buf[4096];
    ssize_t n;

    for (;;) {
        n = read(ec->err, buf, sizeof(buf));
        if (n > 0)
            exec_take(conn, ec, buf, (size_t)n);
        else if (n == -1 && errno == EINTR)
            continue;
        else if (n == -1 && errno == EAGAIN)
            return 1;
        else
            break;
    }
    if (ec->len > 0)
        exec_log_line(conn, ec);
    exec_host->unwatch(conn, ec->err);
    close(ec->err);
    ec->err = -1;
    return 0;
}

/* The program has ended and its stderr is read: log how, and end. */
static int
exec_done(plugsrv_conn *conn, struct exec_conn *ec)
{
    int st = ec->status;

    if (WIFEXITED(st))
        exec_host->log(conn, PLUGSRV_LOG_INFO, "exit status=%d",
                       WEXITSTATUS(st));
    else
        exec_host->log(conn, PLUGSRV_LOG_INFO, "exit signal=%d", WTERMSIG(st));
    if (ec->stopping || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
        return PLUGSRV_CLOSE;
    return PLUGSRV_ERROR;
}

static void
exec_reap(struct exec_conn *ec, int options)
{
    pid_t r;

    do
        r = waitpid(ec->pid, &ec->status, options);
    while (r == -1 && errno == EINTR);
    if (r == ec->pid || (r == -1 && errno == ECHILD)) {
        ec->exited = 1;
        ec->pid = -1;
    }
}

static int
exec_on_exit(plugsrv_conn *conn, int fd, int events, void *arg)
{
    struct exec_conn *ec = arg;

    (void)fd, (void)events;
    exec_reap(ec, WNOHANG);
    if (!ec->exited)
        return PLUGSRV_OK;
    exec_host->unwatch(conn, ec->pidfd);
    close(ec->pidfd);
    ec->pidfd = -1;
    /* What it wrote last is in the pipe already; something it started
     * may hold the pipe open, so do not wait for the pipe's end. */
    if (ec->err >= 0)
        exec_read_err(conn, ec);
    return exec_done(conn, ec);
}

static int
exec_on_stderr(plugsrv_conn *conn, int fd, int events, void *arg)
{
    struct exec_conn *ec = arg;

    (void)fd, (void)events;
    if (exec_read_err(conn, ec) || ec->pidfd >= 0)
        return PLUGSRV_OK;
    /* No pidfd (an old kernel): the pipe's end is the program's end. */
    exec_reap(ec, 0);
    return exec_done(conn, ec);
}

/* Starts the program on sock; -1 with the reason logged. */
static int
exec_start(plugsrv_conn *conn, struct exec_conn *ec, int sock)
{
    char **envp;
    int p[2], rc;

    if (pipe2(p, O_CLOEXEC) == -1) {
        exec_host->log(conn, PLUGSRV_LOG_ERROR, "pipe: %s", strerror(errno));
        return -1;
    }
    /* The pipe's write end is above 2 already: 0, 1 and 2 are open. */
    if ((envp = exec_environment(conn)) == NULL)
        rc = ENOMEM;
    else if ((sock = exec_high(sock)) == -1)
        rc = errno;
    else
        rc = exec_spawn(&ec->pid, sock, p[1], envp);
    if (rc != 0) {
        exec_host->log(conn, PLUGSRV_LOG_ERROR, "exec %s: %s", exec_argv[0],
                       strerror(rc));
        close(p[0]);
        close(p[1]);
        ec->pid = -1;
        return -1;
    }
    close(p[1]);
    ec->err = p[0];
    fcntl(ec->err, F_SETFL, O_NONBLOCK);
    ec->pidfd = (int)syscall(SYS_pidfd_open, ec->pid, 0);
    if (ec->pidfd >= 0)
        fcntl(ec->pidfd, F_SETFD, FD_CLOEXEC);
    return 0;
}

static int
exec_open(plugsrv_conn *conn, void *module_state, void **conn_state)
{
    struct exec_conn *ec;
    int sock;

    (void)module_state;
    if ((ec = calloc(1, sizeof(*ec))) == NULL)
        return PLUGSRV_ERROR;
    *conn_state = ec;
    ec->pid = -1;
    ec->err = ec->pidfd = -1;
    if ((sock = exec_host->take_fd(conn)) == -1)
        return PLUGSRV_ERROR;
    if (exec_start(conn, ec, sock) == -1) {
        close(sock);
        return PLUGSRV_ERROR;
    }
    close(sock); /* the program's alone: its exit closes the connection */
    if (exec_host->watch(conn, ec->err, PLUGSRV_READABLE, exec_on_stderr,
                         ec) != PLUGSRV_OK ||
        (ec->pidfd >= 0 && exec_host->watch(conn, ec->pidfd, PLUGSRV_READABLE,
                                            exec_on_exit, ec) != PLUGSRV_OK))
        return PLUGSRV_ERROR;
    return PLUGSRV_OK;
}

/* Shutdown: the program is asked to end as plugsrv was. */
static int
exec_stop(plugsrv_conn *conn, void *conn_state)
{
    struct exec_conn *ec = conn_state;

    (void)conn;
    if (ec != NULL && ec->pid > 0) {
        ec->stopping = 1;
        kill(ec->pid, SIGTERM);
        return PLUGSRV_OK;
    }
    return PLUGSRV_CLOSE;
}

static void
exec_close(plugsrv_conn *conn, void *conn_state)
{
    struct exec_conn *ec = conn_state;

    (void)conn;
    if (ec == NULL)
        return;
    if (ec->pid > 0) /* the connection failed under it */
        kill(ec->pid, SIGTERM);
    if (ec->err >= 0)
        close(ec->err);
    if (ec->pidfd >= 0)
        close(ec->pidfd);
    free(ec);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    exec_host = host;
    handler.name = "exec";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.init = exec_init;
    handler.open = exec_open;
    handler.close = exec_close;
    handler.stop = exec_stop;
    return &handler;
}
