/* oidc_calls: every call of a login to its provider (discovery, JWKS, token endpoint,
   userinfo), off the loop (sso_service_offload), so a slow provider holds up only its own
   logins. Against a slow or hostile provider (the cache's limits, see sso_oidc_cache.h): a
   failed discovery or JWKS fetch is remembered for a moment and answers the logins of that
   time at once; logins that want the same document at once share one fetch; at most
   SSO_OIDC_ISSUER_CALLS_MAX logins wait on one issuer; and each request (a start, a callback)
   has one budget for all its calls to the provider, ending before its bus deadline so that its
   answer and event (LoginFail) always get through. */
#ifndef OIDC_CALLS_H
#define OIDC_CALLS_H
#include "directory.pb-c.h"
#include "sso_jose.h"
#include "sso_oidc_cache.h"
#include "sso_service.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Calls to providers in progress at once, beyond the per-issuer cap: per organization (one
   customer's connections, however many issuers it names, cannot hold more of the service's
   requests than one issuer can), and in all (so that a few hostile customers together still
   leave a quarter of the requests an instance takes at once, SSO_WORKER_CREDIT, to everyone
   else). */
#define OIDC_ORG_CALLS_MAX SSO_OIDC_ISSUER_CALLS_MAX
#define OIDC_CALLS_MAX_DEFAULT 24 /* three quarters of the default credit, 32 */
#define OIDC_CALLS_ORGS 64        /* organizations with calls in progress at once, at most */
#define OIDC_ORG_ID_MAX 64

/* The service's state. */
typedef struct {
    sso_oidc_cache_t *cache; /* discovery and JWKS per issuer */
    long fetch_timeout_ms;   /* one call's limit; 0: SSO_OIDC_FETCH_TIMEOUT_MS (tests: less) */
    int calls_max;           /* calls in progress at once in all; 0: OIDC_CALLS_MAX_DEFAULT */
    int cap_wait_ms;         /* a call's wait for a place at a cap; 0: a quarter of a second */
    int calls;               /* in progress now */
    struct {
        char id[OIDC_ORG_ID_MAX + 1]; /* "" for a free slot */
        int calls;
    } orgs[OIDC_CALLS_ORGS];
} oidc_state_t;

/* The service's cap on calls in progress at once for an instance taking credit requests at
   once: three quarters of them, at least 1, at most OIDC_CALLS_ORGS. */
int oidc_calls_max(int credit);

/* A request's calls to its provider end by its bus deadline less a reserve (a quarter of the
   time left, at most OIDC_RESERVE_MS): the time for LoginComplete or LoginFail at the
   directory and the answer's way back. With the default 10 s deadline: 8 s. */
#define OIDC_RESERVE_MS 2000
#define OIDC_DEADLINE_DEFAULT_MS 10000 /* a request without a deadline (self-tests) */

typedef struct {
    int64_t until_ms;            /* sso_now_ms's clock */
    int64_t total_ms;            /* for the reason of a login that runs out */
    const char *organization_id; /* whose calls these are (set by the caller; NULL: none) */
} oidc_budget_t;

/* The budget of a request with the bus deadline deadline_ms (Meta.deadline_ms; 0: none)
   received at now_ms. */
oidc_budget_t oidc_budget(int64_t deadline_ms, int64_t now_ms);

/* Each call below is refused (-1 with why) when the budget is spent, or when
   SSO_OIDC_ISSUER_CALLS_MAX logins wait on the issuer, OIDC_ORG_CALLS_MAX on the
   organization's providers, or the state's calls_max on any, for longer than a moment (a
   quarter of a second: a burst of logins to a healthy provider gets through, a slow
   provider's logins fail soon); each call's timeout is the lesser of the state's limit and
   what is left of the budget. */

/* The issuer's discovery into out (free it): the cached one while fresh, else fetched (once
   for all the logins that want it meanwhile) and cached, a failure too. 0, or -1 with why. */
int oidc_calls_discovery(sso_service_t *service, const char *issuer, const oidc_budget_t *budget,
                         sso_oidc_discovery_t *out, char *why, size_t why_size);

/* The provider's keys: the cached JWKS, else (or with refresh) fetched and cached (a fetch
   without refresh once for all the logins that want it meanwhile, and its failure cached; a
   refresh is limited by SSO_OIDC_JWKS_REFRESH_S instead). NULL with why. */
sso_jose_keys_t *oidc_calls_keys(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                                 bool refresh, const oidc_budget_t *budget, char *why,
                                 size_t why_size);

/* The code exchanged for an ID token: 0 with *id_token and *access_token (NULL when the
   provider gave none), or -1 with why. */
int oidc_calls_token(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                     const oidc_budget_t *budget, const Sso__Connection *conn,
                     const Sso__Transaction *txn, const char *code, char **id_token,
                     char **access_token, char *why, size_t why_size);

/* The userinfo endpoint's claims merged into claims when the ID token lacks the email claim
   (email_claim: "email", or the one the connection maps email to; OIDC Core 5.3): 0, also
   when the endpoint could not be read (the ID token alone is used, and the log says why); -1
   with why when the answer must not be used (another sub) or the budget ran out. */
int oidc_calls_userinfo(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                        const oidc_budget_t *budget, const char *access_token,
                        const char *email_claim, json_t *claims, char *why, size_t why_size);

void oidc_calls_test(bool verbose);
#endif
