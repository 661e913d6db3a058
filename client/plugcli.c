/*
 * plugcli: a full-duplex TCP client for plugsrv (or any TCP server). One
 * poll() loop copies stdin to the connection and the connection to stdout at
 * the same time; EOF on stdin half-closes, then replies print until the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * Exit statuses, also printed by -h:
 *   0  clean end: the server closed after our EOF, or it closed first and
 *      everything it sent was printed (unsent stdin is then dropped)
 *   1  connection failed, refused or reset, or an I/O error
 *   2  usage error
 *   3  timeout (-w) while connecting or while the connection was idle
 */
enum cli_exit {
    CLI_OK = 0,
    CLI_ERROR = 1,
    CLI_USAGE = 2,
    CLI_TIMEOUT = 3,
    CLI_MORE = -1 /* internal: keep looping */
};

/* Bounded on purpose: stdin is read only while its buffer has room, so a
 * server that stops reading stops us reading stdin instead of growing memory. */
#define CLI_BUFSIZE 65536

struct cli_buf {
    size_t off, len;
    char data[CLI_BUFSIZE];
};

struct cli {
    const char *host, *port; /* as typed, for messages */
    int timeout_ms;          /* -1: no -w */
    int sock;
    bool stdin_open;     /* we still read stdin */
    bool sock_wr_open;   /* we may still send */
    bool sock_rd_open;   /* the server has not closed yet */
    size_t out_chunk;    /* largest single write to stdout */
    int64_t last_ms;     /* last time bytes moved, for the idle timeout */
    struct cli_buf up;   /* stdin -> socket */
    struct cli_buf down; /* socket -> stdout */
};

static const char cli_usage_text[] =
    "usage: plugcli [-w SECONDS] HOST PORT\n"
    "Connect to HOST (IPv4/IPv6 address or host name) on PORT (number or\n"
    "service name); copy stdin to the connection and the connection to\n"
    "stdout, both at once. At EOF on stdin the sending side is shut down\n"
    "and replies are printed until the server closes.\n"
    "  -w SECONDS  give up if connecting, or the connection idles, this long\n"
    "              (default: wait forever; 0 also means forever)\n"
    "  -h          print this help and exit\n"
    "Exit status:\n"
    "  0  clean end (server closed after our EOF, or closed first and all it\n"
    "     sent was printed)\n"
    "  1  connection failed, refused or reset, or an I/O error\n"
    "  2  usage error\n"
    "  3  timeout (-w)\n";

/* Every message names the peer as typed: "plugcli: HOST:PORT: what". */
static void cli_msg(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cli_msg(const struct cli *c, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    bool v6 = strchr(c->host, ':') != NULL;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "plugcli: %s%s%s:%s: %s\n", v6 ? "[" : "", c->host,
            v6 ? "]" : "", c->port, what);
}

static int64_t
cli_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline_ms, as poll() wants them; -1 = none. */
static int
cli_left_ms(int64_t deadline_ms)
{
    int64_t left;

    if (deadline_ms < 0)
        return -1;
    left = deadline_ms - cli_now_ms();
    if (left < 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static int
cli_usage_error(const char *what)
{
    fprintf(stderr,
            "plugcli: %s\nusage: plugcli [-w SECONDS] HOST PORT "
            "(plugcli -h for help)\n",
            what);
    return CLI_USAGE;
}

static bool
cli_parse_seconds(const char *s, int *ms)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX / 1000)
        return false;
    *ms = v == 0 ? -1 : (int)v * 1000;
    return true;
}

