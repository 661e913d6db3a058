/*
 * test_badconfig.c - each bad config makes plugsrv exit 1 (never crash)
 * with a message on stderr that names the file and the key, module or
 * address at fault, and leaves no process behind. The same config checked
 * with -t fails the same way.
 */
#include <ctype.h>
#include <setjmp.h>
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

#define HEAD "{ \"modules_dir\": \"" PLUGSRV_MODULE_DIR "\",\n"

/* The first line of text holding every needle (NULL-terminated), copied
 * into line; 0, or -1 if there is none. */
static int
find_line(const char *text, const char *const *needles, char *line, size_t len)
{
    const char *p = text;

    while (p != NULL && *p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int i, ok = 1;

        if (n >= len)
            n = len - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        for (i = 0; needles[i] != NULL; i++)
            if (strstr(line, needles[i]) == NULL)
                ok = 0;
        if (ok)
            return 0;
        p = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* Runs plugsrv on the config (serving, then -t) and checks each run:
 * exit 1, a stderr line naming the file and every needle, nothing left. */
static void
expect_bad(struct hs *h, const char *const *needles, char *line, size_t len)
{
    const char *serve[] = { "-c", h->conf, NULL };
    /* -T: the check that binds too, so that it finds what a start finds. */
    const char *check[] = { "-T", "-c", h->conf, NULL };
    const char *const *argvs[2] = { serve, check };
    const char *all[16];
    int i, r;

    all[0] = h->conf;
    for (i = 0; needles[i] != NULL && i < 14; i++)
        all[i + 1] = needles[i];
    all[i + 1] = NULL;
    for (r = 0; r < 2; r++) {
        int st = hs_run(h, HS_EXIT_MS, argvs[r]);

        if (st == -1)
            fail_msg("plugsrv %s did not end: it started?", argvs[r][0]);
        if (!WIFEXITED(st))
            fail_msg("plugsrv %s died of signal %d", argvs[r][0],
                     WTERMSIG(st));
        assert_int_equal(WEXITSTATUS(st), 1);
        if (find_line(h->err, all, line, len) < 0) {
            fprintf(stderr, "stderr of plugsrv %s:\n%s", argvs[r][0], h->err);
            for (i = 0; all[i] != NULL; i++)
                fprintf(stderr, "  wanted: \"%s\"\n", all[i]);
            fail_msg("no stderr line names the file and the fault");
        }
        assert_string_equal(h->out, "");
        assert_int_equal(hs_orphans(h), 0);
    }
}

static void bad(void **state, const char *const *needles, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad(void **state, const char *const *needles, const char *fmt, ...)
{
    struct hs *h = *state;
    char text[4096], line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    assert_int_equal(hs_write_config(h, "%s", text), 0);
    expect_bad(h, needles, line, sizeof(line));
    h->passed = 1;
}

static void
test_syntax_error(void **state)
{
    struct hs *h = *state;
    char line[1024], *p;
    const char *none[] = { NULL };

    assert_int_equal(hs_write_config(h, HEAD
                                     "  \"listeners\": [\n"
                                     "    { \"address\": \"127.0.0.1\", "
                                     "\"port\": 7000, \"module\": \"echo\" }\n"
                                     "    { \"address\": \"::1\", \"port\": "
                                     "7000, \"module\": \"echo\" } ] }\n"),
                     0);
    expect_bad(h, none, line, sizeof(line));
    /* FILE:LINE:COL: as DESIGN.md says, pointing at line 4. */
    p = strstr(line, h->conf);
    assert_non_null(p);
    p += strlen(h->conf);
    assert_true(p[0] == ':' && p[1] == '4' && p[2] == ':' &&
                isdigit((unsigned char)p[3]));
    h->passed = 1;
}

static void
test_not_json_at_all(void **state)
{
    const char *n[] = { NULL };

    bad(state, n, "listeners = echo\n");
}

static void
test_empty_file(void **state)
{
    const char *n[] = { NULL };

    bad(state, n, "%s", "");
}

static void
test_unknown_top_key(void **state)
{
    const char *n[] = { "bogus_key", NULL };

    bad(state, n,
        HEAD "  \"bogus_key\": 1,\n"
             "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,"
             " \"module\": \"echo\" } ] }\n",
        hs_port());
}

static void
test_unknown_listener_key(void **state)
{
    const char *n[] = { "listeners[0]", "colour", NULL };

    bad(state, n,
        HEAD "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d,"
             " \"module\": \"echo\", \"colour\": \"red\" } ] }\n",
        hs_port());
}

static void
test_bad_port(void **state)
{
    const char *n[] = { "listeners[1].port", NULL };

    bad(state, n,
        HEAD "  \"listeners\": [\n"
             "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
             "\"echo\" },\n"
             "  { \"address\": \"127.0.0.1\", \"port\": 70000, \"module\": "
             "\"echo\" }"
             " ] }\n",
        hs_port());
}

static void
test_port_wrong_type(void **state)
{
    const char *n[] = { "listeners[0].port", NULL };

    bad(state, n,
        HEAD "  \"listeners\": [\n"
             "  { \"address\": \"127.0.0.1\", \"port\": \"%d\", \"module\": "
             "\"echo\" }"
             " ] }\n",
        hs_port());
}

static void
test_bad_address(void **state)
{
    const char *n[] = { "listeners[0].address", NULL };

    bad(state, n,
        HEAD
        "  \"listeners\": [\n"
        "  { \"address\": \"localhost\", \"port\": %d, \"module\": \"echo\" }"
        " ] }\n",
        hs_port());
}

static void
test_no_listeners(void **state)
{
    const char *n[] = { "listeners", NULL };

    bad(state, n, HEAD "  \"listeners\": [ ] }\n");
}

static void
test_duplicate_listener(void **state)
{
    const char *n[] = { "listeners[1]", NULL };
    int port = hs_port();

    bad(state, n,
        HEAD
        "  \"listeners\": [\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"echo\" },\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"suffix\" } ] "
        "}\n",
        port, port);
}

static void
test_missing_module(void **state)
{
    const char *n[] = { "nope", NULL };

    bad(state, n,
        HEAD
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"nope\" }"
        " ] }\n",
        hs_port());
}

/* A listener with a test module, and the needles its message must hold. */
static void
bad_module(void **state, const char *module, const char *const *needles)
{
    bad(state, needles,
        HEAD "  \"listeners\": [\n"
             "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
             "\"echo\" },\n"
             "  { \"address\": \"::1\", \"port\": %d, \"module\": \"%s\",\n"
             "    \"options\": { \"x\": 1 } } ] }\n",
        hs_port(), hs_port(), module);
}

static void
test_module_not_elf(void **state)
{
    const char *n[] = { "not_elf.so", NULL };

    bad_module(state, TEST_MODULE("not_elf"), n);
}

static void
test_module_no_entry(void **state)
{
    const char *n[] = { "no_entry.so", "plugsrv_handler_v1", NULL };

    bad_module(state, TEST_MODULE("no_entry"), n);
}

static void
test_module_bad_abi(void **state)
{
    struct hs *h = *state;
    const char *n[] = { "bad_abi.so", NULL };
    char line[1024], *p;
    size_t dlen = strlen(TEST_MODULE_DIR);

    bad_module(state, TEST_MODULE("bad_abi"), n);
    /* Both versions named: take out the paths (which may hold digits of
     * their own) and look for a 2 and a 1. */
    assert_int_equal(find_line(h->err, (const char *[]){ "bad_abi.so", NULL },
                               line, sizeof(line)),
                     0);
    while ((p = strstr(line, TEST_MODULE_DIR)) != NULL)
        memmove(p, p + dlen, strlen(p + dlen) + 1);
    while ((p = strstr(line, h->dir)) != NULL)
        memmove(p, p + strlen(h->dir), strlen(p + strlen(h->dir)) + 1);
    if (strchr(line, '2') == NULL || strchr(line, '1') == NULL)
        fail_msg("the message does not name both ABI versions: %s", line);
}

static void
test_module_bad_minor(void **state)
{
    const char *n[] = { "bad_minor.so", "99", NULL };

    bad_module(state, TEST_MODULE("bad_minor"), n);
}

static void
test_module_null_entry(void **state)
{
    const char *n[] = { "null_entry.so", NULL };

    bad_module(state, TEST_MODULE("null_entry"), n);
}

static void
test_module_init_fails(void **state)
{
    const char *n[] = { "option x: refused by test", NULL };

    bad_module(state, TEST_MODULE("init_fail"), n);
}

static void
test_module_constructor_crash(void **state)
{
    const char *n[] = { "constructor_crash.so", NULL };

    bad_module(state, TEST_MODULE("constructor_crash"), n);
}

static void
test_bundled_module_bad_option(void **state)
{
    const char *n[] = { "listeners[0]", "suffix", NULL };

    bad(state, n,
        HEAD "  \"listeners\": [\n"
             "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
             "\"suffix\",\n"
             "    \"options\": { \"suffix\": 5 } } ] }\n",
        hs_port());
}

static void
test_port_in_use(void **state)
{
    char portstr[16];
    const char *n[] = { "127.0.0.1", portstr, NULL };
    int fd, port = hs_port();

    /* Someone else (this test) holds the port. */
    assert_true((fd = hs_hold_port(port)) >= 0);
    snprintf(portstr, sizeof(portstr), "%d", port);
    bad(state, n,
        HEAD
        "  \"listeners\": [\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"echo\" },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\" }"
        " ] }\n",
        hs_port(), port);
    close(fd);
}

static void
test_missing_file(void **state)
{
    struct hs *h = *state;
    const char *none[] = { NULL };
    char line[1024];

    /* No server.json written at all. */
    expect_bad(h, none, line, sizeof(line));
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_syntax_error),
        T(test_not_json_at_all),
        T(test_empty_file),
        T(test_missing_file),
        T(test_unknown_top_key),
        T(test_unknown_listener_key),
        T(test_bad_port),
        T(test_port_wrong_type),
        T(test_bad_address),
        T(test_no_listeners),
        T(test_duplicate_listener),
        T(test_missing_module),
        T(test_module_not_elf),
        T(test_module_no_entry),
        T(test_module_bad_abi),
        T(test_module_bad_minor),
        T(test_module_null_entry),
        T(test_module_init_fails),
        T(test_module_constructor_crash),
        T(test_bundled_module_bad_option),
        T(test_port_in_use),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
