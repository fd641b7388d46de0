/* sso_client: the MDP/0.2 client side, for a service that calls another through the broker.
   Each call has a request id and a deadline. A call waits for its answer; from inside a fiber
   (async mode, below) it waits by yielding, so other requests run meanwhile.
   With several brokers (several gateways) the client connects to each and sends every call
   through one: the first listed at start, then the one it used last while that one is up. It
   watches each connection; when one goes down, the calls waiting on it go through another
   when that is safe (idempotent calls, or calls that never left), and the others are answered
   SSO_CALL_TIMEOUT at once (the broker took their outcome with it). An idempotent call that a
   broker leaves without any answer, or answers "no instance" (503), is tried once at another
   broker. */
#ifndef SSO_CLIENT_H
#define SSO_CLIENT_H
#include "sso_bus.h"
#include "sso_worker.h"

typedef struct sso_client_t sso_client_t;

typedef enum {
    SSO_CALL_OK = 0,
    SSO_CALL_NO_SERVICE = 503,  /* no live instance of the service */
    SSO_CALL_TIMEOUT = 504,     /* deadline passed */
    SSO_CALL_BAD = 400,         /* the broker refused the request as malformed */
} sso_call_status_t;

/* keys (kept, not owned; NULL only for an inproc broker) and role: the client connects with
   role's keys, and the services it calls see role as Meta.caller. heartbeat_for: the worker
   this client's owner also runs, kept alive while a call waits; may be NULL. */
sso_client_t *sso_client_new(const char *endpoint, const sso_bus_keys_t *keys, const char *role,
                             sso_worker_t *heartbeat_for);
/* The same for several brokers (1 to SSO_BROKERS_MAX); NULL for none or too many. */
sso_client_t *sso_client_new_brokers(const char *const *endpoints, size_t n,
                                     const sso_bus_keys_t *keys, const char *role,
                                     sso_worker_t *heartbeat_for);
void sso_client_destroy(sso_client_t **self_p);

/* Calls rpc on service with payload (taken). On SSO_CALL_OK, *reply_p is the reply payload
   frame, owned by the caller. idempotent lets the broker re-send the request to another
   instance if the first one dies. */
sso_call_status_t sso_client_call(sso_client_t *self, const char *service, const char *rpc,
                                  bool idempotent, int timeout_ms, zframe_t **payload_p,
                                  zframe_t **reply_p);

/* Async mode, for a loop that runs requests in fibers (sso_service): a call made from inside
   a fiber sends its request and yields; sso_client_dispatch, run by the loop when the fd is
   readable or the earliest deadline it returned has passed, resumes each fiber with its
   answer. Calls from outside a fiber stay synchronous. */
void sso_client_set_async(sso_client_t *self, bool async);
/* The first broker's socket's ZMQ_FD: for a client of one broker. */
int sso_client_fd(const sso_client_t *self);
/* The fds a loop waits on for the client (up to max into items, POLLIN): each broker's
   socket and, with several brokers, its connection events. */
size_t sso_client_poll_items(const sso_client_t *self, struct pollfd *items, size_t max);
/* The broker (its index in the list) calls go through now; for tests and logs. */
size_t sso_client_broker(const sso_client_t *self);
/* Reads every answer there is and every broker's connection events, resumes the fibers they
   are for and those whose deadline passed (or sends their calls through another broker, see
   above); returns the earliest deadline still waited on (INT64_MAX when none). */
int64_t sso_client_dispatch(sso_client_t *self);
/* An answer is waiting to be dispatched (a send on the socket may have taken the fd's
   signal for it). */
bool sso_client_readable(const sso_client_t *self);
/* Calls waiting in fibers. */
size_t sso_client_pending(const sso_client_t *self);

void sso_client_test(bool verbose);

#endif
