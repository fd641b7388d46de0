/* saml_response_decrypt: EncryptedAssertion, with every algorithm checked before anything is
   decrypted, then decrypted with OpenSSL (xmlsec 1.2 lacks the xmlenc 1.1 RSA-OAEP). */
#include "saml_response_decrypt.h"
#include "saml_keycache.h"
#include "saml_response_decode.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ALG_RSA_1_5 SAML_NS_XENC "rsa-1_5"
#define S_ALG_OAEP_MGF1P SAML_NS_XENC "rsa-oaep-mgf1p"
#define S_ALG_OAEP SAML_NS_XENC11 "rsa-oaep"
#define S_ALG_3DES SAML_NS_XENC "tripledes-cbc"
#define S_GCM_IV 12
#define S_GCM_TAG 16
/* The longest RSA modulus an SP key may have, in bytes (16384 bits). */
#define S_RSA_MAX 2048

typedef struct {
    const char *uri, *name;
    const EVP_CIPHER *(*cipher)(void);
    size_t key_len;
} s_data_cipher_t;

/* The EncryptedData ciphers; the last (3DES, 64-bit blocks) only with the option allow_3des. */
static const s_data_cipher_t s_data_ciphers[] = {
    {SAML_NS_XENC11 "aes128-gcm", "AES-128-GCM", EVP_aes_128_gcm, 16},
    {SAML_NS_XENC11 "aes256-gcm", "AES-256-GCM", EVP_aes_256_gcm, 32},
    {SAML_NS_XENC "aes128-cbc", "AES-128-CBC", EVP_aes_128_cbc, 16},
    {SAML_NS_XENC "aes256-cbc", "AES-256-CBC", EVP_aes_256_cbc, 32},
    {S_ALG_3DES, "3DES-CBC", EVP_des_ede3_cbc, 24},
};
#define S_N_DATA_CIPHERS (sizeof s_data_ciphers / sizeof *s_data_ciphers)

typedef struct {
    const char *uri, *name;
    const EVP_MD *(*md)(void);
} s_digest_t;

/* RSA-OAEP's DigestMethod (absent: SHA-1) and xenc11:MGF (absent: MGF1 with SHA-1). */
static const s_digest_t s_digests[] = {
    {"http://www.w3.org/2000/09/xmldsig#sha1", "SHA-1", EVP_sha1},
    {"http://www.w3.org/2001/04/xmlenc#sha256", "SHA-256", EVP_sha256},
    {"http://www.w3.org/2001/04/xmldsig-more#sha384", "SHA-384", EVP_sha384},
    {"http://www.w3.org/2001/04/xmlenc#sha512", "SHA-512", EVP_sha512},
    {NULL, NULL, NULL}};
static const s_digest_t s_mgfs[] = {
    {SAML_NS_XENC11 "mgf1sha1", "MGF1-SHA1", EVP_sha1},
    {SAML_NS_XENC11 "mgf1sha224", "MGF1-SHA224", EVP_sha224},
    {SAML_NS_XENC11 "mgf1sha256", "MGF1-SHA256", EVP_sha256},
    {SAML_NS_XENC11 "mgf1sha384", "MGF1-SHA384", EVP_sha384},
    {SAML_NS_XENC11 "mgf1sha512", "MGF1-SHA512", EVP_sha512},
    {NULL, NULL, NULL}};

/* At most the current SP key pair and, during a rollover, the previous one. */
#define S_SP_KEYS_MAX 2

struct saml_response_decrypt_t {
    EVP_PKEY *sp_keys[S_SP_KEYS_MAX]; /* [0] the current key, [1] the previous (or NULL) */
    char fingerprints[S_SP_KEYS_MAX][96]; /* of each key's certificate; "" when not known */
    bool allow_3des;
};

/* How the EncryptedKey wraps the data key, as its EncryptionMethod says. */
typedef struct {
    const s_digest_t *digest, *mgf;
    uint8_t *label; /* OAEPparams; NULL: none */
    size_t label_len;
} s_oaep_t;

saml_response_decrypt_t *saml_response_decrypt_new(const char *sp_private_key_pem,
                                                   bool allow_3des)
{
    saml_response_decrypt_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->allow_3des = allow_3des;
    if (!(self->sp_keys[0] = saml_keycache_sp_pkey(sp_private_key_pem)))
        saml_response_decrypt_destroy(&self);
    return self;
}

int saml_response_decrypt_keys(saml_response_decrypt_t *self, const char *current_cert_pem,
                               const char *previous_key_pem, const char *previous_cert_pem)
{
    if (current_cert_pem && saml_cert_fingerprint_pem(current_cert_pem, self->fingerprints[0]))
        return -1;
    if (!previous_key_pem)
        return 0;
    EVP_PKEY_free(self->sp_keys[1]);
    self->fingerprints[1][0] = '\0';
    if (!(self->sp_keys[1] = saml_keycache_sp_pkey(previous_key_pem)))
        return -1;
    return previous_cert_pem ? saml_cert_fingerprint_pem(previous_cert_pem, self->fingerprints[1])
                             : 0;
}

void saml_response_decrypt_destroy(saml_response_decrypt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_response_decrypt_t *self = *self_p;
    for (size_t i = 0; i < S_SP_KEYS_MAX; i++)
        EVP_PKEY_free(self->sp_keys[i]);
    free(self);
    *self_p = NULL;
}

static int s_subtree_depth(xmlNodePtr node, int depth)
{
    int deepest = depth;
    for (xmlNodePtr c = node->children; c && deepest <= SSO_XML_MAX_DEPTH; c = c->next)
        if (c->type == XML_ELEMENT_NODE) {
            int d = s_subtree_depth(c, depth + 1);
            deepest = d > deepest ? d : deepest;
        }
    return deepest;
}

/* -------------------------------------------------------------------------- checks */

