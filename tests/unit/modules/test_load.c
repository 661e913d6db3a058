/*
 * test_load.c - loads the built handler .so files with dlopen() as the core
 * does, and checks each one's entry point, name, mode, and one reply; also
 * loads the C++ handler, proving the header's C linkage from C++.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_host.h"

typedef const plugsrv_handler *(*entry_fn)(const plugsrv_host *);

struct case_ {
    const char *path;
    const char *name;
    int mode;
    const char *reply; /* to "ab\n" */
};

/* dlopen()s path, runs "ab\n" through it, and checks what came back. */
static void
check_module(const struct case_ *c)
{
    void *so = dlopen(c->path, RTLD_NOW | RTLD_LOCAL);
    struct fake_session s;
    entry_fn entry;
    const plugsrv_handler *h;

    if (so == NULL)
        fail_msg("%s", dlerror());
    /* POSIX makes this cast well-defined; ISO C does not know dlsym. */
    *(void **)&entry = dlsym(so, PLUGSRV_ENTRY_SYMBOL);
    assert_non_null(entry);
    h = entry(&fake_host);
    assert_non_null(h);
    assert_int_equal(h->size, sizeof(plugsrv_handler));
    assert_int_equal(h->abi_major, PLUGSRV_ABI_MAJOR);
    assert_string_equal(h->name, c->name);
    assert_int_equal(h->mode, c->mode);
    assert_int_equal(fake_start(&s, h, NULL, 0), PLUGSRV_OK);
    assert_int_equal(fake_lines(&s, "ab\n", 3), PLUGSRV_OK);
    assert_int_equal(s.conn.len, strlen(c->reply));
    assert_memory_equal(s.conn.out, c->reply, s.conn.len);
    fake_stop(&s);
    dlclose(so);
}

static void
test_load(void **unused)
{
    size_t i;
    static const struct case_ cases[] = {
        { PLUGSRV_MODULE_DIR "/echo.so", "echo", PLUGSRV_MODE_STREAM, "ab\n" },
        { PLUGSRV_MODULE_DIR "/uppercase.so", "uppercase", PLUGSRV_MODE_STREAM,
          "AB\n" },
        { PLUGSRV_MODULE_DIR "/suffix.so", "suffix", PLUGSRV_MODE_LINE,
          "ab----k\n" },
        { PLUGSRV_MODULE_DIR "/quit.so", "quit", PLUGSRV_MODE_LINE, "ab\n" },
#ifdef CXX_HANDLER
        { CXX_HANDLER, "cxx", PLUGSRV_MODE_STREAM, "ab\n" },
#endif
    };

    (void)unused;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_module(&cases[i]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
    };

    return cmocka_run_group_tests_name("load", tests, NULL, NULL);
}
