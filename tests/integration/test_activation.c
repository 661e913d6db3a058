/*
 * test_activation.c - socket activation with the real
 * systemd-socket-activate: plugsrv serves on the sockets it is handed
 * (matched by address and port, or by LISTEN_FDNAMES name), binds the
 * rest itself, keeps them across a reload, lets no connection's process
 * see them, and refuses to start, naming the socket, when one fits no
 * listener. One test passes the socket itself, so that activation is
 * tested where systemd-socket-activate is missing too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char *
activate_bin(void)
{
    static const char *const paths[] = {
        "/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate",
        "/usr/lib/systemd/systemd-socket-activate"
    };
    size_t i;

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* systemd-socket-activate binds, then starts plugsrv at the first
 * connection: c is that connection, made once the sockets are there. */
static int
activate_start(struct hs *h, const char *const *argv, int nsocks, int port)
{
    int c;

    assert_int_equal(hs_start_prep(h, argv, NULL, NULL), 0);
    assert_int_equal(hs_wait_log(h, nsocks, HS_START_MS, "Listening on", NULL),
                     0);
    c = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(c >= 0);
    return c;
}

#define SKIP_WITHOUT_ACTIVATE()                                               \
    do {                                                                      \
        if (activate_bin() == NULL) {                                         \
            fprintf(stderr, "skipped: systemd-socket-activate not found "     \
                            "(Debian package systemd)\n");                    \
            skip();                                                           \
        }                                                                     \
    } while (0)

/* One socket passed (by address), one bound by plugsrv; a reload keeps
 * the passed one; no connection's process has it. */
static void
test_activate_by_address(void **state)
{
    struct hs *h = *state;
    char listen[64], reply[4096];
    int p = hs_port(), q = hs_port(), c;
    const char *argv[] = { activate_bin(), "-l", listen,  "--fdname=web",
                           PLUGSRV_BIN,    "-c", h->conf, NULL };
    ssize_t n;

    SKIP_WITHOUT_ACTIVATE();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", p);
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
        "  { \"name\": \"echo\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"echo\" },\n"
        "  { \"name\": \"fds\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"%s\" } ] }\n",
        PLUGSRV_MODULE_DIR, p, q, TEST_MODULE("fds"));
    c = activate_start(h, argv, 1, p);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    assert_int_equal(hs_roundtrip(c, "first\n", "first\n"), 0);
    close(c);
    assert_int_equal(hs_log_count(h, "activation fd=3 name=web",
                                  "listener=echo", "from=systemd", NULL),
                     1);
    /* A connection's process (here on the socket plugsrv bound itself)
     * has no listening socket: the passed one is not inherited. */
    c = hs_connect("127.0.0.1", q, HS_IO_MS);
    assert_true(c >= 0);
    n = hs_recv_eof(c, reply, sizeof(reply) - 1, HS_IO_MS);
    assert_true(n > 0);
    reply[n] = '\0';
    close(c);
    assert_null(strstr(reply, "listen=1"));
    assert_non_null(strstr(reply, "fds=0,1,2,"));
    assert_null(strstr(reply, "\nfd3=")); /* the passed socket's number */

    /* A reload keeps the passed socket: same address, still served. */
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "reload status=ok", NULL), 0);
    c = hs_connect("127.0.0.1", p, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "again\n", "again\n"), 0);
    close(c);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* Two sockets with LISTEN_FDNAMES: one fits by address, the other by
 * name only (the unit's address wins over the config's). */
