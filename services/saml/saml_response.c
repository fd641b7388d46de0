/* saml_response: ACS validation. The order is: decode, parse safely, status, structure (ids,
   exactly one assertion at its place), signatures (Response, then decryption, then
   Assertion), then every condition, read only from the verified nodes. */
#include "saml_response.h"
#include "saml_keycache.h"
#include "saml_sign.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/hash.h>
#include <libxml/parser.h>
#include <libxml/valid.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#define S_MAX_CERTS 16
#define S_REASON 768
#define S_MAX_ASSERTION_ID 256 /* what the replay cache holds, and the s_verify bound */

#define S_ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define S_ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define S_ALG_RSA_SHA1 "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define S_ALG_SHA1 "http://www.w3.org/2000/09/xmldsig#sha1"
#define S_ALG_RSA_1_5 "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
#define S_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define S_CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define S_NAMEID_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define S_NS_XML "http://www.w3.org/XML/1998/namespace"
#define S_NS_XLINK "http://www.w3.org/1999/xlink"
#define S_NS_XINCLUDE "http://www.w3.org/2001/XInclude"
#define S_NS_XINCLUDE_2003 "http://www.w3.org/2003/XInclude"

static const char *const s_sign_methods[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", NULL};
static const char *const s_digests[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512", NULL};
static const char *const s_data_ciphers[] = {
    "http://www.w3.org/2009/xmlenc11#aes128-gcm", "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    NULL};
static const char *const s_key_transports[] = {
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2009/xmlenc11#rsa-oaep",
    NULL};

struct saml_response_t {
    /* configuration (owned copies) */
    char *idp_entity_id, *sp_entity_id, *acs_url, *in_response_to;
    bool allow_idp_initiated, allow_sha1;
    time_t now;
    int skew;
    const saml_attribute_map_t *attribute_map;
    xmlSecKeyPtr idp_keys[S_MAX_CERTS];
    char idp_fingerprints[S_MAX_CERTS][96];
    size_t n_idp_keys;
    xmlSecKeysMngrPtr idp_mngr, sp_mngr;
    xmlSecKeyPtr sp_key;          /* for EncryptedAssertion; sp_mngr is made from it on need */
    char config_error[S_REASON];
    /* result of the last validate */
    saml_error_t error;
    bool authenticated;           /* it got past every signature and the decryption */
    char reason[S_REASON];
    saml_profile_t *profile;
    time_t replay_until;
};

const char *saml_error_name(saml_error_t code)
{
    static const char *const names[] = {
        "ok", "config", "input", "xml", "structure", "status", "signature", "decryption",
        "issuer", "destination", "in_response_to", "subject", "recipient", "audience",
        "expired", "not_yet_valid", "authn_statement", "attributes", "internal"};
    return (unsigned) code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}

void saml_response_config_init(saml_response_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->clock_skew = SAML_DEFAULT_CLOCK_SKEW;
    config->now = time(NULL);
}

/* Records the failure; returns code so callers can `return s_fail(...)`. */
__attribute__((format(printf, 3, 4)))
static saml_error_t s_fail(saml_response_t *self, saml_error_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->reason, sizeof self->reason, fmt, ap);
    va_end(ap);
    /* Reasons quote the document; the event log takes no control characters, and a reason it
       refused would change the answer the browser gets. */
    for (char *p = self->reason; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    self->error = code;
    return code;
}

static char *s_dup(const char *s)
{
    return strdup(s ? s : "");
}

/* A keys manager holding only the keys given to it. For verification a simple keys store is
   enough: the crypto library's default manager also builds an X.509 store from the system's CA
   bundle, which costs tens of milliseconds per response and is never used (keys are configured
   per connection and pinned, never found through certificate chains). Decryption needs the
   default one, because xmlsec reads the X509Data an IdP puts in EncryptedKey; it is made only
   when a response is actually encrypted. */
static xmlSecKeysMngrPtr s_new_mngr(bool for_decryption)
{
    if (for_decryption) {
        xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
        if (mngr && xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0) {
            xmlSecKeysMngrDestroy(mngr);
            mngr = NULL;
        }
        return mngr;
    }
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    xmlSecKeyStorePtr store = mngr ? xmlSecKeyStoreCreate(xmlSecSimpleKeysStoreId) : NULL;
    if (!store || xmlSecKeysMngrAdoptKeysStore(mngr, store) < 0) {
        if (store)
            xmlSecKeyStoreDestroy(store);
        if (mngr)
            xmlSecKeysMngrDestroy(mngr);
        return NULL;
    }
    return mngr;
}

static void s_load_config(saml_response_t *self, const saml_response_config_t *config)
{
    char *why = self->config_error;
    size_t why_size = sizeof self->config_error;
    if (saml_xmlsec_init() != 0) {
        snprintf(why, why_size, "internal: xmlsec could not be initialized");
        return;
    }
    if (!*self->idp_entity_id || !*self->sp_entity_id || !*self->acs_url) {
        snprintf(why, why_size, "config: the IdP entity id, SP entity id and ACS URL are required");
        return;
    }
    if (config->n_idp_certificates == 0 || config->n_idp_certificates > S_MAX_CERTS) {
        snprintf(why, why_size, "config: between 1 and %d IdP signing certificates are required, "
                 "got %zu", S_MAX_CERTS, config->n_idp_certificates);
        return;
    }
    if (config->clock_skew < 0 || config->clock_skew > 600) {
        snprintf(why, why_size, "config: the clock skew must be 0..600 seconds, got %d",
                 config->clock_skew);
        return;
    }
    if (!(self->idp_mngr = s_new_mngr(false))) {
        snprintf(why, why_size, "internal: could not create a keys manager");
        return;
    }
    for (size_t i = 0; i < config->n_idp_certificates; i++) {
        /* Parsed once per certificate text, not once per response (saml_keycache). */
        xmlSecKeyPtr key = saml_keycache_idp_key(config->idp_certificates[i],
                                                 self->idp_fingerprints[i], why, why_size);
        if (!key)
            return;
        self->idp_keys[self->n_idp_keys++] = key;
        /* The keys manager holds only the configured keys; verification additionally pins
           the key per attempt (signKey), so KeyInfo is never consulted. */
        xmlSecKeyPtr copy = xmlSecKeyDuplicate(key);
        if (!copy || xmlSecCryptoAppDefaultKeysMngrAdoptKey(self->idp_mngr, copy) < 0) {
            if (copy)
                xmlSecKeyDestroy(copy);
            snprintf(why, why_size, "internal: could not load the IdP keys");
            return;
        }
    }
    if (config->sp_private_key_pem && *config->sp_private_key_pem) {
        xmlSecKeyPtr key = saml_keycache_sp_key(config->sp_private_key_pem);
        if (!key) {
            snprintf(why, why_size, "config: the SP private key is not a PEM private key");
            return;
        }
        self->sp_key = key;
    }
    ERR_clear_error();
}

saml_response_t *saml_response_new(const saml_response_config_t *config)
{
    saml_response_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->idp_entity_id = s_dup(config->idp_entity_id);
    self->sp_entity_id = s_dup(config->sp_entity_id);
    self->acs_url = s_dup(config->acs_url);
    self->in_response_to = s_dup(config->in_response_to);
    if (!self->idp_entity_id || !self->sp_entity_id || !self->acs_url || !self->in_response_to) {
        saml_response_destroy(&self);
        return NULL;
    }
    self->allow_idp_initiated = config->allow_idp_initiated;
    self->allow_sha1 = config->allow_sha1;
    self->now = config->now;
    self->skew = config->clock_skew;
    self->attribute_map = config->attribute_map;
    s_load_config(self, config);
    return self;
}

void saml_response_destroy(saml_response_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_response_t *self = *self_p;
    free(self->idp_entity_id);
    free(self->sp_entity_id);
    free(self->acs_url);
    free(self->in_response_to);
    for (size_t i = 0; i < self->n_idp_keys; i++)
        xmlSecKeyDestroy(self->idp_keys[i]);
    if (self->idp_mngr)
        xmlSecKeysMngrDestroy(self->idp_mngr);
    if (self->sp_mngr)
        xmlSecKeysMngrDestroy(self->sp_mngr);
    if (self->sp_key)
        xmlSecKeyDestroy(self->sp_key);
    saml_profile_destroy(&self->profile);
    free(self);
    *self_p = NULL;
}

const saml_profile_t *saml_response_profile(const saml_response_t *self)
{
    return self->error == SAML_OK ? self->profile : NULL;
}

saml_profile_t *saml_response_take_profile(saml_response_t *self)
{
    saml_profile_t *profile = self->error == SAML_OK ? self->profile : NULL;
    if (profile)
        self->profile = NULL;
    return profile;
}

const char *saml_response_reason(const saml_response_t *self)
{
    return self->reason;
}

saml_error_t saml_response_error(const saml_response_t *self)
{
    return self->error;
}

bool saml_response_authenticated(const saml_response_t *self)
{
    return self->authenticated;
}

time_t saml_response_replay_until(const saml_response_t *self)
{
    return self->replay_until;
}

/* ------------------------------------------------------------------ decoding and structure */

/* Base64 classes by byte: 1 + the value for the standard alphabet, S_B64_PAD for '=',
   S_B64_SPACE for the blanks IdPs wrap lines with, 0 for anything else. A lookup per byte
   instead of a chain of comparisons: decoding was a tenth of the validation's CPU. */
#define S_B64_PAD 65
#define S_B64_SPACE 66
static unsigned char s_b64[256];
static pthread_once_t s_b64_once = PTHREAD_ONCE_INIT;

static void s_b64_init(void)
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; i++)
        s_b64[(unsigned char) alphabet[i]] = (unsigned char) (i + 1);
    s_b64['='] = S_B64_PAD;
    s_b64[' '] = s_b64['\t'] = s_b64['\r'] = s_b64['\n'] = S_B64_SPACE;
}

static saml_error_t s_decode(saml_response_t *self, const char *b64, uint8_t **out, size_t *len)
{
    if (!b64 || !*b64)
        return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse parameter is empty");
    pthread_once(&s_b64_once, s_b64_init);
    /* Line breaks are allowed (some IdPs wrap at 76 columns); anything else outside the
       standard alphabet is refused rather than skipped. Four alphabet characters at a time
       while they last (the && stops at the NUL); a step never spans an error, so the first
       error found is the one a character-by-character scan finds. */
    const unsigned char *p = (const unsigned char *) b64;
    size_t n = 0, significant = 0;
    for (;;) {
        if (s_b64[p[n]] - 1u < 65 && s_b64[p[n + 1]] - 1u < 65 && s_b64[p[n + 2]] - 1u < 65
            && s_b64[p[n + 3]] - 1u < 65) {
            n += 4;
            significant += 4;
        }
        else if (!p[n])
            break;
        else if (!s_b64[p[n]])
            return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse is not base64 "
                          "(unexpected character 0x%02x at offset %zu)", p[n], n);
        else
            significant += s_b64[p[n++]] != S_B64_SPACE;
        /* n counts the characters read: "index > 2 MB" as the check has always been. */
        if (significant > (SAML_RESPONSE_MAX_BYTES / 3 + 1) * 4
            || n > 2 * SAML_RESPONSE_MAX_BYTES + 1)
            return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse is larger than %d bytes",
                          SAML_RESPONSE_MAX_BYTES);
    }
    if (significant % 4 != 0)
        return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse is not base64 (length %zu "
                      "is not a multiple of 4)", significant);
    /* The rules of sso_base64_decode (the self-test compares the two): blanks skipped, at most
       two '=' and nothing after them, no leftover bits. */
    uint8_t *buf = malloc(significant / 4 * 3 + 1);
    if (!buf)
        return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
    uint32_t acc = 0;
    int bits = 0;
    size_t pos = 0, padding = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n;) {
        /* A whole quantum of four values on a quantum boundary: three bytes at once. */
        if (bits == 0 && padding == 0 && n - i >= 4) {
            unsigned a = s_b64[p[i]] - 1u, b = s_b64[p[i + 1]] - 1u, c = s_b64[p[i + 2]] - 1u,
                     d = s_b64[p[i + 3]] - 1u;
            if ((a | b | c | d) < 64) {
                buf[pos++] = (uint8_t) (a << 2 | b >> 4);
                buf[pos++] = (uint8_t) (b << 4 | c >> 2);
                buf[pos++] = (uint8_t) (c << 6 | d);
                i += 4;
                continue;
            }
        }
        unsigned char c = s_b64[p[i++]];
        if (c == S_B64_SPACE)
            continue;
        if (c == S_B64_PAD) {
            padding++;
            continue;
        }
        ok = padding == 0;
        acc = acc << 6 | (uint32_t) (c - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[pos++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (!ok || bits >= 6 || acc != 0 || padding > 2) {
        free(buf);
        return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse is not valid base64");
    }
    buf[pos] = '\0';
    *out = buf;
    *len = pos;
    if (*len > SAML_RESPONSE_MAX_BYTES) {
        free(*out);
        *out = NULL;
        return s_fail(self, SAML_ERR_INPUT, "input: the SAMLResponse is larger than %d bytes",
                      SAML_RESPONSE_MAX_BYTES);
    }
    return SAML_OK;
}

typedef struct {
    xmlHashTablePtr ids;
    bool has_duplicate;
    char duplicate[201];
    size_t assertions;       /* saml:Assertion anywhere */
    size_t encrypted;        /* saml:EncryptedAssertion anywhere */
} s_scan_t;

/* Walks the whole tree (depth already bounded by the reader): counts assertions wherever they
   hide (Advice, Extensions, ds:Object...) and finds any ID value used twice. */
static void s_scan(xmlNodePtr node, s_scan_t *scan)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        scan->assertions += saml_xml_is(node, SAML_NS_ASSERTION, "Assertion");
        scan->encrypted += saml_xml_is(node, SAML_NS_ASSERTION, "EncryptedAssertion");
        for (xmlAttrPtr attr = node->properties; attr; attr = attr->next) {
            const char *name = (const char *) attr->name;
            bool id_like = (!attr->ns && (strcmp(name, "ID") == 0 || strcmp(name, "Id") == 0
                                          || strcmp(name, "id") == 0))
                           || (attr->ns && attr->ns->prefix
                               && strcmp((const char *) attr->ns->prefix, "xml") == 0
                               && strcmp(name, "id") == 0);
            if (!id_like || scan->has_duplicate)
                continue;
            xmlChar *value = xmlNodeListGetString(node->doc, attr->children, 1);
            if (value && xmlHashAddEntry(scan->ids, value, (void *) 1) != 0) {
                scan->has_duplicate = true;
                snprintf(scan->duplicate, sizeof scan->duplicate, "%s", (const char *) value);
            }
            xmlFree(value);
        }
        s_scan(node->children, scan);
    }
}

