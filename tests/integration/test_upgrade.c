/*
 * test_upgrade.c - SIGUSR2, a restart onto a new binary and a config a
 * reload could not take, that refuses and resets no connection: under a
 * client loop that verifies every reply, the old plugsrv hands its
 * listening sockets to the new one and leaves once it is ready; a
 * connection open before keeps working until it ends; a new process that
 * fails leaves the old one serving; systemd's MAINPID moves over.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define LOAD_MAX     200000 /* connections the client loop makes at most */
#define LOAD_MS      90000  /* and for at most this long */
#define LOAD_CLIENTS 4      /* client loops at once: connections in flight */
/* Accepts to see before the switch, and by the new process after it;
 * fewer under ASan, where every fork of the parent is slow. */
#define LOAD_SEEN  (hs_sanitized() ? 20 : 50)
#define LOAD_AFTER (hs_sanitized() ? 60 : 200)
#define SHUTDOWN_S 30    /* the old one's grace for open connections */
#define UPGRADE_MS 30000 /* for the new process to be ready */

/* What the client loop saw. */
struct load_counts {
    long ok, refused, reset, wrong, other;
};

/* One connection: "req N\n" out, the same back, verified. */
static void
load_one(int port, long i, struct load_counts *lc)
{
    struct timeval tv = { .tv_sec = HS_IO_MS / 1000, .tv_usec = 0 };
    char msg[64], buf[64];
    size_t len, got = 0;
    ssize_t n;
    int fd;

    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    if (fd < 0) {
        if (errno == ECONNREFUSED)
            lc->refused++;
        else
            lc->other++;
        return;
    }
    fcntl(fd, F_SETFL, 0); /* blocking, bounded by the timeouts */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    len = (size_t)snprintf(msg, sizeof(msg), "req %ld\n", i);
    n = send(fd, msg, len, MSG_NOSIGNAL);
    while (n == (ssize_t)len && got < len &&
           (n = recv(fd, buf + got, len - got, 0)) > 0) {
        got += (size_t)n;
        n = (ssize_t)len;
    }
    if (got == len && memcmp(buf, msg, len) == 0)
        lc->ok++;
    else if (n < 0 && (errno == ECONNRESET || errno == EPIPE))
        lc->reset++;
    else if (n < 0)
        lc->other++;
    else
        lc->wrong++;
    close(fd);
}

/* The client loop, in its own process until stopfd is closed; the
 * counts go back on resfd. */
static __attribute__((noreturn)) void
load_run(int stopfd, int resfd, const int *ports, int nports)
{
    struct pollfd p = { .fd = stopfd, .events = POLLIN };
    struct load_counts lc = { 0 };
    long long end = hs_now_ms() + LOAD_MS;
    long i;

    for (i = 0; i < LOAD_MAX && hs_now_ms() < end; i++) {
        if (poll(&p, 1, 0) != 0)
            break;
        load_one(ports[i % nports], i, &lc);
    }
    if (write(resfd, &lc, sizeof(lc)) != (ssize_t)sizeof(lc))
        _exit(1);
    _exit(0);
}

struct load {
    pid_t pid;
    int stop, res;
};

/* Starts client loop ld[i]; it must not hold the pipes of those before
 * it, or closing one would not stop them. */
static void
load_start(struct load *ld, int i, const int *ports, int nports)
{
    int s[2], r[2], j;

    assert_int_equal(pipe2(s, O_CLOEXEC), 0);
    assert_int_equal(pipe2(r, O_CLOEXEC), 0);
    ld[i].pid = fork();
    assert_true(ld[i].pid >= 0);
    if (ld[i].pid == 0) {
        for (j = 0; j < i; j++) {
            close(ld[j].stop);
            close(ld[j].res);
        }
        close(s[1]);
        close(r[0]);
        load_run(s[0], r[1], ports, nports);
    }
    close(s[0]);
    close(r[1]);
    ld[i].stop = s[1];
    ld[i].res = r[0];
}

