/* sso_crypto: the few primitives every service needs, on OpenSSL. Fallible calls return 0 on
   success and -1 on failure. */
#ifndef SSO_CRYPTO_H
#define SSO_CRYPTO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int sso_random_bytes(uint8_t *out, size_t len);
/* A random identifier: prefix + len random bytes in base32-ish lower-case; caller frees. */
char *sso_random_id(const char *prefix, size_t random_bytes);
/* A random URL-safe secret of random_bytes of entropy; caller frees. */
char *sso_random_token(size_t random_bytes);

/* base64url without padding; caller frees the result. */
char *sso_base64url_encode(const uint8_t *data, size_t len);
/* Standard base64 (with padding); caller frees. */
char *sso_base64_encode(const uint8_t *data, size_t len);
/* Decodes standard or URL-safe base64, padding optional, whitespace refused unless
   allow_space. Returns a malloc'd buffer (NUL-terminated for convenience) or NULL. */
uint8_t *sso_base64_decode(const char *text, size_t *out_len, bool allow_space);

void sso_sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex of SHA-256; out has room for 65 bytes. */
void sso_sha256_hex(const void *data, size_t len, char out[65]);

/* Compares two NUL-terminated strings in time independent of where they differ. */
bool sso_secure_equals(const char *a, const char *b);

/* AES-256-GCM: sealed = nonce(12) | ciphertext | tag(16); aad binds the value to its place. */
#define SSO_SEAL_OVERHEAD 28
int sso_seal(const uint8_t key[32], const uint8_t *plain, size_t plain_len, const char *aad,
             uint8_t **sealed, size_t *sealed_len);
int sso_open(const uint8_t key[32], const uint8_t *sealed, size_t sealed_len, const char *aad,
             uint8_t **plain, size_t *plain_len);

/* Client-secret hashing: "pbkdf2-sha256$<iter>$<salt b64url>$<hash b64url>"; caller frees. */
char *sso_secret_hash(const char *secret);
bool sso_secret_verify(const char *secret, const char *encoded);

void sso_crypto_test(bool verbose);
#endif
