/* gateway_metrics: request counters by route and status, a latency histogram, the broker's
   live instances and the requests it routed, and what the services counted, rendered in the
   Prometheus text format. Thread-safe. */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H
#include "sso_broker.h"
#include <stdbool.h>

typedef struct gateway_metrics_t gateway_metrics_t;

/* Why the gateway itself refused or cut a connection (sso_gateway_refused_total). */
typedef enum {
    GATEWAY_REFUSED_PER_IP_LIMIT,       /* SSO_MAX_CONNECTIONS_PER_IP */
    GATEWAY_REFUSED_READ_TIMEOUT,       /* SSO_REQUEST_READ_TIMEOUT_MS */
    GATEWAY_REFUSED_BODY_BYTES_IN_FLIGHT, /* SSO_MAX_BODY_BYTES_IN_FLIGHT */
    GATEWAY_REFUSED_REASONS
} gateway_refused_t;

gateway_metrics_t *gateway_metrics_new(void);
void gateway_metrics_destroy(gateway_metrics_t **self_p);
/* label must be one of a bounded set (route labels), so series stay bounded. */
void gateway_metrics_observe(gateway_metrics_t *self, const char *label, unsigned status,
                             double seconds);
void gateway_metrics_refused(gateway_metrics_t *self, gateway_refused_t reason);
/* Counts one event a service reported in its answer (HttpResponse.counters), rendered as
   sso_service_events_total{service, name}. A malformed name (see sso_http_counter_name_ok),
   or one past GATEWAY_METRICS_MAX_COUNTERS distinct (service, name) pairs, is counted in
   sso_service_events_refused_total instead. */
#define GATEWAY_METRICS_MAX_COUNTERS 64
void gateway_metrics_count(gateway_metrics_t *self, const char *service, const char *name);
/* What a worker counted with its replies (sso_broker_on_counters; arg is the
   gateway_metrics_t): the directory's write_transactions and batched_requests become
   sso_directory_write_transactions_total and sso_directory_batched_requests_total; any other
   name is counted as gateway_metrics_count counts, increment times. */
sso_broker_counter_fn gateway_metrics_reported;
/* Returns the exposition text; caller frees. broker may be NULL. With a broker it lists the
   requests it routed (sso_broker_requests) as sso_bus_requests_total{service,caller,rpc}. */
char *gateway_metrics_render(gateway_metrics_t *self, sso_broker_t *broker);

void gateway_metrics_test(bool verbose);
#endif
