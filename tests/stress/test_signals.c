/*
 * test_signals.c - signals at bad moments: a SIGHUP storm while plugload
 * runs, SIGTERM in the middle of a load, and a SIGCHLD burst of 200
 * children ending together. No reply may be wrong, no child lost to the
 * reaper, no zombie left; the log's exits are exactly its accepts.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "stress.h"

static int
st_two_listeners(struct hs *h, int port_echo, int port_sfx,
                 int shutdown_timeout)
{
    return hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"max_connections\": 1024,\n"
        "  \"idle_timeout\": 30, \"shutdown_timeout\": %d,\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" "
        "},\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
        "\"suffix\",\n"
        "    \"options\": { \"suffix\": \"-sfx\" } }\n"
        "] }\n",
        PLUGSRV_MODULE_DIR, shutdown_timeout, port_echo, port_sfx);
}

#define HUP_ROUNDS 10
#define HUP_BURST  5

/* 50 SIGHUPs, in bursts of 5, each burst answered by a reload, while one
 * load keeps 20 connections busy and another opens new ones. */
static void
test_hup_storm(void **state)
{
    struct hs *h = *state;
    struct st_load rr, conn;
    int pe = hs_port(), ps = hs_port(), round, i, bad = 0, live = 0;
    long nrr = hs_sanitized() ? 5000 : 40000;
    long nconn = hs_sanitized() ? 300 : 1500;

    assert_int_equal(st_two_listeners(h, pe, ps, 5), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(
        st_load_start(h, &rr, "rr", pe, "rr", "echo", nrr, 20, 60), 0);
    assert_int_equal(st_load_start(h, &conn, "conn", ps, "conn", "suffix:-sfx",
                                   nconn, 10, 60),
                     0);
    /* the load is under way */
    assert_int_equal(hs_wait_log(h, 25, HS_IO_MS, "]: accept ", NULL), 0);
    for (round = 0; round < HUP_ROUNDS; round++) {
        int before = hs_log_count(h, "]: reload ", NULL);

        for (i = 0; i < HUP_BURST; i++)
            assert_int_equal(hs_signal(h, SIGHUP), 0);
        assert_int_equal(
            hs_wait_log(h, before + 1, HS_IO_MS, "]: reload ", NULL), 0);
    }
    live = hs_pid_exists(rr.pid) + hs_pid_exists(conn.pid);
    bad += st_load_wait(&rr, 70000) != 0;
    bad += st_load_wait(&conn, 70000) != 0;
    fprintf(stderr,
            "hup storm: %d reloads, %d loads still running at the "
            "end of the storm\n",
            hs_log_count(h, "]: reload ", NULL), live);
    assert_int_equal(bad, 0);
    assert_true(hs_log_count(h, "]: reload status=ok", NULL) >= HUP_ROUNDS);
    assert_int_equal(hs_log_count(h, "]: reload status=error", NULL), 0);
    assert_int_equal(hs_log_count(h, "]: error ", NULL), 0);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_log_count(h, "]: exit ", NULL),
                     hs_log_count(h, "]: exit ", "reason=ok", NULL));
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* SIGTERM while 40 connections are busy: exit 0 within shutdown_timeout
 * and a margin, every accepted connection logged as ended, no process
 * left behind. */
static void
test_term_under_load(void **state)
{
    struct hs *h = *state;
    struct st_load rr, conn;
    int pe = hs_port(), ps = hs_port(), status;
    long long t0, took;

    assert_int_equal(st_two_listeners(h, pe, ps, 2), 0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(
        st_load_start(h, &rr, "rr", pe, "rr", "echo", 10000000, 20, 30), 0);
    assert_int_equal(st_load_start(h, &conn, "conn", ps, "conn", "suffix:-sfx",
                                   10000000, 20, 30),
                     0);
    assert_int_equal(hs_wait_log(h, 200, HS_IO_MS, "]: accept ", NULL), 0);
    t0 = hs_now_ms();
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    status = hs_wait_exit(h, 2000 + 5000);
    took = hs_now_ms() - t0;
    fprintf(stderr,
            "term under load: exit status %d after %lld ms, %d "
            "accepts\n",
            status, took, hs_log_count(h, "]: accept ", NULL));
    /* The loads lose their server, as they should: end them. */
    kill(rr.pid, SIGKILL);
    kill(conn.pid, SIGKILL);
    st_load_wait(&rr, HS_EXIT_MS);
    st_load_wait(&conn, HS_EXIT_MS);
    assert_int_equal(status, 0);
    assert_int_equal(hs_log_count(h, "]: shutdown signal=SIGTERM", NULL), 1);
    assert_int_equal(hs_log_count(h, "]: stop ", NULL), 1);
    assert_int_equal(hs_log_count(h, "]: exit ", NULL),
                     hs_log_count(h, "]: accept ", NULL));
    assert_int_equal(hs_orphans(h), 0);
    h->passed = 1;
}

#define BURST 200

/* 200 connections held open, then closed together: 200 SIGCHLDs at once. */
static void
test_sigchld_burst(void **state)
{
    struct hs *h = *state;
    static pid_t acc[BURST + 8], ex[BURST + 8];
    int fds[BURST], pe = hs_port(), ps = hs_port(), i, na, ne;
    char msg[32];

    assert_int_equal(st_two_listeners(h, pe, ps, 5), 0);
    assert_int_equal(hs_start_ready(h), 0);
    for (i = 0; i < BURST; i++) {
        fds[i] = hs_connect("127.0.0.1", i % 2 ? ps : pe, HS_IO_MS);
        assert_true(fds[i] >= 0);
    }
    /* every one is served by its own process */
    for (i = 0; i < BURST; i++) {
        char want[40];

        snprintf(msg, sizeof(msg), "c%d\n", i);
        snprintf(want, sizeof(want), i % 2 ? "c%d-sfx\n" : "c%d\n", i);
        assert_int_equal(hs_roundtrip(fds[i], msg, want), 0);
    }
    assert_int_equal(hs_children(h->pid), BURST);
    for (i = 0; i < BURST; i++)
        close(fds[i]);
    assert_int_equal(hs_wait_log(h, BURST, 20000, "]: exit ", NULL), 0);
    assert_int_equal(hs_log_count(h, "]: exit ", "reason=ok", NULL), BURST);
    na = st_log_pids(h, "accept", acc, BURST + 8);
    ne = st_log_pids(h, "exit", ex, BURST + 8);
    assert_int_equal(na, BURST);
    assert_true(st_same_pids(acc, na, ex, ne));
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_orphans(h), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hup_storm, hs_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_term_under_load, hs_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_sigchld_burst, hs_setup,
                                        st_teardown),
    };

    st_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
