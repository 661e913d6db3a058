/*
 * proctitle.c - what a connection's process shows in ps: "plugsrv: echo
 * 127.0.0.1:50112", as nginx and sshd do. The command line ps reads is
 * the memory argv points at, so the title is written over it (the
 * original arguments are no longer needed once the config is read), and
 * the kernel's short name (comm) is set too.
 */
#include <string.h>
#include <sys/prctl.h>

#include "plugsrv.h"

static char *title;     /* argv[0], and the arguments after it */
static size_t titlecap; /* bytes from argv[0] to the end of the last arg */

/* In main(), before anything else looks at argv. */
void
proctitle_init(int argc, char **argv)
{
    int i;

    if (argc < 1 || argv[0] == NULL)
        return;
    title = argv[0];
    for (i = 0; i < argc; i++) {
        /* Only what is contiguous: the kernel lays argv out that way. */
        if (argv[i] != title + titlecap && i > 0)
            break;
        titlecap += strlen(argv[i]) + 1;
    }
}

static size_t
proctitle_cat(char *buf, size_t at, size_t cap, const char *s)
{
    return at + lean_copy(buf + at, cap - at, s);
}

/*
 * In a connection's process: "plugsrv: WHAT WHO", cut to what fits. Built
 * by hand, not with printf: the first call to printf's code in a fresh
 * fork costs page faults on the connection's path (bench/README.md).
 */
void
proctitle_set(const char *what, const char *who)
{
    char buf[160];
    size_t i, n;

    n = proctitle_cat(buf, 0, sizeof(buf), "plugsrv: ");
    n = proctitle_cat(buf, n, sizeof(buf), what);
    n = proctitle_cat(buf, n, sizeof(buf), " ");
    n = proctitle_cat(buf, n, sizeof(buf), who);
    buf[n] = '\0';
    /* comm has 15 bytes: the name matters */
    lean_prctl(PR_SET_NAME, (unsigned long)(buf + 9));
    if (title == NULL || titlecap < 2)
        return;
    if (n > titlecap - 1)
        n = titlecap - 1;
    /* ps reads up to the first NUL when the rest is NULs too. A loop, not
     * memcpy() and memset(): their page of libc is one more fault. */
    for (i = 0; i < titlecap; i++)
        title[i] = i < n ? buf[i] : '\0';
}
