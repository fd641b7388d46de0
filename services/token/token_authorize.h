/* token_authorize: /oauth/authorize, the start of a login (DESIGN 3 and 8). Checks the client
   and its redirect_uri first (an HTML page, never a redirect, when either is wrong), then the
   request (errors redirect to the client with error, error_description and state), picks the
   connection (connection_id > organization_id > domain > login_hint's email domain, or the
   hosted "Sign in with SSO" page that asks for an email), records the login transaction with
   the directory and sends the browser to the saml or oidc service's upstream request. */
#ifndef TOKEN_AUTHORIZE_H
#define TOKEN_AUTHORIZE_H
#include "sso_service.h"

/* Longest state echoed back intact; a longer one is refused. */
#define TOKEN_STATE_MAX 8192
/* How long a login transaction lives. */
#define TOKEN_TXN_TTL 600

/* Handles GET, HEAD and POST /oauth/authorize. Always returns a response frame. */
zframe_t *token_authorize_http(sso_service_t *service, const Sso__HttpRequest *request);

/* Builds base + ('?' or '&') + name=value pairs (values percent-encoded; a NULL value skips
   its pair), dropping any fragment of base. names and values alternate in pairs[], n pairs.
   Caller frees; NULL when out of memory. */
char *token_authorize_url(const char *base, const char *const *pairs, size_t n);

/* The lower-cased domain of a plausible email address (one '@', a dotted domain of
   [a-z0-9-] labels), in out; 0, or -1 when it is not one. */
int token_authorize_email_domain(const char *email, char *out, size_t size);

void token_authorize_test(bool verbose);
#endif
