#include "oidc_login.h"
#include "../directory/dir_fake.h"
#include "oidc_authorize.h"
#include "oidc_callback.h"
#include "oidc_claims.h"
#include "oidc_exchange.h"
#include "sso_clients.h"
#include "sso_crypto.h"
#include "sso_fetch.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <string.h>
#include <strings.h>
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

/* ---- the calls to the provider: off the loop, within the request's budget ------------ */

/* How long a fiber waiting for another login's fetch of the same document sleeps between two
   looks at the cache. */
#define S_FLIGHT_POLL_MS 20

oidc_budget_t oidc_budget(int64_t deadline_ms, int64_t now_ms)
{
    int64_t left = deadline_ms > 0 ? deadline_ms - now_ms : OIDC_DEADLINE_DEFAULT_MS;
    int64_t reserve = left / 4 < OIDC_RESERVE_MS ? left / 4 : OIDC_RESERVE_MS;
    int64_t total = left - reserve > 0 ? left - reserve : 0;
    return (oidc_budget_t){now_ms + total, total};
}

/* The reason of a login whose budget ran out at step. */
static void s_late(const char *issuer, const oidc_budget_t *budget, const char *step, char *why,
                   size_t why_size)
{
    snprintf(why, why_size, "the IdP at %.300s did not answer within %lld.%lld s (%s)", issuer,
             (long long) (budget->total_ms / 1000), (long long) (budget->total_ms % 1000 / 100),
             step);
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
    int64_t left = budget->until_ms - sso_now_ms();
    if (left <= 0) {
        s_late(issuer, budget, step, why, why_size);
        return -1;
    }
    if (state && sso_oidc_cache_call_begin(state->cache, issuer) != 0) {
        snprintf(why, why_size, "too many logins waiting on %.300s (%d at once); not calling "
                 "its %s", issuer, SSO_OIDC_ISSUER_CALLS_MAX, step);
        return -1;
    }
    long limit = state && state->fetch_timeout_ms > 0 ? state->fetch_timeout_ms
                                                      : SSO_OIDC_FETCH_TIMEOUT_MS;
    call->timeout_ms = left < limit ? (long) left : limit;
    sso_service_offload(fn, arg);
    if (state)
        sso_oidc_cache_call_end(state->cache, issuer);
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
    int64_t left = budget->until_ms - sso_now_ms();
    if (left <= 0) {
        s_late(issuer, budget, step, why, why_size);
        return -1;
    }
    if (sso_oidc_cache_call_begin(state->cache, issuer) != 0) {
        snprintf(why, why_size, "too many logins waiting on %.300s (%d at once); not waiting "
                 "for its %s", issuer, SSO_OIDC_ISSUER_CALLS_MAX, step);
        return -1;
    }
    sso_service_sleep(left < S_FLIGHT_POLL_MS ? (int) left : S_FLIGHT_POLL_MS);
    sso_oidc_cache_call_end(state->cache, issuer);
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

/* The issuer's discovery into out (free it): the cached one while fresh, else fetched (once
   for all the logins that want it meanwhile) and cached, a failure too. 0, or -1 with why. */
static int s_discovery(sso_service_t *service, const char *issuer, const oidc_budget_t *budget,
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

/* The provider's keys: the cached JWKS, else (or with refresh) fetched and cached (a fetch
   without refresh once for all the logins that want it meanwhile, and its failure cached; a
   refresh is limited by SSO_OIDC_JWKS_REFRESH_S instead). NULL with why. */
static sso_jose_keys_t *s_keys(sso_service_t *service, const sso_oidc_discovery_t *discovery,
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

/* ---- UpstreamStart.Start -------------------------------------------------------------- */

zframe_t *oidc_login_start(sso_service_t *service, zframe_t *payload, int64_t deadline_ms)
{
    oidc_budget_t budget = oidc_budget(deadline_ms, sso_now_ms());
    Sso__UpstreamStartRequest *start =
        sso__upstream_start_request__unpack(NULL, zframe_size(payload), zframe_data(payload));
    const Sso__Connection *conn = start ? start->connection : NULL;
    if (!start || !conn || !start->txn || !*start->txn->id || strcmp(conn->type, "oidc") != 0
        || !*conn->oidc_issuer) {
        sso__upstream_start_request__free_unpacked(start, NULL);
        return sso_upstream_start_reply(SSO__RPC_ERROR__INVALID_REQUEST,
                             "the start needs a transaction and an OIDC connection", NULL);
    }
    char why[S_WHY] = "";
    sso_oidc_discovery_t discovery = {0};
    zframe_t *reply;
    if (s_discovery(service, conn->oidc_issuer, &budget, &discovery, why, sizeof why) != 0) {
        sso_warn("start %.100s: %s", conn->id, why);
        reply = sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, why, NULL);
    }
    else {
        /* PKCE S256 always (DESIGN §6): providers that do not list it in their discovery
           (Entra ID v2) still take it, and one that ignores it loses nothing. */
        oidc_authorize_provider_t provider = {discovery.authorization_endpoint, true,
                                              service ? service->config->public_url : ""};
        char *url = oidc_authorize_url(&provider, conn, start->txn, why, sizeof why);
        reply = url ? sso_upstream_start_reply(SSO__RPC_ERROR__OK, NULL, url)
                    : sso_upstream_start_reply(SSO__RPC_ERROR__SERVER_ERROR, why, NULL);
        free(url);
    }
    sso_oidc_discovery_free(&discovery);
    sso__upstream_start_request__free_unpacked(start, NULL);
    return reply;
}

/* ---- the callback --------------------------------------------------------------------- */

#define S_GONE "The sign-in expired or was already used. Start the sign-in again from the " \
               "application."

/* A callback that names no open login: answered, counted for /metrics
   (oidc_callback_anonymous), logged at most every 10 s, and nothing stored. */
static zframe_t *s_anonymous(const char *reason)
{
    static sso_log_limit_t limit; /* fibers are not preempted: no lock */
    unsigned long long unlogged = 0;
    if (sso_log_limit_due(&limit, sso_now_ms(), 10000, &unlogged))
        sso_info("callback: refused one that names no open login: %s (%llu more since the "
                 "last line)", reason, unlogged);
    zframe_t *frame = sso_html_error_page(400, "This sign-in cannot continue", S_GONE);
    if (frame && sso_http_count(frame, "callback_anonymous") != 0)
        sso_warn("callback: could not count a refused callback in the metrics");
    return frame;
}

static zframe_t *s_busy(void)
{
    return sso_html_error_page(503, "Sign-in is temporarily unavailable",
                               "The sign-in service is busy. Start the sign-in again from the "
                               "application in a moment.");
}

/* Fails the login (LoginFail): the client gets error and description, the event log reason. */
static zframe_t *s_fail(sso_service_t *service, const Sso__Transaction *txn, const char *error,
                        const char *description, const char *reason)
{
    Sso__LoginFailRequest fail = SSO__LOGIN_FAIL_REQUEST__INIT;
    fail.txn_id = txn->id;
    fail.error = (char *) error;
    fail.error_description = (char *) description;
    fail.reason = (char *) reason;
    fail.only_if_open = true;
    Sso__LoginRedirectReply *reply = NULL;
    if (sso_dir_login_fail(service, &fail, &reply) != 0)
        return s_busy();
    zframe_t *frame;
    if (reply->error || !*reply->redirect_uri)
        frame = s_anonymous(reply->error_description);
    else {
        sso_info("login %.8s… refused: %s", txn->id, reason);
        frame = sso_upstream_redirect(reply);
    }
    sso__login_redirect_reply__free_unpacked(reply, NULL);
    return frame;
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

/* The code exchanged for an ID token: 0 with *id_token and *access_token (NULL when the
   provider gave none), or -1 with why. */
static int s_exchange(sso_service_t *service, const sso_oidc_discovery_t *discovery,
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

/* The algorithms the provider offered that we accept, NULL-ended, into algs. */
static void s_algs(const sso_oidc_discovery_t *discovery, const char *algs[10])
{
    static const char *const all[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                      "PS512", "ES256", "ES384", "ES512"};
    size_t n = 0;
    for (size_t i = 0; i < 9; i++)
        if (sso_oidc_discovery_alg_ok(discovery, all[i]))
            algs[n++] = all[i];
    algs[n] = NULL;
}

/* The ID token verified against the provider's keys (an unknown kid refetches them, at most
   once per 30 s per issuer) and its claims checked: 0 with *claims, or -1 with why. */
static int s_id_token(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                      const oidc_budget_t *budget, const Sso__Connection *conn,
                      const Sso__Transaction *txn, const char *id_token, json_t **claims,
                      char *why, size_t why_size)
{
    const char *algs[10];
    s_algs(discovery, algs);
    *claims = NULL;
    sso_jose_status_t status = SSO_JOSE_REFUSED;
    char jose_why[SSO_JOSE_WHY_SIZE] = "";
    for (int round = 0; round < 2; round++) {
        sso_jose_keys_t *keys = s_keys(service, discovery, round == 1, budget, why, why_size);
        if (!keys)
            return -1;
        status = sso_jose_verify(id_token, keys, algs, NULL, claims, jose_why, sizeof jose_why);
        sso_jose_keys_destroy(&keys);
        oidc_state_t *state = s_state(service);
        if (status != SSO_JOSE_UNKNOWN_KID || round == 1 || !state
            || !sso_oidc_cache_jwks_refresh_allowed(state->cache, discovery->issuer, s_now()))
            break;
    }
    if (status != SSO_JOSE_OK) {
        snprintf(why, why_size, "id_token %s", jose_why);
        return -1;
    }
    oidc_claims_expect_t expect = {conn->oidc_issuer, conn->oidc_client_id, txn->oidc_nonce,
                                   txn->max_age, s_now()};
    if (oidc_claims_check(*claims, &expect, why, why_size) != 0) {
        json_decref(*claims);
        *claims = NULL;
        return -1;
    }
    return 0;
}

/* The userinfo endpoint's claims merged into claims when the ID token has no email (OIDC
   Core 5.3): 0, also when the endpoint could not be read (the ID token alone is used, and the
   log says why); -1 with why when the answer must not be used (another sub) or the budget ran
   out. */
static int s_userinfo(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                      const oidc_budget_t *budget, const char *access_token, json_t *claims,
                      char *why, size_t why_size)
{
    if (json_object_get(claims, "email") || !discovery->userinfo_endpoint || !access_token)
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

/* The callback once its login is known. */
static zframe_t *s_callback(sso_service_t *service, const oidc_callback_t *cb,
                            const Sso__Transaction *txn, const Sso__Connection *conn,
                            const oidc_budget_t *budget)
{
    char why[S_WHY] = "", description[300];
    if (strcmp(conn->type, "oidc") != 0 || strcmp(conn->status, "active") != 0) {
        snprintf(why, sizeof why, "connection %.100s is not an active OIDC connection",
                 conn->id);
        return s_fail(service, txn, "access_denied", why, why);
    }
    if (cb->error) {
        snprintf(why, sizeof why, "provider error: %s: %s", cb->error, cb->error_description);
        snprintf(description, sizeof description, "the identity provider refused the sign-in "
                 "(%s)", cb->error);
        return s_fail(service, txn, strcmp(cb->error, "access_denied") ? "server_error"
                                                                       : "access_denied",
                      description, why);
    }
    if (cb->iss && strcmp(cb->iss, conn->oidc_issuer) != 0) {
        snprintf(why, sizeof why, "callback iss: expected %.300s, got %.200s", conn->oidc_issuer,
                 cb->iss);
        return s_fail(service, txn, "access_denied", "the answer is not from the connection's "
                      "identity provider", why);
    }
    sso_oidc_discovery_t discovery = {0};
    char *id_token = NULL, *access_token = NULL;
    json_t *claims = NULL;
    Sso__Profile *profile = NULL;
    zframe_t *frame = NULL;
    if (s_discovery(service, conn->oidc_issuer, budget, &discovery, why, sizeof why) != 0
        || s_exchange(service, &discovery, budget, conn, txn, cb->code, &id_token,
                      &access_token, why, sizeof why) != 0)
        frame = s_fail(service, txn, "server_error", "the identity provider's answer could not "
                       "be used", why);
    else if (s_id_token(service, &discovery, budget, conn, txn, id_token, &claims, why,
                        sizeof why) != 0
             || s_userinfo(service, &discovery, budget, access_token, claims, why,
                           sizeof why) != 0)
        frame = s_fail(service, txn, "access_denied", "the identity provider's ID token was "
                       "refused; the event log has details", why);
    else if (!(profile = oidc_claims_profile(claims, conn, why, sizeof why)))
        frame = s_fail(service, txn, "access_denied", "the identity provider's ID token was "
                       "refused; the event log has details", why);
    else if (sso_upstream_domain_check(conn, profile->email, description, sizeof description,
                                       why, sizeof why) != 0) {
        oidc_claims_explain_email(claims, conn, why, sizeof why);
        frame = s_fail(service, txn, "access_denied", description, why);
    }
    else {
        const json_t *auth_time = json_object_get(claims, "auth_time");
        Sso__LoginCompleteRequest complete = SSO__LOGIN_COMPLETE_REQUEST__INIT;
        complete.txn_id = txn->id;
        complete.profile = profile;
        /* The provider's clock may run ahead within the claims' skew; the directory takes
           no time in the future: never later than now (0 is now). */
        json_int_t when = json_is_integer(auth_time) ? json_integer_value(auth_time) : 0;
        complete.auth_time = when > 0 && when < s_now() ? when : 0;
        complete.connection_id = conn->id;
        complete.connection_version = conn->version;
        Sso__LoginRedirectReply *reply = NULL;
        if (sso_dir_login_complete(service, &complete, &reply) != 0)
            frame = s_busy();
        else if (!reply->error && *reply->code)
            frame = sso_upstream_redirect(reply);
        else {
            snprintf(why, sizeof why, "LoginComplete refused: %s: %.400s",
                     sso_rpc_error_name(reply->error), reply->error_description);
            frame = s_fail(service, txn, reply->error == SSO__RPC_ERROR__INACTIVE
                                             ? "access_denied"
                                             : "server_error",
                           "the login could not be completed", why);
        }
        sso__login_redirect_reply__free_unpacked(reply, NULL);
        sso_info("login %.8s… via %s for %s", txn->id, conn->id, profile->subject);
    }
    sso__profile__free_unpacked(profile, NULL);
    json_decref(claims);
    if (id_token)
        OPENSSL_cleanse(id_token, strlen(id_token));
    free(id_token);
    if (access_token)
        OPENSSL_cleanse(access_token, strlen(access_token));
    free(access_token);
    sso_oidc_discovery_free(&discovery);
    return frame;
}

/* The re-post page (form_post). The provider's form POST is cross-site, so the browser does
   not send the SameSite=Lax binding cookie with it. This page posts the same answer again, to
   the same callback, from the broker's own origin: that second POST is same-site, carries the
   cookie, and is then checked like any answer. The first POST changes nothing about the
   login, and the re-post is marked (OIDC_CALLBACK_REPOST_FIELD): one that still lacks the
   cookie is refused as before, so it never loops.
   What an attacker can do with it: make a victim's browser POST a forged answer here from
   another site. The re-post then gives that answer the cookies a cross-site top-level GET to
   the callback already gets under Lax (query mode's own exposure), and no more: it is served
   only for a state that names an open form_post login of this connection; an attacker's
   answer for a login of his own is bound to his browser's binding cookie, not the victim's,
   so it is refused (the victim's logins are left as they were), and the victim's own state
   is not his to know. The page echoes only what the request brought (each
   value HTML-escaped), sets and shows no cookie, cannot be framed (frame-ancestors 'none',
   X-Frame-Options), cached (no-store) or leak the code by Referer (no-referrer), and runs only
   its one script (by hash). No form-action: the callback answers the re-post with a redirect
   to the client, and browsers apply form-action to the redirects after a submission. */
#define S_REPOST_SCRIPT "document.forms[0].submit();"
#define S_REPOST_CSP                                                                           \
    "default-src 'none'; script-src 'sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ='; "    \
    "style-src 'self'; base-uri 'none'; frame-ancestors 'none'"

static zframe_t *s_repost(const char *public_url, const char *connection_id,
                          const oidc_callback_t *cb)
{
    char action[1200];
    oidc_authorize_redirect_uri(public_url, connection_id, action, sizeof action);
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, "Signing in");
        sso_html_add(html, "<h1>Signing in&hellip;</h1>\n<form method=\"post\" action=\"{}\">\n",
                     action);
        const char *names[] = {"state", "code", "error", "error_description", "iss"};
        const char *values[] = {cb->state, cb->code, cb->error, cb->error_description, cb->iss};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (values[i])
                sso_html_hidden(html, names[i], values[i]);
        sso_html_hidden(html, OIDC_CALLBACK_REPOST_FIELD, "1");
        sso_html_add(html, "<button type=\"submit\">Continue</button>\n</form>\n"
                           "<script>" S_REPOST_SCRIPT "</script>\n");
        sso_html_end(html);
    }
    sso_response_t *response =
        html && *action ? sso_html_response_csp(&html, 200, S_REPOST_CSP) : NULL;
    sso_html_destroy(&html);
    return response ? sso_response_pack(&response)
                    : sso_html_error_page(500, "Something went wrong", "out of memory");
}

/* Whether the answer came the way the connection told the provider to send it: 0, or -1 with
   why. A code in the other mode is refused: the response mode is part of the contract with
   the provider, so such an answer is not the provider's (an injected one). An error is taken
   either way: it grants nothing, and providers send some errors by redirect before they look
   at response_mode. */
static int s_mode_check(const oidc_callback_t *cb, const Sso__Connection *conn, char *why,
                        size_t why_size)
{
    bool form_post = oidc_authorize_form_post(conn);
    if (!cb->code || cb->posted == form_post)
        return 0;
    snprintf(why, why_size, "callback: the code came %s, but connection %.100s uses "
             "response_mode=%s (an answer in the other mode is not the provider's)",
             cb->posted ? "in a POSTed form" : "in the query", conn->id,
             form_post ? "form_post" : "query");
    return -1;
}

/* The callback from the login's own browser (its binding cookie checked). The cookie stays:
   it is the browser's, and binds its other logins too. */
static zframe_t *s_bound(sso_service_t *service, const oidc_callback_t *cb, int parsed,
                         const char *parse_why, const Sso__LoginContextReply *context,
                         const oidc_budget_t *budget)
{
    char why[S_WHY] = "";
    zframe_t *frame;
    if (parsed != 0)
        frame = s_fail(service, context->txn, "invalid_request",
                       "the identity provider's answer is malformed", parse_why);
    else if (s_mode_check(cb, context->connection, why, sizeof why) != 0)
        frame = s_fail(service, context->txn, "access_denied", "the identity provider's answer "
                       "did not come the way the connection expects", why);
    else
        frame = s_callback(service, cb, context->txn, context->connection, budget);
    return frame;
}

zframe_t *oidc_login_callback(sso_service_t *service, const Sso__HttpRequest *request,
                              const char *connection_id, int64_t deadline_ms)
{
    oidc_budget_t budget = oidc_budget(deadline_ms, sso_now_ms());
    if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "POST") != 0)
        return sso_http_method_not_allowed("GET, POST");
    oidc_callback_t cb;
    char why[S_WHY] = "";
    int parsed = oidc_callback_parse(request, &cb, why, sizeof why);
    if (parsed == 1)
        return s_anonymous(why);
    Sso__LoginContextRequest get = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    get.oidc_state = cb.state;
    Sso__LoginContextReply *context = NULL;
    const char *public_url = service ? service->config->public_url : "";
    zframe_t *frame;
    sso_upstream_binding_t binding = SSO_UPSTREAM_BINDING_WRONG;
    if (sso_dir_login_context(service, &get, &context) != 0)
        frame = s_busy();
    else if (context->error || !context->txn || !context->connection)
        frame = s_anonymous(context->error_description);
    else if (strcmp(context->txn->connection_id, connection_id) != 0) {
        /* Another connection's callback: a provider relaying what another sent (the mix-up
           attack). Refused before any exchange, and the login is left as it was: whoever
           sends this need not be its browser. */
        snprintf(why, sizeof why, "callback at connection %.100s's path for a login of %.100s",
                 connection_id, context->txn->connection_id);
        frame = s_anonymous(why);
    }
    else if ((binding = sso_upstream_binding_check(request, public_url,
                                                   context->txn->browser_binding_hash))
                 == SSO_UPSTREAM_BINDING_ABSENT
             && parsed == 0 && cb.posted && !cb.reposted
             && oidc_authorize_form_post(context->connection))
        /* The provider's cross-site form POST, which brings no Lax cookie: posted again from
           our own origin (s_repost), the login unchanged. */
        frame = s_repost(public_url, connection_id, &cb);
    else if (binding != SSO_UPSTREAM_BINDING_OK)
        /* Not the browser that started this login (a login CSRF, or a link sent on): refused
           before any exchange, and the login is left as it was (whoever learned the state
           cannot end it). */
        frame = s_anonymous(cb.reposted && binding == SSO_UPSTREAM_BINDING_ABSENT
                                ? "callback: the re-posted answer still brings no browser "
                                  "cookie (not the browser that started the login)"
                                : "callback: the login's browser cookie is missing or "
                                  "different (not the browser that started it)");
    else
        frame = s_bound(service, &cb, parsed, why, context, &budget);
    sso__login_context_reply__free_unpacked(context, NULL);
    oidc_callback_free(&cb);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The start for conn at txn, without a bus; its reply, unpacked. */
static Sso__UpstreamStartReply *s_test_start(sso_service_t *service, Sso__Connection *conn,
                                             Sso__Transaction *txn)
{
    Sso__UpstreamStartRequest request = SSO__UPSTREAM_START_REQUEST__INIT;
    request.connection = conn;
    request.txn = txn;
    zframe_t *payload = sso_frame_pack(&request.base);
    zframe_t *frame = payload ? oidc_login_start(service, payload, 0) : NULL;
    zframe_destroy(&payload);
    Sso__UpstreamStartReply *reply =
        frame ? sso__upstream_start_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
              : NULL;
    zframe_destroy(&frame);
    return reply;
}

static Sso__HttpResponse *s_test_callback(sso_service_t *service, const char *query)
{
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.method = "GET";
    request.path = OIDC_CALLBACK_PATH "/conn_o";
    request.query = (char *) query;
    zframe_t *frame = oidc_login_callback(service, &request, "conn_o", 0);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
}

/* ---- self-test: a slow or hostile provider ------------------------------------------- */

/* One start of the tests that run several at once (sso_service_run_fibers). */
typedef struct {
    sso_service_t *service;
    Sso__Connection conn;
    Sso__Transaction *txn;
    Sso__UpstreamStartReply *reply;
    int64_t ended_ms;
} s_test_run_t;

static void s_test_run(void *arg)
{
    s_test_run_t *run = arg;
    run->reply = s_test_start(run->service, &run->conn, run->txn);
    run->ended_ms = sso_now_ms();
}

/* n starts at once through conn's issuer; how many were answered with a redirect, the
   descriptions of the others into refused (one line each). */
static int s_test_starts(sso_service_t *service, const Sso__Connection *conn,
                         Sso__Transaction *txn, size_t n, char *refused, size_t refused_size,
                         int64_t *last_ms)
{
    s_test_run_t runs[SSO_OIDC_ISSUER_CALLS_MAX + 1];
    void *args[SSO_OIDC_ISSUER_CALLS_MAX + 1];
    int ok = 0;
    *refused = '\0';
    for (size_t i = 0; i < n; i++) {
        runs[i] = (s_test_run_t){service, *conn, txn, NULL, 0};
        args[i] = &runs[i];
    }
    SSO_CHECK(n <= SSO_OIDC_ISSUER_CALLS_MAX + 1
              && sso_service_run_fibers(s_test_run, args, n) == 0);
    for (size_t i = 0; i < n; i++) {
        Sso__UpstreamStartReply *reply = runs[i].reply;
        if (reply && !reply->error && *reply->redirect_url)
            ok++;
        else if (reply) {
            size_t len = strlen(refused);
            snprintf(refused + len, refused_size - len, "%s\n", reply->error_description);
        }
        if (last_ms)
            last_ms[i] = runs[i].ended_ms;
        sso__upstream_start_reply__free_unpacked(reply, NULL);
    }
    return ok;
}

/* Publishes under prefix a provider whose discovery answers after delay_ms; its issuer into
   issuer. 0 or -1. */
static int s_test_slow_provider(sso_oidc_test_idp_t *idp, const char *prefix, int delay_ms,
                                char *issuer, size_t issuer_size)
{
    char document[2000], path[300];
    snprintf(issuer, issuer_size, "%s%s", sso_oidc_test_idp_url(idp), prefix);
    snprintf(document, sizeof document,
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
             "\"response_types_supported\":[\"code\"]}", issuer, issuer, issuer, issuer);
    snprintf(path, sizeof path, "%s/.well-known/openid-configuration", prefix);
    return sso_oidc_test_idp_route(idp, path, 200, "Content-Type: application/json\r\n",
                                   document, delay_ms);
}

/* A failed discovery is remembered (a second start does not ask again and says when it
   failed); starts that want one issuer's discovery at once share one fetch; beyond
   SSO_OIDC_ISSUER_CALLS_MAX of them a start is refused at once; and a slow issuer holds up no
   other's starts. */
static void s_test_slow_starts(sso_service_t *service, sso_oidc_test_idp_t *idp,
                               Sso__Connection *conn, Sso__Transaction *txn)
{
    oidc_state_t *state = service->state;
    sso_oidc_test_idp_t *slow = sso_oidc_test_idp_new();
    SSO_CHECK(slow);
    if (!slow)
        return;
    char issuer[200], path[300], refused[4096];
    char *saved = conn->oidc_issuer;
    conn->oidc_issuer = issuer;

    /* Down (HTTP 500), then hanging past the call's limit: each failure is remembered. */
    struct {
        sso_oidc_test_idp_t *idp;
        const char *prefix;
        int status, delay_ms;
        const char *want;
    } down[] = {{idp, "/down", 500, 0, "answered HTTP 500"},
                {slow, "/hang", 200, 3000, "did not answer within 300 ms"}};
    state->fetch_timeout_ms = 300;
    for (size_t i = 0; i < sizeof down / sizeof *down; i++) {
        SSO_CHECK(sso_oidc_test_idp_provider(down[i].idp, down[i].prefix, issuer,
                                             sizeof issuer) == 0);
        snprintf(path, sizeof path, "%s/.well-known/openid-configuration", down[i].prefix);
        SSO_CHECK(sso_oidc_test_idp_route(down[i].idp, path, down[i].status,
                                          "Content-Type: application/json\r\n", "{}",
                                          down[i].delay_ms) == 0);
        for (int round = 0; round < 2; round++) {
            int64_t started = sso_now_ms();
            Sso__UpstreamStartReply *reply = s_test_start(service, conn, txn);
            int64_t took = sso_now_ms() - started;
            bool good = reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR
                        && strstr(reply->error_description, "discovery: ")
                        && strstr(reply->error_description, down[i].want)
                        && (round == 0) == !strstr(reply->error_description,
                                                   "(a failure of the fetch at 20")
                        && sso_oidc_test_idp_hits(down[i].idp, path) == 1
                        && (round == 0 || took < 100);
            if (!good)
                fprintf(stderr, "%s round %d (%lld ms): %s\n", down[i].prefix, round,
                        (long long) took, reply ? reply->error_description : "no reply");
            SSO_CHECK(good);
            sso__upstream_start_reply__free_unpacked(reply, NULL);
        }
    }
    state->fetch_timeout_ms = 0;

    /* Cold, five at once: one fetch for all. */
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/cold", issuer, sizeof issuer) == 0);
    snprintf(path, sizeof path, "/cold/.well-known/openid-configuration");
    SSO_CHECK(s_test_starts(service, conn, txn, 5, refused, sizeof refused, NULL) == 5);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, path) == 1);

    /* Cold and slow, one more than the cap at once: the last is refused at once, the others
       share one fetch. */
    SSO_CHECK(s_test_slow_provider(slow, "/crowd", 600, issuer, sizeof issuer) == 0);
    conn->oidc_issuer = issuer;
    int64_t ended[SSO_OIDC_ISSUER_CALLS_MAX + 1];
    int64_t started = sso_now_ms();
    SSO_CHECK(s_test_starts(service, conn, txn, SSO_OIDC_ISSUER_CALLS_MAX + 1, refused,
                            sizeof refused, ended) == SSO_OIDC_ISSUER_CALLS_MAX);
    char want[300];
    snprintf(want, sizeof want, "too many logins waiting on %s (%d at once)", issuer,
             SSO_OIDC_ISSUER_CALLS_MAX);
    SSO_CHECK(strstr(refused, want) && strchr(refused, '\n') == refused + strlen(refused) - 1);
    SSO_CHECK(ended[SSO_OIDC_ISSUER_CALLS_MAX] - started < 400); /* before the fetch ends */
    SSO_CHECK(sso_oidc_test_idp_hits(slow, "/crowd/.well-known/openid-configuration") == 1);

    /* A slow issuer (its discovery takes 1 s) and a quick one at once: the quick one's start
       is answered without waiting for the slow one. */
    SSO_CHECK(s_test_slow_provider(slow, "/late", 1000, issuer, sizeof issuer) == 0);
    char quick[200];
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/quick", quick, sizeof quick) == 0);
    s_test_run_t runs[2] = {{service, *conn, txn, NULL, 0}, {service, *conn, txn, NULL, 0}};
    runs[1].conn.oidc_issuer = quick;
    void *args[2] = {&runs[0], &runs[1]};
    started = sso_now_ms();
    SSO_CHECK(sso_service_run_fibers(s_test_run, args, 2) == 0);
    SSO_CHECK(runs[0].reply && !runs[0].reply->error && runs[1].reply && !runs[1].reply->error);
    SSO_CHECK(runs[1].ended_ms - started < 500 && runs[0].ended_ms - started >= 900);
    for (int i = 0; i < 2; i++)
        sso__upstream_start_reply__free_unpacked(runs[i].reply, NULL);

    conn->oidc_issuer = saved;
    sso_oidc_test_idp_destroy(&slow);
}

