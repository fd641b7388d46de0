#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cost chosen so one verification takes about a millisecond: the hash protects secrets of
   192 random bits, so it guards against a leaked table, not against guessable secrets. */
#define SSO_PBKDF2_ITERATIONS 10000

int sso_random_bytes(uint8_t *out, size_t len)
{
    return RAND_bytes(out, (int) len) == 1 ? 0 : -1;
}

char *sso_random_id(const char *prefix, size_t random_bytes)
{
    static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
    uint8_t raw[64];
    if (random_bytes > sizeof raw || sso_random_bytes(raw, random_bytes) != 0)
        return NULL;
    size_t prefix_len = strlen(prefix);
    char *id = malloc(prefix_len + random_bytes * 2 + 1);
    if (!id)
        return NULL;
    memcpy(id, prefix, prefix_len);
    size_t pos = prefix_len;
    for (size_t i = 0; i < random_bytes; i++) {
        id[pos++] = alphabet[raw[i] >> 4 & 0x1f];
        id[pos++] = alphabet[raw[i] & 0x1f];
    }
    id[pos] = '\0';
    return id;
}

char *sso_random_token(size_t random_bytes)
{
    uint8_t raw[64];
    if (random_bytes > sizeof raw || sso_random_bytes(raw, random_bytes) != 0)
        return NULL;
    return sso_base64url_encode(raw, random_bytes);
}

char *sso_base64_encode(const uint8_t *data, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *) out, data, (int) len);
    out[out_len] = '\0';
    return out;
}

char *sso_base64url_encode(const uint8_t *data, size_t len)
{
    char *out = sso_base64_encode(data, len);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; out[i]; i++) {
        if (out[i] == '=')
            break;
        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[j] = '\0';
    return out;
}

static int s_b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

uint8_t *sso_base64_decode(const char *text, size_t *out_len, bool allow_space)
{
    size_t len = strlen(text);
    uint8_t *out = malloc(len / 4 * 3 + 4);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t pos = 0, padding = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            if (allow_space)
                continue;
            goto fail;
        }
        if (c == '=') {
            padding++;
            continue;
        }
        int value = s_b64_value(c);
        if (value < 0 || padding)
            goto fail;
        acc = acc << 6 | (uint32_t) value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[pos++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero and few: 6 leftover bits means a truncated quantum. */
    if (bits >= 6 || acc != 0 || padding > 2)
        goto fail;
    out[pos] = '\0';
    *out_len = pos;
    return out;
fail:
    free(out);
    return NULL;
}

void sso_sha256(const void *data, size_t len, uint8_t out[32])
{
    SHA256(data, len, out);
}

void sso_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t digest[32];
    sso_sha256(data, len, digest);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

bool sso_secure_equals(const char *a, const char *b)
{
    /* Compare digests so neither the length nor the content leaks through timing. */
    uint8_t da[32], db[32];
    sso_sha256(a, strlen(a), da);
    sso_sha256(b, strlen(b), db);
    return CRYPTO_memcmp(da, db, 32) == 0;
}

/* Starts AES-256-GCM in direction enc (1 seal, 0 open) with the 12-byte nonce and feeds aad
   (if any): the part sealing and opening share, so both bind the same bytes. 0 or -1. */
static int s_gcm_init(EVP_CIPHER_CTX *ctx, int enc, const uint8_t key[32], const uint8_t *nonce,
                      const char *aad)
{
    int len = 0;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1)
        return -1;
    if (aad && EVP_CipherUpdate(ctx, NULL, &len, (const uint8_t *) aad, (int) strlen(aad)) != 1)
        return -1;
    return 0;
}

int sso_seal(const uint8_t key[32], const uint8_t *plain, size_t plain_len, const char *aad,
             uint8_t **sealed, size_t *sealed_len)
{
    int rc = -1, len = 0;
    uint8_t *out = malloc(plain_len + SSO_SEAL_OVERHEAD);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!out || !ctx || sso_random_bytes(out, 12) != 0
        || s_gcm_init(ctx, 1, key, out, aad) != 0)
        goto done;
    if (EVP_EncryptUpdate(ctx, out + 12, &len, plain, (int) plain_len) != 1)
        goto done;
    int final_len = 0;
    if (EVP_EncryptFinal_ex(ctx, out + 12 + len, &final_len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + plain_len) != 1)
        goto done;
    *sealed = out;
    *sealed_len = plain_len + SSO_SEAL_OVERHEAD;
    out = NULL;
    rc = 0;
done:
    free(out);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sso_open(const uint8_t key[32], const uint8_t *sealed, size_t sealed_len, const char *aad,
             uint8_t **plain, size_t *plain_len)
{
    if (sealed_len < SSO_SEAL_OVERHEAD)
        return -1;
    int rc = -1, len = 0;
    size_t body_len = sealed_len - SSO_SEAL_OVERHEAD;
    uint8_t *out = malloc(body_len + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!out || !ctx || s_gcm_init(ctx, 0, key, sealed, aad) != 0)
        goto done;
    if (EVP_DecryptUpdate(ctx, out, &len, sealed + 12, (int) body_len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *) (sealed + 12 + body_len)) != 1)
        goto done;
    int final_len = 0;
    if (EVP_DecryptFinal_ex(ctx, out + len, &final_len) != 1)
        goto done;
    out[body_len] = '\0';
    *plain = out;
    *plain_len = body_len;
    out = NULL;
    rc = 0;
