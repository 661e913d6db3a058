/*
 * handler.h - the plugsrv handler ABI, version 1.1.
 *
 * This is the only header a handler author needs. A handler is a shared
 * object that exports exactly one function, plugsrv_handler_v1(), and links
 * against nothing: every service of the host (writing to the client,
 * closing, addresses, options, logging) is reached through the
 * plugsrv_host table handed to that function.
 *
 * Build a handler with:
 *
 *     cc -shared -fPIC -I include -o mine.so mine.c
 *
 * (add -fvisibility=hidden to export nothing but the entry point), put
 * mine.so into the modules folder and name it in server.json:
 *
 *     { "address": "127.0.0.1", "port": 7000, "module": "mine" }
 *
 * Process model. plugsrv forks one process per connection. In that process
 * it calls the entry point once, init() once, open() once, data() for every
 * piece of input, and close() once, then fini(), and the process exits.
 * A handler therefore never sees two connections at once, may block, and
 * cannot hurt other connections by crashing or leaking. Global variables
 * are private to the connection's process: nothing is shared between
 * connections. The process starts with stdin and stdout on /dev/null and
 * stderr on plugsrv's log (prefer host->log, which tags the line).
 *
 * Two ways to serve (ABI 1.1). A handler that only answers input (echo,
 * a request/response protocol) needs nothing more than data() and
 * host->write(): plugsrv waits in a plain read() for it, the fastest path.
 * A handler that also acts on its own (pushes output, talks to a backend,
 * runs a timer) uses the event services below, host->timer_add(),
 * host->write_queued(), host->want_write(), host->watch() and
 * host->pause_input(): from the first such call on, plugsrv waits in
 * poll() for the client, the handler's timers and fds and the queued
 * output at once, and calls back whichever is ready. Callbacks still run
 * one at a time, never nested, never from a signal handler.
 *
 * What runs where. plugsrv's parent loads the .so (dlopen), so that every
 * connection's process starts with it loaded; its constructors, if it has
 * any, therefore run in the parent too (any signal disposition or signal
 * mask they change is put back, and a module whose constructors start a
 * thread is refused). The parent never calls anything in the module. The
 * entry point and every callback run only in a process that serves: a
 * connection's process, a prefork process (which calls the entry point
 * once before it waits for its connection), or the throwaway process in
 * which plugsrv checks a config (entry point, init(), fini()). Keep work
 * out of constructors.
 *
 * Ending the process. Return PLUGSRV_CLOSE (or PLUGSRV_ERROR) rather than
 * call exit(): plugsrv then ends what the handler started and logs why. A
 * handler that ends its process itself should exit with 0 or with a
 * status below 10: plugsrv's own ends are statuses 10-18 and 30-32, and
 * the parent logs a status in that range with plugsrv's reason for it
 * (exit(13) reads as reason=idle-timeout).
 *
 * Limits. The process runs under the config's rlimits (by default 300 s of
 * CPU, 1 GiB of address space, 1024 files). A callback that runs longer
 * than the listener's idle_timeout (time spent waiting in host->write()
 * for a slow client does not count) is taken to be stuck: the process is
 * ended and the parent logs reason=handler-timeout. The connection itself
 * is idle, and closed (reason=idle-timeout), when for idle_timeout no byte
 * came from the client and, in the event loop, no queued byte went out to
 * it either: a client that stops reading a handler that pushes is closed
 * too. SIGPIPE is ignored and every other signal has its default action;
 * SIGTERM, SIGALRM and SIGUSR2 are plugsrv's (shutdown, the watchdog,
 * retiring prefork processes), so a handler must not take them over (a
 * prefork process takes SIGTERM and SIGUSR2 back after the entry point,
 * so that a library that sets them cannot keep it from retiring); a
 * program it runs should get every signal back at its default between
 * fork and exec (modules/exec.c does). The watchdog's SIGALRM may go off
 * during any callback: most calls restart by themselves (SA_RESTART), but
 * waits such as nanosleep(), poll() or select() can return EINTR, which a
 * handler should treat as usual (wait again for what is left). A thread
 * the handler starts may be the one the kernel gives these signals to;
 * plugsrv then sends SIGTERM (and SIGUSR2, in a prefork process still
 * waiting for its connection) on to the process's main thread, whose wait
 * it is meant to end, so a wait there may return EINTR too.
 *
 * A minimal handler (an echo server):
 *
 *     #include "handler.h"
 *
 *     static const plugsrv_host *host;
 *
 *     static int echo_data(plugsrv_conn *conn, void *state,
 *                          const char *buf, size_t len)
 *     {
 *         (void)state;
 *         return host->write(conn, buf, len);
 *     }
 *
 *     PLUGSRV_EXPORT const plugsrv_handler *
 *     plugsrv_handler_v1(const plugsrv_host *h)
 *     {
 *         static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;
 *
 *         host = h;
 *         handler.name = "echo";
 *         handler.mode = PLUGSRV_MODE_STREAM;
 *         handler.data = echo_data;
 *         return &handler;
 *     }
 *
 * The bundled handlers in modules/ are short examples: echo.c (stream
 * mode), suffix.c (line mode, options, module state), daytime.c (all in
 * open()), chargen.c (pushing with write_queued() and want_write()),
 * relay.c (watch(), pause_input(), eof(), shutdown_write()) and exec.c
 * (take_fd(), watch() on a pipe and a pidfd, stop()).
 *
 * Compatibility rules. The major version is part of the entry point's
 * name: a module built for ABI 2 exports plugsrv_handler_v2 and is refused
 * by a version-1 host with a message naming both versions. Within a major
 * version, structures only ever grow at the end; a host accepts a handler
 * whose minor version is not newer than its own (a 1.1 handler on a 1.0
 * host is refused, naming both versions), and a handler may use a host
 * service only if host->abi_minor says the host has it. A handler built
 * for 1.0 keeps working unchanged on a 1.1 host: its plugsrv_handler is
 * the smaller 1.0 one, and plugsrv reads no field past its size.
 *
 * The header is C99 and C++ compatible and has no dependencies beyond
 * <stddef.h> and <stdint.h>.
 */