static saml_error_t s_check_data_cipher(const saml_response_decrypt_t *self,
                                        saml_result_t *result, xmlNodePtr enc_data,
                                        const s_data_cipher_t **out)
{
    xmlNodePtr method = sso_xml_child(enc_data, SAML_NS_XENC, "EncryptionMethod");
    char *alg = sso_xml_attr(method, "Algorithm");
    *out = NULL;
    for (size_t i = 0; alg && i < S_N_DATA_CIPHERS; i++)
        if (!strcmp(alg, s_data_ciphers[i].uri))
            *out = &s_data_ciphers[i];
    saml_error_t rc = SAML_OK;
    if (*out && !strcmp((*out)->uri, S_ALG_3DES) && !self->allow_3des)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: data cipher %s is refused "
                       "unless the connection's option allow_3des is true (3DES has 64-bit "
                       "blocks; set it only for an IdP that cannot use AES)", alg);
    else if (!*out)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: data cipher %.200s is not "
                       "allowed (only AES-128/256-GCM, AES-128/256-CBC, and 3DES-CBC with the "
                       "option allow_3des)", alg ? alg : "(none)");
    free(alg);
    return rc;
}

/* The entry of table whose uri is node's Algorithm, or a refusal naming it. */
static saml_error_t s_lookup(saml_result_t *result, xmlNodePtr node, const s_digest_t *table,
                             const char *allowed, const s_digest_t **out)
{
    char *alg = sso_xml_attr(node, "Algorithm");
    for (*out = NULL; alg && table->uri && !*out; table++)
        if (!strcmp(alg, table->uri))
            *out = table;
    saml_error_t rc = *out ? SAML_OK
                           : saml_fail(result, SAML_ERR_DECRYPTION, "decryption: %s %.200s of the "
                                       "EncryptedKey is not allowed (only %s)",
                                       (const char *) node->name, alg ? alg : "(none)", allowed);
    free(alg);
    return rc;
}

/* The key transport of enc_key: RSA-OAEP (xmlenc#rsa-oaep-mgf1p: MGF1 with SHA-1; xmlenc11
   #rsa-oaep: any MGF below), its DigestMethod, MGF and OAEPparams into oaep (label: caller
   frees). */
static saml_error_t s_check_key_transport(saml_result_t *result, xmlNodePtr enc_key,
                                          s_oaep_t *oaep)
{
    xmlNodePtr method = sso_xml_child(enc_key, SAML_NS_XENC, "EncryptionMethod");
    char *alg = sso_xml_attr(method, "Algorithm");
    bool v11 = alg && !strcmp(alg, S_ALG_OAEP);
    saml_error_t rc = SAML_OK;
    if (alg && !strcmp(alg, S_ALG_RSA_1_5))
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: key transport %s is refused "
                       "(RSA PKCS#1 v1.5 allows padding-oracle attacks); use RSA-OAEP", alg);
    else if (!v11 && !(alg && !strcmp(alg, S_ALG_OAEP_MGF1P)))
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: key transport %.200s is not "
                       "allowed (only RSA-OAEP: " S_ALG_OAEP_MGF1P " and " S_ALG_OAEP ")",
                       alg ? alg : "(none)");
    free(alg);
    *oaep = (s_oaep_t) {.digest = &s_digests[0], .mgf = &s_mgfs[0]};
    bool seen_digest = false, seen_mgf = false, seen_label = false;
    for (xmlNodePtr c = method ? method->children : NULL; rc == SAML_OK && c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (sso_xml_is(c, SAML_NS_DSIG, "DigestMethod") && !seen_digest) {
            seen_digest = true;
            rc = s_lookup(result, c, s_digests, "SHA-1, SHA-256, SHA-384, SHA-512",
                          &oaep->digest);
        }
        else if (sso_xml_is(c, SAML_NS_XENC11, "MGF") && !seen_mgf) {
            seen_mgf = true;
            rc = s_lookup(result, c, s_mgfs, "MGF1 with SHA-1, SHA-224, SHA-256, SHA-384, "
                          "SHA-512", &oaep->mgf);
            if (rc == SAML_OK && !v11 && oaep->mgf != &s_mgfs[0])
                rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: key transport "
                               S_ALG_OAEP_MGF1P " always uses MGF1 with SHA-1, but its MGF "
                               "says %s", oaep->mgf->uri);
        }
        else if (sso_xml_is(c, SAML_NS_XENC, "OAEPparams") && !seen_label) {
            seen_label = true;
            xmlChar *text = xmlNodeGetContent(c);
            oaep->label = text ? sso_base64_decode((const char *) text, &oaep->label_len, true)
                               : NULL;
            xmlFree(text);
            if (!oaep->label)
                rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the OAEPparams of "
                               "the EncryptedKey are not base64");
        }
        else
            rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: unexpected %.64s in the "
                           "EncryptionMethod of the EncryptedKey (one DigestMethod, MGF and "
                           "OAEPparams at most)", (const char *) c->name);
    }
    return rc;
}

/* The one EncryptedKey: in the EncryptedData's KeyInfo (nothing else may carry the key
   there) or beside the EncryptedData, as some IdPs put it. */
static saml_error_t s_find_key(saml_result_t *result, xmlNodePtr enc_assertion,
                               xmlNodePtr enc_data, xmlNodePtr *out)
{
    xmlNodePtr info = sso_xml_child(enc_data, SAML_NS_DSIG, "KeyInfo");
    size_t keys = 0;
    *out = NULL;
    for (xmlNodePtr k = info ? info->children : NULL; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!sso_xml_is(k, SAML_NS_XENC, "EncryptedKey"))
            return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: only an EncryptedKey "
                             "may carry the key, found %.64s", (const char *) k->name);
        keys++;
        *out = k;
    }
    for (xmlNodePtr k = enc_assertion->children; k; k = k->next)
        if (sso_xml_is(k, SAML_NS_XENC, "EncryptedKey")) {
            keys++;
            *out = k;
        }
    if (keys != 1)
        return saml_fail(result, SAML_ERR_DECRYPTION,
                         "decryption: expected one EncryptedKey, found %zu", keys);
    return SAML_OK;
}

