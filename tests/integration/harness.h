/*
 * harness.h - what the integration tests need to use plugsrv as a user
 * does: a temp folder with a config, the real binary started on it (with an
 * optional hook run in the child before exec), loopback sockets, and the
 * log. Every wait here has a deadline and is a wait for a condition (poll
 * on a socket, a pidfd, inotify on the log), never a sleep.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* Bounds used by most tests, in milliseconds. */
#define HS_START_MS 15000 /* the daemon's "ready" line */
#define HS_IO_MS    15000 /* one exchange over a socket */
#define HS_EXIT_MS  15000 /* a process's end after a signal */

/* A test module's path: TEST_MODULE("crash") -> ".../test-modules/crash.so". */
#define TEST_MODULE(name) TEST_MODULE_DIR "/" name ".so"

/* One daemon under test and the temp folder it lives in. */
struct hs {
    char dir[256];   /* the temp folder (mkdtemp), removed at the end */
    char conf[320];  /* dir/server.json */
    char log[320];   /* dir/plugsrv.log: the daemon's stderr */
    pid_t pid;       /* the daemon started last, or 0 */
    int pidfd;       /* a pidfd for pid, or -1 */
    int reaped;      /* pid has ended and was reaped... */
    int status;      /* ...with this wait status */
    int passed;      /* set by a test at its end; else the log is shown */
    char *out, *err; /* stdout and stderr of the last hs_run() */
};

/* ---- harness.c: the struct, its folder and files, ports ---- */

/* Makes the test process a subreaper (so that processes orphaned by the
 * daemon come to us and can be counted) and seeds the port picker. Call
 * once from main(). */
void hs_global_init(void);

/* New temp folder and a struct hs for it; NULL on failure. */
struct hs *hs_new(void);
/* Ends the daemon (SIGTERM, then SIGKILL), ends and reaps any process left
 * to us, shows the log if the test did not pass, removes the folder. */
void hs_free(struct hs *h);

/* cmocka fixtures: *state = hs_new() / hs_free(*state). */
int hs_setup(void **state);
int hs_teardown(void **state);

/* A port in 20000-32000 that is free on 127.0.0.1 and on ::1, and that no
 * other test process will be given (a lock file held until we exit). */
int hs_port(void);