static saml_error_t s_check_structure(saml_response_t *self, xmlDocPtr doc, xmlNodePtr root)
{
    s_scan_t scan = {.ids = xmlHashCreate(64)};
    if (!scan.ids)
        return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
    s_scan(root, &scan);
    (void) doc;
    saml_error_t rc = SAML_OK;
    if (scan.has_duplicate)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: duplicate ID \"%.200s\": every ID in "
                    "the document must be unique", scan.duplicate);
    else if (scan.assertions + scan.encrypted != 1)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "assertion: expected exactly one Assertion or "
                    "EncryptedAssertion in the document, found %zu", scan.assertions + scan.encrypted);
    else if (saml_xml_count_children(root, SAML_NS_ASSERTION, "Assertion")
                 + saml_xml_count_children(root, SAML_NS_ASSERTION, "EncryptedAssertion") != 1)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "assertion: the assertion must be a direct child "
                    "of the Response, found one nested deeper");
    xmlHashFree(scan.ids, NULL);
    return rc;
}

/* -------------------------------------------------------------------------- signatures */

static bool s_in(const char *value, const char *const *list)
{
    for (size_t i = 0; value && list[i]; i++)
        if (strcmp(value, list[i]) == 0)
            return true;
    return false;
}

/* Next element sibling starting at node, skipping whitespace text and comments; anything else
   (non-blank text, PIs) is reported through *junk. */
static xmlNodePtr s_next_element(xmlNodePtr node, bool *junk)
{
    for (; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE)
            return node;
        if (node->type == XML_TEXT_NODE && !xmlIsBlankNode(node))
            *junk = true;
    }
    return NULL;
}

/* Checks the signature's shape before any cryptography: one Reference to "#" + the ID of the
   element carrying the signature, only the allowed algorithms, no Object. */
