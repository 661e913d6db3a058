/*
 * harness_int.h - what the harness files share and the tests do not see:
 * the deadline helper, the file reader, and the clean-up of orphans.
 */
#ifndef HARNESS_INT_H
#define HARNESS_INT_H

#include "harness.h"

/* Milliseconds left until deadline (hs_now_ms() based), 0 when past. */
int hs_left(long long deadline);
/* The whole file, NUL-terminated (malloc'd), or NULL. */
char *hs_slurp(const char *path);
/* Ends and reaps every process that was left to us, but the daemon. */
void hs_end_orphans(struct hs *h);

#endif /* HARNESS_INT_H */
