#include "oidc_login.h"
#include "oidc_authorize.h"
#include "oidc_callback.h"
#include "oidc_claims.h"
#include "oidc_exchange.h"
#include "sso_clients.h"
#include "sso_fetch.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include "../directory/dir_fake.h"
#include "sso_crypto.h"
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

/* ---- the provider's documents, off the loop ------------------------------------------- */

typedef struct {
    const char *issuer, *url;
    bool allow_private;
    sso_oidc_discovery_t discovery;
    char *jwks;
    int64_t max_age_s;
    int rc;
    char why[S_WHY];
} s_fetch_t;

static void s_fetch_discovery(void *arg)
{
    s_fetch_t *f = arg;
    f->rc = sso_oidc_discovery_fetch(f->issuer, f->allow_private, &f->discovery, f->why,
                                     sizeof f->why);
}

static void s_fetch_jwks(void *arg)
{
    s_fetch_t *f = arg;
    f->rc = sso_oidc_jwks_fetch(f->url, f->allow_private, &f->jwks, &f->max_age_s, f->why,
                                sizeof f->why);
}

/* The issuer's discovery into out (free it): the cached one while fresh, else fetched and
   cached. 0, or -1 with why. */
static int s_discovery(sso_service_t *service, const char *issuer, sso_oidc_discovery_t *out,
                       char *why, size_t why_size)
{
    oidc_state_t *state = s_state(service);
    if (state && sso_oidc_cache_discovery_get(state->cache, issuer, s_now(), out) == 1)
        return 0;
    s_fetch_t f = {.issuer = issuer,
                   .allow_private = service && service->config->allow_private_upstreams};
    sso_service_offload(s_fetch_discovery, &f);
    if (f.rc != 0) {
        snprintf(why, why_size, "discovery: %.500s", f.why);
        return -1;
    }
    if (state)
        (void) sso_oidc_cache_discovery_put(state->cache, &f.discovery, s_now());
    *out = f.discovery;
    return 0;
}

/* The provider's keys: the cached JWKS, else (or with refresh) fetched and cached. NULL with
   why. */
