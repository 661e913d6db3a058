/*
 * test_log_file.c - "log": { "file": PATH } (issue 9): the parent's lines
 * and its connections' go to the file, not to stderr; SIGUSR1 opens it
 * again by its name after a rename (logrotate), and does no harm without
 * one; a file that cannot be opened fails the start, -t and a reload (all
 * or nothing); a reload can move the log and bring it back to stderr.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* One logtext listener (it logs "from-child" and closes), with the
 * top-level text top before it (a "log" member and a comma, or ""). */
static void
log_conf(struct hs *h, int port, const char *top)
{
    assert_int_equal(
        hs_write_config(h,
                        "{ %s\n"
                        "  \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\", \"name\": \"lt\",\n"
                        "    \"options\": { \"msg\": \"from-child\" } } ] }\n",
                        top, port, TEST_MODULE("logtext")),
        0);
}

/* One connection, served: "ok\n" back, and its exit in the log. */
static void
one_connection(struct hs *h, int port, int nexits)
{
    char buf[8];
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 3, HS_IO_MS), 3);
    assert_memory_equal(buf, "ok\n", 3);
    close(fd);
    assert_int_equal(hs_wait_log(h, nexits, HS_IO_MS, "]: exit ", NULL), 0);
}

/* Lines of the file at path holding s. */
static int
count_in(const char *path, const char *s)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, i;

    if (f == NULL)
        return 0;
    for (i = 0; i < 100000 && getline(&line, &cap, f) > 0; i++)
        if (strstr(line, s) != NULL)
            n++;
    free(line);
    fclose(f);
    return n;
}

static void
stop_ok(struct hs *h)
{
    int st;

    assert_int_equal(hs_signal(h, SIGTERM), 0);
    st = hs_wait_exit(h, HS_EXIT_MS);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void
test_file_and_reopen(void **state)
{
    struct hs *h = *state;
    char errpath[320], logs[512], old[512];
    struct stat st;
    int port = hs_port();

    snprintf(errpath, sizeof(errpath), "%s", h->log);
    hs_path(h, "logs", logs, sizeof(logs));
    assert_int_equal(mkdir(logs, 0755), 0);
    log_conf(h, port, "\"log\": { \"file\": \"logs/plugsrv.log\" },");
    assert_int_equal(hs_start(h), 0);
    /* From now on the harness reads the log file. */
    hs_path(h, "logs/plugsrv.log", h->log, sizeof(h->log));
    assert_int_equal(hs_wait_log(h, 1, HS_START_MS, " ready ", NULL), 0);
    one_connection(h, port, 1);
    /* The connection's own line went to the file too, stderr has none. */
    assert_int_equal(hs_log_count(h, "]: handler ", " msg=from-child", NULL),
                     1);
    assert_int_equal(count_in(errpath, "]: "), 0);
    assert_int_equal(stat(h->log, &st), 0);
    assert_int_equal(st.st_mode & 0137, 0); /* 0640, less the umask */

    /* logrotate: rename, then SIGUSR1. */
    snprintf(old, sizeof(old), "%s.1", h->log);
    assert_int_equal(rename(h->log, old), 0);
    assert_int_equal(hs_signal(h, SIGUSR1), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: log-reopen file=",
                                 "/logs/plugsrv.log", NULL),
                     0);
    one_connection(h, port, 1);
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), 1);
    assert_int_equal(hs_log_count(h, "]: handler ", NULL), 1);
    assert_int_equal(count_in(old, "]: accept "), 1);
    assert_int_equal(count_in(old, "]: exit "), 1);
    assert_int_equal(count_in(old, "]: log-reopen "), 0);
    stop_ok(h);
    assert_int_equal(hs_log_count(h, "]: stop ", NULL), 1);
    h->passed = 1;
}

/* SIGUSR1 with no log file: said, and nothing else changes. */
static void
test_sigusr1_without_file(void **state)
{
    struct hs *h = *state;
    int port = hs_port();

    log_conf(h, port, "");
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_signal(h, SIGUSR1), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: log-reopen file=-", NULL),
                     0);
    one_connection(h, port, 1);
    stop_ok(h);
    h->passed = 1;
}

/* A log file in a folder that does not exist. */
static void
test_bad_file(void **state)
{
    struct hs *h = *state;
    const char *check[] = { "-t", "-c", h->conf, NULL };
    const char *serve[] = { "-c", h->conf, NULL };
    const char *bad = "\"log\": { \"file\": \"no/such/dir/p.log\" },";
    int port = hs_port(), st;

    log_conf(h, port, bad);
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t: %s", h->err);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(h->err, ": log.file: "));
    assert_non_null(strstr(h->err, "/no/such/dir/p.log: No such file"));
    st = hs_run(h, 30000, serve);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_non_null(strstr(h->err, ": log.file: "));

    /* On a reload: refused whole, the old config serves on. */
    log_conf(h, port, "");
    assert_int_equal(hs_start_ready(h), 0);
    log_conf(h, port, bad);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=error",
                                 "log.file: ", NULL),
                     0);
    one_connection(h, port, 1);
    stop_ok(h);
    h->passed = 1;
}

/* A reload moves the log to a file, another brings it back. */
static void
test_reload_moves_log(void **state)
{
    struct hs *h = *state;
    char errpath[320], file[320];
    int port = hs_port();

    snprintf(errpath, sizeof(errpath), "%s", h->log);
    hs_path(h, "p.log", file, sizeof(file));
    log_conf(h, port, "");
    assert_int_equal(hs_start_ready(h), 0);
    log_conf(h, port, "\"log\": { \"file\": \"p.log\" },");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    snprintf(h->log, sizeof(h->log), "%s", file);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    one_connection(h, port, 1);
    assert_int_equal(hs_log_count(h, "]: handler ", NULL), 1);

    log_conf(h, port, "");
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    snprintf(h->log, sizeof(h->log), "%s", errpath);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    one_connection(h, port, 1);
    assert_int_equal(count_in(errpath, "]: accept "), 1);
    assert_int_equal(count_in(file, "]: accept "), 1);
    stop_ok(h);
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_file_and_reopen),
        T(test_sigusr1_without_file),
        T(test_bad_file),
        T(test_reload_moves_log),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
