#include "oidc_authorize.h"
#include "sso_fetch.h"
#include "sso_http.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SCOPES_MAX 1024

/* "openid" and the connection's scopes, each once, space-separated, into out; -1 when they
   do not fit or one is not a scope token (RFC 6749 3.3: %x21 / %x23-5B / %x5D-7E). */
static int s_scope(const Sso__Connection *conn, char *out, size_t size)
{
    size_t n = (size_t) snprintf(out, size, "openid");
    for (size_t i = 0; i < conn->n_oidc_scopes; i++) {
        const char *scope = conn->oidc_scopes[i];
        size_t len = strlen(scope);
        if (!len)
            return -1;
        for (size_t k = 0; k < len; k++) {
            unsigned char c = (unsigned char) scope[k];
            if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e)
                return -1;
        }
        bool seen = !strcmp(scope, "openid");
        for (size_t j = 0; !seen && j < i; j++)
            seen = !strcmp(scope, conn->oidc_scopes[j]);
        if (seen)
            continue;
        if (n + 1 + len >= size)
            return -1;
        n += (size_t) snprintf(out + n, size - n, " %s", scope);
    }
    return 0;
}

void oidc_authorize_redirect_uri(const char *public_url, const char *connection_id, char *out,
                                 size_t size)
{
    int n = snprintf(out, size, "%s%s/%s", public_url ? public_url : "", OIDC_CALLBACK_PATH,
                     connection_id ? connection_id : "");
    if (n < 0 || (size_t) n >= size)
        out[0] = '\0';
}

bool oidc_authorize_form_post(const Sso__Connection *conn)
{
    return conn->oidc_response_mode && !strcmp(conn->oidc_response_mode, "form_post");
}

