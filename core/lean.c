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
 *   (connproc.c), what the parent writes per connection kept out of
 *   children: the log buffer and its counts (MADV_WIPEONFORK in logbuf.c),
 *   the child table and its counts (children.c), the poll set and each
 *   listener's counts (lean_parent_alloc(), below, from parent.c), and a
 *   listener's escaped name written once (parent.c). Round 3 took the
 *   parent from 7 faults per connection to 4, the bare server's count:
 *   what is left is its stack, and the thread data errno and rseq live in.
 */
#include <sys/mman.h>
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

/*
 * Memory the parent writes after every fork and no child reads: mapped
 * MADV_DONTFORK, so a fork does not share it and the parent's next write
 * is not a copy-on-write fault. Each such fault costs the parent a TLB
 * flush on every CPU it has run on; a page of its poll set's revents was
 * one per connection. The size is kept in front, for lean_parent_free().
 */
#define LEAN_HEAD 16

void *
lean_parent_alloc(size_t size)
{
    size_t len = size + LEAN_HEAD;
    char *p;

    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (madvise(p, len, MADV_DONTFORK) == -1) {
        munmap(p, len);
        return NULL;
    }
    memcpy(p, &len, sizeof(len));
    return p + LEAN_HEAD;
}

void
lean_parent_free(void *mem)
{
    char *p = mem;
    size_t len;

    if (p == NULL)
        return;
    p -= LEAN_HEAD;
    memcpy(&len, p, sizeof(len));
    munmap(p, len);
}
