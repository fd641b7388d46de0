#include "token_authorize.h"
#include "sso_bus.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_email.h"
#include "sso_log.h"
#include "token_code.h"
#include "token_dir.h"
#include "sso_test.h"
#include "token_fake.h"
#include "sso_html.h"
#include <strings.h>

#define ID_MAX 255             /* client_id, connection_id, organization_id, domain */
#define REDIRECT_URI_MAX 2048
#define NONCE_MAX 1024
#define CSRF_COOKIE "sso_csrf"
#define CSRF_FIELD "sso_csrf"
#define DOMAIN_COOKIE "sso_last_domain"

typedef struct {
    sso_service_t *service;
    const Sso__HttpRequest *request;
    token_authorize_req_t req;
    bool from_form;           /* posted by the hosted page */
    char *last_domain;        /* a Set-Cookie for sso_last_domain to send, or NULL */
    Sso__DirReply *lookup;    /* authorize_lookup's answer: the client and the connection */
} s_ctx_t;

/* ---- parameters ------------------------------------------------------------------------ */

static token_param_t *s_find(const token_authorize_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->n; i++)
        if (!strcmp(req->items[i].name, name))
            return (token_param_t *) &req->items[i];
    return NULL;
}

/* Unlike sso_form_parse this keeps going past a repeat or a bad value, so the client and
   redirect_uri can still be checked (and the error redirected) when something else is wrong. */
static int s_param(void *arg, char *name, char *value)
{
    token_authorize_req_t *req = arg;
    token_param_t *param = name && *name ? s_find(req, name) : NULL;
    if (!name || !*name || (!param && req->n == TOKEN_AUTHORIZE_PARAMS_MAX)) {
        req->malformed = true;
        free(name);
        free(value);
    }
    else if (param) {
        param->count++;
        free(name);
        free(value);
    }
    else {
        param = &req->items[req->n++];
        param->name = name;
        param->count = 1;
        param->value = value; /* NULL when it does not decode: never a usable value */
    }
    return 0;
}

static void s_params_add(token_authorize_req_t *req, const char *data, size_t len)
{
    (void) sso_form_each(data, len, s_param, req);
}

void token_authorize_req_free(token_authorize_req_t *req)
{
    for (size_t i = 0; i < req->n; i++) {
        free(req->items[i].name);
        free(req->items[i].value);
    }
    req->n = 0;
}

const char *token_authorize_param(const token_authorize_req_t *req, const char *name)
{
    token_param_t *param = s_find(req, name);
    return param && param->count == 1 && param->value && *param->value ? param->value : NULL;
}

/* ---- small checks ---------------------------------------------------------------------- */

static bool s_scope_has(const char *scope, const char *wanted)
{
    size_t len = strlen(wanted);
    for (const char *p = scope; *p;) {
        size_t word = strcspn(p, " ");
        if (word == len && !strncmp(p, wanted, len))
            return true;
        p += word;
        p += strspn(p, " ");
    }
    return false;
}

/* ---- responses ------------------------------------------------------------------------- */

/* A Set-Cookie value scoped to this endpoint. 0, or -1 when it does not fit. */
static int s_cookie_header(s_ctx_t *ctx, char *out, size_t size, const char *name,
                           const char *value, long max_age)
{
    return sso_cookie_header(out, size, ctx->service->config->public_url, "/oauth/authorize",
                             name, value, max_age);
}

/* Sends the browser to url: a 302, except after the hosted page's form, whose CSP
   (form-action 'self') browsers also apply to the redirects that follow a submission. There
   a tiny page navigates instead. */
static zframe_t *s_redirect(s_ctx_t *ctx, const char *url)
{
    sso_response_t *response = NULL;
    bool web = !strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7);
    if (ctx->from_form && web) {
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
    if (!response)
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    if (ctx->last_domain)
        sso_response_header(response, "Set-Cookie", ctx->last_domain);
    return sso_response_pack(&response);
}

static zframe_t *s_error(s_ctx_t *ctx, const char *error, const char *description)
{
    sso_info("authorize for %s refused: %s (%s)", ctx->req.client_id, error, description);
    /* A registered redirect_uri has no fragment (the directory refuses one). */
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {error, description, ctx->req.state};
    char *url = sso_url_with_params(ctx->req.redirect_uri, 3, names, values);
    if (!url)
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    zframe_t *frame = s_redirect(ctx, url);
    free(url);
    return frame;
}

static zframe_t *s_bus_error(s_ctx_t *ctx, const char *what, int status)
{
    char description[160];
    snprintf(description, sizeof description, "the %s service is %s; try again shortly", what,
             status == 504 ? "not answering in time" : "not available");
    return s_error(ctx, "temporarily_unavailable", description);
}

/* The hosted "Sign in with SSO" page: asks for a work email, then posts every original
   parameter back with it as login_hint. CSRF: double submit of a random token (an HttpOnly
   cookie and a hidden field must match). */
