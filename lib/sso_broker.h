/* sso_broker: the MDP/0.2 broker, embedded in the gateway and run on its own thread.
   Workers register per service; external clients (services calling each other) and the
   gateway's own requests are queued per service and handed to ready instances. Every request
   has a deadline (504 when it passes) and a worker that dies mid-request costs a 503, unless
   the request is idempotent, in which case it goes to another instance. */
#ifndef SSO_BROKER_H
#define SSO_BROKER_H
#include "sso_bus.h"

typedef struct sso_broker_t sso_broker_t;

/* Called exactly once per submitted request, on the broker's thread. bus_status is 0 with a
   payload (the callee takes it), or 503/504 with payload NULL. */
typedef void(sso_broker_reply_fn)(void *arg, uint32_t bus_status, zframe_t *payload);

/* Binds endpoint; NULL when the bind fails. */
sso_broker_t *sso_broker_new(const char *endpoint);
/* Stops the thread; every request still pending is answered 503 first. */
void sso_broker_destroy(sso_broker_t **self_p);
int sso_broker_start(sso_broker_t *self);

/* Thread-safe. Queues a request from inside the process. Returns 0, or -1 when the broker
   is stopping (the callback is then not called). */
int sso_broker_submit(sso_broker_t *self, const char *service, Sso__Meta *meta,
                      zframe_t **payload_p, sso_broker_reply_fn *reply_fn, void *arg);

/* Thread-safe. Live instances of service. */
int sso_broker_instances(sso_broker_t *self, const char *service);
/* Thread-safe. Calls fn for every service the broker has seen. */
typedef void(sso_broker_stat_fn)(void *arg, const char *service, int instances, int queued);
void sso_broker_stats(sso_broker_t *self, sso_broker_stat_fn *fn, void *arg);

void sso_broker_test(bool verbose);
#endif
