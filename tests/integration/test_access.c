/*
 * test_access.c - "allow" and "deny": a refused peer is closed at once,
 * never forked for (no accept line, no exit line), and logged
 * `refuse ... reason=acl`; allowed peers are served meanwhile. IPv4 blocks,
 * IPv6 on ::1, top-level defaults and a listener's own list replacing them,
 * IPv4-mapped peers matched as IPv4 (a dual-stack listener on
 * ::ffff:127.0.0.1 with "ipv6_only": false), and prefork listeners, whose
 * spares apply the list before the handler sees a byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* A client from src to addr:port that gets its line echoed back. */
static void
served(const char *src, const char *addr, int port)
{
    int fd = hs_connect_from(src, addr, port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "hello\n", "hello\n"), 0);
    close(fd);
}

/* A client from src that is closed without a byte, and the refusal in the
 * log (peer as the log writes it, e.g. "127.0.0.1:" or "[::1]:"). */
static void
refused(struct hs *h, const char *src, const char *addr, int port,
        const char *peer, const char *reason)
{
    char buf[16];
    int fd = hs_connect_from(src, addr, port, HS_IO_MS);
    char want[64];

    if (fd >= 0) {
        hs_send_str(fd, "hello\n");
        assert_true(hs_recv_eof(fd, buf, sizeof(buf), HS_IO_MS) <= 0);
        close(fd);
    }
    snprintf(want, sizeof(want), "reason=%s", reason);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, "]: refuse ", peer, want, NULL), 0);
}

static void
test_allow_deny_v4(void **state)
{
    struct hs *h = *state;
    int port = hs_port();

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
            "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": "
            "\"echo\",\n"
            "    \"allow\": [\"127.0.0.2\", \"127.0.1.0/24\"],\n"
            "    \"deny\": [\"127.0.1.5\"] } ] }\n",
            PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    served("127.0.0.2", "127.0.0.1", port);
    served("127.0.1.7", "127.0.0.1", port);
    refused(h, "127.0.0.1", "127.0.0.1", port, "peer=127.0.0.1:", "acl");
    /* in allow, but deny wins */
    refused(h, "127.0.1.5", "127.0.0.1", port, "peer=127.0.1.5:", "acl");
    refused(h, "127.0.2.1", "127.0.0.1", port, "peer=127.0.2.1:", "acl");
    served("127.0.0.2", "127.0.0.1", port);
    /* never forked for: accepts and exits only for the three served */
    assert_int_equal(hs_wait_log(h, 3, HS_IO_MS, "]: exit ", NULL), 0);
    assert_int_equal(hs_log_count(h, "]: accept ", NULL), 3);
    assert_int_equal(hs_log_count(h, "]: exit ", NULL), 3);
    assert_int_equal(hs_log_count(h, "]: refuse ", "reason=acl", NULL), 3);
    h->passed = 1;
}

/* Top-level lists are every listener's default; a listener's own list
 * replaces the default as a whole (an empty deny lets everyone in). */
static void
test_top_level_default(void **state)
{
    struct hs *h = *state;
    int pa = hs_port(), pb = hs_port(), pc = hs_port();

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\",\n"
            "  \"deny\": [\"127.0.0.3\"], \"allow\": [\"127.0.0.0/29\"],\n"
            "  \"listeners\": [\n"
            "  { \"name\": \"A\", \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"echo\" },\n"
            "  { \"name\": \"B\", \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"echo\", \"deny\": [] },\n"
            "  { \"name\": \"C\", \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"echo\", \"allow\": [\"127.0.0.9\"] } ] }\n",
            PLUGSRV_MODULE_DIR, pa, pb, pc),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    refused(h, "127.0.0.3", "127.0.0.1", pa, "listener=A", "acl");
    refused(h, "127.0.0.9", "127.0.0.1", pa, "peer=127.0.0.9:", "acl");
    served("127.0.0.4", "127.0.0.1", pa);
    served("127.0.0.3", "127.0.0.1", pb);
    refused(h, "127.0.0.9", "127.0.0.1", pb, "listener=B", "acl");
    served("127.0.0.9", "127.0.0.1", pc);
    refused(h, "127.0.0.3", "127.0.0.1", pc, "listener=C", "acl");
    assert_int_equal(hs_log_count(h, "]: refuse ", "listener=C", NULL), 1);
    h->passed = 1;
}

static void
test_ipv6(void **state)
{
    struct hs *h = *state;
    int pa = hs_port(), pb = hs_port();

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
            "  { \"name\": \"A\", \"address\": \"::1\", \"port\": %d, "
            "\"module\": \"echo\", \"allow\": [\"::1/128\", \"10.0.0.0/8\"] "
            "},\n"
            "  { \"name\": \"B\", \"address\": \"::1\", \"port\": %d, "
            "\"module\": \"echo\", \"deny\": [\"2001:db8::/32\", \"::1\"] } "
            "] }\n",
            PLUGSRV_MODULE_DIR, pa, pb),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    served("::1", "::1", pa);
    refused(h, "::1", "::1", pb, "peer=[::1]:", "acl");
    assert_int_equal(hs_log_count(h, "]: refuse ", "listener=A", NULL), 0);
    h->passed = 1;
}

