/*
 * test_config.c - the config loader against a catalog of good and bad
 * server.json texts: every bad one must fail with one line naming the file
 * and the key, every good one must give the values, defaults and paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "plugsrv.h"

#define TFILE "/etc/plugsrv/t.json"
#define L0    "{\"address\": \"127.0.0.1\", \"port\": 9999, \"module\": \"echo\"}"
#define L1    "{\"address\": \"127.0.0.1\", \"port\": 9998, \"module\": \"echo\"}"
/* A config with one good listener and top-level text T before it. */
#define TOP(T) "{" T ", \"listeners\": [" L0 "]}"
/* A config with one listener made of the good keys and K. */
#define LST(K)                                                                \
    "{\"listeners\": [{\"address\": \"127.0.0.1\", "                          \
    "\"port\": 9999, \"module\": \"echo\", " K "}]}"
/* A listener with address and port, and K (module and more). */
#define MOD(K)                                                                \
    "{\"listeners\": [{\"address\": \"127.0.0.1\", "                          \
    "\"port\": 9999, " K "}]}"
/* One listener of nothing but K. */
#define ONLY(K) "{\"listeners\": [{" K "}]}"

struct bad_case {
    const char *text;
    const char *expect; /* a substring of the message after "FILE" */
};

static const struct bad_case bad_cases[] = {
    /* JSON itself */
    { "{\"listeners\": [}", ":1:16: " },
    { "{\n  \"max_line\": 1,\n  \"x\" 2\n}", ":3:" },
    { TOP("\"max_line\": 1") " x", "end of file expected" },
    { TOP("\"max_line\": 1") "{}", "end of file expected" },
    { "[" L0 "]", ": must be a JSON object" },
    { "\"listeners\"", ":1:" },
    { "", ":1:0: " },
    { "  \n\n ", ":3:" },
    { TOP("\"max_line\": 1, \"max_line\": 2"), "duplicate object key" },
    { LST("\"options\": {\"a\": 1, \"a\": 2}"), "duplicate object key" },
    { TOP("\"max_line\": 99999999999999999999999"), "too big integer" },
    { "{\"listeners\": [" L0 "],}", ":1:" },
    { "{'listeners': []}", ":1:" },
    /* unknown keys, at every level */
    { TOP("\"prot\": 1"), ": prot: unknown key" },
    { TOP("\"Listeners\": []"), ": Listeners: unknown key" },
    { LST("\"prot\": 1"), ": listeners[0].prot: unknown key" },
    { TOP("\"rlimits\": {\"stack\": 1}"), ": rlimits.stack: unknown key" },
    { TOP("\"a\\nb\": 1"), ": a?b: unknown key" },
    /* wrong types and ranges at the top level */
    { TOP("\"max_connections\": \"10\""),
      ": max_connections: must be an integer from 1 to 1000000" },
    { TOP("\"max_connections\": 0"), ": max_connections: must be an integer" },
    { TOP("\"max_connections\": 1000001"), ": max_connections: must be an" },
    { TOP("\"max_connections\": 1.5"), ": max_connections: must be an" },
    { TOP("\"idle_timeout\": -1"),
      ": idle_timeout: must be an integer from 0 to 31536000" },
    { TOP("\"idle_timeout\": 31536001"), ": idle_timeout: must be an" },
    { TOP("\"idle_timeout\": null"), ": idle_timeout: must be an" },
    { TOP("\"max_line\": 0"),
      ": max_line: must be an integer from 1 to 1073741824" },
    { TOP("\"max_line\": 1073741825"), ": max_line: must be an integer" },
    { TOP("\"shutdown_timeout\": 3601"),
      ": shutdown_timeout: must be an integer from 0 to 3600" },
    { TOP("\"shutdown_timeout\": true"), ": shutdown_timeout: must be an" },
    { TOP("\"user\": \"\""), ": user: must not be empty" },
    { TOP("\"user\": 0"), ": user: must be a string" },
    { TOP("\"group\": [\"wheel\"]"), ": group: must be a string" },
    { TOP("\"group\": \"\""), ": group: must not be empty" },
    { TOP("\"modules_dir\": []"), ": modules_dir: must be a string" },
    { TOP("\"modules_dir\": \"\""), ": modules_dir: must not be empty" },
    { TOP("\"rlimits\": 5"), ": rlimits: must be an object" },
    { TOP("\"rlimits\": {\"cpu\": -1}"),
      ": rlimits.cpu: must be an integer from 0 to 1125899906842624" },
    { TOP("\"rlimits\": {\"as\": 1125899906842625}"), ": rlimits.as: must" },
    { TOP("\"rlimits\": {\"nofile\": 1.5}"), ": rlimits.nofile: must be" },
    { TOP("\"rlimits\": {\"nofile\": \"64\"}"), ": rlimits.nofile: must be" },
    /* the listeners array */
    { "{}", ": listeners: is required" },
    { "{\"max_line\": 10}", ": listeners: is required" },
    { "{\"listeners\": []}", ": listeners: must be a non-empty array" },
    { "{\"listeners\": {}}", ": listeners: must be a non-empty array" },
    { "{\"listeners\": null}", ": listeners: must be a non-empty array" },
    { "{\"listeners\": [5]}", ": listeners[0]: must be an object" },
    { "{\"listeners\": [" L0 ", []]}", ": listeners[1]: must be an object" },
    /* required listener keys */
    { ONLY("\"port\": 1, \"module\": \"echo\""),
      ": listeners[0].address: is required" },
    { ONLY("\"address\": \"::1\", \"module\": \"echo\""),
      ": listeners[0].port: is required" },
    { ONLY("\"address\": \"::1\", \"port\": 1"),
      ": listeners[0].module: is required" },
    { "{\"listeners\": [" L0 ", {\"address\": \"::1\", \"port\": 7}]}",
      ": listeners[1].module: is required" },
    /* port */
    { ONLY("\"address\": \"::1\", \"port\": 0, \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { ONLY("\"address\": \"::1\", \"port\": 65536, \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { ONLY("\"address\": \"::1\", \"port\": -80, \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { ONLY("\"address\": \"::1\", \"port\": 1e30, \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { ONLY("\"address\": \"::1\", \"port\": 1.5, \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { ONLY("\"address\": \"::1\", \"port\": \"80\", \"module\": \"m\""),
      ": listeners[0].port: must be an integer from 1 to 65535" },
    { "{\"listeners\": [" L0 ", {\"address\": \"::1\", \"port\": 1e3, "
      "\"module\": \"m\"}]}",
      ": listeners[1].port: must be an integer from 1 to 65535" },
    /* address */
    { ONLY("\"address\": \"localhost\", \"port\": 80, \"module\": \"m\""),
      ": listeners[0].address: \"localhost\" is not a numeric IPv4 or IPv6" },
    { ONLY("\"address\": \"999.1.1.1\", \"port\": 80, \"module\": \"m\""),
      ": listeners[0].address: \"999.1.1.1\" is not a numeric" },
    { ONLY("\"address\": \"::1::2\", \"port\": 80, \"module\": \"m\""),
      ": listeners[0].address: \"::1::2\" is not a numeric" },
    { ONLY("\"address\": \"\", \"port\": 80, \"module\": \"m\""),
      ": listeners[0].address: must not be empty" },
    { ONLY("\"address\": 127, \"port\": 80, \"module\": \"m\""),
      ": listeners[0].address: must be a string" },
    { ONLY("\"address\": \"127.0.0.1\\u0000x\", \"port\": 80, "
           "\"module\": \"m\""),
      ": listeners[0].address: must not contain a NUL byte" },
    /* module and name */
    { MOD("\"module\": \"\""), ": listeners[0].module: must not be empty" },
    { MOD("\"module\": 1"), ": listeners[0].module: must be a string" },
    { MOD("\"module\": \".\""),
      ": listeners[0].module: must be a module name or a path" },
    { MOD("\"module\": \"..\""),
      ": listeners[0].module: must be a module name or a path" },
    { MOD("\"module\": \"mods/\""),
      ": listeners[0].module: must name a file, not a folder" },
    { MOD("\"module\": \"a b\""), ": listeners[0].module: \"a b\" cannot" },
    { LST("\"name\": \"\""), ": listeners[0].name: must not be empty" },
    { LST("\"name\": false"), ": listeners[0].name: must be a string" },
    { LST("\"name\": \"a b\""), ": listeners[0].name: must be at most 63" },
    { LST("\"name\": \"a=b\""), ": listeners[0].name: must be at most 63" },
    { LST("\"name\": \"0123456789012345678901234567890123456789"
          "012345678901234567890123\""),
      ": listeners[0].name: must be" },
    /* listener limits and mode */
    { LST("\"mode\": \"spawn\""),
      ": listeners[0].mode: must be \"fork\" or \"prefork\"" },
    { LST("\"mode\": 1"), ": listeners[0].mode: must be \"fork\"" },
    { LST("\"mode\": \"\""), ": listeners[0].mode: must be \"fork\"" },
    { LST("\"backlog\": 0"),
      ": listeners[0].backlog: must be an integer from 1 to 65535" },
    { LST("\"backlog\": 65536"), ": listeners[0].backlog: must be an" },
    { LST("\"spare\": 0"),
      ": listeners[0].spare: must be an integer from 1 to 10000" },
    { LST("\"mode\": \"prefork\", \"spare\": 10001"),
      ": listeners[0].spare: must be an" },
    { LST("\"max_connections\": 0"),
      ": listeners[0].max_connections: must be an integer from 1 to" },
    { LST("\"idle_timeout\": -5"),
      ": listeners[0].idle_timeout: must be an integer from 0 to" },
    { LST("\"max_line\": 0"),
      ": listeners[0].max_line: must be an integer from 1 to 1073741824" },
    { LST("\"max_line\": \"64k\""), ": listeners[0].max_line: must be an" },
    /* options */
    { LST("\"options\": []"), ": listeners[0].options: must be an object" },
    { LST("\"options\": \"x=1\""), ": listeners[0].options: must be an" },
    { LST("\"options\": {\"x\": [1]}"),
      ": listeners[0].options.x: [0] must be a string" },
    { LST("\"options\": {\"x\": [\"a\", [\"b\"]]}"),
      ": listeners[0].options.x: [1] must be a string" },
    { LST("\"options\": {\"ok\": 1, \"x\": {\"A\": 1}}"),
      ": listeners[0].options.x: \"A\" must be a string" },
    { LST("\"options\": {\"x\": null}"),
      ": listeners[0].options.x: must be a string, integer, boolean, array "
      "of strings or object of strings" },
    { LST("\"options\": {\"x\": 1.5}"),
      ": listeners[0].options.x: must be a string, integer, boolean, array "
      "of strings or object of strings" },
    /* two listeners on one socket */
    { "{\"listeners\": [" L0 ", " L1 ", " L0 "]}",
      ": listeners[2]: duplicate of listeners[0] (127.0.0.1:9999)" },
    { "{\"listeners\": [{\"address\": \"::1\", \"port\": 80, \"module\": "
      "\"a\"}, {\"address\": \"0:0:0:0:0:0:0:1\", \"port\": 80, "
      "\"module\": \"b\"}]}",
      ": listeners[1]: duplicate of listeners[0] ([0:0:0:0:0:0:0:1]:80)" },
    { "{\"listeners\": [{\"address\": \"10.0.0.1\", \"port\": 80, "
      "\"module\": \"a\", \"name\": \"x\"}, {\"address\": \"010.0.0.1\", "
      "\"port\": 80, \"module\": \"b\"}]}",
      ": listeners[1].address: \"010.0.0.1\" is not a numeric" },
    /* a wildcard and an address of its family on one port */
    { "{\"listeners\": [{\"address\": \"0.0.0.0\", \"port\": 80, "
      "\"module\": \"a\"}, {\"address\": \"127.0.0.1\", \"port\": 80, "
      "\"module\": \"b\"}]}",
      ": listeners[1]: 127.0.0.1:80 overlaps listeners[0] (0.0.0.0:80)" },
    { "{\"listeners\": [{\"address\": \"::1\", \"port\": 80, "
      "\"module\": \"a\"}, {\"address\": \"::\", \"port\": 80, "
      "\"module\": \"b\"}]}",
      ": listeners[1]: [::]:80 overlaps listeners[0] ([::1]:80)" },
    /* an IPv6 socket cannot bind an IPv4-mapped address */
    { "{\"listeners\": [{\"address\": \"::ffff:127.0.0.1\", "
      "\"port\": 80, \"module\": \"a\"}]}",
      ": listeners[0].address: \"::ffff:127.0.0.1\" is an IPv4-mapped" },
};