char *oidc_authorize_url(const oidc_authorize_provider_t *provider, const Sso__Connection *conn,
                         const Sso__Transaction *txn, char *why, size_t why_size)
{
    bool plain = false;
    char check[200] = "";
    if (!provider->authorization_endpoint
        || sso_fetch_url_check(provider->authorization_endpoint, true, &plain, check,
                               sizeof check) != 0
        || strchr(provider->authorization_endpoint, '#')) {
        snprintf(why, why_size, "authorization_endpoint: not an absolute URL without a "
                 "fragment (%s)", *check ? check : "absent");
        return NULL;
    }
    if (!conn->oidc_client_id || !*conn->oidc_client_id) {
        snprintf(why, why_size, "the connection has no client_id");
        return NULL;
    }
    if (!*txn->oidc_state || !*txn->oidc_nonce) {
        snprintf(why, why_size, "the login transaction has no state or nonce");
        return NULL;
    }
    if (provider->pkce && strlen(txn->oidc_code_challenge) != 43) {
        snprintf(why, why_size, "the login transaction has no PKCE code challenge");
        return NULL;
    }
    char scope[S_SCOPES_MAX], redirect_uri[1200], max_age[24] = "";
    if (s_scope(conn, scope, sizeof scope) != 0) {
        snprintf(why, why_size, "the connection's scopes are not valid scope tokens or too long");
        return NULL;
    }
    oidc_authorize_redirect_uri(provider->public_url, conn->id, redirect_uri,
                                sizeof redirect_uri);
    if (!*redirect_uri || !conn->id || !*conn->id) {
        snprintf(why, why_size, "the connection has no id, or SSO_PUBLIC_URL is too long");
        return NULL;
    }
    if (txn->max_age >= 0)
        snprintf(max_age, sizeof max_age, "%lld", (long long) txn->max_age);
    const char *challenge = provider->pkce ? txn->oidc_code_challenge : NULL;
    const char *names[] = {"response_type", "client_id", "redirect_uri", "scope", "state",
                           "nonce", "code_challenge", "code_challenge_method", "login_hint",
                           "prompt", "max_age", "response_mode"};
    const char *values[] = {"code", conn->oidc_client_id, redirect_uri, scope, txn->oidc_state,
                            txn->oidc_nonce, challenge, challenge ? "S256" : NULL,
                            txn->login_hint, txn->force_login ? "login" : NULL, max_age,
                            oidc_authorize_form_post(conn) ? "form_post" : NULL};
    char *url = sso_url_with_params(provider->authorization_endpoint,
                                    sizeof names / sizeof *names, names, values);
    if (!url)
        snprintf(why, why_size, "out of memory");
    return url;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The decoded value of name in url's query, or NULL (caller frees). */
static char *s_param(const char *url, const char *name)
{
    const char *query = strchr(url, '?');
    zhashx_t *params = query ? sso_form_parse(query + 1, strlen(query + 1)) : NULL;
    const char *value = params ? zhashx_lookup(params, name) : NULL;
    char *copy = value ? strdup(value) : NULL;
    zhashx_destroy(&params);
    return copy;
}

static bool s_param_is(const char *url, const char *name, const char *want)
{
    char *got = url ? s_param(url, name) : NULL;
    bool ok = want ? got && !strcmp(got, want) : !got;
    if (!ok)
        fprintf(stderr, "%s: expected %s, got %s\n", name, want ? want : "(absent)",
                got ? got : "(absent)");
    free(got);
    return ok;
}

void oidc_authorize_test(bool verbose)
{
    (void) verbose;
    oidc_authorize_provider_t provider = {"https://idp.test/authorize?tenant=a", true,
                                          "https://sso.test"};
    Sso__Connection conn = SSO__CONNECTION__INIT;
    char *scopes[] = {"email", "profile", "openid", "email", "groups"};
    conn.id = "conn_1";
    conn.oidc_client_id = "client 1";
    conn.oidc_scopes = scopes;
    conn.n_oidc_scopes = 5;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.oidc_state = "state-1";
    txn.oidc_nonce = "nonce-1";
    txn.oidc_code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    txn.login_hint = "jane@example.com";
    txn.force_login = true;
    txn.max_age = 0;
    char why[256] = "";
    char *url = oidc_authorize_url(&provider, &conn, &txn, why, sizeof why);
    SSO_CHECK(url && !strncmp(url, "https://idp.test/authorize?tenant=a&response_type=code&", 55));
    SSO_CHECK(s_param_is(url, "client_id", "client 1")
              && s_param_is(url, "redirect_uri", "https://sso.test/sso/oidc/callback/conn_1")
              && s_param_is(url, "scope", "openid email profile groups")
              && s_param_is(url, "state", "state-1") && s_param_is(url, "nonce", "nonce-1")
              && s_param_is(url, "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
              && s_param_is(url, "code_challenge_method", "S256")
              && s_param_is(url, "login_hint", "jane@example.com")
              && s_param_is(url, "prompt", "login") && s_param_is(url, "max_age", "0")
              && s_param_is(url, "tenant", "a") && s_param_is(url, "response_mode", NULL));
    free(url);
    /* form_post when the connection asks for it; "query" is the default, not sent. */
    conn.oidc_response_mode = "form_post";
    url = oidc_authorize_url(&provider, &conn, &txn, why, sizeof why);
    SSO_CHECK(url && s_param_is(url, "response_mode", "form_post")
              && s_param_is(url, "state", "state-1"));
    free(url);
    conn.oidc_response_mode = "query";
    url = oidc_authorize_url(&provider, &conn, &txn, why, sizeof why);
    SSO_CHECK(url && s_param_is(url, "response_mode", NULL));
    free(url);
    conn.oidc_response_mode = "";
    /* No PKCE at the provider, nothing forced, no hint: none of those parameters. */
    provider.pkce = false;
    txn.force_login = false;
    txn.max_age = -1;
    txn.login_hint = "";
    txn.oidc_code_challenge = "";
    conn.n_oidc_scopes = 0;
    url = oidc_authorize_url(&provider, &conn, &txn, why, sizeof why);
    SSO_CHECK(url && s_param_is(url, "scope", "openid") && s_param_is(url, "code_challenge", NULL)
              && s_param_is(url, "code_challenge_method", NULL)
              && s_param_is(url, "prompt", NULL) && s_param_is(url, "max_age", NULL)
              && s_param_is(url, "login_hint", NULL));
    free(url);
    /* Refused: PKCE without a verifier, no state or nonce, no client id, a hostile scope, an
       endpoint that is no URL or carries a fragment. */
    provider.pkce = true;
    SSO_CHECK(!oidc_authorize_url(&provider, &conn, &txn, why, sizeof why)
              && strstr(why, "challenge"));
    provider.pkce = false;
    txn.oidc_state = "";
    SSO_CHECK(!oidc_authorize_url(&provider, &conn, &txn, why, sizeof why) && strstr(why, "state"));
    txn.oidc_state = "state-1";
    conn.oidc_client_id = "";
    SSO_CHECK(!oidc_authorize_url(&provider, &conn, &txn, why, sizeof why)
              && strstr(why, "client_id"));
    conn.oidc_client_id = "c";
    char *hostile[] = {"email\" onload=1"};
    conn.oidc_scopes = hostile;
    conn.n_oidc_scopes = 1;
    SSO_CHECK(!oidc_authorize_url(&provider, &conn, &txn, why, sizeof why) && strstr(why, "scope"));
    conn.n_oidc_scopes = 0;
    const char *endpoints[] = {NULL, "", "/authorize", "javascript:alert(1)",
                               "https://idp.test/a#frag", "ftp://idp.test/a"};
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++) {
        provider.authorization_endpoint = endpoints[i];
        SSO_CHECK(!oidc_authorize_url(&provider, &conn, &txn, why, sizeof why)
                  && strstr(why, "authorization_endpoint"));
    }
}
