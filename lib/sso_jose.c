#include "sso_jose.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <strings.h>
#include <string.h>

/* Longest kid taken from a JWKS or a header. */
#define KID_MAX 256
/* Longest piece of untrusted text quoted in a reason. */
#define QUOTE_MAX 64

typedef enum { FAMILY_RS, FAMILY_PS, FAMILY_ES } family_t;

typedef struct {
    const char *name;     /* JWK "crv" */
    const char *group;    /* OpenSSL's name of the group */
    size_t coord;         /* bytes of a coordinate, and of r and s */
} curve_t;

static const curve_t s_curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

typedef struct {
    const char *name;
    family_t family;
    const char *digest;
    const curve_t *curve; /* ES only */
} alg_t;

static const alg_t s_algs[] = {
    {"RS256", FAMILY_RS, "SHA256", NULL},       {"RS384", FAMILY_RS, "SHA384", NULL},
    {"RS512", FAMILY_RS, "SHA512", NULL},       {"PS256", FAMILY_PS, "SHA256", NULL},
    {"PS384", FAMILY_PS, "SHA384", NULL},       {"PS512", FAMILY_PS, "SHA512", NULL},
    {"ES256", FAMILY_ES, "SHA256", &s_curves[0]}, {"ES384", FAMILY_ES, "SHA384", &s_curves[1]},
    {"ES512", FAMILY_ES, "SHA512", &s_curves[2]},
};

typedef struct {
    char *kid;       /* NULL when the JWK has none */
    char *alg;       /* NULL when the JWK names none */
    EVP_PKEY *pkey;  /* NULL when skipped */
    char *skipped;   /* why it was skipped */
} key_t_;

struct sso_jose_keys_t {
    key_t_ keys[SSO_JOSE_MAX_KEYS];
    size_t count;    /* keys read, usable or skipped */
};

static void s_why(char *why, size_t why_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void s_why(char *why, size_t why_size, const char *format, ...)
{
    if (!why || !why_size)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(why, why_size, format, args);
    va_end(args);
}

/* Untrusted text made fit for a log line: printable ASCII, at most QUOTE_MAX bytes. */
static void s_quote(const char *text, size_t len, char out[QUOTE_MAX + 4])
{
    size_t i = 0;
    for (; i < len && i < QUOTE_MAX; i++)
        out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    if (i < len) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

static const alg_t *s_alg(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_algs / sizeof s_algs[0]; i++)
        if (!strcmp(s_algs[i].name, name))
            return &s_algs[i];
    return NULL;
}

static const curve_t *s_curve(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_curves / sizeof s_curves[0]; i++)
        if (!strcmp(s_curves[i].name, name) || !strcmp(s_curves[i].group, name))
            return &s_curves[i];
    return NULL;
}

/* The curve of an EC key, NULL for any other key or curve. */
static const curve_t *s_pkey_curve(EVP_PKEY *pkey)
{
    char group[64];
    if (!EVP_PKEY_is_a(pkey, "EC")
        || EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                          NULL) != 1)
        return NULL;
    return s_curve(group);
}

/* What alg needs of a key, for reasons ("RSA", "EC P-256"). */
static const char *s_needs(const alg_t *alg)
{
    if (alg->family != FAMILY_ES)
        return "RSA";
    return alg->curve == &s_curves[0] ? "EC P-256"
                                      : alg->curve == &s_curves[1] ? "EC P-384" : "EC P-521";
}

static bool s_pkey_fits(EVP_PKEY *pkey, const alg_t *alg)
{
    if (alg->family == FAMILY_ES)
        return s_pkey_curve(pkey) == alg->curve;
    return EVP_PKEY_is_a(pkey, "RSA");
}

/* Strict base64url (RFC 7515 section 2): the URL-safe alphabet only, no padding, no spaces,
   zero trailing bits. NULL for anything else, or for an empty text. */
static uint8_t *s_b64url_decode(const char *text, size_t len, size_t *out_len)
{
    if (!text || len == 0 || len % 4 == 1)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_'))
            return NULL;
    }
    char *copy = strndup(text, len);
    uint8_t *raw = copy ? sso_base64_decode(copy, out_len, false) : NULL;
    free(copy);
    return raw;
}

static BIGNUM *s_b64url_bn(const json_t *jwk, const char *member)
{
    const char *text = json_string_value(json_object_get(jwk, member));
    size_t len = 0;
    uint8_t *raw = text ? s_b64url_decode(text, strlen(text), &len) : NULL;
    BIGNUM *bn = raw ? BN_bin2bn(raw, (int) len, NULL) : NULL;
    free(raw);
    return bn;
}

/* A public key from the parameters in build, of type "RSA" or "EC"; NULL on failure. */
static EVP_PKEY *s_pkey_from(const char *type, OSSL_PARAM_BLD *build)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(build);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *pkey = NULL;
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* An RSA key from n and e; NULL with the reason in why. */
static EVP_PKEY *s_rsa_key(const json_t *jwk, char *why, size_t why_size)
{
    BIGNUM *n = s_b64url_bn(jwk, "n");
    BIGNUM *e = s_b64url_bn(jwk, "e");
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (!n || !e)
        s_why(why, why_size, "RSA n or e is not a base64url string");
    else if (BN_num_bits(n) < SSO_JOSE_RSA_MIN_BITS || BN_num_bits(n) > SSO_JOSE_RSA_MAX_BITS)
        s_why(why, why_size, "RSA modulus of %d bits, %d to %d expected", BN_num_bits(n),
              SSO_JOSE_RSA_MIN_BITS, SSO_JOSE_RSA_MAX_BITS);
    /* e = 1 would make every message its own signature. */
    else if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64)
        s_why(why, why_size, "RSA n and e must be odd, e from 3 to 64 bits");
    else if (!build || OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n) != 1
             || OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e) != 1
             || !(pkey = s_pkey_from("RSA", build)))
        s_why(why, why_size, "not a valid RSA public key");
    OSSL_PARAM_BLD_free(build);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* An EC key from crv, x and y, its point checked to be on the curve; NULL with why. */
static EVP_PKEY *s_ec_key(const json_t *jwk, char *why, size_t why_size)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    const curve_t *curve = s_curve(crv);
    if (!crv || !curve || strncmp(crv, "P-", 2) != 0) {
        char quoted[QUOTE_MAX + 4];
        s_quote(crv ? crv : "(none)", crv ? strlen(crv) : 6, quoted);
        s_why(why, why_size, "EC crv %s is not supported", quoted);
        return NULL;
    }
    const char *x = json_string_value(json_object_get(jwk, "x"));
    const char *y = json_string_value(json_object_get(jwk, "y"));
    size_t x_len = 0, y_len = 0;
    uint8_t *raw_x = x ? s_b64url_decode(x, strlen(x), &x_len) : NULL;
    uint8_t *raw_y = y ? s_b64url_decode(y, strlen(y), &y_len) : NULL;
    uint8_t point[1 + 2 * 66];
    OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *check = NULL;
    if (!raw_x || !raw_y || x_len != curve->coord || y_len != curve->coord) {
        s_why(why, why_size, "EC x and y must be base64url of %zu bytes each", curve->coord);
        goto done;
    }
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, raw_x, x_len);
    memcpy(point + 1 + x_len, raw_y, y_len);
    if (!build
        || OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0)
               != 1
        || OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point,
                                            1 + 2 * curve->coord) != 1
        || !(pkey = s_pkey_from("EC", build))
        || !(check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL))
        || EVP_PKEY_public_check(check) != 1) {
        s_why(why, why_size, "EC point is not on curve %s", curve->name);
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
done:
    EVP_PKEY_CTX_free(check);
    OSSL_PARAM_BLD_free(build);
    free(raw_x);
    free(raw_y);
    return pkey;
}

static bool s_ops_verify(const json_t *ops)
{
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        if (json_is_string(op) && !strcmp(json_string_value(op), "verify"))
            return true;
    }
    return false;
}

/* Reads one JWK into key: its kid, and either its public key or why it was skipped. -1 only
   when out of memory. */
static int s_key_read(key_t_ *key, size_t index, const json_t *jwk)
{
    char reason[SSO_JOSE_WHY_SIZE] = "";
    const json_t *kid = json_object_get(jwk, "kid");
    const json_t *use = json_object_get(jwk, "use");
    const json_t *ops = json_object_get(jwk, "key_ops");
    const json_t *alg = json_object_get(jwk, "alg");
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    char quoted[QUOTE_MAX + 4];
    if (json_is_string(kid) && json_string_length(kid) > 0
        && json_string_length(kid) <= KID_MAX && !(key->kid = strdup(json_string_value(kid))))
        return -1;
    if (json_is_string(alg) && !(key->alg = strdup(json_string_value(alg))))
        return -1;
    if (!json_is_object(jwk))
        s_why(reason, sizeof reason, "not a JSON object");
    else if (kid && !key->kid)
        s_why(reason, sizeof reason, "kid is not a string of 1 to %d bytes", KID_MAX);
    else if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        const char *text = json_is_string(use) ? json_string_value(use) : "not a string";
        s_quote(text, strlen(text), quoted);
        s_why(reason, sizeof reason, "use is %s, not sig", quoted);
    }
    else if (ops && (!json_is_array(ops) || !s_ops_verify(ops)))
        s_why(reason, sizeof reason, "key_ops does not include verify");
    else if (alg && (!key->alg || !s_alg(key->alg))) {
        const char *text = key->alg ? key->alg : "not a string";
        s_quote(text, strlen(text), quoted);
        s_why(reason, sizeof reason, "alg %s is not supported", quoted);
    }
    else if (kty && !strcmp(kty, "RSA"))
        key->pkey = s_rsa_key(jwk, reason, sizeof reason);
    else if (kty && !strcmp(kty, "EC"))
        key->pkey = s_ec_key(jwk, reason, sizeof reason);
    else {
        s_quote(kty ? kty : "(none)", kty ? strlen(kty) : 6, quoted);
        s_why(reason, sizeof reason, "kty %s is not supported", quoted);
    }
    if (key->pkey && key->alg && !s_pkey_fits(key->pkey, s_alg(key->alg))) {
        s_why(reason, sizeof reason, "alg %s does not fit its kty", key->alg);
        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;
    }
    if (key->pkey)
        return 0;
    char name[QUOTE_MAX + 4];
    if (key->kid)
        s_quote(key->kid, strlen(key->kid), name);
    else
        snprintf(name, sizeof name, "#%zu", index);
    size_t len = strlen(name) + strlen(reason) + 8;
    key->skipped = malloc(len);
    if (!key->skipped)
        return -1;
    snprintf(key->skipped, len, "key %s: %s", name, reason);
    return 0;
}