static saml_error_t s_check_signature_shape(saml_response_t *self, xmlNodePtr sig,
                                            const char *what, const char *id)
{
    bool junk = false;
    xmlNodePtr signed_info = s_next_element(sig->children, &junk);
    xmlNodePtr value = signed_info ? s_next_element(signed_info->next, &junk) : NULL;
    xmlNodePtr rest = value ? s_next_element(value->next, &junk) : NULL;
    if (saml_xml_is(rest, SAML_NS_DSIG, "KeyInfo"))
        rest = s_next_element(rest->next, &junk);
    if (!saml_xml_is(signed_info, SAML_NS_DSIG, "SignedInfo")
        || !saml_xml_is(value, SAML_NS_DSIG, "SignatureValue"))
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's Signature lacks SignedInfo "
                      "or SignatureValue", what);
    if (rest)
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's Signature contains a "
                      "ds:%s element, which is not allowed", what, (const char *) rest->name);
    if (junk)
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's Signature contains text",
                      what);
    xmlNodePtr c14n = s_next_element(signed_info->children, &junk);
    xmlNodePtr method = c14n ? s_next_element(c14n->next, &junk) : NULL;
    char *alg = saml_xml_attr(c14n, "Algorithm");
    bool ok = saml_xml_is(c14n, SAML_NS_DSIG, "CanonicalizationMethod") && alg
              && strcmp(alg, S_ALG_EXC_C14N) == 0;
    saml_error_t rc = SAML_OK;
    if (!ok)
        rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: CanonicalizationMethod %.200s is not "
                    "allowed (only %s)", alg ? alg : "(none)", S_ALG_EXC_C14N);
    free(alg);
    if (rc)
        return rc;
    alg = saml_xml_attr(method, "Algorithm");
    ok = saml_xml_is(method, SAML_NS_DSIG, "SignatureMethod") && alg
         && (s_in(alg, s_sign_methods) || (self->allow_sha1 && strcmp(alg, S_ALG_RSA_SHA1) == 0));
    if (!ok)
        rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: SignatureMethod %.200s is not allowed "
                    "(only RSA-SHA256/384/512 and ECDSA-SHA256/384/512%s)", alg ? alg : "(none)",
                    self->allow_sha1 ? " and RSA-SHA1" : "");
    free(alg);
    if (rc)
        return rc;
    size_t references = saml_xml_count_children(signed_info, SAML_NS_DSIG, "Reference");
    if (references != 1)
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's Signature must have exactly "
                      "one Reference, found %zu", what, references);
    xmlNodePtr ref = saml_xml_child(signed_info, SAML_NS_DSIG, "Reference");
    for (xmlNodePtr n = s_next_element(signed_info->children, &junk); n;
         n = s_next_element(n->next, &junk))
        if (n != c14n && n != method && n != ref)
            return s_fail(self, SAML_ERR_SIGNATURE, "signature: unexpected ds:%s in SignedInfo",
                          (const char *) n->name);
    char *uri = saml_xml_attr(ref, "URI");
    ok = uri && uri[0] == '#' && strcmp(uri + 1, id) == 0;
    if (!ok)
        rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the Reference URI is \"%.200s\"; "
                    "expected \"#%.200s\" (the ID of the signed %s)", uri ? uri : "(none)", id, what);
    free(uri);
    if (rc)
        return rc;
    size_t n_transforms = 0;
    for (xmlNodePtr n = s_next_element(ref->children, &junk); n; n = s_next_element(n->next, &junk)) {
        if (saml_xml_is(n, SAML_NS_DSIG, "Transforms")) {
            for (xmlNodePtr t = s_next_element(n->children, &junk); t;
                 t = s_next_element(t->next, &junk)) {
                alg = saml_xml_attr(t, "Algorithm");
                ok = saml_xml_is(t, SAML_NS_DSIG, "Transform") && alg
                     && (strcmp(alg, S_ALG_ENVELOPED) == 0 || strcmp(alg, S_ALG_EXC_C14N) == 0)
                     && ++n_transforms <= 2;
                if (!ok)
                    rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: transform %.200s is not "
                                "allowed (only enveloped-signature and exclusive c14n, once each)",
                                alg ? alg : "(none)");
                free(alg);
                if (rc)
                    return rc;
            }
        }
        else if (saml_xml_is(n, SAML_NS_DSIG, "DigestMethod")) {
            alg = saml_xml_attr(n, "Algorithm");
            ok = alg && (s_in(alg, s_digests) || (self->allow_sha1 && strcmp(alg, S_ALG_SHA1) == 0));
            if (!ok)
                rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: DigestMethod %.200s is not "
                            "allowed (only SHA-256/384/512)", alg ? alg : "(none)");
            free(alg);
            if (rc)
                return rc;
        }
        else if (!saml_xml_is(n, SAML_NS_DSIG, "DigestValue"))
            return s_fail(self, SAML_ERR_SIGNATURE, "signature: unexpected ds:%s in Reference",
                          (const char *) n->name);
    }
    if (junk)
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: unexpected text in SignedInfo");
    return SAML_OK;
}

/* The certificate an attacker or a misconfigured IdP put in KeyInfo, for the reason only:
   it is never used as a key. */
static void s_keyinfo_fingerprint(xmlNodePtr sig, char out[96])
{
    out[0] = '\0';
    xmlNodePtr info = saml_xml_child(sig, SAML_NS_DSIG, "KeyInfo");
    xmlNodePtr data = saml_xml_child(info, SAML_NS_DSIG, "X509Data");
    xmlNodePtr cert = saml_xml_child(data, SAML_NS_DSIG, "X509Certificate");
    char *text = NULL;
    if (!cert || saml_xml_text(cert, &text) != 0)
        return;
    size_t len = 0;
    uint8_t *der = sso_base64_decode(text, &len, true);
    if (der)
        saml_cert_fingerprint_der(der, len, out);
    free(der);
    free(text);
}

static int s_enable_transforms(saml_response_t *self, xmlSecDSigCtxPtr ctx)
{
    int rc = 0;
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId);
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id);
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id);
    rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id);
    rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha512Id);
    if (self->allow_sha1) {
        rc |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha1Id);
        rc |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha1Id);
    }
    return rc < 0 ? -1 : 0;
}

/* Registers node's ID attribute as the document's only holder of that ID. */
static saml_error_t s_register_id(saml_response_t *self, xmlDocPtr doc, xmlNodePtr node,
                                  const char *id)
{
    xmlAttrPtr attr = xmlHasNsProp(node, BAD_CAST "ID", NULL);
    xmlAttrPtr known = xmlGetID(doc, BAD_CAST id);
    if (known == attr)
        return SAML_OK;
    if (known || !attr || !xmlAddID(NULL, doc, BAD_CAST id, attr))
        return s_fail(self, SAML_ERR_STRUCTURE, "structure: the ID \"%.200s\" is not unique", id);
    return SAML_OK;
}

/* Verifies the one Signature that is a direct child of `node` with the configured keys only.
   On success returns the element the verified Reference resolved to, which the caller
   compares with `node`: identity is read only from that element. */
static saml_error_t s_verify(saml_response_t *self, xmlDocPtr doc, xmlNodePtr node,
                             xmlNodePtr sig, const char *what)
{
    char *id = saml_xml_attr(node, "ID");
    if (!id || !*id || strlen(id) > S_MAX_ASSERTION_ID) {
        free(id);
        return s_fail(self, SAML_ERR_STRUCTURE, "structure: the signed %s has no usable ID", what);
    }
    saml_error_t rc = s_check_signature_shape(self, sig, what, id);
    if (rc == SAML_OK)
        rc = s_register_id(self, doc, node, id);
    bool verified = false, digest_failed = false;
    for (size_t k = 0; rc == SAML_OK && !verified && !digest_failed && k < self->n_idp_keys; k++) {
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(self->idp_mngr);
        if (!ctx) {
            rc = s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
            break;
        }
        ctx->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
        saml_xmlsec_restrict_dsig(ctx);
        ctx->signKey = xmlSecKeyDuplicate(self->idp_keys[k]);
        saml_xmlsec_reset_error();
        if (!ctx->signKey || s_enable_transforms(self, ctx) != 0)
            rc = s_fail(self, SAML_ERR_INTERNAL, "internal: could not set up verification");
        else if (xmlSecDSigCtxVerify(ctx, sig) < 0)
            rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's signature could not be "
                        "processed (%s)", what, saml_xmlsec_last_error()[0]
                        ? saml_xmlsec_last_error() : "xmlsec error");
        else {
            xmlSecSize n_refs = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
            xmlSecDSigReferenceCtxPtr ref =
                n_refs == 1 ? xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
            if (!ref)
                rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: expected one verified "
                            "Reference, got %u", (unsigned) n_refs);
            else if (ref->status != xmlSecDSigStatusSucceeded)
                digest_failed = true;
            else if (ctx->status == xmlSecDSigStatusSucceeded) {
                /* The verified reference must be the "#ID" of this very element. */
                xmlAttrPtr target = xmlGetID(doc, BAD_CAST id);
                if (!ref->uri || ref->uri[0] != '#' || strcmp((const char *) ref->uri + 1, id) != 0
                    || !target || target->parent != node)
                    rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the verified Reference "
                                "does not cover the %s", what);
                else
                    verified = true;
            }
        }
        xmlSecDSigCtxDestroy(ctx);
    }
    if (rc == SAML_OK && digest_failed)
        rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the digest of the signed %s does not "
                    "match: it was changed after signing", what);
    else if (rc == SAML_OK && !verified) {
        char seen[96], configured[S_MAX_CERTS * 97 + 1] = "";
        s_keyinfo_fingerprint(sig, seen);
        for (size_t k = 0; k < self->n_idp_keys; k++) {
            size_t used = strlen(configured);
            snprintf(configured + used, sizeof configured - used, "%s%s", k ? ", " : "",
                     self->idp_fingerprints[k]);
        }
        bool known = false;
        for (size_t k = 0; seen[0] && k < self->n_idp_keys; k++)
            known |= strcmp(seen, self->idp_fingerprints[k]) == 0;
        if (seen[0] && !known)
            rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s is signed by a certificate "
                        "with SHA-256 fingerprint %s, configured: %s", what, seen, configured);
        else
            rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s's signature does not verify "
                        "with any configured certificate (configured: %s)", what, configured);
    }
    free(id);
    return rc;
}

/* The single ds:Signature child of node: NULL when unsigned; more than one is refused. */
static saml_error_t s_signature_of(saml_response_t *self, xmlNodePtr node, const char *what,
                                   xmlNodePtr *sig)
{
    size_t count = saml_xml_count_children(node, SAML_NS_DSIG, "Signature");
    *sig = count == 1 ? saml_xml_child(node, SAML_NS_DSIG, "Signature") : NULL;
    if (count > 1)
        return s_fail(self, SAML_ERR_SIGNATURE, "signature: the %s has %zu Signature elements",
                      what, count);
    return SAML_OK;
}

