/* sso_webhook: Standard Webhooks signatures. */
#include "sso_webhook.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sso_webhook_secret_new(void)
{
    uint8_t key[32];
    if (sso_random_bytes(key, sizeof key) != 0)
        return NULL;
    char *b64 = sso_base64_encode(key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    size_t size = b64 ? strlen(SSO_WEBHOOK_SECRET_PREFIX) + strlen(b64) + 1 : 0;
    char *secret = b64 ? malloc(size) : NULL;
    if (secret)
        snprintf(secret, size, "%s%s", SSO_WEBHOOK_SECRET_PREFIX, b64);
    if (b64)
        OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    return secret;
}

char *sso_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                       const char *body, size_t body_len)
{
    size_t prefix = strlen(SSO_WEBHOOK_SECRET_PREFIX), key_len = 0;
    if (!secret || strncmp(secret, SSO_WEBHOOK_SECRET_PREFIX, prefix) != 0 || !msg_id
        || !*msg_id || strchr(msg_id, '.') || (!body && body_len))
        return NULL;
    uint8_t *key = sso_base64_decode(secret + prefix, &key_len, false);
    char head[320];
    int head_len = snprintf(head, sizeof head, "%s.%lld.", msg_id, (long long) timestamp);
    uint8_t mac[EVP_MAX_MD_SIZE];
    char *out = NULL;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t out_len = 0;
    bool ok = key && key_len >= SSO_WEBHOOK_KEY_MIN && key_len <= SSO_WEBHOOK_KEY_MAX
              && head_len > 0 && (size_t) head_len < sizeof head && mctx
              && EVP_MAC_init(mctx, key, key_len, params) == 1
              && EVP_MAC_update(mctx, (const unsigned char *) head, (size_t) head_len) == 1
              && (!body_len || EVP_MAC_update(mctx, (const unsigned char *) body, body_len) == 1)
              && EVP_MAC_final(mctx, mac, &out_len, sizeof mac) == 1;
    char *b64 = ok ? sso_base64_encode(mac, out_len) : NULL;
    size_t size = b64 ? strlen(b64) + 4 : 0;
    if (b64 && (out = malloc(size)))
        snprintf(out, size, "v1,%s", b64);
    free(b64);
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(hmac);
    if (key) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return out;
}

void sso_webhook_test(bool verbose)
{
    (void) verbose;
    /* The specification's published example. */
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *body = "{\"test\": 2432232314}";
    char *sig = sso_webhook_sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                 strlen(body));
    SSO_CHECK(sig && !strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    free(sig);
    /* Another id, time or body: another signature. */
    const char *const ids[] = {"msg_p5jXN8AQM9LWM0D4loKWxJeK", "msg_p5jXN8AQM9LWM0D4loKWxJek"};
    const int64_t times[] = {1614265330, 1614265331};
    for (size_t i = 0; i < 2; i++) {
        sig = sso_webhook_sign(secret, ids[i], times[i], body, strlen(body) - (i ? 0 : 1));
        SSO_CHECK(sig && strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0);
        free(sig);
    }
    /* An empty body is signed; a secret without the prefix, with a key too short or too
       long, not base64, an empty or dotted id: refused. */
    sig = sso_webhook_sign(secret, "msg_1", 1, "", 0);
    SSO_CHECK(sig && !strncmp(sig, "v1,", 3) && strlen(sig) == 47);
    free(sig);
    const char *const bad_secrets[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_AAAA",
                                       "whsec_!!!!", "", NULL};
    for (size_t i = 0; i < sizeof bad_secrets / sizeof *bad_secrets; i++)
        SSO_CHECK(sso_webhook_sign(bad_secrets[i], "msg_1", 1, body, strlen(body)) == NULL);
    char long_secret[200] = SSO_WEBHOOK_SECRET_PREFIX;
    uint8_t key[65] = {0};
    char *b64 = sso_base64_encode(key, sizeof key);
    SSO_CHECK(b64 != NULL);
    if (b64)
        snprintf(long_secret + 6, sizeof long_secret - 6, "%s", b64);
    free(b64);
    SSO_CHECK(sso_webhook_sign(long_secret, "msg_1", 1, body, strlen(body)) == NULL);
    SSO_CHECK(sso_webhook_sign(secret, "", 1, body, strlen(body)) == NULL);
    SSO_CHECK(sso_webhook_sign(secret, "msg.1", 1, body, strlen(body)) == NULL);
    SSO_CHECK(sso_webhook_sign(secret, NULL, 1, body, strlen(body)) == NULL);
    /* Fresh secrets: prefixed, 32 bytes, each different, and they sign. */
    char *a = sso_webhook_secret_new(), *b = sso_webhook_secret_new();
    size_t len = 0;
    uint8_t *raw = a ? sso_base64_decode(a + 6, &len, false) : NULL;
    SSO_CHECK(a && b && strcmp(a, b) != 0 && !strncmp(a, "whsec_", 6) && raw && len == 32);
    sig = a ? sso_webhook_sign(a, "msg_1", 1, body, strlen(body)) : NULL;
    SSO_CHECK(sig != NULL);
    free(sig);
    free(raw);
    free(a);
    free(b);
}
