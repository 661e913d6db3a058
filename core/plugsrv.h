/*
 * plugsrv.h - the core's private header, one section per file, grouped by
 * the process that runs the code:
 *
 *   shared       log, clock, addr, config (parsed by the parent and -t),
 *                module, modpath, modguard and prefork (both sides of
 *                a load or a spare)
 *   parent       parent.c (the loop), children.c (its table of children),
 *                listen.c, probe.c, priv.c (names into ids; the
 *                connection's process drops with priv_become)
 *   connection   connproc.c (a fork made into a connection's process),
 *                session.c, conn_loop.c, host.c, options.c, frame.c,
 *                watchdog.c
 *
 * Nothing here is seen by handlers: their whole world is include/handler.h.
 * Functions carry the name of the file that defines them.
 */
#ifndef PLUGSRV_CORE_H
#define PLUGSRV_CORE_H

#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include "handler.h"

#define PLUGSRV_VERSION "1.0.0"
/* The build sets both to the installed paths (CMakeLists.txt). */
#ifndef PLUGSRV_DEFAULT_CONFIG
#define PLUGSRV_DEFAULT_CONFIG "/etc/plugsrv/plugsrv.json"
#endif
#ifndef PLUGSRV_DEFAULT_MODULES_DIR
#define PLUGSRV_DEFAULT_MODULES_DIR "/usr/lib/plugsrv/modules"
#endif
#define ERRBUF     512 /* size of every error buffer a caller owns */
#define ADDRSTRLEN 64  /* "[ipv6%scope]:port" and NUL */

/* plugsrv's own exit status: 0 on success, then these. */
#define EXIT_CONFIG 1 /* a bad config or a failed start */
#define EXIT_USAGE  2

/*
 * A connection's process's exit status. The parent only sees it through
 * waitpid(), so the status says how the connection ended; children.c turns
 * it back into words for the log (reason=...).
 */
enum conn_exit {
    CONN_OK = 0,        /* client or handler closed normally */
    CONN_SETUP = 10,    /* the process could not be set up */
    CONN_MODULE = 11,   /* entry point, ABI or init() failed */
    CONN_HANDLER = 12,  /* a callback returned PLUGSRV_ERROR */
    CONN_IDLE = 13,     /* idle_timeout passed with no input */
    CONN_LINE = 14,     /* a line longer than max_line */
    CONN_IO = 15,       /* the client reset or a read/write failed */
    CONN_SHUTDOWN = 16, /* closed because plugsrv is stopping */
    CONN_STUCK = 17,    /* a callback ran longer than idle_timeout */
    CONN_NOMEM = 18,    /* plugsrv itself ran out of memory */
    /* Before any handler code, on a listener with proxy_protocol: */
    CONN_PROXY_BAD = 30,     /* the PROXY header was malformed */
    CONN_PROXY_TIMEOUT = 31, /* ... or not complete within proxy_timeout */
    CONN_REFUSED = 32,       /* the parent refused the client it named */
};

/* ================= shared: both processes ================= */

struct listener; /* listen.c */
struct config;   /* config.c */

/* ---- log.c: one line per event, key=value (docs/DESIGN.md lists them),
 * every outside value escaped; logbuf.c: where the lines go ---- */
#define LOG_LINE_MAX  4096 /* PIPE_BUF: a line is written whole, at once */
#define LOG_VALUE_MAX 1024 /* one escaped value; a longer one is cut */
/* Room for n bytes escaped (4 each at most), quoted and NUL-ended. */
#define LOG_VALUE_ROOM(n) (4 * (n) + 3)
/* The longest name a listener may have, in bytes (config_listener.c). */
#define LISTENER_NAME_MAX 63

/* Priorities as syslog numbers them: the journal's "<3>" prefix. */
#define LOG_PRIO_ERR     3
#define LOG_PRIO_WARNING 4
#define LOG_PRIO_INFO    6
#define LOG_PRIO_DEBUG   7