/* holder's (what: "EncryptedKey", "EncryptedData") one CipherData/CipherValue, decoded. */
static saml_error_t s_cipher_value(saml_result_t *result, xmlNodePtr holder, const char *what,
                                   uint8_t **out, size_t *out_len)
{
    *out = NULL;
    xmlNodePtr data = sso_xml_child(holder, SAML_NS_XENC, "CipherData");
    if (sso_xml_count_children(holder, SAML_NS_XENC, "CipherData") != 1
        || sso_xml_count_children(data, SAML_NS_XENC, "CipherValue") != 1)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the %s must have one "
                         "CipherData with one CipherValue", what);
    xmlChar *text = xmlNodeGetContent(sso_xml_child(data, SAML_NS_XENC, "CipherValue"));
    if (!text)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
    *out = sso_base64_decode((const char *) text, out_len, true);
    xmlFree(text);
    if (!*out)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the CipherValue of the %s "
                         "is not base64", what);
    if (*out_len == 0) {
        free(*out);
        *out = NULL;
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the CipherValue of the %s "
                         "is empty", what);
    }
    return SAML_OK;
}

/* -------------------------------------------------------------------------- decryption */

#define S_FAILED "decryption: the EncryptedAssertion could not be decrypted: "

/* The data key sp_key unwraps from wrapped with RSA-OAEP as oaep says, into key (its size:
   at least EVP_PKEY_get_size of sp_key). */
static saml_error_t s_unwrap(EVP_PKEY *sp_key, saml_result_t *result, const s_oaep_t *oaep,
                             const uint8_t *wrapped, size_t wrapped_len, uint8_t *key,
                             size_t *key_len)
{
    if (EVP_PKEY_get_base_id(sp_key) != EVP_PKEY_RSA)
        return saml_fail(result, SAML_ERR_CONFIG, "config: the SP key is not an RSA key, so it "
                         "cannot unwrap an RSA-OAEP EncryptedKey");
    if ((size_t) EVP_PKEY_get_size(sp_key) > *key_len)
        return saml_fail(result, SAML_ERR_CONFIG, "config: the SP key is longer than %d bits",
                         S_RSA_MAX * 8);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sp_key, NULL);
    /* set0 takes the label over: a copy OpenSSL owns. */
    uint8_t *label = oaep->label_len ? OPENSSL_memdup(oaep->label, oaep->label_len) : NULL;
    bool ready = ctx && (label || !oaep->label_len) && EVP_PKEY_decrypt_init(ctx) == 1
                 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1
                 && EVP_PKEY_CTX_set_rsa_oaep_md(ctx, oaep->digest->md()) == 1
                 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, oaep->mgf->md()) == 1;
    if (ready && label) {
        ready = EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int) oaep->label_len) == 1;
        if (ready)
            label = NULL;
    }
    bool unwrapped = ready && EVP_PKEY_decrypt(ctx, key, key_len, wrapped, wrapped_len) == 1;
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ready)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: could not set up RSA-OAEP");
    if (!unwrapped)
        return SAML_ERR_DECRYPTION; /* the caller says why: it may try another key */
    return SAML_OK;
}

/* The SHA-256 fingerprint of the certificate in enc_key's ds:KeyInfo/ds:X509Data (the first
   X509Certificate) into out; 0, or -1 when there is none or it is not base64 (then every SP
   key is tried). */
static int s_key_info_fingerprint(xmlNodePtr enc_key, char out[96])
{
    xmlNodePtr data = sso_xml_child(sso_xml_child(enc_key, SAML_NS_DSIG, "KeyInfo"),
                                     SAML_NS_DSIG, "X509Data");
    xmlChar *text = xmlNodeGetContent(sso_xml_child(data, SAML_NS_DSIG, "X509Certificate"));
    size_t len = 0;
    uint8_t *der = text ? sso_base64_decode((const char *) text, &len, true) : NULL;
    xmlFree(text);
    int rc = -1;
    if (der && len) {
        sso_xmldsig_fingerprint_der(der, len, out);
        rc = 0;
    }
    free(der);
    return rc;
}

/* The SP keys to try, in order, into order (how many into *n): the one whose certificate
   the EncryptedKey names in its X509Data, else the current then the previous; never more
   than S_SP_KEYS_MAX. A named certificate that is none of the SP's is refused: the IdP
   encrypts to a certificate retired since (or never the SP's). */
static saml_error_t s_key_order(const saml_response_decrypt_t *self, saml_result_t *result,
                                xmlNodePtr enc_key, size_t order[S_SP_KEYS_MAX], size_t *n)
{
    char named[96];
    bool all_known = true;
    *n = 0;
    for (size_t i = 0; i < S_SP_KEYS_MAX && self->sp_keys[i]; i++) {
        order[(*n)++] = i;
        all_known = all_known && self->fingerprints[i][0];
    }
    if (s_key_info_fingerprint(enc_key, named) != 0)
        return SAML_OK;
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(self->fingerprints[i], named)) {
            order[0] = i;
            *n = 1;
            return SAML_OK;
        }
    if (!all_known)
        return SAML_OK; /* a key whose certificate is not known may still be the one */
    return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the EncryptedKey is encrypted to "
                     "a retired or unknown SP certificate (its X509Data names SHA-256 %s); the "
                     "connection's SP certificates are %s%s%s: the IdP must encrypt to the one "
                     "in the SP metadata", named, self->fingerprints[0],
                     *n > 1 ? " and, until it is retired, " : "",
                     *n > 1 ? self->fingerprints[1] : "");
}

