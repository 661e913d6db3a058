/*
 * test_soak.c - the soak: four listeners (echo, uppercase, suffix, quit),
 * plugload at concurrency 200 over all four at once, every reply checked
 * byte for byte. Afterwards the parent must be as it started: every accept
 * has its exit, no child and no zombie, the same fds, the same RSS (within
 * a small margin). PLUGSRV_SOAK_CONNS sets the total (CI: 4000, 1000 under
 * sanitizers; by hand: 50000).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "stress.h"

#define NLOADS        4
#define CONC_TOTAL    200
#define RSS_MARGIN_KB 256
/* ASan's quarantine holds freed memory back on purpose: only a gross
 * leak can show through it. */
#define RSS_MARGIN_ASAN_KB 4096

static void
test_soak(void **state)
{
    struct hs *h = *state;
    static const char *names[NLOADS] = { "echo", "upper", "suffix", "quit" };
    static const char *xforms[NLOADS] = { "echo", "upper", "suffix:-sfx",
                                          "echo" };
    struct st_load ld[NLOADS];
    long total =
        st_env_long("PLUGSRV_SOAK_CONNS", hs_sanitized() ? 1000 : 4000);
    long per = (total + NLOADS - 1) / NLOADS, rss0, rss1;
    int port[NLOADS], fds0, fds1, i, bad = 0, hard = 30 + (int)(total / 200);
    long long t0;

    for (i = 0; i < NLOADS; i++)
        port[i] = hs_port();
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"max_connections\": 1024,\n"
            "  \"idle_timeout\": 30,\n"
            "  \"listeners\": [\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"echo\" },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"uppercase\" },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"suffix\",\n"
            "    \"options\": { \"suffix\": \"-sfx\" } },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"quit\" }\n"
            "] }\n",
            PLUGSRV_MODULE_DIR, port[0], port[1], port[2], port[3]),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    fds0 = hs_fd_count(h->pid);
    rss0 = st_rss_kb(h->pid);
    assert_true(fds0 > 0 && rss0 > 0);

    t0 = hs_now_ms();
    for (i = 0; i < NLOADS; i++)
        assert_int_equal(st_load_start(h, &ld[i], names[i], port[i], "conn",
                                       xforms[i], per, CONC_TOTAL / NLOADS,
                                       hard),
                         0);
    for (i = 0; i < NLOADS; i++)
        bad += st_load_wait(&ld[i], (hard + 10) * 1000) != 0 ||
               st_load_value(&ld[i], "ops") != per;
    assert_int_equal(bad, 0);
    fprintf(stderr, "soak: %ld connections in %lld ms\n", per * NLOADS,
            hs_now_ms() - t0);

    /* Every connection accepted has been reaped and logged. */
    assert_int_equal(st_wait_balanced(h, 30000), 0);
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), per * NLOADS);
    assert_int_equal(hs_log_count(h, "]: exit ", "reason=ok", NULL),
                     per * NLOADS);
    assert_int_equal(hs_log_count(h, "]: error ", NULL), 0);
    assert_int_equal(hs_log_count(h, "]: refuse ", NULL), 0);
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_orphans(h), 0);

    fds1 = hs_fd_count(h->pid);
    rss1 = st_rss_kb(h->pid);
    fprintf(stderr, "soak: parent fds %d -> %d, VmRSS %ld -> %ld KiB\n", fds0,
            fds1, rss0, rss1);
    assert_int_equal(fds1, fds0);
    assert_true(rss1 <=
                rss0 + (hs_sanitized() ? RSS_MARGIN_ASAN_KB : RSS_MARGIN_KB));

    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_soak, hs_setup, st_teardown),
    };

    st_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