/* -------------------------------------------------------------------------- decryption */

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

static bool s_is_xinclude(xmlNodePtr node)
{
    const char *ns = node->ns && node->ns->href ? (const char *) node->ns->href : "";
    return !strcmp(ns, S_NS_XINCLUDE) || !strcmp(ns, S_NS_XINCLUDE_2003);
}

/* "xenc:CipherReference": node's name with the prefix its namespace is known by here. */
static void s_qname(xmlNodePtr node, char *out, size_t size)
{
    const char *ns = node->ns && node->ns->href ? (const char *) node->ns->href : "";
    const char *prefix = !strcmp(ns, SAML_NS_XENC) ? "xenc:" : !strcmp(ns, SAML_NS_DSIG) ? "ds:"
                         : !strcmp(ns, SAML_NS_ASSERTION) ? "saml:"
                         : s_is_xinclude(node)            ? "xi:"
                                                          : "";
    snprintf(out, size, "%s%.100s", prefix, (const char *) node->name);
}

/* "the EncryptedKey's KeyInfo": the encrypted part node sits in, for the reason. */
static void s_encrypted_part(xmlNodePtr node, char *out, size_t size)
{
    bool in_key_info = false;
    const char *owner = "Response";
    for (xmlNodePtr p = node->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent) {
        if (saml_xml_is(p, SAML_NS_XENC, "EncryptedKey")
            || saml_xml_is(p, SAML_NS_XENC, "EncryptedData")
            || saml_xml_is(p, SAML_NS_ASSERTION, "EncryptedAssertion")) {
            owner = (const char *) p->name;
            break;
        }
        in_key_info |= saml_xml_is(p, SAML_NS_DSIG, "KeyInfo");
    }
    snprintf(out, size, "the %s%s", owner, in_key_info ? "'s KeyInfo" : "");
}

/* Refuses, before any decryption, whatever under the EncryptedAssertion (EncryptedData,
   EncryptedKey, their KeyInfo) would have a URI dereferenced: CipherReference and
   RetrievalMethod whatever they point at, XInclude, xml:base, xlink:href, and any other URI
   that is not "#id" in this document. The SP's encryption certificate is public, so anyone can
   send these; the service fetches nothing, and its I/O handlers are gone as well
   (saml_xmlsec_init). */
static saml_error_t s_check_no_fetch(saml_response_t *self, xmlNodePtr node)
{
    if (node->type != XML_ELEMENT_NODE)
        return SAML_OK;
    const char *why = NULL, *attr_name = "URI";
    char *value = NULL;
    if (saml_xml_is(node, SAML_NS_XENC, "CipherReference"))
        why = "the cipher text must be inline";
    else if (saml_xml_is(node, SAML_NS_DSIG, "RetrievalMethod"))
        why = "key material must be inline";
    else if (s_is_xinclude(node)) {
        why = "XInclude is never processed";
        attr_name = "href";
    }
    if (why)
        value = saml_xml_attr(node, attr_name);
    for (xmlAttrPtr attr = node->properties; !why && attr; attr = attr->next) {
        const char *name = (const char *) attr->name;
        const char *ns = attr->ns && attr->ns->href ? (const char *) attr->ns->href : NULL;
        bool base = ns && ((!strcmp(ns, S_NS_XML) && !strcmp(name, "base"))
                           || (!strcmp(ns, S_NS_XLINK) && !strcmp(name, "href")));
        if (!base && (ns || strcmp(name, "URI") != 0))
            continue;
        xmlChar *text = xmlNodeListGetString(node->doc, attr->children, 1);
        value = strdup(text ? (const char *) text : "");
        xmlFree(text);
        if (!value)
            return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
        if (base || value[0] != '#') {
            why = "only same-document references (\"#id\") are allowed";
            attr_name = base ? (!strcmp(name, "base") ? "xml:base" : "xlink:href") : "URI";
        }
        else {
            free(value);
            value = NULL;
        }
    }
    if (why) {
        char what[128], where[64];
        s_qname(node, what, sizeof what);
        s_encrypted_part(node, where, sizeof where);
        s_fail(self, SAML_ERR_DECRYPTION, "decryption: %s %s=\"%.200s\" in %s: refused before "
               "decryption; %s, and nothing is fetched", what, attr_name, value ? value : "",
               where, why);
        free(value);
        return SAML_ERR_DECRYPTION;
    }
    for (xmlNodePtr child = node->children; child; child = child->next) {
        saml_error_t rc = s_check_no_fetch(self, child);
        if (rc)
            return rc;
    }
    return SAML_OK;
}

/* Every algorithm under EncryptedAssertion is checked before xmlsec runs: data ciphers
   AES-GCM/CBC, key transport RSA-OAEP, and no key material other than EncryptedKey. */
static saml_error_t s_check_encryption(saml_response_t *self, xmlNodePtr enc_data)
{
    xmlNodePtr method = saml_xml_child(enc_data, SAML_NS_XENC, "EncryptionMethod");
    char *alg = saml_xml_attr(method, "Algorithm");
    saml_error_t rc = SAML_OK;
    if (!s_in(alg, s_data_ciphers))
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: data cipher %.200s is not allowed "
                    "(only AES-128/256-GCM and AES-128/256-CBC)", alg ? alg : "(none)");
    free(alg);
    xmlNodePtr info = saml_xml_child(enc_data, SAML_NS_DSIG, "KeyInfo");
    size_t keys = 0;
    for (xmlNodePtr k = info ? info->children : NULL; rc == SAML_OK && k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!saml_xml_is(k, SAML_NS_XENC, "EncryptedKey")) {
            rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: only an EncryptedKey may carry "
                        "the key, found %s", (const char *) k->name);
            break;
        }
        keys++;
        alg = saml_xml_attr(saml_xml_child(k, SAML_NS_XENC, "EncryptionMethod"), "Algorithm");
        if (alg && strcmp(alg, S_ALG_RSA_1_5) == 0)
            rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: key transport %s is refused "
                        "(RSA PKCS#1 v1.5 allows padding-oracle attacks); use RSA-OAEP", alg);
        else if (!s_in(alg, s_key_transports))
            rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: key transport %.200s is not "
                        "allowed (only RSA-OAEP)", alg ? alg : "(none)");
        free(alg);
    }
    if (rc == SAML_OK && keys != 1)
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: expected one EncryptedKey, found %zu",
                    keys);
    return rc;
}

/* Decrypts the EncryptedAssertion (a direct child of root) in place with the SP key. The
   plaintext is parsed in the Response's context (namespaces) with the same rules as the
   document: no DTD, no entities, bounded depth. */
static saml_error_t s_decrypt(saml_response_t *self, xmlNodePtr root, xmlNodePtr enc_assertion)
{
    saml_error_t rc = s_check_no_fetch(self, enc_assertion);
    if (rc)
        return rc;
    if (!self->sp_key)
        return s_fail(self, SAML_ERR_DECRYPTION, "decryption: the Response carries an "
                      "EncryptedAssertion but no SP private key is configured");
    if (!self->sp_mngr) {
        xmlSecKeyPtr copy = xmlSecKeyDuplicate(self->sp_key);
        self->sp_mngr = copy ? s_new_mngr(true) : NULL;
        if (!self->sp_mngr || xmlSecCryptoAppDefaultKeysMngrAdoptKey(self->sp_mngr, copy) < 0) {
            if (copy)
                xmlSecKeyDestroy(copy);
            return s_fail(self, SAML_ERR_INTERNAL, "internal: could not load the SP key");
        }
    }
    if (saml_xml_count_children(enc_assertion, SAML_NS_XENC, "EncryptedData") != 1)
        return s_fail(self, SAML_ERR_DECRYPTION, "decryption: expected one EncryptedData in "
                      "the EncryptedAssertion");
    xmlNodePtr enc_data = saml_xml_child(enc_assertion, SAML_NS_XENC, "EncryptedData");
    /* Some IdPs put the EncryptedKey beside EncryptedData; move it where xmlsec looks. */
    xmlNodePtr sibling_key = saml_xml_child(enc_assertion, SAML_NS_XENC, "EncryptedKey");
    xmlNodePtr info = saml_xml_child(enc_data, SAML_NS_DSIG, "KeyInfo");
    if (sibling_key && saml_xml_count_children(enc_assertion, SAML_NS_XENC, "EncryptedKey") == 1
        && !saml_xml_child(info, SAML_NS_XENC, "EncryptedKey")) {
        if (!info) {
            info = xmlSecAddChild(enc_data, BAD_CAST "KeyInfo", BAD_CAST SAML_NS_DSIG);
            xmlNodePtr cipher = saml_xml_child(enc_data, SAML_NS_XENC, "CipherData");
            if (info && cipher) {
                xmlUnlinkNode(info);
                xmlAddPrevSibling(cipher, info);
            }
        }
        if (!info)
            return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
        xmlUnlinkNode(sibling_key);
        xmlAddChild(info, sibling_key);
    }
    rc = s_check_encryption(self, enc_data);
    if (rc)
        return rc;
    xmlSecEncCtxPtr ctx = xmlSecEncCtxCreate(self->sp_mngr);
    if (!ctx)
        return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
    xmlSecPtrListPtr enabled = &ctx->transformCtx.enabledTransforms;
    if (saml_xmlsec_restrict_enc(ctx) != 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes128CbcId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes256CbcId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes128GcmId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes256GcmId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformBase64Id) < 0) {
        xmlSecEncCtxDestroy(ctx);
        return s_fail(self, SAML_ERR_INTERNAL, "internal: could not set up decryption");
    }
    saml_xmlsec_reset_error();
    xmlSecBufferPtr plain = xmlSecEncCtxDecryptToBuffer(ctx, enc_data);
    if (!plain || xmlSecBufferGetSize(plain) == 0) {
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: the EncryptedAssertion could not be "
                    "decrypted with the SP key (%s)", saml_xmlsec_last_error()[0]
                    ? saml_xmlsec_last_error() : "xmlsec error");
        xmlSecEncCtxDestroy(ctx);
        return rc;
    }
    size_t len = xmlSecBufferGetSize(plain);
    const char *data = (const char *) xmlSecBufferGetData(plain);
    xmlNodePtr list = NULL;
    if (len > SAML_RESPONSE_MAX_BYTES || memchr(data, '\0', len))
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: the decrypted assertion is too large "
                    "or not text");
    else if (xmlParseInNodeContext(root, data, (int) len, XML_PARSE_NONET | XML_PARSE_NOCDATA
                                   | XML_PARSE_NOERROR | XML_PARSE_NOWARNING, &list) != XML_ERR_OK)
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: the decrypted content is not "
                    "well-formed XML");
    xmlSecEncCtxDestroy(ctx);
    xmlNodePtr assertion = NULL;
    for (xmlNodePtr n = list; rc == SAML_OK && n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !assertion
            && saml_xml_is(n, SAML_NS_ASSERTION, "Assertion"))
            assertion = n;
        else if (!(n->type == XML_TEXT_NODE && xmlIsBlankNode(n)) && n->type != XML_COMMENT_NODE)
            rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: the EncryptedAssertion must "
                        "contain exactly one saml:Assertion");
    }
    if (rc == SAML_OK && !assertion)
        rc = s_fail(self, SAML_ERR_DECRYPTION, "decryption: the EncryptedAssertion must contain "
                    "exactly one saml:Assertion");
    if (rc == SAML_OK && s_subtree_depth(assertion, 2) > SSO_XML_MAX_DEPTH)
        rc = s_fail(self, SAML_ERR_XML, "xml: the decrypted assertion is nested too deeply");
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