/* The data key from the first SP key in order that unwraps it, or a refusal. */
static saml_error_t s_unwrap_any(const saml_response_decrypt_t *self, saml_result_t *result,
                                 const size_t *order, size_t n, const s_oaep_t *oaep,
                                 const uint8_t *wrapped, size_t wrapped_len, uint8_t *key,
                                 size_t *key_len)
{
    size_t size = *key_len;
    for (size_t i = 0; i < n; i++) {
        *key_len = size;
        saml_error_t rc = s_unwrap(self->sp_keys[order[i]], result, oaep, wrapped, wrapped_len,
                                   key, key_len);
        if (rc != SAML_ERR_DECRYPTION)
            return rc;
    }
    return saml_fail(result, SAML_ERR_DECRYPTION, S_FAILED "the EncryptedKey does not decrypt "
                     "with %s (RSA-OAEP with %s and %s%s): it was encrypted to a retired or "
                     "unknown SP certificate, or with other parameters",
                     n > 1 ? "the current or the previous SP key" : "the SP key",
                     oaep->digest->name, oaep->mgf->name, oaep->label_len ? " and OAEPparams" : "");
}

/* in (IV | cipher text | GCM tag) decrypted with key into *out (malloc'd, NUL-terminated).
   CBC padding is XML Encryption's: the last byte counts the padding, the others are
   arbitrary, so OpenSSL's PKCS#7 check is off and the count is checked here. */
static saml_error_t s_decrypt_data(saml_result_t *result, const s_data_cipher_t *dc,
                                   const uint8_t *key, const uint8_t *in, size_t in_len,
                                   uint8_t **out, size_t *out_len)
{
    const EVP_CIPHER *cipher = dc->cipher();
    bool gcm = EVP_CIPHER_get_mode(cipher) == EVP_CIPH_GCM_MODE;
    size_t iv = gcm ? S_GCM_IV : (size_t) EVP_CIPHER_get_iv_length(cipher);
    size_t block = (size_t) EVP_CIPHER_get_block_size(cipher), tag = gcm ? S_GCM_TAG : 0;
    *out = NULL;
    if (in_len < iv + tag + (gcm ? 0 : block) || (!gcm && (in_len - iv) % block))
        return saml_fail(result, SAML_ERR_DECRYPTION, S_FAILED "the cipher text of the "
                         "EncryptedData is %zu bytes, too short or not whole %s blocks after "
                         "the IV", in_len, dc->name);
    size_t body = in_len - iv - tag;
    uint8_t *plain = malloc(body + block + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, last = 0;
    bool ready = plain && ctx && EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) == 1
                 && (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, S_GCM_IV, NULL) == 1)
                 && EVP_DecryptInit_ex(ctx, NULL, NULL, key, in) == 1
                 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
                 && EVP_DecryptUpdate(ctx, plain, &len, in + iv, (int) body) == 1
                 && (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, S_GCM_TAG,
                                                 (void *) (in + in_len - S_GCM_TAG)) == 1);
    bool opened = ready && EVP_DecryptFinal_ex(ctx, plain + len, &last) == 1;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    saml_error_t rc = SAML_OK;
    size_t size = (size_t) len + (size_t) last;
    size_t padding = opened && !gcm && size ? plain[size - 1] : 0;
    if (!ready)
        rc = saml_fail(result, SAML_ERR_INTERNAL, "internal: could not set up %s", dc->name);
    else if (!opened)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, S_FAILED "the %s authentication tag does not "
                       "verify (the cipher text was changed, or the key is not the one it was "
                       "encrypted with)", dc->name);
    else if (!gcm && (padding == 0 || padding > block || padding > size))
        rc = saml_fail(result, SAML_ERR_DECRYPTION, S_FAILED "the %s padding is invalid (the "
                       "cipher text was changed, or the key is not the one it was encrypted "
                       "with)", dc->name);
    if (rc) {
        free(plain);
        return rc;
    }
    size -= padding;
    plain[size] = '\0';
    *out = plain;
    *out_len = size;
    return SAML_OK;
}

/* The plaintext (one saml:Assertion) parsed in the Response's context (namespaces) with the
   document's rules (no DTD, no entities, bounded depth), in place of enc_assertion. */
static saml_error_t s_replace(saml_result_t *result, xmlNodePtr root, xmlNodePtr enc_assertion,
                              const char *data, size_t len)
{
    saml_error_t rc = SAML_OK;
    xmlNodePtr list = NULL;
    if (len > SAML_RESPONSE_MAX_BYTES || memchr(data, '\0', len))
        rc = saml_fail(result, SAML_ERR_DECRYPTION,
                       "decryption: the decrypted assertion is too large "
                       "or not text");
    else if (xmlParseInNodeContext(root, data, (int) len, XML_PARSE_NONET | XML_PARSE_NOCDATA
                                   | XML_PARSE_NOERROR | XML_PARSE_NOWARNING, &list) != XML_ERR_OK)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the decrypted content is not "
                    "well-formed XML");
    xmlNodePtr assertion = NULL;
    for (xmlNodePtr n = list; rc == SAML_OK && n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !assertion
            && sso_xml_is(n, SAML_NS_ASSERTION, "Assertion"))
            assertion = n;
        else if (!(n->type == XML_TEXT_NODE && xmlIsBlankNode(n)) && n->type != XML_COMMENT_NODE)
            rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the EncryptedAssertion must "
                        "contain exactly one saml:Assertion");
    }
    if (rc == SAML_OK && !assertion)
        rc = saml_fail(result, SAML_ERR_DECRYPTION,
                       "decryption: the EncryptedAssertion must contain "
                       "exactly one saml:Assertion");
    if (rc == SAML_OK && s_subtree_depth(assertion, 2) > SSO_XML_MAX_DEPTH)
        rc = saml_fail(result, SAML_ERR_XML, "xml: the decrypted assertion is nested too deeply");
    if (rc == SAML_OK) {
        if (list == assertion)
            list = assertion->next;
        xmlUnlinkNode(assertion);
        xmlReplaceNode(enc_assertion, assertion);
        xmlFreeNode(enc_assertion);
    }
    xmlFreeNodeList(list);
    return rc;
}

