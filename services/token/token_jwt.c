#include "token_jwt.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include "token_keys.h"
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string.h>

/* Longest token the verifier looks at: ID tokens are a few KB; anything far larger is junk. */
#define JWT_MAX 65536

/* header.payload, both base64url of compact JSON. Caller frees. */
static char *s_signing_input(const char *kid, const json_t *claims)
{
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "kid", kid, "typ", "JWT");
    char *header_text = header ? json_dumps(header, JSON_COMPACT) : NULL;
    char *claims_text = json_dumps(claims, JSON_COMPACT);
    json_decref(header);
    char *h = header_text ? sso_base64url_encode((uint8_t *) header_text, strlen(header_text))
                          : NULL;
    char *p = claims_text ? sso_base64url_encode((uint8_t *) claims_text, strlen(claims_text))
                          : NULL;
    free(header_text);
    free(claims_text);
    char *input = NULL;
    if (h && p) {
        size_t len = strlen(h) + 1 + strlen(p) + 1;
        input = malloc(len);
        if (input)
            snprintf(input, len, "%s.%s", h, p);
    }
    free(h);
    free(p);
    return input;
}

int token_jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims, char **jwt_p)
{
    *jwt_p = NULL;
    if (!key || !kid || !json_is_object(claims))
        return -1;
    char *input = s_signing_input(kid, claims);
    if (!input)
        return -1;
    int rc = -1;
    uint8_t *signature = NULL;
    char *encoded = NULL;
    size_t sig_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    /* PKCS#1 v1.5 padding is the RSA default, which is what RS256 means. */
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1
        || EVP_DigestSign(md, NULL, &sig_len, (uint8_t *) input, strlen(input)) != 1
        || !(signature = malloc(sig_len))
        || EVP_DigestSign(md, signature, &sig_len, (uint8_t *) input, strlen(input)) != 1
        || !(encoded = sso_base64url_encode(signature, sig_len)))
        goto done;
    size_t len = strlen(input) + 1 + strlen(encoded) + 1;
    char *jwt = malloc(len);
    if (!jwt)
        goto done;
    snprintf(jwt, len, "%s.%s", input, encoded);
    *jwt_p = jwt;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    free(signature);
    free(encoded);
    free(input);
    return rc;
}

static BIGNUM *s_b64_bn(const char *text)
{
    size_t len = 0;
    uint8_t *raw = text ? sso_base64_decode(text, &len, false) : NULL;
    BIGNUM *bn = raw && len ? BN_bin2bn(raw, (int) len, NULL) : NULL;
    free(raw);
    return bn;
}

/* An RSA public key from a JWK's n and e. */
static EVP_PKEY *s_jwk_key(const json_t *jwk)
{
    BIGNUM *n = s_b64_bn(json_string_value(json_object_get(jwk, "n")));
    BIGNUM *e = s_b64_bn(json_string_value(json_object_get(jwk, "e")));
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    if (!n || !e || !build || OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n) != 1
        || OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e) != 1
        || !(params = OSSL_PARAM_BLD_to_param(build))
        || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL))
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(build);
    BN_free(n);
    BN_free(e);
    return key;
}

