/*
 * notify.c - telling systemd how the service is doing (Type=notify and
 * Type=notify-reload), in the parent: one datagram per state to the unix
 * socket named by $NOTIFY_SOCKET, as sd_notify(3) describes; no libsystemd
 * needed. Without $NOTIFY_SOCKET every call does nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "plugsrv.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_len;
static char notify_path[sizeof(notify_addr.sun_path) + 1]; /* as given */

/*
 * Reads $NOTIFY_SOCKET once and forgets it, so that no handler or program
 * a handler runs can speak for plugsrv. A name starting with '@' is in the
 * abstract namespace.
 */
void
notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len;

    if (path == NULL || (path[0] != '/' && path[0] != '@'))
        goto out;
    len = strlen(path);
    if (len >= sizeof(notify_addr.sun_path))
        goto out;
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd == -1)
        goto out;
    memset(&notify_addr, 0, sizeof(notify_addr));
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, path, len);
    memcpy(notify_path, path, len + 1);
    if (path[0] == '@')
        notify_addr.sun_path[0] = '\0';
    notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
out:
    unsetenv("NOTIFY_SOCKET");
}

/* Sends one datagram of "KEY=value" lines; never blocks the parent. */
void
notify_send(const char *fmt, ...)
{
    char msg[512], v[LOG_VALUE_MAX];
    va_list ap;
    int n;

    if (notify_fd == -1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return;
    if (sendto(notify_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
               (struct sockaddr *)&notify_addr, notify_len) == -1)
        log_warn("error what=notify socket=%s",
                 notify_addr.sun_path[0]
                     ? log_nvalue(v, sizeof(v), notify_addr.sun_path,
                                  sizeof(notify_addr.sun_path))
                     : "@abstract");
}

/* RELOADING=1 must carry the monotonic time (Type=notify-reload). */
void
notify_reloading(void)
{
    notify_send("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
                clock_us());
}

/* STATUS= with the connections open, at most once a second and only when
 * the number changed: systemctl status shows it. */
void
notify_status(size_t connections)
{
    static size_t last = (size_t)-1;
    static long long last_ms;
    long long now;

    if (notify_fd == -1 || connections == last)
        return;
    now = clock_coarse_ms();
    if (now - last_ms < 1000)
        return;
    last = connections;
    last_ms = now;
    notify_send("STATUS=serving, %zu connections open", connections);
}

/* $NOTIFY_SOCKET as plugsrv found it, for the process an upgrade starts
 * (upgrade.c); NULL when there was none. */
const char *
notify_socket(void)
{
    return notify_fd == -1 ? NULL : notify_path;
}

/*
 * An upgrade's new process is ready: it is the service's main process
 * from now on (MAINPID=). This one says nothing more: its STOPPING=1 would
 * read as the service stopping.
 */
void
notify_handover(pid_t pid)
{
    notify_send("MAINPID=%ld\nREADY=1\nSTATUS=upgraded, serving in pid %ld",
                (long)pid, (long)pid);
    if (notify_fd != -1)
        close(notify_fd);
    notify_fd = -1;
}
