/*
 * lean.c - the connection's path, from the parent's fork to the handler's
 * first callback, kept short. Parent and connection's process.
 *
 * A fork copies no page-table entries of file mappings, so every page of
 * code a new process runs is a page fault (about 2-4 us each here, with
 * its teardown at exit), and every page of data the parent or the child
 * writes while the other still shares it is a copy. The path avoids what
 * it can of both; bench/README.md has the numbers ("Round 2").
 *
 * - _Fork(), not fork(): no atfork handlers to run (plugsrv registers
 *   none), and none of fork()'s resetting of the dynamic linker's and
 *   stdio's locks in the child, whose writes copied two pages of ld.so's
 *   data. Safe because the parent is single-threaded (modguard.c refuses
 *   a module whose constructors start a thread); a handler that forks
 *   still gets fork() and its handlers.
 * - No printf-family call before the handler runs: snprintf() alone
 *   faulted in five pages of libc (vsnprintf, vfprintf, strchrnul...).
 * - Elsewhere, for the same reasons: the parent's signals read from a
 *   signalfd (signals.c: one sigprocmask in the child instead of 45
 *   rt_sigactions), stdout dup2()ed from the parent's /dev/null on fd 0
 *   (connproc.c), the log buffer and the child table kept out of children
 *   (MADV_WIPEONFORK in logbuf.c, MADV_DONTFORK in children.c).
 */
#include <string.h>
#include <unistd.h>

#include "plugsrv.h"

pid_t
lean_fork(void)
{
    return _Fork();
}

void
lean_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
