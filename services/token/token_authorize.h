/* token_authorize: /oauth/authorize, the start of a login (DESIGN 3 and 8). Checks the client
   and its redirect_uri first (an HTML page, never a redirect, when either is wrong), then the
   request (errors redirect to the client with error, error_description and state), picks the
   connection (connection_id > organization_id > domain > login_hint's email domain, or the
   hosted "Sign in with SSO" page that asks for an email), records the login transaction with
   the directory and sends the browser to the saml or oidc service's upstream request. The
   handler only runs the parts: token_authorize_params (reading and checking the request),
   token_authorize_page (the hosted page) and token_authorize_login (the steps with the bus). */
#ifndef TOKEN_AUTHORIZE_H
#define TOKEN_AUTHORIZE_H
#include "sso_service.h"

/* Handles GET, HEAD and POST /oauth/authorize. Always returns a response frame. */
zframe_t *token_authorize_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_authorize_test(bool verbose);
#endif
