#include "token_authorize_login.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_clients.h"
#include "sso_rpc.h"
#include "sso_upstream.h"
#include "token_dir.h"
#include "token_testkit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- responses ------------------------------------------------------------------------- */

/* The response with this login's cookies (the hosted page's last domain, an OIDC login's
   browser binding), packed. */
static zframe_t *s_send(token_authorize_login_t *self, sso_response_t *response)
{
    if (!response)
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    if (self->last_domain)
        sso_response_header(response, "Set-Cookie", self->last_domain);
    if (self->binding)
        sso_response_header(response, "Set-Cookie", self->binding);
    return sso_response_pack(&response);
}

/* Sends the browser to url: a 302, except after the hosted page's form, whose CSP
   (form-action 'self') browsers also apply to the redirects that follow a submission. There
   a tiny page navigates instead. */
static zframe_t *s_redirect(token_authorize_login_t *self, const char *url)
{
    sso_response_t *response = NULL;
    bool web = !strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7);
    if (self->from_form && web) {
        sso_html_t *html = sso_html_new();
        if (html) {
            sso_html_begin(html, "Continuing to sign in");
            sso_html_add(html,
                           "<meta http-equiv=\"refresh\" content=\"0;url={}\">\n"
                           "<p>Continuing to sign in&hellip; "
                           "<a href=\"{}\">Continue</a></p>\n",
                           url, url);
            sso_html_end(html);
            response = sso_html_response(&html, 200);
        }
    }
    else if ((response = sso_response_new(302)) != NULL) {
        sso_response_header(response, "Location", url);
        sso_response_header(response, "Cache-Control", "no-store");
    }
    return s_send(self, response);
}

zframe_t *token_authorize_login_error(token_authorize_login_t *self, const char *error,
                                      const char *description)
{
    sso_info("authorize for %s refused: %s (%s)", self->req.client_id, error, description);
    /* A registered redirect_uri has no fragment (the directory refuses one). */
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {error, description, self->req.state};
    char *url = sso_url_with_params(self->req.redirect_uri, 3, names, values);
    if (!url)
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    zframe_t *frame = s_redirect(self, url);
    free(url);
    return frame;
}

static zframe_t *s_bus_error(token_authorize_login_t *self, const char *what, int status)
{
    char description[160];
    snprintf(description, sizeof description, "the %s service is %s; try again shortly", what,
             status == 504 ? "not answering in time" : "not available");
    return token_authorize_login_error(self, "temporarily_unavailable", description);
}

/* ---- the steps ------------------------------------------------------------------------- */

/* Client and redirect_uri, before anything may redirect. NULL when both are fine. */
zframe_t *token_authorize_login_check_client(token_authorize_login_t *self)
{
    const token_authorize_req_t *req = &self->req;
    if (!req->client_id || !req->redirect_uri)
        return sso_html_error_page(400, "Invalid sign-in request", req->client_message);

    /* The client, the connection a selector names and, when the request may go on to the
       IdP, the transaction: one round trip, one write. */
    Sso__AuthorizeBeginRequest begin = SSO__AUTHORIZE_BEGIN_REQUEST__INIT;
    Sso__ConnectionSelector selector = SSO__CONNECTION_SELECTOR__INIT;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    char *binder = NULL;
    begin.client_id = (char *) req->client_id;
    if (req->selector && !req->error) {
        selector.connection_id = (char *) (req->connection_id ? req->connection_id : "");
        selector.organization_id = (char *) (req->organization_id ? req->organization_id : "");
        selector.domain = (char *) (req->domain ? req->domain : "");
        selector.email = (char *) req->email;
        begin.selector = &selector;
    }
    if (begin.selector && self->begin_txn) {
        int64_t now = sso_now_ms() / 1000;
        txn.redirect_uri = (char *) req->redirect_uri;
        txn.state = (char *) (req->state ? req->state : "");
        txn.nonce = (char *) (req->nonce ? req->nonce : "");
        txn.code_challenge = (char *) (req->code_challenge ? req->code_challenge : "");
        txn.scope = (char *) req->scope;
        txn.created_at = now;
        txn.expires_at = now + TOKEN_TXN_TTL;
        txn.force_login = req->force_login;
        txn.max_age = req->max_age;
        txn.login_hint = (char *) (req->hint_email ? req->email : "");
        begin.txn = &txn;
        /* The browser's binding cookie, when well formed, binds this login too (one cookie
           per browser, however many logins it starts); else the directory draws one. */
        binder = sso_upstream_binder(self->request, self->service->config->public_url);
        begin.browser_binder = binder ? binder : "";
    }
    int status = sso_dir_authorize_begin(self->service, &begin, &self->begun);
    free(binder);
    if (status != 0)
        return sso_html_error_page(503, "Sign-in is unavailable",
                                     "The directory service is not available. Try again in a "
                                     "moment.");
    const Sso__AuthorizeBeginReply *found = self->begun;
    Sso__RpcError client_error = found->error ? found->error : found->client_error;
    const char *client_description = found->error ? found->error_description
                                                  : found->client_error_description;
    zframe_t *page = NULL;
    char message[600];
    if (client_error == SSO__RPC_ERROR__INVALID_CLIENT
        || client_error == SSO__RPC_ERROR__NOT_FOUND) {
        snprintf(message, sizeof message, "client_id %s is not a registered application.",
                 req->client_id);
        page = sso_html_error_page(400, "Unknown application", message);
    }
    else if (client_error || !found->client) {
        snprintf(message, sizeof message, "The application could not be checked: %s",
                 *client_description ? client_description : "unexpected reply");
        page = sso_html_error_page(client_error ? 400 : 502, "Invalid sign-in request",
                                     message);
    }
    else {
        bool registered = false;
        for (size_t i = 0; i < found->client->n_redirect_uris; i++)
            registered |= !strcmp(found->client->redirect_uris[i], req->redirect_uri);
        if (!registered) {
            /* Saying which URI is refused helps the developer; it is not a link. */
            snprintf(message, sizeof message,
                     "redirect_uri %.400s is not registered for client_id %s (the match is "
                     "exact).",
                     req->redirect_uri, req->client_id);
            page = sso_html_error_page(400, "Invalid redirect URI", message);
        }
    }
    return page;
}

