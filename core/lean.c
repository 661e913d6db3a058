/*
 * lean.c - the connection's path, from the parent's fork to the handler's
 * first callback, kept short. Parent and connection's process.
 *
 * A fork copies no page-table entries of file mappings, so every page of
 * code a new process runs is a page fault, and every page of data the
 * parent or the child writes while the other still shares it is a copy.
 * On the VM of bench/README.md each such fault is 2.5-3.5% of a
 * connection's CPU, a system call well under 0.1%: the path avoids pages
 * first. The numbers are in bench/README.md, rounds 2 to 7.
 *
 * - _Fork(), not fork(): no atfork handlers to run (plugsrv registers
 *   none), and none of fork()'s resetting of the dynamic linker's and
 *   stdio's locks in the child, whose writes copied two pages of ld.so's
 *   data. Safe because the parent is single-threaded (modguard.c refuses
 *   a module whose constructors start a thread); a handler that forks
 *   still gets fork() and its handlers.
 * - No printf-family call before the handler runs: snprintf() alone
 *   faulted in five pages of libc (vsnprintf, vfprintf, strchrnul...);
 *   nor strlen(), memcpy() or memset() (lean_copy(), proctitle.c), nor
 *   inet_ntop(), which is sprintf() inside (addr.c, for a prefork spare).
 * - The setup's system calls through syscall() (below): one page of libc
 *   for all of them instead of a page per wrapper; so are the read(),
 *   send() and alarm() every connection makes, and a new process's first
 *   clock reads (lean_clock_gettime()), whose vDSO pages are faults too.
 * - The handlers a connection's process needs (SIGTERM's, the watchdog's
 *   SIGALRM) set once in the parent, where both signals are blocked for
 *   its signalfd: inherited, not installed per connection (connproc.c).
 * - What the connection's process writes of plugsrv's globals kept on one
 *   page (LEAN_DATA), and no restartable-sequences area for the kernel to
 *   write after each fork (lean_parent_rseq_off()).
 * - Elsewhere, for the same reasons: the parent's signals read from a
 *   signalfd (signals.c: one sigprocmask in the child instead of 45
 *   rt_sigactions), stdout dup2()ed from the parent's /dev/null on fd 0
 *   (connproc.c), what the parent writes per connection kept out of
 *   children: the log buffer and its counts (MADV_WIPEONFORK in logbuf.c),
 *   the child table and its counts (children.c), the poll set and each
 *   listener's counts (lean_parent_alloc(), below, from parent.c), and a
 *   listener's escaped name written once (parent.c). Round 3 took the
 *   parent from 7 faults per connection to 4, the bare server's count,
 *   round 4 to 3 (rseq), round 5 to 2 (errno's page, below), round 6 to
 *   1, its stack's one page (lean_stack_page()). Round 4 took a child
 *   from 20 to 12-14 (bare: 21-22), a spare from 25 to 15; round 5 a
 *   child to 11-13, two of them libc's (_Fork's page and syscall()'s), a
 *   spare to 13; round 6 a child to 11 in every run (its stack's start
 *   within a page and the binary's 64 KiB alignment, core/CMakeLists.txt)
 *   and a spare to 11-12.
 * - A page of the process's memory that the kernel reads or writes for a
 *   system call for the first time costs a fresh fork ~10 us on this VM,
 *   a fault's worth: a child's system calls take their arguments from the
 *   stack's one page (lean_setrlimit()), and its reads and sends use one
 *   page of buffer.
 */
#include <alloca.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugsrv.h"

pid_t
lean_fork(void)
{
    return _Fork();
}

/*
 * Runs fn(arg), the parent's whole life (parent.c), with its frame at the
 * top of a page of stack; returns what fn returns. After a fork each page
 * of stack the parent writes is a copy-on-write fault, and so is each one
 * a connection's process writes from its fork on. Where those frames fall
 * within a page is where the kernel put the stack, random to 16 bytes, so
 * they spanned two pages in one run and three in the next: 2-3 faults per
 * connection in the parent, 11-13 in a child. From the top of a page
 * (the ~4 KiB the parent writes per connection fit, just) it is 1 and 11,
 * in every run, built with gcc -O2 (bench/README.md, round 6); clang's
 * frames and gcc's with -O3 or LTO are larger: 2 and 12-13, but the same
 * in every run. The pad above is written at most once, by stack-clash
 * probes, before any fork. fn must not be inlined here (parent.c): its
 * frame would then sit above the pad.
 */