/* Returns CLI_MORE when the command line was fine and we should connect. */
static int
cli_parse_args(struct cli *c, int argc, char **argv)
{
    int opt;

    while ((opt = getopt(argc, argv, ":hw:")) != -1) {
        switch (opt) {
        case 'h':
            fputs(cli_usage_text, stdout);
            return fflush(stdout) == 0 ? CLI_OK : CLI_ERROR;
        case 'w':
            if (!cli_parse_seconds(optarg, &c->timeout_ms))
                return cli_usage_error(
                    "-w: must be a whole number of seconds");
            break;
        case ':':
            return cli_usage_error(optopt == 'w'
                                       ? "-w: needs SECONDS"
                                       : "an option needs an argument");
        default: {
            char what[32];
            snprintf(what, sizeof(what), "-%c: unknown option", optopt);
            return cli_usage_error(what);
        }
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("expected HOST and PORT");
    c->host = argv[optind];
    c->port = argv[optind + 1];
    if (c->host[0] == '\0' || c->port[0] == '\0')
        return cli_usage_error("HOST and PORT must not be empty");
    return CLI_MORE;
}

/* The numeric form of an address, so a failure says which one it was. */
static void
cli_addr_text(const struct addrinfo *ai, char *out, size_t size)
{
    char h[NI_MAXHOST], s[NI_MAXSERV];

    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), s, sizeof(s),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(out, size, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, s);
}

/* Waits for a non-blocking connect; returns 0, or an errno (ETIMEDOUT). */
static int
cli_connect_wait(const struct cli *c, int fd)
{
    int64_t deadline = c->timeout_ms < 0 ? -1 : cli_now_ms() + c->timeout_ms;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int err = 0;
    socklen_t len = sizeof(err);
    int n;

    do
        n = poll(&p, 1, cli_left_ms(deadline));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno;
    if (n == 0)
        return ETIMEDOUT;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return errno;
    return err;
}

/*
 * One address: a non-blocking socket (we own it, so its flags are ours to
 * set) so -w can bound the connect and later sends never block the loop.
 */
static int
cli_connect_one(const struct cli *c, const struct addrinfo *ai, int *err)
{
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);

    if (fd < 0) {
        *err = errno;
        return -1;
    }
    *err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        *err = errno == EINPROGRESS ? cli_connect_wait(c, fd) : errno;
    if (*err != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Tries each resolved address in turn; returns the socket or -exit status. */
static int
cli_connect(const struct cli *c)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *list, *ai;
    char addr[NI_MAXHOST + NI_MAXSERV + 4];
    int rc, fd = -1, err = 0;

    rc = getaddrinfo(c->host, c->port, &hints, &list);
    if (rc != 0) {
        cli_msg(c, "cannot resolve: %s",
                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -CLI_ERROR;
    }
    for (ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = cli_connect_one(c, ai, &err);
        if (fd < 0) {
            cli_addr_text(ai, addr, sizeof(addr));
            cli_msg(c, "connect to %s: %s", addr,
                    err == ETIMEDOUT ? "timed out" : strerror(err));
        }
    }
    freeaddrinfo(list);
    if (fd < 0)
        return err == ETIMEDOUT ? -CLI_TIMEOUT : -CLI_ERROR;
    return fd;
}

/* Free space at the end of b, sliding the data to the front when that helps. */
static size_t
cli_buf_room(struct cli_buf *b)
{
    if (b->len == 0)
        b->off = 0;
    else if (b->off > 0 && b->off + b->len == sizeof(b->data)) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    return sizeof(b->data) - b->off - b->len;
}

static void
cli_buf_consume(struct cli_buf *b, size_t n)
{
    b->off += n;
    b->len -= n;
}

static bool
cli_transient(int err)
{
    return err == EINTR || err == EAGAIN || err == EWOULDBLOCK;
}

/* poll() said stdin is readable, so this read returns without blocking. */
static int
cli_read_stdin(struct cli *c)
{
    struct cli_buf *b = &c->up;
    ssize_t n = read(STDIN_FILENO, b->data + b->off + b->len, cli_buf_room(b));

    if (n > 0) {
        b->len += (size_t)n;
        c->last_ms = cli_now_ms();
    } else if (n == 0) {
        c->stdin_open = false;
    } else if (!cli_transient(errno)) {
        cli_msg(c, "reading stdin: %s", strerror(errno));
        return CLI_ERROR;
    }
    return CLI_MORE;
}

/*
 * A send refused with EPIPE/ECONNRESET is not the verdict yet: if the server
 * closed first, its FIN is still readable and that is a clean end; a plain
 * reset shows up as ECONNRESET on the next recv.
 */
static int
cli_send(struct cli *c)
{
    struct cli_buf *b = &c->up;
    ssize_t n = send(c->sock, b->data + b->off, b->len, MSG_NOSIGNAL);

    if (n > 0) {
        cli_buf_consume(b, (size_t)n);
        c->last_ms = cli_now_ms();
    } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        c->sock_wr_open = false;
        c->stdin_open = false;
        b->len = 0;
    } else if (n < 0 && !cli_transient(errno)) {
        cli_msg(c, "send: %s", strerror(errno));
        return CLI_ERROR;
    }
    return CLI_MORE;
}

/* The server closing ends the session: stop reading stdin, keep printing. */
static int
cli_recv(struct cli *c)
{
    struct cli_buf *b = &c->down;
    ssize_t n = recv(c->sock, b->data + b->off + b->len, cli_buf_room(b), 0);

    if (n > 0) {
        b->len += (size_t)n;
        c->last_ms = cli_now_ms();
    } else if (n == 0) {
        c->sock_rd_open = false;
        c->sock_wr_open = false;
        c->stdin_open = false;
    } else if (errno == ECONNRESET) {
        cli_msg(c, "connection reset by peer");
        return CLI_ERROR;
    } else if (!cli_transient(errno)) {
        cli_msg(c, "recv: %s", strerror(errno));
        return CLI_ERROR;
    }
    return CLI_MORE;
}

/* At most out_chunk bytes, so a write to a slow pipe after POLLOUT never blocks. */
static int
cli_write_stdout(struct cli *c)
{
    struct cli_buf *b = &c->down;
    size_t want = b->len < c->out_chunk ? b->len : c->out_chunk;
    ssize_t n = write(STDOUT_FILENO, b->data + b->off, want);

    if (n > 0) {
        cli_buf_consume(b, (size_t)n);
        c->last_ms = cli_now_ms();
    } else if (n < 0 && !cli_transient(errno)) {
        cli_msg(c, "writing stdout: %s", strerror(errno));
        return CLI_ERROR;
    }
    return CLI_MORE;
}

/* Once stdin is done and all of it was sent, tell the server with a FIN. */
static int
cli_maybe_shutdown(struct cli *c)
{
    if (c->stdin_open || c->up.len > 0 || !c->sock_wr_open)
        return CLI_MORE;
    c->sock_wr_open = false;
    if (shutdown(c->sock, SHUT_WR) < 0 && errno != ENOTCONN) {
        cli_msg(c, "shutdown: %s", strerror(errno));
        return CLI_ERROR;
    }
    return CLI_MORE;
}

/* Asks only for what can make progress; fd -1 makes poll() skip an entry. */
static void
cli_poll_set(struct cli *c, struct pollfd p[3])
{
    short sev = 0;

    p[0] = (struct pollfd){ .fd = -1, .events = POLLIN };
    if (c->stdin_open && cli_buf_room(&c->up) > 0)
        p[0].fd = STDIN_FILENO;
    if (c->sock_rd_open && cli_buf_room(&c->down) > 0)
        sev |= POLLIN;
    if (c->sock_wr_open && c->up.len > 0)
        sev |= POLLOUT;
    p[1] = (struct pollfd){ .fd = sev ? c->sock : -1, .events = sev };
    p[2] = (struct pollfd){ .fd = c->down.len > 0 ? STDOUT_FILENO : -1,
                            .events = POLLOUT };
}

static bool
cli_ready(const struct pollfd *p, short ev)
{
    return p->fd >= 0 && (p->revents & (ev | POLLERR | POLLHUP));
}

/* Serves whatever poll() reported; stops at the first fatal error. */
static int
cli_dispatch(struct cli *c, const struct pollfd p[3])
{
    int i;
    int rc = CLI_MORE;

    for (i = 0; i < 3; i++) {
        if (p[i].fd >= 0 && (p[i].revents & POLLNVAL)) {
            cli_msg(c, "fd %d: not open", p[i].fd);
            return CLI_ERROR;
        }
    }
    if (cli_ready(&p[0], POLLIN))
        rc = cli_read_stdin(c);
    if (rc == CLI_MORE && cli_ready(&p[1], POLLOUT) && (p[1].events & POLLOUT))
        rc = cli_send(c);
    if (rc == CLI_MORE && cli_ready(&p[1], POLLIN) && (p[1].events & POLLIN))
        rc = cli_recv(c);
    if (rc == CLI_MORE && cli_ready(&p[2], POLLOUT))
        rc = cli_write_stdout(c);
    return rc;
}

/* The session: ends when the server has closed and all it sent is printed. */
static int
cli_run(struct cli *c)
{
    struct pollfd p[3];
    int rc = CLI_MORE;

    c->last_ms = cli_now_ms();
    while (rc == CLI_MORE) {
        rc = cli_maybe_shutdown(c);
        if (rc != CLI_MORE)
            break;
        if (!c->sock_rd_open && c->down.len == 0)
            return CLI_OK;
        cli_poll_set(c, p);
        int n = poll(
            p, 3,
            cli_left_ms(c->timeout_ms < 0 ? -1 : c->last_ms + c->timeout_ms));
        if (n < 0 && errno != EINTR) {
            cli_msg(c, "poll: %s", strerror(errno));
            return CLI_ERROR;
        }
        if (n == 0) {
            cli_msg(c, "timed out: idle for %d s", c->timeout_ms / 1000);
            return CLI_TIMEOUT;
        }
        if (n > 0)
            rc = cli_dispatch(c, p);
    }
    return rc;
}

/* Pipes and sockets take PIPE_BUF without blocking once writable; files any size. */
static size_t
cli_stdout_chunk(void)
{
    struct stat st;

    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
        return CLI_BUFSIZE;
    return PIPE_BUF;
}

/*
 * Started with fd 0, 1 or 2 closed, socket() would hand us that number and
 * we would talk to ourselves; /dev/null stands in for a missing one.
 */
static void
cli_guard_stdio(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++) {
        /* open() takes the lowest free number, which is this fd. */
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
            open("/dev/null", O_RDWR) < 0)
            return;
    }
}

int
main(int argc, char **argv)
{
    static struct cli c; /* two 64 KiB buffers: keep them off the stack */
    int rc;

    cli_guard_stdio();
    c.timeout_ms = -1;
    rc = cli_parse_args(&c, argc, argv);
    if (rc != CLI_MORE)
        return rc;
    /* A closed stdout must be an error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    c.out_chunk = cli_stdout_chunk();
    c.sock = cli_connect(&c);
    if (c.sock < 0)
        return -c.sock;
    c.stdin_open = c.sock_wr_open = c.sock_rd_open = true;
    rc = cli_run(&c);
    close(c.sock);
    return rc;
}
