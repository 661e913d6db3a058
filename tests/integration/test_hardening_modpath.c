/*
 * test_hardening_modpath.c - who can replace a module can run code in
 * plugsrv (issue 8, item 3). As with OpenSSH's StrictModes, on the
 * resolved path every component from / down must be owned by root (or
 * plugsrv's user) and writable by nobody else; a sticky folder such as
 * /tmp is safe above an entry owned by root. `plugsrv -t` refuses, with a
 * message naming the offending path and why: a module owned by another
 * user, a group-writable module, a symlink into a folder anyone can write,
 * a group-writable ancestor. The same layout done right passes. Root only
 * (it needs chown and a root-owned tree).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
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

/* The tree of modules: a fresh folder of /tmp, 0755, owned by root. */
static char base[256];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int
mp_setup(void **state)
{
    char tmpl[] = "/tmp/plugsrv-mp.XXXXXX", *real;

    base[0] = '\0';
    if (hs_setup(state) != 0 || mkdtemp(tmpl) == NULL)
        return -1;
    if ((real = realpath(tmpl, NULL)) == NULL)
        return -1;
    snprintf(base, sizeof(base), "%s", real);
    free(real);
    return chmod(base, 0755);
}

static int
mp_teardown(void **state)
{
    if (base[0] != '\0')
        nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return hs_teardown(state);
}

/* base/rel as a folder of mode mode (parents must exist). */
static void
mp_dir(const char *rel, mode_t mode, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", base, rel);
    assert_int_equal(mkdir(out, 0700), 0);
    assert_int_equal(chmod(out, mode), 0);
}

/* A copy of the bundled echo.so at path, root's, of mode mode. */
static void
mp_module(const char *path, mode_t mode)
{
    char buf[65536];
    int in, out, i;
    ssize_t n;

    in = open(PLUGSRV_MODULE_DIR "/echo.so", O_RDONLY | O_CLOEXEC);
    assert_true(in >= 0);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(out >= 0);
    for (i = 0; i < 10000; i++) {
        n = read(in, buf, sizeof(buf));
        assert_true(n >= 0);
        if (n == 0)
            break;
        assert_int_equal(write(out, buf, (size_t)n), n);
    }
    close(in);
    assert_int_equal(fchown(out, 0, 0), 0);
    assert_int_equal(fchmod(out, mode), 0);
    assert_int_equal(close(out), 0);
}

/* Does text name path itself (not only a path below it)? */
static int
names_path(const char *text, const char *path)
{
    const char *p = text;
    size_t len = strlen(path);
    int i;

    for (i = 0; i < 1000 && (p = strstr(p, path)) != NULL; i++, p += len) {
        char c = p[len];

        if (c != '/' && c != '_' && c != '-' && c != '.' &&
            !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
            !(c >= '0' && c <= '9'))
            return 1;
    }
    return 0;
}

/* `plugsrv -t` on a config naming module; its wait status. */
static int
mp_check(struct hs *h, const char *module)
{
    const char *check[] = { "-t", "-c", h->conf, NULL };
    int st;

    assert_int_equal(
        hs_write_config(h,
                        "{ \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"%s\" } ] }\n",
                        hs_port(), module),
        0);
    st = hs_run(h, 30000, check);
    fprintf(stderr, "plugsrv -t (%s): status %d, stdout: %s stderr: %s\n",
            module, st, h->out, h->err);
    assert_int_not_equal(st, -1);
    return st;
}

/* Refused: exit 1, the offending path named, and why. */
static void
mp_refused(struct hs *h, const char *module, const char *offender,
           const char *why)
{
    int st = mp_check(h, module);

    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_true(names_path(h->err, offender));
    assert_non_null(strstr(h->err, why));
}

#define ROOT_ONLY(h)                                                          \
    do {                                                                      \
        if (geteuid() != 0) {                                                 \
            (h)->passed = 1;                                                  \
            skip();                                                           \
        }                                                                     \
    } while (0)

static void
test_module_owned_by_other(void **state)
{
    struct hs *h = *state;
    char d[PATH_MAX], m[PATH_MAX + 16];

    ROOT_ONLY(h);
    mp_dir("a", 0755, d, sizeof(d));
    mp_dir("a/mods", 0755, d, sizeof(d));
    snprintf(m, sizeof(m), "%s/echo.so", d);
    mp_module(m, 0644);
    assert_int_equal(chown(m, 65534, 65534), 0);
    mp_refused(h, m, m, "owned by");
    h->passed = 1;
}

static void
test_module_group_writable(void **state)
{
    struct hs *h = *state;
    char d[PATH_MAX], m[PATH_MAX + 16];

    ROOT_ONLY(h);
    mp_dir("b", 0755, d, sizeof(d));
    mp_dir("b/mods", 0755, d, sizeof(d));
    snprintf(m, sizeof(m), "%s/echo.so", d);
    mp_module(m, 0664);
    mp_refused(h, m, m, "writable by group");
    h->passed = 1;
}

static void
test_module_symlink_into_open_folder(void **state)
{
    struct hs *h = *state;
    char d[PATH_MAX], open_dir[PATH_MAX], target[PATH_MAX + 16];
    char link_path[PATH_MAX + 16];

    ROOT_ONLY(h);
    mp_dir("c", 0755, d, sizeof(d));
    mp_dir("c/mods", 0755, d, sizeof(d));
    mp_dir("c/open", 0755, open_dir, sizeof(open_dir));
    snprintf(target, sizeof(target), "%s/echo.so", open_dir);
    mp_module(target, 0644);
    assert_int_equal(chmod(open_dir, 0777), 0); /* no sticky bit */
    snprintf(link_path, sizeof(link_path), "%s/echo.so", d);
    assert_int_equal(symlink(target, link_path), 0);
    mp_refused(h, link_path, open_dir, "writable by others");
    h->passed = 1;
}

static void
test_module_ancestor_group_writable(void **state)
{
    struct hs *h = *state;
    char anc[PATH_MAX], d[PATH_MAX], m[PATH_MAX + 16];

    ROOT_ONLY(h);
    mp_dir("d", 0755, d, sizeof(d));
    mp_dir("d/anc", 0755, anc, sizeof(anc));
    mp_dir("d/anc/mid", 0755, d, sizeof(d));
    snprintf(m, sizeof(m), "%s/echo.so", d);
    mp_module(m, 0644);
    assert_int_equal(chmod(anc, 0775), 0);
    mp_refused(h, m, anc, "writable by group");
    h->passed = 1;
}

/* The control: the same layout, done right, under /tmp (sticky). */
static void
test_module_safe_layout_passes(void **state)
{
    struct hs *h = *state;
    char d[PATH_MAX], m[PATH_MAX + 16];
    int st;

    ROOT_ONLY(h);
    mp_dir("e", 0755, d, sizeof(d));
    mp_dir("e/anc", 0755, d, sizeof(d));
    mp_dir("e/anc/mid", 0755, d, sizeof(d));
    snprintf(m, sizeof(m), "%s/echo.so", d);
    mp_module(m, 0644);
    st = mp_check(h, m);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(h->out, "configuration OK"));
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, mp_setup, mp_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_module_owned_by_other),
        T(test_module_group_writable),
        T(test_module_symlink_into_open_folder),
        T(test_module_ancestor_group_writable),
        T(test_module_safe_layout_passes),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
