/*
 * handler.h - the plugsrv handler ABI, version 1.
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
 * it loads the handler, calls init() once, open() once, data() for every
 * piece of input, and close() once, then fini(), and the process exits.
 * A handler therefore never sees two connections at once, may block, and
 * cannot hurt other connections by crashing or leaking. Global variables
 * are private to the connection's process.
 *
 * Limits. The process runs under the config's rlimits (by default 300 s of
 * CPU, 1 GiB of address space, 1024 files). A callback that runs longer
 * than the listener's idle_timeout (time spent waiting in host->write()
 * for a slow client does not count) is taken to be stuck: the process is
 * ended and the parent logs reason=handler-timeout. SIGPIPE is ignored and
 * every other signal has its default action; SIGTERM, SIGALRM and SIGUSR2
 * are plugsrv's (shutdown, the watchdog, retiring prefork processes), so a
 * handler must not take them over. The watchdog's SIGALRM may go off
 * during any callback: most calls restart by themselves (SA_RESTART), but
 * waits such as nanosleep(), poll() or select() can return EINTR, which a
 * handler should treat as usual (wait again for what is left).
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
 * Compatibility rules. The major version is part of the entry point's
 * name: a module built for ABI 2 exports plugsrv_handler_v2 and is refused
 * by a version-1 host with a message naming both versions. Within a major
 * version, structures only ever grow at the end; a host accepts a handler
 * whose minor version is not newer than its own, and a handler may use a
 * host service only if host->abi_minor says the host has it.
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
#define PLUGSRV_ABI_MINOR 0

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
 */
#define PLUGSRV_OK    0
#define PLUGSRV_CLOSE 1
#define PLUGSRV_ERROR (-1)

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
 * are strings, integers or booleans (plugsrv refuses other JSON types in
 * its config); read them with the opt_* services.
 */
typedef struct plugsrv_options plugsrv_options;

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
     * Called once, before any connection, with the listener's options.
     * plugsrv also calls it when it checks the config at start, reload and
     * `plugsrv -t`, in a throwaway process, so that a bad option fails the
     * start rather than a connection. Put whatever the connections share in
     * *module_state (NULL to start with), to be freed by fini().
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
} plugsrv_handler;

/* The first fields of every plugsrv_handler built against this header. */
#define PLUGSRV_HANDLER_INIT                                                  \
    {                                                                         \
        (uint32_t)sizeof(plugsrv_handler), PLUGSRV_ABI_MAJOR,                 \
            PLUGSRV_ABI_MINOR, NULL, PLUGSRV_MODE_STREAM, NULL, NULL, NULL,   \
            NULL, NULL                                                        \
    }

/*
 * The entry point: the one symbol a handler exports, named for the ABI's
 * major version. plugsrv calls it once per process, right after loading the
 * module, before anything else. host is valid for the life of the process.
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
