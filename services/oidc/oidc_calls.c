#include "oidc_calls.h"
#include "oidc_authorize.h"
#include "oidc_claims.h"
#include "oidc_exchange.h"
#include "sso_fetch.h"
#include "sso_log.h"
#include "sso_oidc_test_idp.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_WHY 600

static int64_t s_now(void)
{
    return (int64_t) time(NULL);
}

static oidc_state_t *s_state(sso_service_t *service)
{
    return service ? service->state : NULL;
}

/* How long a fiber waiting for another login's fetch of the same document sleeps between two
   looks at the cache. */
#define S_FLIGHT_POLL_MS 20
/* How long a call waits for a place at a cap (s_enter), and how often it looks. */
#define S_CAP_WAIT_MS 250
#define S_CAP_POLL_MS 5

oidc_budget_t oidc_budget(int64_t deadline_ms, int64_t now_ms)
{
    int64_t left = deadline_ms > 0 ? deadline_ms - now_ms : OIDC_DEADLINE_DEFAULT_MS;
    int64_t reserve = left / 4 < OIDC_RESERVE_MS ? left / 4 : OIDC_RESERVE_MS;
    int64_t total = left - reserve > 0 ? left - reserve : 0;
    return (oidc_budget_t){now_ms + total, total, NULL};
}

int oidc_calls_max(int credit)
{
    int max = credit - credit / 4;
    return max < 1 ? 1 : max > OIDC_CALLS_ORGS ? OIDC_CALLS_ORGS : max;
}

/* The slot of organization id in state (made when make; NULL when absent, or no slot is
   free: cannot happen while calls_max <= OIDC_CALLS_ORGS, as each slot in use holds a call). */
static int *s_org_calls(oidc_state_t *state, const char *id, bool make)
{
    int free_slot = -1;
    for (int i = 0; i < OIDC_CALLS_ORGS; i++) {
        if (state->orgs[i].calls > 0 && !strcmp(state->orgs[i].id, id))
            return &state->orgs[i].calls;
        if (free_slot < 0 && state->orgs[i].calls == 0)
            free_slot = i;
    }
    if (!make || free_slot < 0)
        return NULL;
    snprintf(state->orgs[free_slot].id, sizeof state->orgs[free_slot].id, "%s", id);
    return &state->orgs[free_slot].calls;
}

/* Takes a place for one call of the budget's organization to issuer: 0, or -1 with why
   (verb says what is not done, "calling its token endpoint"). Every 0 is paired with
   s_end. */
static int s_begin(oidc_state_t *state, const char *issuer, const oidc_budget_t *budget,
                   const char *verb, char *why, size_t why_size)
{
    if (!state)
        return 0;
    int max = state->calls_max > 0 ? state->calls_max : OIDC_CALLS_MAX_DEFAULT;
    const char *org = budget->organization_id && *budget->organization_id
                          ? budget->organization_id
                          : "-";
    int *org_calls = NULL;
    if (state->calls >= max) {
        snprintf(why, why_size, "the oidc service has %d calls to providers in progress, its "
                 "limit; not %s", max, verb);
        return -1;
    }
    if (sso_oidc_cache_call_begin(state->cache, issuer) != 0) {
        snprintf(why, why_size, "too many logins waiting on %.300s (%d at once); not %s",
                 issuer, SSO_OIDC_ISSUER_CALLS_MAX, verb);
        return -1;
    }
    if (strlen(org) > OIDC_ORG_ID_MAX || !(org_calls = s_org_calls(state, org, true))
        || *org_calls >= OIDC_ORG_CALLS_MAX) {
        sso_oidc_cache_call_end(state->cache, issuer);
        snprintf(why, why_size, "too many logins of organization %.100s waiting on its "
                 "providers (%d at once); not %s", org, OIDC_ORG_CALLS_MAX, verb);
        return -1;
    }
    (*org_calls)++;
    state->calls++;
    return 0;
}

static void s_end(oidc_state_t *state, const char *issuer, const oidc_budget_t *budget)
{
    if (!state)
        return;
    const char *org = budget->organization_id && *budget->organization_id
                          ? budget->organization_id
                          : "-";
    int *org_calls = s_org_calls(state, org, false);
    if (org_calls && *org_calls > 0)
        (*org_calls)--;
    if (state->calls > 0)
        state->calls--;
    sso_oidc_cache_call_end(state->cache, issuer);
}