/* A bad config fails with one line: "FILE: ..." holding expect, and
 * leaves *out alone. */
static void
check_bad(const char *file, const char *text, size_t len, const char *expect,
          int load)
{
    struct config *conf = NULL;
    char err[ERRBUF];
    int rc;

    memset(err, 'X', sizeof(err));
    if (load)
        rc = config_load(file, &conf, err, sizeof(err));
    else
        rc = config_parse(text, len, file, &conf, err, sizeof(err));
    if (getenv("TEST_CONFIG_VERBOSE") != NULL) /* to read the messages */
        fprintf(stderr, "%s\n", err);
    if (rc != -1 || conf != NULL || strstr(err, expect) == NULL ||
        strncmp(err, file, strlen(file)) != 0 || strchr(err, '\n') ||
        strstr(err, "plugsrv: ") != NULL)
        print_error("config %.200s\n  message:  %s\n  expected: %s\n",
                    text ? text : file, err, expect);
    assert_int_equal(rc, -1);
    assert_null(conf);
    assert_non_null(strstr(err, expect));
    assert_int_equal(strncmp(err, file, strlen(file)), 0);
    assert_null(strchr(err, '\n'));
    assert_null(strstr(err, "plugsrv: "));
}

static void
test_bad_catalog(void **state)
{
    size_t i;

    (void)state;
    assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 35);
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        check_bad(TFILE, bad_cases[i].text, strlen(bad_cases[i].text),
                  bad_cases[i].expect, 0);
}

