/*
 * test_config_access.c - the access keys of server.json (allow, deny,
 * max_per_source, rate_per_source, source_prefix_v4/_v6, max_duration,
 * reuseport, ipv6_only): defaults, a listener's value replacing the top
 * level's, every bad value one line naming the file and the key; then the
 * pure parts behind them: address matching (IPv4-mapped addresses as
 * IPv4), the source table's fixed size, the token bucket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugsrv.h"

#define TFILE "/etc/plugsrv/t.json"
#define L0    "{\"address\": \"127.0.0.1\", \"port\": 9999, \"module\": \"echo\"}"
/* A config with top-level text T and one plain listener. */
#define TOP(T) "{" T ", \"listeners\": [" L0 "]}"
/* One listener with the good keys and K. */
#define LST(K)                                                                \
    "{\"listeners\": [{\"address\": \"127.0.0.1\", "                          \
    "\"port\": 9999, \"module\": \"echo\", " K "}]}"
#define LST6(K)                                                               \
    "{\"listeners\": [{\"address\": \"::\", "                                 \
    "\"port\": 9999, \"module\": \"echo\", " K "}]}"

struct bad_case {
    const char *text;
    const char *expect;
};

static const struct bad_case bad_cases[] = {
    /* allow, deny: at the top level and in a listener */
    { LST("\"allow\": [\"127.0.0.1\", \"::1\", \"10.0.0.0/33\"]"),
      ": listeners[0].allow[2]: \"10.0.0.0/33\": prefix length must be 0 "
      "to 32" },
    { TOP("\"deny\": [\"2001:db8::/129\"]"),
      ": deny[0]: \"2001:db8::/129\": prefix length must be 0 to 128" },
    { TOP("\"allow\": [\"localhost\"]"),
      ": allow[0]: \"localhost\": is not an IPv4 or IPv6 address or block" },
    { LST("\"deny\": [\"10.0.0.0/\"]"),
      ": listeners[0].deny[0]: \"10.0.0.0/\": prefix length" },
    { LST("\"deny\": [\"10.0.0.0/-1\"]"), ": listeners[0].deny[0]:" },
    { LST("\"deny\": [\"10.0.0.0/8/8\"]"), ": listeners[0].deny[0]:" },
    { LST("\"deny\": [\"10.0.0.0/ 8\"]"), ": listeners[0].deny[0]:" },
    { LST("\"deny\": [\"/8\"]"), ": listeners[0].deny[0]: \"/8\": is not" },
    { LST("\"deny\": [\"\"]"), ": listeners[0].deny[0]: \"\": is not" },
    { LST("\"allow\": [\"10.0.0.1/8\"]"),
      ": listeners[0].allow[0]: \"10.0.0.1/8\": has bits set beyond its "
      "prefix length" },
    { LST("\"allow\": [\"::ffff:10.0.0.0/8\"]"),
      ": listeners[0].allow[0]: \"::ffff:10.0.0.0/8\": prefix length must "
      "be 96 to 128" },
    { LST("\"allow\": \"127.0.0.1\""),
      ": listeners[0].allow: must be an array of addresses or blocks" },
    { TOP("\"deny\": {}"), ": deny: must be an array" },
    { LST("\"allow\": [127]"),
      ": listeners[0].allow[0]: must be a string (an address or block)" },
    { LST("\"allow\": [\"127.0.0.1\", null]"),
      ": listeners[0].allow[1]: must be a string" },
    { LST("\"allow\": [\"127.0.0.1\\u0000x\"]"),
      ": listeners[0].allow[0]: \"127.0.0.1\": must not contain a NUL" },
    /* per-source limits */
    { TOP("\"max_per_source\": -1"),
      ": max_per_source: must be an integer from 0 to 1000000" },
    { LST("\"max_per_source\": \"32\""),
      ": listeners[0].max_per_source: must be an integer" },
    { TOP("\"rate_per_source\": 5"),
      ": rate_per_source: must be an object { \"rate\": R, \"burst\": B }" },
    { LST("\"rate_per_source\": {\"burst\": 5}"),
      ": listeners[0].rate_per_source.rate: is required" },
    { LST("\"rate_per_source\": {\"rate\": -1}"),
      ": listeners[0].rate_per_source.rate: must be an integer from 0 to "
      "1000000" },
    { LST("\"rate_per_source\": {\"rate\": 5, \"burst\": 0}"),
      ": listeners[0].rate_per_source.burst: must be an integer from 1 to" },
    { LST("\"rate_per_source\": {\"rate\": 5, \"brust\": 2}"),
      ": listeners[0].rate_per_source.brust: unknown key" },
    { LST("\"rate_per_source\": {\"rate\": 1.5}"),
      ": listeners[0].rate_per_source.rate: must be an integer" },
    { TOP("\"source_prefix_v4\": 33"),
      ": source_prefix_v4: must be an integer from 0 to 32" },
    { LST("\"source_prefix_v6\": 129"),
      ": listeners[0].source_prefix_v6: must be an integer from 0 to 128" },
    { LST("\"source_prefix_v6\": true"),
      ": listeners[0].source_prefix_v6: must be an integer" },
    /* max_duration */
    { TOP("\"max_duration\": -1"),
      ": max_duration: must be an integer from 0 to 31536000" },
    { LST("\"max_duration\": 31536001"),
      ": listeners[0].max_duration: must be an integer from 0 to" },
    /* socket options: a listener's only */
    { LST("\"reuseport\": 1"), ": listeners[0].reuseport: must be true or "
                               "false" },
    { LST6("\"ipv6_only\": \"no\""),
      ": listeners[0].ipv6_only: must be true or false" },
    { LST("\"ipv6_only\": false"),
      ": listeners[0].ipv6_only: is only for an IPv6 address" },
    { "{\"listeners\": [{\"address\": \"::ffff:127.0.0.1\", \"port\": 1, "
      "\"module\": \"echo\"}]}",
      ": listeners[0].address: \"::ffff:127.0.0.1\" is an IPv4-mapped IPv6 "
      "address, which an IPv6 listener cannot bind: write the IPv4 address "
      "itself (or set \"ipv6_only\": false)" },
    { TOP("\"reuseport\": true"), ": reuseport: unknown key" },
    { TOP("\"ipv6_only\": false"), ": ipv6_only: unknown key" },
};

