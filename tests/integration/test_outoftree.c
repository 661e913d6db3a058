/*
 * test_outoftree.c - a handler written by a stranger: the test writes its
 * source into the temp folder, builds it with nothing but handler.h and
 * the one command handler.h documents (cc -shared -fPIC -I include -o
 * mine.so mine.c), names it "./mine.so" (relative to the config's folder,
 * while plugsrv runs elsewhere) and talks to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A line handler with an option, per-connection state and the host's
 * services: "<greeting> <n> <peer>: <line>" for each line. */
static const char mine_c[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"handler.h\"\n"
    "\n"
    "static const plugsrv_host *host;\n"
    "\n"
    "struct mine { const char *greeting; };\n"
    "\n"
    "static int mine_init(const plugsrv_options *o, void **ms, char *err,\n"
    "                     size_t errlen)\n"
    "{\n"
    "    static struct mine m;\n"
    "    if (host->opt_string(o, \"greeting\", \"hi\", &m.greeting) != "
    "PLUGSRV_OK) {\n"
    "        snprintf(err, errlen, \"option greeting: must be a string\");\n"
    "        return PLUGSRV_ERROR;\n"
    "    }\n"
    "    *ms = &m;\n"
    "    return PLUGSRV_OK;\n"
    "}\n"
    "\n"
    "static int mine_open(plugsrv_conn *c, void *ms, void **cs)\n"
    "{\n"
    "    (void)c; (void)ms;\n"
    "    *cs = calloc(1, sizeof(int));\n"
    "    return *cs ? PLUGSRV_OK : PLUGSRV_ERROR;\n"
    "}\n"
    "\n"
    "static const struct mine *conf;\n"
    "\n"
    "static int mine_data(plugsrv_conn *c, void *cs, const char *buf, size_t "
    "len)\n"
    "{\n"
    "    char out[512];\n"
    "    int *n = cs;\n"
    "    int k = snprintf(out, sizeof(out), \"%s %d %s: \", conf->greeting,\n"
    "                     ++*n, host->peer_addr(c));\n"
    "    if (host->write(c, out, (size_t)k) != PLUGSRV_OK)\n"
    "        return PLUGSRV_ERROR;\n"
    "    return host->write(c, buf, len);\n"
    "}\n"
    "\n"
    "static void mine_close(plugsrv_conn *c, void *cs)\n"
    "{\n"
    "    host->log(c, PLUGSRV_LOG_INFO, \"mine: %d lines\", *(int *)cs);\n"
    "    free(cs);\n"
    "}\n"
    "\n"
    "static int mine_open_wrap(plugsrv_conn *c, void *ms, void **cs)\n"
    "{\n"
    "    conf = ms;\n"
    "    return mine_open(c, ms, cs);\n"
    "}\n"
    "\n"
    "PLUGSRV_EXPORT const plugsrv_handler *plugsrv_handler_v1(const "
    "plugsrv_host *h)\n"
    "{\n"
    "    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;\n"
    "    host = h;\n"
    "    handler.name = \"mine\";\n"
    "    handler.mode = PLUGSRV_MODE_LINE;\n"
    "    handler.init = mine_init;\n"
    "    handler.open = mine_open_wrap;\n"
    "    handler.data = mine_data;\n"
    "    handler.close = mine_close;\n"
    "    return &handler;\n"
    "}\n";

static void
test_out_of_tree_handler(void **state)
{
    struct hs *h = *state;
    char src[512], so[512], want[256], buf[256];
    struct sockaddr_in6 me;
    socklen_t melen = sizeof(me);
    const char *cc[] = {
        TEST_CC, "-shared", "-fPIC", "-I", PLUGSRV_INCLUDE_DIR,
        "-o",    so,        src,     NULL
    };
    int port = hs_port(), st, fd;

    hs_path(h, "mine.c", src, sizeof(src));
    hs_path(h, "mine.so", so, sizeof(so));
    assert_int_equal(hs_write_file(h, "mine.c", "%s", mine_c), 0);
    st = hs_run_prog(h, 60000, cc);
    if (st != 0)
        fail_msg("building mine.so failed (%d):\n%s", st, h->err);

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"::1\", \"port\": %d, \"module\": \"./mine.so\",\n"
        "    \"options\": { \"greeting\": \"hello\" } } ] }\n",
        PLUGSRV_MODULE_DIR, port);
    assert_int_equal(hs_start_ready(h), 0);
    assert_int_equal(hs_log_count(h, ": listen ", "listener=mine", so, NULL),
                     1);

    fd = hs_connect("::1", port, HS_IO_MS);
    assert_true(fd >= 0);
    /* The peer, as the handler sees it, is our end of the socket. */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &melen), 0);
    snprintf(want, sizeof(want),
             "hello 1 [::1]:%d: one\n"
             "hello 2 [::1]:%d: two",
             ntohs(me.sin6_port), ntohs(me.sin6_port));
    {
        struct hs_xfer x = { .out = "one\ntwo",
                             .outlen = 7,
                             .in = buf,
                             .incap = sizeof(buf),
                             .shut_wr = 1,
                             .timeout_ms = HS_IO_MS };
        ssize_t n = hs_exchange(fd, &x);

        assert_int_equal(n, (ssize_t)strlen(want));
        assert_memory_equal(buf, want, strlen(want));
    }
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": exit ", "listener=mine",
                                 "status=0", NULL),
                     0);
    /* host->log() reaches the log tagged with listener, pid and peer. */
    assert_int_equal(
        hs_log_count(h, ": handler ", "listener=mine", "level=info",
                     " pid=", " peer=[::1]:", "msg=\"mine: 2 lines\"", NULL),
        1);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_of_tree_handler, hs_setup,
                                        hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
