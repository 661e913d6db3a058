/*
 * test_metrics.c - the Prometheus endpoint: a known mix of connections
 * (served, refused for every reason, crashed, timed out, PROXY'd), then
 * every counter of /metrics must equal what the log says; promtool (the
 * Debian package prometheus) must accept the output; silent scrapers cost
 * the parent nothing; the endpoint's allow list; and its config errors.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define PROMTOOL   "/usr/bin/promtool"
#define SAMPLES    256
#define SCRAPE_CAP (256 * 1024)

struct sample {
    char family[64]; /* accepted, refused, exited */
    char listener[64];
    char reason[32];
    unsigned long long n;
};

struct tally {
    size_t count;
    struct sample s[SAMPLES];
};

static unsigned long long *
tally_slot(struct tally *t, const char *family, const char *listener,
           const char *reason)
{
    size_t i;

    for (i = 0; i < t->count; i++) {
        if (strcmp(t->s[i].family, family) == 0 &&
            strcmp(t->s[i].listener, listener) == 0 &&
            strcmp(t->s[i].reason, reason) == 0)
            return &t->s[i].n;
    }
    assert_true(t->count < SAMPLES);
    snprintf(t->s[t->count].family, sizeof(t->s[0].family), "%s", family);
    snprintf(t->s[t->count].listener, sizeof(t->s[0].listener), "%s",
             listener);
    snprintf(t->s[t->count].reason, sizeof(t->s[0].reason), "%s", reason);
    t->s[t->count].n = 0;
    return &t->s[t->count++].n;
}

/* GET /metrics; the body, malloc'ed, or NULL. */
static char *
scrape(int port)
{
    char *buf = malloc(SCRAPE_CAP), *body;
    ssize_t n;
    int fd = hs_connect("127.0.0.1", port, HS_IO_MS);

    assert_non_null(buf);
    if (fd < 0 || hs_send_str(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"))
        return NULL;
    n = hs_recv_eof(fd, buf, SCRAPE_CAP - 1, HS_IO_MS);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    if (strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) != 0 ||
        (body = strstr(buf, "\r\n\r\n")) == NULL)
        return NULL;
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return buf;
}

/* name{listener="x",reason="y"} n -> the tally, for the three families. */
static void
tally_metrics(struct tally *t, const char *text)
{
    static const char *const fam[][2] = {
        { "plugsrv_connections_accepted_total{", "accepted" },
        { "plugsrv_connections_refused_total{", "refused" },
        { "plugsrv_connections_exited_total{", "exited" },
    };
    char listener[64], reason[32];
    const char *line, *p;
    size_t f;

    for (line = text; line && *line;
         line = strchr(line, '\n'), line += !!line) {
        for (f = 0; f < 3; f++) {
            if (strncmp(line, fam[f][0], strlen(fam[f][0])) != 0)
                continue;
            reason[0] = '\0';
            p = line + strlen(fam[f][0]);
            assert_int_equal(sscanf(p, "listener=\"%63[^\"]\"", listener), 1);
            if ((p = strstr(p, "reason=\"")) != NULL && p < strchr(line, '}'))
                sscanf(p, "reason=\"%31[^\"]\"", reason);
            p = strchr(line, '}') + 1;
            *tally_slot(t, fam[f][1], listener, reason) +=
                strtoull(p, NULL, 10);
        }
    }
}

/* The same counts from the log's accept, refuse and exit lines. */
static void
tally_log(struct hs *h, struct tally *t)
{
    char line[1024], listener[64], reason[32];
    FILE *f = fopen(h->log, "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        hs_log_value(line, "listener", listener, sizeof(listener));
        hs_log_value(line, "reason", reason, sizeof(reason));
        if (listener[0] == '\0' || strcmp(listener, "metrics") == 0)
            continue;
        if (strstr(line, ": accept ") != NULL)
            (*tally_slot(t, "accepted", listener, ""))++;
        else if (strstr(line, ": refuse ") != NULL)
            (*tally_slot(t, "refused", listener, reason))++;
        else if (strstr(line, ": exit ") != NULL &&
                 strstr(line, " spare=1") == NULL)
            (*tally_slot(t, "exited", listener, reason))++;
    }
    fclose(f);
}

static unsigned long long
tally_get(struct tally *t, const char *family, const char *listener,
          const char *reason)
{
    return *tally_slot(t, family, listener, reason);
}

static int
mix_config(struct hs *h, int *ports)
{
    int i;

    for (i = 0; i < 7; i++)
        ports[i] = hs_port();
    return hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\",\n"
        "  \"metrics\": { \"port\": %d },\n"
        "  \"listeners\": [\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\",\n"
        "    \"name\": \"main\", \"deny\": [\"127.0.0.3\"],\n"
        "    \"max_per_source\": 1 },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"%s\" },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\",\n"
        "    \"name\": \"idle\", \"idle_timeout\": 1 },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"%s\",\n"
        "    \"name\": \"px\", \"proxy_protocol\": \"any\",\n"
        "    \"proxy_trusted\": [\"127.0.0.1\"], \"proxy_timeout\": 1 },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\",\n"
        "    \"name\": \"rate\",\n"
        "    \"rate_per_source\": { \"rate\": 1, \"burst\": 1 } },\n"
        "  { \"address\": \"127.0.0.1\", \"port\": %d, \"module\": \"echo\",\n"
        "    \"name\": \"cap\", \"max_connections\": 1 } ] }\n",
        PLUGSRV_MODULE_DIR, ports[0], ports[1], ports[2], TEST_MODULE("crash"),
        ports[3], ports[4], TEST_MODULE("peeraddr"), ports[5], ports[6]);
}