/* Stops one client loop and adds its counts to lc. */
static void
load_stop(struct load *ld, struct load_counts *lc)
{
    struct load_counts one;
    int st;
    struct pollfd p = { .fd = ld->res, .events = POLLIN };

    close(ld->stop);
    /* One write of a few bytes into a pipe: it arrives whole. */
    assert_int_equal(poll(&p, 1, HS_IO_MS * 2), 1);
    assert_int_equal(read(ld->res, &one, sizeof(one)), (ssize_t)sizeof(one));
    lc->ok += one.ok;
    lc->refused += one.refused;
    lc->reset += one.reset;
    lc->wrong += one.wrong;
    lc->other += one.other;
    close(ld->res);
    assert_int_equal(waitpid(ld->pid, &st, 0), ld->pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Copies the plugsrv binary to path (through a temp file and rename(),
 * as a package upgrade does); its inode. */
static ino_t
copy_binary(struct hs *h, const char *path)
{
    char tmp[512], buf[65536];
    struct stat st;
    ssize_t n;
    int in, out;

    hs_path(h, "plugsrv.tmp", tmp, sizeof(tmp));
    in = open(PLUGSRV_BIN, O_RDONLY | O_CLOEXEC);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(n, 0);
    close(in);
    assert_int_equal(close(out), 0);
    assert_int_equal(rename(tmp, path), 0);
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

/* The pid the upgrade started, from the old one's log. */
static pid_t
upgrade_wait_ready(struct hs *h)
{
    char line[512], pid[32];

    assert_int_equal(
        hs_wait_log(h, 1, UPGRADE_MS, "upgrade status=ready pid=", NULL), 0);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "upgrade status=ready", NULL), 0);
    hs_log_value(line, "pid", pid, sizeof(pid));
    assert_true(atoi(pid) > 0);
    return (pid_t)atoi(pid);
}

static void
write_config(struct hs *h, int p, int p2, int moved, int added)
{
    char extra[256] = "";

    if (added > 0)
        snprintf(extra, sizeof(extra),
                 ",\n  { \"name\": \"added\", \"address\": \"127.0.0.1\", "
                 "\"port\": %d, \"module\": \"uppercase\" }",
                 added);
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"shutdown_timeout\": %d,\n"
        "  \"listeners\": [\n"
        "  { \"name\": \"echo\", \"address\": \"127.0.0.1\", \"port\": %d, "
        "\"module\": \"echo\" },\n"
        "  { \"name\": \"pre\", \"address\": \"127.0.0.1\", \"port\": %d, "
        "\"module\": \"echo\", \"mode\": \"prefork\", \"spare\": 2 },\n"
        "  { \"name\": \"moved\", \"address\": \"127.0.0.1\", \"port\": %d, "
        "\"module\": \"echo\" }%s ] }\n",
        PLUGSRV_MODULE_DIR, SHUTDOWN_S, p, p2, moved, extra);
}

static void
start_copy(struct hs *h, char *bin, size_t len)
{
    const char *argv[] = { bin, "-c", h->conf, NULL };

    hs_path(h, "plugsrv", bin, len);
    copy_binary(h, bin);
    assert_int_equal(hs_start_prep(h, argv, NULL, NULL), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
}

/*
 * The measurement: a client loop on a fork and a prefork listener, every
 * reply verified, while the binary is replaced and the config moves a
 * listener and adds one; SIGUSR2. Nothing refused, reset or wrong; the
 * new pid runs the new file and the new config; a connection opened
 * before the switch keeps working until it closes.
 */
static void
test_upgrade_under_load(void **state)
{
    struct hs *h = *state;
    int ports[2] = { hs_port(), hs_port() }, q = hs_port(), q2 = hs_port(),
        r = hs_port(), c, st, i;
    char bin[512], want[64], exe[64];
    struct load_counts lc;
    struct load ld[LOAD_CLIENTS];
    pid_t old, new;
    struct stat sb;
    ino_t ino;

    write_config(h, ports[0], ports[1], q, 0);
    start_copy(h, bin, sizeof(bin));
    old = h->pid;
    c = hs_connect("127.0.0.1", ports[0], HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "before\n", "before\n"), 0);
    for (i = 0; i < LOAD_CLIENTS; i++)
        load_start(ld, i, ports, 2);
    assert_int_equal(hs_wait_log(h, LOAD_SEEN, HS_IO_MS, ": accept ", NULL),
                     0);

    ino = copy_binary(h, bin);
    write_config(h, ports[0], ports[1], q2, r);
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    new = upgrade_wait_ready(h);
    assert_true(new != old);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "shutdown reason=upgrade", NULL), 0);
    /* The connection from before is the old process's; it still works. */
    assert_int_equal(hs_roundtrip(c, "during\n", "during\n"), 0);
    snprintf(want, sizeof(want), "plugsrv[%ld]: accept ", (long)new);
    assert_int_equal(hs_wait_log(h, LOAD_AFTER, HS_IO_MS * 4, want, NULL), 0);
    memset(&lc, 0, sizeof(lc));
    for (i = 0; i < LOAD_CLIENTS; i++)
        load_stop(&ld[i], &lc);
    print_message("upgrade under load: ok=%ld refused=%ld reset=%ld "
                  "wrong=%ld other=%ld\n",
                  lc.ok, lc.refused, lc.reset, lc.wrong, lc.other);
    assert_int_equal(lc.refused, 0);
    assert_int_equal(lc.reset, 0);
    assert_int_equal(lc.wrong, 0);
    assert_int_equal(lc.other, 0);
    assert_true(lc.ok >= LOAD_SEEN + LOAD_AFTER);

    /* The old one leaves once its last connection is done, not before. */
    assert_true(hs_alive(h));
    assert_int_equal(hs_roundtrip(c, "last\n", "last\n"), 0);
    close(c);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    snprintf(want, sizeof(want), "plugsrv[%ld]: stop children=0", (long)old);
    assert_int_equal(hs_log_count(h, want, NULL), 1);

    /* The new process: the new file, the new config. */
    assert_int_equal(hs_follow(h, new), 0);
    snprintf(exe, sizeof(exe), "/proc/%ld/exe", (long)new);
    assert_int_equal(stat(exe, &sb), 0);
    assert_true(sb.st_ino == ino);
    c = hs_connect("127.0.0.1", r, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "added\n", "ADDED\n"), 0);
    close(c);
    c = hs_connect("127.0.0.1", q2, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "moved\n", "moved\n"), 0);
    close(c);
    assert_int_equal(hs_connect("127.0.0.1", q, 2000), -1);
    assert_int_equal(
        hs_log_count(h, "activation fd=", "name=moved", "action=closed", NULL),
        1);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* A new process that cannot start (a broken config) leaves the old one
 * serving and saying why; a second try, fixed, goes through. */