static void
check_bad(const char *text, const char *expect)
{
    struct config *conf = NULL;
    char err[ERRBUF];
    int rc;

    memset(err, 'X', sizeof(err));
    rc = config_parse(text, strlen(text), TFILE, &conf, err, sizeof(err));
    if (rc != -1 || strstr(err, expect) == NULL ||
        strncmp(err, TFILE ": ", strlen(TFILE) + 2) != 0 ||
        strchr(err, '\n') != NULL)
        print_error("config %.300s\n  message:  %s\n  expected: %s\n", text,
                    err, expect);
    assert_int_equal(rc, -1);
    assert_null(conf);
    assert_non_null(strstr(err, expect));
    assert_int_equal(strncmp(err, TFILE ": ", strlen(TFILE) + 2), 0);
    assert_null(strchr(err, '\n'));
}

static void
test_bad_values(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        check_bad(bad_cases[i].text, bad_cases[i].expect);
}

static struct config *
parse_good(const char *text)
{
    struct config *conf = NULL;
    char err[ERRBUF];

    if (config_parse(text, strlen(text), TFILE, &conf, err, sizeof(err)) != 0)
        print_error("unexpected error: %s\n", err);
    assert_non_null(conf);
    return conf;
}

static void
test_defaults(void **state)
{
    struct config *c = parse_good("{\"listeners\": [" L0 "]}");
    const struct access_conf *a = &c->listeners[0].access;

    (void)state;
    assert_int_equal(a->allow.set, 0);
    assert_int_equal(a->deny.set, 0);
    assert_int_equal(a->max_per_source, 64);
    assert_int_equal(a->rate, 0);
    assert_int_equal(a->prefix_v4, 32);
    assert_int_equal(a->prefix_v6, 64);
    assert_int_equal(a->max_duration, 0);
    assert_int_equal(c->listeners[0].reuseport, 0);
    assert_int_equal(c->listeners[0].ipv6_only, 1);
    config_free(c);
    /* a quarter of max_connections, at least 16 */
    c = parse_good(TOP("\"max_connections\": 1024"));
    assert_int_equal(c->listeners[0].access.max_per_source, 256);
    config_free(c);
    c = parse_good(TOP("\"max_connections\": 2"));
    assert_int_equal(c->listeners[0].access.max_per_source, 16);
    config_free(c);
}