#ifndef PLUGSRV_HANDLER_H
#define PLUGSRV_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. */
#define PLUGSRV_ABI_MAJOR 1
#define PLUGSRV_ABI_MINOR 1

/*
 * Marks the entry point as exported even when the handler is compiled with
 * -fvisibility=hidden (recommended: then nothing else leaks out of the .so).
 */
#if defined(__GNUC__) || defined(__clang__)
#define PLUGSRV_EXPORT            __attribute__((visibility("default")))
#define PLUGSRV_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PLUGSRV_EXPORT
#define PLUGSRV_PRINTF(fmt, args)
#endif

/*
 * Return codes. Every callback that returns int returns one of these, and
 * every host service that can fail returns PLUGSRV_OK or PLUGSRV_ERROR.
 *
 *   PLUGSRV_OK     all went well; carry on.
 *   PLUGSRV_CLOSE  (callbacks only) the handler is done with the client:
 *                  plugsrv discards any input not yet delivered, calls
 *                  close(), and closes the connection. This is a normal,
 *                  successful end (the process exits with status 0).
 *   PLUGSRV_ERROR  something failed: plugsrv calls close() and ends the
 *                  connection; the parent logs the exit as a handler error.
 *   PLUGSRV_AGAIN  (host->write_queued only, ABI 1.1) the output queue is
 *                  full: nothing was taken; ask host->want_write() to be
 *                  called back when it has drained.
 */
#define PLUGSRV_OK    0
#define PLUGSRV_CLOSE 1
#define PLUGSRV_ERROR (-1)
#define PLUGSRV_AGAIN 2

/* Events of host->watch() and its callback (ABI 1.1): a bit mask. */
#define PLUGSRV_READABLE 1 /* also set on end of file, hangup and error */
#define PLUGSRV_WRITABLE 2

/* The bytes host->write_queued() keeps before it says PLUGSRV_AGAIN. */
#define PLUGSRV_QUEUE_MAX (256 * 1024)