static void
test_activate_by_name(void **state)
{
    struct hs *h = *state;
    char l1[64], l2[64];
    int p = hs_port(), q = hs_port(), r = hs_port(), c;
    const char *argv[] = {
        activate_bin(),          "-l",        l1,   "-l",    l2,
        "--fdname=first:second", PLUGSRV_BIN, "-c", h->conf, NULL
    };

    SKIP_WITHOUT_ACTIVATE();
    snprintf(l1, sizeof(l1), "127.0.0.1:%d", p);
    snprintf(l2, sizeof(l2), "127.0.0.1:%d", q);
    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
        "  { \"name\": \"second\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"uppercase\" },\n"
        "  { \"name\": \"one\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"echo\" } ] }\n",
        PLUGSRV_MODULE_DIR, r, p);
    c = activate_start(h, argv, 2, p);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    assert_int_equal(hs_roundtrip(c, "by address\n", "by address\n"), 0);
    close(c);
    c = hs_connect("127.0.0.1", q, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "by name\n", "BY NAME\n"), 0);
    close(c);
    assert_int_equal(
        hs_log_count(h, "activation fd=3 name=first", "listener=one", NULL),
        1);
    assert_int_equal(hs_log_count(h, "activation fd=4 name=second",
                                  "listener=second", NULL),
                     1);
    /* The config's own address for "second" was not bound. */
    assert_int_equal(hs_connect("127.0.0.1", r, 2000), -1);
    h->passed = 1;
}

/* A passed socket no listener wants: exit 1, naming fd, name, address. */
static void
test_activate_unmatched(void **state)
{
    struct hs *h = *state;
    char listen[64], want[512];
    int p = hs_port(), q = hs_port(), c, st;
    const char *argv[] = { activate_bin(), "-l", listen,  "--fdname=stray",
                           PLUGSRV_BIN,    "-c", h->conf, NULL };

    SKIP_WITHOUT_ACTIVATE();
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", p);
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                    "  { \"address\": \"127.0.0.1\", \"port\": %d,"
                    " \"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, q);
    c = activate_start(h, argv, 1, p);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    snprintf(want, sizeof(want),
             "LISTEN_FDS: fd 3 (name \"stray\", 127.0.0.1:%d) "
             "matches no listener of %s",
             p, h->conf);
    assert_int_equal(hs_log_count(h, want, NULL), 1);
    assert_int_equal(hs_log_count(h, " ready ", NULL), 0);
    close(c);
    h->passed = 1;
}

/*
 * In the child, before exec: what systemd does for a socket unit (see
 * sd_listen_fds(3)), a listening socket on fd 3 and the variables naming
 * this very process. The tests above skip without systemd-socket-activate;
 * the merge of socket activation crashed every activated start (a null
 * l->from in listen_changed()) and no test that ran there saw it.
 */
static void
activate_prep(void *arg)
{
    const int *port = arg;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)*port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char pid[32];
    int fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
        listen(fd, 16) == -1 || (fd != 3 && dup2(fd, 3) == -1))
        _exit(126);
    if (fd != 3)
        close(fd);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    if (setenv("LISTEN_PID", pid, 1) == -1 ||
        setenv("LISTEN_FDS", "1", 1) == -1 ||
        setenv("LISTEN_FDNAMES", "web", 1) == -1)
        _exit(126);
}

/* plugsrv started with a passed socket (no systemd-socket-activate): it
 * serves on it and on the one it binds, a reload keeps both, and it stops
 * cleanly. */
static void
test_activate_direct(void **state)
{
    struct hs *h = *state;
    int p = hs_port(), q = hs_port(), c;

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
        "  { \"name\": \"upper\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"uppercase\" },\n"
        "  { \"name\": \"echo\", \"address\": \"127.0.0.1\", \"port\": %d,"
        " \"module\": \"echo\" } ] }\n",
        PLUGSRV_MODULE_DIR, q, p);
    assert_int_equal(hs_start_prep(h, NULL, activate_prep, &p), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    assert_int_equal(hs_log_count(h, "activation fd=3 name=web",
                                  "listener=echo", "from=systemd", NULL),
                     1);
    c = hs_connect("127.0.0.1", p, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "passed\n", "passed\n"), 0);
    close(c);
    c = hs_connect("127.0.0.1", q, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "bound\n", "BOUND\n"), 0);
    close(c);

    /* The reload takes both sockets over from the old listeners. */
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "reload status=ok", NULL), 0);
    c = hs_connect("127.0.0.1", p, HS_IO_MS);
    assert_true(c >= 0);
    assert_int_equal(hs_roundtrip(c, "again\n", "again\n"), 0);
    close(c);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_activate_by_address),
        T(test_activate_by_name),
        T(test_activate_unmatched),
        T(test_activate_direct),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