/* Text built at run time: too deep, too many listeners, too large, NULs. */
static void
test_bad_generated(void **state)
{
    size_t i, n = 5000, cap = 1024 * 1024 + 100;
    char *s = malloc(cap), *p;

    (void)state;
    assert_non_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    check_bad(TFILE, s, 2 * n, "maximum parsing depth reached", 0);

    p = s + sprintf(s, "{\"listeners\": [");
    for (i = 0; i < 1025; i++)
        p += sprintf(p,
                     "%s{\"address\": \"::1\", \"port\": %zu, "
                     "\"module\": \"m\"}",
                     i ? "," : "", i + 1);
    strcpy(p, "]}");
    check_bad(TFILE, s, strlen(s),
              ": listeners: has 1025 entries, at "
              "most 1024",
              0);

    memset(s, ' ', cap);
    memcpy(s, TOP("\"max_line\": 1"), strlen(TOP("\"max_line\": 1")));
    check_bad(TFILE, s, 1024 * 1024 + 1,
              ": too large (1048577 bytes, at "
              "most 1048576)",
              0);

    memcpy(s, TOP("\"max_line\": 1"), sizeof(TOP("\"max_line\": 1")));
    check_bad(TFILE, s, sizeof(TOP("\"max_line\": 1")), ":1:", 0);
    free(s);
}

