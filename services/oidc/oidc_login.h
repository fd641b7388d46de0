/* oidc_login: the bus legs of a login through an OIDC connection. UpstreamStart.Start (token ->
   oidc): the authorization request, from the provider's discovery (cached) and the
   transaction. The callback (/sso/oidc/callback, the browser back from the provider): the
   login found by its state (LoginContext), the provider's error passed on, else the code
   exchanged at the token endpoint, the ID token's signature verified against the provider's
   JWKS (refetched at most once per 30 s for an unknown kid) and its claims checked, the
   profile and the email domain guard, then LoginComplete (or LoginFail with the reason) at the
   directory. Every fetch runs off the loop (sso_service_offload), so a slow provider holds
   up only its own logins. Against a slow or hostile provider (the cache's limits, see
   sso_oidc_discovery.h): a failed discovery or JWKS fetch is remembered for a moment and
   answers the logins of that time at once; logins that want the same document at once share
   one fetch; at most SSO_OIDC_ISSUER_CALLS_MAX logins wait on one issuer; and each request
   (a start, a callback) has one budget for all its calls to the provider, ending before its
   bus deadline so that its answer and event (LoginFail) always get through. */
#ifndef OIDC_LOGIN_H
#define OIDC_LOGIN_H
#include "sso_oidc_cache.h"
#include "sso_service.h"

/* The service's state. */
typedef struct {
    sso_oidc_cache_t *cache; /* discovery and JWKS per issuer */
    long fetch_timeout_ms;   /* one call's limit; 0: SSO_OIDC_FETCH_TIMEOUT_MS (tests: less) */
} oidc_state_t;

/* A request's calls to its provider end by its bus deadline less a reserve (a quarter of the
   time left, at most OIDC_RESERVE_MS): the time for LoginComplete or LoginFail at the
   directory and the answer's way back. With the default 10 s deadline: 8 s. */
#define OIDC_RESERVE_MS 2000
#define OIDC_DEADLINE_DEFAULT_MS 10000 /* a request without a deadline (self-tests) */

typedef struct {
    int64_t until_ms; /* sso_now_ms's clock */
    int64_t total_ms; /* for the reason of a login that runs out */
} oidc_budget_t;

/* The budget of a request with the bus deadline deadline_ms (Meta.deadline_ms; 0: none)
   received at now_ms. */
oidc_budget_t oidc_budget(int64_t deadline_ms, int64_t now_ms);

/* UpstreamStart.Start, deadline_ms its Meta.deadline_ms. */
zframe_t *oidc_login_start(sso_service_t *service, zframe_t *payload, int64_t deadline_ms);
/* The callback at OIDC_CALLBACK_PATH/<connection_id>, deadline_ms its Meta.deadline_ms. */
zframe_t *oidc_login_callback(sso_service_t *service, const Sso__HttpRequest *request,
                              const char *connection_id, int64_t deadline_ms);

void oidc_login_test(bool verbose);
#endif
