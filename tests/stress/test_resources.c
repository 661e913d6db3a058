/*
 * test_resources.c - the parent runs out of something for real and must
 * shed, log, not spin, and serve again once the resource is back:
 *  - emfile: the daemon's RLIMIT_NOFILE (16 at exec, then lowered with
 *    prlimit to exactly the fds it holds) makes accept() fail with EMFILE;
 *  - nproc: started as nobody with a low RLIMIT_NPROC, fork() fails with
 *    EAGAIN (root only).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stress.h"

#define NCLIENTS 10

static void
st_nofile16(void *arg)
{
    struct rlimit rl = { 16, 16 };

    (void)arg;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        _exit(125);
}

static int
st_set_nofile(pid_t pid, rlim_t soft)
{
    struct rlimit rl = { soft, 16 };

    return prlimit(pid, RLIMIT_NOFILE, &rl, NULL);
}

static void
test_emfile(void **state)
{
    struct hs *h = *state;
    int port = hs_port(), fds[NCLIENTS], base, i, fd, errs0, errs1;
    long long t0, t1, cpu0, cpu1;
    char line[1024];

    assert_int_equal(hs_write_config(h,
                                     "{ \"modules_dir\": \"%s\", "
                                     "\"idle_timeout\": 30, \"listeners\": [\n"
                                     "  { \"address\": \"127.0.0.1\", "
                                     "\"port\": %d, \"module\": \"echo\" }"
                                     " ] }\n",
                                     PLUGSRV_MODULE_DIR, port),
                     0);
    assert_int_equal(st_start_ready(h, NULL, st_nofile16, NULL, HS_START_MS),
                     0);
    /* It serves with 16 fds... */
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "before\n", "before\n"), 0);
    close(fd);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);

    /* ...and with not one fd to spare, every accept() fails. */
    base = hs_fd_count(h->pid);
    assert_true(base > 0 && base < 16);
    assert_int_equal(st_set_nofile(h->pid, (rlim_t)base), 0);
    for (i = 0; i < NCLIENTS; i++) {
        fds[i] = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fds[i] >= 0); /* the backlog takes them */
    }
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: error what=accept",
                                 "err=\"Too many open files\"", NULL),
                     0);
    /* While EMFILE lasts, the fd in reserve is given back a moment at a
     * time to take each waiting client and close it (reason=no_fds),
     * paced so that nothing spins: measured over all of them. */
    errs0 = hs_log_count(h, "]: error what=accept", NULL);
    t0 = hs_now_ms();
    cpu0 = st_cpu_ticks(h->pid);
    assert_int_equal(hs_wait_log(h, NCLIENTS, HS_IO_MS, "]: refuse ",
                                 "reason=no_fds", NULL),
                     0);
    cpu1 = st_cpu_ticks(h->pid);
    for (i = 0; i < NCLIENTS; i++)
        assert_int_equal(hs_wait_closed(fds[i], HS_IO_MS), 1);
    t1 = hs_now_ms();
    errs1 = hs_log_count(h, "]: error what=accept", NULL);
    fprintf(stderr,
            "emfile: %d fds; %d accept errors in %lld ms, CPU %lld "
            "ticks of %ld/s\n",
            base, errs1 - errs0, t1 - t0, cpu1 - cpu0, sysconf(_SC_CLK_TCK));
    assert_true(cpu0 >= 0 && cpu1 >= cpu0);
    /* < 30 % of the wall time */
    assert_true((cpu1 - cpu0) * 1000 / sysconf(_SC_CLK_TCK) * 10 <
                (t1 - t0) * 3);
    /* and no flood of log lines: at most one a millisecond */
    assert_true(errs1 - errs0 <= t1 - t0 + 10);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: error what=accept", NULL), 0);
    assert_non_null(strstr(line, "listener=echo"));
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), 1);
    assert_true(hs_alive(h));

    /* The fds come back: served again. */
    for (i = 0; i < NCLIENTS; i++)
        close(fds[i]);
    assert_int_equal(st_set_nofile(h->pid, 16), 0);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "after\n", "after\n"), 0);
    close(fd);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_fd_count(h->pid), base);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* ---- nproc ---- */

struct st_user {
    uid_t uid;
    gid_t gid;
    rlim_t nproc;
};

static void
st_become(void *arg)
{
    const struct st_user *u = arg;
    struct rlimit rl = { u->nproc, u->nproc };

    if (setgroups(1, &u->gid) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
        setrlimit(RLIMIT_NPROC, &rl) < 0 ||
        setresuid(u->uid, u->uid, u->uid) < 0)
        _exit(125);
}

/* Processes (threads count too, but we do not run any) of uid. */
static int
st_user_procs(uid_t uid)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0, i = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL && i++ < 100000) {
        char path[300];
        struct stat st;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s", de->d_name);
        if (stat(path, &st) == 0 && st.st_uid == uid)
            n++;
    }
    closedir(d);
    return n;
}

#define NPROC_CHILDREN 3

static void
test_nproc(void **state)
{
    struct hs *h = *state;
    struct passwd *pw = getpwnam("nobody");
    struct st_user u;
    int port = hs_port(), held[NPROC_CHILDREN], extra[3], i, fd;
    char buf[16];

    if (!st_root() || pw == NULL) {
        h->passed = 1;
        skip();
    }
    u.uid = pw->pw_uid;
    u.gid = pw->pw_gid;
    /* The daemon and NPROC_CHILDREN connections, beside whatever nobody
     * runs already. */
    u.nproc = (rlim_t)(st_user_procs(u.uid) + 1 + NPROC_CHILDREN);
    assert_int_equal(chmod(h->dir, 0755), 0);
    assert_int_equal(hs_write_config(h,
                                     "{ \"modules_dir\": \"%s\", "
                                     "\"idle_timeout\": 30, \"listeners\": [\n"
                                     "  { \"address\": \"127.0.0.1\", "
                                     "\"port\": %d, \"module\": \"%s\" }"
                                     " ] }\n",
                                     PLUGSRV_MODULE_DIR, port,
                                     TEST_MODULE("block")),
                     0);
    assert_int_equal(chmod(h->conf, 0644), 0);
    assert_int_equal(st_start_ready(h, NULL, st_become, &u, HS_START_MS), 0);

    /* Up to the limit: each connection gets its process (its greeting). */
    for (i = 0; i < NPROC_CHILDREN; i++) {
        held[i] = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(held[i] >= 0);
        assert_int_equal(hs_recv_n(held[i], buf, 6, HS_IO_MS), 6);
        assert_memory_equal(buf, "block\n", 6);
    }
    /* Beyond it: fork fails, the connection is shed and logged. */
    for (i = 0; i < 3; i++) {
        extra[i] = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(extra[i] >= 0);
        assert_int_equal(hs_wait_closed(extra[i], HS_IO_MS), 1);
        close(extra[i]);
    }
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: error what=fork",
                                 "err=\"Resource temporarily unavailable\"",
                                 NULL),
                     0);
    assert_true(hs_alive(h));
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), NPROC_CHILDREN);

    /* The holders leave, their processes end: served again. */
    for (i = 0; i < NPROC_CHILDREN; i++)
        close(held[i]);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_log_count(h, "]: exit ", NULL), NPROC_CHILDREN);
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_recv_n(fd, buf, 6, HS_IO_MS), 6);
    assert_memory_equal(buf, "block\n", 6);
    close(fd);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_children(h->pid), 0);
    assert_int_equal(hs_zombies(h->pid), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emfile, hs_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_nproc, hs_setup, st_teardown),
    };

    st_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