static zframe_t *s_page(s_ctx_t *ctx, uint32_t status, const char *message, const char *email)
{
    char *token = sso_cookie_csrf_token(ctx->request, CSRF_COOKIE);
    char *last = sso_cookie_get(ctx->request, DOMAIN_COOKIE);
    char domain[256], prefill[260] = "";
    if (email)
        snprintf(prefill, sizeof prefill, "%s", email);
    else if (last && strlen(last) < 200) {
        char probe[260];
        snprintf(probe, sizeof probe, "x@%s", last);
        if (sso_email_domain(probe, domain, sizeof domain) == 0)
            snprintf(prefill, sizeof prefill, "@%s", domain);
    }
    free(last);
    char action[600];
    snprintf(action, sizeof action, "%s/oauth/authorize", ctx->service->config->public_url);

    sso_html_t *html = sso_html_new();
    if (!html || !token) {
        free(token);
        sso_html_destroy(&html);
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    }
    sso_html_begin(html, "Sign in with SSO");
    sso_html_add(html, "<h1>Sign in with SSO</h1>\n"
                         "<p>Enter your work email to continue to your organization's sign-in "
                         "page.</p>\n");
    if (message)
        sso_html_add(html, "<p class=\"error\" role=\"alert\">{}</p>\n", message);
    sso_html_add(html, "<form method=\"post\" action=\"{}\">\n", action);
    for (size_t i = 0; i < ctx->req.n; i++) {
        const token_param_t *param = &ctx->req.items[i];
        if (strcmp(param->name, "login_hint") != 0 && strcmp(param->name, CSRF_FIELD) != 0
            && param->value)
            sso_html_hidden(html, param->name, param->value);
    }
    sso_html_hidden(html, CSRF_FIELD, token);
    sso_html_add(html, "<label for=\"login_hint\">Work email</label>\n"
                         "<input id=\"login_hint\" name=\"login_hint\" type=\"email\" "
                         "autocomplete=\"email\" required autofocus value=\"{}\">\n"
                         "<button type=\"submit\">Continue</button>\n</form>\n",
                   prefill);
    sso_html_end(html);
    sso_response_t *response = sso_html_response(&html, status);
    if (!response) {
        free(token);
        return sso_html_error_page(500, "Something went wrong", "out of memory");
    }
    char cookie[1024];
    int rc = s_cookie_header(ctx, cookie, sizeof cookie, CSRF_COOKIE, token, 3600);
    free(token);
    if (rc != 0) {
        zframe_t *frame = sso_response_pack(&response);
        zframe_destroy(&frame);
        return sso_html_error_page(500, "Something went wrong", "the cookie does not fit");
    }
    sso_response_header(response, "Set-Cookie", cookie);
    return sso_response_pack(&response);
}

/* ---- the steps ------------------------------------------------------------------------- */

