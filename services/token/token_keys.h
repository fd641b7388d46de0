/* token_keys: the RS256 signing keys. Generated on first start, stored sealed by the directory
   (the only writer of state), cached here and refreshed now and then so every token instance
   publishes and signs with the same set. */
#ifndef TOKEN_KEYS_H
#define TOKEN_KEYS_H
#include "sso_service.h"
#include <openssl/evp.h>

/* The lifetime of every token the keys sign: an old key is published this long after a new one
   takes over. */
#define TOKEN_KEYS_TOKEN_LIFETIME_S 3600

typedef struct token_keys_t token_keys_t;

token_keys_t *token_keys_new(void);
void token_keys_destroy(token_keys_t **self_p);

/* Makes sure keys are loaded (from the directory, generating the first key when there is
   none). Returns 0, or the bus status when the directory cannot be reached. Cheap when the
   cache is fresh. */
int token_keys_ensure(token_keys_t *self, sso_service_t *service);
/* The JWKS document (public keys only). Caller frees. */
char *token_keys_jwks(token_keys_t *self);
/* The key to sign with now, or NULL: a reference of the caller's own (EVP_PKEY_free it), with
   its kid in *kid_p (caller frees). Owned, not lent, because a request keeps it across a bus
   call while another request may reload the set. */
EVP_PKEY *token_keys_signing(token_keys_t *self, char **kid_p);

/* Makes a new key that is published now and signs from now + delay_s, stores it with the
   directory and reloads the set. 0 with *kid_p (caller frees) and *active_from_p, or 500 when
   no key could be made, or the bus status / 502 when the directory refused. */
int token_keys_rotate(token_keys_t *self, sso_service_t *service, int64_t delay_s,
                      char **kid_p, int64_t *active_from_p);

/* Generates an RSA-2048 key; fills its PEM, public JWK JSON and RFC 7638 thumbprint kid
   (callers free). 0 or -1. */
int token_keys_generate(char **private_pem, char **public_jwk, char **kid);

void token_keys_test(bool verbose);
#endif