/* -------------------------------------------------------------------------- conditions */

/* Reads a required or optional time attribute; *present tells which. */
static saml_error_t s_time_attr(saml_response_t *self, xmlNodePtr node, const char *name,
                                const char *where, bool required, time_t *out, bool *present)
{
    char *text = saml_xml_attr(node, name);
    *present = text != NULL;
    saml_error_t rc = SAML_OK;
    if (!text && required)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: %s has no %s", where, name);
    else if (text && saml_time_parse(text, out) != 0)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: %s/@%s \"%.64s\" is not a UTC "
                    "xs:dateTime", where, name, text);
    free(text);
    return rc;
}

static saml_error_t s_not_expired(saml_response_t *self, const char *where, time_t until)
{
    if (self->now - self->skew < until)
        return SAML_OK;
    char a[32], b[32];
    saml_time_format(until, a, sizeof a);
    saml_time_format(self->now, b, sizeof b);
    return s_fail(self, SAML_ERR_EXPIRED, "expired: %s NotOnOrAfter %s is before now %s "
                  "(skew %ds)", where, a, b, self->skew);
}

static saml_error_t s_not_before(saml_response_t *self, const char *where, time_t from)
{
    if (from <= self->now + self->skew)
        return SAML_OK;
    char a[32], b[32];
    saml_time_format(from, a, sizeof a);
    saml_time_format(self->now, b, sizeof b);
    return s_fail(self, SAML_ERR_NOT_YET_VALID, "not yet valid: %s NotBefore %s is after now "
                  "%s (skew %ds)", where, a, b, self->skew);
}

static saml_error_t s_issuer(saml_response_t *self, xmlNodePtr parent, const char *what,
                             bool required)
{
    size_t count = saml_xml_count_children(parent, SAML_NS_ASSERTION, "Issuer");
    if (count == 0 && !required)
        return SAML_OK;
    if (count != 1)
        return s_fail(self, SAML_ERR_ISSUER, "issuer: the %s must have one Issuer, found %zu",
                      what, count);
    xmlNodePtr issuer = saml_xml_child(parent, SAML_NS_ASSERTION, "Issuer");
    char *format = saml_xml_attr(issuer, "Format"), *value = NULL;
    saml_error_t rc = SAML_OK;
    if (format && strcmp(format, S_NAMEID_ENTITY) != 0)
        rc = s_fail(self, SAML_ERR_ISSUER, "issuer: the %s's Issuer Format is %.200s; expected "
                    "%s", what, format, S_NAMEID_ENTITY);
    else if (saml_xml_text(issuer, &value) != 0)
        rc = s_fail(self, SAML_ERR_ISSUER, "issuer: the %s's Issuer is not plain text", what);
    else if (strcmp(value, self->idp_entity_id) != 0)
        rc = s_fail(self, SAML_ERR_ISSUER, "issuer: expected %s, got %.300s", self->idp_entity_id,
                    value);
    free(format);
    free(value);
    return rc;
}

static saml_error_t s_status(saml_response_t *self, xmlNodePtr root)
{
    xmlNodePtr status = saml_xml_child(root, SAML_NS_PROTOCOL, "Status");
    xmlNodePtr code = saml_xml_child(status, SAML_NS_PROTOCOL, "StatusCode");
    char *value = saml_xml_attr(code, "Value");
    saml_error_t rc = SAML_OK;
    if (!value)
        rc = s_fail(self, SAML_ERR_STATUS, "status: the Response has no Status/StatusCode");
    else if (strcmp(value, S_STATUS_SUCCESS) != 0) {
        /* The second-level code and message say why (AuthnFailed, RequestDenied...). */
        char *sub = saml_xml_attr(saml_xml_child(code, SAML_NS_PROTOCOL, "StatusCode"), "Value");
        char *message = NULL;
        xmlNodePtr msg = saml_xml_child(status, SAML_NS_PROTOCOL, "StatusMessage");
        if (msg && saml_xml_text(msg, &message) != 0)
            message = NULL;
        rc = s_fail(self, SAML_ERR_STATUS, "status: %.200s%s%.200s%s%.200s", value,
                    sub ? " / " : "", sub ? sub : "", message && *message ? ": " : "",
                    message ? message : "");
        free(sub);
        free(message);
    }
    free(value);
    return rc;
}

static saml_error_t s_response_checks(saml_response_t *self, xmlNodePtr root, bool signed_response)
{
    saml_error_t rc = s_issuer(self, root, "Response", false);
    if (rc)
        return rc;
    char *destination = saml_xml_attr(root, "Destination");
    if (!destination && signed_response)
        rc = s_fail(self, SAML_ERR_DESTINATION, "destination: the signed Response has no "
                    "Destination; expected %s", self->acs_url);
    else if (destination && strcmp(destination, self->acs_url) != 0)
        rc = s_fail(self, SAML_ERR_DESTINATION, "destination: expected %s, got %.300s",
                    self->acs_url, destination);
    free(destination);
    if (rc)
        return rc;
    char *irt = saml_xml_attr(root, "InResponseTo");
    if (irt && strcmp(irt, self->in_response_to) != 0)
        rc = s_fail(self, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected %s, got %.200s",
                    *self->in_response_to ? self->in_response_to : "none (IdP-initiated)", irt);
    free(irt);
    return rc;
}

/* One bearer SubjectConfirmationData: Recipient, NotOnOrAfter, NotBefore, InResponseTo. */
static saml_error_t s_bearer(saml_response_t *self, xmlNodePtr data, time_t *until)
{
    if (!data)
        return s_fail(self, SAML_ERR_SUBJECT, "subject: the bearer SubjectConfirmation has no "
                      "SubjectConfirmationData");
    char *recipient = saml_xml_attr(data, "Recipient");
    saml_error_t rc = SAML_OK;
    if (!recipient || strcmp(recipient, self->acs_url) != 0)
        rc = s_fail(self, SAML_ERR_RECIPIENT, "recipient: expected %s, got %.300s", self->acs_url,
                    recipient ? recipient : "none");
    free(recipient);
    bool present = false;
    time_t t = 0;
    if (rc == SAML_OK)
        rc = s_time_attr(self, data, "NotOnOrAfter", "SubjectConfirmationData", true, until,
                         &present);
    if (rc == SAML_OK)
        rc = s_not_expired(self, "SubjectConfirmationData", *until);
    if (rc == SAML_OK)
        rc = s_time_attr(self, data, "NotBefore", "SubjectConfirmationData", false, &t, &present);
    if (rc == SAML_OK && present)
        rc = s_not_before(self, "SubjectConfirmationData", t);
    if (rc)
        return rc;
    char *irt = saml_xml_attr(data, "InResponseTo");
    if (*self->in_response_to && (!irt || strcmp(irt, self->in_response_to) != 0))
        rc = s_fail(self, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected %s, got %.200s",
                    self->in_response_to, irt ? irt : "none (an unsolicited response)");
    else if (!*self->in_response_to && irt)
        rc = s_fail(self, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected none "
                    "(IdP-initiated), got %.200s", irt);
    free(irt);
    return rc;
}