/* The top level gives defaults; a listener's own key replaces it, a list
 * as a whole (not merged), and an empty list is a list. */
static void
test_listener_replaces_top(void **state)
{
    struct config *c = parse_good(
        "{ \"allow\": [\"10.0.0.0/8\", \"::1\"], \"deny\": [\"10.1.0.0/16\"],"
        "  \"max_per_source\": 5, \"rate_per_source\": {\"rate\": 3},"
        "  \"source_prefix_v4\": 24, \"source_prefix_v6\": 48,"
        "  \"max_duration\": 60,"
        "  \"listeners\": [" L0 ","
        "  {\"address\": \"::\", \"port\": 1, \"module\": \"echo\","
        "   \"allow\": [\"2001:db8::/32\"], \"deny\": [],"
        "   \"max_per_source\": 0, \"rate_per_source\": {\"rate\": 10, "
        "\"burst\": 20}, \"source_prefix_v4\": 32, \"source_prefix_v6\": 128,"
        "   \"max_duration\": 0, \"reuseport\": true, \"ipv6_only\": "
        "false}]}");
    const struct access_conf *a = &c->listeners[0].access;
    const struct access_conf *b = &c->listeners[1].access;

    (void)state;
    assert_int_equal(a->allow.set, 1);
    assert_int_equal(a->allow.n, 2);
    assert_int_equal(a->deny.n, 1);
    assert_int_equal(a->max_per_source, 5);
    assert_int_equal(a->rate, 3);
    assert_int_equal(a->burst, 3); /* burst defaults to the rate */
    assert_int_equal(a->prefix_v4, 24);
    assert_int_equal(a->prefix_v6, 48);
    assert_int_equal(a->max_duration, 60);
    assert_int_equal(b->allow.n, 1);
    assert_int_equal(b->allow.nets[0].family, AF_INET6);
    assert_int_equal(b->allow.nets[0].bits, 32);
    assert_int_equal(b->deny.set, 1);
    assert_int_equal(b->deny.n, 0);
    assert_int_equal(b->max_per_source, 0);
    assert_int_equal(b->rate, 10);
    assert_int_equal(b->burst, 20);
    assert_int_equal(b->prefix_v4, 32);
    assert_int_equal(b->prefix_v6, 128);
    assert_int_equal(b->max_duration, 0);
    assert_int_equal(c->listeners[1].reuseport, 1);
    assert_int_equal(c->listeners[1].ipv6_only, 0);
    config_free(c);
}

/* ---- matching ---- */

static struct acl_addr
peer(const char *text)
{
    struct sockaddr_storage ss;
    struct acl_addr a;
    socklen_t len;

    assert_int_equal(addr_parse(text, 1, &ss, &len), 0);
    assert_int_equal(acl_from_sockaddr((struct sockaddr *)&ss, &a), 0);
    return a;
}

static int
match(const char *block, const char *addr)
{
    struct acl_addr net, a = peer(addr);
    struct acl list = { 1, 1, &net };
    char why[ERRBUF];

    assert_int_equal(acl_parse(block, &net, why, sizeof(why)), 0);
    return acl_match(&list, &a);
}

