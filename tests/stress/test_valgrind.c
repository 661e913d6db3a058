/*
 * test_valgrind.c - the parent under valgrind's memcheck through a short
 * mixed load and a SIGTERM: it must exit 0, i.e. no memory error and no
 * definite leak (--error-exitcode=99). Only the parent is judged; the
 * forked children run silent (--child-silent-after-fork). Skipped when
 * valgrind is missing and in the sanitizer build.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stress.h"

#define VG_START_MS 60000
#define VG_EXIT_MS  60000
/* max_connections above the total: the subject here is memory; the
 * reaper under sustained load is the soak's. */
/* Connections per listener: each child under valgrind costs ~0.1-1 s.
 * 100 took 36-41 s of plugload's 60 s on an idle machine, and ran out
 * twice on a loaded one; the parent's paths are as well covered by 50. */
#define VG_CONNS 50

/* valgrind's path from $PATH into buf; 0, or -1 if there is none. */
static int
st_find_valgrind(char *buf, size_t len)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL;
    int rc = -1;

    copy = strdup(path != NULL && *path ? path : "/usr/bin:/bin");
    if (copy == NULL)
        return -1;
    for (dir = strtok_r(copy, ":", &save); dir != NULL && rc < 0;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(buf, len, "%s/valgrind", dir);
        if (access(buf, X_OK) == 0)
            rc = 0;
    }
    free(copy);
    return rc;
}

static void
st_show_file(const char *path)
{
    char line[1024];
    FILE *f = fopen(path, "re");
    int n = 0;

    if (f == NULL)
        return;
    fprintf(stderr, "--- %s:\n", path);
    while (fgets(line, sizeof(line), f) != NULL && n++ < 200)
        fputs(line, stderr);
    fclose(f);
}

static void
test_valgrind(void **state)
{
    struct hs *h = *state;
    static const char *xf[3] = { "echo", "upper", "suffix:-sfx" };
    static const char *tags[3] = { "echo", "upper", "suffix" };
    char vg[512], logopt[600], vglog[512];
    const char *argv[] = { vg,
                           "--tool=memcheck",
                           "--leak-check=full",
                           "--errors-for-leak-kinds=definite",
                           "--error-exitcode=99",
                           "--trace-children=no",
                           "--child-silent-after-fork=yes",
                           logopt,
                           PLUGSRV_BIN,
                           "-c",
                           h->conf,
                           NULL };
    struct st_load ld[3];
    int port[3], i, bad = 0, status;

    if (hs_sanitized() || st_find_valgrind(vg, sizeof(vg)) < 0) {
        h->passed = 1;
        skip();
    }
    hs_path(h, "valgrind.log", vglog, sizeof(vglog));
    snprintf(logopt, sizeof(logopt), "--log-file=%s", vglog);
    for (i = 0; i < 3; i++)
        port[i] = hs_port();
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"idle_timeout\": 30,\n"
            "  \"shutdown_timeout\": 5, \"max_connections\": 1024,\n"
            /* valgrind's children cannot take the default rlimits (its own
         * mappings pass the address-space limit): inherit instead */
            "  \"rlimits\": { \"cpu\": 0, \"as\": 0, \"nofile\": 0 },\n"
            /* Memory the parent keeps out of its children (MADV_DONTFORK)
             * is still mapped in valgrind's view of a child, and its leak
             * scan at the child's exit faults on every word of it: about
             * 1 s per child for the 2 MiB per-source table. */
            "  \"max_per_source\": 0,\n"
            "  \"listeners\": [\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"echo\" },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"uppercase\" },\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"suffix\",\n"
            "    \"options\": { \"suffix\": \"-sfx\" } } ] }\n",
            PLUGSRV_MODULE_DIR, port[0], port[1], port[2]),
        0);
    if (st_start_ready(h, argv, NULL, NULL, VG_START_MS) < 0) {
        st_show_file(vglog);
        fail_msg("plugsrv did not start under valgrind");
    }
    for (i = 0; i < 3; i++)
        assert_int_equal(st_load_start(h, &ld[i], tags[i], port[i], "conn",
                                       xf[i], VG_CONNS, 10, 60),
                         0);
    for (i = 0; i < 3; i++)
        bad += st_load_wait(&ld[i], 70000) != 0;
    assert_int_equal(bad, 0);
    assert_int_equal(st_wait_balanced(h, 30000), 0);
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), 3 * VG_CONNS);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    status = hs_wait_exit(h, VG_EXIT_MS);
    fprintf(stderr, "valgrind: plugsrv's wait status %d\n", status);
    if (status != 0)
        st_show_file(vglog);
    assert_int_equal(status, 0);
    assert_int_equal(hs_orphans(h), 0);
    h->passed = 1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valgrind, hs_setup, st_teardown),
    };

    st_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
