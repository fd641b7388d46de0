#include "token_authorize_params.h"
#include "sso_config.h"
#include "sso_email.h"
#include "sso_http.h"
#include "sso_test.h"
#include "token_code.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 255             /* client_id, connection_id, organization_id, domain */
#define REDIRECT_URI_MAX 2048
#define NONCE_MAX 1024

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

const token_param_t *token_authorize_param_find(const token_authorize_req_t *req,
                                                const char *name)
{
    return s_find(req, name);
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

/* ---- self-test ------------------------------------------------------------------------- */

void token_authorize_params_test(bool verbose)
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
}