/* A callback whose token endpoint answers slowly and whose userinfo endpoint hangs ends within
   its budget (1.5 s of a 2 s deadline), with the reason naming the step, and its event is
   written (through the real directory). */
static void s_test_slow_callback(sso_service_t *service)
{
    dir_fake_t *dir = dir_fake_new();
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char issuer[200] = "", txn_id[128] = "";
    SSO_CHECK(dir && idp && key
              && sso_oidc_test_idp_provider(idp, "/b", issuer, sizeof issuer) == 0);
    sso_config_t config = *service->config;
    config.request_timeout_ms = 2000;
    sso_service_t bus = *service;
    bus.config = &config;
    bus.client = dir ? sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "oidc", NULL)
                     : NULL;
    SSO_CHECK(bus.client && dir_fake_login(dir, txn_id, sizeof txn_id) == 0);
    json_t *jwk = key ? sso_jose_public_jwk(key, "k1", "RS256") : NULL;
    json_t *jwks = json_pack("{s:[o]}", "keys", jwk);
    char *jwks_text = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    json_decref(jwks);
    int64_t now = sso_now_ms() / 1000;
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", issuer, "aud",
                               "client-1", "sub", "u-1", "nonce", "nonce-b", "iat",
                               (json_int_t) now, "exp", (json_int_t) now + 300);
    char *id_token = NULL, body[8192] = "";
    SSO_CHECK(jwks_text && claims && sso_jose_sign(key, "RS256", "k1", claims, &id_token) == 0);
    json_decref(claims);
    snprintf(body, sizeof body, "{\"id_token\":\"%s\",\"access_token\":\"at-1\","
             "\"token_type\":\"Bearer\"}", id_token ? id_token : "");
    const char *json_type = "Content-Type: application/json\r\n";
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/b/jwks", 200, json_type,
                                      jwks_text ? jwks_text : "", 0) == 0
              && sso_oidc_test_idp_route(idp, "/b/token", 200, json_type, body, 800) == 0
              && sso_oidc_test_idp_route(idp, "/b/userinfo", 200, json_type,
                                         "{\"sub\":\"u-1\",\"email\":\"u@example.com\"}", 5000)
                     == 0);
    free(id_token);
    free(jwks_text);

    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = "conn_b";
    conn.type = "oidc";
    conn.status = "active";
    conn.oidc_issuer = issuer;
    conn.oidc_client_id = "client-1";
    conn.oidc_client_secret = "secret-1";
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = txn_id;
    txn.oidc_nonce = "nonce-b";
    txn.oidc_code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    txn.max_age = -1;
    oidc_callback_t cb = {.state = "state-b", .code = "code-b"};
    oidc_state_t *state = service->state;
    state->fetch_timeout_ms = 1000;
    int64_t started = sso_now_ms();
    oidc_budget_t budget = oidc_budget(started + 2000, started);
    SSO_CHECK(budget.total_ms == 1500 && budget.until_ms == started + 1500);
    zframe_t *frame = *txn_id ? s_callback(&bus, &cb, &txn, &conn, &budget) : NULL;
    int64_t took = sso_now_ms() - started;
    state->fetch_timeout_ms = 0;
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    char want[300];
    snprintf(want, sizeof want, "the IdP at %s did not answer within 1.5 s (userinfo)", issuer);
    SSO_CHECK(response && response->status == 302);
    SSO_CHECK(took >= 1400 && took < 2000); /* the LoginFail too, before the deadline */
    SSO_CHECK(dir && dir_fake_events(dir, want) == 1);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/b/token") == 1
              && sso_oidc_test_idp_hits(idp, "/b/userinfo") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* Budgets: a quarter of the time left is kept, at most OIDC_RESERVE_MS; none: 8 s. */
    SSO_CHECK(oidc_budget(10000 + 10000, 10000).total_ms == 8000
              && oidc_budget(0, 10000).total_ms == 8000
              && oidc_budget(10000 + 400, 10000).total_ms == 300
              && oidc_budget(10000 - 5, 10000).total_ms == 0);
    sso_client_destroy(&bus.client);
    EVP_PKEY_free(key);
    sso_oidc_test_idp_destroy(&idp);
    dir_fake_destroy(&dir);
}