static void
test_match(void **state)
{
    (void)state;
    assert_true(match("127.0.0.1", "127.0.0.1"));
    assert_false(match("127.0.0.1", "127.0.0.2"));
    assert_true(match("10.0.0.0/8", "10.255.1.2"));
    assert_false(match("10.0.0.0/8", "11.0.0.1"));
    assert_true(match("0.0.0.0/0", "192.0.2.1"));
    assert_true(match("192.168.1.128/25", "192.168.1.200"));
    assert_false(match("192.168.1.128/25", "192.168.1.127"));
    assert_true(match("2001:db8::/32", "2001:db8:1::5"));
    assert_false(match("2001:db8::/32", "2001:db9::5"));
    assert_true(match("::1", "::1"));
    assert_true(match("2001:db8::/33", "2001:db8:7fff::1"));
    assert_false(match("2001:db8::/33", "2001:db8:8000::1"));
    /* IPv4-mapped peers are their IPv4 address, in both directions */
    assert_true(match("127.0.0.1", "::ffff:127.0.0.1"));
    assert_true(match("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(match("::ffff:10.0.0.0/104", "10.1.2.3"));
    assert_true(match("::ffff:127.0.0.1", "127.0.0.1"));
    /* and families never match across */
    assert_false(match("::/0", "127.0.0.1"));
    assert_false(match("::/0", "::ffff:127.0.0.1"));
    assert_false(match("0.0.0.0/0", "::1"));
    assert_true(match("::/0", "::1"));
}

/* ---- the source table ---- */

static struct acl_addr
v4(unsigned n)
{
    struct acl_addr a;

    memset(&a, 0, sizeof(a));
    a.family = AF_INET;
    a.bits = 32;
    a.b[0] = 127;
    a.b[1] = (unsigned char)(n >> 16);
    a.b[2] = (unsigned char)(n >> 8);
    a.b[3] = (unsigned char)n;
    return a;
}

/* 100,000 distinct sources through a table for 256 connections: its size
 * never changes, open entries stay, idle ones are forgotten. */
static void
test_table_bounded(void **state)
{
    struct sources *t = sources_new(256);
    struct source *open[200], *e;
    struct acl_addr a;
    size_t bytes = sources_bytes(t);
    unsigned i;

    (void)state;
    assert_non_null(t);
    assert_true(bytes < 128 * 1024);
    for (i = 0; i < 200; i++) {
        a = v4(i);
        open[i] = sources_get(t, &a, 1);
        assert_non_null(open[i]);
        sources_hold(open[i]);
    }
    for (i = 200; i < 100200; i++) {
        a = v4(i);
        assert_non_null(e = sources_get(t, &a, 2 + i));
    }
    assert_int_equal(sources_bytes(t), bytes);
    for (i = 0; i < 200; i++) {
        a = v4(i);
        e = sources_get(t, &a, 200000);
        assert_ptr_equal(e, open[i]);
        assert_int_equal(sources_open(e), 1);
        sources_release(e);
        assert_int_equal(sources_open(e), 0);
    }
    sources_release(NULL);
    sources_free(t);
}

static void
test_rate(void **state)
{
    struct sources *t = sources_new(16);
    struct acl_addr a = v4(1);
    struct source *e = sources_get(t, &a, 0);
    int i, ok = 0;

    (void)state;
    /* burst 3 at once, then one per 1/rate s */
    for (i = 0; i < 10; i++)
        ok += sources_take(e, 2, 3, 1000) == 0;
    assert_int_equal(ok, 3);
    assert_int_equal(sources_take(e, 2, 3, 1499), -1);
    assert_int_equal(sources_take(e, 2, 3, 1500), 0);
    assert_int_equal(sources_take(e, 2, 3, 1500), -1);
    /* a quiet minute refills the bucket to its burst, no more */
    for (i = 0, ok = 0; i < 10; i++)
        ok += sources_take(e, 2, 3, 61000) == 0;
    assert_int_equal(ok, 3);
    sources_free(t);
}

/* A reload's new table keeps the buckets of the old one. */
static void
test_carry(void **state)
{
    struct sources *old = sources_new(16), *new = sources_new(64);
    struct acl_addr a = v4(7), b = v4(8);
    struct source *e;

    (void)state;
    e = sources_get(old, &a, 1000);
    assert_int_equal(sources_take(e, 1, 1, 1000), 0);
    assert_int_equal(sources_take(e, 1, 1, 1000), -1);
    (void)sources_get(old, &b, 1000); /* never limited: nothing to carry */
    sources_carry(new, old);
    sources_free(old);
    e = sources_get(new, &a, 1001);
    assert_int_equal(sources_open(e), 0);
    assert_int_equal(sources_take(e, 1, 1, 1001), -1);
    assert_int_equal(sources_take(e, 1, 1, 2000), 0);
    sources_free(new);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_listener_replaces_top),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_table_bounded),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_carry),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