/* Writes dir/NAME (or the config, dir/server.json) from a printf format. */
int hs_write_file(struct hs *h, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int hs_write_config(struct hs *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* path = dir/name */
void hs_path(struct hs *h, const char *name, char *path, size_t len);

/* Milliseconds on the monotonic clock. */
long long hs_now_ms(void);

/* ---- harness_proc.c: processes ---- */

/* Runs in the forked child, after the clean slate (default signals, no
 * core, cwd /, stdin /dev/null, no inherited fds, ASan options), just
 * before exec. It may call setrlimit(), setuid()... and _exit() on error. */
typedef void (*hs_prep_fn)(void *arg);

/* Starts plugsrv -c dir/server.json, stderr into dir/plugsrv.log. */
int hs_start(struct hs *h);
/* Like hs_start(), but runs argv (argv[0] is the program; NULL means
 * plugsrv -c dir/server.json) with prep(arg) in the child first (no hook if
 * prep is NULL). The process is then h->pid, so that every hs_* function
 * works on it. */
int hs_start_prep(struct hs *h, const char *const *argv, hs_prep_fn prep,
                  void *arg);
/* hs_start(), then waits for the " ready " line; 0 when it is there, -1 if
 * the daemon died or the deadline passed. */
int hs_start_ready(struct hs *h);

/* Runs plugsrv with argv (NULL-terminated, without argv[0]) to its end,
 * with stdout/stderr into h->out / h->err. Returns the wait status, or -1
 * if it did not end within timeout_ms (it is then killed). */
int hs_run(struct hs *h, int timeout_ms, const char *const *argv);
/* The same for any program (argv[0] is the path). */
int hs_run_prog(struct hs *h, int timeout_ms, const char *const *argv);
/* Starts any program (argv[0] is the path) in the background, with the
 * clean slate and prep(arg) (if not NULL) in the child, stdout/stderr
 * appended to the files; its pid, or -1. */
pid_t hs_spawn(const char *const *argv, const char *outpath,
               const char *errpath, hs_prep_fn prep, void *arg);

/* Sends sig to the daemon. */
int hs_signal(struct hs *h, int sig);
/* Waits for the daemon's end; its wait status, or -1 at the deadline. */
int hs_wait_exit(struct hs *h, int timeout_ms);
/* The daemon is now pid (a SIGUSR2 restart's new process, once the old
 * one has ended and it was handed to us); 0, or -1 if pid is gone. */
int hs_follow(struct hs *h, pid_t pid);
/* Is the daemon still running (not reaped, not a zombie)? */
int hs_alive(struct hs *h);

/* Processes whose parent is pid; zombies counts only those in state Z. */
int hs_children(pid_t pid);
int hs_zombies(pid_t pid);
/* Open fds of pid. */
int hs_fd_count(pid_t pid);
/* Processes left to the test process (the subreaper) other than the
 * daemon: orphans of the daemon's children. */
int hs_orphans(struct hs *h);
/* Does a process with this pid exist (zombie or not)? */
int hs_pid_exists(pid_t pid);

/* Nonzero when the build uses AddressSanitizer (no RLIMIT_AS then). */
int hs_sanitized(void);

/* ---- harness_log.c: the log ---- */

/* Lines of the log that hold every one of the strings (NULL-terminated). */
int hs_log_count(struct hs *h, ...) __attribute__((sentinel));
/* Waits until at least min lines hold every string; 0, or -1 at the
 * deadline or if the daemon died. */
int hs_wait_log(struct hs *h, int min, int timeout_ms, ...)
    __attribute__((sentinel));
/* Copies the last line that holds every string into buf; 0, or -1. */
int hs_log_last(struct hs *h, char *buf, size_t len, ...)
    __attribute__((sentinel));
/* The value of key in a log line ("pid" in "... pid=42 ..."), or "". */
void hs_log_value(const char *line, const char *key, char *buf, size_t len);
/* Prints the log to stderr (for a failing test). */
void hs_dump_log(struct hs *h);

/* ---- harness_net.c: sockets ---- */

/* A socket listening on 127.0.0.1:port, so that plugsrv finds the port
 * taken; its fd, or -1. */
int hs_hold_port(int port);

/* TCP connect to addr:port (numeric v4/v6) with a deadline. Returns a
 * non-blocking, close-on-exec socket with TCP_NODELAY, or -1 (errno set:
 * ECONNREFUSED, ETIMEDOUT...). */
int hs_connect(const char *addr, int port, int timeout_ms);
/* The same from the local address src (any 127.x.y.z, or ::1), so that a
 * test can be many clients. */
int
hs_connect_from(const char *src, const char *addr, int port, int timeout_ms);
/* Sends all len bytes, chunk bytes per send (0: as much as fits). */
int
hs_send_all(int fd, const void *buf, size_t len, size_t chunk, int timeout_ms);
int hs_send_str(int fd, const char *s);
/* Receives until n bytes, EOF, an error or the deadline; returns the bytes
 * received (check against n). */
ssize_t hs_recv_n(int fd, void *buf, size_t n, int timeout_ms);
/* "hi\n" and its echo on a new connection, all within timeout_ms: 0, or
 * -1. */
int hs_echo_once(const char *addr, int port, int timeout_ms);
/* Lines of text whose event (what follows the first "]: ") begins with
 * ev. */
int hs_event_count(const char *text, const char *ev);
/* Receives until EOF into buf (at most cap bytes); the bytes received, or
 * -1 if no EOF came before the deadline or cap was reached. */
ssize_t hs_recv_eof(int fd, void *buf, size_t cap, int timeout_ms);
/* Waits until the peer has closed: 1 on EOF or reset (data before it is
 * discarded), 0 at the deadline. */
int hs_wait_closed(int fd, int timeout_ms);
/* Has the peer closed? Looks without waiting: 1 closed, 0 open. */
int hs_is_closed(int fd);
/* Sends s and expects exactly reply back (strlen bytes); 0 or -1. */
int hs_roundtrip(int fd, const char *s, const char *reply);

/* A full-duplex transfer: sends out (wchunk bytes per send, 0 = any) while
 * receiving into in (rchunk bytes per recv, 0 = any, and no read for
 * rpause_ms after each one: a slow reader), half-closes after the last byte
 * if shut_wr, and stops at EOF or when incap bytes came. Returns the bytes
 * received, or -1 on an error or at the deadline. */
struct hs_xfer {
    const void *out;
    size_t outlen, wchunk;
    void *in;
    size_t incap, rchunk;
    int rpause_ms;
    int shut_wr;
    int timeout_ms;
    int reset; /* out: the peer reset the connection (counts as
                           its end, like EOF) */
};
ssize_t hs_exchange(int fd, struct hs_xfer *x);

#endif /* HARNESS_H */