static struct config *
parse_good(const char *file, const char *text)
{
    struct config *conf = NULL;
    char err[ERRBUF];

    if (config_parse(text, strlen(text), file, &conf, err, sizeof(err)) != 0)
        print_error("unexpected error: %s\n", err);
    assert_non_null(conf);
    return conf;
}

static void
test_defaults(void **state)
{
    struct config *c = parse_good(TFILE, "{\"listeners\": [" L0 "]}");
    struct listener_conf *l = &c->listeners[0];

    (void)state;
    assert_string_equal(c->path, TFILE);
    /* The installed modules, whatever the config's folder. */
    assert_string_equal(c->modules_dir, PLUGSRV_DEFAULT_MODULES_DIR);
    assert_int_equal(c->max_connections, 256);
    assert_int_equal(c->idle_timeout, 300);
    assert_int_equal(c->max_line, 65536);
    assert_int_equal(c->shutdown_timeout, 10);
    assert_null(c->user);
    assert_null(c->group);
    assert_int_equal(c->rlimits.cpu, 300);
    assert_int_equal(c->rlimits.as, 1LL << 30);
    assert_int_equal(c->rlimits.nofile, 1024);
    assert_int_equal(c->nlisteners, 1);
    assert_string_equal(l->name, "echo");
    assert_string_equal(l->address, "127.0.0.1");
    assert_int_equal(l->port, 9999);
    assert_string_equal(l->module, "echo");
    assert_string_equal(l->module_path,
                        PLUGSRV_DEFAULT_MODULES_DIR "/echo.so");
    assert_int_equal(l->options.count, 0);
    assert_int_equal(l->max_connections, 0);
    assert_int_equal(l->idle_timeout, 300);
    assert_int_equal(l->max_line, 65536);
    assert_int_equal(l->backlog, 511);
    assert_int_equal(l->mode, MODE_FORK);
    assert_int_equal(l->spare, 4);
    config_free(c);
}