/*
 * How input reaches data().
 *
 *   PLUGSRV_MODE_STREAM  data() gets the bytes as they arrive, in pieces of
 *                        any size from 1 byte up; TCP keeps no message
 *                        boundaries, and neither does this mode.
 *   PLUGSRV_MODE_LINE    plugsrv frames the input into lines and calls
 *                        data() once per line. A line is every byte up to
 *                        and including a '\n'; it may contain any other byte,
 *                        '\0' and '\r' included ("X\r\n" arrives as is). A
 *                        last line that ends at end of input without '\n' is
 *                        delivered without one. A line longer than the
 *                        listener's max_line bytes ends the connection (the
 *                        parent logs why); data() never sees it.
 */
#define PLUGSRV_MODE_STREAM 0
#define PLUGSRV_MODE_LINE   1

/* Log levels for plugsrv_host.log. */
#define PLUGSRV_LOG_ERROR 0
#define PLUGSRV_LOG_WARN  1
#define PLUGSRV_LOG_INFO  2
#define PLUGSRV_LOG_DEBUG 3

/*
 * One client connection. Opaque: owned by plugsrv, valid from open() until
 * close() returns. Pass it back to the host services below.
 */
typedef struct plugsrv_conn plugsrv_conn;

/*
 * The "options" object of the listener, as written in server.json. Opaque:
 * owned by plugsrv, valid from init() until fini() returns. Option values
 * are strings, integers, booleans, arrays of strings and objects whose
 * values are strings (plugsrv refuses other JSON types in its config);
 * read them with the opt_* services.
 */
typedef struct plugsrv_options plugsrv_options;

/*
 * A timer of host->timer_add() (ABI 1.1). Opaque: owned by plugsrv, valid
 * until host->timer_cancel() or until close() returns, whichever is first.
 */
typedef struct plugsrv_timer plugsrv_timer;

/*
 * The event callbacks (ABI 1.1). They return what data() returns:
 * PLUGSRV_OK to go on, PLUGSRV_CLOSE to end the connection normally (the
 * queued output is sent first), PLUGSRV_ERROR to end it as failed. arg is
 * the handler's, given when the callback was asked for.
 *
 *   plugsrv_timer_fn  a timer went off; it is disarmed, and may be re-armed
 *                     (host->timer_set) or cancelled from inside.
 *   plugsrv_conn_fn   the client can take more output (host->want_write).
 *   plugsrv_fd_fn     a watched fd is ready; events is a PLUGSRV_READABLE /
 *                     PLUGSRV_WRITABLE mask of what it is ready for.
 */
typedef int (*plugsrv_timer_fn)(plugsrv_conn *conn, void *arg);
typedef int (*plugsrv_conn_fn)(plugsrv_conn *conn, void *arg);
typedef int (*plugsrv_fd_fn)(plugsrv_conn *conn, int fd, int events,
                             void *arg);

/*
 * The host's services. plugsrv hands a pointer to this table to the entry
 * point; it is owned by plugsrv and stays valid, unchanged, for the whole
 * life of the process. Keep the pointer in a static variable.
 */
