/* sso_backoff: the delay before trying a lost peer again, for the bus's reconnects: from a
   floor, doubling to a ceiling, each delay stretched by a random fifth at most so that the
   instances that lost the same broker at once do not all come back in step. */
#ifndef SSO_BACKOFF_H
#define SSO_BACKOFF_H
#include <stdbool.h>

typedef struct {
    int min_ms, max_ms;
    int step_ms; /* the next delay before its jitter */
} sso_backoff_t;

/* A backoff at its floor; min_ms at least 1, max_ms at least min_ms (clamped). */
void sso_backoff_init(sso_backoff_t *self, int min_ms, int max_ms);
/* The delay to wait now (step .. step + step/5), and doubles the step up to the ceiling. */
int sso_backoff_next(sso_backoff_t *self);
/* Back to the floor: the peer answered. */
void sso_backoff_reset(sso_backoff_t *self);

void sso_backoff_test(bool verbose);
#endif