saml_error_t saml_response_decrypt_assertion(saml_response_decrypt_t *self, saml_result_t *result,
                                             xmlNodePtr root, xmlNodePtr enc_assertion)
{
    saml_error_t rc = saml_response_decode_refuse_fetches(result, enc_assertion);
    if (rc)
        return rc;
    if (!self)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the Response carries an "
                      "EncryptedAssertion but no SP private key is configured");
    if (sso_xml_count_children(enc_assertion, SAML_NS_XENC, "EncryptedData") != 1)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: expected one EncryptedData in "
                      "the EncryptedAssertion");
    xmlNodePtr enc_data = sso_xml_child(enc_assertion, SAML_NS_XENC, "EncryptedData");
    xmlNodePtr enc_key = NULL;
    const s_data_cipher_t *dc = NULL;
    s_oaep_t oaep = {0};
    uint8_t *wrapped = NULL, *cipher_text = NULL, *plain = NULL;
    size_t wrapped_len = 0, cipher_len = 0, plain_len = 0, key_len = S_RSA_MAX;
    size_t order[S_SP_KEYS_MAX], n_keys = 0;
    uint8_t key[S_RSA_MAX];
    /* Every algorithm and both cipher values before anything is decrypted. */
    rc = s_check_data_cipher(self, result, enc_data, &dc);
    if (rc == SAML_OK)
        rc = s_find_key(result, enc_assertion, enc_data, &enc_key);
    if (rc == SAML_OK)
        rc = s_check_key_transport(result, enc_key, &oaep);
    if (rc == SAML_OK)
        rc = s_cipher_value(result, enc_key, "EncryptedKey", &wrapped, &wrapped_len);
    if (rc == SAML_OK)
        rc = s_cipher_value(result, enc_data, "EncryptedData", &cipher_text, &cipher_len);
    if (rc == SAML_OK)
        rc = s_key_order(self, result, enc_key, order, &n_keys);
    if (rc == SAML_OK)
        rc = s_unwrap_any(self, result, order, n_keys, &oaep, wrapped, wrapped_len, key,
                          &key_len);
    if (rc == SAML_OK && key_len != dc->key_len)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, S_FAILED "the EncryptedKey holds a %zu-byte "
                       "key, and %s needs %zu bytes", key_len, dc->name, dc->key_len);
    if (rc == SAML_OK)
        rc = s_decrypt_data(result, dc, key, cipher_text, cipher_len, &plain, &plain_len);
    OPENSSL_cleanse(key, sizeof key);
    if (rc == SAML_OK)
        rc = s_replace(result, root, enc_assertion, (const char *) plain, plain_len);
    if (plain)
        OPENSSL_cleanse(plain, plain_len);
    free(plain);
    free(oaep.label);
    free(wrapped);
    free(cipher_text);
    return rc;
}

/* -------------------------------------------------------------------------- self-test */

/* The EncryptedAssertion of a Response with the given EncryptedData content, decrypted. */
static saml_error_t s_decrypt_xml(saml_response_decrypt_t *self, const char *enc_data,
                                  saml_result_t *result)
{
    char xml[2048];
    snprintf(xml, sizeof xml, "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTOCOL "\" "
             "xmlns:saml=\"" SAML_NS_ASSERTION "\" xmlns:xenc=\"" SAML_NS_XENC "\" "
             "xmlns:ds=\"" SAML_NS_DSIG "\"><saml:EncryptedAssertion><xenc:EncryptedData>%s"
             "</xenc:EncryptedData></saml:EncryptedAssertion></samlp:Response>", enc_data);
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr encrypted = sso_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
    saml_error_t rc = encrypted ? saml_response_decrypt_assertion(self, result, root, encrypted)
                                : saml_fail(result, SAML_ERR_INTERNAL, "internal: test XML");
    xmlFreeDoc(doc);
    return rc;
}

static bool s_refused(saml_response_decrypt_t *self, const char *enc_data, const char *text)
{
    saml_result_t result = {0};
    saml_error_t rc = s_decrypt_xml(self, enc_data, &result);
    bool ok = rc == SAML_ERR_DECRYPTION && strstr(result.reason, text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected decryption/%s, got %s: %s\n", text, saml_error_name(rc),
                result.reason);
    return ok;
}

/* What a test does to the encrypted Response before it is decrypted. */
typedef enum {
    S_AS_MADE,
    S_FLIP_LAST,      /* the last byte of the EncryptedData's cipher text (GCM: the tag) */
    S_FLIP_PAD_COUNT, /* CBC: the byte that XORs into the padding count, ^0x80 */
    S_EMPTY_KEY,      /* the EncryptedKey's CipherValue "" */
    S_EMPTY_DATA,     /* the EncryptedData's CipherValue "" */
    S_JUNK_DATA,      /* the EncryptedData's CipherValue not base64 */
    S_NO_KEY,         /* the EncryptedKey removed */
    S_SECOND_KEY      /* a copy of the EncryptedKey beside the EncryptedData */
} s_tamper_t;

static xmlNodePtr s_value_of(xmlNodePtr holder)
{
    return sso_xml_child(sso_xml_child(holder, SAML_NS_XENC, "CipherData"), SAML_NS_XENC,
                          "CipherValue");
}

static void s_tamper(xmlNodePtr enc_assertion, s_tamper_t how, size_t block)
{
    xmlNodePtr data = sso_xml_child(enc_assertion, SAML_NS_XENC, "EncryptedData");
    xmlNodePtr info = sso_xml_child(data, SAML_NS_DSIG, "KeyInfo");
    xmlNodePtr key = sso_xml_child(info, SAML_NS_XENC, "EncryptedKey");
    if (how == S_EMPTY_KEY)
        xmlNodeSetContent(s_value_of(key), BAD_CAST "");
    else if (how == S_EMPTY_DATA)
        xmlNodeSetContent(s_value_of(data), BAD_CAST "\n  ");
    else if (how == S_JUNK_DATA)
        xmlNodeSetContent(s_value_of(data), BAD_CAST "not*base64");
    else if (how == S_NO_KEY) {
        xmlUnlinkNode(key);
        xmlFreeNode(key);
    }
    else if (how == S_SECOND_KEY)
        xmlAddChild(enc_assertion, xmlCopyNode(key, 1));
    else if (how == S_FLIP_LAST || how == S_FLIP_PAD_COUNT) {
        xmlChar *text = xmlNodeGetContent(s_value_of(data));
        size_t len = 0;
        uint8_t *raw = text ? sso_base64_decode((const char *) text, &len, true) : NULL;
        if (raw && len > block)
            raw[how == S_FLIP_LAST ? len - 1 : len - block - 1] ^= 0x80;
        char *b64 = raw ? sso_base64_encode(raw, len) : NULL;
        if (b64)
            xmlNodeSetContent(s_value_of(data), BAD_CAST b64);
        free(b64);
        free(raw);
        xmlFree(text);
    }
}