int
lean_stack_page(int (*fn)(void *), void *arg)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char here, *pad;
    int rc;

    /* here's page offset becomes page - 32: a few bytes for this frame's
     * own words; gcc -O2 measured best from -1 to -48 (round 6). */
    pad = alloca(((uintptr_t)&here + 32) & (page - 1));
    __asm__ volatile("" : : "r"(pad) : "memory"); /* pad stays */
    rc = fn(arg);
    __asm__ volatile("" : : "r"(pad) : "memory");
    return rc;
}

/* By hand, not strlen() and memcpy(): their pages of libc are two more
 * faults in a fresh fork. */
size_t
lean_copy(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    while (n + 1 < cap && src[n] != '\0') {
        dst[n] = src[n];
        n++;
    }
    dst[n] = '\0';
    return n;
}

/*
 * The connection's process's setup calls, through syscall(): every libc
 * wrapper is its own page of code to fault in (sigprocmask, prctl,
 * close_range, setrlimit... five such pages on the path), syscall() one.
 * Each returns what the wrapper does: 0, or -1 and errno.
 */
int
lean_unblock_all(void)
{
    /* The kernel's sigset: 64 bits (128 on MIPS), whatever the size of a
     * long; on the stack, which a fork has touched already, not in a page
     * of its own. */
    uint64_t none[(NSIG - 1) / 64] = { 0 };

    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, none, NULL,
                        sizeof(none));
}

int
lean_sigmask2(int how, int a, int b)
{
    uint64_t set[(NSIG - 1) / 64] = { 0 };

    set[0] = (1ULL << (a - 1)) | (1ULL << (b - 1));
    return (int)syscall(SYS_rt_sigprocmask, how, set, NULL, sizeof(set));
}

void (*lean_sig_handler(int sig))(int)
{
    /* The kernel's struct sigaction: the handler first on every
     * architecture; room for the flags, a restorer and the mask after. */
    struct {
        void (*handler)(int);
        unsigned long rest[4];
    } k;

    if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(uint64_t)) != 0)
        return NULL;
    return k.handler;
}

int
lean_prctl(int option, unsigned long arg)
{
    return (int)syscall(SYS_prctl, option, arg, 0UL, 0UL, 0UL);
}

int
lean_setpgid(void)
{
    return (int)syscall(SYS_setpgid, 0, 0);
}

int
lean_close_range(unsigned lo, unsigned hi)
{
    return (int)syscall(SYS_close_range, lo, hi, 0U);
}

int
lean_dup2(int fd, int to)
{
    return fd == to ? to : (int)syscall(SYS_dup3, fd, to, 0);
}

int
lean_setrlimit(int resource, const struct rlimit *rl)
{
    /* prlimit64 takes 64-bit limits: a 32-bit build's struct rlimit may
     * not be that. */
    struct rlimit copy;

    if (sizeof(rl->rlim_cur) != sizeof(uint64_t))
        return setrlimit(resource, rl);
    /* Handed to the kernel from the stack, whose page the kernel has
     * already touched in this process (the signal mask): a page of data
     * the kernel reads for the first time costs a fresh fork ~10 us here
     * (bench/README.md, round 6). */
    copy = *rl;
    return (int)syscall(SYS_prlimit64, 0, resource, &copy, NULL);
}

pid_t
lean_getppid(void)
{
    return (pid_t)syscall(SYS_getppid);
}

/*
 * The clock, in a connection's process. clock_gettime() is a page of libc,
 * and the vDSO code and data it reads are pages of their own: faults in a
 * fresh fork, each 2.5-3.5% of a short connection's CPU, where the system
 * call costs ~1.2 us. So a new process's first LEAN_CLOCK_CALLS reads (an
 * echo connection of one request makes 8) are system calls, and a longer
 * connection, which those faults no longer weigh on, moves to the vDSO's
 * reads, which cost no call. The parent reads the vDSO from the start.
 */
#define LEAN_CLOCK_CALLS 16
static LEAN_DATA int lean_clock_calls; /* system calls left to make */

void
lean_clock_forked(void)
{
    lean_clock_calls = LEAN_CLOCK_CALLS;
}

/* Async-signal-safe (the watchdog's handler reads the clock): a read it
 * interrupts may miss its decrement, which costs one call more. */
int
lean_clock_gettime(clockid_t id, struct timespec *ts)
{
    /* The plain system call fills a struct timespec of longs: a 32-bit
     * build with a 64-bit time_t needs libc's translation. */
    if (sizeof(ts->tv_sec) == sizeof(long) && lean_clock_calls > 0) {
        lean_clock_calls--;
        return (int)syscall(SYS_clock_gettime, id, ts);
    }
    return clock_gettime(id, ts);
}

/*
 * What every connection calls, through syscall() too: the read loop and
 * the last close() (session.c), host->write() (host.c), the watchdog's
 * alarm(), and a prefork spare's accept(), report and close()s
 * (prefork.c). libc's read, send and alarm lie 220 KiB apart: three or
 * four windows of the kernel's 64 KiB fault-around, where each window is
 * a fault, and where a window's edge falls in libc is up to ASLR (a child
 * took one fault more or less per instance).
 */
