/* sso_worker: the MDP/0.2 worker side. Connects (never binds) to each broker it serves (one
   DEALER per broker, the same keys), says READY to each, heartbeats each, and reconnects to
   one that goes away with backoff (sso_backoff) while it serves the others. */
#ifndef SSO_WORKER_H
#define SSO_WORKER_H
#include "sso_bus.h"

typedef struct sso_worker_t sso_worker_t;

/* One request handed to the service: the broker's return address, the meta and the payload.
   Owned by the worker until the reply is sent or the next recv. */
typedef struct {
    zframe_t *reply_to;
    Sso__Meta *meta;
    zframe_t *payload;
    int broker;      /* which of the worker's brokers it came through: the reply goes back there */
    int connection;  /* that broker's connection count when it came: a reply after a reconnect
                        is dropped */
} sso_job_t;

/* credit: how many requests the broker may hand this worker before it answers the first;
   above 1, round trips overlap, and a service that runs requests in fibers (sso_service)
   works on that many at once. keys (kept, not owned; NULL only for an inproc broker): the
   worker connects with the keys of the role named like its service, the only role whose
   READY for that service the broker accepts. */
sso_worker_t *sso_worker_new(const char *endpoint, const sso_bus_keys_t *keys,
                             const char *service, int credit);
/* The same for several brokers (1 to SSO_BROKERS_MAX; several gateways): the worker
   registers with every one and serves requests from all, each broker granted credit. NULL for
   no endpoint or too many. */
sso_worker_t *sso_worker_new_brokers(const char *const *endpoints, size_t n,
                                     const sso_bus_keys_t *keys, const char *service, int credit);
void sso_worker_destroy(sso_worker_t **self_p);

/* Waits for the next request. Returns 0 with job filled, or -1 when interrupted (SIGINT or
   SIGTERM: time to exit). A body that fails to unpack is dropped and logged here. */
int sso_worker_recv(sso_worker_t *self, sso_job_t *job);
/* One look without waiting, for a loop that waits on several sockets: 1 with job filled, 0
   when nothing is there now, -1 when the context is gone. Heartbeats and reconnects as
   sso_worker_recv does; after a reconnect the fd is another one. */
int sso_worker_try_recv(sso_worker_t *self, sso_job_t *job);
/* The first broker's socket's ZMQ_FD (see sso_bus_wait): for a worker of one broker. */
int sso_worker_fd(const sso_worker_t *self);
/* The fds to wait on (up to max into items, POLLIN): those of the brokers connected now; a
   broker waiting out its backoff has none. Valid until the next try_recv. */
size_t sso_worker_poll_items(const sso_worker_t *self, struct pollfd *items, size_t max);
/* When the worker next needs a look even if nothing arrives (a heartbeat, a broker's expiry,
   a reconnect), in sso_now_ms time. */
int64_t sso_worker_wake_at(const sso_worker_t *self);
/* When the next heartbeat is due (INT64_MAX when no broker is connected): all a loop that is
   not reading the sockets must wake for. */
int64_t sso_worker_heartbeat_at(const sso_worker_t *self);
/* How many brokers the worker serves, and whether one is connected (false while it waits out
   its backoff after going silent). */
size_t sso_worker_brokers(const sso_worker_t *self);
bool sso_worker_broker_live(const sso_worker_t *self, size_t broker);
/* Sends the final reply for job (takes the payload frame) and frees the job. A job that came
   before the worker reconnected is freed without a reply: the broker it came through has
   forgotten it (or answered it), and would count the reply against the new connection. */
int sso_worker_reply(sso_worker_t *self, sso_job_t *job, zframe_t **payload_p);
/* Counts increment under name (see sso_http_counter_name_ok) for the gateway's /metrics: work
   that no single request owns, such as the directory's commits. The counts ride on the next
   reply this worker sends (Meta.counters); a reply that is not sent leaves them for the next.
   Up to SSO_WORKER_COUNTERS_MAX names; -1 (nothing counted) for a bad name or one past them. */
#define SSO_WORKER_COUNTERS_MAX 8
int sso_worker_count(sso_worker_t *self, const char *name, uint64_t increment);
/* Frees a job without replying (the broker will time the request out). */
void sso_job_release(sso_job_t *job);
/* Sends a heartbeat to each broker whose is due: lets a worker that waits on another service while
   handling a request stay alive at the broker. */
void sso_worker_heartbeat_if_due(sso_worker_t *self);
/* How many times this worker has (re)connected, to all its brokers; for tests and logs. */
int sso_worker_connects(sso_worker_t *self);

/* For self-tests that play the broker: the next message a worker sent to router, without
   waiting: its sender's identity in *identity_p (replaced), its command as the result, the
   last frame's text in text (when not NULL: a READY's service, a reply's payload). -1 when
   none is there. */
int sso_worker_test_read(zsock_t *router, zframe_t **identity_p, char *text, size_t size);

void sso_worker_test(bool verbose);

#endif