/* The description for a selector's error (code: its lower-case name), from what the request
   selected. */
static void s_resolve_error(const char *code, const char *given, const char *kind,
                            const char *value, char *out, size_t size, const char **error)
{
    *error = "invalid_request";
    bool by_domain = !strcmp(kind, "domain");
    if (!strcmp(code, "no_organization") && by_domain)
        snprintf(out, size, "no organization for domain %s", value);
    else if (!strcmp(code, "ambiguous_connection"))
        snprintf(out, size, "several active connections; pass connection_id");
    else if (!strcmp(code, "connection_inactive") && !strcmp(kind, "connection_id"))
        snprintf(out, size, "connection %s is not active", value);
    else if (*given)
        snprintf(out, size, "%s", given);
    else if (!strcmp(code, "connection_inactive"))
        snprintf(out, size, "the %s %s has no active connection", kind, value);
    else if (!strcmp(code, "not_found") || !strcmp(code, "no_organization"))
        snprintf(out, size, "%s %s was not found",
                 !strcmp(kind, "connection_id")     ? "connection"
                 : !strcmp(kind, "organization_id") ? "organization"
                                                    : "domain",
                 value);
    else if (!strcmp(code, "no_connection"))
        snprintf(out, size, "the organization for %s %s has no connection", kind, value);
    else {
        *error = "server_error";
        snprintf(out, size, "the connection could not be resolved");
    }
}

/* An OIDC login's browser binding (sso_upstream): the browser's one cookie the callback
   requires, set (a new binder) or refreshed (the same) with the redirect to the provider. It
   lives as long as a transaction: set after the transaction it binds was made and refreshed
   by each later login, it outlives every login it binds; living longer would only keep a
   Path=/ cookie on the broker's requests when no login needs it (a browser without one gets
   a new one at its next login). 0, or -1 when it cannot be made. */
static int s_bind(token_authorize_login_t *self, const Sso__Connection *conn,
                  const Sso__Transaction *txn)
{
    if (strcmp(conn->type, "oidc") != 0)
        return 0;
    char cookie[512];
    if (sso_upstream_binding_cookie(self->service->config->public_url, txn->browser_binder,
                                    TOKEN_TXN_TTL, cookie, sizeof cookie) != 0)
        return -1;
    free(self->binding);
    self->binding = strdup(cookie);
    return self->binding ? 0 : -1;
}

