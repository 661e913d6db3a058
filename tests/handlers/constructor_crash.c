/* constructor_crash.c - a test module whose ELF constructor segfaults the
 * moment it is loaded, before plugsrv can call anything in it. Starting
 * with it must fail cleanly (a message, exit 1), never crash plugsrv. */
#include <sys/mman.h>

#include "handler.h"

__attribute__((constructor)) static void
constructor_crash(void)
{
    volatile char *p;

    p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        p[0] = 1;
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.name = "constructor_crash";
    return &handler;
}