/* The reason of a login whose budget ran out at step. */
static void s_late(const char *issuer, const oidc_budget_t *budget, const char *step, char *why,
                   size_t why_size)
{
    snprintf(why, why_size, "the IdP at %.300s did not answer within %lld.%lld s (%s)", issuer,
             (long long) (budget->total_ms / 1000), (long long) (budget->total_ms % 1000 / 100),
             step);
}

/* The start of a call to issuer's provider or of a wait for one (what: "calling", "waiting
   for"): *left the time left of the budget and a place taken (s_begin; pair it with s_end),
   or -1 with why. */
static int s_enter(oidc_state_t *state, const char *issuer, const oidc_budget_t *budget,
                   const char *what, const char *step, int64_t *left, char *why,
                   size_t why_size)
{
    *left = budget->until_ms - sso_now_ms();
    if (*left <= 0) {
        s_late(issuer, budget, step, why, why_size);
        return -1;
    }
    char verb[80];
    snprintf(verb, sizeof verb, "%s its %s", what, step);
    /* At a cap, a moment's wait: a healthy provider frees places within milliseconds (a burst
       of logins gets through), a slow one does not (the login fails soon, its fiber free). */
    int64_t until = sso_now_ms()
                    + (state && state->cap_wait_ms > 0 ? state->cap_wait_ms : S_CAP_WAIT_MS);
    int rc;
    while ((rc = s_begin(state, issuer, budget, verb, why, why_size)) != 0
           && sso_now_ms() < until && sso_now_ms() < budget->until_ms)
        sso_service_sleep(S_CAP_POLL_MS);
    return rc;
}

/* What every call to the provider has: its time limit (set by s_call) and its outcome. */
typedef struct {
    long timeout_ms;
    int rc;
    char why[S_WHY];
} s_call_t;

/* One call to issuer's provider (step names it for reasons): fn(arg) off the loop, with
   call->timeout_ms the per-call limit or what is left of the budget, whichever is less. -1
   with why when the call must end the login: refused at once (SSO_OIDC_ISSUER_CALLS_MAX calls
   to the issuer in progress, or the budget spent), or failed with the budget spent. Else 0
   and call->rc says how the call went. */
static int s_call(sso_service_t *service, const char *issuer, const oidc_budget_t *budget,
                  const char *step, sso_service_offload_fn *fn, void *arg, s_call_t *call,
                  char *why, size_t why_size)
{
    oidc_state_t *state = s_state(service);
    int64_t left;
    if (s_enter(state, issuer, budget, "calling", step, &left, why, why_size) != 0)
        return -1;
    long limit = state && state->fetch_timeout_ms > 0 ? state->fetch_timeout_ms
                                                      : SSO_OIDC_FETCH_TIMEOUT_MS;
    call->timeout_ms = left < limit ? (long) left : limit;
    sso_service_offload(fn, arg);
    s_end(state, issuer, budget);
    if (call->rc != 0 && sso_now_ms() >= budget->until_ms) {
        s_late(issuer, budget, step, why, why_size);
        return -1;
    }
    return 0;
}

/* Waits a moment for another login's fetch from issuer (counted as a call to it). 0, or -1
   with why as s_call. */
static int s_wait(sso_service_t *service, const char *issuer, const oidc_budget_t *budget,
                  const char *step, char *why, size_t why_size)
{
    oidc_state_t *state = s_state(service);
    int64_t left;
    if (s_enter(state, issuer, budget, "waiting for", step, &left, why, why_size) != 0)
        return -1;
    sso_service_sleep(left < S_FLIGHT_POLL_MS ? (int) left : S_FLIGHT_POLL_MS);
    s_end(state, issuer, budget);
    return 0;
}

typedef struct {
    s_call_t call;
    const char *issuer, *url;
    bool allow_private;
    sso_oidc_discovery_t discovery;
    char *jwks;
    int64_t max_age_s;
} s_fetch_t;

static void s_fetch_discovery(void *arg)
{
    s_fetch_t *f = arg;
    f->call.rc = sso_oidc_discovery_fetch_within(f->issuer, f->allow_private,
                                                 f->call.timeout_ms, &f->discovery, f->call.why,
                                                 sizeof f->call.why);
}

