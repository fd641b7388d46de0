/* oidc_exchange: the code exchange at a customer's OpenID Provider (OIDC Core 3.1.3.1): the
   token request (grant_type=authorization_code, the code, our redirect_uri, the PKCE
   verifier, and the client authenticated by client_secret_basic or client_secret_post as the
   provider's discovery offers), and reading its answer (the ID token, or the provider's error
   with its words). Pure: the caller makes the request through sso_fetch. */
#ifndef OIDC_EXCHANGE_H
#define OIDC_EXCHANGE_H
#include <stdbool.h>
#include <stddef.h>

#define OIDC_EXCHANGE_ID_TOKEN_MAX (16 * 1024)

typedef struct {
    const char *client_id;
    const char *client_secret;
    bool basic;               /* client_secret_basic; else client_secret_post */
    const char *redirect_uri; /* exactly as in the authorization request */
    const char *code;
    const char *code_verifier; /* "" without PKCE */
} oidc_exchange_t;

/* The form body and, for client_secret_basic, the Authorization header value (RFC 6749 2.3.1:
   id and secret form-encoded, then base64). Caller frees both (*authorization may be NULL).
   0, or -1 with why. */
int oidc_exchange_request(const oidc_exchange_t *in, char **body, char **authorization,
                          char *why, size_t why_size);

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