/* A Response whose assertion is encrypted as e says, tampered with, decrypted by self: the
   decryption's answer, and on success the assertion must be the one that was encrypted. */
static saml_error_t s_run(saml_response_decrypt_t *self, const saml_test_encryption_t *e,
                          s_tamper_t how, saml_result_t *result)
{
    saml_test_case_t c = {.not_on_or_after = 300, .encrypt = e};
    char *b64 = saml_test_response(&c, NULL, NULL);
    xmlDocPtr doc = saml_test_response_doc(b64);
    free(b64);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr encrypted = sso_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
    if (!encrypted) {
        xmlFreeDoc(doc);
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: the testkit made no "
                         "EncryptedAssertion");
    }
    const EVP_CIPHER *cipher = e->cipher ? e->cipher : EVP_aes_256_gcm();
    s_tamper(encrypted, how, (size_t) EVP_CIPHER_get_block_size(cipher));
    saml_error_t rc = saml_response_decrypt_assertion(self, result, root, encrypted);
    xmlNodePtr assertion = sso_xml_child(root, SAML_NS_ASSERTION, "Assertion");
    char *id = sso_xml_attr(assertion, "ID");
    xmlChar *name_id = assertion ? xmlNodeGetContent(sso_xml_child(
        sso_xml_child(assertion, SAML_NS_ASSERTION, "Subject"), SAML_NS_ASSERTION, "NameID"))
                                 : NULL;
    if (rc == SAML_OK && !(id && !strcmp(id, "_assert1") && name_id
                           && !strcmp((const char *) name_id, "ann@example.com")))
        rc = saml_fail(result, SAML_ERR_INTERNAL, "internal: decrypted, but not to the "
                       "assertion that was encrypted");
    free(id);
    xmlFree(name_id);
    xmlFreeDoc(doc);
    return rc;
}

static bool s_decrypts(saml_response_decrypt_t *self, const saml_test_encryption_t *e,
                       const char *what)
{
    saml_result_t result = {0};
    saml_error_t rc = s_run(self, e, S_AS_MADE, &result);
    if (rc != SAML_OK)
        fprintf(stderr, "  %s: %s\n", what, result.reason);
    return rc == SAML_OK;
}

static bool s_refuses(saml_response_decrypt_t *self, const saml_test_encryption_t *e,
                      s_tamper_t how, const char *text)
{
    saml_result_t result = {0};
    saml_error_t rc = s_run(self, e, how, &result);
    bool ok = rc == SAML_ERR_DECRYPTION && strstr(result.reason, text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected decryption/%s, got %s: %s\n", text, saml_error_name(rc),
                result.reason);
    return ok;
}

#define S_AES128_GCM                                                                               \
    "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes128-gcm\"/>"
#define S_KEY(alg) "<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"" alg "\"/>" \
                   "<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>" \
                   "</xenc:EncryptedKey>"
#define S_CIPHER "<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>"

/* Every DigestMethod x MGF of xmlenc11#rsa-oaep (and each absent), then rsa-oaep-mgf1p. */
static void s_oaep_test(saml_response_decrypt_t *self, const char *cert)
{
    char what[200];
    for (int d = -1; s_digests[d < 0 ? 0 : d].uri; d++)
        for (int m = -1; s_mgfs[m < 0 ? 0 : m].uri; m++) {
            saml_test_encryption_t e = {
                .sp_cert = cert,
                .digest_uri = d < 0 ? NULL : s_digests[d].uri,
                .digest = d < 0 ? NULL : s_digests[d].md(),
                .mgf_uri = m < 0 ? NULL : s_mgfs[m].uri,
                .mgf1 = m < 0 ? NULL : s_mgfs[m].md()};
            snprintf(what, sizeof what, "rsa-oaep %s %s", d < 0 ? "(no digest)" : s_digests[d].name,
                     m < 0 ? "(no MGF)" : s_mgfs[m].name);
            SSO_CHECK(s_decrypts(self, &e, what));
        }
    /* OAEPparams: the label must be the one the key was wrapped with. */
    saml_test_encryption_t e = {.sp_cert = cert, .digest_uri = s_digests[1].uri,
                                .digest = EVP_sha256(), .mgf_uri = s_mgfs[2].uri,
                                .mgf1 = EVP_sha256(), .label = "saml-label"};
    SSO_CHECK(s_decrypts(self, &e, "rsa-oaep with OAEPparams"));
    /* The older identifier: MGF1 with SHA-1, its DigestMethod SHA-1 when absent. */
    e = (saml_test_encryption_t) {.sp_cert = cert, .transport = S_ALG_OAEP_MGF1P};
    SSO_CHECK(s_decrypts(self, &e, "rsa-oaep-mgf1p"));
    e.digest_uri = s_digests[1].uri;
    e.digest = EVP_sha256();
    SSO_CHECK(s_decrypts(self, &e, "rsa-oaep-mgf1p SHA-256"));
    e.mgf_uri = s_mgfs[0].uri;
    SSO_CHECK(s_decrypts(self, &e, "rsa-oaep-mgf1p SHA-256 with its MGF1-SHA1 said"));
    e.mgf_uri = s_mgfs[2].uri;
    e.mgf1 = EVP_sha256();
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "key transport " S_ALG_OAEP_MGF1P " always uses "
                        "MGF1 with SHA-1, but its MGF says " SAML_NS_XENC11 "mgf1sha256"));
}