/* The upstream service's start (it only builds the request to the IdP): one round trip. */
static zframe_t *s_start(token_authorize_login_t *self, const Sso__Connection *conn,
                         const Sso__Transaction *txn)
{
    const char *target = !strcmp(conn->type, "oidc") ? "oidc" : "saml";
    if (strcmp(conn->type, "saml") != 0 && strcmp(conn->type, "oidc") != 0) {
        char description[200];
        snprintf(description, sizeof description, "connection %.100s has an unknown type",
                 conn->id);
        return token_authorize_login_error(self, "server_error", description);
    }
    Sso__UpstreamStartRequest start = SSO__UPSTREAM_START_REQUEST__INIT;
    /* The transaction as the upstream service needs it: without the browser binder, which is
       this service's to set as a cookie and no one else's to see. */
    Sso__Transaction sent = *txn;
    sent.browser_binder = "";
    start.txn = &sent;
    start.connection = (Sso__Connection *) conn;
    Sso__UpstreamStartReply *started = NULL;
    zframe_t *frame = NULL;
    int status = sso_upstream_start(self->service, target, &start, &started);
    if (status != 0) {
        frame = s_bus_error(self, target, status);
        token_dir_start_failed(self->service, conn, self->req.client_id, txn->id,
                               "authorize", "the upstream service did not answer");
    }
    else if (!sso_upstream_started(started)) {
        /* Only codes a client understands go back; anything else is our failure. */
        static const Sso__RpcError passed[] = {SSO__RPC_ERROR__ACCESS_DENIED,
                                               SSO__RPC_ERROR__INVALID_REQUEST};
        const char *error = "server_error";
        for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
            if (started->error == passed[i])
                error = sso_rpc_error_name(passed[i]);
        /* The details (a provider's address, its answer) go to the event log, not to
           whoever asked. */
        token_dir_start_failed(self->service, conn, self->req.client_id, txn->id,
                               "authorize", started->error_description);
        frame = token_authorize_login_error(self, error,
                                            "the upstream login could not be started");
    }
    else if (s_bind(self, conn, txn) != 0)
        frame = token_authorize_login_error(self, "server_error", "out of memory");
    else {
        sso_info("login %.8s… for %s via %s %s", txn->id, self->req.client_id, target, conn->id);
        /* An IdP that takes the request by HTTP-POST: a page posts it there. */
        frame = *started->post_url ? s_send(self, sso_upstream_post_page(started))
                                   : s_redirect(self, started->redirect_url);
    }
    sso__upstream_start_reply__free_unpacked(started, NULL);
    return frame;
}

/* ---- the steps the handler runs -------------------------------------------------------- */

const char *token_authorize_login_resolve_error(const token_authorize_login_t *self, char *out,
                                                size_t size, bool *typed)
{
    /* check_client asked for the connection with the client (a known client has a reply). */
    const Sso__AuthorizeBeginReply *found = self->begun;
    *typed = false;
    if (!found->selector_error)
        return NULL;
    const char *error = NULL;
    s_resolve_error(sso_rpc_error_name(found->selector_error), found->selector_error_description,
                    self->req.selector, self->req.selector_value, out, size, &error);
    *typed = found->selector_error == SSO__RPC_ERROR__NO_ORGANIZATION
             || found->selector_error == SSO__RPC_ERROR__NOT_FOUND;
    return error;
}

zframe_t *token_authorize_login_start(token_authorize_login_t *self)
{
    const Sso__AuthorizeBeginReply *found = self->begun;
    const Sso__Connection *conn = found->connection;
    if (!conn)
        return token_authorize_login_error(self, "server_error",
                                           "the directory sent no connection");
    if (strcmp(conn->status, "active") != 0) {
        char description[400];
        snprintf(description, sizeof description, "connection %.200s is not active", conn->id);
        return token_authorize_login_error(self, "invalid_request", description);
    }
    if (found->txn_error || !found->txn)
        return token_authorize_login_error(
            self, found->txn_error == SSO__RPC_ERROR__INVALID_REQUEST ? "invalid_request"
                                                                      : "server_error",
            *found->txn_error_description ? found->txn_error_description
                                          : "the login could not be recorded");
    return s_start(self, conn, found->txn);
}

void token_authorize_login_clear(token_authorize_login_t *self)
{
    sso__authorize_begin_reply__free_unpacked(self->begun, NULL);
    self->begun = NULL;
    free(self->last_domain);
    self->last_domain = NULL;
    free(self->binding);
    self->binding = NULL;
    token_authorize_req_free(&self->req);
}

/* ---- self-test ------------------------------------------------------------------------- */

#define T_CLIENT "client_id={client}&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback"
#define T_BASE T_CLIENT "&response_type=code&scope=openid%20profile&state=s1"
#define T_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 B */

static Sso__HttpResponse *s_test_get(token_testkit_t *fake, const char *query)
{
    return token_testkit_http(fake, "GET", "/oauth/authorize", query, NULL, NULL);
}

/* A redirect to the client with this error, a description containing text, and state. */
static bool s_test_error(token_testkit_t *fake, Sso__HttpResponse *response, const char *base,
                         const char *error, const char *text, const char *state)
{
    text = token_testkit_expand(fake, text);
    const char *location = token_testkit_header(response, "Location");
    zhashx_t *query = token_testkit_location(response);
    const char *got_state = query ? zhashx_lookup(query, "state") : NULL;
    const char *description = query ? zhashx_lookup(query, "error_description") : NULL;
    bool ok = response && response->status == 302 && location
              && !strncmp(location, base, strlen(base)) && location[strlen(base)] == '?'
              && !strcmp(zhashx_lookup(query, "error"), error) && description
              && strstr(description, text)
              && (state ? got_state && !strcmp(got_state, state) : !got_state);
    if (!ok)
        fprintf(stderr, "  got %u %s\n", response ? response->status : 0,
                location ? location : "(no Location)");
    zhashx_destroy(&query);
    return ok;
}