static void
test_everything_set(void **state)
{
    struct config *c = parse_good(
        TFILE,
        "{\"modules_dir\": \"/opt/plug\", \"max_connections\": 1000000,"
        " \"idle_timeout\": 0, \"max_line\": 1073741824,"
        " \"shutdown_timeout\": 3600, \"user\": \"nobody\","
        " \"group\": \"nogroup\", \"rlimits\": {\"cpu\": 5, "
        "\"as\": 1125899906842624, \"nofile\": 64},"
        " \"listeners\": [{\"name\": \"up\", \"address\": \"::\","
        " \"port\": 65535, \"module\": \"uppercase\", \"max_connections\": 3,"
        " \"idle_timeout\": 31536000, \"max_line\": 1, \"backlog\": 65535,"
        " \"mode\": \"prefork\", \"spare\": 10000},"
        " {\"address\": \"0.0.0.0\", \"port\": 1, \"module\": \"echo.so\","
        " \"mode\": \"fork\", \"backlog\": 1, \"spare\": 1}]}");
    struct listener_conf *l = c->listeners;

    (void)state;
    assert_string_equal(c->modules_dir, "/opt/plug");
    assert_int_equal(c->max_connections, 1000000);
    assert_int_equal(c->idle_timeout, 0);
    assert_int_equal(c->max_line, 1 << 30);
    assert_int_equal(c->shutdown_timeout, 3600);
    assert_string_equal(c->user, "nobody");
    assert_string_equal(c->group, "nogroup");
    assert_int_equal(c->rlimits.cpu, 5);
    assert_true(c->rlimits.as == 1LL << 50);
    assert_int_equal(c->rlimits.nofile, 64);
    assert_int_equal(c->nlisteners, 2);
    assert_string_equal(l[0].name, "up");
    assert_string_equal(l[0].address, "::");
    assert_int_equal(l[0].port, 65535);
    assert_string_equal(l[0].module_path, "/opt/plug/uppercase.so");
    assert_int_equal(l[0].max_connections, 3);
    assert_int_equal(l[0].idle_timeout, 31536000);
    assert_int_equal(l[0].max_line, 1);
    assert_int_equal(l[0].backlog, 65535);
    assert_int_equal(l[0].mode, MODE_PREFORK);
    assert_int_equal(l[0].spare, 10000);
    /* the second inherits the top level; "echo.so" gets no second .so */
    assert_string_equal(l[1].name, "echo");
    assert_string_equal(l[1].module_path, "/opt/plug/echo.so");
    assert_int_equal(l[1].max_connections, 0);
    assert_int_equal(l[1].idle_timeout, 0);
    assert_int_equal(l[1].max_line, 1 << 30);
    assert_int_equal(l[1].backlog, 1);
    assert_int_equal(l[1].mode, MODE_FORK);
    assert_int_equal(l[1].spare, 1);
    config_free(c);
}

static void
check_paths(const char *file, const char *modules_dir, const char *module,
            const char *want_dir, const char *want_path, const char *want_name)
{
    char text[1024];
    struct config *c;

    snprintf(text, sizeof(text),
             "{%s%s%s \"listeners\": [{\"address\": "
             "\"::1\", \"port\": 1, \"module\": \"%s\"}]}",
             modules_dir ? "\"modules_dir\": \"" : "",
             modules_dir ? modules_dir : "", modules_dir ? "\"," : "", module);
    c = parse_good(file, text);
    assert_string_equal(c->modules_dir, want_dir);
    assert_string_equal(c->listeners[0].module_path, want_path);
    assert_string_equal(c->listeners[0].name, want_name);
    config_free(c);
}