/*
 * A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: the IPv4
 * rules apply to them, in allow and in deny. Bound to ::ffff:127.0.0.1,
 * it stays on loopback.
 */
static void
test_ipv4_mapped(void **state)
{
    struct hs *h = *state;
    int port = hs_port();

    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
            "  { \"address\": \"::ffff:127.0.0.1\", \"ipv6_only\": false,\n"
            "    \"port\": %d, \"module\": \"echo\",\n"
            "    \"allow\": [\"127.0.0.0/24\"], \"deny\": [\"127.0.0.4\"] } "
            "] }\n",
            PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    served("127.0.0.5", "127.0.0.1", port);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: accept ",
                                 "peer=[::ffff:127.0.0.5]:", NULL),
                     0);
    refused(h, "127.0.0.4", "127.0.0.1", port,
            "peer=[::ffff:127.0.0.4]:", "acl");
    refused(h, "127.0.1.1", "127.0.0.1", port,
            "peer=[::ffff:127.0.1.1]:", "acl");
    h->passed = 1;
}

/* A prefork spare accepts by itself: it applies the list before the
 * handler, and the parent logs the refusal. */
static void
test_prefork(void **state)
{
    struct hs *h = *state;
    int port = hs_port();

    assert_int_equal(
        hs_write_config(h,
                        "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                        "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                        "\"module\": \"echo\",\n"
                        "    \"mode\": \"prefork\", \"spare\": 2,\n"
                        "    \"deny\": [\"127.0.0.6\"] } ] }\n",
                        PLUGSRV_MODULE_DIR, port),
        0);
    assert_int_equal(hs_start_ready(h), 0);
    refused(h, "127.0.0.6", "127.0.0.1", port, "peer=127.0.0.6:", "acl");
    served("127.0.0.7", "127.0.0.1", port);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, "]: exit ",
                                 "peer=127.0.0.6:", "reason=refused", NULL),
                     0);
    assert_int_equal(hs_log_count(h, "]: accept ", "peer=127.0.0.6:", NULL),
                     0);
    h->passed = 1;
}

/* Every access key with a bad value, through the real binary: exit 1 and
 * one line naming the file and the key (tests/unit/test_config_access.c
 * has the whole catalog). */
static const char *const bad_keys[][2] = {
    { "\"allow\": [\"127.0.0.1\", \"::1\", \"10.0.0.0/33\"]",
      "listeners[0].allow[2]: \"10.0.0.0/33\": prefix length must be 0 to "
      "32" },
    { "\"deny\": [\"::1/129\"]",
      "listeners[0].deny[0]: \"::1/129\": prefix length must be 0 to 128" },
    { "\"max_per_source\": -1", "listeners[0].max_per_source: must be" },
    { "\"rate_per_source\": {\"rate\": 1, \"burst\": 0}",
      "listeners[0].rate_per_source.burst: must be" },
    { "\"source_prefix_v4\": 33", "listeners[0].source_prefix_v4: must be" },
    { "\"source_prefix_v6\": 129", "listeners[0].source_prefix_v6: must be" },
    { "\"max_duration\": -1", "listeners[0].max_duration: must be" },
    { "\"reuseport\": \"yes\"", "listeners[0].reuseport: must be true or "
                                "false" },
    { "\"ipv6_only\": false",
      "listeners[0].ipv6_only: is only for an IPv6 address" },
};

static void
test_bad_values(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-c", h->conf, NULL };
    char want[512];
    size_t i;
    int st;

    for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        assert_int_equal(
            hs_write_config(h,
                            "{ \"modules_dir\": \"%s\", \"listeners\": [\n"
                            "  { \"address\": \"127.0.0.1\", \"port\": %d, "
                            "\"module\": \"echo\", %s } ] }\n",
                            PLUGSRV_MODULE_DIR, hs_port(), bad_keys[i][0]),
            0);
        st = hs_run(h, HS_EXIT_MS, argv);
        snprintf(want, sizeof(want), "plugsrv: %s: %s", h->conf,
                 bad_keys[i][1]);
        if (strncmp(h->err, want, strlen(want)) != 0 ||
            strchr(h->err, '\n') == NULL || strchr(h->err, '\n')[1] != '\0')
            fail_msg("stderr: %s\nwanted one line: %s", h->err, want);
        assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    }
    h->passed = 1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, hs_setup, hs_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_allow_deny_v4), T(test_top_level_default), T(test_ipv6),
        T(test_ipv4_mapped),   T(test_prefork),           T(test_bad_values),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