/* A connection from src that the server must close unserved. */
static void
refused_from(const char *src, int port, const char *send)
{
    int fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);

    if (fd < 0)
        return; /* refused before the handshake completed: fine too */
    if (send != NULL)
        hs_send_str(fd, send);
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
}

static void
served_from(const char *src, int port)
{
    int fd = hs_connect_from(src, "127.0.0.1", port, HS_IO_MS);

    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "ping\n", "ping\n"), 0);
    close(fd);
}

/* Drives the mix; returns when every connection has ended. */
static void
drive_mix(struct hs *h, const int *p)
{
    char got[64];
    int a, b, fd;

    served_from("127.0.1.1", p[1]);
    served_from("127.0.1.2", p[1]);
    refused_from("127.0.0.3", p[1], "x\n"); /* acl */
    a = hs_connect_from("127.0.0.5", "127.0.0.1", p[1], HS_IO_MS);
    assert_int_equal(hs_roundtrip(a, "hold\n", "hold\n"), 0);
    refused_from("127.0.0.5", p[1], "x\n");       /* per_source */
    fd = hs_connect("127.0.0.1", p[2], HS_IO_MS); /* crash */
    assert_int_equal(hs_recv_n(fd, got, 6, HS_IO_MS), 6);
    hs_send_str(fd, "boom\n");
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    fd = hs_connect("127.0.0.1", p[3], HS_IO_MS); /* idle-timeout */
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    refused_from("127.0.0.2", p[4], NULL);          /* proxy-untrusted */
    refused_from("127.0.0.1", p[4], "junk\r\n");    /* proxy-bad */
    refused_from("127.0.0.1", p[4], "PROXY TCP4 "); /* proxy-timeout */
    fd = hs_connect("127.0.0.1", p[4], HS_IO_MS);
    hs_send_str(fd, "PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n");
    assert_int_equal(hs_recv_n(fd, got, 20, HS_IO_MS), 20);
    close(fd);
    served_from("127.0.0.6", p[5]);
    refused_from("127.0.0.6", p[5], "x\n"); /* rate */
    b = hs_connect("127.0.0.1", p[6], HS_IO_MS);
    assert_int_equal(hs_roundtrip(b, "hold\n", "hold\n"), 0);
    refused_from("127.0.0.7", p[6], "x\n"); /* listener cap */
    close(a);
    close(b);
    /* Every accepted connection has ended: as many exits as accepts. */
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "listener=cap", NULL), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": exit ", "peer=127.0.0.5:", NULL), 0);
}

