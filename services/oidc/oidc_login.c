#include "oidc_login.h"
#include "../directory/dir_fake.h"
#include "oidc_authorize.h"
#include "oidc_callback.h"
#include "oidc_calls.h"
#include "oidc_claims.h"
#include "oidc_repost.h"
#include "sso_clients.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_oidc_test_idp.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <openssl/evp.h>
#include <openssl/rsa.h>
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
    budget.organization_id = conn->organization_id;
    char why[S_WHY] = "";
    sso_oidc_discovery_t discovery = {0};
    zframe_t *reply;
    if (oidc_calls_discovery(service, conn->oidc_issuer, &budget, &discovery, why, sizeof why)
        != 0) {
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

/* The ID token verified against the provider's keys (an unknown kid refetches them, at most
   once per 30 s per issuer) and its claims checked: 0 with *claims, or -1 with why. */
static int s_id_token(sso_service_t *service, const sso_oidc_discovery_t *discovery,
                      const oidc_budget_t *budget, const Sso__Connection *conn,
                      const Sso__Transaction *txn, const char *id_token, json_t **claims,
                      char *why, size_t why_size)
{
    const char *algs[SSO_OIDC_ALGS_MAX + 1];
    sso_oidc_discovery_algs(discovery, algs);
    *claims = NULL;
    sso_jose_status_t status = SSO_JOSE_REFUSED;
    char jose_why[SSO_JOSE_WHY_SIZE] = "";
    for (int round = 0; round < 2; round++) {
        sso_jose_keys_t *keys =
            oidc_calls_keys(service, discovery, round == 1, budget, why, why_size);
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

/* The callback once its login is known. */
static zframe_t *s_callback(sso_service_t *service, const oidc_callback_t *cb,
                            const Sso__Transaction *txn, const Sso__Connection *conn,
                            const oidc_budget_t *request_budget)
{
    oidc_budget_t mine = *request_budget;
    mine.organization_id = conn->organization_id;
    const oidc_budget_t *budget = &mine;
    char why[S_WHY] = "", description[300];
    /* A test login (the admin portal's) may try a connection before it is enabled; the
       directory, which alone knows what is a test, refuses any other login on it. */
    bool test = sso_upstream_is_test(txn->id);
    if (strcmp(conn->type, "oidc") != 0 || (!test && strcmp(conn->status, "active") != 0)) {
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
    if (oidc_calls_discovery(service, conn->oidc_issuer, budget, &discovery, why, sizeof why) != 0
        || oidc_calls_token(service, &discovery, budget, conn, txn, cb->code, &id_token,
                            &access_token, why, sizeof why) != 0)
        frame = s_fail(service, txn, "server_error", "the identity provider's answer could not "
                       "be used", why);
    else if (s_id_token(service, &discovery, budget, conn, txn, id_token, &claims, why,
                        sizeof why) != 0
             || oidc_calls_userinfo(service, &discovery, budget, access_token,
                                    oidc_claims_email_claim(conn), claims, why, sizeof why)
                    != 0)
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
        /* The claims as the provider sent them (ID token and userinfo), or that they were
           too many: a test's result, else the connection's last login. */
        char *raw = sso_upstream_raw_json(claims);
        complete.raw_json = raw ? raw : "";
        Sso__LoginRedirectReply *reply = NULL;
        if (sso_dir_login_complete(service, &complete, &reply) != 0)
            frame = s_busy();
        else if (!reply->error && (*reply->code || *reply->redirect_error || test))
            /* A test login issues no code: its redirect is the portal's result page; a login
               the directory refused itself (a deactivated SCIM user) carries its error. */
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
        free(raw);
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
    else if (oidc_repost_mode_check(cb, context->connection, why, sizeof why) != 0)
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
           our own origin (oidc_repost_page), the login unchanged. */
        frame = oidc_repost_page(public_url, connection_id, &cb);
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
            Sso__UpstreamStartReply *reply = s_test_start(service, conn, txn);
            bool good = reply && reply->error == SSO__RPC_ERROR__SERVER_ERROR
                        && strstr(reply->error_description, "discovery: ")
                        && strstr(reply->error_description, down[i].want)
                        && (round == 0) == !strstr(reply->error_description,
                                                   "(a failure of the fetch at 20")
                        && sso_oidc_test_idp_hits(down[i].idp, path) == 1;
            if (!good)
                fprintf(stderr, "%s round %d: %s\n", down[i].prefix, round,
                        reply ? reply->error_description : "no reply");
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
    SSO_CHECK(s_test_starts(service, conn, txn, SSO_OIDC_ISSUER_CALLS_MAX + 1, refused,
                            sizeof refused, ended) == SSO_OIDC_ISSUER_CALLS_MAX);
    char want[300];
    snprintf(want, sizeof want, "too many logins waiting on %s (%d at once)", issuer,
             SSO_OIDC_ISSUER_CALLS_MAX);
    SSO_CHECK(strstr(refused, want) && strchr(refused, '\n') == refused + strlen(refused) - 1);
    /* Refused at once: before any of the others, which waited for the fetch, ended. */
    for (int i = 0; i < SSO_OIDC_ISSUER_CALLS_MAX; i++)
        SSO_CHECK(ended[SSO_OIDC_ISSUER_CALLS_MAX] <= ended[i]);
    SSO_CHECK(sso_oidc_test_idp_hits(slow, "/crowd/.well-known/openid-configuration") == 1);

    /* A slow issuer (its discovery takes 1 s) and a quick one at once: the quick one's start
       is answered without waiting for the slow one. */
    SSO_CHECK(s_test_slow_provider(slow, "/late", 1000, issuer, sizeof issuer) == 0);
    char quick[200];
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/quick", quick, sizeof quick) == 0);
    s_test_run_t runs[2] = {{service, *conn, txn, NULL, 0}, {service, *conn, txn, NULL, 0}};
    runs[1].conn.oidc_issuer = quick;
    void *args[2] = {&runs[0], &runs[1]};
    SSO_CHECK(sso_service_run_fibers(s_test_run, args, 2) == 0);
    SSO_CHECK(runs[0].reply && !runs[0].reply->error && runs[1].reply && !runs[1].reply->error);
    SSO_CHECK(runs[1].ended_ms < runs[0].ended_ms); /* the slow one started first */
    for (int i = 0; i < 2; i++)
        sso__upstream_start_reply__free_unpacked(runs[i].reply, NULL);

    conn->oidc_issuer = saved;
    sso_oidc_test_idp_destroy(&slow);
}

/* The caps beyond the issuer's: one organization's logins across several issuers, and the
   service's calls in all. The refused start is the last of the batch: fibers start in order,
   and the others hold their places while they wait for the slow fetches. */
static void s_test_caps(sso_service_t *service, Sso__Connection *conn, Sso__Transaction *txn)
{
    oidc_state_t *state = service->state;
    sso_oidc_test_idp_t *slow = sso_oidc_test_idp_new(), *quick = sso_oidc_test_idp_new();
    char one[200], two[200], three[200], fast[200], refused[600] = "";
    SSO_CHECK(slow && quick && s_test_slow_provider(slow, "/org1", 600, one, sizeof one) == 0
              && s_test_slow_provider(slow, "/org2", 600, two, sizeof two) == 0
              && s_test_slow_provider(slow, "/all", 600, three, sizeof three) == 0
              && sso_oidc_test_idp_provider(quick, "/other", fast, sizeof fast) == 0);
    if (!slow || !quick) {
        sso_oidc_test_idp_destroy(&slow);
        sso_oidc_test_idp_destroy(&quick);
        return;
    }
    /* org_a: half of the starts through each of two issuers, one more than its cap in all;
       org_b at the same time through a quick provider. */
    enum { N = OIDC_ORG_CALLS_MAX + 2 };
    s_test_run_t runs[N];
    void *args[N];
    for (int i = 0; i < N; i++) {
        runs[i] = (s_test_run_t){service, *conn, txn, NULL, 0};
        runs[i].conn.organization_id = i < N - 1 ? "org_a" : "org_b";
        runs[i].conn.oidc_issuer = i == N - 1 ? fast : i % 2 ? two : one;
        args[i] = &runs[i];
    }
    SSO_CHECK(sso_service_run_fibers(s_test_run, args, N) == 0);
    int answered = 0;
    for (int i = 0; i < N; i++) {
        Sso__UpstreamStartReply *reply = runs[i].reply;
        if (reply && !reply->error)
            answered++;
        else if (reply)
            snprintf(refused, sizeof refused, "%d: %s", i, reply->error_description);
        sso__upstream_start_reply__free_unpacked(reply, NULL);
    }
    char want[300];
    snprintf(want, sizeof want, "%d: too many logins of organization org_a waiting on its "
             "providers (%d at once)", N - 2, OIDC_ORG_CALLS_MAX);
    SSO_CHECK(answered == N - 1 && strstr(refused, want) == refused);
    if (answered != N - 1 || strstr(refused, want) != refused)
        fprintf(stderr, "  caps: %d answered, refused %s\n", answered, refused);
    SSO_CHECK(state->calls == 0);

    /* The service's cap: one more start than it allows, each of another organization. */
    state->calls_max = 3;
    const char *orgs[] = {"org_1", "org_2", "org_3", "org_4"};
    for (int i = 0; i < 4; i++) {
        runs[i] = (s_test_run_t){service, *conn, txn, NULL, 0};
        runs[i].conn.organization_id = (char *) orgs[i];
        runs[i].conn.oidc_issuer = three;
        args[i] = &runs[i];
    }
    SSO_CHECK(sso_service_run_fibers(s_test_run, args, 4) == 0);
    answered = 0;
    for (int i = 0; i < 4; i++) {
        Sso__UpstreamStartReply *reply = runs[i].reply;
        answered += reply && !reply->error;
        if (i == 3)
            SSO_CHECK(reply && reply->error
                      && strstr(reply->error_description,
                                "the oidc service has 3 calls to providers in progress, its "
                                "limit"));
        sso__upstream_start_reply__free_unpacked(reply, NULL);
    }
    SSO_CHECK(answered == 3 && state->calls == 0);
    /* A burst to a healthy provider is no hostile one: at the cap, the calls wait a moment
       for the places the quick fetch frees, and every start is answered. */
    SSO_CHECK(s_test_slow_provider(slow, "/burst", 20, three, sizeof three) == 0);
    state->calls_max = 2;
    state->cap_wait_ms = 5000; /* a quick fetch even on a loaded machine */
    for (int i = 0; i < 6; i++) {
        runs[i] = (s_test_run_t){service, *conn, txn, NULL, 0};
        runs[i].conn.organization_id = (char *) orgs[i % 4];
        runs[i].conn.oidc_issuer = three;
        args[i] = &runs[i];
    }
    SSO_CHECK(sso_service_run_fibers(s_test_run, args, 6) == 0);
    answered = 0;
    for (int i = 0; i < 6; i++) {
        answered += runs[i].reply && !runs[i].reply->error;
        sso__upstream_start_reply__free_unpacked(runs[i].reply, NULL);
    }
    SSO_CHECK(answered == 6 && state->calls == 0);
    state->cap_wait_ms = 0;
    state->calls_max = 0;
    SSO_CHECK(oidc_calls_max(32) == 24 && oidc_calls_max(1) == 1 && oidc_calls_max(0) == 1
              && oidc_calls_max(1000) == OIDC_CALLS_ORGS);
    sso_oidc_test_idp_destroy(&slow);
    sso_oidc_test_idp_destroy(&quick);
}

/* A callback whose token endpoint answers slowly and whose userinfo endpoint hangs ends within
   its budget (1.5 s of a 2 s deadline), with the reason naming the step, and its event is
   written (through the real directory). */
#define S_JSON_TYPE "Content-Type: application/json\r\n"

/* The provider under prefix of the stand-in idp: its JWKS (key's public half, kid k1) and a
   token endpoint answering, after delay_ms, an ID token of claims (taken) signed by key.
   0, or -1. */
static int s_test_provider(sso_oidc_test_idp_t *idp, const char *prefix, EVP_PKEY *key,
                           json_t *claims, int delay_ms)
{
    json_t *jwk = key ? sso_jose_public_jwk(key, "k1", "RS256") : NULL;
    json_t *jwks = json_pack("{s:[o]}", "keys", jwk);
    char *jwks_text = jwks ? json_dumps(jwks, JSON_COMPACT) : NULL;
    json_decref(jwks);
    char *id_token = NULL, body[8192], path[200];
    int rc = jwks_text && claims && sso_jose_sign(key, "RS256", "k1", claims, &id_token) == 0
                 ? 0
                 : -1;
    json_decref(claims);
    snprintf(body, sizeof body, "{\"id_token\":\"%s\",\"access_token\":\"at-1\","
             "\"token_type\":\"Bearer\"}", id_token ? id_token : "");
    snprintf(path, sizeof path, "%s/jwks", prefix);
    if (rc == 0)
        rc = sso_oidc_test_idp_route(idp, path, 200, S_JSON_TYPE, jwks_text, 0);
    snprintf(path, sizeof path, "%s/token", prefix);
    if (rc == 0)
        rc = sso_oidc_test_idp_route(idp, path, 200, S_JSON_TYPE, body, delay_ms);
    free(id_token);
    free(jwks_text);
    return rc;
}

/* service as the oidc service on dir's bus, with a 2 s deadline (config is its own). */
static void s_test_bus(const sso_service_t *service, dir_fake_t *dir, sso_config_t *config,
                       sso_service_t *bus)
{
    *config = *service->config;
    config->request_timeout_ms = 2000;
    *bus = *service;
    bus->config = config;
    bus->client = dir ? sso_client_new(dir_fake_endpoint(dir), dir_fake_keys(dir), "oidc", NULL)
                      : NULL;
}

static void s_test_slow_callback(sso_service_t *service)
{
    dir_fake_t *dir = dir_fake_new();
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char issuer[200] = "", txn_id[128] = "";
    SSO_CHECK(dir && idp && key
              && sso_oidc_test_idp_provider(idp, "/b", issuer, sizeof issuer) == 0);
    sso_config_t config;
    sso_service_t bus;
    s_test_bus(service, dir, &config, &bus);
    SSO_CHECK(bus.client && dir_fake_login(dir, txn_id, sizeof txn_id) == 0);
    int64_t now = sso_now_ms() / 1000;
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", issuer, "aud",
                               "client-1", "sub", "u-1", "nonce", "nonce-b", "iat",
                               (json_int_t) now, "exp", (json_int_t) now + 300);
    SSO_CHECK(s_test_provider(idp, "/b", key, claims, 800) == 0
              && sso_oidc_test_idp_route(idp, "/b/userinfo", 200, S_JSON_TYPE,
                                         "{\"sub\":\"u-1\",\"email\":\"u@example.com\"}", 5000)
                     == 0);

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
    state->fetch_timeout_ms = 0;
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    char want[300];
    snprintf(want, sizeof want, "the IdP at %s did not answer within 1.5 s (userinfo)", issuer);
    SSO_CHECK(response && response->status == 302);
    SSO_CHECK(dir && dir_fake_events(dir, want) == 1);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/b/token") == 1
              && sso_oidc_test_idp_hits(idp, "/b/userinfo") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    sso_client_destroy(&bus.client);
    EVP_PKEY_free(key);
    sso_oidc_test_idp_destroy(&idp);
    dir_fake_destroy(&dir);
}

/* A test login from the admin portal on the OIDC connection once disabled, through the
   real directory and the stand-in provider: the claims are the test's result, the browser
   goes to the result page with no code; a client's login on it is still refused. */
static void s_test_login_test(sso_service_t *service)
{
    dir_fake_t *dir = dir_fake_new();
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    EVP_PKEY *key = EVP_RSA_gen(2048);
    char issuer[200] = "", handle[64], test_id[64] = "", txn_id[80] = "";
    SSO_CHECK(dir && idp && key
              && sso_oidc_test_idp_provider(idp, "/t", issuer, sizeof issuer) == 0
              && dir_fake_connection_status(dir, dir->conn_oidc, "inactive") == 0
              && dir_fake_test_login(dir, dir->org_oidc, dir->conn_oidc,
                                     "AAAAbbbbCCCCddddEEEEffffGGGGhhhh", handle, test_id, txn_id)
                     == 0);
    sso_config_t config;
    sso_service_t bus;
    s_test_bus(service, dir, &config, &bus);
    int64_t now = sso_now_ms() / 1000;
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:[s]}", "iss", issuer,
                               "aud", "client-1", "sub", "u-1", "nonce", "nonce-t", "iat",
                               (json_int_t) now, "exp", (json_int_t) now + 300, "email",
                               "u@oidc.example", "groups", "<b>ops</b>");
    SSO_CHECK(bus.client && s_test_provider(idp, "/t", key, claims, 0) == 0);

    char *domains[] = {"oidc.example"};
    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = dir ? dir->conn_oidc : "";
    conn.organization_id = dir ? dir->org_oidc : "";
    conn.type = "oidc";
    conn.status = "inactive";
    conn.oidc_issuer = issuer;
    conn.oidc_client_id = "client-1";
    conn.oidc_client_secret = "secret-1";
    conn.organization_domains = domains;
    conn.n_organization_domains = 1;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = txn_id;
    txn.oidc_nonce = "nonce-t";
    txn.oidc_code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    txn.max_age = -1;
    oidc_callback_t cb = {.state = "state-t", .code = "code-t"};
    int64_t started = sso_now_ms();
    oidc_budget_t budget = oidc_budget(started + 2000, started);
    zframe_t *frame = *txn_id && bus.client ? s_callback(&bus, &cb, &txn, &conn, &budget) : NULL;
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    char url[200];
    snprintf(url, sizeof url, "https://sso.test/portal/tests/%s", test_id);
    const char *location = NULL;
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, "Location"))
            location = response->headers[i]->value;
    SSO_CHECK(response && response->status == 302 && location && !strcmp(location, url));
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    char *result = dir ? dir_fake_test_result(dir, dir->org_oidc, test_id) : NULL;
    SSO_CHECK(result && strstr(result, "\"status\":\"success\"")
              && strstr(result, "\"email\":\"u@oidc.example\"")
              && strstr(result, "\"groups\":[\"<b>ops</b>\"]")
              && strstr(result, "\"raw\":{") && strstr(result, "\"nonce\":\"nonce-t\""));
    free(result);

    /* A client's login on the inactive connection: refused, no code. */
    char client_txn_id[128] = "";
    SSO_CHECK(dir && dir_fake_login(dir, client_txn_id, sizeof client_txn_id) == 0);
    Sso__Transaction *client_txn = *client_txn_id ? dir_fake_txn(dir, client_txn_id) : NULL;
    SSO_CHECK(client_txn);
    frame = client_txn ? s_callback(&bus, &cb, client_txn, &conn, &budget) : NULL;
    response = frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame))
                     : NULL;
    zframe_destroy(&frame);
    SSO_CHECK(response && response->status == 302
              && dir_fake_events(dir, "is not an active OIDC connection") == 1);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    if (client_txn)
        sso__transaction__free_unpacked(client_txn, NULL);
    sso_client_destroy(&bus.client);
    EVP_PKEY_free(key);
    sso_oidc_test_idp_destroy(&idp);
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
    oidc_state_t state = {.cache = sso_oidc_cache_new(4)};
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
    s_test_caps(&service, &conn, &txn);
    s_test_slow_callback(&service);
    s_test_login_test(&service);

    sso_oidc_cache_destroy(&state.cache);
    sso_oidc_test_idp_destroy(&idp);
}