int sso_jose_keys_parse(const char *json, size_t len, sso_jose_keys_t **keys_p, char *why,
                        size_t why_size)
{
    if (!keys_p) {
        s_why(why, why_size, "jwks: nowhere to put the keys");
        return -1;
    }
    *keys_p = NULL;
    if (!json) {
        s_why(why, why_size, "jwks: absent");
        return -1;
    }
    if (len == 0) {
        s_why(why, why_size, "jwks: empty");
        return -1;
    }
    if (len > SSO_JOSE_MAX_JWKS) {
        s_why(why, why_size, "jwks: %zu bytes, at most %d", len, SSO_JOSE_MAX_JWKS);
        return -1;
    }
    json_error_t error;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    json_t *list = json_object_get(doc, "keys");
    char quoted[QUOTE_MAX + 4];
    sso_jose_keys_t *self = NULL;
    int rc = -1;
    if (!doc) {
        s_quote(error.text, strlen(error.text), quoted);
        s_why(why, why_size, "jwks: not JSON: %s", quoted);
    }
    else if (!json_is_object(doc))
        s_why(why, why_size, "jwks: not a JSON object");
    else if (!json_is_array(list))
        s_why(why, why_size, "jwks: no \"keys\" array");
    else if (json_array_size(list) > SSO_JOSE_MAX_KEYS)
        s_why(why, why_size, "jwks: %zu keys, at most %d", json_array_size(list),
              SSO_JOSE_MAX_KEYS);
    else if (!(self = calloc(1, sizeof *self)))
        s_why(why, why_size, "jwks: out of memory");
    else {
        rc = 0;
        for (size_t i = 0; i < json_array_size(list) && rc == 0; i++, self->count++)
            rc = s_key_read(&self->keys[i], i, json_array_get(list, i));
        if (rc != 0) {
            s_why(why, why_size, "jwks: out of memory");
            sso_jose_keys_destroy(&self);
        }
    }
    json_decref(doc);
    *keys_p = self;
    return rc;
}

void sso_jose_keys_destroy(sso_jose_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_jose_keys_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->keys[i].kid);
        free(self->keys[i].alg);
        free(self->keys[i].skipped);
        EVP_PKEY_free(self->keys[i].pkey);
    }
    free(self);
    *self_p = NULL;
}

size_t sso_jose_keys_count(const sso_jose_keys_t *self)
{
    size_t usable = 0;
    for (size_t i = 0; self && i < self->count; i++)
        usable += self->keys[i].pkey != NULL;
    return usable;
}

size_t sso_jose_keys_skipped(const sso_jose_keys_t *self, const char **first_reason_p)
{
    size_t skipped = 0;
    if (first_reason_p)
        *first_reason_p = NULL;
    for (size_t i = 0; self && i < self->count; i++) {
        if (self->keys[i].pkey)
            continue;
        if (first_reason_p && !skipped)
            *first_reason_p = self->keys[i].skipped;
        skipped++;
    }
    return skipped;
}

/* The key a token's header selects: by kid, or the one key fitting alg when there is no kid. */
static sso_jose_status_t s_select(const sso_jose_keys_t *keys, const alg_t *alg,
                                  const char *kid, EVP_PKEY **pkey_p, char *why,
                                  size_t why_size)
{
    char quoted[QUOTE_MAX + 4];
    const key_t_ *found = NULL, *skipped = NULL, *unfit = NULL;
    size_t fitting = 0;
    for (size_t i = 0; i < keys->count; i++) {
        const key_t_ *key = &keys->keys[i];
        if (kid && (!key->kid || strcmp(key->kid, kid) != 0))
            continue;
        if (!key->pkey)
            skipped = key;
        else if (!s_pkey_fits(key->pkey, alg) || (key->alg && strcmp(key->alg, alg->name)))
            unfit = key;
        else if (fitting++ == 0)
            found = key;
    }
    if (kid)
        s_quote(kid, strlen(kid), quoted);
    if (found && (kid || fitting == 1)) {
        *pkey_p = found->pkey;
        return SSO_JOSE_OK;
    }
    if (!kid && fitting > 1)
        s_why(why, why_size, "kid: absent, and %zu keys of the JWKS fit %s", fitting, alg->name);
    else if (!kid)
        s_why(why, why_size, "kid: absent, and no key of the JWKS fits %s", alg->name);
    else if (unfit && unfit->alg && strcmp(unfit->alg, alg->name))
        s_why(why, why_size, "kid: key %s is for %s, the token says %s", quoted, unfit->alg,
              alg->name);
    else if (unfit)
        s_why(why, why_size, "kid: key %s does not fit %s, which needs %s", quoted, alg->name,
              s_needs(alg));
    else if (skipped)
        s_why(why, why_size, "kid: %s, not usable", skipped->skipped);
    else {
        s_why(why, why_size, "kid: no key %s in the JWKS", quoted);
        return SSO_JOSE_UNKNOWN_KID;
    }
    return SSO_JOSE_REFUSED;
}

static uint8_t *s_part_decode(const char *part, const char *text, size_t len, size_t *raw_len,
                              char *why, size_t why_size)
{
    uint8_t *raw = s_b64url_decode(text, len, raw_len);
    if (!raw)
        s_why(why, why_size, "%s: not base64url", part);
    return raw;
}

/* A decoded part of a JWS as a JSON object (duplicate names refused); NULL with why. */
static json_t *s_part_json(const char *part, const uint8_t *raw, size_t raw_len, char *why,
                           size_t why_size)
{
    json_error_t error;
    json_t *json = json_loadb((const char *) raw, raw_len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (!json) {
        char quoted[QUOTE_MAX + 4];
        s_quote(error.text, strlen(error.text), quoted);
        s_why(why, why_size, "%s: not JSON: %s", part, quoted);
    }
    else if (!json_is_object(json)) {
        s_why(why, why_size, "%s: not a JSON object", part);
        json_decref(json);
        json = NULL;
    }
    return json;
}

/* Sets up md to sign or verify with alg: PKCS#1 v1.5 for RS, PSS with MGF1 of the same hash
   and a salt as long as the hash for PS (RFC 7518 3.5), plain ECDSA for ES. */
static int s_md_init(EVP_MD_CTX *md, const alg_t *alg, EVP_PKEY *pkey, bool sign)
{
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit_ex(md, &pctx, alg->digest, NULL, NULL, pkey, NULL)
                  : EVP_DigestVerifyInit_ex(md, &pctx, alg->digest, NULL, NULL, pkey, NULL);
    if (ok != 1)
        return -1;
    if (alg->family == FAMILY_RS)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 ? 0 : -1;
    if (alg->family == FAMILY_PS)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                       && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
                       && EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg->digest, NULL) == 1
                   ? 0
                   : -1;
    return 0;
}

/* JWS ES signatures are r || s, each as long as the curve's coordinates; OpenSSL speaks DER.
   Caller OPENSSL_frees the DER. */
static uint8_t *s_raw_to_der(const uint8_t *raw, size_t coord, size_t *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int) coord, NULL);
    BIGNUM *s = BN_bin2bn(raw + coord, (int) coord, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        return NULL;
    }
    uint8_t *der = NULL;
    int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0)
        return NULL;
    *der_len = (size_t) len;
    return der;
}

static int s_der_to_raw(const uint8_t *der, size_t der_len, size_t coord, uint8_t *raw)
{
    const uint8_t *cursor = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &cursor, (long) der_len);
    int rc = -1;
    if (sig && BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, (int) coord) == (int) coord
        && BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + coord, (int) coord) == (int) coord)
        rc = 0;
    ECDSA_SIG_free(sig);
    return rc;
}

static int s_signature_check(const alg_t *alg, EVP_PKEY *pkey, const char *input,
                             size_t input_len, const uint8_t *sig, size_t sig_len, char *why,
                             size_t why_size)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (alg->family == FAMILY_ES) {
        if (sig_len != 2 * alg->curve->coord) {
            s_why(why, why_size, "signature: %zu bytes, %s takes r||s of %zu", sig_len,
                  alg->name, 2 * alg->curve->coord);
            return -1;
        }
        if (!(der = s_raw_to_der(sig, alg->curve->coord, &der_len))) {
            s_why(why, why_size, "signature: out of memory");
            return -1;
        }
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && s_md_init(md, alg, pkey, false) == 0
                     && EVP_DigestVerify(md, der ? der : sig, der ? der_len : sig_len,
                                         (const uint8_t *) input, input_len) == 1
                 ? 0
                 : -1;
    if (rc != 0)
        s_why(why, why_size, "signature: does not verify");
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return rc;
}