static saml_error_t s_subject(saml_response_t *self, xmlNodePtr assertion, saml_profile_t *p,
                              time_t *until)
{
    if (saml_xml_count_children(assertion, SAML_NS_ASSERTION, "Subject") != 1)
        return s_fail(self, SAML_ERR_SUBJECT, "subject: the Assertion must have one Subject");
    xmlNodePtr subject = saml_xml_child(assertion, SAML_NS_ASSERTION, "Subject");
    if (saml_xml_child(subject, SAML_NS_ASSERTION, "EncryptedID"))
        return s_fail(self, SAML_ERR_SUBJECT, "subject: EncryptedID is not supported; send a "
                      "NameID (the assertion itself may be encrypted)");
    if (saml_xml_count_children(subject, SAML_NS_ASSERTION, "NameID") != 1)
        return s_fail(self, SAML_ERR_SUBJECT, "subject: the Subject must have one NameID");
    xmlNodePtr name_id = saml_xml_child(subject, SAML_NS_ASSERTION, "NameID");
    if (saml_xml_text(name_id, &p->subject) != 0 || !*p->subject)
        return s_fail(self, SAML_ERR_SUBJECT, "subject: the NameID must be non-empty text of at "
                      "most %d bytes", SAML_MAX_VALUE);
    p->name_id_format = saml_xml_attr(name_id, "Format");
    /* Any bearer confirmation that passes is enough; otherwise the first one's failure. */
    saml_error_t first = SAML_OK;
    char first_reason[S_REASON] = "";
    bool any = false;
    for (xmlNodePtr c = subject->children; c; c = c->next) {
        if (!saml_xml_is(c, SAML_NS_ASSERTION, "SubjectConfirmation"))
            continue;
        char *method = saml_xml_attr(c, "Method");
        bool bearer = method && strcmp(method, S_CM_BEARER) == 0;
        free(method);
        if (!bearer)
            continue;
        any = true;
        saml_error_t rc =
            s_bearer(self, saml_xml_child(c, SAML_NS_ASSERTION, "SubjectConfirmationData"), until);
        if (rc == SAML_OK)
            return SAML_OK;
        if (first == SAML_OK) {
            first = rc;
            snprintf(first_reason, sizeof first_reason, "%s", self->reason);
        }
    }
    if (!any)
        return s_fail(self, SAML_ERR_SUBJECT, "subject: no SubjectConfirmation with Method %s",
                      S_CM_BEARER);
    return s_fail(self, first, "%s", first_reason);
}

static saml_error_t s_conditions(saml_response_t *self, xmlNodePtr assertion, time_t *until)
{
    if (saml_xml_count_children(assertion, SAML_NS_ASSERTION, "Conditions") != 1)
        return s_fail(self, SAML_ERR_AUDIENCE, "audience: the Assertion must have one Conditions "
                      "with an AudienceRestriction for %s", self->sp_entity_id);
    xmlNodePtr cond = saml_xml_child(assertion, SAML_NS_ASSERTION, "Conditions");
    bool present = false;
    time_t t = 0;
    saml_error_t rc = s_time_attr(self, cond, "NotBefore", "Conditions", false, &t, &present);
    if (rc == SAML_OK && present)
        rc = s_not_before(self, "Conditions", t);
    if (rc == SAML_OK)
        rc = s_time_attr(self, cond, "NotOnOrAfter", "Conditions", false, &t, &present);
    if (rc == SAML_OK && present) {
        rc = s_not_expired(self, "Conditions", t);
        if (t < *until)
            *until = t;
    }
    if (rc)
        return rc;
    /* Every AudienceRestriction must name this SP (SAML core 2.5.1.4). */
    size_t restrictions = 0;
    for (xmlNodePtr r = cond->children; r; r = r->next) {
        if (!saml_xml_is(r, SAML_NS_ASSERTION, "AudienceRestriction"))
            continue;
        restrictions++;
        bool match = false;
        char got[512] = "";
        for (xmlNodePtr a = r->children; a; a = a->next) {
            char *value = NULL;
            if (!saml_xml_is(a, SAML_NS_ASSERTION, "Audience") || saml_xml_text(a, &value) != 0)
                continue;
            match |= strcmp(value, self->sp_entity_id) == 0;
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s", used ? ", " : "", value);
            free(value);
        }
        if (!match)
            return s_fail(self, SAML_ERR_AUDIENCE, "audience: expected %s, got %s",
                          self->sp_entity_id, got[0] ? got : "none");
    }
    if (restrictions == 0)
        return s_fail(self, SAML_ERR_AUDIENCE, "audience: expected %s, got no "
                      "AudienceRestriction", self->sp_entity_id);
    return SAML_OK;
}

static saml_error_t s_authn(saml_response_t *self, xmlNodePtr assertion, saml_profile_t *p)
{
    xmlNodePtr authn = saml_xml_child(assertion, SAML_NS_ASSERTION, "AuthnStatement");
    if (!authn)
        return s_fail(self, SAML_ERR_AUTHN_STATEMENT, "authn_statement: the Assertion has no "
                      "AuthnStatement");
    bool present = false;
    time_t until = 0;
    saml_error_t rc = s_time_attr(self, authn, "AuthnInstant", "AuthnStatement", true,
                                  &p->authn_instant, &present);
    if (rc == SAML_OK)
        rc = s_time_attr(self, authn, "SessionNotOnOrAfter", "AuthnStatement", false, &until,
                         &present);
    if (rc == SAML_OK && present)
        rc = s_not_expired(self, "AuthnStatement Session", until);
    if (rc == SAML_OK)
        p->session_index = saml_xml_attr(authn, "SessionIndex");
    return rc;
}

/* Everything read from the assertion, which is the node a verified signature covers. */
static saml_error_t s_assertion_checks(saml_response_t *self, xmlNodePtr assertion)
{
    saml_profile_t *p = saml_profile_new();
    if (!p)
        return s_fail(self, SAML_ERR_INTERNAL, "internal: out of memory");
    char *version = saml_xml_attr(assertion, "Version");
    bool present = false;
    time_t until = 0;
    saml_error_t rc = SAML_OK;
    if (!version || strcmp(version, "2.0") != 0)
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: Assertion Version %.20s; expected 2.0",
                    version ? version : "(none)");
    free(version);
    if (rc == SAML_OK && !(p->assertion_id = saml_xml_attr(assertion, "ID")))
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: the Assertion has no ID");
    /* The replay cache keys on this ID: it must be one it can hold (when only the Response is
       signed, s_verify has not bounded it). */
    if (rc == SAML_OK && (!*p->assertion_id || strlen(p->assertion_id) > S_MAX_ASSERTION_ID))
        rc = s_fail(self, SAML_ERR_STRUCTURE, "structure: the Assertion ID is empty or longer "
                    "than %d bytes (%zu)", S_MAX_ASSERTION_ID, strlen(p->assertion_id));
    if (rc == SAML_OK)
        rc = s_time_attr(self, assertion, "IssueInstant", "Assertion", true, &p->issue_instant,
                         &present);
    if (rc == SAML_OK)
        rc = s_issuer(self, assertion, "Assertion", true);
    if (rc == SAML_OK)
        rc = s_subject(self, assertion, p, &until);
    if (rc == SAML_OK)
        rc = s_conditions(self, assertion, &until);
    if (rc == SAML_OK)
        rc = s_authn(self, assertion, p);
    char why[256];
    if (rc == SAML_OK
        && saml_attributes_apply(self->attribute_map, assertion, p, why, sizeof why) != 0)
        rc = s_fail(self, SAML_ERR_ATTRIBUTES, "%s", why);
    if (rc == SAML_OK) {
        p->not_on_or_after = until;
        self->replay_until = until + self->skew;
        self->profile = p;
    }
    else
        saml_profile_destroy(&p);
    return rc;
}

/* -------------------------------------------------------------------------- validate */

static saml_error_t s_validate_doc(saml_response_t *self, xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!saml_xml_is(root, SAML_NS_PROTOCOL, "Response"))
        return s_fail(self, SAML_ERR_STRUCTURE, "structure: expected a samlp:Response, got %.100s",
                      root ? (const char *) root->name : "nothing");
    char *version = saml_xml_attr(root, "Version");
    bool v2 = version && strcmp(version, "2.0") == 0;
    free(version);
    if (!v2)
        return s_fail(self, SAML_ERR_STRUCTURE, "structure: the Response Version must be 2.0");
    saml_error_t rc = s_status(self, root);
    if (rc == SAML_OK)
        rc = s_check_structure(self, doc, root);
    xmlNodePtr response_sig = NULL, assertion_sig = NULL;
    if (rc == SAML_OK)
        rc = s_signature_of(self, root, "Response", &response_sig);
    if (rc == SAML_OK && response_sig)
        rc = s_verify(self, doc, root, response_sig, "Response");
    if (rc)
        return rc;
    xmlNodePtr encrypted = saml_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
    if (encrypted) {
        rc = s_decrypt(self, root, encrypted);
        /* The plaintext is new content: count assertions and IDs again. */
        if (rc == SAML_OK)
            rc = s_check_structure(self, doc, root);
        if (rc)
            return rc;
    }
    xmlNodePtr assertion = saml_xml_child(root, SAML_NS_ASSERTION, "Assertion");
    if (!assertion)
        return s_fail(self, SAML_ERR_STRUCTURE, "assertion: the Response has no Assertion");
    rc = s_signature_of(self, assertion, "Assertion", &assertion_sig);
    if (rc == SAML_OK && assertion_sig)
        rc = s_verify(self, doc, assertion, assertion_sig, "Assertion");
    if (rc == SAML_OK && !response_sig && !assertion_sig)
        rc = s_fail(self, SAML_ERR_SIGNATURE, "signature: neither the Response nor the Assertion "
                    "is signed");
    /* From here on a failure is about content the IdP vouched for. */
    self->authenticated = rc == SAML_OK;
    if (rc == SAML_OK)
        rc = s_response_checks(self, root, response_sig != NULL);
    if (rc == SAML_OK)
        rc = s_assertion_checks(self, assertion);
    return rc;
}

