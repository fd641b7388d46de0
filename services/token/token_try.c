/* token_try: the dashboard's Try it callback. */
#include "token_try.h"
#include "sso_clients.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_test.h"
#include "token_code.h"
#include "token_dir.h"
#include "token_keys.h"
#include "token_service.h"
#include "token_testkit.h"

#define S_TITLE "Try it"
#define S_AGAIN "Close this window and press Try it again in the dashboard."

/* A refusal: what happened and what to do, escaped by sso_html. */
static zframe_t *s_refused(uint32_t status, const char *message)
{
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, S_TITLE);
        sso_html_add(html, "<h1>The test login could not be shown</h1>\n<p>{}</p>\n<p>{}</p>\n",
                     message, S_AGAIN);
        sso_html_end(html);
    }
    sso_response_t *response = html ? sso_html_response(&html, status) : NULL;
    return response ? sso_response_pack(&response)
                    : sso_html_error_page(500, S_TITLE, "out of memory");
}

/* A JSON object as table rows: a string as itself, anything else as compact JSON. */
static void s_rows(sso_html_t *html, const json_t *object)
{
    const char *name;
    json_t *value;
    json_object_foreach((json_t *) object, name, value) {
        char *text = json_is_string(value) ? NULL : json_dumps(value, JSON_ENCODE_ANY
                                                                          | JSON_COMPACT);
        sso_html_add(html, "<tr><th scope=\"row\">{}</th><td><code>{}</code></td></tr>\n", name,
                     json_is_string(value) ? json_string_value(value) : text ? text : "");
        free(text);
    }
}

/* The page of a minted ID token: read back through the published JWKS, as a client reads it. */
static zframe_t *s_shown(sso_service_t *service, const char *id_token)
{
    token_state_t *state = service->state;
    char *jwks = token_keys_jwks(state->keys);
    sso_jose_keys_t *keys = NULL;
    json_t *header = NULL, *claims = NULL;
    char why[SSO_JOSE_WHY_SIZE] = "";
    const char *const rs256[] = {"RS256", NULL};
    if (!jwks || sso_jose_keys_parse(jwks, strlen(jwks), &keys, why, sizeof why) != 0
        || sso_jose_verify(id_token, keys, rs256, &header, &claims, why, sizeof why)
               != SSO_JOSE_OK) {
        sso_error("try: the minted ID token does not verify: %s", why);
        free(jwks);
        sso_jose_keys_destroy(&keys);
        return s_refused(500, "The ID token does not verify with the published keys.");
    }
    free(jwks);
    sso_jose_keys_destroy(&keys);
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, "Try it: the ID token");
        sso_html_add(html, "<h1>The ID token of the test login</h1>\n<p>Minted and signed for "
                           "the client {} as for any client; it verifies with the published "
                           "keys (/keys).</p>\n<h2>Claims</h2>\n<table data-testid=\"claims\">\n",
                     json_string_value(json_object_get(claims, "aud")));
        s_rows(html, claims);
        sso_html_add(html, "</table>\n<h2>Header</h2>\n<table data-testid=\"header\">\n");
        s_rows(html, header);
        sso_html_add(html, "</table>\n<h2>The raw JWT</h2>\n<pre data-testid=\"jwt\"><code>{}"
                           "</code></pre>\n<p>Close this window to go back to the dashboard."
                           "</p>\n", id_token);
        sso_html_end(html);
    }
    json_decref(header);
    json_decref(claims);
    sso_response_t *response = html ? sso_html_response(&html, 200) : NULL;
    return response ? sso_response_pack(&response)
                    : sso_html_error_page(500, S_TITLE, "out of memory");
}

/* The directory's refusal as a page. */
static zframe_t *s_redeem_refused(const Sso__CodeRedeemReply *reply)
{
    const char *said = reply->error_description;
    switch (reply->error) {
    case SSO__RPC_ERROR__NOT_FOUND:
        return s_refused(404, *said ? said : "no such try");
    case SSO__RPC_ERROR__ACCESS_DENIED:
        return s_refused(403, *said ? said : "this browser's dashboard session did not start "
                                             "this try");
    case SSO__RPC_ERROR__CONSUMED:
    case SSO__RPC_ERROR__EXPIRED:
        return s_refused(410, said);
    case SSO__RPC_ERROR__INVALID_GRANT:
    case SSO__RPC_ERROR__INVALID_REQUEST:
        return s_refused(400, *said ? said : "the code is not valid");
    default:
        return s_refused(500, "The code could not be redeemed.");
    }
}

static zframe_t *s_callback(sso_service_t *service, const Sso__HttpRequest *request,
                            zhashx_t *query)
{
    const char *code = zhashx_lookup(query, "code");
    const char *state = zhashx_lookup(query, "state");
    const char *error = zhashx_lookup(query, "error");
    if (error) {
        /* The login itself failed: /oauth/authorize sent its error here, as to any client. */
        const char *description = zhashx_lookup(query, "error_description");
        char message[600];
        snprintf(message, sizeof message, "The login ended with %.64s: %.480s", error,
                 description ? description : "(no description)");
        return s_refused(400, message);
    }
    if (!code || !*code || !state || !*state)
        return s_refused(400, "The address has no code or no state.");
    const char *cookie = sso_http_header(request, "cookie");
    char *kid = NULL;
    EVP_PKEY *key = NULL;
    zframe_t *frame = token_code_signing_key(service, &key, &kid);
    if (frame)
        return frame;
    Sso__TryRedeemRequest redeem = SSO__TRY_REDEEM_REQUEST__INIT;
    redeem.code = (char *) code;
    redeem.state = (char *) state;
    redeem.cookie = (char *) (cookie ? cookie : "");
    redeem.access_token_ttl = TOKEN_TRY_ACCESS_TTL;
    Sso__CodeRedeemReply *reply = NULL;
    /* Single use: never re-sent by the broker (a TokenWrites operation). */
    int status = sso_dir_try_redeem(service, &redeem, &reply);
    if (status != 0)
        frame = token_dir_unavailable(status);
    else if (reply->error)
        frame = s_redeem_refused(reply);
    else if (!reply->grant || !reply->grant->profile || !*reply->grant->access_token)
        frame = s_refused(500, "The directory sent no grant.");
    else {
        char *id_token = NULL;
        const char *why = NULL;
        if (token_code_mint(service, reply->grant, key, kid, &id_token, &why) != 0)
            frame = s_refused(500, why);
        else {
            frame = s_shown(service, id_token);
            sso_info("try: ID token minted for %s via %s", reply->grant->client_id,
                     reply->grant->connection_id);
        }
        free(id_token);
    }
    if (reply)
        sso__code_redeem_reply__free_unpacked(reply, NULL);
    EVP_PKEY_free(key);
    free(kid);
    return frame;
}

