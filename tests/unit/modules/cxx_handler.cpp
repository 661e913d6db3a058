// cxx_handler.cpp - a handler written in C++ (an echo), built as a .so with
// -Wpedantic: proves that include/handler.h compiles as C++ without
// designated initializers and that the entry point keeps its C name.
#include "handler.h"

namespace {

const plugsrv_host *cxx_host;

int cxx_data(plugsrv_conn *conn, void *, const char *buf, size_t len)
{
    return cxx_host->write(conn, buf, len) == PLUGSRV_OK ? PLUGSRV_OK
                                                         : PLUGSRV_ERROR;
}

} // namespace

PLUGSRV_EXPORT const plugsrv_handler *
plugsrv_handler_v1(const plugsrv_host *host)
{
    static plugsrv_handler handler = PLUGSRV_HANDLER_INIT;

    cxx_host = host;
    handler.name = "cxx";
    handler.mode = PLUGSRV_MODE_STREAM;
    handler.data = cxx_data;
    return &handler;
}
