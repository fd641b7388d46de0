/* token_keys: the RS256 signing keys. Generated on first start, stored sealed by the directory
   (the only writer of state), cached here and refreshed now and then so every token instance
   publishes and signs with the same set. */
#ifndef TOKEN_KEYS_H
#define TOKEN_KEYS_H
#include "sso_service.h"
#include <openssl/evp.h>

#include "sso_jose.h"

/* The lifetime of every token the keys sign (the directory retires an old key this long after a
   rotated-in key takes over). */
#define TOKEN_KEYS_TOKEN_LIFETIME_S SSO_JOSE_TOKEN_LIFETIME_S

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

/* Rotates a new key in for the holder of access_token (a management bearer token; remote_addr
   is the HTTP client's, for the audit log): the directory makes, stores and audits it
   (TokenWrites.KeyRotate; it signs from now + the directory's SSO_KEY_ROTATION_DELAY_S), and
   this instance publishes the list it answers at once. 0 with *kid_p (caller frees) and
   *active_from_p; 401 when the directory refused the token; 500 when memory ran out; 502 when
   the directory refused otherwise; or the bus status. */
int token_keys_rotate(token_keys_t *self, sso_service_t *service, const char *access_token,
                      const char *remote_addr, char **kid_p, int64_t *active_from_p);

void token_keys_test(bool verbose);
#endif
