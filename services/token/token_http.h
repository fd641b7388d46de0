/* token_http: the OpenID Provider's HTTP surface: routes discovery, JWKS, /oauth/authorize,
   /oauth/token (client_credentials here, authorization_code in token_code), /userinfo and
   /api/v1/keys/rotate. */
#ifndef TOKEN_HTTP_H
#define TOKEN_HTTP_H
#include "sso_service.h"
#include "token_keys.h"

typedef struct {
    token_keys_t *keys;
} token_state_t;

zframe_t *token_http(sso_service_t *service, const Sso__HttpRequest *request,
                     const Sso__Meta *meta);
/* A JSON response (reference to body taken) with Cache-Control: no-store and Pragma: no-cache,
   as RFC 6749 5.1 asks of the token endpoint. */
zframe_t *token_json(uint32_t status, json_t *body);

/* The discovery document for an issuer. Caller frees. */
char *token_discovery(const char *issuer);

void token_http_test(bool verbose);
#endif