static void
test_upgrade_fails(void **state)
{
    struct hs *h = *state;
    int ports[2] = { hs_port(), hs_port() }, q = hs_port(), c;
    char bin[512];
    pid_t old, new;

    write_config(h, ports[0], ports[1], q, 0);
    start_copy(h, bin, sizeof(bin));
    old = h->pid;
    hs_write_config(h, "{ \"listeners\": [ }\n");
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    assert_int_equal(
        hs_wait_log(h, 1, UPGRADE_MS, "upgrade status=error", NULL), 0);
    assert_int_equal(hs_log_count(h, "server.json", "plugsrv: ", NULL) >= 1,
                     1);
    assert_true(hs_alive(h));
    c = hs_connect("127.0.0.1", ports[0], HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "still\n", "still\n"), 0);
    close(c);

    write_config(h, ports[0], ports[1], q, 0);
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    new = upgrade_wait_ready(h);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    assert_true(new != old);
    assert_int_equal(hs_follow(h, new), 0);
    c = hs_connect("127.0.0.1", ports[1], HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "new\n", "new\n"), 0);
    close(c);
    h->passed = 1;
}

static void
notify_env(void *arg)
{
    setenv("NOTIFY_SOCKET", arg, 1);
}

/* Reads datagrams until one holds want, within timeout_ms; 0 if found
 * (the datagram in buf). Also fails on a datagram holding never. */
static int
notify_expect(int fd, const char *want, const char *never, char *buf,
              size_t len, int timeout_ms)
{
    long long end = hs_now_ms() + timeout_ms;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    ssize_t n;

    while (hs_now_ms() < end) {
        if (poll(&p, 1, (int)(end - hs_now_ms())) <= 0)
            continue;
        if ((n = recv(fd, buf, len - 1, 0)) < 0)
            return -1;
        buf[n] = '\0';
        if (never != NULL && strstr(buf, never) != NULL)
            return -1;
        if (strstr(buf, want) != NULL)
            return 0;
    }
    return -1;
}

/* Does any datagram already queued on fd hold s? */
static int
notify_queued_has(int fd, const char *s)
{
    char buf[1024];
    ssize_t n;
    int i, found = 0;

    for (i = 0; i < 1000; i++) {
        if ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) < 0)
            break;
        buf[n] = '\0';
        found |= strstr(buf, s) != NULL;
    }
    return found;
}

/* systemd's view: MAINPID= moves to the new process, the old one does
 * not say STOPPING=1, the new one speaks for the service from then on. */