static void s_fetch_jwks(void *arg)
{
    s_fetch_t *f = arg;
    f->call.rc = sso_oidc_jwks_fetch_within(f->url, f->allow_private, f->call.timeout_ms,
                                            &f->jwks, &f->max_age_s, f->call.why,
                                            sizeof f->call.why);
}

/* What a login looks for in the cache: the issuer's discovery (into discovery) or its raw
   JWKS (into jwks). */
typedef struct {
    const char *issuer;
    sso_oidc_doc_t doc;
    sso_oidc_discovery_t *discovery;
    char *jwks;
} s_look_t;

static bool s_cached(oidc_state_t *state, s_look_t *look)
{
    if (look->doc == SSO_OIDC_DOC_DISCOVERY)
        return sso_oidc_cache_discovery_get(state->cache, look->issuer, s_now(),
                                            look->discovery) == 1;
    return (look->jwks = sso_oidc_cache_jwks_get(state->cache, look->issuer, s_now())) != NULL;
}

/* Whether the document look names is to be fetched here: 1 yes (marked in flight: end it with
   s_fetched), 0 when the cache has it now (fresh, into look), -1 with why when the login
   fails (a failure remembered, or no time or room to wait). Waits while another login's fetch
   of it is in flight. Without the service's state: 1. */
static int s_fetch_here(sso_service_t *service, s_look_t *look, const oidc_budget_t *budget,
                        char *why, size_t why_size)
{
    oidc_state_t *state = s_state(service);
    const char *step = look->doc == SSO_OIDC_DOC_DISCOVERY ? "discovery" : "jwks";
    char remembered[S_WHY];
    while (state) {
        if (s_cached(state, look))
            return 0;
        if (sso_oidc_cache_failure_get(state->cache, look->issuer, look->doc, s_now(),
                                       remembered, sizeof remembered) == 1) {
            snprintf(why, why_size, "%s: %.500s", step, remembered);
            return -1;
        }
        if (sso_oidc_cache_fetch_begin(state->cache, look->issuer, look->doc))
            break;
        if (s_wait(service, look->issuer, budget, step, why, why_size) != 0)
            return -1;
    }
    return 1;
}

/* After a fetch of the issuer's doc here: the flight ended and a failure remembered (not one
   of this login's budget running out: the provider may have had little time). */
static void s_fetched(sso_service_t *service, const char *issuer, sso_oidc_doc_t doc,
                      const oidc_budget_t *budget, const s_call_t *call)
{
    oidc_state_t *state = s_state(service);
    if (!state)
        return;
    sso_oidc_cache_fetch_end(state->cache, issuer, doc);
    if (call->rc != 0 && sso_now_ms() < budget->until_ms)
        (void) sso_oidc_cache_failure_put(state->cache, issuer, doc, call->why, s_now());
}

int oidc_calls_discovery(sso_service_t *service, const char *issuer, const oidc_budget_t *budget,
                         sso_oidc_discovery_t *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    s_look_t look = {issuer, SSO_OIDC_DOC_DISCOVERY, out, NULL};
    int here = s_fetch_here(service, &look, budget, why, why_size);
    if (here <= 0)
        return here;
    s_fetch_t f = {.issuer = issuer,
                   .allow_private = service && service->config->allow_private_upstreams};
    int rc = s_call(service, issuer, budget, "discovery", s_fetch_discovery, &f, &f.call, why,
                    why_size);
    s_fetched(service, issuer, SSO_OIDC_DOC_DISCOVERY, budget, &f.call);
    if (rc != 0)
        return -1;
    if (f.call.rc != 0) {
        snprintf(why, why_size, "discovery: %.500s", f.call.why);
        return -1;
    }
    oidc_state_t *state = s_state(service);
    if (state)
        (void) sso_oidc_cache_discovery_put(state->cache, &f.discovery, s_now());
    *out = f.discovery;
    return 0;
}