/* A callback at conn_oidc's path through the real directory (dir_fake): method, query, a form
   body (NULL: none) and a Cookie header (NULL: none); the answer unpacked. */
static Sso__HttpResponse *s_test_answer(sso_service_t *service, const char *connection_id,
                                        const char *method, const char *query, const char *body,
                                        const char *cookie)
{
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header type = SSO__HEADER__INIT, jar = SSO__HEADER__INIT;
    Sso__Header *headers[2];
    request.method = (char *) method;
    request.path = OIDC_CALLBACK_PATH;
    request.query = (char *) query;
    request.headers = headers;
    if (body) {
        type.name = "content-type";
        type.value = "application/x-www-form-urlencoded";
        headers[request.n_headers++] = &type;
        request.body.data = (uint8_t *) body;
        request.body.len = strlen(body);
    }
    if (cookie) {
        jar.name = "cookie";
        jar.value = (char *) cookie;
        headers[request.n_headers++] = &jar;
    }
    zframe_t *frame = oidc_login_callback(service, &request, connection_id, 0);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
}

/* The response's header name (the first of them), or NULL; with prefix, the first whose value
   starts with it. */
static const char *s_test_header(const Sso__HttpResponse *response, const char *name,
                                 const char *prefix)
{
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, name)
            && (!prefix || !strncmp(response->headers[i]->value, prefix, strlen(prefix))))
            return response->headers[i]->value;
    return NULL;
}

