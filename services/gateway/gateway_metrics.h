/* gateway_metrics: request counters by route and status, a latency histogram, and the
   broker's live instances, rendered in the Prometheus text format. Thread-safe. */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H
#include "sso_broker.h"
#include <stdbool.h>

typedef struct gateway_metrics_t gateway_metrics_t;

gateway_metrics_t *gateway_metrics_new(void);
void gateway_metrics_destroy(gateway_metrics_t **self_p);
/* label must be one of a bounded set (route labels), so series stay bounded. */
void gateway_metrics_observe(gateway_metrics_t *self, const char *label, unsigned status,
                             double seconds);
/* Returns the exposition text; caller frees. broker may be NULL. */
char *gateway_metrics_render(gateway_metrics_t *self, sso_broker_t *broker);

void gateway_metrics_test(bool verbose);
#endif
