/* oidc_exchange: the code exchange at a customer's OpenID Provider (OIDC Core 3.1.3.1): the
   token request (grant_type=authorization_code, the code, our redirect_uri, the PKCE
   verifier, and the client authenticated by client_secret_basic, client_secret_post or
   private_key_jwt as the connection and the provider's discovery agree), and reading its answer (the ID token, or the provider's error
   with its words). Pure: the caller makes the request through sso_fetch. */
#ifndef OIDC_EXCHANGE_H
#define OIDC_EXCHANGE_H
#include "sso_oidc_discovery.h"
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OIDC_EXCHANGE_ID_TOKEN_MAX (16 * 1024)
/* A client assertion's lifetime: long enough for the request, short against replay. */
#define OIDC_EXCHANGE_ASSERTION_TTL_S 60
#define OIDC_EXCHANGE_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct {
    const char *client_id;
    sso_oidc_token_auth_t method;
    const char *client_secret; /* client_secret_basic and client_secret_post */
    EVP_PKEY *client_key;      /* private_key_jwt: the connection's RSA key (not taken) */
    const char *token_endpoint; /* private_key_jwt: the assertion's aud */
    int64_t now;               /* private_key_jwt: the assertion's iat, Unix seconds */
    const char *redirect_uri; /* exactly as in the authorization request */
    const char *code;
    const char *code_verifier; /* "" without PKCE */
} oidc_exchange_t;

/* The form body and, for client_secret_basic, the Authorization header value (RFC 6749 2.3.1:
   id and secret form-encoded, then base64); for private_key_jwt, client_assertion_type and
   client_assertion (oidc_exchange_assertion) in the body, and no secret. Caller frees both
   (*authorization may be NULL). 0, or -1 with why. */
int oidc_exchange_request(const oidc_exchange_t *in, char **body, char **authorization,
                          char *why, size_t why_size);

/* A private_key_jwt client assertion (RFC 7523 section 3, OIDC Core 9): iss = sub =
   client_id, aud = token_endpoint, a random jti of 128 bits, iat = now, exp = now +
   OIDC_EXCHANGE_ASSERTION_TTL_S, signed RS256 by key under the kid of its RFC 7638
   thumbprint (the kid of the JWKS the broker serves for the connection). Caller frees; NULL
   with why. */
char *oidc_exchange_assertion(EVP_PKEY *key, const char *client_id, const char *token_endpoint,
                              int64_t now, char *why, size_t why_size);

/* Reads the token endpoint's answer (HTTP status and body): 0 with *id_token (caller frees),
   or -1 with why in the expected-vs-got form ("token endpoint: expected HTTP 200 with JSON,
   got HTTP 500", "token endpoint error: invalid_grant (the provider's words)", "token endpoint:
   no id_token in the answer"). */
int oidc_exchange_response(long status, const char *body, size_t len, char **id_token,
                           char *why, size_t why_size);

/* The access token of an answer oidc_exchange_response took (for the userinfo endpoint):
   caller frees; NULL when there is none (or it is not text of 1..8192 bytes). */
char *oidc_exchange_access_token(const char *body, size_t len);

void oidc_exchange_test(bool verbose);
#endif
