/* dir_housekeeping: purging expired login state and old login events, run with write
   operations so that no timer of its own is needed. */
#ifndef DIR_HOUSEKEEPING_H
#define DIR_HOUSEKEEPING_H
#include "dir.h"

/* Purges expired login state (transactions an hour past expiry, codes and access tokens a day
   past, replay ids at expiry) and login events past the retention. Runs with write
   operations, at most once a minute unless forced; events one batch at a time (while a
   backlog lasts, one batch with every write). */
void dir_housekeeping_run(dir_t *dir, bool force);

void dir_housekeeping_test(bool verbose);
#endif