static void s_test_errors(token_testkit_t *fake)
{
    static const char base[] = "https://app.test/callback";
    struct {
        const char *query;
        const char *error;
        const char *text;
    } cases[] = {
        {T_CLIENT "&scope=openid&state=s1", "invalid_request", "response_type is missing"},
        {T_CLIENT "&response_type=token&scope=openid&state=s1", "unsupported_response_type",
         "response_type=code"},
        {T_CLIENT "&response_type=code%20id_token&scope=openid&state=s1",
         "unsupported_response_type", "code"},
        {T_CLIENT "&response_type=code&scope=profile%20email&state=s1", "invalid_scope",
         "openid"},
        {T_CLIENT "&response_type=code&state=s1", "invalid_scope", "openid"},
        {T_BASE "&code_challenge=" T_CHALLENGE "&code_challenge_method=plain", "invalid_request",
         "S256"},
        {T_BASE "&code_challenge=" T_CHALLENGE, "invalid_request",
         "code_challenge_method=S256 is required"},
        {T_BASE "&code_challenge_method=S256", "invalid_request", "without code_challenge"},
        {T_BASE "&code_challenge=short&code_challenge_method=S256", "invalid_request",
         "43 to 128"},
        {T_BASE "&code_challenge=" T_CHALLENGE "%21&code_challenge_method=S256",
         "invalid_request", "43 to 128"},
        {T_BASE "&prompt=none&domain=example.com", "login_required", "interactive"},
        {T_BASE "&prompt=none%20login", "invalid_request", "prompt=none"},
        {T_BASE "&scope=openid", "invalid_request", "scope is given more than once"},
        {T_BASE "&nonce=a&nonce=b", "invalid_request", "nonce is given more than once"},
        {T_BASE "&nonce=%zz", "invalid_request", "nonce is not properly encoded"},
        {T_BASE "&max_age=soon", "invalid_request", "max_age"},
        {T_BASE "&max_age=-1", "invalid_request", "max_age"},
        {T_BASE "&response_mode=form_post", "invalid_request", "response_mode"},
        {T_BASE "&connection_id={conn_off}", "invalid_request",
         "connection {conn_off} is not active"},
        /* The directory's own words pass through when it gives some. */
        {T_BASE "&connection_id=conn_nope&domain=example.com", "invalid_request",
         "no connection conn_nope"},
        {T_BASE "&organization_id={org_two}", "invalid_request",
         "several active connections; pass connection_id"},
        {T_BASE "&organization_id=org_nope", "invalid_request", "no organization org_nope"},
        {T_BASE "&domain=example.net", "invalid_request", "no organization for domain "
                                                          "example.net"},
        {T_BASE "&login_hint=jane%40Example.NET", "invalid_request",
         "no organization for domain example.net"},
        {T_BASE "&domain=inactive.example", "invalid_request",
         "organization {org_off} has no active connection"},
    };
    int txns = dir_fake_txns(fake->dir), starts = fake->starts;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Sso__HttpResponse *response = s_test_get(fake, cases[i].query);
        bool ok = s_test_error(fake, response, base, cases[i].error, cases[i].text, "s1");
        if (!ok)
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].query);
        SSO_CHECK(ok);
        /* Nothing is recorded for a refused request, nothing is started upstream. */
        SSO_CHECK(txns >= 0 && dir_fake_txns(fake->dir) == txns && fake->starts == starts);
        sso__http_response__free_unpacked(response, NULL);
    }

    /* Without the directory's words, the refusal says what was not found. */
    char said[200];
    const char *code = NULL;
    s_resolve_error("not_found", "", "connection_id", "conn_nope", said, sizeof said, &code);
    SSO_CHECK(!strcmp(said, "connection conn_nope was not found")
              && !strcmp(code, "invalid_request"));
    s_resolve_error("no_organization", "", "organization_id", "org_nope", said, sizeof said,
                    &code);
    SSO_CHECK(!strcmp(said, "organization org_nope was not found")
              && !strcmp(code, "invalid_request"));
    s_resolve_error("connection_inactive", "", "domain", "x.example", said, sizeof said, &code);
    SSO_CHECK(!strcmp(said, "the domain x.example has no active connection"));
    s_resolve_error("connection_inactive", "connection conn_dir is not active", "domain",
                    "x.example", said, sizeof said, &code);
    SSO_CHECK(!strcmp(said, "connection conn_dir is not active")
              && !strcmp(code, "invalid_request"));

    /* A repeated state is not echoed; a state over 8 KB is refused, not echoed. */
    Sso__HttpResponse *response = s_test_get(fake, T_BASE "&state=s2");
    SSO_CHECK(s_test_error(fake, response, base, "invalid_request", "state is given more", NULL));
    sso__http_response__free_unpacked(response, NULL);
    char *query = malloc(TOKEN_STATE_MAX + 200);
    snprintf(query, TOKEN_STATE_MAX + 200, "%s",
             T_CLIENT "&response_type=code&scope=openid&state=");
    size_t len = strlen(query);
    memset(query + len, 'a', TOKEN_STATE_MAX + 1);
    query[len + TOKEN_STATE_MAX + 1] = '\0';
    response = s_test_get(fake, query);
    SSO_CHECK(s_test_error(fake, response, base, "invalid_request", "8192", NULL));
    sso__http_response__free_unpacked(response, NULL);
    free(query);

    /* A redirect_uri with a query keeps it and gets '&'. */
    response = s_test_get(fake, "client_id={client}&redirect_uri="
                                "https%3A%2F%2Fapp.test%2Fcb%3Fx%3D1"
                                "&response_type=token&scope=openid&state=s1");
    const char *location = token_testkit_header(response, "Location");
    SSO_CHECK(location && !strncmp(location, "https://app.test/cb?x=1&error=unsupported_"
                                             "response_type&error_description=", 72));
    sso__http_response__free_unpacked(response, NULL);

    /* Bus failures. The directory held past AuthorizeBegin's deadline (504): the client is
       not known good yet, so a page, never a redirect. The saml service off the bus (503):
       the error redirect, temporarily_unavailable. */
    fake->config.request_timeout_ms = TOKEN_TESTKIT_SHORT_DEADLINE_MS;
    dir_fake_hold(fake->dir, 2 * TOKEN_TESTKIT_SHORT_DEADLINE_MS);
    response = s_test_get(fake, T_BASE "&domain=example.com");
    SSO_CHECK(response && response->status == 503 && !token_testkit_header(response, "Location")
              && token_testkit_body_has(fake, response, "directory service is not available"));
    sso__http_response__free_unpacked(response, NULL);
    fake->config.request_timeout_ms = TOKEN_TESTKIT_DEADLINE_MS;
    SSO_CHECK(dir_fake_txns(fake->dir) >= 0); /* runs on the directory's thread: after the hold */
    SSO_CHECK(token_testkit_upstreams(fake, false) == 0);
    response = s_test_get(fake, T_BASE "&domain=example.com");
    SSO_CHECK(s_test_error(fake, response, base, "temporarily_unavailable", "saml service is not "
                                                                            "available", "s1"));
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(token_testkit_upstreams(fake, true) == 0);
    /* Each failed start is in the directory's event log. */
    SSO_CHECK(dir_fake_events(fake->dir, "the upstream service did not answer") == 1);
    /* The transaction was made with the client check (AuthorizeBegin), before the start:
       one whose id never reached a browser, left to expire. */
    fake->start_error = "invalid_metadata";
    txns = dir_fake_txns(fake->dir);
    response = s_test_get(fake, T_BASE "&domain=example.com");
    /* The client is told no more than that; the provider's details are in the event log. */
    SSO_CHECK(s_test_error(fake, response, base, "server_error",
                           "the upstream login could not be started", "s1"));
    SSO_CHECK(!token_testkit_body_has(fake, response, "metadata"));
    SSO_CHECK(dir_fake_txns(fake->dir) == txns + 1);
    SSO_CHECK(dir_fake_events(fake->dir, "metadata could not be used") == 1);
    sso__http_response__free_unpacked(response, NULL);
    fake->start_error = NULL;
}