static void
test_paths(void **state)
{
    char cwd[PATH_MAX], want[PATH_MAX + 64], want2[PATH_MAX + 64];

    (void)state;
    check_paths(TFILE, "lib/mods", "echo", "/etc/plugsrv/lib/mods",
                "/etc/plugsrv/lib/mods/echo.so", "echo");
    check_paths(TFILE, "./mods", "echo", "/etc/plugsrv/mods",
                "/etc/plugsrv/mods/echo.so", "echo");
    check_paths(TFILE, "../mods/", "echo", "/etc/plugsrv/../mods",
                "/etc/plugsrv/../mods/echo.so", "echo");
    check_paths(TFILE, ".", "echo", "/etc/plugsrv", "/etc/plugsrv/echo.so",
                "echo");
    check_paths(TFILE, "/usr/lib/plugsrv", "x.so", "/usr/lib/plugsrv",
                "/usr/lib/plugsrv/x.so", "x");
    check_paths(TFILE, NULL, "./handlers/line.so", PLUGSRV_DEFAULT_MODULES_DIR,
                "/etc/plugsrv/handlers/line.so", "line");
    check_paths(TFILE, "/m", "hand/lers/line", "/m",
                "/etc/plugsrv/hand/lers/line", "line");
    check_paths(TFILE, NULL, "/abs/z.so", PLUGSRV_DEFAULT_MODULES_DIR,
                "/abs/z.so", "z");
    check_paths(TFILE, NULL, ".so", PLUGSRV_DEFAULT_MODULES_DIR,
                PLUGSRV_DEFAULT_MODULES_DIR "/.so", ".so");
    check_paths("/server.json", "modules", "e", "/modules", "/modules/e.so", "e");
    check_paths("//x//server.json", "modules", "e", "//x/modules",
                "//x/modules/e.so", "e");

    /* a relative file is anchored at the cwd of the moment */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/modules", cwd);
    snprintf(want2, sizeof(want2), "%s/modules/e.so", cwd);
    check_paths("server.json", "modules", "e", want, want2, "e");
    check_paths("./server.json", "modules", "e", want, want2, "e");
    snprintf(want, sizeof(want), "%s/conf/modules", cwd);
    snprintf(want2, sizeof(want2), "%s/conf/m/e.so", cwd);
    check_paths("conf/server.json", "modules", "m/e.so", want, want2, "e");
}

static void
test_options(void **state)
{
    struct config *c = parse_good(
        TFILE, LST("\"options\": {\"suffix\": "
                   "\"!\\n\", \"n\": -42, \"on\": true, \"off\": false, "
                   "\"cut\": \"ab\\u0000cd\", \"big\": 9223372036854775807}"));
    const plugsrv_options *o = &c->listeners[0].options;
    const char *s;
    long long n;
    int b;

    (void)state;
    assert_int_equal(options_count(o), 6);
    assert_string_equal(options_key(o, 0), "suffix");
    assert_string_equal(options_key(o, 5), "big");
    assert_null(options_key(o, 6));
    assert_int_equal(options_string(o, "suffix", "d", &s), PLUGSRV_OK);
    assert_string_equal(s, "!\n");
    assert_int_equal(options_string(o, "cut", "d", &s), PLUGSRV_OK);
    assert_string_equal(s, "ab");
    assert_int_equal(options_int(o, "n", 7, &n), PLUGSRV_OK);
    assert_int_equal(n, -42);
    assert_int_equal(options_int(o, "big", 7, &n), PLUGSRV_OK);
    assert_true(n == 9223372036854775807LL);
    assert_int_equal(options_bool(o, "on", 0, &b), PLUGSRV_OK);
    assert_int_equal(b, 1);
    assert_int_equal(options_bool(o, "off", 1, &b), PLUGSRV_OK);
    assert_int_equal(b, 0);
    /* absent: the default, no error */
    assert_int_equal(options_string(o, "none", "d", &s), PLUGSRV_OK);
    assert_string_equal(s, "d");
    assert_int_equal(options_int(o, "none", 7, &n), PLUGSRV_OK);
    assert_int_equal(n, 7);
    assert_int_equal(options_bool(o, "none", 1, &b), PLUGSRV_OK);
    assert_int_equal(b, 1);
    /* the wrong type: the default, and an error */
    assert_int_equal(options_string(o, "n", "d", &s), PLUGSRV_ERROR);
    assert_string_equal(s, "d");
    assert_int_equal(options_int(o, "suffix", 7, &n), PLUGSRV_ERROR);
    assert_int_equal(n, 7);
    assert_int_equal(options_int(o, "on", 7, &n), PLUGSRV_ERROR);
    assert_int_equal(n, 7);
    assert_int_equal(options_bool(o, "n", 1, &b), PLUGSRV_ERROR);
    assert_int_equal(b, 1);
    config_free(c);

    /* NULL options are empty ones */
    assert_int_equal(options_count(NULL), 0);
    assert_null(options_key(NULL, 0));
    assert_int_equal(options_string(NULL, "x", "d", &s), PLUGSRV_OK);
    assert_string_equal(s, "d");
    assert_int_equal(options_int(NULL, "x", 3, &n), PLUGSRV_OK);
    assert_int_equal(n, 3);
    assert_int_equal(options_bool(NULL, "x", 0, &b), PLUGSRV_OK);
    assert_int_equal(b, 0);
}