sso_jose_keys_t *oidc_calls_keys(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                                 bool refresh, const oidc_budget_t *budget, char *why,
                                 size_t why_size)
{
    oidc_state_t *state = s_state(service);
    const char *issuer = discovery->issuer;
    s_look_t look = {issuer, SSO_OIDC_DOC_JWKS, NULL, NULL};
    int here = refresh ? 1 : s_fetch_here(service, &look, budget, why, why_size);
    if (here < 0)
        return NULL;
    char *jwks = look.jwks;
    if (here == 1) {
        s_fetch_t f = {.url = discovery->jwks_uri,
                       .allow_private = service && service->config->allow_private_upstreams};
        int rc = s_call(service, issuer, budget, "jwks", s_fetch_jwks, &f, &f.call, why,
                        why_size);
        if (!refresh)
            s_fetched(service, issuer, SSO_OIDC_DOC_JWKS, budget, &f.call);
        if (rc != 0)
            return NULL;
        if (f.call.rc != 0) {
            snprintf(why, why_size, "jwks: %.500s", f.call.why);
            return NULL;
        }
        if (state)
            (void) sso_oidc_cache_jwks_put(state->cache, issuer, f.jwks, s_now(), f.max_age_s);
        jwks = f.jwks;
    }
    sso_jose_keys_t *keys = NULL;
    char parse_why[SSO_JOSE_WHY_SIZE];
    if (sso_jose_keys_parse(jwks, strlen(jwks), &keys, parse_why, sizeof parse_why) != 0)
        snprintf(why, why_size, "jwks: %s", parse_why);
    free(jwks);
    return keys;
}

/* The token request at the provider, off the loop. */
typedef struct {
    s_call_t call;
    sso_fetch_request_t request;
    sso_fetch_response_t response;
} s_exchange_t;

static void s_exchange_run(void *arg)
{
    s_exchange_t *x = arg;
    x->request.timeout_ms = x->call.timeout_ms;
    x->call.rc = sso_fetch(&x->request, &x->response, x->call.why, sizeof x->call.why);
}

int oidc_calls_token(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                     const oidc_budget_t *budget, const Sso__Connection *conn,
                     const Sso__Transaction *txn, const char *code, char **id_token,
                     char **access_token, char *why, size_t why_size)
{
    *id_token = *access_token = NULL;
    char redirect_uri[1200];
    oidc_authorize_redirect_uri(service ? service->config->public_url : "", conn->id,
                                redirect_uri, sizeof redirect_uri);
    oidc_exchange_t in = {.client_id = conn->oidc_client_id,
                          .client_secret = conn->oidc_client_secret,
                          .token_endpoint = discovery->token_endpoint,
                          .now = s_now(),
                          .redirect_uri = redirect_uri,
                          .code = code,
                          .code_verifier = txn->oidc_code_verifier}; /* PKCE always */
    /* The client authentication the connection names, if the provider (still) lists it. */
    char method_why[400];
    if (sso_oidc_discovery_auth_method(discovery, conn->oidc_token_auth_method, &in.method,
                                       method_why, sizeof method_why) != 0) {
        snprintf(why, why_size, "token request: %s", method_why);
        return -1;
    }
    if (in.method == SSO_OIDC_AUTH_PRIVATE_KEY_JWT
        && !(in.client_key = sso_jose_private_key_pem(conn->oidc_client_key_pem))) {
        snprintf(why, why_size, "token request: connection %.64s has no private_key_jwt client "
                 "key", conn->id);
        return -1;
    }
    char *body = NULL, *authorization = NULL;
    int made = oidc_exchange_request(&in, &body, &authorization, why, why_size);
    EVP_PKEY_free(in.client_key);
    if (made != 0)
        return -1;
    s_exchange_t x = {.request = {.url = discovery->token_endpoint, .method = "POST",
                                  .body = body, .body_len = strlen(body),
                                  .content_type = "application/x-www-form-urlencoded",
                                  .accept = "application/json",
                                  .authorization = authorization,
                                  .allow_private = service
                                                   && service->config->allow_private_upstreams}};
    int called = s_call(service, discovery->issuer, budget, "token endpoint", s_exchange_run, &x,
                        &x.call, why, why_size);
    OPENSSL_cleanse(body, strlen(body));
    free(body);
    if (authorization)
        OPENSSL_cleanse(authorization, strlen(authorization));
    free(authorization);
    int rc = -1;
    if (called != 0)
        ; /* why says it */
    else if (x.call.rc != 0)
        snprintf(why, why_size, "token endpoint: %.500s", x.call.why);
    else
        rc = oidc_exchange_response(x.response.status, x.response.body, x.response.len,
                                    id_token, why, why_size);
    *access_token = rc == 0 ? oidc_exchange_access_token(x.response.body, x.response.len) : NULL;
    sso_fetch_response_free(&x.response);
    return rc;
}