/* Errors that must not redirect: a 400 page that says why and links nowhere. */
static void s_test_pages(token_testkit_t *fake)
{
    struct {
        const char *query;
        unsigned status;
        const char *text;
    } cases[] = {
        {"response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback", 400,
         "no client_id"},
        {"client_id={client}&response_type=code&scope=openid", 400, "no redirect_uri"},
        {"client_id=cli_nope&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback&response_type=code",
         400, "client_id cli_nope is not a registered application"},
        {"client_id={client}&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&response_type=code", 400,
         "redirect_uri https://evil.test/cb is not registered for client_id {client}"},
        {"client_id={client}&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback%2F&response_type=code",
         400, "is not registered"},
        {"client_id={client}&redirect_uri=https%3A%2F%2FAPP.test%2Fcallback", 400,
         "is not registered"},
        {T_CLIENT "&client_id={client}", 400, "client_id more than once"},
        {T_CLIENT "&redirect_uri=https%3A%2F%2Fevil.test%2Fcb", 400, "redirect_uri more than once"},
        {"client_id={client}&redirect_uri=%zz", 400, "not properly encoded"},
        {"client_id=%3Cb%3Ecli%3C%2Fb%3E&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback", 400,
         "client_id &lt;b&gt;cli&lt;/b&gt; is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Sso__HttpResponse *response = s_test_get(fake, cases[i].query);
        bool ok = response && response->status == cases[i].status
                  && !token_testkit_header(response, "Location")
                  && token_testkit_body_has(fake, response, cases[i].text)
                  && !token_testkit_body_has(fake, response, "href=\"http")
                  && !token_testkit_body_has(fake, response, "<b>")
                  && !strncmp(token_testkit_header(response, "Content-Type"), "text/html", 9);
        if (!ok)
            fprintf(stderr, "  page case %zu: %u\n", i, response ? response->status : 0);
        SSO_CHECK(ok);
        sso__http_response__free_unpacked(response, NULL);
    }
    /* The directory down: the client cannot be checked, so nothing may redirect. */
    SSO_CHECK(dir_fake_stop(fake->dir) == 0);
    Sso__HttpResponse *response = s_test_get(fake, T_BASE);
    SSO_CHECK(response && response->status == 503 && !token_testkit_header(response, "Location"));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_get(fake, T_BASE "&domain=example.com");
    SSO_CHECK(response && response->status == 503 && !token_testkit_header(response, "Location"));
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_start(fake->dir) == 0);
}