static bool s_listed(const char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], name))
            return true;
    return false;
}

/* The header's checks up to the key: alg allowed, no crit, a key selected. */
static sso_jose_status_t s_header_check(const json_t *header, const sso_jose_keys_t *keys,
                                        const char *const *allowed_algs, const alg_t **alg_p,
                                        EVP_PKEY **pkey_p, char *why, size_t why_size)
{
    const json_t *alg_json = json_object_get(header, "alg");
    const json_t *kid_json = json_object_get(header, "kid");
    const char *name = json_string_value(alg_json);
    char quoted[QUOTE_MAX + 4];
    if (!name) {
        s_why(why, why_size, alg_json ? "alg: not a string" : "alg: absent");
        return SSO_JOSE_REFUSED;
    }
    s_quote(name, strlen(name), quoted);
    if (!strcasecmp(name, "none")) {
        s_why(why, why_size, "alg: none is never accepted");
        return SSO_JOSE_REFUSED;
    }
    if (!strncasecmp(name, "HS", 2)) {
        s_why(why, why_size, "alg: %s (HMAC) is never accepted", quoted);
        return SSO_JOSE_REFUSED;
    }
    if (!(*alg_p = s_alg(name))) {
        s_why(why, why_size, "alg: %s is not supported", quoted);
        return SSO_JOSE_REFUSED;
    }
    if (!s_listed(allowed_algs, name)) {
        s_why(why, why_size, "alg: %s is not in the allowed list", quoted);
        return SSO_JOSE_REFUSED;
    }
    /* No extension is understood, so any critical one must be refused (RFC 7515 4.1.11). */
    if (json_object_get(header, "crit")) {
        s_why(why, why_size, "crit: critical extensions are not accepted");
        return SSO_JOSE_REFUSED;
    }
    if (kid_json && (!json_is_string(kid_json) || json_string_length(kid_json) == 0
                     || json_string_length(kid_json) > KID_MAX)) {
        s_why(why, why_size, "kid: not a string of 1 to %d bytes", KID_MAX);
        return SSO_JOSE_REFUSED;
    }
    if (!keys) {
        s_why(why, why_size, "jwks: absent");
        return SSO_JOSE_REFUSED;
    }
    return s_select(keys, *alg_p, json_string_value(kid_json), pkey_p, why, why_size);
}

sso_jose_status_t sso_jose_verify(const char *jws, const sso_jose_keys_t *keys,
                                  const char *const *allowed_algs, json_t **header_p,
                                  json_t **claims_p, char *why, size_t why_size)
{
    if (header_p)
        *header_p = NULL;
    if (claims_p)
        *claims_p = NULL;
    if (!claims_p || !jws) {
        s_why(why, why_size, claims_p ? "jws: absent" : "jws: nowhere to put the claims");
        return SSO_JOSE_REFUSED;
    }
    size_t len = strnlen(jws, SSO_JOSE_MAX_JWS + 1);
    if (len == 0) {
        s_why(why, why_size, "jws: empty");
        return SSO_JOSE_REFUSED;
    }
    if (len > SSO_JOSE_MAX_JWS) {
        s_why(why, why_size, "jws: longer than %d bytes", SSO_JOSE_MAX_JWS);
        return SSO_JOSE_REFUSED;
    }
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += jws[i] == '.';
    if (dots != 2) {
        s_why(why, why_size, "jws: %zu parts, a compact JWS has 3", dots + 1);
        return SSO_JOSE_REFUSED;
    }
    const char *payload = strchr(jws, '.') + 1;
    const char *signature = strchr(payload, '.') + 1;
    size_t header_len = (size_t) (payload - 1 - jws);
    size_t payload_len = (size_t) (signature - 1 - payload);
    size_t signature_len = len - (size_t) (signature - jws);
    if (!header_len || !payload_len || !signature_len) {
        s_why(why, why_size, "%s: empty",
              !header_len ? "header" : !payload_len ? "payload" : "signature");
        /* An empty signature with alg none says more as the alg's refusal: read on. */
        if (!header_len || !payload_len)
            return SSO_JOSE_REFUSED;
    }
    size_t raw_len = 0, sig_len = 0;
    uint8_t *raw_header = s_part_decode("header", jws, header_len, &raw_len, why, why_size);
    json_t *header = raw_header ? s_part_json("header", raw_header, raw_len, why, why_size) : NULL;
    free(raw_header);
    if (!header)
        return SSO_JOSE_REFUSED;
    const alg_t *alg = NULL;
    EVP_PKEY *pkey = NULL;
    uint8_t *raw_payload = NULL, *sig = NULL;
    json_t *claims = NULL;
    sso_jose_status_t status =
        s_header_check(header, keys, allowed_algs, &alg, &pkey, why, why_size);
    if (status != SSO_JOSE_OK)
        goto done;
    status = SSO_JOSE_REFUSED;
    if (!(raw_payload = s_part_decode("payload", payload, payload_len, &raw_len, why, why_size)))
        goto done;
    if (!signature_len)
        s_why(why, why_size, "signature: empty");
    else
        sig = s_part_decode("signature", signature, signature_len, &sig_len, why, why_size);
    /* The payload is parsed only once its signature holds. */
    if (sig && s_signature_check(alg, pkey, jws, (size_t) (signature - 1 - jws), sig, sig_len,
                               why, why_size) == 0
             && (claims = s_part_json("payload", raw_payload, raw_len, why, why_size)))
        status = SSO_JOSE_OK;
done:
    free(raw_payload);
    free(sig);
    if (status == SSO_JOSE_OK) {
        *claims_p = claims;
        if (header_p)
            *header_p = json_incref(header);
    }
    json_decref(header);
    return status;
}

/* A NumericDate claim: 1 when absent, 0 with *value, -1 with why when not a number. */
static int s_date(const json_t *claims, const char *name, int64_t *value, char *why,
                  size_t why_size)
{
    const json_t *date = json_object_get(claims, name);
    if (!date)
        return 1;
    double real = json_is_real(date) ? json_real_value(date) : 0;
    if (json_is_integer(date))
        *value = (int64_t) json_integer_value(date);
    /* Fractions are allowed (RFC 7519 2); far beyond any date is not. */
    else if (json_is_real(date) && real > -1e15 && real < 1e15)
        *value = (int64_t) real;
    else {
        s_why(why, why_size, "%s: not a NumericDate", name);
        return -1;
    }
    return 0;
}

int sso_jose_check_dates(const json_t *claims, int64_t now, int64_t skew_s, char *why,
                         size_t why_size)
{
    if (!json_is_object(claims)) {
        s_why(why, why_size, claims ? "claims: not a JSON object" : "claims: absent");
        return -1;
    }
    if (skew_s < 0)
        skew_s = 0;
    int64_t exp = 0, nbf = 0, iat = 0;
    int exp_rc = s_date(claims, "exp", &exp, why, why_size);
    int nbf_rc = exp_rc < 0 ? -1 : s_date(claims, "nbf", &nbf, why, why_size);
    int iat_rc = exp_rc < 0 || nbf_rc < 0 ? -1 : s_date(claims, "iat", &iat, why, why_size);
    if (exp_rc < 0 || nbf_rc < 0 || iat_rc < 0)
        return -1;
    if (exp_rc == 1 || iat_rc == 1) {
        s_why(why, why_size, "%s: absent", exp_rc == 1 ? "exp" : "iat");
        return -1;
    }
    if (exp <= now - skew_s) {
        s_why(why, why_size, "exp: expired at %lld, now %lld", (long long) exp, (long long) now);
        return -1;
    }
    if (nbf_rc == 0 && nbf > now + skew_s) {
        s_why(why, why_size, "nbf: not valid before %lld, now %lld", (long long) nbf,
              (long long) now);
        return -1;
    }
    if (iat > now + skew_s) {
        s_why(why, why_size, "iat: issued in the future at %lld, now %lld", (long long) iat,
              (long long) now);
        return -1;
    }
    return 0;
}

/* header_text.payload_text, both base64url, and the signature by key under alg. Caller
   frees. */
static char *s_sign_parts(EVP_PKEY *key, const alg_t *alg, const char *header_text,
                          const char *payload_text)
{
    char *h = sso_base64url_encode((const uint8_t *) header_text, strlen(header_text));
    char *p = sso_base64url_encode((const uint8_t *) payload_text, strlen(payload_text));
    size_t input_len = h && p ? strlen(h) + 1 + strlen(p) : 0;
    char *jws = NULL, *encoded = NULL;
    uint8_t *signature = NULL;
    uint8_t raw[2 * 66];
    size_t sig_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *input = input_len ? malloc(input_len + 1) : NULL;
    if (!input || !md)
        goto done;
    snprintf(input, input_len + 1, "%s.%s", h, p);
    if (s_md_init(md, alg, key, true) != 0
        || EVP_DigestSign(md, NULL, &sig_len, (uint8_t *) input, input_len) != 1
        || !(signature = malloc(sig_len))
        || EVP_DigestSign(md, signature, &sig_len, (uint8_t *) input, input_len) != 1)
        goto done;
    if (alg->family == FAMILY_ES) {
        if (s_der_to_raw(signature, sig_len, alg->curve->coord, raw) != 0)
            goto done;
        encoded = sso_base64url_encode(raw, 2 * alg->curve->coord);
    }
    else
        encoded = sso_base64url_encode(signature, sig_len);
    size_t jws_len = encoded ? input_len + 1 + strlen(encoded) + 1 : 0;
    if (jws_len && (jws = malloc(jws_len)))
        snprintf(jws, jws_len, "%s.%s", input, encoded);
done:
    EVP_MD_CTX_free(md);
    free(signature);
    free(encoded);
    free(input);
    free(h);
    free(p);
    return jws;
}