int oidc_calls_userinfo(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                        const oidc_budget_t *budget, const char *access_token,
                        const char *email_claim, json_t *claims, char *why, size_t why_size)
{
    if (json_object_get(claims, email_claim) || !discovery->userinfo_endpoint || !access_token)
        return 0;
    char authorization[8300];
    snprintf(authorization, sizeof authorization, "Bearer %s", access_token);
    s_exchange_t x = {.request = {.url = discovery->userinfo_endpoint, .method = "GET",
                                  .accept = "application/json", .authorization = authorization,
                                  .allow_private = service
                                                   && service->config->allow_private_upstreams}};
    int called = s_call(service, discovery->issuer, budget, "userinfo", s_exchange_run, &x,
                        &x.call, why, why_size);
    OPENSSL_cleanse(authorization, sizeof authorization);
    if (called != 0) {
        sso_fetch_response_free(&x.response);
        return -1;
    }
    json_t *info = x.call.rc == 0 && x.response.status == 200
                       ? json_loadb(x.response.body, x.response.len, JSON_REJECT_DUPLICATES, NULL)
                       : NULL;
    int rc = 0;
    if (!info)
        sso_warn("userinfo at %.200s not used: %s", discovery->userinfo_endpoint,
                 x.call.rc != 0 ? x.call.why : "not HTTP 200 with a JSON object");
    else
        rc = oidc_claims_merge(claims, info, why, why_size);
    json_decref(info);
    sso_fetch_response_free(&x.response);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The calls themselves, against a slow or hostile provider, are tested through the two legs
   (oidc_login's self-test: the slow starts and the slow callback). */
void oidc_calls_test(bool verbose)
{
    (void) verbose;
    /* Budgets: a quarter of the time left is kept, at most OIDC_RESERVE_MS; none: 8 s. */
    SSO_CHECK(oidc_budget(10000 + 10000, 10000).total_ms == 8000
              && oidc_budget(0, 10000).total_ms == 8000
              && oidc_budget(10000 + 400, 10000).total_ms == 300
              && oidc_budget(10000 - 5, 10000).total_ms == 0);

    /* Userinfo is read when the ID token lacks the claim the email comes from: the mapped
       one, though the token has an "email". */
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    sso_config_t config = {.allow_private_upstreams = true};
    oidc_state_t state = {.cache = sso_oidc_cache_new(4)};
    sso_service_t service = {.config = &config, .state = &state};
    char endpoint[300] = "";
    SSO_CHECK(idp && state.cache);
    if (!idp || !state.cache) {
        sso_oidc_test_idp_destroy(&idp);
        sso_oidc_cache_destroy(&state.cache);
        return;
    }
    snprintf(endpoint, sizeof endpoint, "%s/userinfo", sso_oidc_test_idp_url(idp));
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/userinfo", 200, "Content-Type: application/json\r\n",
                                      "{\"sub\":\"u1\",\"mail\":\"m@corp.test\"}", 0) == 0);
    sso_oidc_discovery_t discovery = {.issuer = (char *) sso_oidc_test_idp_url(idp),
                                      .userinfo_endpoint = endpoint};
    oidc_budget_t budget = oidc_budget(0, sso_now_ms());
    char why[S_WHY] = "";
    json_t *claims = json_pack("{s:s, s:s}", "sub", "u1", "email", "e@corp.test");
    SSO_CHECK(oidc_calls_userinfo(&service, &discovery, &budget, "at", "email", claims, why,
                                  sizeof why) == 0
              && sso_oidc_test_idp_hits(idp, "/userinfo") == 0 && !json_object_get(claims, "mail"));
    SSO_CHECK(oidc_calls_userinfo(&service, &discovery, &budget, "at", "mail", claims, why,
                                  sizeof why) == 0
              && sso_oidc_test_idp_hits(idp, "/userinfo") == 1
              && !strcmp(json_string_value(json_object_get(claims, "mail")), "m@corp.test"));
    json_decref(claims);
    sso_oidc_cache_destroy(&state.cache);
    sso_oidc_test_idp_destroy(&idp);
}
