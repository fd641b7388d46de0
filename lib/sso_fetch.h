/* sso_fetch: outbound HTTP(S) for metadata, discovery and JWKS (libcurl), under the rules of
   DESIGN.md section 6: TLS verified, a timeout, a size cap, https only (plain http only to a
   loopback host when allowed, for tests; redirects to https only, so no downgrade), and no
   loopback, link-local, private or otherwise special addresses unless allowed
   (SSO_ALLOW_PRIVATE_UPSTREAMS=1). The address check runs on the address actually connected
   to (after DNS, for every redirect hop), so DNS rebinding cannot slip past it. */
#ifndef SSO_FETCH_H
#define SSO_FETCH_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define SSO_FETCH_TIMEOUT_MS 5000
#define SSO_FETCH_MAX_BYTES (1024 * 1024)
#define SSO_FETCH_MAX_REDIRECTS 3

typedef struct {
    const char *url;
    const char *method;         /* "GET" (default) or "POST" */
    const char *body;           /* POST body, may be NULL */
    size_t body_len;
    const char *content_type;   /* of body */
    const char *accept;         /* Accept header, optional */
    const char *authorization;  /* Authorization header value, optional */
    const char *const *headers; /* more "Name: value" lines, NULL-terminated; optional */
    bool allow_private;         /* permit loopback/private/link-local peers */
    long timeout_ms;            /* 0: SSO_FETCH_TIMEOUT_MS */
    size_t max_bytes;           /* 0: SSO_FETCH_MAX_BYTES */
} sso_fetch_request_t;

typedef struct {
    long status;         /* HTTP status */
    char *body;          /* NUL-terminated (the body itself may contain NULs) */
    size_t len;
    char *content_type;  /* may be NULL */
    char *cache_control; /* the final answer's Cache-Control (several joined by ", "); may be NULL */
} sso_fetch_response_t;

/* The scheme rule every fetch obeys: 0 for an absolute https URL, or an http one whose host
   is loopback (localhost, 127.0.0.0/8, [::1]) when allow_private (then *plain_http is set);
   else -1 with the reason in why. */
int sso_fetch_url_check(const char *url, bool allow_private, bool *plain_http, char *why,
                        size_t why_size);

/* Performs the request. 0 with response filled (any HTTP status), or -1 with a reason in why
   (safe to show: it never includes URL credentials). Free the response with
   sso_fetch_response_free either way. */
int sso_fetch(const sso_fetch_request_t *request, sso_fetch_response_t *response, char *why,
              size_t why_size);
void sso_fetch_response_free(sso_fetch_response_t *response);

/* True when a peer address may be connected to: always with allow_private, otherwise only
   for global unicast addresses. */
bool sso_fetch_address_allowed(const struct sockaddr *address, bool allow_private);

void sso_fetch_test(bool verbose);
#endif