int sso_jose_sign(EVP_PKEY *key, const char *alg, const char *kid, const json_t *claims,
                  char **jws_p)
{
    return sso_jose_sign_typed(key, alg, kid, "JWT", claims, jws_p);
}

int sso_jose_sign_typed(EVP_PKEY *key, const char *alg, const char *kid, const char *typ,
                        const json_t *claims, char **jws_p)
{
    if (!jws_p)
        return -1;
    *jws_p = NULL;
    const alg_t *signing = s_alg(alg);
    if (!key || !signing || !kid || !typ || !*typ || !json_is_object(claims)
        || !s_pkey_fits(key, signing))
        return -1;
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", alg, "kid", kid, "typ", typ);
    char *header_text = header ? json_dumps(header, JSON_COMPACT) : NULL;
    char *claims_text = json_dumps(claims, JSON_COMPACT);
    json_decref(header);
    if (header_text && claims_text)
        *jws_p = s_sign_parts(key, signing, header_text, claims_text);
    free(header_text);
    free(claims_text);
    return *jws_p ? 0 : -1;
}

char *sso_jose_half_hash(const char *alg, const char *value)
{
    const alg_t *hashing = s_alg(alg);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!hashing || !value
        || EVP_Digest(value, strlen(value), digest, &len, EVP_get_digestbyname(hashing->digest),
                      NULL) != 1)
        return NULL;
    return sso_base64url_encode(digest, len / 2);
}

/* A BIGNUM parameter of key in base64url: as short as it goes, or padded to pad bytes. */
static char *s_param_b64url(EVP_PKEY *key, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
        return NULL;
    size_t len = pad ? pad : (size_t) BN_num_bytes(bn);
    uint8_t *raw = len ? malloc(len) : NULL;
    char *out = NULL;
    if (raw && BN_bn2binpad(bn, raw, (int) len) == (int) len)
        out = sso_base64url_encode(raw, len);
    free(raw);
    BN_free(bn);
    return out;
}

/* The members of key's public JWK that RFC 7638 hashes, and no others. */
static json_t *s_jwk_members(EVP_PKEY *key)
{
    const curve_t *curve = key ? s_pkey_curve(key) : NULL;
    bool rsa = key && EVP_PKEY_is_a(key, "RSA");
    char *a = NULL, *b = NULL;
    json_t *jwk = NULL;
    if (rsa) {
        a = s_param_b64url(key, OSSL_PKEY_PARAM_RSA_N, 0);
        b = s_param_b64url(key, OSSL_PKEY_PARAM_RSA_E, 0);
        if (a && b)
            jwk = json_pack("{s:s, s:s, s:s}", "e", b, "kty", "RSA", "n", a);
    }
    else if (curve) {
        a = s_param_b64url(key, OSSL_PKEY_PARAM_EC_PUB_X, curve->coord);
        b = s_param_b64url(key, OSSL_PKEY_PARAM_EC_PUB_Y, curve->coord);
        if (a && b)
            jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", curve->name, "kty", "EC", "x", a,
                            "y", b);
    }
    free(a);
    free(b);
    return jwk;
}

json_t *sso_jose_public_jwk(EVP_PKEY *key, const char *kid, const char *alg)
{
    json_t *jwk = s_jwk_members(key);
    if (jwk && (json_object_set_new(jwk, "use", json_string("sig")) != 0
                || (kid && json_object_set_new(jwk, "kid", json_string(kid)) != 0)
                || (alg && json_object_set_new(jwk, "alg", json_string(alg)) != 0))) {
        json_decref(jwk);
        jwk = NULL;
    }
    return jwk;
}

char *sso_jose_thumbprint(EVP_PKEY *key)
{
    json_t *jwk = s_jwk_members(key);
    char *text = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    if (!text)
        return NULL;
    uint8_t digest[32];
    sso_sha256(text, strlen(text), digest);
    free(text);
    return sso_base64url_encode(digest, sizeof digest);
}

int sso_jose_signing_key_new(char **private_pem, char **public_jwk, char **kid)
{
    *private_pem = *public_jwk = *kid = NULL;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem_data = NULL;
    long pem_len = 0;
    if (pkey && bio && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1)
        pem_len = BIO_get_mem_data(bio, &pem_data);
    /* The kid is the key's RFC 7638 thumbprint. */
    *kid = pem_len > 0 ? sso_jose_thumbprint(pkey) : NULL;
    json_t *jwk = *kid ? sso_jose_public_jwk(pkey, *kid, "RS256") : NULL;
    *public_jwk = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    *private_pem = *public_jwk ? strndup(pem_data, (size_t) pem_len) : NULL;
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    if (*private_pem)
        return 0;
    free(*kid);
    free(*public_jwk);
    *kid = *public_jwk = NULL;
    return -1;
}

bool sso_jose_key_signs_before(int64_t a_active_from, int64_t a_created_at, const char *a_kid,
                               int64_t b_active_from, int64_t b_created_at, const char *b_kid)
{
    if (a_active_from != b_active_from)
        return a_active_from > b_active_from;
    return a_created_at > b_created_at || (a_created_at == b_created_at && strcmp(a_kid, b_kid) > 0);
}

EVP_PKEY *sso_jose_private_key_pem(const char *pem)
{
    BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return key;
}

EVP_PKEY *sso_jose_certificate_key_pem(const char *pem)
{
    BIO *bio = pem ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = cert ? X509_get_pubkey(cert) : NULL;
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return key;
}

/* ---------------------------------------------------------------------------------------- */
/* Self-test */

/* RFC 7515 appendix A: the JWS Protected Header / Payload the examples share. */
#define RFC_PAYLOAD                                                                            \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0" \
    "cnVlfQ"
/* A.2 (RS256) */
#define RFC_A2_N                                                                               \
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0" \
    "Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXnd" \
    "S5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5Ihl" \
    "JH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define RFC_A2_JWS                                                                             \
    "eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD                                                        \
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W" \
    "2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSj" \
    "tQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh" \
    "6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
/* A.3 (ES256) */
#define RFC_A3_JWK                                                                             \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","  \
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"
#define RFC_A3_JWS                                                                             \
    "eyJhbGciOiJFUzI1NiJ9." RFC_PAYLOAD                                                        \
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
/* A.4 (ES512), whose payload is the text "Payload": not a JWT. */
#define RFC_A4_JWK                                                                             \
    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpX" \
    "p5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\",\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg" \
    "_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\"}"
#define RFC_A4_JWS                                                                             \
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWR" \
    "Oc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8" \
    "vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
/* RFC 7638 section 3.1: a key and its thumbprint. */
#define RFC_7638_N                                                                             \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ" \
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW" \
    "2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQ" \
    "Fh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"

static const char *const s_every_alg[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                          "PS512", "ES256", "ES384", "ES512", NULL};

/* A JWKS of one JWK text. */
static sso_jose_keys_t *s_test_keys(const char *jwk)
{
    char text[4096];
    snprintf(text, sizeof text, "{\"keys\":[%s]}", jwk);
    sso_jose_keys_t *keys = NULL;
    char why[SSO_JOSE_WHY_SIZE];
    SSO_CHECK(sso_jose_keys_parse(text, strlen(text), &keys, why, sizeof why) == 0);
    return keys;
}

/* Runs verify and checks its status and that why contains expected. */
static bool s_test_verify(const char *jws, const sso_jose_keys_t *keys,
                          const char *const *allowed, sso_jose_status_t expected_status,
                          const char *expected_why, bool verbose)
{
    char why[SSO_JOSE_WHY_SIZE] = "";
    json_t *claims = NULL, *header = NULL;
    sso_jose_status_t status = sso_jose_verify(jws, keys, allowed, &header, &claims, why,
                                               sizeof why);
    bool ok = status == expected_status && (status == SSO_JOSE_OK) == (claims != NULL)
              && (status == SSO_JOSE_OK) == (header != NULL)
              && (expected_status == SSO_JOSE_OK || strstr(why, expected_why));
    if (!ok || verbose)
        fprintf(stderr, "  verify: %d, %s (expected %d, %s)\n", status, why, expected_status,
                expected_why);
    json_decref(claims);
    json_decref(header);
    return ok;
}

static char *s_b64url_text(const char *text)
{
    return sso_base64url_encode((const uint8_t *) text, strlen(text));
}

/* header.payload.signature from texts, the signature given raw (len bytes). */
static char *s_test_jws(const char *header, const char *payload, const uint8_t *sig,
                        size_t sig_len)
{
    char *h = s_b64url_text(header), *p = s_b64url_text(payload);
    char *s = sig_len ? sso_base64url_encode(sig, sig_len) : strdup("");
    char *jws = malloc(SSO_JOSE_MAX_JWS * 2);
    if (jws && h && p && s)
        snprintf(jws, SSO_JOSE_MAX_JWS * 2, "%s.%s.%s", h, p, s);
    free(h);
    free(p);
    free(s);
    return jws;
}

/* A signature made without this module's signer: OpenSSL's own output (DER for ECDSA), and
   for RSA-PSS the salt length asked for. */
