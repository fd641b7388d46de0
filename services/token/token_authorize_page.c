#include "token_authorize_page.h"
#include "sso_cookie.h"
#include "sso_email.h"
#include "sso_html.h"
#include "sso_test.h"
#include "token_testkit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSRF_COOKIE "sso_csrf"
#define CSRF_FIELD "sso_csrf"
#define DOMAIN_COOKIE "sso_last_domain"

/* A Set-Cookie value scoped to this endpoint. 0, or -1 when it does not fit. */
static int s_cookie_header(sso_service_t *service, char *out, size_t size, const char *name,
                           const char *value, long max_age)
{
    return sso_cookie_header(out, size, service->config->public_url, "/oauth/authorize", name,
                             value, max_age);
}

/* CSRF: double submit of a random token (an HttpOnly cookie and a hidden field must match). */
zframe_t *token_authorize_page(sso_service_t *service, const Sso__HttpRequest *request,
                               const token_authorize_req_t *req, uint32_t status,
                               const char *message, const char *email)
{
    char *token = sso_cookie_csrf_token(request, CSRF_COOKIE);
    char *last = sso_cookie_get(request, DOMAIN_COOKIE);
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
    snprintf(action, sizeof action, "%s/oauth/authorize", service->config->public_url);

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
    for (size_t i = 0; i < req->n; i++) {
        const token_param_t *param = &req->items[i];
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
    int rc = s_cookie_header(service, cookie, sizeof cookie, CSRF_COOKIE, token, 3600);
    free(token);
    if (rc != 0) {
        zframe_t *frame = sso_response_pack(&response);
        zframe_destroy(&frame);
        return sso_html_error_page(500, "Something went wrong", "the cookie does not fit");
    }
    sso_response_header(response, "Set-Cookie", cookie);
    return sso_response_pack(&response);
}

bool token_authorize_page_posted(const Sso__HttpRequest *request,
                                 const token_authorize_req_t *req)
{
    return !strcmp(request->method, "POST") && token_authorize_param_find(req, CSRF_FIELD);
}

zframe_t *token_authorize_page_check_form(sso_service_t *service,
                                          const Sso__HttpRequest *request,
                                          const token_authorize_req_t *req, char **remember)
{
    *remember = NULL;
    if (!sso_cookie_csrf_matches(request, CSRF_COOKIE, token_authorize_param(req, CSRF_FIELD)))
        return token_authorize_page(service, request, req, 403,
                                    "This form expired or did not come from this site. Please "
                                    "enter your email again.",
                                    NULL);
    if (!req->hint_email)
        return token_authorize_page(service, request, req, 400,
                                    "Enter a valid work email address, like name@company.com.",
                                    req->login_hint);
    /* Remembered for next time; a cookie that does not fit is just not remembered. */
    char cookie[1024];
    if (s_cookie_header(service, cookie, sizeof cookie, DOMAIN_COOKIE, req->email_domain,
                        31536000L) == 0)
        *remember = strdup(cookie);
    return NULL;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define T_BASE "client_id={client}&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback" \
               "&response_type=code&scope=openid%20profile&state=s1"

static Sso__HttpResponse *s_test_get(token_testkit_t *fake, const char *query)
{
    return token_testkit_http(fake, "GET", "/oauth/authorize", query, NULL, NULL);
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

static void s_test_hosted(token_testkit_t *fake)
{
    int txns = dir_fake_txns(fake->dir);
    /* No selector: the page, with its headers, cookie and every parameter carried along. */
    Sso__HttpResponse *response = s_test_get(fake, T_BASE "&nonce=%22%3E%3Cscript%3E&foo=bar");
    const char *cookie = token_testkit_header(response, "Set-Cookie");
    char *csrf = s_test_csrf(response);
    SSO_CHECK(response && response->status == 200 && !token_testkit_header(response, "Location"));
    SSO_CHECK(!strcmp(token_testkit_header(response, "Content-Security-Policy"),
                      "default-src 'none'; style-src 'self'; form-action 'self'; "
                      "frame-ancestors 'none'"));
    SSO_CHECK(!strcmp(token_testkit_header(response, "X-Frame-Options"), "DENY"));
    SSO_CHECK(csrf && strlen(csrf) == 32 && cookie && !strncmp(cookie, "sso_csrf=", 9)
              && !strncmp(cookie + 9, csrf, 32));
    SSO_CHECK(cookie && strstr(cookie, "; HttpOnly") && strstr(cookie, "; SameSite=Lax")
              && strstr(cookie, "; Secure") && strstr(cookie, "Path=/oauth/authorize"));
    SSO_CHECK(
        token_testkit_body_has(fake, response, "action=\"https://sso.test/oauth/authorize\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "method=\"post\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "name=\"client_id\" value=\"{client}\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "name=\"redirect_uri\" "
                                            "value=\"https://app.test/callback\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "name=\"state\" value=\"s1\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "name=\"foo\" value=\"bar\""));
    SSO_CHECK(token_testkit_body_has(fake, response, "value=\"&quot;&gt;&lt;script&gt;\""));
    SSO_CHECK(!token_testkit_body_has(fake, response, "<script>"));
    SSO_CHECK(token_testkit_body_has(fake, response, "name=\"login_hint\""));
    SSO_CHECK(txns >= 0 && dir_fake_txns(fake->dir) == txns);
    sso__http_response__free_unpacked(response, NULL);
    if (!csrf)
        return;

    /* The form posted back with the matching cookie: on to the IdP, by a page rather than a
       302 (the form's CSP would block a cross-origin redirect), remembering the domain. */
    char body[600], cookies[200];
    snprintf(body, sizeof body, "%s&foo=bar&sso_csrf=%s&login_hint=jane%%40example.com", T_BASE,
             csrf);
    snprintf(cookies, sizeof cookies, "other=1; sso_csrf=%s", csrf);
    response = token_testkit_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    Sso__Transaction *txn = token_testkit_txn(fake);
    SSO_CHECK(response && response->status == 200 && txn);
    char expected[200];
    snprintf(expected, sizeof expected,
             "content=\"0;url=https://idp.test/saml?RelayState=%s\"", txn ? txn->id : "");
    SSO_CHECK(token_testkit_body_has(fake, response, expected));
    cookie = token_testkit_header(response, "Set-Cookie");
    SSO_CHECK(cookie && !strncmp(cookie, "sso_last_domain=example.com;", 28)
              && strstr(cookie, "HttpOnly"));
    SSO_CHECK(txn && !strcmp(txn->login_hint, "jane@example.com"));
    sso__http_response__free_unpacked(response, NULL);
    sso__transaction__free_unpacked(txn, NULL);
    txns = dir_fake_txns(fake->dir);

    /* A wrong or missing cookie: the page again (403), nothing started. */
    snprintf(cookies, sizeof cookies, "sso_csrf=%.31s%c", csrf, csrf[31] == 'X' ? 'Y' : 'X');
    const char *jars[] = {cookies, "x=1"};
    for (size_t i = 0; i < 2; i++) {
        response = token_testkit_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                                   "application/x-www-form-urlencoded", "cookie", jars[i], NULL);
        SSO_CHECK(response && response->status == 403 && dir_fake_txns(fake->dir) == txns);
        SSO_CHECK(token_testkit_body_has(fake, response, "expired"));
        sso__http_response__free_unpacked(response, NULL);
    }

    /* An invalid email: the page again with a message and what was typed. */
    snprintf(cookies, sizeof cookies, "sso_csrf=%s", csrf);
    snprintf(body, sizeof body, "%s&sso_csrf=%s&login_hint=jane%%3Cat%%3Eexample", T_BASE, csrf);
    response = token_testkit_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    SSO_CHECK(response && response->status == 400 && dir_fake_txns(fake->dir) == txns);
    SSO_CHECK(token_testkit_body_has(fake, response, "Enter a valid work email"));
    SSO_CHECK(token_testkit_body_has(fake, response, "value=\"jane&lt;at&gt;example\""));
    /* The same token is kept, so the re-rendered form works. */
    char *again = s_test_csrf(response);
    SSO_CHECK(again && !strcmp(again, csrf));
    free(again);
    sso__http_response__free_unpacked(response, NULL);
    /* An email whose domain has no organization: the page again, saying so. */
    snprintf(body, sizeof body, "%s&sso_csrf=%s&login_hint=jane%%40gmail.com", T_BASE, csrf);
    response = token_testkit_http(fake, "POST", "/oauth/authorize", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "cookie", cookies, NULL);
    SSO_CHECK(response && response->status == 400 && dir_fake_txns(fake->dir) == txns);
    SSO_CHECK(token_testkit_body_has(fake, response, "no organization for domain gmail.com"));
    sso__http_response__free_unpacked(response, NULL);
    free(csrf);

    /* The remembered domain pre-fills the field; a junk cookie does not. */
    response = token_testkit_http(fake, "GET", "/oauth/authorize", T_BASE, NULL, "cookie",
                               "sso_last_domain=example.com", NULL);
    SSO_CHECK(token_testkit_body_has(fake, response, "value=\"@example.com\""));
    sso__http_response__free_unpacked(response, NULL);
    response = token_testkit_http(fake, "GET", "/oauth/authorize", T_BASE, NULL, "cookie",
                               "sso_last_domain=\"><b>", NULL);
    SSO_CHECK(response && response->status == 200 && !token_testkit_body_has(fake, response, "<b>")
              && token_testkit_body_has(fake, response, "autofocus value=\"\""));
    sso__http_response__free_unpacked(response, NULL);

    /* Over plain http the cookie is not Secure. */
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "http://localhost:8080");
    response = s_test_get(fake, T_BASE);
    cookie = token_testkit_header(response, "Set-Cookie");
    SSO_CHECK(cookie && !strstr(cookie, "Secure"));
    sso__http_response__free_unpacked(response, NULL);
    snprintf(fake->config.public_url, sizeof fake->config.public_url, "https://sso.test");
}

void token_authorize_page_test(bool verbose)
{
    (void) verbose;
    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    s_test_hosted(&fake);
    token_testkit_close(&fake);
}
