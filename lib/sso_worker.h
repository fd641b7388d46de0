/* sso_worker: the MDP/0.2 worker side. Connects (never binds) to the broker, says READY,
   heartbeats, and reconnects with backoff when the broker goes away. */
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
    int connection;  /* sso_worker_connects when it came: a reply after a reconnect is dropped */
} sso_job_t;

/* credit: how many requests the broker may hand this worker before it answers the first;
   above 1, round trips overlap, and a service that runs requests in fibers (sso_service)
   works on that many at once. keys (kept, not owned; NULL only for an inproc broker): the
   worker connects with the keys of the role named like its service, the only role whose
   READY for that service the broker accepts. */
sso_worker_t *sso_worker_new(const char *endpoint, const sso_bus_keys_t *keys,
                             const char *service, int credit);
void sso_worker_destroy(sso_worker_t **self_p);

/* Waits for the next request. Returns 0 with job filled, or -1 when interrupted (SIGINT or
   SIGTERM: time to exit). A body that fails to unpack is dropped and logged here. */
int sso_worker_recv(sso_worker_t *self, sso_job_t *job);
/* One look without waiting, for a loop that waits on several sockets: 1 with job filled, 0
   when nothing is there now, -1 when the context is gone. Heartbeats and reconnects as
   sso_worker_recv does; after a reconnect the fd is another one. */
int sso_worker_try_recv(sso_worker_t *self, sso_job_t *job);
/* The socket's ZMQ_FD (see sso_bus_wait), and when the worker next needs a look even if
   nothing arrives (heartbeat, broker expiry), in sso_now_ms time. */
int sso_worker_fd(const sso_worker_t *self);
int64_t sso_worker_wake_at(const sso_worker_t *self);
/* When the next heartbeat is due: all a loop that is not reading the socket must wake for. */
int64_t sso_worker_heartbeat_at(const sso_worker_t *self);
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
/* Sends a heartbeat now if one is due: lets a worker that waits on another service while
   handling a request stay alive at the broker. */
void sso_worker_heartbeat_if_due(sso_worker_t *self);
/* How many times this worker has (re)connected; for tests and logs. */
int sso_worker_connects(sso_worker_t *self);

void sso_worker_test(bool verbose);

#endif
