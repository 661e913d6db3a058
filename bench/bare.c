/* bare_echo: the smallest correct fork-per-connection echo server, built only
 * for the benchmark. It is the floor of the process model: accept, fork, echo
 * with full writes, reap. Whatever plugsrv costs beyond this is overhead.
 * With -P SPARES it is the floor of the prefork model instead: SPARES children
 * wait in accept(), each serves one connection and exits, and the parent
 * forks a replacement for each as it takes its connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int upper_mode;
static int nagle_mode;
static volatile sig_atomic_t spares_lost; /* ended without a connection */

#define BARE_NO_CONN 3 /* a spare's exit status: it took no connection */

/* Reaps every finished child. waitpid() may clobber errno, and the accept()
 * this interrupts still needs its own errno, hence the save. */
static void
bare_on_sigchld(int sig)
{
    int saved = errno;

    int status;

    (void)sig;
    while (waitpid(-1, &status, WNOHANG) > 0)
        if (WIFEXITED(status) && WEXITSTATUS(status) == BARE_NO_CONN)
            spares_lost++;
    errno = saved;
}

static int
bare_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The child: echo until the client closes, then exit. TCP_NODELAY as
 * plugsrv does, so that the floor measures the process model and not the
 * 40 ms Nagle + delayed-ACK stall at the end of a stream (-N keeps Nagle). */
static void
bare_serve(int fd)
{
    char buf[16384];
    int one = 1;

    if (!nagle_mode)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(n == 0 ? 0 : 1);
        if (upper_mode)
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] = (char)(buf[i] - 'a' + 'A');
        if (bare_write_all(fd, buf, (size_t)n) < 0)
            _exit(1);
    }
}

static int
bare_listen(int port, int backlog)
{
    struct sockaddr_in sin;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        listen(fd, backlog) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
bare_usage(FILE *f)
{
    fprintf(f, "usage: bare_echo -p PORT [-u] [-N] [-b BACKLOG] [-P SPARES]\n"
               "  fork-per-connection echo on 127.0.0.1:PORT; -u uppercases,\n"
               "  -N keeps Nagle (no TCP_NODELAY), -P prefork: SPARES children\n"
               "  wait in accept(), one connection each\n");
}

/* The accept loop. No SA_RESTART, so accept() sees EINTR on every SIGCHLD
 * and simply goes round again. */
static int
bare_run(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pid_t pid;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("bare_echo: accept");
            sleep(1); /* EMFILE and friends: do not spin */
            continue;
        }
        pid = fork();
        if (pid == 0) {
            close(lfd);
            signal(SIGCHLD, SIG_DFL);
            bare_serve(fd);
        }
        if (pid < 0)
            perror("bare_echo: fork");
        close(fd);
    }
    return 0;
}

/* The prefork spare: one connection, then exit. It says it took one with
 * a byte on busy_fd, so that the parent replaces it at once, not when it
 * exits: a prefork server that waited would serve no more long
 * connections at a time than it has spares. A spare outlives a killed
 * parent in accept(), holding the port, unless the kernel ends it. */
static void
bare_spare(int lfd, int busy_fd)
{
    int fd;

    signal(SIGCHLD, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    do
        fd = accept(lfd, NULL, NULL);
    while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0 || write(busy_fd, "", 1) != 1)
        _exit(BARE_NO_CONN);
    close(busy_fd);
    close(lfd);
    bare_serve(fd);
}

/* The prefork parent: keeps `spares` children waiting in accept(),
 * forking one for each byte a spare sends as it takes a connection, and
 * one for each that ended without (its SIGCHLD interrupts the read). */
static int
bare_run_prefork(int lfd, int spares)
{
    int busy[2], idle = 0, lost_seen = 0;
    char took[64];

    if (pipe2(busy, O_CLOEXEC) < 0) {
        perror("bare_echo: pipe");
        return 1;
    }
    for (;;) {
        ssize_t n;
        int lost = spares_lost;

        idle -= lost - lost_seen;
        lost_seen = lost;
        while (idle < spares) {
            pid_t pid = fork();

            if (pid == 0) {
                close(busy[0]);
                bare_spare(lfd, busy[1]);
            }
            if (pid < 0) {
                perror("bare_echo: fork");
                sleep(1);
                break;
            }
            idle++;
        }
        n = read(busy[0], took, sizeof(took));
        if (n > 0)
            idle -= (int)n;
        else if (n < 0 && errno != EINTR) {
            perror("bare_echo: read");
            return 1;
        }
    }
}

int
main(int argc, char **argv)
{
    struct sigaction sa;
    int port = 0, backlog = 1024, spares = 0, opt, lfd;

    while ((opt = getopt(argc, argv, "p:b:P:uNh")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'b':
            backlog = atoi(optarg);
            break;
        case 'P':
            spares = atoi(optarg);
            break;
        case 'u':
            upper_mode = 1;
            break;
        case 'N':
            nagle_mode = 1;
            break;
        case 'h':
            bare_usage(stdout);
            return 0;
        default:
            bare_usage(stderr);
            return 2;
        }
    }
    if (port < 1 || port > 65535 || backlog < 1 || spares < 0) {
        bare_usage(stderr);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bare_on_sigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lfd = bare_listen(port, backlog);
    if (lfd < 0) {
        perror("bare_echo: listen");
        return 1;
    }
    return spares > 0 ? bare_run_prefork(lfd, spares) : bare_run(lfd);
}