zframe_t *token_try_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "GET") != 0)
        return sso_http_method_not_allowed("GET");
    zhashx_t *query = sso_form_parse(request->query ? request->query : "",
                                     request->query ? strlen(request->query) : 0);
    if (!query)
        return s_refused(400, "The address is malformed.");
    zframe_t *frame = s_callback(service, request, query);
    zhashx_destroy(&query);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

static Sso__HttpResponse *s_get(token_testkit_t *kit, const char *query, const char *cookie)
{
    if (cookie)
        return token_testkit_http(kit, "GET", TOKEN_TRY_PATH, query, NULL, "Cookie", cookie,
                                  NULL);
    return token_testkit_http(kit, "GET", TOKEN_TRY_PATH, query, NULL, NULL);
}

/* The answer has status and its page says says. */
static bool s_page(token_testkit_t *kit, Sso__HttpResponse *response, uint32_t status,
                   const char *says)
{
    bool ok = response && response->status == status
              && token_testkit_body_has(kit, response, says)
              && token_testkit_header(response, "Content-Security-Policy");
    if (!ok)
        fprintf(stderr, "try: wanted %u \"%s\", got %u %.*s\n", status, says,
                response ? response->status : 0, response ? (int) response->body.len : 0,
                response ? (const char *) response->body.data : "");
    sso__http_response__free_unpacked(response, NULL);
    return ok;
}

static void s_test(token_testkit_t *kit)
{
    char cookie[256] = "", other[256] = "", state[64] = "", code[128] = "";
    char other_state[64] = "", other_code[128] = "";
    SSO_CHECK(dir_fake_dashboard_try(kit->dir, "a@example.com", cookie, state, code) == 0);
    SSO_CHECK(dir_fake_dashboard_try(kit->dir, "b@example.com", other, other_state, other_code)
              == 0);
    char query[400];
    snprintf(query, sizeof query, "code=%s&state=%s", code, state);

    /* Refusals before the bus, then the directory's: each a page, nothing spent. */
    Sso__HttpResponse *response = NULL;
    response = token_testkit_http(kit, "POST", TOKEN_TRY_PATH, query, NULL, NULL);
    SSO_CHECK(response && response->status == 405);
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(s_page(kit, s_get(kit, "code=x", cookie), 400, "no code or no state"));
    SSO_CHECK(s_page(kit, s_get(kit, "code=%zz&state=x", cookie), 400, "malformed"));
    SSO_CHECK(s_page(kit, s_get(kit, "error=access_denied&error_description=%3Cscript%3E&state=x",
                                cookie), 400, "access_denied: &lt;script&gt;"));
    SSO_CHECK(s_page(kit, s_get(kit, query, NULL), 403, "not signed in"));
    SSO_CHECK(s_page(kit, s_get(kit, query, other), 403, "another dashboard session"));

    /* The try's browser: the ID token, minted for the try client and shown, escaped. */
    response = s_get(kit, query, cookie);
    SSO_CHECK(s_page(kit, response, 200, "cli_dashboard_try"));
    response = NULL;
    /* Used: the same address again. */
    SSO_CHECK(s_page(kit, s_get(kit, query, cookie), 410, "used already"));

    /* The other admin's try, in its browser: the claims, the header and the JWT on the page. */
    snprintf(query, sizeof query, "code=%s&state=%s", other_code, other_state);
    response = s_get(kit, query, other);
    const char *want[] = {"<th scope=\"row\">iss</th><td><code>https://sso.test</code>",
                          "<th scope=\"row\">aud</th><td><code>cli_dashboard_try</code>",
                          "<th scope=\"row\">email</th><td><code>jane@example.com</code>",
                          "<th scope=\"row\">oid</th><td><code>org_test</code>",
                          "<th scope=\"row\">sub</th><td><code>conn_simulator;jane@example.com",
                          "<th scope=\"row\">alg</th><td><code>RS256</code>",
                          "Jane &lt;b&gt;Doe&lt;/b&gt;", "<pre data-testid=\"jwt\"><code>eyJ"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        SSO_CHECK(response && token_testkit_body_has(kit, response, want[i]));
    SSO_CHECK(response && !token_testkit_body_has(kit, response, "<script")
              && !token_testkit_body_has(kit, response, "<b>"));
    sso__http_response__free_unpacked(response, NULL);

    /* The directory off the bus: 503, the page of a service that cannot answer. */
    SSO_CHECK(dir_fake_stop(kit->dir) == 0);
    response = s_get(kit, query, other);
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_start(kit->dir) == 0);
}

void token_try_test(bool verbose)
{
    (void) verbose;
    token_testkit_run(s_test);
}
