/* sso_broker: the MDP/0.2 broker, embedded in the gateway and run on its own thread, which
   can also serve one more event source (the gateway's HTTP server, see sso_broker_attach).
   Workers register per service; external clients (services calling each other) and the
   gateway's own requests are queued per service and handed to ready instances. Every request
   has a deadline (504 when it passes) and a worker that dies mid-request costs a 503, unless
   the request is idempotent, in which case it goes to another instance. The bus is private:
   see sso_broker_new. */
#ifndef SSO_BROKER_H
#define SSO_BROKER_H
#include "sso_bus.h"
#include "sso_worker.h"

typedef struct sso_broker_t sso_broker_t;

/* Called exactly once per submitted request, on the broker's thread. bus_status is 0 with a
   payload (the callee takes it), or 503/504 with payload NULL. */
typedef void(sso_broker_reply_fn)(void *arg, uint32_t bus_status, zframe_t *payload);

/* A second event source served by the broker's own thread (the gateway's HTTP server), so
   that what it submits goes straight to the broker and the answers come straight back, with
   no hand-off between threads. Called when its fd is readable, when the time it last asked
   for has come, and after the broker answered a request (the reply callbacks have run).
   Returns the milliseconds until it must run again, or -1 for "only when the fd is readable".
   While the broker stops (stopping true) it is called until it returns -1, for at most a
   second, so the last answers (503) can be delivered. */
typedef long(sso_broker_hook_fn)(void *arg, bool stopping);

/* Binds endpoint; NULL when the bind fails. keys (kept, not owned) make the bus private: the
   router is a CURVE server that admits only the keys of keys' roles (ZAP, RFC 27), a worker
   may say READY only for the service named like its key's role, and every request reaches
   its worker with Meta.caller set to the caller's role ("gateway" for sso_broker_submit).
   Without keys only an inproc:// endpoint is bound (tests), and callers are "". */
sso_broker_t *sso_broker_new(const char *endpoint, const sso_bus_keys_t *keys);
/* Stops the thread; every request still pending is answered 503 first, and the hook (if
   any) is given the chance to deliver those answers. */
void sso_broker_destroy(sso_broker_t **self_p);
/* Before sso_broker_start; one hook per broker. 0, or -1. */
int sso_broker_attach(sso_broker_t *self, int fd, sso_broker_hook_fn *fn, void *arg);
int sso_broker_start(sso_broker_t *self);

/* Thread-safe. Queues a request from inside the process. Returns 0, or -1 when the broker
   is stopping (the callback is then not called). Called on the broker's thread (from its
   hook), the request is handled at once, and the callback may run before this returns. */
int sso_broker_submit(sso_broker_t *self, const char *service, Sso__Meta *meta,
                      zframe_t **payload_p, sso_broker_reply_fn *reply_fn, void *arg);

/* Thread-safe. Live instances of service. */
int sso_broker_instances(sso_broker_t *self, const char *service);
/* Thread-safe. Calls fn for every service the broker has seen. */
typedef void(sso_broker_stat_fn)(void *arg, const char *service, int instances, int queued);
void sso_broker_stats(sso_broker_t *self, sso_broker_stat_fn *fn, void *arg);

/* Requests the broker routed, by (service, caller, rpc): each time one is sent to an instance,
   so an idempotent request re-sent after its instance died counts again; one answered 503 or
   504 without reaching an instance does not. caller is the caller's role ("gateway" for
   sso_broker_submit; "" on a bus without keys), rpc is Meta.rpc, "http" for an HTTP request.
   Labels stay bounded whatever callers send: an rpc that is not a counter name
   (sso_http_counter_name_ok), or past SSO_BROKER_RPCS_PER_CALLER of one (service, caller),
   is "other", and past SSO_BROKER_REQUEST_SERIES series every label is "other". */
#define SSO_BROKER_REQUEST_SERIES 128
#define SSO_BROKER_RPCS_PER_CALLER 32
typedef void(sso_broker_request_fn)(void *arg, const char *service, const char *caller,
                                    const char *rpc, uint64_t count);
/* Thread-safe. Calls fn for every series, in the order first seen. */
void sso_broker_requests(sso_broker_t *self, sso_broker_request_fn *fn, void *arg);

/* Called, on the broker's thread, with what a worker counted (Meta.counters of its replies,
   see sso_worker_count): the worker's service, a well-formed name, the increment. At most
   SSO_WORKER_COUNTERS_MAX per reply; a reply with more gives none. Set before
   sso_broker_start; without one the counts are dropped. */
typedef void(sso_broker_counter_fn)(void *arg, const char *service, const char *name,
                                    uint64_t increment);
int sso_broker_on_counters(sso_broker_t *self, sso_broker_counter_fn *fn, void *arg);

void sso_broker_test(bool verbose);
#endif