static void
check_agree(struct hs *h, const char *text)
{
    static const char *const must[][3] = {
        { "refused", "main", "acl" },
        { "refused", "main", "per_source" },
        { "refused", "rate", "rate" },
        { "refused", "cap", "listener_max_connections" },
        { "refused", "px", "proxy-untrusted" },
        { "refused", "px", "proxy-bad" },
        { "refused", "px", "proxy-timeout" },
        { "exited", "main", "ok" },
        { "exited", "crash", "signal" },
        { "exited", "idle", "idle-timeout" },
        { "accepted", "px", "" },
    };
    struct tally *fromlog = calloc(1, sizeof(*fromlog));
    struct tally *frommetrics = calloc(1, sizeof(*frommetrics));
    size_t i;

    assert_non_null(fromlog);
    assert_non_null(frommetrics);
    tally_log(h, fromlog);
    tally_metrics(frommetrics, text);
    for (i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (tally_get(fromlog, must[i][0], must[i][1], must[i][2]) == 0)
            fail_msg("the mix made no %s %s %s", must[i][0], must[i][1],
                     must[i][2]);
    for (i = 0; i < fromlog->count; i++)
        if (fromlog->s[i].n != tally_get(frommetrics, fromlog->s[i].family,
                                         fromlog->s[i].listener,
                                         fromlog->s[i].reason))
            fail_msg("%s listener=%s reason=%s: log %llu, metrics %llu",
                     fromlog->s[i].family, fromlog->s[i].listener,
                     fromlog->s[i].reason, fromlog->s[i].n,
                     tally_get(frommetrics, fromlog->s[i].family,
                               fromlog->s[i].listener, fromlog->s[i].reason));
    for (i = 0; i < frommetrics->count; i++)
        if (frommetrics->s[i].n != tally_get(fromlog, frommetrics->s[i].family,
                                             frommetrics->s[i].listener,
                                             frommetrics->s[i].reason))
            fail_msg("metrics %s %s %s not in the log",
                     frommetrics->s[i].family, frommetrics->s[i].listener,
                     frommetrics->s[i].reason);
    free(fromlog);
    free(frommetrics);
}

static void
test_counters_agree_with_log(void **state)
{
    struct hs *h = *state;
    char *text;
    int p[7];

    mix_config(h, p);
    assert_int_equal(hs_start_ready(h), 0);
    drive_mix(h, p);
    assert_int_equal(hs_signal(h, SIGHUP), 0);
    assert_int_equal(
        hs_wait_log(h, 1, HS_IO_MS, ": reload ", "status=ok", NULL), 0);
    assert_non_null(text = scrape(p[0]));
    check_agree(h, text);
    assert_non_null(strstr(text, "plugsrv_reloads_total{result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(text, "plugsrv_connections_active{listener=\"main\"} 0\n"));
    assert_non_null(strstr(
        text, "plugsrv_connection_duration_seconds_count{listener=\"crash\"} "
              "1\n"));
    assert_non_null(strstr(text, "plugsrv_build_info{version=\""));
    assert_null(strstr(text, "process_open_fds -"));
    assert_null(strstr(text, "process_resident_memory_bytes -"));
    free(text);
    h->passed = 1;
}

static void
test_promtool(void **state)
{
    struct hs *h = *state;
    char path[400], cmd[900];
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    char *text;
    int p[7], st;

    if (access(PROMTOOL, X_OK) != 0) {
        fprintf(stderr, "skipped: no %s (Debian package prometheus)\n",
                PROMTOOL);
        skip();
    }
    mix_config(h, p);
    assert_int_equal(hs_start_ready(h), 0);
    drive_mix(h, p);
    assert_non_null(text = scrape(p[0]));
    hs_write_file(h, "metrics.txt", "%s", text);
    free(text);
    hs_path(h, "metrics.txt", path, sizeof(path));
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s", PROMTOOL, path);
    st = hs_run_prog(h, HS_EXIT_MS, argv);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("promtool check metrics: %s%s", h->out, h->err);
    h->passed = 1;
}

/* CPU time (user and system) pid has used, in milliseconds. */
static long long
cpu_ms(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(buf, sizeof(buf), f);
    fclose(f);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return -1;
    return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Scrapers that connect and say nothing hold their own processes only:
 * the parent keeps accepting, and a real scrape is answered once they
 * have been given up on. */
static void
test_silent_scrapers(void **state)
{
    struct hs *h = *state;
    int mport = hs_port(), port = hs_port(), silent[8], i, fd;
    long long t0, cpu0;
    char *text;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"metrics\": { \"address\": "
                    "\"127.0.0.1\", \"port\": %d },\n"
                    "  \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, mport, port);
    assert_int_equal(hs_start_ready(h), 0);
    cpu0 = cpu_ms(h->pid);
    for (i = 0; i < 8; i++)
        silent[i] = hs_connect("127.0.0.1", mport, HS_IO_MS);
    t0 = hs_now_ms();
    for (i = 0; i < 20; i++) {
        fd = hs_connect("127.0.0.1", port, HS_IO_MS);
        assert_true(fd >= 0);
        assert_int_equal(hs_roundtrip(fd, "still here\n", "still here\n"), 0);
        close(fd);
    }
    /* Twenty round trips while eight scrapers hang: well under the 5 s a
     * scrape may take. */
    assert_true(hs_now_ms() - t0 < 4000);
    /* The hanging ones are cut off after 5 s; a real one then gets in. */
    assert_non_null(text = scrape(mport));
    free(text);
    /* Five seconds of waiting scrapers cost the parent next to nothing
     * (it does not poll a backlog it cannot take yet). */
    assert_true(cpu_ms(h->pid) - cpu0 < 1000);
    for (i = 0; i < 8; i++)
        if (silent[i] >= 0)
            close(silent[i]);
    assert_int_equal(hs_log_count(h, ": exit pid=", NULL), 0);
    h->passed = 1;
}

static void
test_allow(void **state)
{
    struct hs *h = *state;
    int mport = hs_port(), fd;
    char buf[64];

    hs_write_config(
        h,
        "{ \"modules_dir\": \"%s\", \"metrics\": { \"port\": %d,\n"
        "    \"allow\": [\"127.0.0.2\"] },\n"
        "  \"listeners\": [ { \"address\": \"127.0.0.1\", \"port\": %d, "
        "\"module\": \"echo\" } ] }\n",
        PLUGSRV_MODULE_DIR, mport, hs_port());
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", mport, HS_IO_MS);
    assert_true(fd >= 0);
    hs_send_str(fd, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_int_equal(hs_wait_closed(fd, HS_IO_MS), 1);
    close(fd);
    assert_int_equal(hs_wait_log(h, 1, HS_IO_MS, ": refuse ",
                                 "listener=metrics", "reason=acl", NULL),
                     0);
    fd = hs_connect_from("127.0.0.2", "127.0.0.1", mport, HS_IO_MS);
    assert_true(fd >= 0);
    hs_send_str(fd, "GET /nothing HTTP/1.0\r\n\r\n");
    assert_int_equal(hs_recv_n(fd, buf, 22, HS_IO_MS), 22);
    assert_memory_equal(buf, "HTTP/1.1 404 Not Found", 22);
    close(fd);
    h->passed = 1;
}

static void
expect_config_error(struct hs *h, const char *metrics, const char *want)
{
    const char *argv[] = { "-t", "-c", h->conf, NULL };
    int st;

    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"metrics\": %s,\n"
                    "  \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, metrics, hs_port());
    st = hs_run(h, HS_EXIT_MS, argv);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    if (strstr(h->err, h->conf) == NULL || strstr(h->err, want) == NULL)
        fail_msg("stderr \"%s\" lacks \"%s\"", h->err, want);
}

static void
test_config_errors(void **state)
{
    struct hs *h = *state;

    expect_config_error(h, "9100", "metrics: must be an object");
    expect_config_error(h, "{}", "metrics.port: is required");
    expect_config_error(h, "{ \"port\": 70000 }",
                        "metrics.port: must be an integer from 1 to 65535");
    expect_config_error(h, "{ \"port\": 9100, \"address\": \"localhost\" }",
                        "metrics.address: \"localhost\" is not a numeric");
    expect_config_error(h,
                        "{ \"port\": 9100, \"allow\": [\"127.0.0.1\", "
                        "\"::1/129\"] }",
                        "metrics.allow[1]: \"::1/129\": prefix length must be "
                        "0 to 128");
    expect_config_error(h, "{ \"port\": 9100, \"path\": \"/m\" }",
                        "metrics.path: unknown key");
    h->passed = 1;
}

/* An endpoint that cannot be bound fails the start naming the file, as a
 * listener's bind error does. */
static void
test_bind_error_names_the_file(void **state)
{
    struct hs *h = *state;
    const char *argv[] = { "-c", h->conf, NULL };
    char want[128];
    int port = hs_port(), fd, st;

    assert_true((fd = hs_hold_port(port)) >= 0);
    hs_write_config(h,
                    "{ \"modules_dir\": \"%s\", \"metrics\": { \"port\": %d },\n"
                    "  \"listeners\": [ { \"address\": \"127.0.0.1\", "
                    "\"port\": %d, \"module\": \"echo\" } ] }\n",
                    PLUGSRV_MODULE_DIR, port, hs_port());
    st = hs_run(h, HS_EXIT_MS, argv);
    close(fd);
    assert_true(st != -1 && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    snprintf(want, sizeof(want), ": metrics: 127.0.0.1:%d: bind: ", port);
    if (strstr(h->err, h->conf) == NULL || strstr(h->err, want) == NULL)
        fail_msg("stderr \"%s\" lacks the file or \"%s\"", h->err, want);
    h->passed = 1;
}

/* Two listeners, named a<gen> and b<gen>, the metrics endpoint on mport. */
static void
renamed_config(struct hs *h, int mport, const int *ports, int gen)
{
    assert_int_equal(
        hs_write_config(
            h,
            "{ \"modules_dir\": \"%s\", \"metrics\": { \"port\": %d },\n"
            "  \"listeners\": [\n"
            "  { \"name\": \"a%d\", \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"echo\" },\n"
            "  { \"name\": \"b%d\", \"address\": \"127.0.0.1\", \"port\": %d, "
            "\"module\": \"echo\" } ] }\n",
            PLUGSRV_MODULE_DIR, mport, gen, ports[0], gen, ports[1]),
        0);
}

/* A reload forgets the series of a listener that is gone and serves no
 * one, and keeps one whose connection is still open: reloads that rename
 * listeners do not fill the table (1024 series) until new names go
 * uncounted. */
static void
test_renamed_listeners_forgotten(void **state)
{
    struct hs *h = *state;
    int mport = hs_port(), ports[2] = { hs_port(), hs_port() }, fd, gen;
    char *text;

    renamed_config(h, mport, ports, 0);
    assert_int_equal(hs_start_ready(h), 0);
    fd = hs_connect("127.0.0.1", ports[0], HS_IO_MS);
    assert_true(fd >= 0);
    assert_int_equal(hs_roundtrip(fd, "x\n", "x\n"), 0);
    for (gen = 1; gen <= 3; gen++) {
        renamed_config(h, mport, ports, gen);
        assert_int_equal(hs_signal(h, SIGHUP), 0);
        assert_int_equal(
            hs_wait_log(h, gen, HS_IO_MS, ": reload ", "status=ok", NULL), 0);
    }
    assert_non_null(text = scrape(mport));
    /* a0's connection is open: its counters stay. */
    assert_non_null(strstr(
        text, "plugsrv_connections_accepted_total{listener=\"a0\"} 1\n"));
    assert_null(strstr(text, "listener=\"b0\""));
    assert_null(strstr(text, "listener=\"a1\""));
    assert_null(strstr(text, "listener=\"b2\""));
    assert_non_null(strstr(text, "listener=\"a3\""));
    assert_non_null(strstr(text, "listener=\"b3\""));
    free(text);
    close(fd);
    h->passed = 1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_agree_with_log, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_promtool, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_silent_scrapers, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_allow, hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, hs_setup,
                                        hs_teardown),
        cmocka_unit_test_setup_teardown(test_renamed_listeners_forgotten,
                                        hs_setup, hs_teardown),
        cmocka_unit_test_setup_teardown(test_bind_error_names_the_file,
                                        hs_setup, hs_teardown),
    };

    hs_global_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
