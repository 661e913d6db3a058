/* thread_ctor.c - a test handler whose constructor starts a thread (which
 * waits at most 60 s, then ends). A process that forks must stay
 * single-threaded, so plugsrv must refuse it, saying why. */
#include <poll.h>
#include <pthread.h>

#include "handler.h"

static void *
thread_ctor_wait(void *arg)
{
    (void)arg;
    poll(NULL, 0, 60000);
    return NULL;
}

__attribute__((constructor)) static void
thread_ctor_load(void)
{
    pthread_t t;

    if (pthread_create(&t, NULL, thread_ctor_wait, NULL) == 0)
        pthread_detach(t);
}

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *h)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    (void)h;
    handler.name = "thread_ctor";
    return &handler;
}
