/* token_jwt: RS256 JSON Web Signatures in compact serialization (RFC 7515/7519), the OIDC
   at_hash, and a verifier the self-tests use to check tokens against the published JWKS. */
#ifndef TOKEN_JWT_H
#define TOKEN_JWT_H
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>

/* Signs claims (a JSON object, not taken) with key under header
   {"alg":"RS256","kid":kid,"typ":"JWT"}. 0 with *jwt_p set (caller frees), or -1. */
int token_jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims, char **jwt_p);

/* Verifies an RS256 JWT against the key of a JWKS document whose kid matches the header's.
   0 with *claims_p set (caller decrefs), or -1 with *why saying what failed. Checks only the
   signature and header, not the claims: callers check those. */
int token_jwt_verify(const char *jwt, const char *jwks_json, json_t **claims_p,
                     const char **why);

/* OIDC Core 3.1.3.6: base64url of the left half of SHA-256 over the ASCII access token.
   Caller frees; NULL when out of memory. */
char *token_jwt_at_hash(const char *access_token);

void token_jwt_test(bool verbose);
#endif