static char *s_hand_signed(EVP_PKEY *key, const char *digest, int pss_salt, const char *header,
                           const char *payload)
{
    char *unsigned_jws = s_test_jws(header, payload, NULL, 0);
    size_t input_len = unsigned_jws ? strlen(unsigned_jws) - 1 : 0; /* without the last dot */
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    char *jws = NULL;
    if (md && unsigned_jws
        && EVP_DigestSignInit_ex(md, &pctx, digest, NULL, NULL, key, NULL) == 1
        && (!pss_salt
            || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1))
        && EVP_DigestSign(md, sig, &sig_len, (uint8_t *) unsigned_jws, input_len) == 1)
        jws = s_test_jws(header, payload, sig, sig_len);
    EVP_MD_CTX_free(md);
    free(unsigned_jws);
    return jws;
}

static void s_rfc_vectors_test(bool verbose)
{
    /* at_hash of OIDC Core A.3; c_hash of OIDC Core A.4. */
    char *hash = sso_jose_half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
    SSO_CHECK(hash && !strcmp(hash, "77QmUPtjPfzWtF2AnpK9RQ"));
    free(hash);
    hash = sso_jose_half_hash("RS256", "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk");
    SSO_CHECK(hash && !strcmp(hash, "LDktKdoQak3Pk0cnXxCltA"));
    free(hash);
    hash = sso_jose_half_hash("ES512", "x");
    SSO_CHECK(hash && strlen(hash) == 43); /* 32 of 64 bytes */
    free(hash);
    SSO_CHECK(!sso_jose_half_hash("HS256", "x") && !sso_jose_half_hash(NULL, "x")
              && !sso_jose_half_hash("RS256", NULL) && !sso_jose_half_hash("", "x"));
    hash = sso_jose_half_hash("RS256", "");
    SSO_CHECK(hash && strlen(hash) == 22);
    free(hash);

    sso_jose_keys_t *rs = s_test_keys("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" RFC_A2_N "\"}");
    sso_jose_keys_t *es256 = s_test_keys(RFC_A3_JWK);
    sso_jose_keys_t *es512 = s_test_keys(RFC_A4_JWK);
    SSO_CHECK(sso_jose_keys_count(rs) == 1 && sso_jose_keys_count(es256) == 1
              && sso_jose_keys_count(es512) == 1);
    SSO_CHECK(s_test_verify(RFC_A2_JWS, rs, s_every_alg, SSO_JOSE_OK, "", verbose));
    SSO_CHECK(s_test_verify(RFC_A3_JWS, es256, s_every_alg, SSO_JOSE_OK, "", verbose));
    /* The signature holds, and only then is the payload found not to be a JSON object. */
    SSO_CHECK(s_test_verify(RFC_A4_JWS, es512, s_every_alg, SSO_JOSE_REFUSED,
                            "payload: not JSON", verbose));
    /* A key of another type or curve, with no kid to choose by. */
    SSO_CHECK(s_test_verify(RFC_A3_JWS, rs, s_every_alg, SSO_JOSE_REFUSED,
                            "kid: absent, and no key of the JWKS fits ES256", verbose));
    SSO_CHECK(s_test_verify(RFC_A4_JWS, es256, s_every_alg, SSO_JOSE_REFUSED,
                            "no key of the JWKS fits ES512", verbose));
    const char *const rs256_only[] = {"RS256", NULL};
    SSO_CHECK(s_test_verify(RFC_A3_JWS, es256, rs256_only, SSO_JOSE_REFUSED,
                            "alg: ES256 is not in the allowed list", verbose));
    json_t *claims = NULL;
    char why[SSO_JOSE_WHY_SIZE];
    SSO_CHECK(sso_jose_verify(RFC_A2_JWS, rs, s_every_alg, NULL, &claims, why, sizeof why)
                  == SSO_JOSE_OK
              && json_integer_value(json_object_get(claims, "exp")) == 1300819380);
    json_decref(claims);

    sso_jose_keys_t *thumb = s_test_keys("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" RFC_7638_N
                                         "\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}");
    char *thumbprint = thumb ? sso_jose_thumbprint(thumb->keys[0].pkey) : NULL;
    SSO_CHECK(thumbprint && !strcmp(thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
    free(thumbprint);
    /* The public JWK read back gives the members it was read from. */
    json_t *jwk = thumb ? sso_jose_public_jwk(thumb->keys[0].pkey, "2011-04-29", "RS256") : NULL;
    SSO_CHECK(jwk && !strcmp(json_string_value(json_object_get(jwk, "n")), RFC_7638_N)
              && !strcmp(json_string_value(json_object_get(jwk, "e")), "AQAB")
              && !strcmp(json_string_value(json_object_get(jwk, "use")), "sig")
              && json_object_size(jwk) == 6);
    json_decref(jwk);
    jwk = es512 ? sso_jose_public_jwk(es512->keys[0].pkey, NULL, NULL) : NULL;
    json_t *rfc = json_loads(RFC_A4_JWK, 0, NULL);
    json_object_set_new(rfc, "use", json_string("sig"));
    SSO_CHECK(jwk && json_equal(jwk, rfc)); /* x, y padded to 66 bytes */
    json_decref(rfc);
    json_decref(jwk);
    SSO_CHECK(!sso_jose_public_jwk(NULL, "k", "RS256") && !sso_jose_thumbprint(NULL));
    sso_jose_keys_destroy(&thumb);
    sso_jose_keys_destroy(&rs);
    sso_jose_keys_destroy(&es256);
    sso_jose_keys_destroy(&es512);
}

/* The JWKS document and its keys: absent, empty, hostile, and the keys that are skipped. */
static void s_jwks_test(EVP_PKEY *rsa, EVP_PKEY *p256, bool verbose)
{
    (void) verbose;
    sso_jose_keys_t *keys = NULL;
    char why[SSO_JOSE_WHY_SIZE] = "";
    SSO_CHECK(sso_jose_keys_parse(NULL, 0, &keys, why, sizeof why) == -1 && !keys
              && strstr(why, "absent"));
    SSO_CHECK(sso_jose_keys_parse("", 0, &keys, why, sizeof why) == -1 && strstr(why, "empty"));
    SSO_CHECK(sso_jose_keys_parse("{", 1, &keys, why, sizeof why) == -1
              && strstr(why, "not JSON"));
    SSO_CHECK(sso_jose_keys_parse("[]", 2, &keys, why, sizeof why) == -1
              && strstr(why, "not a JSON object"));
    SSO_CHECK(sso_jose_keys_parse("{\"keys\":{}}", 11, &keys, why, sizeof why) == -1
              && strstr(why, "no \"keys\" array"));
    const char *twice = "{\"keys\":[],\"keys\":[]}";
    SSO_CHECK(sso_jose_keys_parse(twice, strlen(twice), &keys, why, sizeof why) == -1);
    SSO_CHECK(sso_jose_keys_parse("{\"keys\":[]}", 11, NULL, why, sizeof why) == -1);
    SSO_CHECK(sso_jose_keys_parse("{\"keys\":[]}", 11, &keys, NULL, 0) == 0 && keys
              && sso_jose_keys_count(keys) == 0 && sso_jose_keys_skipped(keys, NULL) == 0);
    sso_jose_keys_destroy(&keys);
    SSO_CHECK(keys == NULL);
    sso_jose_keys_destroy(&keys);
    sso_jose_keys_destroy(NULL);
    /* Too large; too many keys. */
    size_t huge_len = SSO_JOSE_MAX_JWKS + 1;
    char *huge = malloc(huge_len + 1);
    if (huge) {
        memset(huge, ' ', huge_len);
        memcpy(huge, "{\"keys\":[]}", 11);
        huge[huge_len] = '\0';
        SSO_CHECK(sso_jose_keys_parse(huge, huge_len, &keys, why, sizeof why) == -1
                  && strstr(why, "at most"));
        SSO_CHECK(sso_jose_keys_parse(huge, huge_len - 1, &keys, why, sizeof why) == 0);
        sso_jose_keys_destroy(&keys);
        free(huge);
    }
    json_t *many = json_pack("{s:[]}", "keys");
    json_t *rsa_jwk = sso_jose_public_jwk(rsa, "rsa", NULL);
    for (int i = 0; i <= SSO_JOSE_MAX_KEYS; i++)
        json_array_append(json_object_get(many, "keys"), rsa_jwk);
    char *text = json_dumps(many, JSON_COMPACT);
    SSO_CHECK(text && sso_jose_keys_parse(text, strlen(text), &keys, why, sizeof why) == -1
              && strstr(why, "65 keys, at most 64"));
    free(text);
    json_array_remove(json_object_get(many, "keys"), 0);
    text = json_dumps(many, JSON_COMPACT);
    SSO_CHECK(text && sso_jose_keys_parse(text, strlen(text), &keys, why, sizeof why) == 0
              && sso_jose_keys_count(keys) == SSO_JOSE_MAX_KEYS);
    sso_jose_keys_destroy(&keys);
    free(text);
    json_decref(many);

    /* One set with one good key and every kind of key that is skipped. */
    EVP_PKEY *weak = EVP_RSA_gen(1024);
    json_t *weak_jwk = weak ? sso_jose_public_jwk(weak, "weak", NULL) : NULL;
    json_t *off_curve = sso_jose_public_jwk(p256, "off-curve", NULL);
    char *y = strdup(json_string_value(json_object_get(off_curve, "y")) ?: "");
    y[5] = y[5] == 'A' ? 'B' : 'A';
    json_object_set_new(off_curve, "y", json_string(y));
    free(y);
    json_t *enc = sso_jose_public_jwk(p256, "enc", NULL);
    json_object_set_new(enc, "use", json_string("enc"));
    json_t *ops = sso_jose_public_jwk(p256, "ops", NULL);
    json_object_set_new(ops, "key_ops", json_pack("[s]", "encrypt"));
    json_t *short_x = sso_jose_public_jwk(p256, "short-x", NULL);
    json_object_set_new(short_x, "x", json_string("AQAB"));
    json_t *e_one = sso_jose_public_jwk(rsa, "e-one", NULL);
    json_object_set_new(e_one, "e", json_string("AQ"));
    json_t *padded = sso_jose_public_jwk(rsa, "padded", NULL);
    char n_padded[1024];
    snprintf(n_padded, sizeof n_padded, "%s==", json_string_value(json_object_get(padded, "n")));
    json_object_set_new(padded, "n", json_string(n_padded));
    json_t *unfit = sso_jose_public_jwk(rsa, "unfit", "ES256");
    json_t *set = json_pack(
        "{s:[o, o, o, o, o, o, o, o, O, {s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}, s, {s:s}]}",
        "keys", weak_jwk, off_curve, enc, ops, short_x, e_one, padded, unfit, rsa_jwk, "kty",
        "oct", "k", "c2VjcmV0", "kid", "oct", "kty", "EC", "crv", "secp256k1", "x", "AA", "y",
        "AA", "kid", "k1", "not a key", "kid", "no-kty");
    text = set ? json_dumps(set, JSON_COMPACT) : NULL;
    SSO_CHECK(text && sso_jose_keys_parse(text, strlen(text), &keys, why, sizeof why) == 0);
    const char *first = NULL;
    SSO_CHECK(sso_jose_keys_count(keys) == 1 && sso_jose_keys_skipped(keys, &first) == 12);
    SSO_CHECK(first && strstr(first, "key weak: RSA modulus of 1024 bits"));
    const char *expected[] = {
        "RSA modulus of 1024 bits", "EC point is not on curve P-256", "use is enc, not sig",
        "key_ops does not include verify", "EC x and y must be base64url of 32 bytes",
        "e from 3", "RSA n or e is not a base64url string", "alg ES256 does not fit its kty",
        NULL, "kty oct is not supported", "EC crv secp256k1 is not supported",
        "key #11: not a JSON object", "key no-kty: kty (none) is not supported"};
    for (size_t i = 0; keys && i < sizeof expected / sizeof expected[0]; i++) {
        bool ok = expected[i] ? keys->keys[i].skipped && strstr(keys->keys[i].skipped, expected[i])
                              : keys->keys[i].pkey != NULL;
        SSO_CHECK(ok);
        if (!ok)
            fprintf(stderr, "  key %zu: %s\n", i, keys->keys[i].skipped);
    }
    /* A token naming a skipped key says why, and is not an unknown kid (no refetch). */
    json_t *claims = json_pack("{s:s}", "sub", "x");
    char *jws = NULL;
    SSO_CHECK(weak && sso_jose_sign(weak, "RS256", "weak", claims, &jws) == 0);
    SSO_CHECK(s_test_verify(jws, keys, s_every_alg, SSO_JOSE_REFUSED,
                            "kid: key weak: RSA modulus of 1024 bits", verbose));
    free(jws);
    SSO_CHECK(sso_jose_sign(p256, "ES256", "enc", claims, &jws) == 0);
    SSO_CHECK(s_test_verify(jws, keys, s_every_alg, SSO_JOSE_REFUSED, "use is enc", verbose));
    free(jws);
    SSO_CHECK(sso_jose_sign(p256, "ES256", "off-curve", claims, &jws) == 0);
    SSO_CHECK(s_test_verify(jws, keys, s_every_alg, SSO_JOSE_REFUSED, "not on curve", verbose));
    free(jws);
    json_decref(claims);
    sso_jose_keys_destroy(&keys);
    free(text);
    json_decref(set);
    json_decref(rsa_jwk);
    EVP_PKEY_free(weak);
}

/* Every alg signed by the module and verified; the hand-made ES and PS signatures. */
static void s_roundtrip_test(EVP_PKEY *rsa, EVP_PKEY *const ec[3], const sso_jose_keys_t *keys,
                             bool verbose)
{
    json_t *claims = json_pack("{s:s, s:i, s:s}", "iss", "https://op.test", "exp", 42, "name",
                               "Zoë \"quoted\"");
    const char *kids[] = {"rsa", "rsa", "rsa", "rsa", "rsa", "rsa", "p256", "p384", "p521"};
    for (size_t i = 0; s_every_alg[i]; i++) {
        EVP_PKEY *key = i < 6 ? rsa : ec[i - 6];
        char *jws = NULL, why[SSO_JOSE_WHY_SIZE] = "";
        json_t *back = NULL, *header = NULL;
        SSO_CHECK(sso_jose_sign(key, s_every_alg[i], kids[i], claims, &jws) == 0);
        SSO_CHECK(jws && sso_jose_verify(jws, keys, s_every_alg, &header, &back, why, sizeof why)
                             == SSO_JOSE_OK);
        SSO_CHECK(json_equal(back, claims)
                  && !strcmp(json_string_value(json_object_get(header, "alg")) ?: "",
                             s_every_alg[i]));
        if (i >= 6) { /* r||s of the curve's size: 64, 96, 132 bytes */
            size_t sig_len = 0;
            const char *sig = jws ? strrchr(jws, '.') + 1 : "";
            uint8_t *raw = s_b64url_decode(sig, strlen(sig), &sig_len);
            SSO_CHECK(raw && sig_len == 2 * s_algs[i].curve->coord);
            free(raw);
        }
        /* Allowed alone, it verifies too; with every other alg allowed, not. */
        const char *const only[] = {s_every_alg[i], NULL};
        const char *const others[] = {s_every_alg[(i + 1) % 9], s_every_alg[(i + 2) % 9], NULL};
        SSO_CHECK(s_test_verify(jws, keys, only, SSO_JOSE_OK, "", false));
        SSO_CHECK(s_test_verify(jws, keys, others, SSO_JOSE_REFUSED, "not in the allowed", false));
        json_decref(back);
        json_decref(header);
        free(jws);
    }
    /* The header of the broker's ID tokens is exactly this, in this order, unpadded. */
    char *jws = NULL;
    SSO_CHECK(sso_jose_sign(rsa, "RS256", "rsa", claims, &jws) == 0 && jws
              && !strncmp(jws, "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYSIsInR5cCI6IkpXVCJ9.", 53)
              && !strpbrk(jws, "=+/"));
    free(jws);
    /* Signing refuses what it cannot do. */
    json_t *array = json_array();
    SSO_CHECK(sso_jose_sign(rsa, "ES256", "rsa", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(ec[0], "ES384", "p256", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(ec[0], "RS256", "p256", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "none", "rsa", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "HS256", "rsa", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, NULL, "rsa", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(NULL, "RS256", "rsa", claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "RS256", NULL, claims, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "RS256", "rsa", NULL, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "RS256", "rsa", array, &jws) == -1 && !jws);
    SSO_CHECK(sso_jose_sign(rsa, "RS256", "rsa", claims, NULL) == -1);
    json_decref(array);

    /* By hand: PSS with the hash's salt length verifies, with another salt length not; an
       ECDSA signature in OpenSSL's DER is no JWS signature. */
    const char *payload = "{\"sub\":\"by-hand\"}";
    char *pss = s_hand_signed(rsa, "SHA256", RSA_PSS_SALTLEN_DIGEST,
                              "{\"alg\":\"PS256\",\"kid\":\"rsa\"}", payload);
    SSO_CHECK(pss && s_test_verify(pss, keys, s_every_alg, SSO_JOSE_OK, "", verbose));
    free(pss);
    pss = s_hand_signed(rsa, "SHA384", 20, "{\"alg\":\"PS384\",\"kid\":\"rsa\"}", payload);
    SSO_CHECK(pss && s_test_verify(pss, keys, s_every_alg, SSO_JOSE_REFUSED,
                                   "signature: does not verify", verbose));
    free(pss);
    /* RS256 claimed, PSS used: padding is part of the alg. */
    pss = s_hand_signed(rsa, "SHA256", RSA_PSS_SALTLEN_DIGEST,
                        "{\"alg\":\"RS256\",\"kid\":\"rsa\"}", payload);
    SSO_CHECK(pss && s_test_verify(pss, keys, s_every_alg, SSO_JOSE_REFUSED,
                                   "signature: does not verify", verbose));
    free(pss);
    char *der = s_hand_signed(ec[0], "SHA256", 0, "{\"alg\":\"ES256\",\"kid\":\"p256\"}", payload);
    SSO_CHECK(der && s_test_verify(der, keys, s_every_alg, SSO_JOSE_REFUSED,
                                   "ES256 takes r||s of 64", verbose));
    free(der);
    json_decref(claims);
}

/* Forged and malformed tokens against a set with an RSA key ("rsa") and EC keys. */
static void s_forgery_test(EVP_PKEY *rsa, EVP_PKEY *p256, const sso_jose_keys_t *keys,
                           bool verbose)
{
    const char *payload = "{\"iss\":\"https://idp.test\",\"sub\":\"alice\"}";
    json_t *claims = json_loads(payload, 0, NULL);
    char *good = NULL;
    SSO_CHECK(sso_jose_sign(rsa, "RS256", "rsa", claims, &good) == 0 && good);
    if (!good) {
        json_decref(claims);
        return;
    }
    SSO_CHECK(s_test_verify(good, keys, s_every_alg, SSO_JOSE_OK, "", verbose));
    const char *const everything[] = {"none", "HS256", "HS384", "HS512", "RS256", NULL};

    /* alg none, in any case, even when listed. */
    const char *nones[] = {"{\"alg\":\"none\",\"kid\":\"rsa\"}", "{\"alg\":\"NONE\"}",
                           "{\"alg\":\"None\",\"typ\":\"JWT\"}"};
    for (size_t i = 0; i < 3; i++) {
        char *none = s_test_jws(nones[i], payload, NULL, 0);
        SSO_CHECK(s_test_verify(none, keys, everything, SSO_JOSE_REFUSED,
                                "alg: none is never accepted", verbose));
        free(none);
    }
    /* HS256 keyed with the RSA key's public bytes (its JWK, its PEM), even when listed. */
    json_t *jwk = sso_jose_public_jwk(rsa, "rsa", NULL);
    char *secret = jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    char *unsigned_jws = s_test_jws("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", payload, NULL, 0);
    uint8_t mac[32];
    unsigned int mac_len = 0;
    if (secret && unsigned_jws
        && HMAC(EVP_sha256(), secret, (int) strlen(secret), (uint8_t *) unsigned_jws,
                strlen(unsigned_jws) - 1, mac, &mac_len)) {
        char *hs = s_test_jws("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", payload, mac, mac_len);
        SSO_CHECK(s_test_verify(hs, keys, everything, SSO_JOSE_REFUSED,
                                "alg: HS256 (HMAC) is never accepted", verbose));
        free(hs);
    }
    else
        SSO_CHECK(!"HMAC");
    free(secret);
    free(unsigned_jws);
    /* Not in the allow-list; not supported at all; absent; not a string; crit. */
    const char *const rs384_only[] = {"RS384", NULL};
    const char *const none_allowed[] = {NULL};
    SSO_CHECK(s_test_verify(good, keys, rs384_only, SSO_JOSE_REFUSED,
                            "alg: RS256 is not in the allowed list", verbose));
    SSO_CHECK(s_test_verify(good, keys, none_allowed, SSO_JOSE_REFUSED, "not in the allowed",
                            verbose));
    SSO_CHECK(s_test_verify(good, keys, NULL, SSO_JOSE_REFUSED, "not in the allowed", verbose));
    /* Headers, each validly signed by the key and alg given, so that the refusal is the
       header's: alg and crit; kid unknown (distinctly: the caller refetches; its text made
       safe for a log), of the wrong type or curve, or for another alg; no kid. */
    const struct {
        EVP_PKEY *key;
        const alg_t *alg;
        const char *header;
        sso_jose_status_t status;
        const char *why;
    } headers[] = {
        {rsa, &s_algs[0], "{\"alg\":\"EdDSA\",\"kid\":\"rsa\"}", SSO_JOSE_REFUSED,
         "alg: EdDSA is not supported"},
        {rsa, &s_algs[0], "{\"alg\":\"rs256\",\"kid\":\"rsa\"}", SSO_JOSE_REFUSED,
         "alg: rs256 is not supported"},
        {rsa, &s_algs[0], "{\"kid\":\"rsa\"}", SSO_JOSE_REFUSED, "alg: absent"},
        {rsa, &s_algs[0], "{\"alg\":256,\"kid\":\"rsa\"}", SSO_JOSE_REFUSED, "alg: not a string"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"rsa\",\"crit\":[\"exp\"],\"exp\":1}",
         SSO_JOSE_REFUSED, "crit: critical"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":7}", SSO_JOSE_REFUSED, "kid: not a string"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"\"}", SSO_JOSE_REFUSED,
         "kid: not a string"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"alg\":\"RS256\",\"kid\":\"rsa\"}",
         SSO_JOSE_REFUSED, "header: not JSON: duplicate"},
        {rsa, &s_algs[0], "[\"RS256\"]", SSO_JOSE_REFUSED, "header: not a JSON object"},
        {rsa, &s_algs[0], "\"RS256\"", SSO_JOSE_REFUSED, "header: not a JSON object"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"rsa\"", SSO_JOSE_REFUSED,
         "header: not JSON"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"k2\"}", SSO_JOSE_UNKNOWN_KID,
         "kid: no key k2 in the JWKS"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"k\\n2\\u0000\"}", SSO_JOSE_REFUSED,
         "header: not JSON"},
        {rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"k\\n2\"}", SSO_JOSE_UNKNOWN_KID,
         "no key k?2 in"},
        {p256, &s_algs[6], "{\"alg\":\"ES256\",\"kid\":\"rsa\"}", SSO_JOSE_REFUSED,
         "kid: key rsa does not fit ES256, which needs EC P-256"},
        {p256, &s_algs[7], "{\"alg\":\"ES384\",\"kid\":\"p256\"}", SSO_JOSE_REFUSED,
         "kid: key p256 is for ES256, the token says ES384"},
        {p256, &s_algs[8], "{\"alg\":\"ES512\",\"kid\":\"p384\"}", SSO_JOSE_REFUSED,
         "kid: key p384 does not fit ES512, which needs EC P-521"},
        {rsa, &s_algs[1], "{\"alg\":\"RS384\",\"kid\":\"rs256-only\"}", SSO_JOSE_REFUSED,
         "kid: key rs256-only is for RS256, the token says RS384"},
        {p256, &s_algs[6], "{\"alg\":\"ES256\"}", SSO_JOSE_OK, ""}, /* the one P-256 key */
        {rsa, &s_algs[0], "{\"alg\":\"RS256\"}", SSO_JOSE_REFUSED,
         "kid: absent, and 3 keys of the JWKS fit RS256"},
    };
    char *jws = NULL;
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        jws = s_sign_parts(headers[i].key, headers[i].alg, headers[i].header, payload);
        SSO_CHECK(s_test_verify(jws, keys, s_every_alg, headers[i].status, headers[i].why,
                                verbose));
        free(jws);
    }
    /* A signature by another key. */
    EVP_PKEY *other = EVP_RSA_gen(2048);
    jws = NULL;
    SSO_CHECK(other && sso_jose_sign(other, "RS256", "rsa", claims, &jws) == 0);
    SSO_CHECK(s_test_verify(jws, keys, s_every_alg, SSO_JOSE_REFUSED,
                            "signature: does not verify", verbose));
    free(jws);
    EVP_PKEY_free(other);
    /* Tampered payload; tampered header (same alg and kid, one more member). */
    char *tampered = strdup(good);
    char *middle = strchr(tampered, '.') + 1;
    middle[3] = middle[3] == 'A' ? 'B' : 'A';
    SSO_CHECK(s_test_verify(tampered, keys, s_every_alg, SSO_JOSE_REFUSED,
                            "signature: does not verify", verbose));
    free(tampered);
    char *h = s_b64url_text("{\"alg\":\"RS256\",\"kid\":\"rsa\",\"typ\":\"at+jwt\"}");
    char swapped[SSO_JOSE_MAX_JWS];
    snprintf(swapped, sizeof swapped, "%s%s", h, strchr(good, '.'));
    SSO_CHECK(s_test_verify(swapped, keys, s_every_alg, SSO_JOSE_REFUSED,
                            "signature: does not verify", verbose));
    free(h);
    /* Bad base64url in each part: padding, '+', '/', a space. */
    const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    const struct {
        int part;
        const char *insert;
    } bad[] = {{0, "="}, {0, "/"}, {1, "+"}, {1, " "}, {2, "=="}, {2, "/"}, {2, "+A"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = bad[i].part == 0 ? dot1 : bad[i].part == 1 ? dot2 : good + strlen(good);
        char broken[SSO_JOSE_MAX_JWS];
        snprintf(broken, sizeof broken, "%.*s%s%s", (int) (at - good), good, bad[i].insert, at);
        const char *part = bad[i].part == 0 ? "header" : bad[i].part == 1 ? "payload"
                                                                          : "signature";
        char expected[64];
        snprintf(expected, sizeof expected, "%s: not base64url", part);
        SSO_CHECK(s_test_verify(broken, keys, s_every_alg, SSO_JOSE_REFUSED, expected, verbose));
    }
    /* The parts: 2, 4, 5 (a JWE), empty ones. */
    char parts[SSO_JOSE_MAX_JWS];
    snprintf(parts, sizeof parts, "%.*s", (int) (dot2 - good), good);
    SSO_CHECK(s_test_verify(parts, keys, s_every_alg, SSO_JOSE_REFUSED, "jws: 2 parts", verbose));
    snprintf(parts, sizeof parts, "%s.%s", good, dot2 + 1);
    SSO_CHECK(s_test_verify(parts, keys, s_every_alg, SSO_JOSE_REFUSED, "jws: 4 parts", verbose));
    SSO_CHECK(s_test_verify("a.b.c.d.e", keys, s_every_alg, SSO_JOSE_REFUSED, "jws: 5 parts",
                            verbose));
    snprintf(parts, sizeof parts, "%s", dot1);
    SSO_CHECK(s_test_verify(parts, keys, s_every_alg, SSO_JOSE_REFUSED, "header: empty",
                            verbose));
    snprintf(parts, sizeof parts, "%.*s.%s", (int) (dot1 - good), good, dot2);
    SSO_CHECK(s_test_verify(parts, keys, s_every_alg, SSO_JOSE_REFUSED, "payload: empty",
                            verbose));
    snprintf(parts, sizeof parts, "%.*s", (int) (dot2 + 1 - good), good);
    SSO_CHECK(s_test_verify(parts, keys, s_every_alg, SSO_JOSE_REFUSED, "signature: empty",
                            verbose));
    SSO_CHECK(s_test_verify("..", keys, s_every_alg, SSO_JOSE_REFUSED, "header: empty", verbose));
    SSO_CHECK(s_test_verify("", keys, s_every_alg, SSO_JOSE_REFUSED, "jws: empty", verbose));
    SSO_CHECK(s_test_verify(NULL, keys, s_every_alg, SSO_JOSE_REFUSED, "jws: absent", verbose));
    SSO_CHECK(s_test_verify(good, NULL, s_every_alg, SSO_JOSE_REFUSED, "jwks: absent", verbose));
    char why[SSO_JOSE_WHY_SIZE];
    SSO_CHECK(sso_jose_verify(good, keys, s_every_alg, NULL, NULL, why, sizeof why)
              == SSO_JOSE_REFUSED);
    json_t *back = NULL;
    SSO_CHECK(sso_jose_verify(good, keys, s_every_alg, NULL, &back, NULL, 0) == SSO_JOSE_OK
              && back);
    json_decref(back);
    /* Payloads that are not a JSON object, or repeat a name, validly signed. */
    const struct {
        const char *payload, *why;
    } payloads[] = {
        {"[1]", "payload: not a JSON object"},
        {"\"alice\"", "payload: not a JSON object"},
        {"{\"sub\":\"alice\",\"sub\":\"mallory\"}", "payload: not JSON: duplicate"},
        {"{\"sub\":\"alice\"", "payload: not JSON"},
        {"{\"sub\":\"a\\u0000b\"}", "payload: not JSON"},
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        jws = s_sign_parts(rsa, &s_algs[0], "{\"alg\":\"RS256\",\"kid\":\"rsa\"}",
                           payloads[i].payload);
        SSO_CHECK(s_test_verify(jws, keys, s_every_alg, SSO_JOSE_REFUSED, payloads[i].why,
                                verbose));
        free(jws);
    }
    /* Huge: one byte over the cap, whatever it holds. */
    char *huge = malloc(SSO_JOSE_MAX_JWS + 2);
    if (huge) {
        memset(huge, 'A', SSO_JOSE_MAX_JWS + 1);
        huge[10] = huge[20] = '.';
        huge[SSO_JOSE_MAX_JWS + 1] = '\0';
        SSO_CHECK(s_test_verify(huge, keys, s_every_alg, SSO_JOSE_REFUSED,
                                "jws: longer than 16384 bytes", verbose));
        free(huge);
    }
    free(good);
    json_decref(claims);
}

static void s_dates_test(void)
{
    char why[SSO_JOSE_WHY_SIZE] = "";
    const int64_t now = 1700000000;
    const struct {
        const char *claims;
        int rc;
        const char *why;
    } cases[] = {
        {"{\"exp\":1700000300,\"iat\":1700000000}", 0, ""},
        {"{\"exp\":1700000300.5,\"iat\":1699999999.9,\"nbf\":1699999000}", 0, ""},
        {"{\"exp\":1699999990,\"iat\":1699999000}", 0, ""}, /* within the skew */
        {"{\"exp\":1699999900,\"iat\":1699999000}", -1, "exp: expired at 1699999900, now 1700000000"},
        {"{\"exp\":1699999940,\"iat\":1699999000}", -1, "exp: expired"}, /* 60 s late exactly */
        {"{\"exp\":1700000300,\"iat\":1700000000,\"nbf\":1700000100}", -1,
         "nbf: not valid before 1700000100, now 1700000000"},
        {"{\"exp\":1700009000,\"iat\":1700003600}", -1, "iat: issued in the future at 1700003600"},
        {"{\"iat\":1700000000}", -1, "exp: absent"},
        {"{\"exp\":1700000300}", -1, "iat: absent"},
        {"{\"exp\":\"1700000300\",\"iat\":1700000000}", -1, "exp: not a NumericDate"},
        {"{\"exp\":1700000300,\"iat\":null}", -1, "iat: not a NumericDate"},
        {"{\"exp\":1e300,\"iat\":1700000000}", -1, "exp: not a NumericDate"},
        {"{\"exp\":9223372036854775807,\"iat\":-9223372036854775807}", 0, ""},
        {"[]", -1, "claims: not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *claims = json_loads(cases[i].claims, 0, NULL);
        int rc = sso_jose_check_dates(claims, now, 60, why, sizeof why);
        bool ok = claims && rc == cases[i].rc && strstr(why, cases[i].why);
        SSO_CHECK(ok);
        if (!ok)
            fprintf(stderr, "  dates %s: %d %s\n", cases[i].claims, rc, why);
        json_decref(claims);
    }
    SSO_CHECK(sso_jose_check_dates(NULL, now, 60, why, sizeof why) == -1
              && strstr(why, "claims: absent"));
    json_t *claims = json_pack("{s:I, s:I}", "exp", (json_int_t) now + 10, "iat",
                               (json_int_t) now);
    SSO_CHECK(sso_jose_check_dates(claims, now, -5, NULL, 0) == 0);
    SSO_CHECK(sso_jose_check_dates(claims, now + 10, 0, why, sizeof why) == -1);
    json_decref(claims);
}

/* A new signing key: RS256's JWK, public only, its kid the thumbprint. */
static void s_signing_key_new_test(void)
{
    char *pem = NULL, *jwk = NULL, *kid = NULL;
    SSO_CHECK(sso_jose_signing_key_new(&pem, &jwk, &kid) == 0);
    SSO_CHECK(pem && strstr(pem, "BEGIN PRIVATE KEY"));
    json_t *parsed = jwk ? json_loads(jwk, 0, NULL) : NULL;
    SSO_CHECK(parsed && !strcmp(json_string_value(json_object_get(parsed, "kty")), "RSA"));
    SSO_CHECK(parsed && !strcmp(json_string_value(json_object_get(parsed, "use")), "sig"));
    SSO_CHECK(parsed && !strcmp(json_string_value(json_object_get(parsed, "alg")), "RS256"));
    SSO_CHECK(parsed && !strcmp(json_string_value(json_object_get(parsed, "e")), "AQAB"));
    SSO_CHECK(parsed && json_object_get(parsed, "d") == NULL);
    EVP_PKEY *key = sso_jose_private_key_pem(pem);
    char *thumbprint = key ? sso_jose_thumbprint(key) : NULL;
    SSO_CHECK(kid && strlen(kid) == 43 && thumbprint && !strcmp(thumbprint, kid));
    free(thumbprint);
    EVP_PKEY_free(key);
    json_decref(parsed);
    free(pem);
    free(jwk);
    free(kid);
    SSO_CHECK(sso_jose_key_signs_before(20, 1, "a", 10, 5, "b"));
    SSO_CHECK(!sso_jose_key_signs_before(10, 5, "b", 20, 1, "a"));
    SSO_CHECK(sso_jose_key_signs_before(10, 5, "a", 10, 1, "b"));
    SSO_CHECK(sso_jose_key_signs_before(10, 5, "b", 10, 5, "a"));
    SSO_CHECK(!sso_jose_key_signs_before(10, 5, "a", 10, 5, "b"));
}

void sso_jose_test(bool verbose)
{
    s_signing_key_new_test();
    s_rfc_vectors_test(verbose);
    s_dates_test();
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    EVP_PKEY *ec[3] = {EVP_EC_gen("P-256"), EVP_EC_gen("P-384"), EVP_EC_gen("P-521")};
    if (!rsa || !ec[0] || !ec[1] || !ec[2]) {
        SSO_CHECK(!"key generation");
        goto done;
    }
    /* The set the tokens are checked against: the RSA key three times (by kid "rsa", and as
       "rsa2" and "rs256-only" with alg RS256), and the three EC keys. */
    json_t *set = json_pack("{s:[o, o, o, o, o, o]}", "keys", sso_jose_public_jwk(rsa, "rsa", NULL),
                            sso_jose_public_jwk(rsa, "rsa2", NULL),
                            sso_jose_public_jwk(rsa, "rs256-only", "RS256"),
                            sso_jose_public_jwk(ec[0], "p256", "ES256"),
                            sso_jose_public_jwk(ec[1], "p384", NULL),
                            sso_jose_public_jwk(ec[2], "p521", NULL));
    char *text = set ? json_dumps(set, JSON_COMPACT) : NULL;
    json_decref(set);
    sso_jose_keys_t *keys = NULL;
    char why[SSO_JOSE_WHY_SIZE] = "";
    SSO_CHECK(text && sso_jose_keys_parse(text, strlen(text), &keys, why, sizeof why) == 0
              && sso_jose_keys_count(keys) == 6);
    free(text);
    if (keys) {
        s_roundtrip_test(rsa, ec, keys, verbose);
        s_forgery_test(rsa, ec[0], keys, verbose);
    }
    s_jwks_test(rsa, ec[0], verbose);
    /* PEM in: a key written out reads back as itself; absent, empty and junk give none. */
    BIO *pem_out = BIO_new(BIO_s_mem());
    char *pem_data = NULL;
    long pem_len = pem_out && PEM_write_bio_PrivateKey(pem_out, rsa, NULL, NULL, 0, NULL, NULL)
                       ? BIO_get_mem_data(pem_out, &pem_data)
                       : 0;
    char *pem = pem_len > 0 ? strndup(pem_data, (size_t) pem_len) : NULL;
    EVP_PKEY *back = sso_jose_private_key_pem(pem);
    SSO_CHECK(back && EVP_PKEY_eq(back, rsa) == 1);
    EVP_PKEY_free(back);
    SSO_CHECK(!sso_jose_certificate_key_pem(pem)); /* a key is no certificate */
    free(pem);
    BIO_free(pem_out);
    const char *not_pem[] = {NULL, "", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                             "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"};
    for (size_t i = 0; i < sizeof not_pem / sizeof *not_pem; i++)
        SSO_CHECK(!sso_jose_private_key_pem(not_pem[i])
                  && !sso_jose_certificate_key_pem(not_pem[i]));
    sso_jose_keys_destroy(&keys);
done:
    EVP_PKEY_free(rsa);
    for (int i = 0; i < 3; i++)
        EVP_PKEY_free(ec[i]);
}