static bool s_test_body_has(const Sso__HttpResponse *response, const char *text)
{
    return response && response->body.len
           && memmem(response->body.data, response->body.len, text, strlen(text));
}

/* The binding cookie's re-post page, the response mode's checks and the cookie kept for the
   browser's next login, through the real directory. */
static void s_test_bound(void)
{
    dir_fake_t *dir = dir_fake_new();
    if (!dir)
        return;
    sso_config_t config = {.request_timeout_ms = 3000, .allow_private_upstreams = true};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.test");
    oidc_state_t state = {sso_oidc_cache_new(4), 0};
    sso_service_t service = {.config = &config, .state = &state, .instance = "test:1"};
    service.client = sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "oidc", NULL);
    char login[64] = "", binder[64] = "";
    char cookie[200], body[600], query[300], action[300];
    const char *name = sso_upstream_binding_name(config.public_url);
    snprintf(action, sizeof action, "action=\"https://sso.test/sso/oidc/callback/%s\"",
             dir->conn_oidc);
    SSO_CHECK(service.client
              && dir_fake_connection_options(dir, dir->conn_oidc,
                                             "{\"response_mode\":\"form_post\"}") == 0
              && dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
    snprintf(cookie, sizeof cookie, "other=1; %s=%s", name, binder);

    /* form_post: the provider's cross-site POST comes without the Lax cookie: the re-post page,
       the same fields escaped, marked, to the same callback; nothing stored, no cookie set. */
    int events = dir_fake_events(dir, "");
    snprintf(body, sizeof body, "state=%s&code=c%%26%%271&iss=https%%3A%%2F%%2Fidp%%22%%3E%%3Cb"
             "%%3E", login);
    Sso__HttpResponse *response =
        s_test_answer(&service, dir->conn_oidc, "POST", "", body, NULL);
    const char *csp = s_test_header(response, "Content-Security-Policy", NULL);
    char script_hash[80] = "";
    uint8_t digest[32];
    sso_sha256(S_REPOST_SCRIPT, strlen(S_REPOST_SCRIPT), digest);
    char *b64 = sso_base64_encode(digest, sizeof digest);
    snprintf(script_hash, sizeof script_hash, "script-src 'sha256-%s'", b64 ? b64 : "?");
    free(b64);
    SSO_CHECK(response && response->status == 200 && csp && strstr(csp, script_hash)
              && strstr(csp, "frame-ancestors 'none'") && strstr(csp, "default-src 'none'")
              && !strstr(csp, "unsafe-inline"));
    SSO_CHECK(response && !strcmp(s_test_header(response, "Cache-Control", NULL), "no-store")
              && !strcmp(s_test_header(response, "Referrer-Policy", NULL), "no-referrer")
              && !s_test_header(response, "Set-Cookie", NULL));
    snprintf(query, sizeof query, "name=\"state\" value=\"%s\"", login);
    SSO_CHECK(s_test_body_has(response, "<form method=\"post\" ")
              && s_test_body_has(response, action) && s_test_body_has(response, query)
              && s_test_body_has(response, "name=\"code\" value=\"c&amp;&#39;1\"")
              && s_test_body_has(response, "name=\"iss\" value=\"https://idp&quot;&gt;&lt;b&gt;\"")
              && s_test_body_has(response, "name=\"" OIDC_CALLBACK_REPOST_FIELD "\" value=\"1\"")
              && s_test_body_has(response, "<script>" S_REPOST_SCRIPT "</script>")
              && !s_test_body_has(response, "<b>"));
    SSO_CHECK(dir_fake_events(dir, "") == events);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* The re-post without the cookie (another site's, or a browser that has none): refused
       as before, never re-posted again, the login left open. */
    snprintf(body, sizeof body, "state=%s&code=c1&" OIDC_CALLBACK_REPOST_FIELD "=1", login);
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, NULL);
    SSO_CHECK(response && response->status == 400 && !s_test_header(response, "Set-Cookie", NULL)
              && !s_test_body_has(response, "<form"));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* A wrong cookie is no absent one: refused, not re-posted. */
    snprintf(query, sizeof query, "%s=not-the-binder", name);
    snprintf(body, sizeof body, "state=%s&code=c1", login);
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, query);
    SSO_CHECK(response && response->status == 400 && !s_test_body_has(response, "<form"));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* A query connection's cross-site POST is not re-posted. */
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_oidc, "{}") == 0);
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, NULL);
    SSO_CHECK(response && response->status == 400 && !s_test_body_has(response, "<form"));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_oidc,
                                          "{\"response_mode\":\"form_post\"}") == 0);
    SSO_CHECK(dir_fake_events(dir, "") == events);

    /* A code in the query of a form_post connection, from the login's browser: injected; the
       login fails with the reason, and the browser's cookie is left as it is (it binds the
       browser's other logins). */
    snprintf(query, sizeof query, "state=%s&code=c1", login);
    response = s_test_answer(&service, dir->conn_oidc, "GET", query, NULL, cookie);
    SSO_CHECK(response && response->status == 302
              && strstr(s_test_header(response, "Location", NULL), "error=access_denied")
              && !s_test_header(response, "Set-Cookie", NULL));
    SSO_CHECK(dir_fake_events(dir, "callback: the code came in the query, but connection ")
              == 1
              && dir_fake_events(dir, "uses response_mode=form_post") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    /* The same browser's next login is bound to the same binder (the token service reuses
       the browser's cookie): the same cookie passes its check. The re-post with it goes on
       to the exchange (the seeded provider is gone: the login fails at its discovery), and
       the cookie stays. */
    char first[64];
    snprintf(first, sizeof first, "%s", binder);
    SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0
              && !strcmp(binder, first));
    snprintf(cookie, sizeof cookie, "%s=%s", name, binder);
    snprintf(body, sizeof body, "state=%s&code=c1&" OIDC_CALLBACK_REPOST_FIELD "=1", login);
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, cookie);
    SSO_CHECK(response && response->status == 302
              && strstr(s_test_header(response, "Location", NULL), "error=server_error")
              && !s_test_header(response, "Set-Cookie", NULL));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* Ended: the same again names no open login, and clears nothing. */
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, cookie);
    SSO_CHECK(response && response->status == 400 && !s_test_header(response, "Set-Cookie", NULL));
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    /* A query connection: a POSTed code from the login's browser is injected; a POSTed or
       query error is taken either way (it grants nothing); the cookie stays. */
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_oidc, "{\"response_mode\":\"query\"}")
              == 0);
    for (int i = 0; i < 3; i++) {
        SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
        snprintf(body, sizeof body, "state=%s&%s", login,
                 i == 0 ? "code=c1" : "error=access_denied");
        response = s_test_answer(&service, dir->conn_oidc, i == 2 ? "GET" : "POST",
                                 i == 2 ? body : "", i == 2 ? NULL : body, cookie);
        SSO_CHECK(response && response->status == 302
                  && strstr(s_test_header(response, "Location", NULL), "error=access_denied")
                  && !s_test_header(response, "Set-Cookie", NULL));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
    SSO_CHECK(dir_fake_events(dir, "callback: the code came in a POSTed form, but connection ")
              == 1
              && dir_fake_events(dir, "uses response_mode=query") == 1
              && dir_fake_events(dir, "provider error: access_denied") == 2);

    /* A busy directory: the login is not ended; the cookie stays. */
    SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
    snprintf(query, sizeof query, "state=%s&error=access_denied", login);
    /* It answers the LoginContext, then leaves: LoginFail gets 503. */
    SSO_CHECK(dir_fake_stop_after(dir, 1) == 0);
    response = s_test_answer(&service, dir->conn_oidc, "GET", query, NULL, cookie);
    SSO_CHECK(response && response->status == 503 && !s_test_header(response, "Set-Cookie", NULL));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_stop(dir) == 0 && dir_fake_start(dir) == 0);

    sso_client_destroy(&service.client);
    sso_oidc_cache_destroy(&state.cache);
    dir_fake_destroy(&dir);
}

