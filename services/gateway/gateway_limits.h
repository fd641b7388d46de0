/* gateway_limits: what anonymous clients may hold of the gateway.
   - Per client address, at most SSO_MAX_CONNECTIONS_PER_IP connections at once.
   - Per connection, SSO_REQUEST_READ_TIMEOUT_MS to deliver a complete request (request line,
     headers and body), counted from accept or from the previous answer. An absolute deadline,
     not an idle timeout: a client that trickles a byte every few seconds is never idle.
   - Across all connections, at most SSO_MAX_BODY_BYTES_IN_FLIGHT bytes of request bodies
     held, from the first byte until the request completes.
   Knows sockets only by their fd; thread-safe (MHD's own threads with TLS, the broker's
   thread for the sweep). */
#ifndef GATEWAY_LIMITS_H
#define GATEWAY_LIMITS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gateway_limits_t gateway_limits_t;
/* One accepted connection. */
typedef struct gateway_peer_t gateway_peer_t;

/* Where a connection was when its deadline passed. */
typedef enum {
    GATEWAY_CUT_IDLE,       /* kept alive after an answer, no byte of a next request seen */
    GATEWAY_CUT_HEADERS,    /* reading a request line or headers */
    GATEWAY_CUT_BODY,       /* headers in, the body incomplete */
} gateway_cut_phase_t;

/* Closes fd's connection (the sweep holds the lock, so fd is still open). */
typedef void(gateway_cut_fn)(void *arg, int fd, gateway_cut_phase_t phase);

/* max_body_bytes (one request's largest body) is the least share of the budget one address
   may hold; its share is an eighth of max_body_bytes_in_flight when that is more. */
gateway_limits_t *gateway_limits_new(int max_per_address, int read_timeout_ms,
                                     size_t max_body_bytes_in_flight, size_t max_body_bytes);
void gateway_limits_destroy(gateway_limits_t **self_p);

/* Whether address may open one more connection: 0, or -1 when it holds its limit. */
int gateway_limits_admit(gateway_limits_t *self, const char *address);
/* A connection from address was accepted at now_ms: counted, and its deadline runs. NULL when
   out of memory (the connection is then not limited). */
gateway_peer_t *gateway_limits_open(gateway_limits_t *self, const char *address, int fd,
                                    int64_t now_ms);
/* The connection is closing (its fd still open): uncounted, forgotten. Nulls *peer_p. */
void gateway_limits_close(gateway_limits_t *self, gateway_peer_t **peer_p);
/* The calls below take a NULL peer (an untracked connection) and do nothing with it. */
/* A request line was seen. */
void gateway_limits_started(gateway_limits_t *self, gateway_peer_t *peer);
/* The request's headers are in. */
void gateway_limits_headers(gateway_limits_t *self, gateway_peer_t *peer);
/* The request is complete (or answered early): its deadline stops. */
void gateway_limits_received(gateway_limits_t *self, gateway_peer_t *peer);
/* Its answer is out; the next request's deadline runs from now_ms. */
void gateway_limits_next(gateway_limits_t *self, gateway_peer_t *peer, int64_t now_ms);
/* Whether peer's deadline passed with its request still incomplete. */
bool gateway_limits_late(gateway_limits_t *self, gateway_peer_t *peer, int64_t now_ms);
/* Cuts every connection past its deadline. Returns how many; *wait_ms gets the milliseconds
   until the next deadline, or -1 when no request is being read. */
size_t gateway_limits_sweep(gateway_limits_t *self, int64_t now_ms, gateway_cut_fn *cut,
                            void *arg, long *wait_ms);

/* The key of peer's address (lent; NULL for a NULL peer), for the budget calls below. */
const char *gateway_limits_peer_address(const gateway_peer_t *peer);
/* Takes bytes from the body budget for a request from address (NULL: counted in the total
   only): 0, or -1 (nothing taken) when that would pass the cap or the address's share. */
int gateway_limits_reserve(gateway_limits_t *self, const char *address, size_t bytes);
void gateway_limits_release(gateway_limits_t *self, const char *address, size_t bytes);

void gateway_limits_test(bool verbose);
#endif