typedef struct plugsrv_host {
    /* sizeof(plugsrv_host) as the host was built: fields only grow at the
     * end, so a field exists if its offset is below this size. */
    uint32_t size;
    /* The host's ABI version (abi_major is always 1 for this table). */
    uint16_t abi_major;
    uint16_t abi_minor;

    /*
     * Sends all len bytes of buf to the client, waiting while the client is
     * slow to read; a partial write never happens. The bytes are copied
     * before it returns, so buf stays the caller's.
     * Returns PLUGSRV_OK, or PLUGSRV_ERROR if the client has gone (reset,
     * closed) or did not read for longer than the idle timeout; then the
     * connection is dead and the callback should return PLUGSRV_ERROR.
     * Never raises SIGPIPE.
     */
    int (*write)(plugsrv_conn *conn, const void *buf, size_t len);

    /*
     * Asks plugsrv to close the connection once the current callback
     * returns, exactly as if it had returned PLUGSRV_CLOSE. Input not yet
     * delivered is discarded. Cannot fail.
     */
    void (*close)(plugsrv_conn *conn);

    /*
     * The client's and the listener's address as text: "127.0.0.1:50112" or
     * "[::1]:50112". The string is owned by plugsrv and valid until close()
     * returns. Never NULL.
     */
    const char *(*peer_addr)(plugsrv_conn *conn);
    const char *(*local_addr)(plugsrv_conn *conn);

    /*
     * Read option key of the listener's "options" object. If the key is
     * absent, *out is set to def and PLUGSRV_OK is returned. If it is
     * present with the right type, *out is its value and PLUGSRV_OK is
     * returned. If it is present with another type (say "7" asked for as an
     * integer), *out is set to def and PLUGSRV_ERROR is returned, so that
     * init() can refuse it. A string *out is owned by plugsrv, valid until
     * fini() returns; it may hold '\0' bytes only if the JSON did ("\u0000"),
     * and opt_string then cuts it there. bool values are 0 or 1.
     */
    int (*opt_string)(const plugsrv_options *opts, const char *key,
                      const char *def, const char **out);
    int (*opt_int)(const plugsrv_options *opts, const char *key, long long def,
                   long long *out);
    int (*opt_bool)(const plugsrv_options *opts, const char *key, int def,
                    int *out);

    /*
     * The number of options, and the key of the i-th (0 <= i < count), so
     * that init() can refuse keys it does not know. opt_key returns NULL
     * for an i out of range; the string is owned by plugsrv, valid until
     * fini() returns.
     */
    size_t (*opt_count)(const plugsrv_options *opts);
    const char *(*opt_key)(const plugsrv_options *opts, size_t i);

    /*
     * Writes one line to plugsrv's log, tagged with the listener and, when
     * conn is not NULL, the connection's pid and peer. level is one of
     * PLUGSRV_LOG_*. A trailing newline in fmt is not needed. Cannot fail
     * (a line that cannot be written is dropped).
     */
    void (*log)(plugsrv_conn *conn, int level, const char *fmt, ...)
        PLUGSRV_PRINTF(3, 4);

    /* ================= ABI 1.1: use only if abi_minor >= 1 ============ */
    /*
     * Unless said otherwise, the services below that take a conn may be
     * called from open() until close() is called (not from init(), close()
     * or fini()), and return PLUGSRV_ERROR when called outside that span,
     * after the connection has failed, or when plugsrv has no memory.
     */

    /*
     * Timers. timer_add() arms a one-shot timer that calls fn(conn, arg)
     * after ms milliseconds (0: as soon as plugsrv's loop runs again, after
     * the current callback); input, fd and write callbacks are still
     * delivered while it waits. Returns the timer, or NULL on failure.
     * timer_set() re-arms it for ms from now (also from inside its own
     * callback: that is how a periodic timer is made), whether it went off
     * or not; ms < 0 disarms it and keeps it for later. timer_cancel()
     * disarms and frees it: the pointer is invalid afterwards; it may be
     * called from inside its own callback. Timers left when the connection
     * ends are freed by plugsrv, after close() returns; none goes off during
     * close(). Timers are measured on the monotonic clock, to the
     * millisecond; one fires no earlier than asked, later if a callback ran
     * long. At most 4096 timers exist at once.
     */
    plugsrv_timer *(*timer_add)(plugsrv_conn *conn, long long ms,
                                plugsrv_timer_fn fn, void *arg);
    int (*timer_set)(plugsrv_conn *conn, plugsrv_timer *t, long long ms);
    void (*timer_cancel)(plugsrv_conn *conn, plugsrv_timer *t);

    /*
     * Queued output: copies all len bytes of buf into plugsrv's output
     * queue and returns at once; plugsrv sends them in order from its loop,
     * after what was queued before and before what is written later
     * (host->write() sends the queue first). Returns PLUGSRV_OK when the
     * bytes were taken: always when fewer than PLUGSRV_QUEUE_MAX bytes were
     * waiting, whatever len; PLUGSRV_AGAIN, taking nothing, when the queue
     * already holds PLUGSRV_QUEUE_MAX bytes or more (call want_write() and
     * try again from its callback); PLUGSRV_ERROR when the client has gone
     * (the callback should then return PLUGSRV_ERROR). Never blocks, never
     * raises SIGPIPE. A client that reads none of the queue for idle_timeout
     * is closed (reason=idle-timeout). queued() says how many bytes wait.
     */
    int (*write_queued)(plugsrv_conn *conn, const void *buf, size_t len);
    size_t (*queued)(plugsrv_conn *conn);

    /*
     * Asks for fn(conn, arg) once, as soon as the output queue is empty and
     * the client's socket can take more bytes: a pushing handler writes
     * until PLUGSRV_AGAIN, asks this, and is called back when the client
     * has read, using no CPU meanwhile. One-shot: ask again from fn to keep
     * going. A new call replaces the last; fn NULL cancels. Returns
     * PLUGSRV_OK or PLUGSRV_ERROR.
     */
    int (*want_write)(plugsrv_conn *conn, plugsrv_conn_fn fn, void *arg);

    /*
     * Stops (paused = 1) or resumes (0) reading from the client, so that a
     * handler whose output goes somewhere slow (a relay's backend) can hold
     * the client back: while paused, data() is not called and the kernel's
     * buffers fill up until the client waits. A paused client is not idle
     * while output still moves. Returns PLUGSRV_OK or PLUGSRV_ERROR.
     */
    int (*pause_input)(plugsrv_conn *conn, int paused);

    /*
     * Sends the client a FIN (shutdown(SHUT_WR)) once the queued output has
     * gone: the client sees end of file, and may still send; input is still
     * delivered. Later writes fail. For relays that pass a half-close on.
     * Returns PLUGSRV_OK or PLUGSRV_ERROR.
     */
    int (*shutdown_write)(plugsrv_conn *conn);

    /*
     * Watches an fd of the handler's own (a backend's socket, a pipe, a
     * pidfd): fn(conn, fd, ready, arg) is called whenever fd is ready for
     * one of events (PLUGSRV_READABLE and/or PLUGSRV_WRITABLE; level
     * triggered: it is called again while the fd stays ready). Watching an
     * fd already watched replaces its events, fn and arg; events 0, or
     * unwatch(), stops watching. The fd stays the handler's: plugsrv never
     * reads, writes or closes it; unwatch it before closing it. Watches
     * left are dropped when the connection ends, after close(). Returns
     * PLUGSRV_OK, or PLUGSRV_ERROR (fd < 0, the connection's own fd while
     * plugsrv still has it, more than 1024 fds, no memory). unwatch() of
     * an fd not watched does nothing. Another fd watched by a callback of
     * the same wait may be reported in that wait or the next.
     */
    int (*watch)(plugsrv_conn *conn, int fd, int events, plugsrv_fd_fn fn,
                 void *arg);
    void (*unwatch)(plugsrv_conn *conn, int fd);

    /*
     * Takes the connection over: returns the connection's socket, which is
     * the handler's from then on (to exec a program on it, run its own
     * loop, hand it to a library; the handler closes it, or the process's
     * exit does), or -1 if it cannot be taken (taken already, output still
     * queued, called outside open()/data()/a 1.1 callback). Input plugsrv
     * has read and not yet delivered is dropped: from open(), or from data()
     * in stream mode, none is. Afterwards plugsrv
     *   - never reads, writes, shuts down or closes the socket again; its
     *     write(), write_queued(), want_write(), pause_input() and
     *     shutdown_write() fail; data() and eof() are not called again;
     *   - disarms the watchdog: callbacks may then run as long as they
     *     like (no reason=handler-timeout);
     *   - no longer enforces idle_timeout: the socket keeps the receive and
     *     send timeouts (SO_RCVTIMEO/SO_SNDTIMEO) of idle_timeout that
     *     plugsrv set, so a blocking read or write on it that waits that
     *     long fails with EAGAIN; clear them with setsockopt() if unwanted;
     *   - still runs timers and fd watches, still delivers SIGTERM (a wait
     *     in the handler returns EINTR; host->stopping() then says 1, and
     *     stop() is called when a callback has returned), and the parent
     *     still SIGKILLs the process shutdown_timeout seconds after
     *     SIGTERM; what the process started ends with it;
     *   - ends the connection, calling close() and fini(), as soon as the
     *     callback that took it has returned and no timer is armed and no
     *     fd is watched, or when a callback returns PLUGSRV_CLOSE or
     *     PLUGSRV_ERROR; the process then exits, closing the socket if the
     *     handler has not.
     */
    int (*take_fd)(plugsrv_conn *conn);

    /*
     * 1 once plugsrv has been told to stop (SIGTERM), else 0. For a handler
     * that runs a loop of its own (after take_fd()). May be called at any
     * time, with conn NULL too.
     */
    int (*stopping)(plugsrv_conn *conn);

    /*
     * The listener's "name" from server.json (conn may be NULL, e.g. in
     * init()); the numeric peer and local addresses without brackets or
     * port ("127.0.0.1", "::1") and their ports. Strings are owned by
     * plugsrv, valid until close() returns (the name: until fini()). Never
     * NULL; "unknown" and port 0 if the system could not say.
     */
    const char *(*listener_name)(plugsrv_conn *conn);
    const char *(*peer_ip)(plugsrv_conn *conn);
    int (*peer_port)(plugsrv_conn *conn);
    const char *(*local_ip)(plugsrv_conn *conn);
    int (*local_port)(plugsrv_conn *conn);

    /*
     * Options that are arrays of strings ("argv": ["/bin/cat", "-u"]) and
     * objects whose values are strings ("env": { "LANG": "C" }). opt_list
     * sets *out to a NULL-terminated array of *count strings; opt_map sets
     * *keys and *values, two arrays of *count strings each (NULL-terminated
     * too), in the order of the file. Absent: NULL arrays, a count of 0 and
     * PLUGSRV_OK. Present with another type: the same, and PLUGSRV_ERROR,
     * so that init() can refuse it. Everything is owned by plugsrv, valid
     * until fini() returns. count may be NULL.
     */
    int (*opt_list)(const plugsrv_options *opts, const char *key,
                    const char *const **out, size_t *count);
    int (*opt_map)(const plugsrv_options *opts, const char *key,
                   const char *const **keys, const char *const **values,
                   size_t *count);
} plugsrv_host;

