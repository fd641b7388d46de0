/* Fuzz target: /oauth/authorize's parameter reading and checks (token_authorize_parse), the
   part of the request handled before any directory call. The input is the query string; after
   a first newline, a form body. Checks the invariants the handler relies on, and that the
   error redirect built from the result gives the state back intact. */
#include "sso_http.h"
#include "token_authorize_params.h"
#include "token_code.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_errors[] = {"invalid_request", "unsupported_response_type",
                                       "invalid_scope", "login_required"};

static void s_check_error_redirect(const token_authorize_req_t *req)
{
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {req->error, req->error_description, req->state};
    char *url = sso_url_with_params("https://app.test/cb", 3, names, values);
    if (!url)
        return;
    const char *query = strchr(url, '?');
    if (!query)
        abort();
    zhashx_t *form = sso_form_parse(query + 1, strlen(query + 1));
    if (!form)
        abort();
    const char *state = zhashx_lookup(form, "state");
    if (req->state ? !state || strcmp(state, req->state) != 0 : state != NULL)
        abort();
    if (strcmp(zhashx_lookup(form, "error"), req->error) != 0)
        abort();
    zhashx_destroy(&form);
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    size_t query_len = newline ? (size_t) (newline - data) : size;
    /* The gateway hands over a NUL-terminated query; the body is a counted buffer. */
    char *query = strndup((const char *) data, query_len);
    const char *body = newline ? (const char *) newline + 1 : NULL;
    size_t body_len = newline ? size - query_len - 1 : 0;
    token_authorize_req_t *req = malloc(sizeof *req);
    if (!query || !req) {
        free(query);
        free(req);
        return 0;
    }
    token_authorize_parse(req, query, strlen(query), body, body_len);

    if (req->n > TOKEN_AUTHORIZE_PARAMS_MAX)
        abort();
    if (!req->client_id != !req->redirect_uri)
        abort();
    if (!req->client_id && !req->client_message[0])
        abort();
    if (req->client_id && (!*req->client_id || strlen(req->client_id) > 255
                           || !*req->redirect_uri || strlen(req->redirect_uri) > 2048))
        abort();
    if (req->state && (!*req->state || strlen(req->state) > TOKEN_STATE_MAX))
        abort();
    if (req->error) {
        bool known = false;
        for (size_t i = 0; i < sizeof s_errors / sizeof *s_errors; i++)
            known |= !strcmp(req->error, s_errors[i]);
        if (!known || !req->error_description[0])
            abort();
        s_check_error_redirect(req);
    }
    else {
        if (strncmp(req->scope, "openid", 6) != 0)
            abort();
        if (req->code_challenge && !token_code_pkce_ok(req->code_challenge))
            abort();
        if (req->max_age < -1 || (req->max_age >= 0 && !req->force_login))
            abort();
        if (!req->selector != !req->selector_value)
            abort();
        if (req->selector && (!*req->selector_value || strlen(req->selector_value) > 255))
            abort();
        if (req->hint_email) {
            size_t domain_len = strlen(req->email_domain), email_len = strlen(req->email);
            if (!domain_len || email_len <= domain_len + 1
                || strcmp(req->email + email_len - domain_len, req->email_domain) != 0
                || req->email[email_len - domain_len - 1] != '@')
                abort();
            for (const char *p = req->email_domain; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    abort();
        }
        /* Every value the handler uses was given exactly once. */
        const char *names[] = {"nonce", "code_challenge", "connection_id", "organization_id",
                               "domain", "login_hint"};
        const char *values[] = {req->nonce, req->code_challenge, req->connection_id,
                                req->organization_id, req->domain, req->login_hint};
        for (size_t i = 0; i < 6; i++)
            if (values[i] != token_authorize_param(req, names[i]))
                abort();
    }
    token_authorize_req_free(req);
    free(req);
    free(query);
    return 0;
}