static void s_test_success(token_testkit_t *fake)
{
    /* Every value reaches the transaction the directory stores, and the browser goes to the
       IdP. */
    const dir_fake_t *dir = fake->dir;
    Sso__HttpResponse *response = s_test_get(
        fake, T_BASE "&connection_id={conn_saml}&organization_id={org_two}&domain=example.net"
                     "&login_hint=jane%40example.com&nonce=n-1&code_challenge=" T_CHALLENGE
                     "&code_challenge_method=S256&prompt=login&scope_extra=1&claims=%7B%7D");
    Sso__Transaction *txn = token_testkit_txn(fake);
    const char *location = token_testkit_header(response, "Location");
    SSO_CHECK(response && response->status == 302 && txn && fake->start);
    if (!txn || !fake->start || !location) {
        sso__transaction__free_unpacked(txn, NULL);
        sso__http_response__free_unpacked(response, NULL);
        return;
    }
    char expected[200];
    snprintf(expected, sizeof expected, "https://idp.test/saml?RelayState=%s", txn->id);
    SSO_CHECK(!strcmp(location, expected));
    SSO_CHECK(strlen(txn->id) == 32);
    SSO_CHECK(!strcmp(txn->client_id, dir->client_id));
    SSO_CHECK(!strcmp(txn->redirect_uri, "https://app.test/callback"));
    SSO_CHECK(!strcmp(txn->state, "s1") && !strcmp(txn->nonce, "n-1"));
    SSO_CHECK(!strcmp(txn->code_challenge, T_CHALLENGE));
    SSO_CHECK(!strcmp(txn->scope, "openid profile"));
    SSO_CHECK(!strcmp(txn->connection_id, dir->conn_saml));
    SSO_CHECK(!strcmp(txn->organization_id, dir->org_saml));
    SSO_CHECK(txn->expires_at - txn->created_at == TOKEN_TXN_TTL);
    SSO_CHECK(txn->force_login && txn->max_age == -1);
    SSO_CHECK(!strcmp(txn->login_hint, "jane@example.com"));
    /* The transaction first, with the request id the directory made for it, then the
       upstream request built from that transaction. */
    SSO_CHECK(!strcmp(fake->start_target, "saml"));
    SSO_CHECK(txn->saml_request_id[0] == '_' && !strcmp(txn->saml_request_id,
                                                        fake->start_request_id)
              && !*txn->oidc_state);
    SSO_CHECK(fake->start->txn && !strcmp(fake->start->txn->id, txn->id)
              && fake->start->txn->force_login);
    SSO_CHECK(fake->start->connection && !strcmp(fake->start->connection->id, dir->conn_saml));
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);

    /* login_hint's domain, case-insensitively; an OIDC connection goes to the oidc service;
       max_age forces a login; no prompt means none forced. */
    response = s_test_get(fake, T_BASE "&login_hint=Jane%40Example.COM");
    txn = token_testkit_txn(fake);
    SSO_CHECK(response && response->status == 302 && txn && !txn->force_login);
    SSO_CHECK(txn && !strcmp(txn->connection_id, dir->conn_saml)
              && fake->start->txn && !fake->start->txn->force_login);
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_get(fake, T_BASE "&domain=oidc.example&max_age=0");
    location = token_testkit_header(response, "Location");
    txn = token_testkit_txn(fake);
    SSO_CHECK(location && !strncmp(location, "https://idp.test/oidc?", 22));
    SSO_CHECK(!strcmp(fake->start_target, "oidc") && txn);
    SSO_CHECK(txn && !strcmp(txn->oidc_state, fake->start_request_id)
              && !*txn->saml_request_id);
    SSO_CHECK(txn && txn->force_login && txn->max_age == 0);
    SSO_CHECK(txn && !strcmp(txn->connection_id, dir->conn_oidc));
    /* The oidc service's start never sees the browser's binder (s_test_binding: the
       cookie). */
    SSO_CHECK(fake->start && fake->start->txn && !*fake->start->txn->browser_binder
              && !strcmp(fake->start->txn->oidc_state, txn ? txn->oidc_state : "-"));
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);

    /* POST with a form body works like GET. */
    response = token_testkit_http(fake, "POST", "/oauth/authorize", NULL,
                                  T_BASE "&organization_id={org_saml}", "content-type",
                                  "application/x-www-form-urlencoded", NULL);
    txn = token_testkit_txn(fake);
    SSO_CHECK(response && response->status == 302 && txn
              && !strcmp(txn->organization_id, dir->org_saml));
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);

    /* A state of 8 KB of every kind of character comes back intact, and is stored intact. */
    char *state = malloc(TOKEN_STATE_MAX + 1);
    for (size_t i = 0; i < TOKEN_STATE_MAX; i++)
        state[i] = "aZ09 -._~!*'();:@&=+$,/?#[]%\"<>"[i % 31];
    state[TOKEN_STATE_MAX] = '\0';
    char *encoded = sso_url_encode(state);
    size_t size = strlen(encoded) + 300;
    char *query = malloc(size);
    snprintf(query, size, "%s&state=%s",
             T_CLIENT "&response_type=code&scope=openid&domain=example.com", encoded);
    response = s_test_get(fake, query);
    txn = token_testkit_txn(fake);
    SSO_CHECK(response && response->status == 302 && txn && !strcmp(txn->state, state));
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);
    snprintf(query, size, "%s&state=%s", T_CLIENT "&response_type=code&scope=openid&prompt=none",
             encoded);
    response = s_test_get(fake, query);
    SSO_CHECK(s_test_error(fake, response, "https://app.test/callback", "login_required", "session",
                           state));
    sso__http_response__free_unpacked(response, NULL);
    free(query);
    free(encoded);
    free(state);
}

