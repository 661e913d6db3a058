/* nofile_probe.c - a test handler whose init() writes its process's soft
 * RLIMIT_NOFILE into the file named by option "file", then echoes: the
 * check of a config must run under the rlimits connections run under. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "handler.h"

static const plugsrv_host *host;

static int
nofile_probe_init(const plugsrv_options *opts, void **ms, char *err,
                  size_t errlen)
{
    const char *path = NULL;
    struct rlimit rl;
    char buf[64];
    int fd, n;

    (void)ms;
    if (host->opt_string(opts, "file", NULL, &path) != PLUGSRV_OK ||
        path == NULL || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, errlen, "option \"file\" (a string) is needed");
        return PLUGSRV_ERROR;
    }
    n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)rl.rlim_cur);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)n) != n) {
        snprintf(err, errlen, "cannot write %s", path);
        if (fd >= 0)
            close(fd);
        return PLUGSRV_ERROR;
    }
    close(fd);
    return PLUGSRV_OK;
}

static int
nofile_probe_data(plugsrv_conn *conn, void *cs, const char *buf, size_t len)
{
    (void)cs;
    return host->write(conn, buf, len);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    host = h;
    handler.name = "nofile_probe";
    handler.init = nofile_probe_init;
    handler.data = nofile_probe_data;
    return &handler;
}
