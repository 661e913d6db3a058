/*
 * plugsrv.h - the core's private header, one section per file.
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
#include <sys/types.h>
#include <time.h>

#include "handler.h"

#define PLUGSRV_VERSION "1.0.0"
#define ERRBUF          512 /* size of every error buffer a caller owns */
#define ADDRSTRLEN      64  /* "[ipv6%scope]:port" and NUL */

/*
 * Exit codes. The parent only sees a connection's process through
 * waitpid(), so the status says how the connection ended; child.c turns it
 * back into words for the log. plugsrv itself exits 0 on success, 1 on a
 * bad config or start failure, 2 on a usage error.
 */
enum child_exit {
    CHILD_OK = 0,        /* client or handler closed normally */
    CHILD_SETUP = 10,    /* the process could not be set up */
    CHILD_MODULE = 11,   /* entry point, ABI or init() failed */
    CHILD_HANDLER = 12,  /* a callback returned PLUGSRV_ERROR */
    CHILD_IDLE = 13,     /* idle_timeout passed with no input */
    CHILD_LINE = 14,     /* a line longer than max_line */
    CHILD_IO = 15,       /* the client reset or a read/write failed */
    CHILD_SHUTDOWN = 16, /* closed because plugsrv is stopping */
    CHILD_STUCK = 17,    /* a callback ran longer than idle_timeout */
};
#define EXIT_CONFIG 1
#define EXIT_USAGE  2

/* ---- log.c: one line per event on stderr, key=value ---- */
void log_init(const char *name);
void log_forked(void);
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vline(const char *fmt, va_list ap, const char *errstr)
    __attribute__((format(printf, 1, 0)));
__attribute__((noreturn)) void
fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- config.c, config_listener.c: server.json into a struct config ---- */
enum option_type {
    OPTION_STRING,
    OPTION_INT,
    OPTION_BOOL
};

struct option {
    char *key;
    enum option_type type;
    char *str;     /* OPTION_STRING */
    long long num; /* OPTION_INT, OPTION_BOOL (0/1) */
};

struct plugsrv_options {
    size_t count;
    struct option *items;
};

enum listener_mode {
    MODE_FORK,
    MODE_PREFORK
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
    char *module;      /* as written in the config */
    char *module_path; /* resolved against modules_dir / the config's folder */
    struct plugsrv_options options;
    int max_connections; /* 0: only the global cap */
    int idle_timeout;    /* seconds, 0 = off */
    size_t max_line;
    int backlog;
    enum listener_mode mode;
    int spare; /* prefork: children waiting ready */
};