/* ABI 1.1: arrays of strings and objects of strings. */
static void
test_option_lists(void **state)
{
    struct config *c = parse_good(
        TFILE, LST("\"options\": {\"argv\": [\"/bin/cat\", \"-u\"], "
                   "\"none\": [], \"env\": {\"B\": \"2\", \"A\": \"1\"}, "
                   "\"s\": \"x\"}"));
    const plugsrv_options *o = &c->listeners[0].options;
    const char *const *list, *const *keys, *const *vals;
    size_t n;

    (void)state;
    assert_int_equal(options_list(o, "argv", &list, &n), PLUGSRV_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0], "/bin/cat");
    assert_string_equal(list[1], "-u");
    assert_null(list[2]);
    assert_int_equal(options_list(o, "none", &list, &n), PLUGSRV_OK);
    assert_int_equal(n, 0);
    assert_null(list[0]);
    assert_int_equal(options_map(o, "env", &keys, &vals, &n), PLUGSRV_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "B"); /* file order */
    assert_string_equal(vals[0], "2");
    assert_string_equal(keys[1], "A");
    assert_string_equal(vals[1], "1");
    assert_null(keys[2]);
    /* absent: NULL and 0; the wrong type: the same and an error */
    assert_int_equal(options_list(o, "x", &list, &n), PLUGSRV_OK);
    assert_null(list);
    assert_int_equal(n, 0);
    assert_int_equal(options_list(o, "env", &list, &n), PLUGSRV_ERROR);
    assert_null(list);
    assert_int_equal(options_map(o, "argv", &keys, &vals, &n),
                     PLUGSRV_ERROR);
    assert_null(keys);
    assert_null(vals);
    assert_int_equal(options_list(o, "s", &list, NULL), PLUGSRV_ERROR);
    config_free(c);
}

static void
test_many_listeners(void **state)
{
    char *s = malloc(200 * 1024), *p;
    struct config *c;
    size_t i;

    (void)state;
    assert_non_null(s);
    p = s + sprintf(s, "{\"idle_timeout\": 9, \"listeners\": [");
    for (i = 0; i < 1024; i++)
        p += sprintf(p,
                     "%s{\"address\": \"%s\", \"port\": %zu, "
                     "\"module\": \"m%zu\"}",
                     i ? "," : "", i % 2 ? "::1" : "127.0.0.1", 1000 + i / 2,
                     i);
    strcpy(p, "]}");
    c = parse_good(TFILE, s);
    assert_int_equal(c->nlisteners, 1024);
    assert_string_equal(c->listeners[1023].name, "m1023");
    assert_int_equal(c->listeners[1023].port, 1511);
    assert_int_equal(c->listeners[1023].idle_timeout, 9);
    config_free(c);
    free(s);
}

/* ---- files ---- */

static char tmpdir[64];

/* len 0: the text is a C string. */
static void
write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");

    if (len == 0)
        len = strlen(text);
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int
files_setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/test_config.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes what the file tests made: tmpdir holds files and one level of
 * folders. */
static int
files_teardown(void **state)
{
    char path[PATH_MAX];
    struct dirent *e;
    DIR *d;

    (void)state;
    d = opendir(tmpdir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        if (unlink(path) != 0)
            rmdir(path);
    }
    if (d != NULL)
        closedir(d);
    return rmdir(tmpdir);
}