ssize_t
lean_read(int fd, void *buf, size_t len)
{
    return (ssize_t)syscall(SYS_read, fd, buf, len);
}

ssize_t
lean_send(int fd, const void *buf, size_t len, int flags)
{
    return (ssize_t)syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

ssize_t
lean_write(int fd, const void *buf, size_t len)
{
    return (ssize_t)syscall(SYS_write, fd, buf, len);
}

int
lean_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

int
lean_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    return (int)syscall(SYS_accept4, fd, sa, len, 0);
}

unsigned
lean_alarm(unsigned seconds)
{
#ifdef SYS_alarm
    return (unsigned)syscall(SYS_alarm, seconds);
#else
    return alarm(seconds); /* setitimer() inside, where there is no alarm(2) */
#endif
}

/* The credential calls, for priv.c: the 32-bit-id ones where the old
 * 16-bit ones kept the plain names (i386). The process is a fresh fork,
 * single-threaded: glibc's wrappers would add only their broadcast to
 * other threads, and their pages. */
#ifdef SYS_setresuid32
#define LEAN_SYS_ID(name) SYS_##name##32
#else
#define LEAN_SYS_ID(name) SYS_##name
#endif

int
lean_setgroups(gid_t gid)
{
    return (int)syscall(LEAN_SYS_ID(setgroups), 1, &gid);
}

int
lean_setresgid(gid_t gid)
{
    return (int)syscall(LEAN_SYS_ID(setresgid), gid, gid, gid);
}

int
lean_setresuid(uid_t uid)
{
    return (int)syscall(LEAN_SYS_ID(setresuid), uid, uid, uid);
}

int
lean_setuid(uid_t uid)
{
    return (int)syscall(LEAN_SYS_ID(setuid), uid);
}

uid_t
lean_geteuid(void)
{
    return (uid_t)syscall(LEAN_SYS_ID(geteuid));
}

/*
 * The parent's calls that fail on every connection: accept4()'s EAGAIN
 * at the end of a batch, wait4()'s ECHILD once no child is left (in a
 * connection's process too, on its way out: reaper.c), kill()'s
 * ESRCH on a process group already empty, read()'s EAGAIN once the prefork
 * spares' reports are taken. A failing libc call (syscall()
 * too) writes errno, in the thread's TLS page, which the newest child
 * shares: a copy-on-write fault in the parent per connection, as dear as
 * a child's. These return the kernel's -errno and leave errno alone: a
 * bare system call instruction on x86-64 and arm64; elsewhere syscall(),
 * errno put back (correct, but the fault stays).
 */
static long
lean_bare_call(long nr, long a, long b, long c, long d)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    long ret;

    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;

    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
                     : "memory");
    return x0;
#else
    int saved = errno;
    long ret = syscall(nr, a, b, c, d);

    if (ret == -1) {
        ret = -errno;
        errno = saved;
    }
    return ret;
#endif
}

int
lean_parent_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    return (int)lean_bare_call(SYS_accept4, fd, (long)sa, (long)len,
                               SOCK_CLOEXEC);
}

ssize_t
lean_parent_read(int fd, void *buf, size_t n)
{
    return (ssize_t)lean_bare_call(SYS_read, fd, (long)buf, (long)n, 0);
}

pid_t
lean_reap(int *status)
{
    return (pid_t)lean_bare_call(SYS_wait4, -1, (long)status, WNOHANG, 0);
}

void
lean_parent_kill_group(pid_t pgid)
{
    (void)lean_bare_call(SYS_kill, -(long)pgid, SIGKILL, 0, 0);
}

/*
 * glibc registers each thread's restartable-sequences area with the
 * kernel, which writes it whenever the thread is scheduled back in: in
 * the parent, after every fork, while the page it is in (the thread's
 * control block) is shared with the newest child, a copy-on-write fault
 * per connection, and one more in each child. plugsrv uses no restartable
 * sequence, and glibc reads the area only for sched_getcpu(), which falls
 * back to the system call once the kernel has marked it unregistered; the
 * children inherit the state, a thread a handler starts registers its own.
 * The length must be the one registered, which __rseq_size need not be
 * (Debian 12's glibc 2.36 reports 20 and registered 32): both are tried.
 * Best effort: if neither takes, nothing else changes.
 */
void
lean_parent_rseq_off(void)
{
#ifdef RSEQ_SIG
    char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

    if (__rseq_size == 0)
        return;
    if (syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) ==
        0)
        return;
    syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
#endif
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
