/* token_userinfo: GET|POST /userinfo (OIDC Core 5.3). The bearer access token comes in the
   Authorization header or, for POST, as access_token in a form body (RFC 6750 2.1, 2.2; never
   both); the directory checks it and holds the claims stored when it was issued, the same
   identity claims as the ID token, sub included. */
#ifndef TOKEN_USERINFO_H
#define TOKEN_USERINFO_H
#include "sso_service.h"

zframe_t *token_userinfo_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_userinfo_test(bool verbose);
#endif