void oidc_login_test(bool verbose)
{
    (void) verbose;
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char issuer[200] = "", path[300];
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/acme", issuer, sizeof issuer) == 0);
    if (!idp)
        return;
    sso_config_t config = {.allow_private_upstreams = true};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.test");
    oidc_state_t state = {sso_oidc_cache_new(4), 0};
    sso_service_t service = {.config = &config, .state = &state};

    /* The start: the authorization request from the provider's discovery (fetched once, then
       cached) and the transaction. */
    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = "conn_o";
    conn.type = "oidc";
    conn.oidc_issuer = issuer;
    conn.oidc_client_id = "client-1";
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = "txn-o-0000000000000001";
    txn.oidc_state = "state-o-1";
    txn.oidc_nonce = "nonce-o-1";
    txn.oidc_code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    txn.max_age = -1;
    char authorize[300];
    snprintf(authorize, sizeof authorize, "%s/authorize?response_type=code&client_id=client-1&",
             issuer);
    snprintf(path, sizeof path, "/acme/.well-known/openid-configuration");
    for (int i = 0; i < 2; i++) {
        Sso__UpstreamStartReply *reply = s_test_start(&service, &conn, &txn);
        SSO_CHECK(reply && !reply->error
                  && !strncmp(reply->redirect_url, authorize, strlen(authorize))
                  && strstr(reply->redirect_url, "&state=state-o-1&nonce=nonce-o-1&")
                  && strstr(reply->redirect_url, "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URW"
                                                 "buGJSstw-cM&code_challenge_method=S256")
                  && strstr(reply->redirect_url,
                            "&redirect_uri=https%3A%2F%2Fsso.test%2Fsso%2Foidc%2Fcallback"));
        sso__upstream_start_reply__free_unpacked(reply, NULL);
        SSO_CHECK(sso_oidc_test_idp_hits(idp, path) == 1);
    }
    /* A provider whose discovery does not list S256 (Entra ID v2): PKCE all the same. */
    char plain[200] = "", document[1200];
    snprintf(plain, sizeof plain, "%s/nopkce", sso_oidc_test_idp_url(idp));
    snprintf(document, sizeof document,
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\","
             "\"token_endpoint\":\"%s/token\",\"jwks_uri\":\"%s/jwks\","
             "\"response_types_supported\":[\"code\"],"
             "\"id_token_signing_alg_values_supported\":[\"RS256\"]}",
             plain, plain, plain, plain);
    SSO_CHECK(sso_oidc_test_idp_route(idp, "/nopkce/.well-known/openid-configuration", 200,
                                      "Content-Type: application/json\r\n", document, 0) == 0);
    conn.oidc_issuer = plain;
    Sso__UpstreamStartReply *unlisted = s_test_start(&service, &conn, &txn);
    SSO_CHECK(unlisted && !unlisted->error
              && strstr(unlisted->redirect_url, "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URW"
                                                "buGJSstw-cM&code_challenge_method=S256"));
    sso__upstream_start_reply__free_unpacked(unlisted, NULL);
    conn.oidc_issuer = issuer;

    /* A provider whose discovery fails: a server error saying why; a connection that is not
       an OIDC one, or no transaction: invalid_request. */
    char broken[200] = "";
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/broken", broken, sizeof broken) == 0
              && sso_oidc_test_idp_route(idp, "/broken/.well-known/openid-configuration", 500,
                                         NULL, "oops", 0) == 0);
    conn.oidc_issuer = broken;
    Sso__UpstreamStartReply *reply = s_test_start(&service, &conn, &txn);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR
              && strstr(reply->error_description, "discovery:") && !*reply->redirect_url);
    sso__upstream_start_reply__free_unpacked(reply, NULL);
    conn.oidc_issuer = issuer;
    conn.type = "saml";
    reply = s_test_start(&service, &conn, &txn);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__INVALID_REQUEST);
    sso__upstream_start_reply__free_unpacked(reply, NULL);
    conn.type = "oidc";
    reply = s_test_start(&service, &conn, NULL);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__INVALID_REQUEST);
    sso__upstream_start_reply__free_unpacked(reply, NULL);

    /* The callback: one that names no login is answered 400 and counted, without a bus call
       (there is none here); one that names a login asks the directory (503 without it). */
    const char *anonymous[] = {"", "code=c1", "state=&code=c1", "state=a%20b&code=c1",
                               "state=s&state=t&code=c"};
    for (size_t i = 0; i < sizeof anonymous / sizeof *anonymous; i++) {
        Sso__HttpResponse *response = s_test_callback(&service, anonymous[i]);
        SSO_CHECK(response && response->status == 400 && response->n_counters == 1
                  && !strcmp(response->counters[0], "callback_anonymous"));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
    Sso__HttpResponse *response = s_test_callback(&service, "state=state-o-1&code=c1");
    SSO_CHECK(response && response->status == 503);
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    s_test_slow_starts(&service, idp, &conn, &txn);
    s_test_slow_callback(&service);

    sso_oidc_cache_destroy(&state.cache);
    sso_oidc_test_idp_destroy(&idp);
    s_test_bound();
}