struct config {
    char *path;        /* the file it came from */
    char *modules_dir; /* resolved */
    int max_connections;
    int idle_timeout;
    size_t max_line;
    int shutdown_timeout;
    char *user, *group; /* NULL: keep the starting identity */
    struct rlimits rlimits;
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

/* ---- options.c: the host's view of a listener's options ---- */
int options_string(const plugsrv_options *o, const char *key, const char *def,
                   const char **out);
int options_int(const plugsrv_options *o, const char *key, long long def,
                long long *out);
int options_bool(const plugsrv_options *o, const char *key, int def, int *out);
size_t options_count(const plugsrv_options *o);
const char *options_key(const plugsrv_options *o, size_t i);

/* ---- addr.c: socket addresses as text ---- */
/* "127.0.0.1:50112" or "[::1]:50112" into buf (ADDRSTRLEN bytes). */
void addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* Numeric address text and port into *ss; -1 if text is not an address. */
int addr_parse(const char *text, int port, struct sockaddr_storage *ss,
               socklen_t *sslen);

/* ---- frame.c: a byte stream cut into lines of at most max bytes ---- */
enum frame_status {
    FRAME_OK = 0,
    FRAME_TOOLONG = -2
};

/* Called once per line; a non-zero return stops the feed and is returned. */
typedef int (*frame_cb)(void *arg, const char *line, size_t len);

struct frame {
    char *buf; /* the unfinished line, owned */
    size_t len, cap;
    size_t max; /* the longest line allowed, '\n' included */
};

void frame_init(struct frame *f, size_t max);
int frame_feed(struct frame *f, const char *data, size_t len, frame_cb cb,
               void *arg);
/* Delivers the unfinished last line, if any (at end of input). */
int frame_finish(struct frame *f, frame_cb cb, void *arg);
void frame_free(struct frame *f);

/* ---- module.c: loading a handler and checking its ABI ---- */
struct module {
    char *path;
    void *dl;
    const plugsrv_handler *handler;
};

extern const plugsrv_host module_host; /* defined in host.c */
extern const char *host_listener;      /* host.c: for host->log(NULL) */

/* dlopen path, find the entry point, check the ABI; -1 with a message. */
int module_open(struct module *m, const char *path, char *err, size_t errlen);
void module_close(struct module *m);

/* ---- probe.c: modules proven in throwaway processes ---- */
/* Prove each listener's module in a throwaway process, all at once: load,
 * ABI, init() with its options, fini(). 0, or -1 with the first failing
 * listener's index in *bad and the module's or the crash's words. */
int probe_all(const struct listener_conf *lcs, size_t n, size_t *bad,
              char *err, size_t errlen);

/* ---- listen.c: the listening sockets ---- */
struct listener {
    struct listener_conf *conf; /* owned by the config */
    int fd;
    struct module module;
    char addr[ADDRSTRLEN];
    int active;            /* children serving a connection */
    int spare;             /* prefork children waiting */
    struct listener *from; /* reload: whose socket this took over */
    int retimed;           /* a reload changed its idle_timeout */
};

/* Bind and listen; -1 with "address: why" in err. */
int listen_open(struct listener *l, char *err, size_t errlen);
void listen_close(struct listener *l);
int listen_configure(struct listener *l);
int listen_same(const struct listener_conf *a, const struct listener_conf *b);

/* ---- proc.c: a fork of the parent made into a connection's process ---- */
extern volatile sig_atomic_t proc_stop, proc_retire, proc_conn_fd,
    proc_accepting;
void proc_snapshot(void);
void proc_reset_signals(int spare);
void proc_die_with_parent(pid_t parent);
void proc_keep_fds(const int *keep, int n);
void proc_limits_prepare(const struct rlimits *rl);
int proc_limits_apply(void);
const char *proc_signame(int sig);

/* ---- session.c and host.c: one connection, in its own process ---- */
struct plugsrv_conn {
    int fd;
    int closing;  /* host->close() or PLUGSRV_CLOSE */
    int failed;   /* a write failed: the client is gone */
    int timedout; /* ... because it stopped reading */
    const char *listener;
    char peer[ADDRSTRLEN];
    char local[ADDRSTRLEN];
};

/* Serve fd with the listener's handler; returns an enum child_exit. */
int session_run(const struct listener *l, int fd, const char *peer);

/* ---- watchdog.c: a handler stuck inside a callback ---- */
void watchdog_start(int seconds);
void watchdog_enter(void);
void watchdog_leave(void);
void watchdog_write(int writing);
long long watchdog_ms(void);
long long watchdog_left(long long since);
int watchdog_stalled(long long since);

/* ---- child.c: the parent's table of children and their reaping ---- */
enum child_state {
    CHILD_SERVING,
    CHILD_SPARE
};

struct child {
    pid_t pid;
    enum child_state state;
    int killed;                /* we sent SIGKILL at shutdown */
    struct listener *listener; /* NULL once its listener is gone */
    char listener_name[64];
    char peer[ADDRSTRLEN];
    struct timespec start;
};

int child_table_init(void);
/* The SIGCHLD handler: reaps without blocking, records, logs nothing. */
void child_sigchld(int sig);
/* Logs and forgets the children reaped since the last call. */
void child_collect(void);
struct child *child_add(pid_t pid, struct listener *l, enum child_state st);
struct child *child_find(pid_t pid);
void child_serve(struct child *c, const char *peer);
size_t child_count(void);
size_t child_serving(void);
void child_signal_all(int sig);
void child_signal_spares(const struct listener *l, int sig);
void child_relink(struct listener *ls, size_t n);
void child_table_free(void);

/* ---- prefork.c: pools of children waiting in accept() ---- */
int prefork_refill(struct listener *ls, size_t n, const struct config *conf,
                   int notify);
void prefork_read(int notify);

/* ---- priv.c: dropping root for good ---- */
int priv_check(const struct config *conf, char *err, size_t errlen);
int priv_drop(const struct config *conf, char *err, size_t errlen);

/* ---- server.c: the parent's loop ---- */
/* Serves conf until SIGTERM or SIGINT; takes ownership of conf. */
int server_run(struct config *conf);
/* Check everything a start would, without serving (`plugsrv -t`). */
int server_check(struct config *conf, char *err, size_t errlen);

#endif /* PLUGSRV_CORE_H */
