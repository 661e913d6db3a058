/*
 * test_admit.c - the parent's decision on a connection, without sockets:
 * the order of the checks (one reason each), the listeners' shares of
 * max_connections, per-source counts released when a connection ends, and
 * the counters a refusal and an exit add to. The children are table
 * entries only (children_add with pids that are never signalled).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "plugsrv.h"

#define TFILE "/etc/plugsrv/t.json"

static struct config *conf;
static struct listener ls[2];
static struct listener_count counts[2]; /* lean_parent_alloc's, in plugsrv */

/* Two listeners A and B of the config text's top level T and keys of A. */
static void
setup(const char *top, const char *akeys)
{
    char text[1024], err[ERRBUF];
    size_t i;

    snprintf(text, sizeof(text),
             "{ %s \"listeners\": ["
             "{\"name\": \"A\", \"address\": \"127.0.0.1\", \"port\": 1, "
             "\"module\": \"echo\" %s},"
             "{\"name\": \"B\", \"address\": \"127.0.0.1\", \"port\": 2, "
             "\"module\": \"echo\"}]}",
             top, akeys);
    if (config_parse(text, strlen(text), TFILE, &conf, err, sizeof(err)))
        print_error("%s\n", err);
    assert_non_null(conf);
    memset(ls, 0, sizeof(ls));
    memset(counts, 0, sizeof(counts));
    assert_int_equal(children_init(), 0);
    for (i = 0; i < 2; i++) {
        ls[i].conf = &conf->listeners[i];
        ls[i].count = &counts[i];
        assert_int_equal(admit_open(&ls[i], conf), 0);
    }
    admit_configure(conf, ls, 2);
}

static void
teardown(void)
{
    children_free();
    admit_close(&ls[0]);
    admit_close(&ls[1]);
    config_free(conf);
}

static struct sockaddr_in
v4(const char *text)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, text, &sa.sin_addr), 1);
    return sa;
}

/* One connection from text on l: NULL and a table entry if admitted. */
static const char *
connect_from(struct listener *l, const char *text, pid_t pid)
{
    struct sockaddr_in sa = v4(text);
    struct admit_ref ref;
    const char *why = admit_peer(l, (struct sockaddr *)&sa, &ref);
    struct child *c;

    if (why != NULL)
        return why;
    assert_non_null(c = children_add(pid, l, CHILD_SERVING));
    c->ref = ref;
    return NULL;
}

/* Stands for the exit of the child pid, as to its source's count. */
static void
ended(pid_t pid)
{
    struct child *c = children_find(pid);

    sources_release(c->ref.source);
    c->ref.source = NULL;
}

/* acl, then the caps, then per_source, then rate: one reason each, and a
 * refusal takes no token. */
static void
test_order(void **state)
{
    pid_t pid = 100000;

    (void)state;
    setup("\"max_connections\": 8, \"deny\": [\"127.0.0.9\"],",
          ", \"max_connections\": 5, \"max_per_source\": 2,"
          "\"rate_per_source\": {\"rate\": 1, \"burst\": 3}");
    assert_string_equal(connect_from(&ls[0], "127.0.0.9", pid), "acl");
    assert_null(connect_from(&ls[0], "127.0.0.1", pid++));
    assert_null(connect_from(&ls[0], "127.0.0.1", pid++));
    assert_string_equal(connect_from(&ls[0], "127.0.0.1", pid), "per_source");
    ended(pid - 1);
    assert_null(connect_from(&ls[0], "127.0.0.1", pid++)); /* token 3 */
    ended(pid - 1);
    assert_string_equal(connect_from(&ls[0], "127.0.0.1", pid), "rate");
    assert_null(connect_from(&ls[0], "127.0.0.3", pid++));
    assert_null(connect_from(&ls[0], "127.0.0.4", pid++));
    assert_string_equal(connect_from(&ls[0], "127.0.0.5", pid),
                        "listener_max_connections");
    assert_string_equal(connect_from(&ls[0], "127.0.0.9", pid), "acl");
    teardown();
}

/* 8 connections, 2 listeners: each keeps 8 / (2 x 2) = 2 for itself. */
static void
test_shares(void **state)
{
    char src[32];
    pid_t pid = 200000;
    int i;

    (void)state;
    setup("\"max_connections\": 8, \"max_per_source\": 0,", "");
    for (i = 0; i < 6; i++) {
        snprintf(src, sizeof(src), "127.0.1.%d", i);
        assert_null(connect_from(&ls[0], src, pid++));
    }
    /* A has 6: the last 2 are B's share */
    assert_string_equal(connect_from(&ls[0], "127.0.2.1", pid),
                        "max_connections");
    assert_null(connect_from(&ls[1], "127.0.2.1", pid++));
    assert_null(connect_from(&ls[1], "127.0.2.2", pid++));
    assert_string_equal(connect_from(&ls[1], "127.0.2.3", pid),
                        "max_connections");
    assert_int_equal(children_serving(), 8);
    teardown();
}

/* An entry's count goes when its child goes (children.c releases it). */
static void
test_release(void **state)
{
    pid_t pid = 300000;

    (void)state;
    setup("", ", \"max_per_source\": 1");
    assert_null(connect_from(&ls[0], "127.0.0.1", pid));
    assert_string_equal(connect_from(&ls[0], "127.0.0.1", pid + 1),
                        "per_source");
    ended(pid);
    assert_null(connect_from(&ls[0], "127.0.0.1", pid + 2));
    teardown();
}

static void
test_stats(void **state)
{
    struct stats st;

    (void)state;
    memset(&st, 0, sizeof(st));
    stats_accepted(&st);
    stats_refused(&st, "acl");
    stats_refused(&st, stats_refusals[STATS_RATE]);
    stats_refused(&st, "no-such-reason");
    stats_exited(&st, "max-duration");
    stats_exited(&st, "something new");
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.refused[STATS_ACL], 1);
    assert_int_equal(st.refused[STATS_RATE], 1);
    assert_string_equal(stats_exits[STATS_NEXITS - 1], "other");
    assert_int_equal(st.exited[STATS_NEXITS - 1], 1);
    assert_int_equal(st.exited[14], 1);
    assert_string_equal(stats_exits[14], "max-duration");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_stats),
    };

    assert_int_equal(children_init(), 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
