/*
 * test_security.c - who the code runs as, and which code runs:
 *  - privileges: "user": "nobody" started as root: the parent stays root
 *    (privilege separation) and every connection's process is nobody
 *    (uid, gid, groups), and the log says so; started as root without
 *    "user", the log warns once per config read (root only);
 *  - module security: a module file writable by others, or in a folder
 *    writable by others (no sticky bit), is refused at start, exit 1, with
 *    a message naming the file.
 */
#define _GNU_SOURCE
#include <pwd.h>
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

#include "stress.h"

/* A handler that tells who its process is, then closes. */
static const char whoami_src[] =
    "#define _GNU_SOURCE\n"
    "#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\n"
    "#include \"handler.h\"\n"
    "static const plugsrv_host *host;\n"
    "static int who_open(plugsrv_conn *c, void *ms, void **cs)\n{\n"
    "    char buf[256];\n    gid_t g[8];\n    int n = getgroups(8, g);\n"
    "    uid_t r, e, s;\n    gid_t gr, ge, gs;\n"
    "    (void)ms; (void)cs;\n"
    "    getresuid(&r, &e, &s);\n    getresgid(&gr, &ge, &gs);\n"
    "    snprintf(buf, sizeof(buf), \"uid=%ld,%ld,%ld gid=%ld,%ld,%ld "
    "ngroups=%d group0=%ld\\n\", (long)r, (long)e, (long)s, (long)gr,"
    " (long)ge, (long)gs, n, n > 0 ? (long)g[0] : -1L);\n"
    "    if (host->write(c, buf, strlen(buf)) != PLUGSRV_OK)\n"
    "        return PLUGSRV_ERROR;\n"
    "    return PLUGSRV_CLOSE;\n}\n"
    "PLUGSRV_EXPORT const plugsrv_handler *"
    "plugsrv_handler_v1(const plugsrv_host *h)\n{\n"
    "    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;\n"
    "    host = h;\n    handler.name = \"whoami\";\n"
    "    handler.open = who_open;\n    return &handler;\n}\n";

/* The value of "Uid:" or "Gid:" of /proc/pid/status, tabs as spaces. */
static void
st_status_line(pid_t pid, const char *key, char *buf, size_t len)
{
    char path[64], line[256];
    FILE *f;

    buf[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, key, strlen(key)) == 0) {
            char *p = line + strlen(key), *q;

            while (*p == '\t' || *p == ' ')
                p++;
            for (q = p; *q != '\0'; q++)
                if (*q == '\t' || *q == '\n')
                    *q = *q == '\t' ? ' ' : '\0';
            snprintf(buf, len, "%s", p);
            break;
        }
    fclose(f);
}

static void
test_privileges(void **state)
{
    struct hs *h = *state;
    struct passwd *pw = getpwnam("nobody");
    char want[256], got[256], line[1024];
    long uid, gid;
    int port = hs_port(), fd;
    ssize_t n;

    if (!st_root() || pw == NULL) {
        h->passed = 1;
        skip();
    }
    uid = (long)pw->pw_uid;
    gid = (long)pw->pw_gid;
    assert_int_equal(chmod(h->dir, 0755), 0);
    assert_int_equal(st_build_handler(h, "whoami", whoami_src), 0);
    assert_int_equal(
        hs_write_config(h,
                        "{ \"user\": \"nobody\", \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d,"
                        " \"module\": \"./whoami.so\" } ] }\n",
                        port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "]: privileges ", NULL), 0);
    assert_non_null(strstr(line, "user=nobody"));
    assert_int_equal(hs_log_count(h, "what=privileges", NULL), 0);

    /* the parent keeps its identity: privilege separation */
    st_status_line(h->pid, "Uid:", got, sizeof(got));
    assert_string_equal(got, "0 0 0 0");

    /* a connection's process */
    fd = hs_connect("127.0.0.1", port, HS_IO_MS);
    assert_true(fd >= 0);
    n = hs_recv_eof(fd, got, sizeof(got) - 1, HS_IO_MS);
    close(fd);
    assert_true(n > 0);
    got[n] = '\0';
    snprintf(want, sizeof(want),
             "uid=%ld,%ld,%ld gid=%ld,%ld,%ld ngroups=1 "
             "group0=%ld\n",
             uid, uid, uid, gid, gid, gid, gid);
    assert_string_equal(got, want);
    assert_int_equal(st_wait_balanced(h, HS_EXIT_MS), 0);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* As root with no "user": one warning at start, none at a reload. */
static void
test_root_warning(void **state)
{
    struct hs *h = *state;
    char line[1024];
    int port = hs_port();

    if (!st_root()) {
        h->passed = 1;
        skip();
    }
    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\" }"
                        " ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_log_count(h, "what=privileges", NULL), 1);
    assert_int_equal(
        hs_log_last(h, line, sizeof(line), "what=privileges", NULL), 0);
    assert_non_null(strstr(line, "root"));
    assert_int_equal(hs_log_count(h, "]: privileges ", NULL), 0);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: reload status=ok", NULL),
                     0);
    /* Each config read says it again, once. */
    assert_int_equal(hs_log_count(h, "what=privileges", NULL), 2);
    assert_int_equal(hs_signal(h, SIGTERM), 0);
    assert_int_equal(hs_wait_exit(h, HS_EXIT_MS), 0);
    h->passed = 1;
}

/* Starts plugsrv on a config naming module; it must exit 1 at once with a
 * message on stderr that holds every one of names. */
static void
st_refused(struct hs *h, const char *module, const char *name)
{
    const char *argv[] = { "-c", h->conf, NULL };
    const char *check[] = { "-t", "-c", h->conf, NULL };
    int port = hs_port(), status;

    assert_int_equal(hs_write_config(h,
                                     "{ \"listeners\": [\n"
                                     "  { \"address\": \"127.0.0.1\", "
                                     "\"port\": %d, \"module\": \"%s\" }"
                                     " ] }\n",
                                     port, module),
                     0);
    status = hs_run(h, 5000, check);
    fprintf(stderr, "plugsrv -t: status %d, stderr: %s", status, h->err);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    status = hs_run(h, 5000, argv);
    fprintf(stderr, "plugsrv: status %d, stderr: %s", status, h->err);
    assert_true(status != -1); /* it did not go on to serve */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    assert_non_null(strstr(h->err, name));
    assert_non_null(strstr(h->err, "writable"));
    assert_null(strstr(h->err, " ready "));
}

static void
test_module_world_writable(void **state)
{
    struct hs *h = *state;
    char path[512];

    hs_path(h, "ww.so", path, sizeof(path));
    assert_int_equal(st_copy(PLUGSRV_MODULE_DIR "/echo.so", path, 0666), 0);
    st_refused(h, "./ww.so", path);
    h->passed = 1;
}

static void
test_module_folder_world_writable(void **state)
{
    struct hs *h = *state;
    char dir[512], path[600];
    const char *argv[] = { "-t", "-c", h->conf, NULL };

    hs_path(h, "open", dir, sizeof(dir));
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    snprintf(path, sizeof(path), "%s/echo.so", dir);
    assert_int_equal(st_copy(PLUGSRV_MODULE_DIR "/echo.so", path, 0644), 0);
    st_refused(h, "open/echo.so", dir);
    /* The same folder with the sticky bit (as /tmp) is accepted. */
    assert_int_equal(chmod(dir, 01777), 0);
    assert_int_equal(hs_run(h, 5000, argv), 0);
    h->passed = 1;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_privileges, hs_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_root_warning, hs_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_module_world_writable, hs_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_module_folder_world_writable,
                                        hs_setup, st_teardown),
    };

    st_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