done:
    free(out);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static int s_pbkdf2(const char *secret, const uint8_t *salt, size_t salt_len, int iterations,
                    uint8_t out[32])
{
    return PKCS5_PBKDF2_HMAC(secret, (int) strlen(secret), salt, (int) salt_len, iterations,
                             EVP_sha256(), 32, out) == 1 ? 0 : -1;
}

char *sso_secret_hash(const char *secret)
{
    uint8_t salt[16], hash[32];
    if (sso_random_bytes(salt, sizeof salt) || s_pbkdf2(secret, salt, sizeof salt,
                                                       SSO_PBKDF2_ITERATIONS, hash))
        return NULL;
    char *salt_text = sso_base64url_encode(salt, sizeof salt);
    char *hash_text = sso_base64url_encode(hash, sizeof hash);
    char *out = malloc(128);
    if (salt_text && hash_text && out)
        snprintf(out, 128, "pbkdf2-sha256$%d$%s$%s", SSO_PBKDF2_ITERATIONS, salt_text, hash_text);
    else {
        free(out);
        out = NULL;
    }
    free(salt_text);
    free(hash_text);
    return out;
}

bool sso_secret_verify(const char *secret, const char *encoded)
{
    char copy[160];
    /* An empty secret is no secret, whatever hash it is held against. */
    if (!secret || !*secret || !encoded || strlen(encoded) >= sizeof copy)
        return false;
    snprintf(copy, sizeof copy, "%s", encoded);
    char *save = NULL;
    char *scheme = strtok_r(copy, "$", &save);
    char *iter_text = strtok_r(NULL, "$", &save);
    char *salt_text = strtok_r(NULL, "$", &save);
    char *hash_text = strtok_r(NULL, "$", &save);
    if (!scheme || !iter_text || !salt_text || !hash_text || strcmp(scheme, "pbkdf2-sha256"))
        return false;
    int iterations = (int) strtol(iter_text, NULL, 10);
    if (iterations < 1000 || iterations > 10000000)
        return false;
    size_t salt_len = 0, hash_len = 0;
    uint8_t *salt = sso_base64_decode(salt_text, &salt_len, false);
    uint8_t *expected = sso_base64_decode(hash_text, &hash_len, false);
    uint8_t actual[32];
    bool ok = salt && expected && hash_len == 32
              && s_pbkdf2(secret, salt, salt_len, iterations, actual) == 0
              && CRYPTO_memcmp(actual, expected, 32) == 0;
    free(salt);
    free(expected);
    return ok;
}

void sso_crypto_test(bool verbose)
{
    (void) verbose;
    char *id = sso_random_id("org_", 10);
    SSO_CHECK(id && strncmp(id, "org_", 4) == 0 && strlen(id) == 24);
    free(id);

    const uint8_t data[] = "hello?>";
    char *b64 = sso_base64url_encode(data, 7);
    SSO_CHECK(b64 && strcmp(b64, "aGVsbG8_Pg") == 0);
    size_t len = 0;
    uint8_t *back = sso_base64_decode(b64, &len, false);
    SSO_CHECK(back && len == 7 && memcmp(back, data, 7) == 0);
    free(back);
    free(b64);
    uint8_t *padded = sso_base64_decode("aGVsbG8/Pg==", &len, false);
    SSO_CHECK(padded && len == 7);
    free(padded);
    SSO_CHECK(sso_base64_decode("aGV sbG8", &len, false) == NULL);
    SSO_CHECK(sso_base64_decode("a", &len, false) == NULL);
    SSO_CHECK(sso_base64_decode("a=b", &len, false) == NULL);

    char hex[65];
    sso_sha256_hex("abc", 3, hex);
    SSO_CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);

    SSO_CHECK(sso_secure_equals("secret", "secret"));
    SSO_CHECK(!sso_secure_equals("secret", "secreT"));
    SSO_CHECK(!sso_secure_equals("secret", "secret2"));

    uint8_t key[32] = {1, 2, 3};
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_len = 0, plain_len = 0;
    SSO_CHECK(sso_seal(key, (const uint8_t *) "private", 7, "key:1", &sealed, &sealed_len) == 0);
    SSO_CHECK(sso_open(key, sealed, sealed_len, "key:1", &plain, &plain_len) == 0 && plain_len == 7
              && memcmp(plain, "private", 7) == 0);
    free(plain);
    plain = NULL;
    SSO_CHECK(sso_open(key, sealed, sealed_len, "key:2", &plain, &plain_len) == -1);
    sealed[15] ^= 1;
    SSO_CHECK(sso_open(key, sealed, sealed_len, "key:1", &plain, &plain_len) == -1);
    free(sealed);
    SSO_CHECK(sso_open(key, (const uint8_t *) "short", 5, NULL, &plain, &plain_len) == -1);

    char *hash = sso_secret_hash("s3cret");
    SSO_CHECK(hash && strncmp(hash, "pbkdf2-sha256$", 14) == 0);
    SSO_CHECK(sso_secret_verify("s3cret", hash));
    SSO_CHECK(!sso_secret_verify("s3cre", hash));
    SSO_CHECK(!sso_secret_verify("s3cret", "plain"));
    char *empty_hash = sso_secret_hash("");
    SSO_CHECK(empty_hash && !sso_secret_verify("", empty_hash));
    free(empty_hash);
    free(hash);
}