static sso_jose_keys_t *s_keys(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                               bool refresh, char *why, size_t why_size)
{
    oidc_state_t *state = s_state(service);
    char *jwks = !refresh && state
                     ? sso_oidc_cache_jwks_get(state->cache, discovery->issuer, s_now())
                     : NULL;
    if (!jwks) {
        s_fetch_t f = {.url = discovery->jwks_uri,
                       .allow_private = service && service->config->allow_private_upstreams};
        sso_service_offload(s_fetch_jwks, &f);
        if (f.rc != 0) {
            snprintf(why, why_size, "jwks: %.500s", f.why);
            return NULL;
        }
        if (state)
            (void) sso_oidc_cache_jwks_put(state->cache, discovery->issuer, f.jwks, s_now(),
                                           f.max_age_s);
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

zframe_t *oidc_login_start(sso_service_t *service, zframe_t *payload)
{
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
    if (s_discovery(service, conn->oidc_issuer, &discovery, why, sizeof why) != 0) {
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
    sso_fetch_request_t request;
    sso_fetch_response_t response;
    int rc;
    char why[S_WHY];
} s_exchange_t;

static void s_exchange_run(void *arg)
{
    s_exchange_t *x = arg;
    x->rc = sso_fetch(&x->request, &x->response, x->why, sizeof x->why);
}

/* The code exchanged for an ID token: 0 with *id_token and *access_token (NULL when the
   provider gave none), or -1 with why. */
static int s_exchange(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                      const Sso__Connection *conn, const Sso__Transaction *txn, const char *code,
                      char **id_token, char **access_token, char *why, size_t why_size)
{
    char redirect_uri[1200];
    oidc_authorize_redirect_uri(service ? service->config->public_url : "", conn->id,
                                redirect_uri, sizeof redirect_uri);
    oidc_exchange_t in = {conn->oidc_client_id, conn->oidc_client_secret,
                          discovery->token_auth == SSO_OIDC_AUTH_CLIENT_SECRET_BASIC,
                          redirect_uri, code,
                          txn->oidc_code_verifier}; /* PKCE always, as the start sent it */
    char *body = NULL, *authorization = NULL;
    if (oidc_exchange_request(&in, &body, &authorization, why, why_size) != 0)
        return -1;
    s_exchange_t x = {.request = {.url = discovery->token_endpoint, .method = "POST",
                                  .body = body, .body_len = strlen(body),
                                  .content_type = "application/x-www-form-urlencoded",
                                  .accept = "application/json",
                                  .authorization = authorization,
                                  .allow_private = service
                                                   && service->config->allow_private_upstreams,
                                  .timeout_ms = SSO_OIDC_FETCH_TIMEOUT_MS}};
    sso_service_offload(s_exchange_run, &x);
    OPENSSL_cleanse(body, strlen(body));
    free(body);
    if (authorization)
        OPENSSL_cleanse(authorization, strlen(authorization));
    free(authorization);
    int rc = -1;
    if (x.rc != 0)
        snprintf(why, why_size, "token endpoint: %.500s", x.why);
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
                      const Sso__Connection *conn, const Sso__Transaction *txn,
                      const char *id_token, json_t **claims, char *why, size_t why_size)
{
    const char *algs[10];
    s_algs(discovery, algs);
    *claims = NULL;
    sso_jose_status_t status = SSO_JOSE_REFUSED;
    char jose_why[SSO_JOSE_WHY_SIZE] = "";
    for (int round = 0; round < 2; round++) {
        sso_jose_keys_t *keys = s_keys(service, discovery, round == 1, why, why_size);
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
   log says why); -1 with why when the answer must not be used (another sub). */
static int s_userinfo(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                      const char *access_token, json_t *claims, char *why, size_t why_size)
{
    if (json_object_get(claims, "email") || !discovery->userinfo_endpoint || !access_token)
        return 0;
    char authorization[8300];
    snprintf(authorization, sizeof authorization, "Bearer %s", access_token);
    s_exchange_t x = {.request = {.url = discovery->userinfo_endpoint, .method = "GET",
                                  .accept = "application/json", .authorization = authorization,
                                  .allow_private = service
                                                   && service->config->allow_private_upstreams,
                                  .timeout_ms = SSO_OIDC_FETCH_TIMEOUT_MS}};
    sso_service_offload(s_exchange_run, &x);
    OPENSSL_cleanse(authorization, sizeof authorization);
    json_t *info = x.rc == 0 && x.response.status == 200
                       ? json_loadb(x.response.body, x.response.len, JSON_REJECT_DUPLICATES, NULL)
                       : NULL;
    int rc = 0;
    if (!info)
        sso_warn("userinfo at %.200s not used: %s", discovery->userinfo_endpoint,
                 x.rc != 0 ? x.why : "not HTTP 200 with a JSON object");
    else
        rc = oidc_claims_merge(claims, info, why, why_size);
    json_decref(info);
    sso_fetch_response_free(&x.response);
    return rc;
}

/* The callback once its login is known. */
static zframe_t *s_callback(sso_service_t *service, const oidc_callback_t *cb,
                            const Sso__Transaction *txn, const Sso__Connection *conn)
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
    if (s_discovery(service, conn->oidc_issuer, &discovery, why, sizeof why) != 0
        || s_exchange(service, &discovery, conn, txn, cb->code, &id_token, &access_token, why,
                      sizeof why) != 0)
        frame = s_fail(service, txn, "server_error", "the identity provider's answer could not "
                       "be used", why);
    else if (s_id_token(service, &discovery, conn, txn, id_token, &claims, why, sizeof why) != 0
             || s_userinfo(service, &discovery, access_token, claims, why, sizeof why) != 0)
        frame = s_fail(service, txn, "access_denied", "the identity provider's ID token was "
                       "refused; the event log has details", why);
    else if (!(profile = oidc_claims_profile(claims, why, sizeof why)))
        frame = s_fail(service, txn, "access_denied", "the identity provider's ID token was "
                       "refused; the event log has details", why);
    else if (sso_upstream_domain_check(conn, profile->email, description, sizeof description,
                                       why, sizeof why) != 0)
        frame = s_fail(service, txn, "access_denied", description, why);
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
   only for a state that names an open form_post login of this connection; the binding cookie
   is named by that state, so an attacker's answer for a login of his own finds no cookie in
   the victim's browser and is refused (the victim's logins are left as they were), and the
   victim's own state is not his to know. The page echoes only what the request brought (each
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

static bool s_busy_frame(zframe_t *frame)
{
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    bool busy = !response || response->status == 503;
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    return busy;
}

/* The callback from the login's own browser (its binding cookie checked). Every answer that
   ends the login clears the cookie; a busy directory's does not (the login is still open). */
static zframe_t *s_bound(sso_service_t *service, const oidc_callback_t *cb, int parsed,
                         const char *parse_why, const Sso__LoginContextReply *context)
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
        frame = s_callback(service, cb, context->txn, context->connection);
    if (!s_busy_frame(frame)
        && sso_upstream_binding_clear(frame, service ? service->config->public_url : "",
                                      cb->state) != 0)
        sso_warn("callback: could not clear the binding cookie of a login that ended");
    return frame;
}

zframe_t *oidc_login_callback(sso_service_t *service, const Sso__HttpRequest *request,
                              const char *connection_id)
{
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
    else if ((binding = sso_upstream_binding_check(request, public_url, cb.state,
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
        frame = s_bound(service, &cb, parsed, why, context);
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
    zframe_t *frame = payload ? oidc_login_start(service, payload) : NULL;
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
    zframe_t *frame = oidc_login_callback(service, &request, "conn_o");
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return response;
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
    zframe_t *frame = oidc_login_callback(service, &request, connection_id);
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

/* The binding cookie's re-post page, the response mode's checks and the cookie's clearing,
   through the real directory. */
static void s_test_bound(void)
{
    dir_fake_t *dir = dir_fake_new();
    if (!dir)
        return;
    sso_config_t config = {.request_timeout_ms = 3000, .allow_private_upstreams = true};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.test");
    oidc_state_t state = {sso_oidc_cache_new(4)};
    sso_service_t service = {.config = &config, .state = &state, .instance = "test:1"};
    service.client = sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "oidc", NULL);
    char login[64] = "", binder[64] = "", name[SSO_UPSTREAM_BINDING_NAME_SIZE];
    char cookie[200], body[600], query[300], cleared[200], action[300];
    snprintf(action, sizeof action, "action=\"https://sso.test/sso/oidc/callback/%s\"",
             dir->conn_oidc);
    SSO_CHECK(service.client
              && dir_fake_connection_options(dir, dir->conn_oidc,
                                             "{\"response_mode\":\"form_post\"}") == 0
              && dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
    sso_upstream_binding_name(config.public_url, login, name);
    snprintf(cookie, sizeof cookie, "other=1; %s=%s", name, binder);
    snprintf(cleared, sizeof cleared, "%s=; Path=/; Max-Age=0;", name);

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
       login fails with the reason, and its cookie is cleared. */
    snprintf(query, sizeof query, "state=%s&code=c1", login);
    response = s_test_answer(&service, dir->conn_oidc, "GET", query, NULL, cookie);
    SSO_CHECK(response && response->status == 302
              && strstr(s_test_header(response, "Location", NULL), "error=access_denied")
              && s_test_header(response, "Set-Cookie", cleared));
    SSO_CHECK(dir_fake_events(dir, "callback: the code came in the query, but connection ")
              == 1
              && dir_fake_events(dir, "uses response_mode=form_post") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    /* The re-post with the cookie goes on to the exchange (the seeded provider is gone: the
       login fails at its discovery) and clears the cookie. */
    SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
    sso_upstream_binding_name(config.public_url, login, name);
    snprintf(cookie, sizeof cookie, "%s=%s", name, binder);
    snprintf(cleared, sizeof cleared, "%s=; Path=/; Max-Age=0;", name);
    snprintf(body, sizeof body, "state=%s&code=c1&" OIDC_CALLBACK_REPOST_FIELD "=1", login);
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, cookie);
    SSO_CHECK(response && response->status == 302
              && strstr(s_test_header(response, "Location", NULL), "error=server_error")
              && s_test_header(response, "Set-Cookie", cleared));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    /* Ended: the same again names no open login, and clears nothing. */
    response = s_test_answer(&service, dir->conn_oidc, "POST", "", body, cookie);
    SSO_CHECK(response && response->status == 400 && !s_test_header(response, "Set-Cookie", NULL));
    if (response)
        sso__http_response__free_unpacked(response, NULL);

    /* A query connection: a POSTed code from the login's browser is injected; a POSTed or
       query error is taken either way (it grants nothing), and clears the cookie. */
    SSO_CHECK(dir_fake_connection_options(dir, dir->conn_oidc, "{\"response_mode\":\"query\"}")
              == 0);
    for (int i = 0; i < 3; i++) {
        SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
        sso_upstream_binding_name(config.public_url, login, name);
        snprintf(cookie, sizeof cookie, "%s=%s", name, binder);
        snprintf(cleared, sizeof cleared, "%s=; Path=/; Max-Age=0;", name);
        snprintf(body, sizeof body, "state=%s&%s", login,
                 i == 0 ? "code=c1" : "error=access_denied");
        response = s_test_answer(&service, dir->conn_oidc, i == 2 ? "GET" : "POST",
                                 i == 2 ? body : "", i == 2 ? NULL : body, cookie);
        SSO_CHECK(response && response->status == 302
                  && strstr(s_test_header(response, "Location", NULL), "error=access_denied")
                  && s_test_header(response, "Set-Cookie", cleared));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
    SSO_CHECK(dir_fake_events(dir, "callback: the code came in a POSTed form, but connection ")
              == 1
              && dir_fake_events(dir, "uses response_mode=query") == 1
              && dir_fake_events(dir, "provider error: access_denied") == 2);

    /* A busy directory: the login is not ended, so its cookie stays. */
    SSO_CHECK(dir_fake_oidc_login(dir, login, sizeof login, binder, sizeof binder) == 0);
    sso_upstream_binding_name(config.public_url, login, name);
    snprintf(cookie, sizeof cookie, "%s=%s", name, binder);
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
    oidc_state_t state = {sso_oidc_cache_new(4)};
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

    sso_oidc_cache_destroy(&state.cache);
    sso_oidc_test_idp_destroy(&idp);
    s_test_bound();
}