/*
 * What a handler is. The entry point returns a pointer to one of these; it
 * stays owned by the handler and must stay valid and unchanged until the
 * process exits (a static variable is the usual home). Start from
 * PLUGSRV_HANDLER_INIT, which fills in size and version, then set the rest.
 * Every callback may be NULL, meaning "nothing to do" (a NULL data()
 * discards input).
 */
typedef struct plugsrv_handler {
    /* sizeof(plugsrv_handler) as the handler was built. */
    uint32_t size;
    /* The ABI the handler was built for: PLUGSRV_ABI_MAJOR/MINOR. */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* A short name for the log, e.g. "echo". Owned by the handler. */
    const char *name;
    /* PLUGSRV_MODE_STREAM or PLUGSRV_MODE_LINE. */
    int mode;

    /*
     * Called once in each connection's process, before open(), with the
     * listener's options. plugsrv also calls it when it checks the config
     * at start, reload and `plugsrv -t`, in a throwaway process, so that a
     * bad option fails the start rather than a connection. Nothing is
     * shared between connections: each has its own process, and its own
     * init(). Put what init() prepares from the options (parsed settings,
     * tables) in *module_state (NULL to start with); it is handed to
     * open() and freed by fini().
     * Returns PLUGSRV_OK, or PLUGSRV_ERROR with a one-line, NUL-terminated
     * reason written into err (errlen bytes, at least 256), e.g.
     * "option \"suffix\" must be a string". plugsrv reports that reason with
     * the listener's name and refuses to start.
     */
    int (*init)(const plugsrv_options *opts, void **module_state, char *err,
                size_t errlen);

    /*
     * Called once when a client has connected, before any data(). Put the
     * connection's own state in *conn_state (NULL to start with).
     * Returns PLUGSRV_OK, PLUGSRV_CLOSE (e.g. after writing a refusal) or
     * PLUGSRV_ERROR.
     */
    int (*open)(plugsrv_conn *conn, void *module_state, void **conn_state);

    /*
     * Called with input from the client: a piece of the byte stream, or
     * exactly one line (see PLUGSRV_MODE_*). buf holds len >= 1 bytes, is
     * owned by plugsrv, and is valid only during the call; it is not
     * NUL-terminated. Returns PLUGSRV_OK to go on, PLUGSRV_CLOSE to end the
     * connection normally, PLUGSRV_ERROR to end it as failed.
     */
    int (*data)(plugsrv_conn *conn, void *conn_state, const char *buf,
                size_t len);

    /*
     * Called once when the connection ends for any reason other than the
     * process dying (client closed, PLUGSRV_CLOSE, error, timeout). The
     * client may still be written to if it has only half-closed. Free
     * conn_state here.
     */
    void (*close)(plugsrv_conn *conn, void *conn_state);

    /* Called once after the last close(), or after init() succeeded in a
     * check. Free module_state here. */
    void (*fini)(void *module_state);

    /* ================= ABI 1.1: a 1.0 handler has none of these ======== */

    /*
     * Called once when the client has sent its end of file (a half-close
     * or a close), after the last data(). NULL (and for 1.0 handlers): the
     * connection ends, as in ABI 1.0, once the queued output is sent. Else
     * the connection goes on: output still reaches a client that only
     * half-closed, timers and watches go on, until a callback returns
     * PLUGSRV_CLOSE or PLUGSRV_ERROR (or host->close() is called); with no
     * timer armed, no fd watched, no output queued and no want_write()
     * asked after eof(), nothing can happen any more and the connection
     * ends normally. Returns PLUGSRV_OK, PLUGSRV_CLOSE or PLUGSRV_ERROR.
     */
    int (*eof)(plugsrv_conn *conn, void *conn_state);

    /*
     * Called once when the connection's process gets SIGTERM: plugsrv is
     * stopping, or the listener's max_duration has passed. Called from
     * plugsrv's loop, never from the signal handler.
     * Input is no longer read from then on. The handler may say goodbye
     * (queued output is still sent, to a client that reads: after
     * PLUGSRV_CLOSE plugsrv waits at most a second for it to make progress)
     * and returns PLUGSRV_CLOSE to end now, or PLUGSRV_OK to finish on its
     * own with its timers, watches and queued output; the parent SIGKILLs
     * the process if it is still there shutdown_timeout seconds (10 by
     * default) after a shutdown's SIGTERM, 2 s after max_duration's. NULL
     * (and for 1.0 handlers): the connection ends at once. Either way the
     * exit is logged as reason=shutdown (reason=max-duration for the
     * latter).
     */
    int (*stop)(plugsrv_conn *conn, void *conn_state);
} plugsrv_handler;

/* The first fields of every plugsrv_handler built against this header. */
#define PLUGSRV_HANDLER_INIT                                                  \
    {                                                                         \
        (uint32_t)sizeof(plugsrv_handler), PLUGSRV_ABI_MAJOR,                 \
            PLUGSRV_ABI_MINOR, NULL, PLUGSRV_MODE_STREAM, NULL, NULL, NULL,   \
            NULL, NULL, NULL, NULL                                            \
    }

/*
 * The entry point: the one symbol a handler exports, named for the ABI's
 * major version. plugsrv calls it once per process, in the process that
 * serves, before init() and anything else; never in plugsrv's parent.
 * host is valid for the life of the process.
 * Returns the handler's description, or NULL if the handler cannot run with
 * this host (for instance because host->abi_minor is too old for a service
 * it needs); plugsrv then refuses the module.
 */
PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host);

/* The entry point's name, as plugsrv looks it up with dlsym(). */
#define PLUGSRV_ENTRY_SYMBOL "plugsrv_handler_v1"

#ifdef __cplusplus
}
#endif

#endif /* PLUGSRV_HANDLER_H */