/* Client and redirect_uri, before anything may redirect. NULL when both are fine. */
static zframe_t *s_check_client(s_ctx_t *ctx)
{
    const token_authorize_req_t *req = &ctx->req;
    if (!req->client_id || !req->redirect_uri)
        return sso_html_error_page(400, "Invalid sign-in request", req->client_message);

    /* The client and, when a selector is given, its connection: one round trip. */
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__AuthorizeLookupRequest lookup = SSO__AUTHORIZE_LOOKUP_REQUEST__INIT;
    Sso__ClientGetRequest get = SSO__CLIENT_GET_REQUEST__INIT;
    Sso__ConnectionResolveRequest resolve = SSO__CONNECTION_RESOLVE_REQUEST__INIT;
    get.client_id = (char *) req->client_id;
    lookup.client = &get;
    if (req->selector && !req->error) {
        resolve.connection_id = (char *) (req->connection_id ? req->connection_id : "");
        resolve.organization_id = (char *) (req->organization_id ? req->organization_id : "");
        resolve.domain = (char *) (req->domain ? req->domain : "");
        resolve.email = (char *) req->email;
        lookup.resolve = &resolve;
    }
    request.op_case = SSO__DIR_REQUEST__OP_AUTHORIZE_LOOKUP;
    request.authorize_lookup = &lookup;
    int status = token_dir_call(ctx->service, "authorize_lookup", true, &request, &ctx->lookup);
    if (status != 0)
        return sso_html_error_page(503, "Sign-in is unavailable",
                                     "The directory service is not available. Try again in a "
                                     "moment.");
    const Sso__DirReply *reply = ctx->lookup;
    const Sso__AuthorizeLookupReply *found =
        reply->result_case == SSO__DIR_REPLY__RESULT_LOOKUP ? reply->lookup : NULL;
    const char *client_error = found ? found->client_error : reply->error;
    zframe_t *page = NULL;
    char message[600];
    if (!strcmp(client_error, "invalid_client") || !strcmp(client_error, "not_found")) {
        snprintf(message, sizeof message, "client_id %s is not a registered application.",
                 req->client_id);
        page = sso_html_error_page(400, "Unknown application", message);
    }
    else if (*client_error || !found || !found->client) {
        const char *description = found ? found->client_error_description
                                        : reply->error_description;
        snprintf(message, sizeof message, "The application could not be checked: %s",
                 *description ? description : "unexpected reply");
        page = sso_html_error_page(*client_error ? 400 : 502, "Invalid sign-in request",
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

/* The description for a connection_resolve error, from what the request selected. */
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

/* Records why an upstream start failed, so the event log says it; best effort. No transaction
   exists yet (it is created once the upstream request is made), so it is a plain event. */
static void s_start_failed(s_ctx_t *ctx, const Sso__Connection *conn, const char *description)
{
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__Event event = SSO__EVENT__INIT;
    char reason[400];
    snprintf(reason, sizeof reason, "authorize: the upstream login could not be started: %.300s",
             description);
    event.organization_id = conn->organization_id;
    event.connection_id = conn->id;
    event.client_id = (char *) ctx->req.client_id;
    event.outcome = "failure";
    event.reason = reason;
    request.op_case = SSO__DIR_REQUEST__OP_EVENT_RECORD;
    request.event_record = &event;
    Sso__DirReply *reply = NULL;
    if (token_dir_call(ctx->service, "event_record", false, &request, &reply) == 0)
        sso__dir_reply__free_unpacked(reply, NULL);
}

/* txn_create for the upstream request started: its request id is what the answer must refer
   to (InResponseTo, state). NULL when it is stored, else the error redirect. */
static zframe_t *s_record(s_ctx_t *ctx, const char *txn_id, const Sso__Connection *conn,
                          const char *scope, bool force, int64_t max_age, const char *email,
                          const char *request_id)
{
    int64_t now = sso_now_ms() / 1000;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = (char *) txn_id;
    const token_authorize_req_t *req = &ctx->req;
    txn.client_id = (char *) req->client_id;
    txn.redirect_uri = (char *) req->redirect_uri;
    txn.state = (char *) (req->state ? req->state : "");
    txn.nonce = (char *) (req->nonce ? req->nonce : "");
    txn.code_challenge = (char *) (req->code_challenge ? req->code_challenge : "");
    txn.scope = (char *) scope;
    txn.connection_id = conn->id;
    txn.organization_id = conn->organization_id;
    txn.created_at = now;
    txn.expires_at = now + TOKEN_TXN_TTL;
    txn.force_login = force;
    txn.max_age = max_age;
    txn.login_hint = (char *) (email ? email : "");
    /* The upstream request's handle: SAML's AuthnRequest ID, OIDC's state. */
    if (!strcmp(conn->type, "oidc"))
        txn.oidc_state = (char *) request_id;
    else
        txn.saml_request_id = (char *) request_id;
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_TXN_CREATE;
    request.txn_create = &txn;
    Sso__DirReply *reply = NULL;
    int status = token_dir_call(ctx->service, "txn_create", false, &request, &reply);
    zframe_t *frame = NULL;
    if (status != 0)
        frame = s_bus_error(ctx, "directory", status);
    else if (*reply->error)
        frame = s_error(ctx, !strcmp(reply->error, "invalid_request") ? "invalid_request"
                                                                       : "server_error",
                        *reply->error_description ? reply->error_description
                                                  : "the login could not be recorded");
    if (reply)
        sso__dir_reply__free_unpacked(reply, NULL);
    return frame;
}

/* The upstream service's start (it only builds the request), then txn_create with what it
   returned: two round trips, one write. */
static zframe_t *s_start(s_ctx_t *ctx, const Sso__Connection *conn, const char *scope,
                         bool force, int64_t max_age, const char *email)
{
    const char *target = !strcmp(conn->type, "oidc") ? "oidc" : "saml";
    if (strcmp(conn->type, "saml") != 0 && strcmp(conn->type, "oidc") != 0) {
        char description[200];
        snprintf(description, sizeof description, "connection %.100s has an unknown type",
                 conn->id);
        return s_error(ctx, "server_error", description);
    }
    char *txn_id = sso_random_token(24);
    if (!txn_id)
        return s_error(ctx, "server_error", "out of memory");
    const token_authorize_req_t *req = &ctx->req;
    Sso__SamlStartRequest start = SSO__SAML_START_REQUEST__INIT;
    start.txn_id = txn_id;
    start.connection = (Sso__Connection *) conn;
    start.force_authn = force;
    char rpc[16];
    snprintf(rpc, sizeof rpc, "%s_start", target);
    Sso__SamlStartReply *started = NULL;
    zframe_t *frame = NULL;
    int status = token_dir_start(ctx->service, target, rpc, &start, &started);
    if (status != 0) {
        frame = s_bus_error(ctx, target, status);
        s_start_failed(ctx, conn, "the upstream service did not answer");
    }
    else if (*started->error || !*started->redirect_url || !*started->request_id) {
        /* Only codes a client understands go back; anything else is our failure. */
        static const char *const passed[] = {"access_denied", "server_error",
                                             "temporarily_unavailable", "invalid_request",
                                             "login_required"};
        const char *error = "server_error";
        for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
            if (!strcmp(started->error, passed[i]))
                error = passed[i];
        const char *description = *started->error_description
                                      ? started->error_description
                                      : "the upstream login could not be started";
        s_start_failed(ctx, conn, description);
        frame = s_error(ctx, error, description);
    }
    else if (!(frame = s_record(ctx, txn_id, conn, scope, force, max_age, email,
                                started->request_id))) {
        sso_info("login %.8s… for %s via %s %s", txn_id, req->client_id, target, conn->id);
        frame = s_redirect(ctx, started->redirect_url);
    }
    sso__saml_start_reply__free_unpacked(started, NULL);
    free(txn_id);
    return frame;
}

/* ---- the request, without the bus --------------------------------------------------- */

/* client_id and redirect_uri as given: present, once, decoded, not too long. */
static void s_parse_client(token_authorize_req_t *req)
{
    static const char *const names[] = {"client_id", "redirect_uri"};
    const char *values[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        const token_param_t *param = s_find(req, names[i]);
        const char *before = "The request's ", *after = NULL;
        if (!param || (param->value && !*param->value)) {
            before = "The request has no ";
            after = ".";
        }
        else if (param->count > 1) {
            before = "The request gives ";
            after = " more than once.";
        }
        else if (!param->value)
            after = " is not properly encoded.";
        else if (strlen(param->value) > (i == 0 ? ID_MAX : REDIRECT_URI_MAX))
            after = " is too long.";
        if (after) {
            snprintf(req->client_message, sizeof req->client_message, "%s%s%s", before,
                     names[i], after);
            return;
        }
        values[i] = param->value;
    }
    req->client_id = values[0];
    req->redirect_uri = values[1];
}

/* The first thing wrong with the rest of the request, as error and description; NULL when
   nothing is. Fills req's values as it goes. */
static const char *s_parse_request(token_authorize_req_t *req, char *description, size_t size)
{
    const token_param_t *state = s_find(req, "state");
    if (state && state->count == 1 && state->value && strlen(state->value) <= TOKEN_STATE_MAX)
        req->state = *state->value ? state->value : NULL;
    if (state && state->value && strlen(state->value) > TOKEN_STATE_MAX) {
        snprintf(description, size, "state is longer than %d bytes", TOKEN_STATE_MAX);
        return "invalid_request";
    }
    if (req->malformed) {
        snprintf(description, size, "the parameters are malformed or too many");
        return "invalid_request";
    }
    for (size_t i = 0; i < req->n; i++) {
        const token_param_t *param = &req->items[i];
        if (param->count > 1)
            snprintf(description, size, "parameter %.64s is given more than once", param->name);
        else if (!param->value)
            snprintf(description, size, "parameter %.64s is not properly encoded", param->name);
        else
            continue;
        return "invalid_request";
    }
#define S_FAIL(error, ...)                            \
    do {                                              \
        snprintf(description, size, __VA_ARGS__);     \
        return error;                                 \
    } while (0)

    const char *response_type = token_authorize_param(req, "response_type");
    if (!response_type)
        S_FAIL("invalid_request", "response_type is missing");
    if (strcmp(response_type, "code") != 0)
        S_FAIL("unsupported_response_type", "only response_type=code is supported");
    const char *response_mode = token_authorize_param(req, "response_mode");
    if (response_mode && strcmp(response_mode, "query") != 0)
        S_FAIL("invalid_request", "only response_mode=query is supported");

    const char *scope = token_authorize_param(req, "scope");
    if (!scope || !s_scope_has(scope, "openid"))
        S_FAIL("invalid_scope", "scope must contain openid");
    /* Unknown scope values are ignored (OIDC Core 3.1.2.1); the grant names the known ones. */
    snprintf(req->scope, sizeof req->scope, "openid%s%s",
             s_scope_has(scope, "profile") ? " profile" : "",
             s_scope_has(scope, "email") ? " email" : "");

    const char *challenge = token_authorize_param(req, "code_challenge");
    const char *method = token_authorize_param(req, "code_challenge_method");
    if (method && strcmp(method, "S256") != 0)
        S_FAIL("invalid_request", "code_challenge_method must be S256");
    if (method && !challenge)
        S_FAIL("invalid_request", "code_challenge_method without code_challenge");
    if (challenge && !method)
        S_FAIL("invalid_request", "code_challenge_method=S256 is required with code_challenge");
    if (challenge && !token_code_pkce_ok(challenge))
        S_FAIL("invalid_request", "code_challenge must be 43 to 128 characters of "
                                  "[A-Za-z0-9-._~]");
    req->code_challenge = challenge;

    const char *nonce = token_authorize_param(req, "nonce");
    if (nonce && strlen(nonce) > NONCE_MAX)
        S_FAIL("invalid_request", "nonce is longer than %d bytes", NONCE_MAX);
    req->nonce = nonce;

    const char *prompt = token_authorize_param(req, "prompt");
    if (prompt) {
        bool none = s_scope_has(prompt, "none");
        if (none && strcspn(prompt, " ") != strlen(prompt))
            S_FAIL("invalid_request", "prompt=none cannot be combined with other values");
        if (none)
            S_FAIL("login_required",
                   "the broker keeps no session; an interactive login is required");
        req->force_login = s_scope_has(prompt, "login");
    }
    const char *max_age = token_authorize_param(req, "max_age");
    if (max_age) {
        long value = 0;
        if (strspn(max_age, "0123456789") != strlen(max_age)
            || sso_parse_int(max_age, 0, 1L << 31, &value) != 0)
            S_FAIL("invalid_request", "max_age must be a non-negative integer");
        req->max_age = value;
        req->force_login = true; /* no session here, so any max_age means a fresh login */
    }

    /* Strongest selector first; login_hint counts only when it is an email. */
    static const char *const selectors[] = {"connection_id", "organization_id", "domain"};
    const char **slots[] = {&req->connection_id, &req->organization_id, &req->domain};
    for (size_t i = 0; i < 3; i++) {
        const char *value = token_authorize_param(req, selectors[i]);
        if (value && strlen(value) > ID_MAX)
            S_FAIL("invalid_request", "%s is too long", selectors[i]);
        *slots[i] = value;
        if (value && !req->selector) {
            req->selector = selectors[i];
            req->selector_value = value;
        }
    }
    const char *hint = token_authorize_param(req, "login_hint");
    if (hint && strlen(hint) > TOKEN_LOGIN_HINT_MAX)
        S_FAIL("invalid_request", "login_hint is longer than %d bytes", TOKEN_LOGIN_HINT_MAX);
    req->login_hint = hint;
    req->hint_email = hint && sso_email_domain(hint, req->email_domain,
                                                           sizeof req->email_domain) == 0;
    /* Domains match case-insensitively: the directory gets the domain lower-cased. */
    if (req->hint_email)
        snprintf(req->email, sizeof req->email, "%.*s@%s", (int) (strchr(hint, '@') - hint),
                 hint, req->email_domain);
    if (!req->selector && req->hint_email) {
        req->selector = "domain";
        req->selector_value = req->email_domain;
    }
#undef S_FAIL
    return NULL;
}

void token_authorize_parse(token_authorize_req_t *req, const char *query, size_t query_len,
                           const char *body, size_t body_len)
{
    memset(req, 0, sizeof *req);
    req->max_age = -1;
    if (query)
        s_params_add(req, query, query_len);
    if (body)
        s_params_add(req, body, body_len);
    s_parse_client(req);
    req->error = s_parse_request(req, req->error_description, sizeof req->error_description);
}

/* ---- the steps with the directory ------------------------------------------------------ */

/* Everything after the client is known. */
static zframe_t *s_authorize(s_ctx_t *ctx)
{
    const token_authorize_req_t *req = &ctx->req;
    if (req->error)
        return s_error(ctx, req->error, req->error_description);

    if (ctx->from_form) {
        if (!sso_cookie_csrf_matches(ctx->request, CSRF_COOKIE,
                                     token_authorize_param(req, CSRF_FIELD)))
            return s_page(ctx, 403, "This form expired or did not come from this site. Please "
                                    "enter your email again.",
                          NULL);
    }

    if (ctx->from_form && !req->hint_email)
        return s_page(ctx, 400, "Enter a valid work email address, like name@company.com.",
                      req->login_hint);
    if (ctx->from_form) {
        /* Remembered for next time; a cookie that does not fit is just not remembered. */
        char cookie[1024];
        if (s_cookie_header(ctx, cookie, sizeof cookie, DOMAIN_COOKIE, req->email_domain,
                            31536000L) == 0)
            ctx->last_domain = strdup(cookie);
    }
    if (!req->selector)
        return s_page(ctx, 200, NULL, NULL);

    /* s_check_client asked for the connection with the client (a known client has a lookup). */
    const Sso__AuthorizeLookupReply *found = ctx->lookup->lookup;
    zframe_t *frame;
    char description[400];
    if (*found->resolve_error) {
        const char *error = NULL;
        s_resolve_error(found->resolve_error, found->resolve_error_description, req->selector,
                        req->selector_value, description, sizeof description, &error);
        /* A person typed that email: let them correct it rather than bounce to the app. */
        if (ctx->from_form && (!strcmp(found->resolve_error, "no_organization")
                               || !strcmp(found->resolve_error, "not_found")))
            frame = s_page(ctx, 400, description, req->login_hint);
        else
            frame = s_error(ctx, error, description);
    }
    else if (!found->connection)
        frame = s_error(ctx, "server_error", "the directory sent no connection");
    else if (strcmp(found->connection->status, "active") != 0) {
        snprintf(description, sizeof description, "connection %.200s is not active",
                 found->connection->id);
        frame = s_error(ctx, "invalid_request", description);
    }
    else
        frame = s_start(ctx, found->connection, req->scope, req->force_login, req->max_age,
                        req->hint_email ? req->email : NULL);
    return frame;
}

zframe_t *token_authorize_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    bool post = !strcmp(request->method, "POST");
    if (!post && strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
        return sso_http_method_not_allowed("GET, HEAD, POST");
    s_ctx_t ctx = {.service = service, .request = request};
    const char *type = sso_http_header(request, "content-type");
    bool form = post && type && !strncasecmp(type, "application/x-www-form-urlencoded", 33);
    token_authorize_parse(&ctx.req, request->query, strlen(request->query),
                          form ? (const char *) request->body.data : NULL,
                          form ? request->body.len : 0);
    ctx.from_form = post && s_find(&ctx.req, CSRF_FIELD);
    zframe_t *frame = s_check_client(&ctx);
    if (!frame)
        frame = s_authorize(&ctx);
    if (ctx.lookup)
        sso__dir_reply__free_unpacked(ctx.lookup, NULL);
    free(ctx.last_domain);
    token_authorize_req_free(&ctx.req);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define T_CLIENT "client_id=cli_app&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback"
#define T_BASE T_CLIENT "&response_type=code&scope=openid%20profile&state=s1"
#define T_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 B */

static Sso__HttpResponse *s_test_get(token_fake_t *fake, const char *query)
{
    return token_fake_http(fake, "GET", "/oauth/authorize", query, NULL, NULL);
}

/* A redirect to the client with this error, a description containing text, and state. */
static bool s_test_error(Sso__HttpResponse *response, const char *base, const char *error,
                         const char *text, const char *state)
{
    const char *location = token_fake_header(response, "Location");
    zhashx_t *query = token_fake_location(response);
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

static void s_test_errors(token_fake_t *fake)
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
        {T_BASE "&connection_id=conn_off", "invalid_request", "connection conn_off is not active"},
        {T_BASE "&connection_id=conn_nope&domain=example.com", "invalid_request",
         "connection conn_nope was not found"},
        {T_BASE "&organization_id=org_two", "invalid_request",
         "several active connections; pass connection_id"},
        {T_BASE "&organization_id=org_nope", "invalid_request", "organization org_nope was not "
                                                                "found"},
        {T_BASE "&domain=example.net", "invalid_request", "no organization for domain "
                                                          "example.net"},
        {T_BASE "&login_hint=jane%40Example.NET", "invalid_request",
         "no organization for domain example.net"},
        /* The directory's own words pass through when it gives some. */
        {T_BASE "&domain=inactive.example", "invalid_request", "connection conn_dir is not "
                                                               "active"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake->calls = 0;
        Sso__HttpResponse *response = s_test_get(fake, cases[i].query);
        bool ok = s_test_error(response, base, cases[i].error, cases[i].text, "s1");
        if (!ok)
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].query);
        SSO_CHECK(ok);
        /* Nothing is recorded for a refused request. */
        SSO_CHECK(fake->txn == NULL);
        sso__http_response__free_unpacked(response, NULL);
    }

    /* A repeated state is not echoed; a state over 8 KB is refused, not echoed. */
    Sso__HttpResponse *response = s_test_get(fake, T_BASE "&state=s2");
    SSO_CHECK(s_test_error(response, base, "invalid_request", "state is given more", NULL));
    sso__http_response__free_unpacked(response, NULL);
    char *query = malloc(TOKEN_STATE_MAX + 200);
    snprintf(query, TOKEN_STATE_MAX + 200, "%s",
             T_CLIENT "&response_type=code&scope=openid&state=");
    size_t len = strlen(query);
    memset(query + len, 'a', TOKEN_STATE_MAX + 1);
    query[len + TOKEN_STATE_MAX + 1] = '\0';
    response = s_test_get(fake, query);
    SSO_CHECK(s_test_error(response, base, "invalid_request", "8192", NULL));
    sso__http_response__free_unpacked(response, NULL);
    free(query);

    /* A redirect_uri with a query keeps it and gets '&'. */
    response = s_test_get(fake, "client_id=cli_app&redirect_uri=https%3A%2F%2Fapp.test%2Fcb%3Fx%3D1"
                                "&response_type=token&scope=openid&state=s1");
    const char *location = token_fake_header(response, "Location");
    SSO_CHECK(location && !strncmp(location, "https://app.test/cb?x=1&error=unsupported_"
                                             "response_type&error_description=", 72));
    sso__http_response__free_unpacked(response, NULL);

    /* Bus failures where a redirect is allowed: temporarily_unavailable. */
    const char *failing[][2] = {{"txn_create", "directory"}, {"saml_start", "saml"}};
    for (size_t i = 0; i < 2; i++) {
        fake->fail_rpc = failing[i][0];
        fake->fail_status = i == 0 ? 504 : 503;
        response = s_test_get(fake, T_BASE "&domain=example.com");
        SSO_CHECK(s_test_error(response, base, "temporarily_unavailable", failing[i][1], "s1"));
        sso__http_response__free_unpacked(response, NULL);
    }
    fake->fail_rpc = NULL;
    fake->start_error = "invalid_metadata";
    response = s_test_get(fake, T_BASE "&domain=example.com");
    SSO_CHECK(s_test_error(response, base, "server_error", "metadata could not be used", "s1"));
    sso__http_response__free_unpacked(response, NULL);
    fake->start_error = NULL;
    sso__transaction__free_unpacked(fake->txn, NULL);
    fake->txn = NULL;
}

/* Errors that must not redirect: a 400 page that says why and links nowhere. */
static void s_test_pages(token_fake_t *fake)
{
    struct {
        const char *query;
        unsigned status;
        const char *text;
    } cases[] = {
        {"response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback", 400,
         "no client_id"},
        {"client_id=cli_app&response_type=code&scope=openid", 400, "no redirect_uri"},
        {"client_id=cli_nope&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback&response_type=code",
         400, "client_id cli_nope is not a registered application"},
        {"client_id=cli_app&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&response_type=code", 400,
         "redirect_uri https://evil.test/cb is not registered for client_id cli_app"},
        {"client_id=cli_app&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback%2F&response_type=code",
         400, "is not registered"},
        {"client_id=cli_app&redirect_uri=https%3A%2F%2FAPP.test%2Fcallback", 400,
         "is not registered"},
        {T_CLIENT "&client_id=cli_app", 400, "client_id more than once"},
        {T_CLIENT "&redirect_uri=https%3A%2F%2Fevil.test%2Fcb", 400, "redirect_uri more than once"},
        {"client_id=cli_app&redirect_uri=%zz", 400, "not properly encoded"},
        {"client_id=%3Cb%3Ecli%3C%2Fb%3E&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback", 400,
         "client_id &lt;b&gt;cli&lt;/b&gt; is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Sso__HttpResponse *response = s_test_get(fake, cases[i].query);
        bool ok = response && response->status == cases[i].status
                  && !token_fake_header(response, "Location")
                  && token_fake_body_has(response, cases[i].text)
                  && !token_fake_body_has(response, "href=\"http")
                  && !token_fake_body_has(response, "<b>")
                  && !strncmp(token_fake_header(response, "Content-Type"), "text/html", 9);
        if (!ok)
            fprintf(stderr, "  page case %zu: %u\n", i, response ? response->status : 0);
        SSO_CHECK(ok);
        sso__http_response__free_unpacked(response, NULL);
    }
    /* The directory down: the client cannot be checked, so nothing may redirect. */
    fake->fail_rpc = "authorize_lookup";
    fake->fail_status = 503;
    Sso__HttpResponse *response = s_test_get(fake, T_BASE);
    SSO_CHECK(response && response->status == 503 && !token_fake_header(response, "Location"));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_get(fake, T_BASE "&domain=example.com");
    SSO_CHECK(response && response->status == 503 && !token_fake_header(response, "Location"));
    sso__http_response__free_unpacked(response, NULL);
    fake->fail_rpc = NULL;
    response = token_fake_http(fake, "PUT", "/oauth/authorize", T_BASE, NULL, NULL);
    SSO_CHECK(response && response->status == 405);
    sso__http_response__free_unpacked(response, NULL);
}

static void s_test_success(token_fake_t *fake)
{
    /* Every value reaches the transaction, and the browser goes to the IdP. */
    Sso__HttpResponse *response = s_test_get(
        fake, T_BASE "&connection_id=conn_saml&organization_id=org_two&domain=example.net"
                     "&login_hint=jane%40example.com&nonce=n-1&code_challenge=" T_CHALLENGE
                     "&code_challenge_method=S256&prompt=login&scope_extra=1&claims=%7B%7D");
    const Sso__Transaction *txn = fake->txn;
    const char *location = token_fake_header(response, "Location");
    SSO_CHECK(response && response->status == 302 && txn && fake->start);
    if (!txn || !fake->start || !location) {
        sso__http_response__free_unpacked(response, NULL);
        return;
    }
    char expected[200];
    snprintf(expected, sizeof expected, "https://idp.test/saml?RelayState=%s", txn->id);
    SSO_CHECK(!strcmp(location, expected));
    SSO_CHECK(strlen(txn->id) == 32);
    SSO_CHECK(!strcmp(txn->client_id, "cli_app"));
    SSO_CHECK(!strcmp(txn->redirect_uri, "https://app.test/callback"));
    SSO_CHECK(!strcmp(txn->state, "s1") && !strcmp(txn->nonce, "n-1"));
    SSO_CHECK(!strcmp(txn->code_challenge, T_CHALLENGE));
    SSO_CHECK(!strcmp(txn->scope, "openid profile"));
    SSO_CHECK(!strcmp(txn->connection_id, "conn_saml"));
    SSO_CHECK(!strcmp(txn->organization_id, "org_1"));
    SSO_CHECK(txn->expires_at - txn->created_at == TOKEN_TXN_TTL);
    SSO_CHECK(txn->force_login && txn->max_age == -1);
    SSO_CHECK(!strcmp(txn->login_hint, "jane@example.com"));
    /* The upstream request first, then the transaction with its id. */
    SSO_CHECK(!strcmp(fake->start_target, "saml") && !strcmp(fake->last_rpc, "txn_create"));
    SSO_CHECK(!strcmp(txn->saml_request_id, "_req1") && !*txn->oidc_state);
    SSO_CHECK(!strcmp(fake->start->txn_id, txn->id) && fake->start->force_authn);
    SSO_CHECK(fake->start->connection && !strcmp(fake->start->connection->id, "conn_saml"));
    sso__http_response__free_unpacked(response, NULL);

    /* login_hint's domain, case-insensitively; an OIDC connection goes to the oidc service;
       max_age forces a login; no prompt means none forced. */
    response = s_test_get(fake, T_BASE "&login_hint=Jane%40Example.COM");
    SSO_CHECK(response && response->status == 302 && !fake->txn->force_login);
    SSO_CHECK(!strcmp(fake->txn->connection_id, "conn_saml") && !fake->start->force_authn);
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_get(fake, T_BASE "&domain=oidc.example&max_age=0");
    location = token_fake_header(response, "Location");
    SSO_CHECK(location && !strncmp(location, "https://idp.test/oidc?", 22));
    SSO_CHECK(!strcmp(fake->last_rpc, "txn_create") && !strcmp(fake->start_target, "oidc"));
    SSO_CHECK(!strcmp(fake->txn->oidc_state, "_req1") && !*fake->txn->saml_request_id);
    SSO_CHECK(fake->txn->force_login && fake->txn->max_age == 0);
    SSO_CHECK(!strcmp(fake->txn->connection_id, "conn_oidc"));
    sso__http_response__free_unpacked(response, NULL);

    /* POST with a form body works like GET. */
    response = token_fake_http(fake, "POST", "/oauth/authorize", NULL,
                               T_BASE "&organization_id=org_1", "content-type",
                               "application/x-www-form-urlencoded", NULL);
    SSO_CHECK(response && response->status == 302 && !strcmp(fake->txn->organization_id, "org_1"));
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
    SSO_CHECK(response && response->status == 302 && !strcmp(fake->txn->state, state));
    sso__http_response__free_unpacked(response, NULL);
    snprintf(query, size, "%s&state=%s", T_CLIENT "&response_type=code&scope=openid&prompt=none",
             encoded);
    response = s_test_get(fake, query);
    SSO_CHECK(s_test_error(response, "https://app.test/callback", "login_required", "session",
                           state));
    sso__http_response__free_unpacked(response, NULL);
    free(query);
    free(encoded);
    free(state);
}

/* The body's hidden sso_csrf value; caller frees. */
static char *s_test_csrf(const Sso__HttpResponse *response)
{
    static const char marker[] = "name=\"sso_csrf\" value=\"";
    const char *at = response ? memmem(response->body.data, response->body.len, marker,
                                       strlen(marker))
                              : NULL;
    return at ? strndup(at + strlen(marker), 32) : NULL;
}

static void s_test_hosted(token_fake_t *fake)
{
    sso__transaction__free_unpacked(fake->txn, NULL);
    fake->txn = NULL;
    /* No selector: the page, with its headers, cookie and every parameter carried along. */
    Sso__HttpResponse *response = s_test_get(fake, T_BASE "&nonce=%22%3E%3Cscript%3E&foo=bar");
    const char *cookie = token_fake_header(response, "Set-Cookie");
    char *csrf = s_test_csrf(response);
    SSO_CHECK(response && response->status == 200 && !token_fake_header(response, "Location"));
    SSO_CHECK(!strcmp(token_fake_header(response, "Content-Security-Policy"),
                      "default-src 'none'; style-src 'self'; form-action 'self'; "
                      "frame-ancestors 'none'"));
    SSO_CHECK(!strcmp(token_fake_header(response, "X-Frame-Options"), "DENY"));
    SSO_CHECK(csrf && strlen(csrf) == 32 && cookie && !strncmp(cookie, "sso_csrf=", 9)
              && !strncmp(cookie + 9, csrf, 32));
    SSO_CHECK(cookie && strstr(cookie, "; HttpOnly") && strstr(cookie, "; SameSite=Lax")
              && strstr(cookie, "; Secure") && strstr(cookie, "Path=/oauth/authorize"));
    SSO_CHECK(token_fake_body_has(response, "action=\"https://sso.test/oauth/authorize\""));
    SSO_CHECK(token_fake_body_has(response, "method=\"post\""));
    SSO_CHECK(token_fake_body_has(response, "name=\"client_id\" value=\"cli_app\""));
    SSO_CHECK(token_fake_body_has(response, "name=\"redirect_uri\" "
                                            "value=\"https://app.test/callback\""));
    SSO_CHECK(token_fake_body_has(response, "name=\"state\" value=\"s1\""));
    SSO_CHECK(token_fake_body_has(response, "name=\"foo\" value=\"bar\""));
    SSO_CHECK(token_fake_body_has(response, "value=\"&quot;&gt;&lt;script&gt;\""));
    SSO_CHECK(!token_fake_body_has(response, "<script>"));
    SSO_CHECK(token_fake_body_has(response, "name=\"login_hint\""));
    SSO_CHECK(fake->txn == NULL);
    sso__http_response__free_unpacked(response, NULL);
    if (!csrf)
        return;

    /* The form posted back with the matching cookie: on to the IdP, by a page rather than a
       302 (the form's CSP would block a cross-origin redirect), remembering the domain. */
    char body[600], cookies[200];
    snprintf(body, sizeof body, "%s&foo=bar&sso_csrf=%s&login_hint=jane%%40example.com", T_BASE,
             csrf);
    snprintf(cookies, sizeof cookies, "other=1; sso_csrf=%s", csrf);
    response = token_fake_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    SSO_CHECK(response && response->status == 200 && fake->txn);
    char expected[200];
    snprintf(expected, sizeof expected,
             "content=\"0;url=https://idp.test/saml?RelayState=%s\"", fake->txn ? fake->txn->id
                                                                              : "");
    SSO_CHECK(token_fake_body_has(response, expected));
    cookie = token_fake_header(response, "Set-Cookie");
    SSO_CHECK(cookie && !strncmp(cookie, "sso_last_domain=example.com;", 28)
              && strstr(cookie, "HttpOnly"));
    SSO_CHECK(fake->txn && !strcmp(fake->txn->login_hint, "jane@example.com"));
    sso__http_response__free_unpacked(response, NULL);
    sso__transaction__free_unpacked(fake->txn, NULL);
    fake->txn = NULL;

    /* A wrong or missing cookie: the page again (403), nothing started. */
    snprintf(cookies, sizeof cookies, "sso_csrf=%.31s%c", csrf, csrf[31] == 'X' ? 'Y' : 'X');
    const char *jars[] = {cookies, "x=1"};
    for (size_t i = 0; i < 2; i++) {
        response = token_fake_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                                   "application/x-www-form-urlencoded", "cookie", jars[i], NULL);
        SSO_CHECK(response && response->status == 403 && !fake->txn);
        SSO_CHECK(token_fake_body_has(response, "expired"));
        sso__http_response__free_unpacked(response, NULL);
    }

    /* An invalid email: the page again with a message and what was typed. */
    snprintf(cookies, sizeof cookies, "sso_csrf=%s", csrf);
    snprintf(body, sizeof body, "%s&sso_csrf=%s&login_hint=jane%%3Cat%%3Eexample", T_BASE, csrf);
    response = token_fake_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    SSO_CHECK(response && response->status == 400 && !fake->txn);
    SSO_CHECK(token_fake_body_has(response, "Enter a valid work email"));
    SSO_CHECK(token_fake_body_has(response, "value=\"jane&lt;at&gt;example\""));
    /* The same token is kept, so the re-rendered form works. */
    char *again = s_test_csrf(response);
    SSO_CHECK(again && !strcmp(again, csrf));
    free(again);
    sso__http_response__free_unpacked(response, NULL);
    /* An email whose domain has no organization: the page again, saying so. */
    snprintf(body, sizeof body, "%s&sso_csrf=%s&login_hint=jane%%40gmail.com", T_BASE, csrf);
    response = token_fake_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    SSO_CHECK(response && response->status == 400 && !fake->txn);
    SSO_CHECK(token_fake_body_has(response, "no organization for domain gmail.com"));
    sso__http_response__free_unpacked(response, NULL);
    free(csrf);

    /* The remembered domain pre-fills the field; a junk cookie does not. */
    response = token_fake_http(fake, "GET", "/oauth/authorize", T_BASE, NULL, "cookie",
                               "sso_last_domain=example.com", NULL);
    SSO_CHECK(token_fake_body_has(response, "value=\"@example.com\""));
    sso__http_response__free_unpacked(response, NULL);
    response = token_fake_http(fake, "GET", "/oauth/authorize", T_BASE, NULL, "cookie",
                               "sso_last_domain=\"><b>", NULL);
    SSO_CHECK(response && response->status == 200 && !token_fake_body_has(response, "<b>")
              && token_fake_body_has(response, "autofocus value=\"\""));
    sso__http_response__free_unpacked(response, NULL);

    /* Over plain http the cookie is not Secure. */
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "http://localhost:8080");
    response = s_test_get(fake, T_BASE);
    cookie = token_fake_header(response, "Set-Cookie");
    SSO_CHECK(cookie && !strstr(cookie, "Secure"));
    sso__http_response__free_unpacked(response, NULL);
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "https://sso.test");
}