saml_error_t saml_response_validate(saml_response_t *self, const char *saml_response_b64)
{
    saml_profile_destroy(&self->profile);
    self->reason[0] = '\0';
    self->error = SAML_OK;
    self->authenticated = false;
    self->replay_until = 0;
    if (self->config_error[0])
        return s_fail(self, strncmp(self->config_error, "internal", 8) == 0 ? SAML_ERR_INTERNAL
                      : SAML_ERR_CONFIG, "%s", self->config_error);
    if (!*self->in_response_to && !self->allow_idp_initiated)
        return s_fail(self, SAML_ERR_IN_RESPONSE_TO, "in_response_to: no AuthnRequest is pending "
                      "and unsolicited (IdP-initiated) responses are not allowed for this "
                      "connection");
    uint8_t *xml = NULL;
    size_t len = 0;
    saml_error_t rc = s_decode(self, saml_response_b64, &xml, &len);
    if (rc)
        return rc;
    char why[256];
    xmlDocPtr doc = sso_xml_read_safe((const char *) xml, len, why, sizeof why);
    free(xml);
    if (!doc)
        return s_fail(self, SAML_ERR_XML, "xml: %s", why);
    rc = s_validate_doc(self, doc);
    xmlFreeDoc(doc);
    ERR_clear_error();
    return rc;
}

/* -------------------------------------------------------------------------- self-test */

typedef struct {
    const char *issuer, *audience, *destination, *recipient, *in_response_to, *status, *name_id;
    const char *extra_response;   /* raw XML inserted after the Response's Status */
    long not_on_or_after;         /* offset from now */
    long not_before;
    bool sign_response, sign_assertion, no_authn;
} s_case_t;

#define S_IDP "https://idp.test/metadata"
#define S_SP "https://sso.test/sso/saml/conn_1"
#define S_ACS S_SP "/acs"
#define S_NOW 1767323045L /* 2026-01-02T03:04:05Z */

static char *s_test_response(const s_case_t *c, const char *key, const char *cert)
{
    char now[32], before[32], after[32];
    saml_time_format(S_NOW, now, sizeof now);
    saml_time_format(S_NOW + c->not_before, before, sizeof before);
    saml_time_format(S_NOW + c->not_on_or_after, after, sizeof after);
    size_t size = 8192;
    char *xml = malloc(size);
    if (!xml)
        return NULL;
    snprintf(xml, size,
             "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
             "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_resp1\" Version=\"2.0\" "
             "IssueInstant=\"%s\" Destination=\"%s\" InResponseTo=\"%s\">"
             "<saml:Issuer>%s</saml:Issuer>"
             "<samlp:Status><samlp:StatusCode Value=\"%s\"/></samlp:Status>%s"
             "<saml:Assertion ID=\"_assert1\" Version=\"2.0\" IssueInstant=\"%s\">"
             "<saml:Issuer>%s</saml:Issuer>"
             "<saml:Subject><saml:NameID Format=\"%s\">%s</saml:NameID>"
             "<saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">"
             "<saml:SubjectConfirmationData Recipient=\"%s\" NotOnOrAfter=\"%s\" InResponseTo=\"%s\"/>"
             "</saml:SubjectConfirmation></saml:Subject>"
             "<saml:Conditions NotBefore=\"%s\" NotOnOrAfter=\"%s\"><saml:AudienceRestriction>"
             "<saml:Audience>%s</saml:Audience></saml:AudienceRestriction></saml:Conditions>"
             "%s"
             "<saml:AttributeStatement><saml:Attribute Name=\"firstName\"><saml:AttributeValue>"
             "Ann</saml:AttributeValue></saml:Attribute><saml:Attribute Name=\"groups\">"
             "<saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>"
             "</saml:AttributeStatement></saml:Assertion></samlp:Response>",
             now, c->destination ? c->destination : S_ACS,
             c->in_response_to ? c->in_response_to : "_req1", c->issuer ? c->issuer : S_IDP,
             c->status ? c->status : S_STATUS_SUCCESS, c->extra_response ? c->extra_response : "",
             now, c->issuer ? c->issuer : S_IDP, SAML_NAMEID_EMAIL,
             c->name_id ? c->name_id : "ann@example.com", c->recipient ? c->recipient : S_ACS,
             after, c->in_response_to ? c->in_response_to : "_req1", before, after,
             c->audience ? c->audience : S_SP,
             c->no_authn ? "" : "<saml:AuthnStatement AuthnInstant=\"2026-01-02T03:04:00Z\" "
                                "SessionIndex=\"_s1\"/>");
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    free(xml);
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr assertion = saml_xml_child(root, SAML_NS_ASSERTION, "Assertion");
    char *out = NULL;
    if ((!c->sign_assertion || saml_sign_enveloped(doc, assertion, key, cert) == 0)
        && (!c->sign_response || saml_sign_enveloped(doc, root, key, cert) == 0)) {
        xmlChar *text = NULL;
        int len = 0;
        xmlDocDumpMemory(doc, &text, &len);
        if (text)
            out = sso_base64_encode(text, (size_t) len);
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return out;
}

/* The decoding s_decode replaced (its checks, then sso_base64_decode), as the reference the
   table-driven decoder must agree with byte for byte and refusal for refusal. */
static saml_error_t s_decode_reference(const char *b64, uint8_t **out, size_t *len)
{
    if (!*b64)
        return SAML_ERR_INPUT;
    size_t significant = 0;
    for (size_t n = 0; b64[n]; n++) {
        char c = b64[n];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '+' || c == '/' || c == '=';
        if (alpha)
            significant++;
        else if (c != '\r' && c != '\n' && c != ' ' && c != '\t')
            return SAML_ERR_INPUT;
    }
    if (significant % 4 != 0)
        return SAML_ERR_INPUT;
    *out = sso_base64_decode(b64, len, true);
    return *out ? SAML_OK : SAML_ERR_INPUT;
}

static void s_decode_test(saml_response_t *v)
{
    /* Inputs from an alphabet rich in the edge cases: padding, blanks, junk ('-', '!'). */
    const char pool[] = "AQgw/+9=  =\n\t-!Z";
    uint32_t seed = 12345;
    size_t mismatches = 0, accepted = 0;
    for (int i = 0; i < 200000 && mismatches < 5; i++) {
        char text[48];
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 45;
        /* Half the strings only rarely leave the alphabet, so long valid runs are common. */
        unsigned odd = i % 2 ? 1 : 8;
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            text[k] = r % odd == 0 ? pool[(r / 8) % (sizeof pool - 1)] : "AQgw/+9Z"[(r / 8) % 8];
        }
        text[n] = '\0';
        uint8_t *a = NULL, *b = NULL;
        size_t a_len = 0, b_len = 0;
        saml_error_t ra = s_decode(v, text, &a, &a_len);
        saml_error_t rb = s_decode_reference(text, &b, &b_len);
        bool same = ra == rb && (ra != SAML_OK || (a_len == b_len && memcmp(a, b, a_len) == 0));
        if (!same && ++mismatches)
            fprintf(stderr, "  s_decode(\"%s\") disagrees with sso_base64_decode\n", text);
        accepted += ra == SAML_OK;
        free(a);
        free(b);
    }
    SSO_CHECK(mismatches == 0 && accepted > 1000);
    /* And on a whole signed response's worth of text, wrapped at 76 columns. */
    uint8_t raw[3000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t) (i * 7 + i / 13);
    char *flat = sso_base64_encode(raw, sizeof raw);
    char *wrapped = flat ? malloc(strlen(flat) + strlen(flat) / 76 + 1) : NULL;
    if (wrapped) {
        size_t w = 0;
        for (size_t i = 0; flat[i]; i++) {
            wrapped[w++] = flat[i];
            if (i % 76 == 75)
                wrapped[w++] = '\n';
        }
        wrapped[w] = '\0';
    }
    uint8_t *back = NULL;
    size_t back_len = 0;
    SSO_CHECK(wrapped && s_decode(v, wrapped, &back, &back_len) == SAML_OK
              && back_len == sizeof raw && memcmp(back, raw, sizeof raw) == 0);
    free(back);
    free(flat);
    free(wrapped);
}