static void
test_upgrade_mainpid(void **state)
{
    struct hs *h = *state;
    int ports[2] = { hs_port(), hs_port() }, q = hs_port(), fd;
    struct sockaddr_un sun;
    char path[512], buf[1024], want[64];
    const char *argv[] = { PLUGSRV_BIN, "-c", h->conf, NULL };
    pid_t new;

    hs_path(h, "notify.sock", path, sizeof(path));
    assert_true(strlen(path) < sizeof(sun.sun_path));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    write_config(h, ports[0], ports[1], q, 0);
    assert_int_equal(hs_start_prep(h, argv, notify_env, path), 0);
    assert_int_equal(
        notify_expect(fd, "READY=1", NULL, buf, sizeof(buf), HS_START_MS), 0);
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    new = upgrade_wait_ready(h);
    snprintf(want, sizeof(want), "MAINPID=%ld\n", (long)new);
    assert_int_equal(
        notify_expect(fd, want, "STOPPING=1", buf, sizeof(buf), HS_IO_MS), 0);
    assert_non_null(strstr(buf, "READY=1"));
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    /* The old one has ended: all it sent is queued, and none of it said
     * the service was stopping. */
    assert_int_equal(notify_queued_has(fd, "STOPPING=1"), 0);
    assert_int_equal(hs_follow(h, new), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(
        notify_expect(fd, "STOPPING=1", NULL, buf, sizeof(buf), HS_EXIT_MS),
        0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    close(fd);
    h->passed = 1;
}

/* The metrics endpoint's one scrape: 1 if it answered 200 with the
 * accepted counter of listener echo. */
static int
scrape_ok(int port)
{
    char buf[65536];
    ssize_t n;
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    if (fd < 0 ||
        hs_send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    n = hs_recv_eof(fd, buf, sizeof(buf) - 1, HS_IO_MS);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0 &&
           strstr(buf,
                  "plugsrv_connections_accepted_total{listener=\"echo\"}") !=
               NULL;
}

/* With the metrics endpoint on, the upgrade hands its socket on too (it
 * failed: "metrics: bind: Address already in use"); the new process
 * answers scrapes on it, and says the socket was passed. */
static void
test_upgrade_metrics(void **state)
{
    struct hs *h = *state;
    int p = hs_port(), m = hs_port();
    pid_t old, new;

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"metrics\": { \"port\": %d },\n"
        "  \"listeners\": [ { \"name\": \"echo\", \"address\": "
        "\"127.0.0.1\", \"port\": %d, \"module\": \"echo\" } ] }\n",
        PLUGSRV_MODULE_DIR, m, p);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(scrape_ok(m), 1);
    old = h->pid;
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    new = upgrade_wait_ready(h);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    assert_true(new != old);
    assert_int_equal(hs_follow(h, new), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "listen listener=metrics",
                                 "from=passed", NULL),
                     0);
    assert_int_equal(scrape_ok(m), 1);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

/* A prefork pool at its max_connections, on port p; with a second
 * listener on q when q is not 0. */
static void
full_pool_config(struct hs *h, int p, int q)
{
    char second[256] = "";

    if (q != 0)
        snprintf(second, sizeof(second),
                 ",\n  { \"address\": \"127.0.0.1\", \"port\": %d, "
                 "\"module\": \"echo\" }",
                 q);
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"idle_timeout\": 30,\n"
        "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,\n"
        "    \"module\": \"echo\", \"mode\": \"prefork\", \"spare\": 1,\n"
        "    \"max_connections\": 1 }%s ] }\n",
        PLUGSRV_MODULE_DIR, p, second);
}

/* The new process of a failed upgrade configured the sockets it was
 * handed (blocking, for its own spares) before it gave up. The old one,
 * serving on, puts them back as its config wants: its full pool still
 * refuses without blocking in accept(), and SIGTERM still stops it. */
static void
test_failed_upgrade_gives_sockets_back(void **state)
{
    struct hs *h = *state;
    int p = hs_port(), q = hs_port(), held, busy, c;

    full_pool_config(h, p, 0);
    assert_int_equal(hs_start_ready(h), 0);
    held = hs_connect("127.0.0.1", p, HS_IO_MS);
    assert_true(held >= 0);
    assert_int_equal(hs_roundtrip(held, "x\n", "x\n"), 0);
    /* The new process will find q taken. */
    assert_true((busy = hs_hold_port(q)) >= 0);
    full_pool_config(h, p, q);
    assert_int_equal(hs_signal(h, SIGUSR2), 0);
    assert_int_equal(
        hs_wait_log(h, 1, UPGRADE_MS, "upgrade status=error", NULL), 0);
    close(busy);
    c = hs_connect("127.0.0.1", p, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_wait_closed(c, 5000), 1);
    close(c);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, " refuse ",
                                 "reason=listener_max_connections", NULL),
                     0);
    close(held);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, " exit ", "peer=127", NULL),
                     0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_upgrade_under_load),
        T(test_upgrade_fails),
        T(test_upgrade_mainpid),
        T(test_upgrade_metrics),
        T(test_failed_upgrade_gives_sockets_back),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