void token_authorize_test(bool verbose)
{
    (void) verbose;
    /* The pure reading of a request: the client first, then the first error, then the
       values and the strongest selector. */
    token_authorize_req_t req;
    static const char query[] = "client_id=cli_app&redirect_uri=https%3A%2F%2Fapp.test%2Fcb"
                                "&response_type=code&scope=email%20openid%20x&state=s%201"
                                "&nonce=n&prompt=login&max_age=5&login_hint=Jane%40Example.COM"
                                "&organization_id=org_1&unknown=%C3%A9";
    token_authorize_parse(&req, query, strlen(query), "domain=d.example", 16);
    SSO_CHECK(req.client_id && !strcmp(req.client_id, "cli_app"));
    SSO_CHECK(req.redirect_uri && !strcmp(req.redirect_uri, "https://app.test/cb"));
    SSO_CHECK(!req.error && !strcmp(req.scope, "openid email") && !strcmp(req.state, "s 1"));
    SSO_CHECK(req.force_login && req.max_age == 5 && !strcmp(req.nonce, "n"));
    SSO_CHECK(req.hint_email && !strcmp(req.email, "Jane@example.com"));
    SSO_CHECK(!strcmp(req.selector, "organization_id") && !strcmp(req.selector_value, "org_1"));
    SSO_CHECK(!strcmp(req.domain, "d.example") && !req.connection_id && !req.code_challenge);
    token_authorize_req_free(&req);
    token_authorize_parse(&req, "client_id=a&client_id=b&scope=x", 31, NULL, 0);
    SSO_CHECK(!req.client_id && strstr(req.client_message, "client_id more than once"));
    SSO_CHECK(req.error && !strcmp(req.error, "invalid_request"));
    token_authorize_req_free(&req);
    token_authorize_parse(&req, "client_id=a&redirect_uri=b&response_type=code&scope=openid"
                                "&login_hint=x%40y.example", 83, NULL, 0);
    SSO_CHECK(req.client_id && !req.error && req.max_age == -1 && !req.force_login);
    SSO_CHECK(!strcmp(req.selector, "domain") && !strcmp(req.selector_value, "y.example"));
    token_authorize_req_free(&req);
    token_authorize_parse(&req, NULL, 0, NULL, 0);
    SSO_CHECK(!req.client_id && strstr(req.client_message, "no client_id") && req.error);
    token_authorize_req_free(&req);

    token_fake_t fake;
    if (token_fake_open(&fake) != 0) {
        SSO_CHECK(!"fake");
        return;
    }
    s_test_pages(&fake);
    s_test_errors(&fake);
    s_test_success(&fake);
    s_test_hosted(&fake);
    token_fake_close(&fake);
}
