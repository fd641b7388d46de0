#include "oidc_repost.h"
#include "../directory/dir_fake.h"
#include "oidc_authorize.h"
#include "oidc_calls.h"
#include "oidc_login.h"
#include "sso_crypto.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_REPOST_SCRIPT "document.forms[0].submit();"
#define S_REPOST_CSP                                                                           \
    "default-src 'none'; script-src 'sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ='; "    \
    "style-src 'self'; base-uri 'none'; frame-ancestors 'none'"

zframe_t *oidc_repost_page(const char *public_url, const char *connection_id,
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
        /* The button only without scripts: a click while the script submits would send the
           code twice, and the second answer (the code already spent) is an error page. */
        sso_html_add(html, "<noscript><button type=\"submit\">Continue</button></noscript>\n"
                           "</form>\n"
                           "<script>" S_REPOST_SCRIPT "</script>\n");
        sso_html_end(html);
    }
    sso_response_t *response =
        html && *action ? sso_html_response_csp(&html, 200, S_REPOST_CSP) : NULL;
    sso_html_destroy(&html);
    return response ? sso_response_pack(&response)
                    : sso_html_error_page(500, "Something went wrong", "out of memory");
}

int oidc_repost_mode_check(const oidc_callback_t *cb, const Sso__Connection *conn, char *why,
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

/* ---- self-test ------------------------------------------------------------------------- */

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
    oidc_state_t state = {.cache = sso_oidc_cache_new(4)};
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
              && s_test_body_has(response, "<noscript><button type=\"submit\">Continue</button>"
                                           "</noscript>")
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

void oidc_repost_test(bool verbose)
{
    (void) verbose;
    s_test_bound();
}
