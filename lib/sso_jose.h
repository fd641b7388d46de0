/* sso_jose: the broker's one JOSE module, on OpenSSL 3. JSON Web Signatures in compact
   serialization (RFC 7515/7519) with RS256/384/512, PS256/384/512 and ES256/384/512 (RFC 7518),
   JSON Web Keys and key sets (RFC 7517; thumbprints, RFC 7638), and the OIDC half hashes
   (at_hash, c_hash). The token service signs its ID tokens with it; the oidc service verifies
   its IdPs' ID tokens with it. `none` and HMAC are never accepted, whatever a caller allows:
   an IdP's JWKS holds public keys, and a public key is no secret to MAC with. */
#ifndef SSO_JOSE_H
#define SSO_JOSE_H
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest compact JWS looked at: ID tokens are a few KB; anything far larger is junk. */
#define SSO_JOSE_MAX_JWS 16384
/* Largest JWKS document, and most keys in one: real sets hold a handful. */
#define SSO_JOSE_MAX_JWKS (256 * 1024)
#define SSO_JOSE_MAX_KEYS 64
/* Smallest RSA modulus accepted from a JWKS (RFC 7518 3.3), and the largest (verification
   cost). */
#define SSO_JOSE_RSA_MIN_BITS 2048
#define SSO_JOSE_RSA_MAX_BITS 8192
/* Room enough for every reason this module gives. */
#define SSO_JOSE_WHY_SIZE 200

typedef enum {
    SSO_JOSE_OK = 0,
    /* Malformed, not allowed, or not verifying: why says which, safe to log. */
    SSO_JOSE_REFUSED = -1,
    /* The header's kid names no key of the set: the caller may refetch the JWKS once (the IdP
       may have rotated) and try again, then refuse. */
    SSO_JOSE_UNKNOWN_KID = -2,
} sso_jose_status_t;

/* A parsed JWKS: the public keys usable for verification, and the kids of those skipped. */
typedef struct sso_jose_keys_t sso_jose_keys_t;

/* Parses a JWKS document of len bytes (at most SSO_JOSE_MAX_JWKS, at most SSO_JOSE_MAX_KEYS
   keys). A key that cannot serve for verification is skipped, not an error for the set:
   unknown kty or crv, an RSA modulus under SSO_JOSE_RSA_MIN_BITS, an EC point not on its curve,
   a use other than "sig", key_ops without "verify", a malformed member. 0 with *keys_p (caller
   destroys; it may hold no usable key), or -1 with the reason in why. */
int sso_jose_keys_parse(const char *json, size_t len, sso_jose_keys_t **keys_p, char *why,
                        size_t why_size);
void sso_jose_keys_destroy(sso_jose_keys_t **self_p);
/* How many keys are usable. */
size_t sso_jose_keys_count(const sso_jose_keys_t *self);
/* How many were skipped; *first_reason_p (if not NULL) gets the first one's reason, or NULL. */
size_t sso_jose_keys_skipped(const sso_jose_keys_t *self, const char **first_reason_p);

/* Verifies a compact JWS: exactly three strict base64url parts (no padding, no '+' or '/'),
   at most SSO_JOSE_MAX_JWS bytes; a header object whose alg is in allowed_algs (NULL-ended;
   `none` and HS* refused even when listed) and has no crit; the key by kid (without kid: the
   one key of the set that fits the alg), of the alg's type (RSA for RS/PS, EC on the alg's
   curve for ES) and alg when the JWK names one; ES signatures raw r||s of the curve's size, PS
   with MGF1 and a salt as long as the hash; a payload that is a JSON object without duplicate
   names. SSO_JOSE_OK with *claims_p (and *header_p when header_p is not NULL) set (caller
   decrefs), else SSO_JOSE_REFUSED or SSO_JOSE_UNKNOWN_KID with the reason in why. Checks no
   claim: callers check iss, aud, nonce and the dates (sso_jose_check_dates). */
sso_jose_status_t sso_jose_verify(const char *jws, const sso_jose_keys_t *keys,
                                  const char *const *allowed_algs, json_t **header_p,
                                  json_t **claims_p, char *why, size_t why_size);

/* The dates of a JWT at now, allowing skew_s either way: exp (required) not passed, nbf (if
   present) reached, iat (required) not in the future. Numbers (NumericDate), not strings. 0, or
   -1 with the reason in why, expected-vs-got ("exp: expired at 1700000000, now 1700000100"). */
int sso_jose_check_dates(const json_t *claims, int64_t now, int64_t skew_s, char *why,
                         size_t why_size);

/* Signs claims (a JSON object, not taken) with key (private, fitting alg) under the header
   {"alg":alg,"kid":kid,"typ":"JWT"}, in that order. 0 with *jws_p set (caller frees), or -1. */
int sso_jose_sign(EVP_PKEY *key, const char *alg, const char *kid, const json_t *claims,
                  char **jws_p);
/* The same with the header's typ given: a token that must never pass for an ID token says
   what it is (RFC 8725 3.11, explicit typing). */
int sso_jose_sign_typed(EVP_PKEY *key, const char *alg, const char *kid, const char *typ,
                        const json_t *claims, char **jws_p);

/* OIDC Core 3.1.3.6 / 3.3.2.11 (at_hash, c_hash): base64url of the left half of alg's hash
   (SHA-256 for *256, ...) over value. Caller frees; NULL for an unknown alg or absent value. */
char *sso_jose_half_hash(const char *alg, const char *value);

/* The public JWK of key (RSA, or EC on P-256, P-384 or P-521): kty and its members, with kid,
   use "sig" and alg when given (kid, alg may be NULL). Caller decrefs; NULL on failure. */
json_t *sso_jose_public_jwk(EVP_PKEY *key, const char *kid, const char *alg);
/* RFC 7638 thumbprint of key's public JWK: base64url SHA-256. Caller frees; NULL on failure. */
char *sso_jose_thumbprint(EVP_PKEY *key);

/* A new RSA-2048 signing key for RS256: its PKCS#8 PEM, public JWK JSON (with kid, use, alg)
   and RFC 7638 thumbprint as kid (callers free). The token service's first key and every
   rotated-in key (the directory's) are made here. 0 or -1. */
int sso_jose_signing_key_new(char **private_pem, char **public_jwk, char **kid);
/* The lifetime of every token the broker's keys sign: an old key stays published this long
   after a new one takes over. */
#define SSO_JOSE_TOKEN_LIFETIME_S 3600
/* Of two signing keys already active, whether a is the one to sign with rather than b: the
   later active_from, and of two that became active together (rotations that overlapped) the
   one made last (by created_at, then kid, which is random), so every token instance and the
   directory's key list agree on one. */
bool sso_jose_key_signs_before(int64_t a_active_from, int64_t a_created_at, const char *a_kid,
                               int64_t b_active_from, int64_t b_created_at, const char *b_kid);

/* The private key in pem (PKCS#8 or traditional PEM), or the public key of the X.509
   certificate in pem. Caller frees; NULL when pem (may be NULL) holds none. */
EVP_PKEY *sso_jose_private_key_pem(const char *pem);
EVP_PKEY *sso_jose_certificate_key_pem(const char *pem);

void sso_jose_test(bool verbose);
#endif
