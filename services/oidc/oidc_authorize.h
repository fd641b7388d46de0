/* oidc_authorize: the authorization request to a customer's OpenID Provider (OIDC Core 3.1.2.1)
   for one login transaction: response_type=code, the connection's client_id and scopes (openid
   always first), our callback as redirect_uri, the transaction's state and nonce, its PKCE
   S256 challenge when the provider supports it, and login_hint, prompt=login and
   max_age passed on, and response_mode=form_post when the connection asks for it. Pure: no
   bus, no clock. */
#ifndef OIDC_AUTHORIZE_H
#define OIDC_AUTHORIZE_H
#include "directory.pb-c.h"
#include <stdbool.h>
#include <stddef.h>

/* Each connection's own callback is OIDC_CALLBACK_PATH "/" and its id: a response that
   reaches another connection's callback is refused before any code exchange (the mix-up
   attack, RFC 9700 4.4: a provider of one tenant relaying another provider's code). */
#define OIDC_CALLBACK_PATH "/sso/oidc/callback"

/* The redirect_uri of connection id into out ("" when it does not fit). */
void oidc_authorize_redirect_uri(const char *public_url, const char *connection_id, char *out,
                                 size_t size);

/* Whether conn's provider answers by a POSTed form (options.response_mode "form_post");
   else in the callback's query (options.response_mode "query" or absent). */
bool oidc_authorize_form_post(const Sso__Connection *conn);

typedef struct {
    const char *authorization_endpoint; /* from the provider's discovery document */
    bool pkce;                          /* it lists S256 in code_challenge_methods_supported */
    const char *public_url;             /* SSO_PUBLIC_URL: the callback is public_url + path */
} oidc_authorize_provider_t;

/* The URL to send the browser to, for txn (its oidc_state, oidc_nonce, oidc_code_challenge
   as AuthorizeBegin gave it, login_hint, force_login, max_age) at connection conn (its oidc_client_id, oidc_scopes).
   Caller frees; NULL with the reason in why when an input is missing or malformed. */
char *oidc_authorize_url(const oidc_authorize_provider_t *provider, const Sso__Connection *conn,
                         const Sso__Transaction *txn, char *why, size_t why_size);

void oidc_authorize_test(bool verbose);
#endif