static json_t *s_b64_json(const char *text, size_t len)
{
    char *copy = strndup(text, len);
    size_t raw_len = 0;
    uint8_t *raw = copy ? sso_base64_decode(copy, &raw_len, false) : NULL;
    json_t *json = raw ? json_loadb((char *) raw, raw_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(copy);
    free(raw);
    if (json && !json_is_object(json)) {
        json_decref(json);
        json = NULL;
    }
    return json;
}

int token_jwt_verify(const char *jwt, const char *jwks_json, json_t **claims_p,
                     const char **why)
{
    *claims_p = NULL;
    *why = "not a compact JWS";
    if (!jwt || strlen(jwt) > JWT_MAX)
        return -1;
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
        return -1;
    json_t *header = s_b64_json(jwt, (size_t) (dot1 - jwt));
    json_t *claims = s_b64_json(dot1 + 1, (size_t) (dot2 - dot1 - 1));
    json_t *jwks = json_loads(jwks_json ? jwks_json : "", 0, NULL);
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    uint8_t *signature = NULL;
    size_t sig_len = 0;
    int rc = -1;
    if (!header || !claims) {
        *why = "header or payload is not base64url JSON";
        goto done;
    }
    const char *alg = json_string_value(json_object_get(header, "alg"));
    const char *kid = json_string_value(json_object_get(header, "kid"));
    if (!alg || strcmp(alg, "RS256") != 0 || !kid) {
        *why = "header must name alg RS256 and a kid";
        goto done;
    }
    size_t i;
    json_t *jwk, *match = NULL;
    json_array_foreach(json_object_get(jwks, "keys"), i, jwk) {
        const char *candidate = json_string_value(json_object_get(jwk, "kid"));
        if (candidate && !strcmp(candidate, kid))
            match = jwk;
    }
    if (!match || !(key = s_jwk_key(match))) {
        *why = "no usable key with that kid in the JWKS";
        goto done;
    }
    signature = sso_base64_decode(dot2 + 1, &sig_len, false);
    md = EVP_MD_CTX_new();
    if (!signature || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1
        || EVP_DigestVerify(md, signature, sig_len, (const uint8_t *) jwt,
                            (size_t) (dot2 - jwt)) != 1) {
        *why = "signature does not verify";
        goto done;
    }
    *claims_p = claims;
    claims = NULL;
    *why = NULL;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    free(signature);
    EVP_PKEY_free(key);
    json_decref(jwks);
    json_decref(header);
    json_decref(claims);
    return rc;
}

char *token_jwt_at_hash(const char *access_token)
{
    uint8_t digest[32];
    sso_sha256(access_token, strlen(access_token), digest);
    return sso_base64url_encode(digest, sizeof digest / 2);
}

void token_jwt_test(bool verbose)
{
    (void) verbose;
    /* The example of OIDC Core A.3 (at_hash of "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
       is "77QmUPtjPfzWtF2AnpK9RQ"). */
    char *at_hash = token_jwt_at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
    SSO_CHECK(at_hash && !strcmp(at_hash, "77QmUPtjPfzWtF2AnpK9RQ"));
    free(at_hash);

    char *pem = NULL, *jwk = NULL, *kid = NULL;
    if (token_keys_generate(&pem, &jwk, &kid) != 0) {
        SSO_CHECK(!"key generation");
        return;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    size_t jwks_len = strlen(jwk) + 16;
    char *jwks = malloc(jwks_len);
    snprintf(jwks, jwks_len, "{\"keys\":[%s]}", jwk);

    json_t *claims = json_pack("{s:s, s:i, s:s}", "iss", "https://op.test", "exp", 42, "name",
                               "Zoë \"quoted\"");
    char *jwt = NULL;
    SSO_CHECK(token_jwt_sign(key, kid, claims, &jwt) == 0 && jwt);
    json_t *back = NULL;
    const char *why = NULL;
    SSO_CHECK(jwt && token_jwt_verify(jwt, jwks, &back, &why) == 0 && json_equal(back, claims));
    json_decref(back);

    /* The header is exactly the one promised, in that order. */
    const char *dot = jwt ? strchr(jwt, '.') : NULL;
    char *header_b64 = dot ? strndup(jwt, (size_t) (dot - jwt)) : NULL;
    size_t header_len = 0;
    uint8_t *header = header_b64 ? sso_base64_decode(header_b64, &header_len, false) : NULL;
    char expected[200];
    snprintf(expected, sizeof expected, "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
    SSO_CHECK(header && !strcmp((char *) header, expected));
    free(header);
    free(header_b64);
    /* base64url without padding everywhere. */
    SSO_CHECK(jwt && !strpbrk(jwt, "=+/"));

    /* A flipped payload byte, a wrong kid, junk and alg "none" all fail. */
    if (jwt) {
        char *tampered = strdup(jwt);
        char *payload = strchr(tampered, '.') + 1;
        payload[3] = payload[3] == 'A' ? 'B' : 'A';
        SSO_CHECK(token_jwt_verify(tampered, jwks, &back, &why) == -1 && !back);
        free(tampered);
    }
    SSO_CHECK(token_jwt_verify(jwt, "{\"keys\":[]}", &back, &why) == -1);
    SSO_CHECK(token_jwt_verify("a.b", jwks, &back, &why) == -1);
    SSO_CHECK(token_jwt_verify("a.b.c.d", jwks, &back, &why) == -1);
    /* {"alg":"none","kid":"<kid>"} over the same payload with an empty signature. */
    char none_header[200];
    snprintf(none_header, sizeof none_header, "{\"alg\":\"none\",\"kid\":\"%s\"}", kid);
    char *none_b64 = sso_base64url_encode((uint8_t *) none_header, strlen(none_header));
    const char *payload = jwt ? strchr(jwt, '.') + 1 : "";
    int payload_len = (int) strcspn(payload, ".");
    char none_jwt[2000];
    snprintf(none_jwt, sizeof none_jwt, "%s.%.*s.", none_b64, payload_len, payload);
    SSO_CHECK(token_jwt_verify(none_jwt, jwks, &back, &why) == -1 && why && !back);
    free(none_b64);
    json_t *array = json_array();
    char *refused = NULL;
    SSO_CHECK(token_jwt_sign(key, kid, array, &refused) == -1 && !refused);
    json_decref(array);

    free(jwt);
    json_decref(claims);
    EVP_PKEY_free(key);
    free(jwks);
    free(pem);
    free(jwk);
    free(kid);
}