static bool s_refused(saml_response_t *v, const char *b64, saml_error_t code, const char *text)
{
    saml_error_t rc = saml_response_validate(v, b64);
    bool ok = rc == code && strstr(saml_response_reason(v), text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected %s/%s, got %s: %s\n", saml_error_name(code), text,
                saml_error_name(rc), saml_response_reason(v));
    return ok;
}

void saml_response_test(bool verbose)
{
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(saml_xmlsec_init() == 0);
    SSO_CHECK(saml_test_keypair("idp.test", &key, &cert) == 0);
    SSO_CHECK(saml_test_keypair("attacker.test", &other_key, &other_cert) == 0);
    if (!key || !other_key)
        goto done;
    const char *certs[] = {other_cert, cert};
    saml_response_config_t config;
    saml_response_config_init(&config);
    config.idp_entity_id = S_IDP;
    config.idp_certificates = certs;
    config.n_idp_certificates = 2; /* rollover: the right key is the second one */
    config.sp_entity_id = S_SP;
    config.acs_url = S_ACS;
    config.in_response_to = "_req1";
    config.now = S_NOW;
    saml_response_t *v = saml_response_new(&config);
    SSO_CHECK(v != NULL);
    if (!v)
        goto done;

    /* Happy paths: signed assertion, signed response, both. */
    for (int mode = 1; mode <= 3; mode++) {
        s_case_t c = {.not_on_or_after = 300, .not_before = -60, .sign_assertion = mode & 1,
                      .sign_response = mode & 2};
        char *b64 = s_test_response(&c, key, cert);
        SSO_CHECK(b64 != NULL);
        saml_error_t rc = b64 ? saml_response_validate(v, b64) : SAML_ERR_INTERNAL;
        SSO_CHECK(rc == SAML_OK && saml_response_authenticated(v));
        if (rc != SAML_OK)
            fprintf(stderr, "  mode %d: %s\n", mode, saml_response_reason(v));
        const saml_profile_t *p = saml_response_profile(v);
        SSO_CHECK(p && strcmp(p->subject, "ann@example.com") == 0
                  && strcmp(p->email, "ann@example.com") == 0 && strcmp(p->name, "Ann") == 0
                  && p->n_groups == 1 && strcmp(p->assertion_id, "_assert1") == 0
                  && strcmp(p->session_index, "_s1") == 0 && p->not_on_or_after == S_NOW + 300
                  && saml_response_replay_until(v) == S_NOW + 300 + 120);
        if (verbose && p) {
            char *summary = saml_profile_summary(p);
            printf("  %s\n", summary ? summary : "?");
            free(summary);
        }
        free(b64);
    }
    saml_profile_t *taken = saml_response_take_profile(v);
    SSO_CHECK(taken && saml_response_profile(v) == NULL);
    saml_profile_destroy(&taken);

    /* Refusals with precise reasons. */
    struct {
        s_case_t c;
        saml_error_t code;
        const char *text;
    } bad[] = {
        {{.not_on_or_after = 300, .audience = "urn:foo", .sign_assertion = true},
         SAML_ERR_AUDIENCE, "audience: expected " S_SP ", got urn:foo"},
        {{.not_on_or_after = 300, .issuer = "https://evil.test", .sign_assertion = true},
         SAML_ERR_ISSUER, "issuer: expected " S_IDP ", got https://evil.test"},
        {{.not_on_or_after = -200, .not_before = -400, .sign_assertion = true},
         SAML_ERR_EXPIRED, "expired: SubjectConfirmationData NotOnOrAfter 2026-01-02T03:00:45Z "
                           "is before now 2026-01-02T03:04:05Z (skew 120s)"},
        {{.not_on_or_after = 900, .not_before = 600, .sign_assertion = true},
         SAML_ERR_NOT_YET_VALID, "not yet valid: Conditions NotBefore"},
        {{.not_on_or_after = 300, .destination = "https://other.test/acs", .sign_response = true},
         SAML_ERR_DESTINATION, "destination: expected " S_ACS ", got https://other.test/acs"},
        {{.not_on_or_after = 300, .recipient = "https://other.test/acs", .sign_assertion = true},
         SAML_ERR_RECIPIENT, "recipient: expected " S_ACS},
        {{.not_on_or_after = 300, .in_response_to = "_other", .sign_assertion = true},
         SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected _req1, got _other"},
        {{.not_on_or_after = 300, .status = "urn:oasis:names:tc:SAML:2.0:status:Responder",
          .sign_response = true},
         SAML_ERR_STATUS, "status: urn:oasis:names:tc:SAML:2.0:status:Responder"},
        {{.not_on_or_after = 300, .no_authn = true, .sign_assertion = true},
         SAML_ERR_AUTHN_STATEMENT, "no AuthnStatement"},
        {{.not_on_or_after = 300}, SAML_ERR_SIGNATURE, "neither the Response nor the Assertion"},
        {{.not_on_or_after = 300, .sign_assertion = true,
          .extra_response = "<samlp:Extensions><saml:Assertion ID=\"_x\"/></samlp:Extensions>"},
         SAML_ERR_STRUCTURE, "found 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b64 = s_test_response(&bad[i].c, key, cert);
        SSO_CHECK(b64 && s_refused(v, b64, bad[i].code, bad[i].text));
        SSO_CHECK(saml_response_profile(v) == NULL);
        /* Status and structure are read before any signature is checked. */
        bool before_signature = bad[i].code == SAML_ERR_SIGNATURE
                                || bad[i].code == SAML_ERR_STRUCTURE
                                || bad[i].code == SAML_ERR_STATUS;
        SSO_CHECK(saml_response_authenticated(v) == !before_signature);
        free(b64);
    }

    /* Signed by a key that is not configured: the reason names both fingerprints. */
    s_case_t good = {.not_on_or_after = 300, .sign_assertion = true};
    const char *only_real[] = {cert};
    config.idp_certificates = only_real;
    config.n_idp_certificates = 1;
    saml_response_t *strict = saml_response_new(&config);
    char *forged = s_test_response(&good, other_key, other_cert);
    char fp[96];
    saml_cert_fingerprint_pem(other_cert, fp);
    SSO_CHECK(strict && forged && s_refused(strict, forged, SAML_ERR_SIGNATURE, fp)
              && strstr(saml_response_reason(strict), "configured: "));
    free(forged);

    /* Content changed after signing: digest mismatch. */
    char *b64 = s_test_response(&good, key, cert);
    size_t len = 0;
    uint8_t *xml = b64 ? sso_base64_decode(b64, &len, false) : NULL;
    char *at = xml ? strstr((char *) xml, "ann@example.com</saml:NameID>") : NULL;
    if (at) {
        at[0] = 'b'; /* bnn@example.com */
        char *tampered = sso_base64_encode(xml, len);
        SSO_CHECK(tampered && s_refused(strict, tampered, SAML_ERR_SIGNATURE, "digest"));
        free(tampered);
    }
    SSO_CHECK(at != NULL);
    free(xml);
    free(b64);
    saml_response_destroy(&strict);

    /* Input handling. */
    s_decode_test(v);
    SSO_CHECK(s_refused(v, "", SAML_ERR_INPUT, "empty"));
    SSO_CHECK(s_refused(v, "PD94b-Ww", SAML_ERR_INPUT, "not base64"));
    SSO_CHECK(s_refused(v, "PGE+", SAML_ERR_XML, "xml: ") && !saml_response_authenticated(v));
    /* A control character from the document never reaches the reason (the event log refuses
       them, and the browser would get another answer). */
    const char *status = "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTOCOL "\" Version=\"2.0\">"
                         "<samlp:Status><samlp:StatusCode Value=\"urn:x&#10;y&#127;\"/>"
                         "</samlp:Status></samlp:Response>";
    char *controlled = sso_base64_encode((const uint8_t *) status, strlen(status));
    SSO_CHECK(controlled && s_refused(v, controlled, SAML_ERR_STATUS, "status: urn:x?y?"));
    free(controlled);
    char *doctype = sso_base64_encode((const uint8_t *) "<!DOCTYPE x><x/>", 16);
    SSO_CHECK(doctype && s_refused(v, doctype, SAML_ERR_XML, "DOCTYPE"));
    free(doctype);

    /* IdP-initiated: refused unless allowed. */
    config.in_response_to = NULL;
    config.idp_certificates = certs;
    config.n_idp_certificates = 2;
    saml_response_t *unsolicited = saml_response_new(&config);
    SSO_CHECK(unsolicited && s_refused(unsolicited, "PGE+", SAML_ERR_IN_RESPONSE_TO,
                                       "not allowed"));
    saml_response_destroy(&unsolicited);
    /* A bad configuration is reported on every call. */
    config.idp_certificates = (const char *const[]){"not a cert"};
    config.n_idp_certificates = 1;
    saml_response_t *broken = saml_response_new(&config);
    SSO_CHECK(broken && s_refused(broken, "PGE+", SAML_ERR_CONFIG, "not a PEM"));
    saml_response_destroy(&broken);
    SSO_CHECK(broken == NULL);
    SSO_CHECK(strcmp(saml_error_name(SAML_ERR_AUDIENCE), "audience") == 0);
    saml_response_destroy(&v);
done:
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}