/* A browser's cookie jar, as far as s_test_binding needs one: name to value. */
static zhashx_t *s_jar_new(void)
{
    zhashx_t *jar = zhashx_new();
    if (jar) {
        zhashx_set_duplicator(jar, (czmq_duplicator *) strdup);
        zhashx_set_destructor(jar, (czmq_destructor *) zstr_free);
    }
    return jar;
}

/* Keeps each Set-Cookie of response in jar as a browser would (the attributes aside):
   Max-Age=0 or an empty value removes the name. */
static void s_jar_take(zhashx_t *jar, const Sso__HttpResponse *response)
{
    for (size_t i = 0; jar && response && i < response->n_headers; i++) {
        const char *set = response->headers[i]->value;
        if (strcasecmp(response->headers[i]->name, "Set-Cookie") != 0 || !strchr(set, '='))
            continue;
        char name[128], value[256];
        snprintf(name, sizeof name, "%.*s", (int) strcspn(set, "="), set);
        set += strcspn(set, "=") + 1;
        snprintf(value, sizeof value, "%.*s", (int) strcspn(set, ";"), set);
        const char *age = strstr(set, "Max-Age=");
        if (!*value || (age && strtol(age + 8, NULL, 10) <= 0))
            zhashx_delete(jar, name);
        else
            zhashx_update(jar, name, value);
    }
}

/* The Cookie header the jar sends; 0, or -1 when it does not fit. */
static int s_jar_header(zhashx_t *jar, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *value = zhashx_first(jar); value; value = zhashx_next(jar)) {
        int n = snprintf(out + len, size - len, "%s%s=%s", len ? "; " : "",
                         (const char *) zhashx_cursor(jar), value);
        if (n < 0 || (size_t) n >= size - len)
            return -1;
        len += (size_t) n;
    }
    return 0;
}

/* One authorization through an OIDC connection with the Cookie header cookie (NULL: none):
   the binding cookie it sets (name=value, without attributes) into set, the whole Set-Cookie
   into line, its cookies kept in jar (when not NULL), and whether it set one cookie and the
   transaction stored the SHA-256 of its value. */
static bool s_test_bind(token_testkit_t *fake, const char *cookie, zhashx_t *jar, char *set,
                        size_t set_size, char *line, size_t line_size)
{
    const char *query = token_testkit_expand(fake, T_BASE "&domain=oidc.example");
    Sso__HttpResponse *response =
        cookie ? token_testkit_http(fake, "GET", "/oauth/authorize", query, NULL, "cookie",
                                    cookie, NULL)
               : token_testkit_http(fake, "GET", "/oauth/authorize", query, NULL, NULL);
    Sso__Transaction *txn = token_testkit_txn(fake);
    const char *found = NULL;
    int cookies = 0;
    for (size_t i = 0; response && i < response->n_headers; i++)
        if (!strcasecmp(response->headers[i]->name, "Set-Cookie")) {
            found = response->headers[i]->value;
            cookies++;
        }
    snprintf(line, line_size, "%s", found ? found : "");
    snprintf(set, set_size, "%.*s", (int) strcspn(line, ";"), line);
    const char *value = strchr(set, '=');
    char hash[65] = "";
    if (value)
        sso_sha256_hex(value + 1, strlen(value + 1), hash);
    bool bound = response && response->status == 302 && cookies == 1 && txn
                 && !strcmp(txn->browser_binding_hash, hash);
    s_jar_take(jar, response);
    sso__transaction__free_unpacked(txn, NULL);
    sso__http_response__free_unpacked(response, NULL);
    return bound;
}

