/* token_http: the OpenID Provider's HTTP surface: discovery, JWKS and the token endpoint. */
#ifndef TOKEN_HTTP_H
#define TOKEN_HTTP_H
#include "sso_service.h"
#include "token_keys.h"

typedef struct {
    token_keys_t *keys;
} token_state_t;

zframe_t *token_http(sso_service_t *service, const Sso__HttpRequest *request,
                     const Sso__Meta *meta);
/* The discovery document for an issuer. Caller frees. */
char *token_discovery(const char *issuer);

void token_http_test(bool verbose);
#endif