/* Every data cipher, the key in KeyInfo and beside the EncryptedData; 3DES only when allowed. */
static void s_cipher_test(saml_response_decrypt_t *self, saml_response_decrypt_t *with_3des,
                          const char *cert)
{
    for (size_t i = 0; i < S_N_DATA_CIPHERS; i++)
        for (int beside = 0; beside < 2; beside++) {
            const s_data_cipher_t *dc = &s_data_ciphers[i];
            saml_test_encryption_t e = {.sp_cert = cert, .digest_uri = s_digests[1].uri,
                                        .digest = EVP_sha256(), .mgf_uri = s_mgfs[2].uri,
                                        .mgf1 = EVP_sha256(), .cipher_uri = dc->uri,
                                        .cipher = dc->cipher(), .key_beside_data = beside};
            bool triple_des = !strcmp(dc->uri, S_ALG_3DES);
            SSO_CHECK(s_decrypts(with_3des, &e, dc->name));
            if (triple_des)
                SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "data cipher " S_ALG_3DES " is refused "
                                    "unless the connection's option allow_3des is true"));
            else
                SSO_CHECK(s_decrypts(self, &e, dc->name));
            /* Tampered cipher text: the tag (GCM), the padding count (CBC). */
            char why[120];
            bool gcm = EVP_CIPHER_get_mode(dc->cipher()) == EVP_CIPH_GCM_MODE;
            snprintf(why, sizeof why, "the %s %s", dc->name,
                     gcm ? "authentication tag does not verify" : "padding is invalid");
            SSO_CHECK(s_refuses(with_3des, &e, gcm ? S_FLIP_LAST : S_FLIP_PAD_COUNT, why));
        }
}

/* A response encrypted to cert is refused by self: named in the EncryptedKey, as retired or
   unknown; not named, as not decrypting with keys ("the SP key", or both). */
static bool s_refuses_cert(saml_response_decrypt_t *self, const char *cert, const char *keys)
{
    char fp[96] = "", named[400], unnamed[400];
    saml_test_encryption_t e = {.sp_cert = cert, .key_info_cert = cert};
    snprintf(unnamed, sizeof unnamed, "does not decrypt with %s (RSA-OAEP with SHA-1 and "
             "MGF1-SHA1): it was encrypted to a retired or unknown SP certificate", keys);
    bool ok = saml_cert_fingerprint_pem(cert, fp) == 0;
    snprintf(named, sizeof named, "the EncryptedKey is encrypted to a retired or unknown SP "
             "certificate (its X509Data names SHA-256 %s)", fp);
    ok = s_refuses(self, &e, S_AS_MADE, named) && ok;
    e.key_info_cert = NULL;
    return s_refuses(self, &e, S_AS_MADE, unnamed) && ok;
}

/* A key rollover: the current and the previous key both decrypt, found by the certificate
   the EncryptedKey names or tried in turn; once the previous is retired, what was encrypted
   to it is refused with its reason. */
static void s_rollover_test(const char *old_key, const char *old_cert, const char *other_cert)
{
    char *new_key = NULL, *new_cert = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("sp-next.test", &new_key, &new_cert) == 0);
    saml_response_decrypt_t *both = new_key ? saml_response_decrypt_new(new_key, false) : NULL;
    saml_response_decrypt_t *retired = new_key ? saml_response_decrypt_new(new_key, false) : NULL;
    SSO_CHECK(both && retired);
    if (!both || !retired)
        goto done;
    SSO_CHECK(saml_response_decrypt_keys(both, new_cert, old_key, old_cert) == 0);
    SSO_CHECK(saml_response_decrypt_keys(retired, new_cert, NULL, NULL) == 0);
    /* During the overlap: either certificate, named in the EncryptedKey or not. */
    const char *certs[] = {new_cert, old_cert};
    for (size_t i = 0; i < 2; i++) {
        saml_test_encryption_t e = {.sp_cert = certs[i]};
        SSO_CHECK(s_decrypts(both, &e, i ? "to the previous certificate" : "to the current"));
        e.key_info_cert = certs[i];
        SSO_CHECK(s_decrypts(both, &e, i ? "to the named previous" : "to the named current"));
    }
    /* The named certificate is the one tried (and the only one): a key wrapped for the other
       does not decrypt. */
    saml_test_encryption_t e = {.sp_cert = old_cert, .key_info_cert = new_cert};
    SSO_CHECK(s_refuses(both, &e, S_AS_MADE, "the EncryptedKey does not decrypt with the SP "
                        "key (RSA-OAEP"));
    /* Neither: a certificate the SP never had, named or not. */
    SSO_CHECK(s_refuses_cert(both, other_cert, "the current or the previous SP key"));
    /* Retired: the previous certificate is refused, the current still decrypts. */
    SSO_CHECK(s_refuses_cert(retired, old_cert, "the SP key"));
    e = (saml_test_encryption_t) {.sp_cert = new_cert, .key_info_cert = new_cert};
    SSO_CHECK(s_decrypts(retired, &e, "to the current after the retirement"));
    /* Junk in place of the previous pair or a certificate. */
    SSO_CHECK(saml_response_decrypt_keys(retired, "junk", NULL, NULL) == -1);
    SSO_CHECK(saml_response_decrypt_keys(retired, new_cert, "junk", NULL) == -1);
    SSO_CHECK(saml_response_decrypt_keys(retired, new_cert, old_key, "") == -1);
done:
    saml_response_decrypt_destroy(&both);
    saml_response_decrypt_destroy(&retired);
    free(new_key);
    free(new_cert);
}