void log_init(const char *name);
void log_forked(void);
/* Priority from the event's first word: error, warning and refuse are
 * above info. */
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, with err="strerror(errno)" added. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void
log_prio(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* text as one value of a line: bare, or in quotes with \" \\ \n \r \t
 * \xHH when it holds a space, '"', '=', '\\' or a control byte (or is
 * empty); cut to fit len. Returns buf, for a "%s". log_nvalue reads at
 * most max bytes of text, which need not end in a NUL. */
const char *log_value(char *buf, size_t len, const char *text);
const char *log_nvalue(char *buf, size_t len, const char *text, size_t max);
/* "plugsrv: MSG" on the stderr plugsrv was started with, one line
 * (control bytes escaped): for errors before serving. */
void log_stderr(const char *msg);
/* "SIGTERM", for the log; a static buffer. */
const char *log_signame(int sig);
/* The parent, once per loop round: write what waits, without blocking;
 * and the fd to poll for POLLOUT while lines wait (-1: none). */
void log_flush(void);
int log_pending_fd(void);
/* The parent: log.file of conf opened (-1 with "file: log.file: ..."),
 * then taken as fd 2 (take) or given up; a config without log.file goes
 * back to the stderr plugsrv was started with. */
int log_file_prepare(const struct config *conf, char *err, size_t errlen);
void log_file_commit(int take);
/* SIGUSR1: the log file opened again by its name (after logrotate). */
void log_reopen(void);

/* ---- logbuf.c (for log.c only) ---- */
/* LOG_LINE_MAX bytes to format the parent's line in, NULL in a child. */
char *logbuf_scratch(void);
void logbuf_setup(void);
void logbuf_forked(void);
int logbuf_journal(void);
void logbuf_put(const char *line, size_t len);
void logbuf_flush(void);
int logbuf_pending_fd(void);
size_t logbuf_take_dropped(void);
int logbuf_stderr_fd(int *journal);
int logbuf_file_prepare(const char *path);
void logbuf_file_commit(int take);
int logbuf_reopen(void);
const char *logbuf_path(void);

/* ---- clock.c: monotonic milliseconds ---- */
long long clock_ms(void);
long long clock_coarse_ms(void);
long long clock_us(void);
long long clock_sec_ms(long long seconds);
struct timeval clock_timeval(long long ms);
struct timespec *clock_wait(long long ms, struct timespec *ts);

/* ---- proctitle.c: what ps shows of a connection's process ---- */
void proctitle_init(int argc, char **argv);
/* "plugsrv: echo 127.0.0.1:50112" */
void proctitle_set(const char *what, const char *who);

/* ---- reaper.c: what connections start ends with them ---- */
/* This process adopts its descendants' orphans (a child subreaper). */
void reaper_init(void);
/* SIGKILLs and reaps every descendant, bounded: a connection's process on
 * its way out, and plugsrv -t. */
void reaper_end_descendants(void);
/* The parent: SIGKILLs each child that known() does not claim. */
void reaper_kill_strays(int (*known)(pid_t));
/* The child no kill above touches (an upgrade's new parent); 0: none. */
void reaper_exempt(pid_t pid);

/* ---- addr.c: socket addresses as text ---- */
/* "127.0.0.1:50112" or "[::1]:50112" into buf (ADDRSTRLEN bytes). */
void addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Numeric address text and port into *ss; -1 if text is not an address. */
int addr_parse(const char *text, int port, struct sockaddr_storage *ss,
               socklen_t *sslen);
int addr_v4mapped(const struct sockaddr_storage *ss);
/* The same address and port, or a wildcard and any address of its family
 * on the same port: two sockets that cannot both be bound. */
int addr_overlap(const struct sockaddr_storage *a,
                 const struct sockaddr_storage *b);

/* ---- proxy.c: the PROXY protocol header, v1 and v2 (a pure parser) ---- */
enum proxy_versions {
    PROXY_OFF = 0,
    PROXY_V1 = 1,
    PROXY_V2 = 2,
    PROXY_ANY = 3
};

enum proxy_status {
    PROXY_DONE, /* a whole header: out->len bytes */
    PROXY_MORE, /* a valid beginning: every byte so far is header */
    PROXY_BAD   /* not a header of the versions allowed */
};

struct proxy_hdr {
    size_t len; /* bytes the header took */
    int local;  /* LOCAL, UNKNOWN...: the connection's own addresses hold */
    struct sockaddr_storage src, dst; /* the client's, and what it reached */
};

/* Parses the header at the start of buf (len bytes so far). */
enum proxy_status proxy_parse(const unsigned char *buf, size_t len,
                              int versions, struct proxy_hdr *out);

/* ---- config.c, config_listener.c, config_read.c: server.json into a
 * struct config (the parent, and plugsrv -t) ---- */
enum option_type {
    OPTION_STRING,
    OPTION_INT,
    OPTION_BOOL,
    OPTION_LIST, /* an array of strings */
    OPTION_MAP   /* an object whose values are strings */
};

struct option {
    char *key;
    enum option_type type;
    char *str;     /* OPTION_STRING */
    long long num; /* OPTION_INT, OPTION_BOOL (0/1) */
    char **list;   /* OPTION_LIST: the strings; OPTION_MAP: the keys */
    char **vals;   /* OPTION_MAP: the values; both NULL-terminated */
    size_t n;      /* OPTION_LIST, OPTION_MAP: how many */
};

struct plugsrv_options {
    size_t count;
    struct option *items;
};

enum listener_mode {
    MODE_FORK,
    MODE_PREFORK
};

/* ---- acl.c: addresses and CIDR blocks, and matching peers against them
 * (the parent, and config.c for parsing) ---- */
/* An address as the access rules see it: an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is the IPv4 address it is. */
struct acl_addr {
    unsigned char family; /* AF_INET or AF_INET6; 0: none */
    unsigned char bits;   /* a block's prefix length; 32 or 128 for a peer */
    unsigned char b[16];  /* network order; IPv4 in the first 4 bytes */
};

struct acl {
    int set; /* the key was given (an empty list is not "absent") */
    size_t n;
    struct acl_addr *nets; /* owned */
};

/* "10.0.0.0/8", "::1" into *out; -1 with why ("prefix length must be 0 to
 * 32") in why. */
int
acl_parse(const char *text, struct acl_addr *out, char *why, size_t whylen);
/* A peer's socket address as an acl_addr; -1 if it is not IP. */
int acl_from_sockaddr(const struct sockaddr *sa, struct acl_addr *out);
/* Does addr fall in any block of the list? */
int acl_match(const struct acl *list, const struct acl_addr *addr);
/* addr cut to its first bits (of its family), in place. */
void acl_cut(struct acl_addr *addr, int bits);
int acl_copy(struct acl *dst, const struct acl *src);
void acl_free(struct acl *list);

/* Who may connect and how much (config_access.c): per listener, with
 * top-level defaults. 0 turns a limit off. */
struct access_conf {
    struct acl allow, deny;
    int max_per_source;       /* connections open at once from one source */
    int rate, burst;          /* rate_per_source: new connections per second */
    int prefix_v4, prefix_v6; /* a source is the peer cut to these bits */
    int max_duration;         /* seconds a connection may last */
};

struct rlimits {
    long long cpu;    /* seconds, 0 = unlimited */
    long long as;     /* bytes of address space, 0 = unlimited */
    long long nofile; /* open files, 0 = inherit */
};

struct listener_conf {
    char *name;    /* for the log; defaults to the module's name */
    char *address; /* numeric IPv4 or IPv6 text, as given */
    int port;
    struct sockaddr_storage sa; /* address and port, parsed once */
    socklen_t salen;
    char *module;      /* as written in the config */
    char *module_path; /* resolved against modules_dir / the config's folder */
    struct plugsrv_options options;
    int max_connections; /* 0: only the global cap */
    int idle_timeout;    /* seconds, 0 = off */
    size_t max_line;
    int backlog;
    enum listener_mode mode;
    int spare;          /* prefork: children waiting ready */
    char *user, *group; /* its own or the top level's; NULL: none */
    uid_t uid;          /* user and group as ids, from priv_resolve() */
    gid_t gid;
    int proxy;         /* enum proxy_versions: a PROXY header comes first */
    int proxy_timeout; /* seconds for the whole header */
    struct acl proxy_trusted; /* who may send one */
    struct access_conf access;
    int reuseport; /* SO_REUSEPORT: several plugsrv on one port */
    int ipv6_only; /* IPV6_V6ONLY (default 1) */
};

/* The metrics endpoint (metrics.c); port 0: none. */
struct metrics_conf {
    int port;
    char *address;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct acl allow; /* who may scrape: loopback by default */
};

struct config {
    char *path;        /* the file it came from */
    char *modules_dir; /* resolved */
    int max_connections;
    int idle_timeout;
    size_t max_line;
    int shutdown_timeout;
    char *user, *group; /* NULL: keep the starting identity */
    char *log_file;     /* log.file, resolved; NULL: stderr */
    struct rlimits rlimits;
    struct metrics_conf metrics;
    struct access_conf access; /* the listeners' defaults */
    size_t nlisteners;
    struct listener_conf *listeners;
};

/* Fill *out from the file at path, or return -1 with "file: key: what" in
 * err. The caller owns *out and frees it with config_free(). */
int
config_load(const char *path, struct config **out, char *err, size_t errlen);
/* The same from text in memory; path only names it in messages and anchors
 * relative paths. For tests and fuzzing. */
int config_parse(const char *text, size_t len, const char *path,
                 struct config **out, char *err, size_t errlen);
void config_free(struct config *conf);

/* ---- module.c: loading a handler and checking its ABI. The parent opens
 * and loads (constructors run, no call); the process that serves calls the
 * entry point. A probe does both. ---- */
typedef const plugsrv_handler *(*module_entry_fn)(const plugsrv_host *);

struct module {
    char *path;
    int fd; /* the file, open from module_file() until module_load() */
    void *dl;
    module_entry_fn entry;          /* found by module_load() */
    const plugsrv_handler *handler; /* module_entry()'s: never the parent's */
};

extern const plugsrv_host module_host; /* defined in host.c */
extern const char *host_listener;      /* host.c: for host->log(NULL) */

/* Open path and check that only root or plugsrv's user can replace it
 * (modpath.c); -1 with a message. Takes nothing on failure. */
int module_file(struct module *m, const char *path, char *err, size_t errlen);
/* dlopen() the file module_file() opened, or share the object loaded
 * from it already, and find its entry point without calling it. parent:
 * log what its constructors changed here. -1 with a message; m then still
 * needs module_close(). */
int module_load(struct module *m, int parent, char *err, size_t errlen);
/* In the process that serves: the entry point, once, and the ABI check;
 * fills m->handler. -1 with a message. */
int module_entry(struct module *m, char *err, size_t errlen);
void module_close(struct module *m);
/* The fds of the loaded modules, which a fork must keep open while it
 * loads more (module.c says why); how many were put in fds. */
int module_fds(int *fds, int max);

/* ---- modpath.c: who can replace a module (as OpenSSH's safe_path) ---- */
/* fd open on path: a regular file, it and every folder above its resolved
 * path owned by root or our euid and writable by nobody else (a sticky
 * folder excepted); -1 with the offender and why. */
int modpath_check(int fd, const char *path, char *err, size_t errlen);

/* ---- modguard.c: the state a module's constructors may change ---- */
struct modguard {
    struct sigaction sa[NSIG];
    sigset_t mask;
    sigset_t caught; /* blocked and at their default: caught meanwhile */
    long threads;
};

void modguard_save(struct modguard *g);
/* Restores what changed since modguard_save() (logged if logged); -1 with
 * a message if a thread was started, which cannot be undone. */
int modguard_check(const struct modguard *g, const char *path, int logged,
                   char *err, size_t errlen);

/* ---- prefork.c: pools of spares waiting in accept(); the parent forks
 * and refills them, each spare serves one connection ---- */
int prefork_refill(struct listener *ls, size_t n, const struct config *conf,
                   int notify);
/* Why l's pool is full (no spare, and a cap forbids one), or NULL. */
const char *prefork_full(const struct listener *l, const struct config *conf);
void prefork_read(int notify);
/* A spare's wait in accept() on lfd: the connection's fd; -1 once SIGTERM
 * or SIGUSR2 came, -2 if the listener failed. */
int prefork_accept(int lfd, struct sockaddr_storage *ss);

/* ================= the parent ================= */

/* ---- stats.c: per-listener counters, for the log's numbers and the
 * metrics ---- */
enum stats_refusal {
    STATS_ACL,
    STATS_PER_SOURCE,
    STATS_RATE,
    STATS_MAX_CONNECTIONS,
    STATS_LISTENER_MAX,
    STATS_NO_FDS,
    STATS_NREFUSALS
};
#define STATS_NEXITS 17 /* the exit reasons children.c names, and "other" */

struct stats {
    unsigned long long accepted;
    unsigned long long refused[STATS_NREFUSALS]; /* by stats_refusals[] */
    unsigned long long exited[STATS_NEXITS];     /* by stats_exits[] */
};

/* The reason=... words, in the order of the counters. */
extern const char *const stats_refusals[STATS_NREFUSALS];
extern const char *const stats_exits[STATS_NEXITS];

void stats_accepted(struct stats *st);
void stats_refused(struct stats *st, const char *reason);
void stats_exited(struct stats *st, const char *reason);

/* ---- sources.c: per-source counts and rates of one listener, in a table
 * of fixed size ---- */
struct sources;
struct source;

/* admit.c: a connection's peer, and the source entry it is counted in
 * (sources_release(ref.source) when it ends). */
struct admit_ref {
    struct acl_addr addr;
    struct source *source; /* NULL: not counted */
};

/* ---- listen.c: the listening sockets ---- */
/* What the parent counts per listener on every connection, in memory no
 * fork shares (lean_parent_alloc): a page of it shared with a child would
 * be copied at the parent's next write. */
struct listener_count {
    int active; /* children serving a connection */
    int spare;  /* prefork children waiting */
    struct stats stats;
};

struct listener {
    struct listener_conf *conf; /* owned by the config */
    int fd;
    struct module module;
    char addr[ADDRSTRLEN];
    struct listener *from; /* reload: whose socket this took over */
    int retimed;           /* a reload changed its idle_timeout */
    int inherited; /* passed in at start (activation.c): others may hold it */
    int nonblock;  /* O_NONBLOCK is set: fork mode, or a full pool's */
    struct sources *sources;      /* admit.c: NULL without per-source limits */
    struct listener_count *count; /* the parent's alone: none in a child */
    /* The name as a log value, escaped before any fork: not per connection
     * on the stack, or into a page a child shares. */
    char logname[LOG_VALUE_ROOM(LISTENER_NAME_MAX)];
};

/* Bind and listen; -1 with "address: why" in err. */
int listen_open(struct listener *l, char *err, size_t errlen);
void listen_close(struct listener *l);
/* Stopping: the socket completes no more handshakes (before the last
 * accepts and close()); nothing for an inherited socket. */
void listen_quiesce(struct listener *l);
int listen_configure(struct listener *l);
/* O_NONBLOCK on (a full pool's, for the parent to refuse on) or off
 * (before a spare is forked, to block in accept()); 0, or -1 and errno. */
int listen_set_nonblock(struct listener *l, int on);
/* As l's config wants it again, after another process had it. */
int listen_reclaim(struct listener *l);
/* Is O_NONBLOCK set on the description now? Whoever set it. */
int listen_nonblocking(const struct listener *l);
/* A socket bound elsewhere, now l's: backlog and options; -1, errno. */
int listen_take(struct listener *l);
int listen_same(const struct listener_conf *a, const struct listener_conf *b);
/* Only for a socket a reload took over: compares with l->from. */
int listen_changed(const struct listener *l, char *why, size_t whylen);

/* ---- activation.c: listening sockets passed in at start (LISTEN_FDS:
 * systemd socket activation, or an old plugsrv's upgrade) ---- */
#define ACTIVATION_MAX 256 /* passed sockets taken at most */
/* Takes the passed sockets and clears the variables; -1 with the fd. */
int activation_init(char *err, size_t errlen);
/* Each passed socket to the listener with its address (or, from systemd,
 * its name); -1 naming a socket that fits none (from systemd). */
int activation_match(const struct config *conf, char *err, size_t errlen);
/* Listener i takes its passed socket: 0, 1 if none, -1 with errno. */
int activation_adopt(struct listener *l, size_t i);
/* The metrics endpoint's passed socket, now the caller's; -1 if none. */
int activation_adopt_metrics(void);
void activation_done(void);
/* Ready: tells an upgrading old parent; 1 if there was one, else 0. */
int activation_ready(void);

/* ---- upgrade.c: SIGUSR2, the old parent starts its successor ---- */
/* In main(): how this program was started, to start it again. */
void upgrade_init(int argc, char **argv);
void upgrade_start(const struct listener *ls, size_t n);
/* The pipe to poll while a successor starts, else -1. */
int upgrade_fd(void);
/* The successor's pid once it is ready, else 0 (a failure is logged). */
pid_t upgrade_check(void);
/* Stopping for good: a successor not yet ready is given up. */
void upgrade_abandon(void);

/* ---- probe.c: modules proven in throwaway processes ---- */
/* Prove each listener's module in a throwaway process, all at once: load,
 * ABI, init() with its options, fini(). 0, or -1 with the first failing
 * listener's index in *bad and the module's or the crash's words. */
int probe_all(const struct listener *ls, size_t n, size_t *bad, char *err,
              size_t errlen);

/* ---- children.c: the parent's table of its children, and their reaping ---- */
enum child_state {
    CHILD_SERVING,
    CHILD_SPARE
};

struct child {
    pid_t pid;
    enum child_state state;
    int killed;                /* we sent SIGKILL at shutdown */
    struct listener *listener; /* NULL once its listener is gone */
    char listener_name[LISTENER_NAME_MAX + 1];
    char peer[ADDRSTRLEN];
    long long start;      /* clock_ms() when it began serving */
    char via[ADDRSTRLEN]; /* the balancer, for a PROXY listener */
    int verdict; /* proxyparent.c: the fd its admission goes to, or -1 */
    struct admit_ref ref; /* its peer, counted by admit.c while it serves */
    long long deadline;   /* lifetime.c: max_duration ends it; 0 never */
    long long termed;     /* lifetime.c: when SIGTERM was sent */
    int refused; /* its connection was refused after its fork: a prefork
                    spare's, or a PROXY listener's (proxyparent.c) */
};

int children_init(void);
/* The SIGCHLD handler: reaps without blocking, records, logs nothing. */
/* Reaps what has ended, into records for children_collect(). */
void children_reap(void);
/* Logs and forgets the children reaped since the last call. */
void children_collect(void);
struct child *children_add(pid_t pid, struct listener *l, enum child_state st);
struct child *children_find(pid_t pid);
/* The i-th child (i < children_count()), in no particular order. */
struct child *children_at(size_t i);
/* A spare now serves peer, since its accept() at clock_ms() since (the
 * parent may hear of it late; 0 or a time to come: now). */
void children_serve(struct child *c, const char *peer, long long since);
size_t children_count(void);
size_t children_serving(void);
void children_signal_all(int sig);
void children_signal_spares(const struct listener *l, int sig);
void children_relink(struct listener *ls, size_t n);
/* Orphans left by ended children: when to look (ms, -1 never), and look. */
long long children_strays_in(void);
void children_strays(void);
void children_free(void);

/* ---- priv.c: who connections run as (the parent keeps its identity) ---- */
/* Every listener's user and group into ids; -1 with "file: key: why". */
int priv_resolve(struct config *conf, char *err, size_t errlen);
void priv_log(const struct config *conf);
/* In a connection's process: become the listener's user for good; -1 if
 * any step failed. */
int priv_become(const struct listener_conf *lc);

/* ---- proxyparent.c: admitting the clients PROXY headers name ---- */
/* What a connection's process reports once it has read the header. */
struct proxy_report {
    pid_t pid;
    int local;                   /* LOCAL/UNKNOWN: src is the balancer */
    struct sockaddr_storage src; /* the client */
};

#define PROXY_VERDICT_OK 'y'
#define PROXY_VERDICT_NO 'n'

int proxyparent_init(void);
void proxyparent_close(void);
int proxyparent_fd(void);        /* the reports' end, for poll */
int proxyparent_report_fd(void); /* the end children write to */
/* A connection on l from sa: may it send a header at all? */
int proxyparent_trusted(const struct listener *l, const struct sockaddr *sa);
/* Takes the reports, and answers each: served or refused. */
void proxyparent_read(void);

/* ---- metrics.c: counters, and the scrape endpoint ---- */
void metrics_start(void);
void metrics_track(const char *listener);
/* Drops the series of listeners not in ls that no child names. */
void metrics_keep(const struct listener *ls, size_t n);
void metrics_accept(const char *listener);
void metrics_refuse(const char *listener, const char *reason);
void metrics_exit(const char *listener, const char *reason, long long ms);
void metrics_reload(int ok);
/* Binds conf's endpoint (keeping the one bound if it is the same); -1
 * with "FILE: metrics: address: why" in err. */
int metrics_open(const struct config *conf, char *err, size_t errlen);
int metrics_fd(void);     /* the endpoint, or -1 */
int metrics_socket(void); /* the same, even while busy */
/* A scraper is waiting: fork a process to answer it. */
void
metrics_serve(const struct config *conf, const struct listener *ls, size_t n);
/* children.c: was pid a scrape's process? Then it is forgotten. */
int metrics_reaped(pid_t pid);
void metrics_close(void);
/* ---- sources.c (continued) ---- */
/* A table for a listener of at most cap connections; NULL if out of
 * memory. */
struct sources *sources_new(size_t cap);
void sources_free(struct sources *t);
/* The entry of source key (found, or made, forgetting the least recently
 * seen idle one of its group); NULL only if its group is all open. */
struct source *
sources_get(struct sources *t, const struct acl_addr *key, long long now_ms);
unsigned sources_open(const struct source *e);
void sources_hold(struct source *e);
/* NULL-safe: a connection that was never counted. */
void sources_release(struct source *e);
/* Takes a token from the source's bucket (rate per second, burst); 0, or
 * -1 if it is empty. */
int sources_take(struct source *e, int rate, int burst, long long now_ms);
size_t sources_bytes(const struct sources *t);
/* A reload: to takes from's rate history. */
void sources_carry(struct sources *to, const struct sources *from);

/* ---- admit.c: whether the parent serves a new connection ---- */
/* Per config: the listeners whose shares of max_connections it keeps. */
void admit_configure(const struct config *conf, struct listener *ls, size_t n);
/* A listener's per-source table (if its limits need one); -1 if out of
 * memory. admit_close() frees it. */
int admit_open(struct listener *l, const struct config *conf);
void admit_close(struct listener *l);
/*
 * The one decision on a connection of listener l from peer sa (the real
 * client's address, for a PROXY'd connection): NULL if it is admitted, and
 * then counted in *ref (keep it in the child; admit_release() when the
 * connection ends or its fork failed); else the reason, one of
 * stats_refusals[], and nothing counted. No system call, no allocation.
 */
const char *admit_peer(struct listener *l, const struct sockaddr *sa,
                       struct admit_ref *ref);
/* For a PROXY listener: the room for a new process, then (once its header
 * is read) the rules on the client it names; same contract as admit_peer. */
const char *admit_capacity(struct listener *l, struct admit_ref *ref);
const char *admit_client(struct listener *l, const struct sockaddr *sa,
                         struct admit_ref *ref);
/* The ACL alone, for a prefork spare that took a connection itself: 1 if
 * allowed. */
int admit_acl(const struct listener_conf *lc, const struct sockaddr *sa);
/* After a reload: counts again the connections being served, in the
 * tables of their new listeners (children_relink() first). */
void admit_relink(void);
/* A reload: l, which took over old's socket, takes its rate buckets. */
void admit_carry(struct listener *l, const struct listener *old);
/* Logs a refusal and counts it: "refuse listener= peer= reason=". name
 * is the listener's (l->conf->name), or a prefork child's copy of it,
 * which its other lines carry if a reload renamed l since. */
void admit_refuse(struct listener *l, const char *name, const char *peer,
                  const char *reason);
/* The same from a child's record (children.c, proxyparent.c): l NULL if a
 * reload removed it (not counted then), via "" or the balancer, pid 0 or
 * the refused process's: " via=" and " pid=" only when given. */
void admit_refuse_from(struct listener *l, const char *name, const char *peer,
                       const char *via, pid_t pid, const char *reason);

/* ---- lifetime.c: max_duration, enforced by the parent ---- */
/* c began serving on l: its deadline, if l has max_duration. */
void lifetime_arm(struct child *c, const struct listener *l);
/* ms (-1: none): the smaller of it and the time to the next deadline
 * check. */
long long lifetime_timeout(long long ms);
/* SIGTERM to processes past their deadline, SIGKILL to those past it and
 * the grace. */
void lifetime_tick(long long now);

/* ---- signals.c: the parent's signals, blocked and read from a signalfd ---- */
struct signals_got {
    int term;    /* TERM, INT or QUIT: how many */
    int termsig; /* the last of them */
    int hup;     /* reload */
    int usr1;    /* reopen the log file */
    int usr2;    /* start the binary again (upgrade.c) */
};
extern struct signals_got signals_got;
/* Blocks them, opens the fd: 0, or -1 with errno. */
int signals_init(void);
int signals_fd_get(void);
/* Acts on what came: SIGCHLD reaps, TERM/HUP/USR1/USR2 set signals_got,
 * the others are logged as ignored. */
void signals_read(void);

/* ---- notify.c: sd_notify for systemd, in the parent ---- */
void notify_init(void);
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_reloading(void);
void notify_status(size_t connections);
/* $NOTIFY_SOCKET for an upgrade's new process; NULL if none. */
const char *notify_socket(void);
/* MAINPID=pid and READY=1, then silence: pid speaks for the service. */
void notify_handover(pid_t pid);

/* ---- listeners.c: a config's listeners made ready (modules proven and
 * loaded, sockets bound or taken over), all or nothing ---- */
/* The listeners of conf, taking over old's sockets of the same address
 * (a reload); NULL with "FILE: listeners[I]...: why" in err. */
struct listener *
listeners_prepare(const struct config *conf, struct listener *old, size_t nold,
                  int bind, char *err, size_t errlen);
/* A failed reload: the sockets taken over go back to old. */
void listeners_unadopt(struct listener *ls, size_t n);
/* Closes and frees what listeners_prepare() made. */
void listeners_discard(struct listener *ls, size_t n);
/* Everything a start checks but the binds (unless bind): users, modules
 * loaded and init() run in probes (`plugsrv -t`, `-T`). */
int listeners_check(struct config *conf, int bind, char *err, size_t errlen);

/* ---- parent.c: the parent's loop ---- */
/* Serves conf until SIGTERM or SIGINT; takes ownership of conf. */
int parent_run(struct config *conf);

/* ================= a connection's process ================= */

/* ---- lean.c: the connection's path kept short (parent and connection) ---- */
/* fn(arg) with its frame at the top of a page of stack; what fn returns. */
int lean_stack_page(int (*fn)(void *), void *arg);
/* fork() without its atfork work: only in the single-threaded parent. */
pid_t lean_fork(void);
/* src into dst[cap], cut to fit, without snprintf(); its length. */
size_t lean_copy(char *dst, size_t cap, const char *src);
struct rlimit;
/* On what a connection's process writes: in .data, whose one page it
 * writes anyway (connproc.c's fds, log.c's pid), not each in its own
 * corner of .bss, a page copied per corner. */
#define LEAN_DATA __attribute__((section(".data.lean")))
/* A fresh fork's setup calls, as their libc wrappers (0, or -1 and errno)
 * but through syscall(): one page of libc instead of one each. */
int lean_unblock_all(void); /* sigprocmask(SIG_SETMASK, empty set) */
int lean_sigmask2(int how, int a, int b); /* sigprocmask() of {a, b} */
/* The handler the kernel has for sig (SIG_DFL is NULL), or NULL. */
void (*lean_sig_handler(int sig))(int);
int lean_prctl(int option, unsigned long arg);
int lean_setpgid(void); /* setpgid(0, 0) */
int lean_close_range(unsigned lo, unsigned hi);
int lean_dup2(int fd, int to);
int lean_setrlimit(int resource, const struct rlimit *rl);
pid_t lean_getppid(void);
/* read(), send(), write(), close(), accept() and alarm(), for what
 * every connection (and prefork spare) calls. */
ssize_t lean_read(int fd, void *buf, size_t len);
ssize_t lean_send(int fd, const void *buf, size_t len, int flags);
ssize_t lean_write(int fd, const void *buf, size_t len);
int lean_close(int fd);
int lean_accept(int fd, struct sockaddr *sa, socklen_t *len);
unsigned lean_alarm(unsigned seconds);
/* clock_gettime(), through the system call for a new process's first
 * reads (lean_clock_forked() in its setup), the vDSO's after them. */
void lean_clock_forked(void);
int lean_clock_gettime(clockid_t id, struct timespec *ts);
/* For priv.c, in a fresh single-threaded fork: setgroups(1, &gid),
 * setresgid(g, g, g), setresuid(u, u, u), setuid(u), geteuid(). */
int lean_setgroups(gid_t gid);
int lean_setresgid(gid_t gid);
int lean_setresuid(uid_t uid);
int lean_setuid(uid_t uid);
uid_t lean_geteuid(void);
/* The parent's accept4(fd, sa, len, SOCK_CLOEXEC), read() and kill(-pgid,
 * SIGKILL), and wait4(-1, status, WNOHANG) in both processes, which fail
 * on every connection: the result, or -errno, and errno left alone. */
int lean_parent_accept(int fd, struct sockaddr *sa, socklen_t *len);
ssize_t lean_parent_read(int fd, void *buf, size_t n);
pid_t lean_reap(int *status);
void lean_parent_kill_group(pid_t pgid);
/* The parent, at start: no restartable-sequences area for the kernel to
 * write (and copy) after each fork. */
void lean_parent_rseq_off(void);
/* Zeroed memory no fork shares (the parent's alone); NULL if none. */
void *lean_parent_alloc(size_t size);
void lean_parent_free(void *mem);

/* ---- connproc.c: a fork of the parent made into a connection's process ---- */
#define CONNPROC_KEEP_MAX 260 /* fds a new process may keep: modules and 4 */

/* What a fresh fork keeps (see connproc_init). */
struct connproc_setup {
    pid_t parent;    /* dies with it */
    int spare;       /* a prefork spare: SIGUSR2 retires it */
    int conn_fd;     /* the connection, if there is one yet, else -1 */
    const int *keep; /* fds above 2 to keep open; all others are closed */
    int nkeep;
    /* Whose user to become; NULL: stay (a probe becomes it later, once
     * the module is loaded). */
    const struct listener_conf *as;
};

/* After SIGTERM, a connection is served on while its input keeps coming:
 * until a pause of CONNPROC_DRAIN_MS, for CONNPROC_DRAIN_MAX_MS at most. */
#define CONNPROC_DRAIN_MS     100
#define CONNPROC_DRAIN_MAX_MS 1000

/* The parent's fd 0 is /dev/null, read-write (parent.c sets it). */
extern int connproc_stdin_null;
extern volatile sig_atomic_t connproc_stop, connproc_retire, connproc_conn_fd,
    connproc_listen_fd;
/* A pipe's write end SIGTERM writes a byte to, to wake conn_loop's poll(). */
extern volatile sig_atomic_t connproc_wake_fd;
/* In the new process: everything before its first byte; -1 if a limit
 * could not be applied (exit CONN_SETUP). */
int connproc_init(const struct connproc_setup *cs);
/* Its user, then its tie to the parent's life (connproc_init does both;
 * a probe calls it once its module is loaded). -1 if the drop failed. */
int connproc_become(const struct listener_conf *as, pid_t parent);
/* Ends the process with status, and whatever it started with it. */
__attribute__((noreturn)) void connproc_exit(int status);
/* In the parent, once: which signal dispositions a child must reset. */
void connproc_snapshot(void);
/* The serving parent, once SIGTERM is blocked: sets the handler its
 * children inherit, then takes the snapshot. */
void connproc_signals_prepare(void);
/* Around a spare's call of the module's entry point: SIGTERM and SIGUSR2
 * held, then plugsrv's handlers put back if it took them, then let in. */
void connproc_signals_hold(void);
void connproc_signals_reclaim(void);
/* In the parent, per config: the limits children will apply. */
void connproc_limits_prepare(const struct rlimits *rl);
const char *log_signame(int sig);

/* ---- frame.c: a byte stream cut into lines of at most max bytes ---- */
enum frame_status {
    FRAME_OK,      /* all of it taken */
    FRAME_STOPPED, /* the callback asked to stop */
    FRAME_TOOLONG, /* a line longer than max */
    FRAME_NOMEM    /* no memory to keep an unfinished line */
};

/* Called once per line; non-zero stops the feed (FRAME_STOPPED). */
typedef int (*frame_cb)(void *arg, const char *line, size_t len);

struct frame {
    char *buf; /* the unfinished line, owned */
    size_t len, cap;
    size_t max; /* the longest line allowed, '\n' included */
};

void frame_init(struct frame *f, size_t max);
enum frame_status frame_feed(struct frame *f, const char *data, size_t len,
                             frame_cb cb, void *arg);
/* Delivers the unfinished last line, if any (at end of input). */
enum frame_status frame_finish(struct frame *f, frame_cb cb, void *arg);
void frame_free(struct frame *f);

/* ---- session.c and host.c: one connection, in its own process ---- */
struct conn_ev; /* conn_loop.c */

struct plugsrv_conn {
    int fd;
    int closing;        /* host->close() or PLUGSRV_CLOSE */
    int failed;         /* a write failed: the client is gone */
    int timedout;       /* ... because it stopped reading */
    int live;           /* between open() and close(): 1.1 services work */
    int taken;          /* host->take_fd(): the fd is the handler's */
    struct conn_ev *ev; /* ABI 1.1 events, NULL until the first is used */
    const char *listener;
    char peer[ADDRSTRLEN];
    char local[ADDRSTRLEN];
    char via[ADDRSTRLEN]; /* the balancer that sent a PROXY header, or "" */
    char peer_ip[ADDRSTRLEN], local_ip[ADDRSTRLEN]; /* "" until asked */
    int peer_port, local_port;
};

/* Who a connection is with: the socket's peer, or a PROXY header's. */
struct conn_addrs {
    char peer[ADDRSTRLEN];
    char via[ADDRSTRLEN]; /* the balancer, or "" */
    char
        local[ADDRSTRLEN]; /* what the client reached, or "": ask the socket */
};

/* What the handler's last callback asked for. */
enum session_step {
    STEP_GO,    /* read on */
    STEP_CLOSE, /* PLUGSRV_CLOSE or host->close(): end normally */
    STEP_ERROR  /* PLUGSRV_ERROR, or a write to the client failed */
};

/* One connection's state, shared by session.c and conn_loop.c. */
struct session {
    plugsrv_conn conn;
    int idle;      /* idle_timeout, seconds */
    int shortened; /* SO_RCVTIMEO is less than idle for now */
    const plugsrv_handler *h;
    int (*eof)(plugsrv_conn *, void *);  /* h's, if it is ABI >= 1.1 */
    int (*stop)(plugsrv_conn *, void *); /* h's, if it is ABI >= 1.1 */
    int stopped;                         /* stop() was called */
    void *module_state;
    void *conn_state;
    struct frame *frame;
    enum session_step step;    /* the last callback's */
    enum frame_status framing; /* FRAME_OK until the framer gave up */
    long long drain_until;     /* stopping: clock_ms() when reading ends */
};

/* Serve fd with the listener's handler; how it ended. session_run() is a
 * prefork spare's, with the handler its entry point gave before accept(). */
enum conn_exit session_run(const struct listener *l, const plugsrv_handler *h,
                           int fd, const char *peer);
enum conn_exit
session_serve(const struct listener *l, int fd, const struct conn_addrs *a);
/* For conn_loop.c: hand input to the handler, tell it of the client's
 * EOF and of SIGTERM; the step the handler's callback asked for. */
enum session_step
session_input(struct session *s, const char *buf, size_t len);
enum session_step session_eof(struct session *s);
enum session_step session_step(const struct session *s, int rc);
enum conn_exit session_verdict(const struct session *s, enum session_step st);

/* ---- conn_loop.c: the poll() loop of a handler that uses the ABI 1.1
 * events (timers, queued output, fd watches), and those services ---- */
/* Serves s from the first event service call on (c->ev set), after
 * take_fd, or for stop(); how it ended, and whether the client sent its
 * EOF (*eof may be 1 already). */
enum conn_exit conn_loop_run(struct session *s, int *eof);
/* Sends the queued output, blocking: before a host->write(). */
int conn_loop_flush(plugsrv_conn *c);
/* host->write() sent bytes: the connection is not idle. */
void conn_loop_progress(plugsrv_conn *c);
/* Frees timers, watches and the queue (after close()). */
void conn_loop_free(plugsrv_conn *c);
plugsrv_timer *conn_loop_timer_add(plugsrv_conn *c, long long ms,
                                   plugsrv_timer_fn fn, void *arg);
int conn_loop_timer_set(plugsrv_conn *c, plugsrv_timer *t, long long ms);
void conn_loop_timer_cancel(plugsrv_conn *c, plugsrv_timer *t);
int conn_loop_write_queued(plugsrv_conn *c, const void *buf, size_t len);
size_t conn_loop_queued(plugsrv_conn *c);
int conn_loop_want_write(plugsrv_conn *c, plugsrv_conn_fn fn, void *arg);
int conn_loop_pause_input(plugsrv_conn *c, int paused);
int conn_loop_shutdown_write(plugsrv_conn *c);
int conn_loop_watch(plugsrv_conn *c, int fd, int events, plugsrv_fd_fn fn,
                    void *arg);
void conn_loop_unwatch(plugsrv_conn *c, int fd);

extern const plugsrv_host host_services; /* the table handlers get */
extern const char *host_listener;        /* for host->log(NULL) */

/* ---- proxyconn.c: the PROXY header, read in the connection's process ---- */
struct proxyconn {
    int fd;      /* the connection */
    int report;  /* the parent's report pipe */
    int verdict; /* the parent's answer comes here */
};

/* Reads the header, reports, waits for the verdict: CONN_OK with a filled
 * in (the balancer's address in a->peer on entry), or how it ended. */
enum conn_exit proxyconn_run(const struct listener *l,
                             const struct proxyconn *pc, struct conn_addrs *a);

/* ---- options.c: the host's view of a listener's options ---- */
int options_string(const plugsrv_options *o, const char *key, const char *def,
                   const char **out);
int options_int(const plugsrv_options *o, const char *key, long long def,
                long long *out);
int options_bool(const plugsrv_options *o, const char *key, int def, int *out);
size_t options_count(const plugsrv_options *o);
const char *options_key(const plugsrv_options *o, size_t i);
int options_list(const plugsrv_options *o, const char *key,
                 const char *const **out, size_t *count);
int options_map(const plugsrv_options *o, const char *key,
                const char *const **keys, const char *const **values,
                size_t *count);

/* ---- watchdog.c: a handler stuck inside a callback ---- */
/* The serving parent, once SIGALRM is blocked: the handler every fork
 * inherits. A fork that is no connection (scrape.c) puts back the
 * default before it uses alarm(). */
void watchdog_prepare(void);
void watchdog_start(int seconds);
void watchdog_enter(void);
void watchdog_leave(void);
void watchdog_write(int writing);
/* For good: the handler took the connection over (host->take_fd). */
void watchdog_stop(void);
long long watchdog_ms(void);
long long watchdog_left(long long since);
int watchdog_stalled(long long since);

#endif /* PLUGSRV_CORE_H */
