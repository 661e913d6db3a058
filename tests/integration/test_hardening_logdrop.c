/*
 * test_hardening_logdrop.c - the log drops lines rather than stopping the
 * parent, and says so (issue 8, item 1): with stderr a pipe nobody reads,
 * the parent goes on serving; once the pipe drains, it writes
 * "log-dropped lines=N" (N > 0), and every line in the pipe is whole.
 * (SIGTERM with the pipe full: test_hardening_log.c.)
 */
/* The same program as test_hardening_log.c, running its other test: each
 * needs thousands of connections, and alone fits in ctest's time. */
#define HARDENING_LOGDROP 1
#include "test_hardening_log.c"