void saml_response_decrypt_test(bool verbose)
{
    (void) verbose;
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(sso_xmlsec_init() == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("sp.test", &key, &cert) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("other-sp.test", &other_key, &other_cert) == 0);
    SSO_CHECK(saml_response_decrypt_new("not a key", false) == NULL);
    SSO_CHECK(saml_response_decrypt_new(cert, false) == NULL);
    saml_response_decrypt_t *self = key ? saml_response_decrypt_new(key, false) : NULL;
    saml_response_decrypt_t *with_3des = key ? saml_response_decrypt_new(key, true) : NULL;
    SSO_CHECK(self != NULL && with_3des != NULL);
    if (!self || !with_3des)
        goto done;
    s_oaep_test(self, cert);
    s_cipher_test(self, with_3des, cert);
    s_rollover_test(key, cert, other_cert);

    /* Refusals, each with its reason; the algorithms are checked before anything is
       decrypted (the cipher values of the raw snippets below are junk). */
    const saml_test_encryption_t good = {.sp_cert = cert};
    saml_test_encryption_t e = {.sp_cert = other_cert};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "the EncryptedKey does not decrypt with the SP key "
                        "(RSA-OAEP with SHA-1 and MGF1-SHA1): it was encrypted to a retired or "
                        "unknown SP certificate"));
    e = (saml_test_encryption_t) {.sp_cert = cert, .digest_uri = s_digests[1].uri};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "does not decrypt with the SP key (RSA-OAEP with "
                        "SHA-256 and MGF1-SHA1)"));
    e = (saml_test_encryption_t) {.sp_cert = cert, .transport = S_ALG_RSA_1_5};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "key transport " S_ALG_RSA_1_5 " is refused (RSA "
                        "PKCS#1 v1.5 allows padding-oracle attacks)"));
    e.transport = SAML_NS_XENC "kw-aes128";
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "key transport " SAML_NS_XENC "kw-aes128 is not "
                        "allowed (only RSA-OAEP"));
    e = (saml_test_encryption_t) {.sp_cert = cert,
                                  .digest_uri = "http://www.w3.org/2001/04/xmldsig-more#md5"};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "DigestMethod http://www.w3.org/2001/04/"
                        "xmldsig-more#md5 of the EncryptedKey is not allowed (only SHA-1, "
                        "SHA-256, SHA-384, SHA-512)"));
    e = (saml_test_encryption_t) {.sp_cert = cert, .mgf_uri = SAML_NS_XENC11 "mgf1md5"};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "MGF " SAML_NS_XENC11 "mgf1md5 of the EncryptedKey "
                        "is not allowed (only MGF1 with SHA-1, SHA-224"));
    e = (saml_test_encryption_t) {.sp_cert = cert, .mgf_uri = ""};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "MGF  of the EncryptedKey is not allowed"));
    /* A 128-bit key for AES-256-GCM (the data encrypted with it as AES-128-GCM). */
    e = (saml_test_encryption_t) {.sp_cert = cert, .cipher = EVP_aes_128_gcm()};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "the EncryptedKey holds a 16-byte key, and "
                        "AES-256-GCM needs 32 bytes"));
    e = (saml_test_encryption_t) {.sp_cert = cert, .key_len = 40};
    SSO_CHECK(s_refuses(self, &e, S_AS_MADE, "holds a 40-byte key, and AES-256-GCM needs 32"));
    SSO_CHECK(s_refuses(self, &good, S_EMPTY_KEY, "the CipherValue of the EncryptedKey is "
                        "empty"));
    SSO_CHECK(s_refuses(self, &good, S_EMPTY_DATA, "the CipherValue of the EncryptedData is "
                        "empty"));
    SSO_CHECK(s_refuses(self, &good, S_JUNK_DATA, "the CipherValue of the EncryptedData is not "
                        "base64"));
    SSO_CHECK(s_refuses(self, &good, S_NO_KEY, "expected one EncryptedKey, found 0"));
    SSO_CHECK(s_refuses(self, &good, S_SECOND_KEY, "expected one EncryptedKey, found 2"));

    /* No SP key: refused, after the fetch check (which runs whatever the configuration). */
    const char *oaep = S_AES128_GCM "<ds:KeyInfo>" S_KEY(S_ALG_OAEP_MGF1P) "</ds:KeyInfo>"
        S_CIPHER;
    SSO_CHECK(s_refused(NULL, oaep, "no SP private key is configured"));
    SSO_CHECK(s_refused(NULL, "<ds:KeyInfo><ds:RetrievalMethod URI=\"file:///etc/passwd\"/>"
                              "</ds:KeyInfo>", "ds:RetrievalMethod URI=\"file:///etc/passwd\""));
    SSO_CHECK(s_refused(self, "<xenc:EncryptionMethod Algorithm=\"urn:x\"/>" S_CIPHER,
                        "data cipher urn:x is not allowed"));
    SSO_CHECK(s_refused(self, S_CIPHER, "data cipher (none) is not allowed"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo>"
                              S_CIPHER, "only an EncryptedKey may carry the key, found KeyName"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod"
                        " Algorithm=\"" S_ALG_OAEP "\"><xenc:KeySize>1</xenc:KeySize>"
                        "</xenc:EncryptionMethod></xenc:EncryptedKey></ds:KeyInfo>" S_CIPHER,
                        "unexpected KeySize in the EncryptionMethod of the EncryptedKey"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod"
                        " Algorithm=\"" S_ALG_OAEP "\"><xenc:OAEPparams>*</xenc:OAEPparams>"
                        "</xenc:EncryptionMethod></xenc:EncryptedKey></ds:KeyInfo>" S_CIPHER,
                        "the OAEPparams of the EncryptedKey are not base64"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo>" S_KEY(S_ALG_OAEP) "</ds:KeyInfo>",
                        "the EncryptedData must have one CipherData with one CipherValue"));
    /* Allowed algorithms, junk cipher text: nothing decrypts, nothing is parsed. */
    SSO_CHECK(s_refused(self, oaep, "the EncryptedKey does not decrypt with the SP key"));
done:
    saml_response_decrypt_destroy(&self);
    saml_response_decrypt_destroy(&with_3des);
    SSO_CHECK(self == NULL);
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}