/* The browser binding: one cookie per browser, whatever number of logins it starts. */
static void s_test_binding(token_testkit_t *fake)
{
    /* 200 authorizations through one cookie jar (a provider bouncing the browser back, or
       many tabs): one binding cookie, its value drawn by the first and reused (refreshed)
       by every other, each login bound to it. */
    zhashx_t *jar = s_jar_new();
    char header[16384], set[200], line[300], first[200] = "", want[300] = "";
    int bound = 0, same = 0;
    for (int i = 0; jar && i < 200; i++) {
        if (s_jar_header(jar, header, sizeof header) != 0)
            break;
        bound += s_test_bind(fake, *header ? header : NULL, jar, set, sizeof set, line,
                             sizeof line);
        if (i == 0) {
            snprintf(first, sizeof first, "%s", set);
            snprintf(want, sizeof want, "%s; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; "
                     "Secure", first);
        }
        same += !strcmp(line, want);
    }
    SSO_CHECK(jar && zhashx_size(jar) == 1);
    SSO_CHECK(bound == 200 && same == 200);
    SSO_CHECK(!strncmp(first, "__Host-sso_browser=", 19) && strlen(first) == 19 + 32);
    zhashx_destroy(&jar);

    /* A malformed cookie (wrong length or alphabet, empty, sent twice) is ignored as absent:
       a new binder is drawn and set. */
    const char *good = "abcdefghijklmnopqrstuvwxyz-_0123";
    const char *malformed[] = {
        "__Host-sso_browser=abcdefghijklmnopqrstuvwxyz-_012",
        "__Host-sso_browser=abcdefghijklmnopqrstuvwxyz-_01234",
        "__Host-sso_browser=abcdefghijklmnopqrstuvwxyz-_01%3",
        "__Host-sso_browser=",
        ("__Host-sso_browser=abcdefghijklmnopqrstuvwxyz-_0123; "
         "__Host-sso_browser=abcdefghijklmnopqrstuvwxyz-_0123"),
        /* Over https the unprefixed name does not count (a sibling subdomain can set it). */
        "sso_browser=abcdefghijklmnopqrstuvwxyz-_0123"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        SSO_CHECK(s_test_bind(fake, malformed[i], NULL, set, sizeof set, line, sizeof line)
                  && !strncmp(set, "__Host-sso_browser=", 19) && strlen(set) == 19 + 32
                  && !strstr(set, good) && strcmp(set, first) != 0);
    }
    /* A well-formed one is kept, whoever drew it. */
    snprintf(header, sizeof header, "a=1; __Host-sso_browser=%s; b=2", good);
    snprintf(want, sizeof want, "__Host-sso_browser=%s", good);
    SSO_CHECK(s_test_bind(fake, header, NULL, set, sizeof set, line, sizeof line)
              && !strcmp(set, want));

    /* A SAML login sets none, and leaves the browser's alone. */
    Sso__HttpResponse *response = token_testkit_http(fake, "GET", "/oauth/authorize",
                                                     T_BASE "&domain=example.com", NULL,
                                                     "cookie", header, NULL);
    SSO_CHECK(response && response->status == 302);
    for (size_t i = 0; response && i < response->n_headers; i++)
        SSO_CHECK(strcasecmp(response->headers[i]->name, "Set-Cookie")
                  || !strstr(response->headers[i]->value, "sso_"));
    sso__http_response__free_unpacked(response, NULL);

    /* Over plain http (development): no prefix (it needs Secure), the public URL's path
       (which /oauth/authorize and the callback share); the prefixed name does not count. */
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "http://127.0.0.1:8080");
    SSO_CHECK(s_test_bind(fake, NULL, NULL, set, sizeof set, line, sizeof line)
              && !strncmp(set, "sso_browser=", 12) && strlen(set) == 12 + 32);
    snprintf(want, sizeof want, "%s; Path=/; Max-Age=600; HttpOnly; SameSite=Lax", set);
    SSO_CHECK(!strcmp(line, want));
    snprintf(header, sizeof header, "sso_browser=%s", good);
    snprintf(want, sizeof want, "sso_browser=%s", good);
    SSO_CHECK(s_test_bind(fake, header, NULL, set, sizeof set, line, sizeof line)
              && !strcmp(set, want));
    snprintf(header, sizeof header, "__Host-sso_browser=%s", good);
    SSO_CHECK(s_test_bind(fake, header, NULL, set, sizeof set, line, sizeof line)
              && !strncmp(set, "sso_browser=", 12) && !strstr(set, good));
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "https://sso.test");
}

void token_authorize_login_test(bool verbose)
{
    (void) verbose;
    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    s_test_pages(&fake);
    s_test_errors(&fake);
    s_test_success(&fake);
    s_test_binding(&fake);
    token_testkit_close(&fake);
}