static void
test_files_bad(void **state)
{
    char path[PATH_MAX], *big;
    size_t n = 1024 * 1024 + 1;

    (void)state;
    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    check_bad(path, NULL, 0, ": cannot read: No such file or directory", 1);
    check_bad(tmpdir, NULL, 0, ": not a regular file", 1);
    /* A FIFO is refused at once, not waited on for a writer. */
    snprintf(path, sizeof(path), "%s/fifo.json", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    check_bad(path, NULL, 0, ": not a regular file", 1);
    unlink(path);

    snprintf(path, sizeof(path), "%s/big.json", tmpdir);
    big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{}", 2);
    write_file(path, big, n);
    free(big);
    check_bad(path, NULL, 0, ": too large (1048577 bytes, at most 1048576)",
              1);

    snprintf(path, sizeof(path), "%s/empty.json", tmpdir);
    write_file(path, "", 0);
    check_bad(path, NULL, 0, ":1:0: ", 1);

    snprintf(path, sizeof(path), "%s/syntax.json", tmpdir);
    write_file(path, "{\n\n  \"listeners\": [,]\n}\n", 0);
    check_bad(path, NULL, 0, ":3:17: ", 1);

    if (geteuid() != 0) { /* root reads anything */
        snprintf(path, sizeof(path), "%s/secret.json", tmpdir);
        write_file(path, "{}", 0);
        assert_int_equal(chmod(path, 0), 0);
        check_bad(path, NULL, 0, ": cannot read: Permission denied", 1);
    }
}

/* A relative path is resolved with the cwd at load time; a later chdir
 * changes nothing, since every stored path is absolute. */
static void
test_files_relative(void **state)
{
    char old[PATH_MAX], sub[128], path[256], want[256];
    struct config *c = NULL;
    char err[ERRBUF];

    (void)state;
    assert_non_null(getcwd(old, sizeof(old)));
    snprintf(sub, sizeof(sub), "%s/conf", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof(path), "%s/server.json", sub);
    write_file(path,
               "{\"modules_dir\": \"lib\", \"listeners\": ["
               "{\"address\": \"::1\", \"port\": 1, \"module\": \"echo\"},"
               "{\"address\": \"::1\", \"port\": 2, \"module\": \"h/x.so\"}"
               "]}",
               0);
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(config_load("conf/server.json", &c, err, sizeof(err)), 0);
    assert_int_equal(chdir(old), 0);
    assert_string_equal(c->path, "conf/server.json");
    snprintf(want, sizeof(want), "%s/lib", sub);
    assert_string_equal(c->modules_dir, want);
    snprintf(want, sizeof(want), "%s/lib/echo.so", sub);
    assert_string_equal(c->listeners[0].module_path, want);
    snprintf(want, sizeof(want), "%s/h/x.so", sub);
    assert_string_equal(c->listeners[1].module_path, want);
    assert_string_equal(c->listeners[1].name, "x");
    config_free(c);
    assert_int_equal(unlink(path), 0);
}

/* ---- the catalog on disk: tests/configs/{good,bad}/ ---- */

/* The first line of NAME.expect next to a bad NAME.json. */
static void
read_expect(const char *json, char *buf, size_t len)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%.*s.expect", (int)(strlen(json) - 5), json);
    f = fopen(path, "r");
    if (f == NULL)
        print_error("%s: missing\n", path);
    assert_non_null(f);
    assert_non_null(fgets(buf, (int)len, f));
    buf[strcspn(buf, "\n")] = '\0';
    fclose(f);
}

static size_t
catalog_run(const char *kind)
{
    char dir[PATH_MAX], path[PATH_MAX + 260], expect[256], err[ERRBUF];
    struct config *c;
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/configs/%s", TEST_SOURCE_DIR, kind);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n++;
        if (strcmp(kind, "bad") == 0) {
            read_expect(path, expect, sizeof(expect));
            check_bad(path, NULL, 0, expect, 1);
            continue;
        }
        c = NULL;
        if (config_load(path, &c, err, sizeof(err)) != 0)
            print_error("%s\n", err);
        assert_non_null(c);
        config_free(c);
    }
    closedir(d);
    return n;
}

static void
test_catalog_files(void **state)
{
    (void)state;
    assert_true(catalog_run("good") > 0);
    assert_true(catalog_run("bad") > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_catalog),
        cmocka_unit_test(test_bad_generated),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_everything_set),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_option_lists),
        cmocka_unit_test(test_many_listeners),
        cmocka_unit_test(test_files_bad),
        cmocka_unit_test(test_files_relative),
        cmocka_unit_test(test_catalog_files),
    };

    return cmocka_run_group_tests(tests, files_setup, files_teardown);
}
