/* dir_dash_lockout: the developer dashboard's sign-in lockout, one rule for every email
   whether an account has it or not, so that its answers do not tell which emails have
   accounts. After DIR_DASH_LOCK_AFTER failures in a row an email is locked for
   DIR_DASH_LOCK_BASE seconds, doubling with each failure after, up to DIR_DASH_LOCK_MAX; a
   locked email's tries are refused unchecked and not counted. A success clears the count.
   The state is a table (dashboard_signin_failures), so that it lasts exactly as long as the
   accounts do (a restart forgets neither), keyed by the SHA-256 of the lower-cased email
   (the table holds no address strangers type). Bounded, the same way for accounts and the
   rest: a row idle (unlocked, no failure) for DIR_DASH_LOCKOUT_FORGET is forgotten, and at
   DIR_DASH_LOCKOUT_ROWS rows a new one evicts an unlocked row with the fewest failures, the
   oldest first, or, when all are locked, the one whose lock ends first: a flood of new
   emails ends a live lock only by holding as many other locks (five hashed tries each). */
#ifndef DIR_DASH_LOCKOUT_H
#define DIR_DASH_LOCKOUT_H
#include "dir.h"

#define DIR_DASH_LOCK_AFTER 5
#define DIR_DASH_LOCK_BASE 60
#define DIR_DASH_LOCK_MAX 3600
#define DIR_DASH_LOCKOUT_ROWS 10000
#define DIR_DASH_LOCKOUT_FORGET (24 * 3600)

/* Seconds a lock started by the failures-th failure in a row lasts (0: none). */
int64_t dir_dash_lockout_seconds(int64_t failures);
/* The seconds email (lower-cased, as accounts keep it) must wait before a try is checked:
   0 when it may try now, -1 on a database error. */
int64_t dir_dash_lockout_wait(dir_t *dir, const char *email);
/* Counts a failed sign-in of email; *locked_for is the lock this failure started (0: none).
   0, or -1 on a database error. */
int dir_dash_lockout_failure(dir_t *dir, const char *email, int64_t *locked_for);
/* Forgets email's failures (a success, a new password). 0, or -1. */
int dir_dash_lockout_clear(dir_t *dir, const char *email);

void dir_dash_lockout_test(bool verbose);
#endif
