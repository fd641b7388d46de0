#include "sso_backoff.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <limits.h>
#include <stdint.h>

void sso_backoff_init(sso_backoff_t *self, int min_ms, int max_ms)
{
    self->min_ms = min_ms < 1 ? 1 : min_ms;
    self->max_ms = max_ms < self->min_ms ? self->min_ms : max_ms;
    self->step_ms = self->min_ms;
}

void sso_backoff_reset(sso_backoff_t *self) { self->step_ms = self->min_ms; }

int sso_backoff_next(sso_backoff_t *self)
{
    int step = self->step_ms;
    uint16_t random = 0;
    /* Without randomness (it cannot fail on Linux) the delay is the bare step: still a
       backoff, only in step with the others. */
    long jitter = sso_random_bytes((uint8_t *) &random, sizeof random) == 0
                      ? (long) random * (step / 5) / 65535 : 0;
    self->step_ms = step > self->max_ms / 2 ? self->max_ms : step * 2;
    return step + jitter > INT_MAX ? INT_MAX : (int) (step + jitter);
}

void sso_backoff_test(bool verbose)
{
    (void) verbose;
    sso_backoff_t backoff;
    /* 100 ms doubling to 2 s: 100, 200, 400, 800, 1600, then 2000 for good, each within its
       fifth of jitter; a reset starts over. */
    sso_backoff_init(&backoff, 100, 2000);
    const int steps[] = {100, 200, 400, 800, 1600, 2000, 2000, 2000};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
            int delay = sso_backoff_next(&backoff);
            SSO_CHECK(delay >= steps[i] && delay <= steps[i] + steps[i] / 5);
        }
        sso_backoff_reset(&backoff);
    }
    /* The jitter varies: 64 delays at the ceiling are not all the same. */
    sso_backoff_init(&backoff, 5000, 5000);
    int first = sso_backoff_next(&backoff), differ = 0;
    for (int i = 0; i < 64; i++)
        differ += sso_backoff_next(&backoff) != first;
    SSO_CHECK(differ > 0 && first >= 5000 && first <= 6000);
    /* Hostile bounds are clamped: no zero or negative delay, no ceiling below the floor. */
    sso_backoff_init(&backoff, 0, -5);
    SSO_CHECK(backoff.min_ms == 1 && backoff.max_ms == 1 && sso_backoff_next(&backoff) == 1);
    sso_backoff_init(&backoff, 300, 100);
    SSO_CHECK(sso_backoff_next(&backoff) >= 300 && backoff.step_ms == 300);
    /* The step never overflows, whatever the ceiling. */
    sso_backoff_init(&backoff, 1, 2147483647);
    for (int i = 0; i < 40; i++)
        SSO_CHECK(sso_backoff_next(&backoff) > 0);
}
