/* sso_xmldsig: xmlsec start-up with no I/O, then signature shape, verification with the
   configured keys only, and which node the verified signature covers; and the signer. */
#include "sso_xmldsig.h"
#include "sso_crypto.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include "sso_xml.h"
#include <arpa/inet.h>
#include <libxml/parser.h>
#include <libxml/valid.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keyinfo.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#define S_ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define S_ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define S_ALG_RSA_SHA1 "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define S_ALG_SHA1 "http://www.w3.org/2000/09/xmldsig#sha1"
#define S_NS_ASSERTION "urn:oasis:names:tc:SAML:2.0:assertion"

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_init_rc = -1;
/* Per thread so concurrent validations do not mix their reasons. */
static _Thread_local char s_last_error[256];

/* xmlsec reports errors through a callback; keeping the first one of an operation gives the
   reason a precise cause ("transform is not allowed") instead of a bare failure. */
static void s_xmlsec_error(const char *file, int line, const char *func, const char *object,
                           const char *subject, int reason, const char *msg)
{
    (void) file;
    (void) line;
    (void) func;
    if (s_last_error[0])
        return;
    const char *what = "error";
    for (xmlSecSize i = 0; xmlSecErrorsGetMsg(i); i++)
        if (xmlSecErrorsGetCode(i) == reason) {
            what = xmlSecErrorsGetMsg(i);
            break;
        }
    snprintf(s_last_error, sizeof s_last_error, "%s%s%s%s%s%s", what, object ? " in " : "",
             object ? object : "", subject ? " (" : "", subject ? subject : "", subject ? ")" : "");
    size_t used = strlen(s_last_error);
    if (msg && *msg && used + 3 < sizeof s_last_error)
        snprintf(s_last_error + used, sizeof s_last_error - used, ": %s", msg);
}

/* Last in s_init, after xmlInitParser and xmlSecInit, which register the default handlers
   (once: s_init runs under s_once, and a second xmlInitParser is a no-op). */
static int s_lock_io(void)
{
    if (sso_xml_forbid_io() != 0)
        return -1;
    /* xmlsec keeps its own list (file, HTTP, FTP) for URI transforms; an empty one opens
       nothing. */
    xmlSecIOCleanupCallbacks();
    return 0;
}

static void s_init(void)
{
    xmlInitParser();
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1)
        return;
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0 || s_lock_io() != 0)
        return;
    xmlSecErrorsSetCallback(s_xmlsec_error);
    s_init_rc = 0;
}

int sso_xmlsec_init(void)
{
    pthread_once(&s_once, s_init);
    return s_init_rc;
}

/* Key material is inline or configured: RetrievalMethod is never followed, and any
   transform it would run may only read the document itself. */
static void s_restrict_key_info(xmlSecKeyInfoCtxPtr info)
{
    info->retrievalMethodCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    info->maxRetrievalMethodLevel = 0;
}

void sso_xmlsec_restrict_dsig(xmlSecDSigCtxPtr ctx)
{
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->transformCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    s_restrict_key_info(&ctx->keyInfoReadCtx);
}

const char *sso_xmlsec_last_error(void)
{
    return s_last_error;
}

void sso_xmlsec_reset_error(void)
{
    s_last_error[0] = '\0';
}

void sso_xmldsig_fingerprint_der(const unsigned char *der, size_t len, char out[96])
{
    uint8_t digest[32];
    sso_sha256(der, len, digest);
    for (int i = 0; i < 32; i++)
        snprintf(out + 3 * i, 4, "%02X%s", digest[i], i < 31 ? ":" : "");
}

/* Parses an IdP certificate into an xmlsec key holding its public key; RSA keys under 2048
   bits are refused (they can be factored by a determined attacker). */
xmlSecKeyPtr sso_xmldsig_key_from_pem(const char *pem, char fingerprint[96], char *why,
                                    size_t why_size)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pkey = cert ? X509_get_pubkey(cert) : NULL;
    xmlSecKeyPtr key = NULL;
    unsigned char *der = NULL;
    int der_len = cert ? i2d_X509(cert, &der) : -1;
    if (!cert || !pkey || der_len <= 0)
        snprintf(why, why_size, "config: an IdP certificate is not a PEM X.509 certificate");
    else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 2048)
        snprintf(why, why_size, "config: an IdP certificate has an RSA key of %d bits; at least "
                 "2048 are required", EVP_PKEY_get_bits(pkey));
    else if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA
             && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
        snprintf(why, why_size, "config: an IdP certificate has neither an RSA nor an EC key");
    else {
        sso_xmldsig_fingerprint_der(der, (size_t) der_len, fingerprint);
        xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(pkey);
        if (data) {
            pkey = NULL; /* owned by data now */
            key = xmlSecKeyCreate();
            if (!key || xmlSecKeySetValue(key, data) < 0) {
                xmlSecKeyDataDestroy(data);
                if (key)
                    xmlSecKeyDestroy(key);
                key = NULL;
            }
        }
        if (!key)
            snprintf(why, why_size, "config: could not load an IdP certificate's key");
    }
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    X509_free(cert);
    BIO_free(bio);
    ERR_clear_error();
    return key;
}

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

struct sso_xmldsig_t {
    bool allow_sha1;
    xmlSecKeyPtr keys[SSO_XMLDSIG_MAX_KEYS];
    char fingerprints[SSO_XMLDSIG_MAX_KEYS][96];
    size_t n_keys;
    xmlSecKeysMngrPtr mngr;
};

/* A keys manager holding only the keys given to it. For verification a simple keys store is
   enough: the crypto library's default manager also builds an X.509 store from the system's CA
   bundle, which costs tens of milliseconds per response and is never used (keys are configured
   per connection and pinned, never found through certificate chains). */
static xmlSecKeysMngrPtr s_new_mngr(void)
{
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

sso_xmldsig_t *sso_xmldsig_new(bool allow_sha1)
{
    sso_xmldsig_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->allow_sha1 = allow_sha1;
    if (!(self->mngr = s_new_mngr()))
        sso_xmldsig_destroy(&self);
    return self;
}

void sso_xmldsig_destroy(sso_xmldsig_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_xmldsig_t *self = *self_p;
    for (size_t i = 0; i < self->n_keys; i++)
        xmlSecKeyDestroy(self->keys[i]);
    if (self->mngr)
        xmlSecKeysMngrDestroy(self->mngr);
    free(self);
    *self_p = NULL;
}

int sso_xmldsig_add_key(sso_xmldsig_t *self, xmlSecKeyPtr key, const char *fingerprint,
                        char *why, size_t why_size)
{
    if (self->n_keys >= SSO_XMLDSIG_MAX_KEYS) {
        xmlSecKeyDestroy(key);
        snprintf(why, why_size, "config: at most %d signing certificates", SSO_XMLDSIG_MAX_KEYS);
        return -1;
    }
    snprintf(self->fingerprints[self->n_keys], sizeof self->fingerprints[0], "%s", fingerprint);
    self->keys[self->n_keys++] = key;
    /* The keys manager holds only the configured keys; verification additionally pins
       the key per attempt (signKey), so KeyInfo is never consulted. */
    xmlSecKeyPtr copy = xmlSecKeyDuplicate(key);
    if (!copy || xmlSecCryptoAppDefaultKeysMngrAdoptKey(self->mngr, copy) < 0) {
        if (copy)
            xmlSecKeyDestroy(copy);
        snprintf(why, why_size, "internal: could not load the signing keys");
        return -1;
    }
    return 0;
}

int sso_xmldsig_add_certificate(sso_xmldsig_t *self, const char *pem, char *why,
                                size_t why_size)
{
    char fingerprint[96];
    xmlSecKeyPtr key = sso_xmldsig_key_from_pem(pem, fingerprint, why, why_size);
    return key ? sso_xmldsig_add_key(self, key, fingerprint, why, why_size) : -1;
}

/* Records a reason with control characters quoted from the document as '?': event logs
   refuse them. Returns code, so a check can `return s_fail(...)`. */
__attribute__((format(printf, 4, 5)))
static sso_xmldsig_error_t s_fail(char *why, size_t why_size, sso_xmldsig_error_t code,
                                  const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, why_size, fmt, args);
    va_end(args);
    for (char *c = why; *c; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            *c = '?';
    return code;
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
static sso_xmldsig_error_t s_check_signature_shape(const sso_xmldsig_t *self,
                                            char *why, size_t why_size, xmlNodePtr sig, const char *what,
                                            const char *id)
{
    bool junk = false;
    xmlNodePtr signed_info = s_next_element(sig->children, &junk);
    xmlNodePtr value = signed_info ? s_next_element(signed_info->next, &junk) : NULL;
    xmlNodePtr rest = value ? s_next_element(value->next, &junk) : NULL;
    if (sso_xml_is(rest, SSO_XML_NS_DSIG, "KeyInfo"))
        rest = s_next_element(rest->next, &junk);
    if (!sso_xml_is(signed_info, SSO_XML_NS_DSIG, "SignedInfo")
        || !sso_xml_is(value, SSO_XML_NS_DSIG, "SignatureValue"))
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                         "signature: the %s's Signature lacks SignedInfo "
                         "or SignatureValue",
                         what);
    if (rest)
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: the %s's Signature contains a "
                      "ds:%s element, which is not allowed", what, (const char *) rest->name);
    if (junk)
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: the %s's Signature contains text",
                      what);
    xmlNodePtr c14n = s_next_element(signed_info->children, &junk);
    xmlNodePtr method = c14n ? s_next_element(c14n->next, &junk) : NULL;
    char *alg = sso_xml_attr(c14n, "Algorithm");
    bool ok = sso_xml_is(c14n, SSO_XML_NS_DSIG, "CanonicalizationMethod") && alg
              && strcmp(alg, S_ALG_EXC_C14N) == 0;
    sso_xmldsig_error_t rc = SSO_XMLDSIG_OK;
    if (!ok)
        rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                       "signature: CanonicalizationMethod %.200s is not "
                       "allowed (only %s)",
                       alg ? alg : "(none)", S_ALG_EXC_C14N);
    free(alg);
    if (rc)
        return rc;
    alg = sso_xml_attr(method, "Algorithm");
    ok = sso_xml_is(method, SSO_XML_NS_DSIG, "SignatureMethod") && alg
         && (sso_xml_in_list(alg, s_sign_methods)
             || (self->allow_sha1 && strcmp(alg, S_ALG_RSA_SHA1) == 0));
    if (!ok)
        rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                       "signature: SignatureMethod %.200s is not allowed "
                       "(only RSA-SHA256/384/512 and ECDSA-SHA256/384/512%s)",
                       alg ? alg : "(none)", self->allow_sha1 ? " and RSA-SHA1" : "");
    free(alg);
    if (rc)
        return rc;
    size_t references = sso_xml_count_children(signed_info, SSO_XML_NS_DSIG, "Reference");
    if (references != 1)
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                         "signature: the %s's Signature must have exactly "
                         "one Reference, found %zu",
                         what, references);
    xmlNodePtr ref = sso_xml_child(signed_info, SSO_XML_NS_DSIG, "Reference");
    for (xmlNodePtr n = s_next_element(signed_info->children, &junk); n;
         n = s_next_element(n->next, &junk))
        if (n != c14n && n != method && n != ref)
            return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                             "signature: unexpected ds:%s in SignedInfo", (const char *) n->name);
    char *uri = sso_xml_attr(ref, "URI");
    ok = uri && uri[0] == '#' && strcmp(uri + 1, id) == 0;
    if (!ok)
        rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                       "signature: the Reference URI is \"%.200s\"; "
                       "expected \"#%.200s\" (the ID of the signed %s)",
                       uri ? uri : "(none)", id, what);
    free(uri);
    if (rc)
        return rc;
    size_t n_transforms = 0;
    for (xmlNodePtr n = s_next_element(ref->children, &junk); n;
         n = s_next_element(n->next, &junk)) {
        if (sso_xml_is(n, SSO_XML_NS_DSIG, "Transforms")) {
            for (xmlNodePtr t = s_next_element(n->children, &junk); t;
                 t = s_next_element(t->next, &junk)) {
                alg = sso_xml_attr(t, "Algorithm");
                ok = sso_xml_is(t, SSO_XML_NS_DSIG, "Transform") && alg
                     && (strcmp(alg, S_ALG_ENVELOPED) == 0 || strcmp(alg, S_ALG_EXC_C14N) == 0)
                     && ++n_transforms <= 2;
                if (!ok)
                    rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: transform %.200s is not "
                                "allowed (only enveloped-signature and exclusive c14n, once each)",
                                alg ? alg : "(none)");
                free(alg);
                if (rc)
                    return rc;
            }
        }
        else if (sso_xml_is(n, SSO_XML_NS_DSIG, "DigestMethod")) {
            alg = sso_xml_attr(n, "Algorithm");
            ok = alg
                 && (sso_xml_in_list(alg, s_digests)
                     || (self->allow_sha1 && strcmp(alg, S_ALG_SHA1) == 0));
            if (!ok)
                rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: DigestMethod %.200s is not "
                            "allowed (only SHA-256/384/512)", alg ? alg : "(none)");
            free(alg);
            if (rc)
                return rc;
        }
        else if (!sso_xml_is(n, SSO_XML_NS_DSIG, "DigestValue"))
            return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: unexpected ds:%s in Reference",
                          (const char *) n->name);
    }
    if (junk)
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: unexpected text in SignedInfo");
    return SSO_XMLDSIG_OK;
}

/* The certificate an attacker or a misconfigured IdP put in KeyInfo, for the reason only:
   it is never used as a key. */
static void s_keyinfo_fingerprint(xmlNodePtr sig, char out[96])
{
    out[0] = '\0';
    xmlNodePtr info = sso_xml_child(sig, SSO_XML_NS_DSIG, "KeyInfo");
    xmlNodePtr data = sso_xml_child(info, SSO_XML_NS_DSIG, "X509Data");
    xmlNodePtr cert = sso_xml_child(data, SSO_XML_NS_DSIG, "X509Certificate");
    char *text = NULL;
    if (!cert || sso_xml_text(cert, &text) != 0)
        return;
    size_t len = 0;
    uint8_t *der = sso_base64_decode(text, &len, true);
    if (der)
        sso_xmldsig_fingerprint_der(der, len, out);
    free(der);
    free(text);
}

static int s_enable_transforms(const sso_xmldsig_t *self, xmlSecDSigCtxPtr ctx)
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
static sso_xmldsig_error_t s_register_id(char *why, size_t why_size, xmlDocPtr doc, xmlNodePtr node,
                                  const char *id)
{
    xmlAttrPtr attr = xmlHasNsProp(node, BAD_CAST "ID", NULL);
    xmlAttrPtr known = xmlGetID(doc, BAD_CAST id);
    if (known == attr)
        return SSO_XMLDSIG_OK;
    if (known || !attr || !xmlAddID(NULL, doc, BAD_CAST id, attr))
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_STRUCTURE, "structure: the ID \"%.200s\" is not unique",
                         id);
    return SSO_XMLDSIG_OK;
}

/* Verifies the one Signature that is a direct child of `node` with the configured keys only.
   On success returns the element the verified Reference resolved to, which the caller
   compares with `node`: identity is read only from that element. */
sso_xmldsig_error_t sso_xmldsig_verify(const sso_xmldsig_t *self, xmlDocPtr doc, xmlNodePtr node,
                                       xmlNodePtr sig, const char *what, char *why,
                                       size_t why_size)
{
    char *id = sso_xml_attr(node, "ID");
    if (!id || !*id || strlen(id) > SSO_XMLDSIG_MAX_ID) {
        free(id);
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_STRUCTURE, "structure: the signed %s has no usable ID",
                         what);
    }
    sso_xmldsig_error_t rc = s_check_signature_shape(self, why, why_size, sig, what, id);
    if (rc == SSO_XMLDSIG_OK)
        rc = s_register_id(why, why_size, doc, node, id);
    bool verified = false, digest_failed = false;
    for (size_t k = 0; rc == SSO_XMLDSIG_OK && !verified && !digest_failed && k < self->n_keys; k++) {
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(self->mngr);
        if (!ctx) {
            rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_INTERNAL, "internal: out of memory");
            break;
        }
        ctx->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
        sso_xmlsec_restrict_dsig(ctx);
        ctx->signKey = xmlSecKeyDuplicate(self->keys[k]);
        sso_xmlsec_reset_error();
        if (!ctx->signKey || s_enable_transforms(self, ctx) != 0)
            rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_INTERNAL, "internal: could not set up verification");
        else if (xmlSecDSigCtxVerify(ctx, sig) < 0)
            rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: the %s's signature could not be "
                        "processed (%s)", what, sso_xmlsec_last_error()[0]
                        ? sso_xmlsec_last_error() : "xmlsec error");
        else {
            xmlSecSize n_refs = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
            xmlSecDSigReferenceCtxPtr ref =
                n_refs == 1 ? xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
            if (!ref)
                rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: expected one verified "
                            "Reference, got %u", (unsigned) n_refs);
            else if (ref->status != xmlSecDSigStatusSucceeded)
                digest_failed = true;
            else if (ctx->status == xmlSecDSigStatusSucceeded) {
                /* The verified reference must be the "#ID" of this very element. */
                xmlAttrPtr target = xmlGetID(doc, BAD_CAST id);
                if (!ref->uri || ref->uri[0] != '#' || strcmp((const char *) ref->uri + 1, id) != 0
                    || !target || target->parent != node)
                    rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: the verified Reference "
                                "does not cover the %s", what);
                else
                    verified = true;
            }
        }
        xmlSecDSigCtxDestroy(ctx);
    }
    if (rc == SSO_XMLDSIG_OK && digest_failed)
        rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                       "signature: the digest of the signed %s does not "
                       "match: it was changed after signing",
                       what);
    else if (rc == SSO_XMLDSIG_OK && !verified) {
        char seen[96], configured[SSO_XMLDSIG_MAX_KEYS * 97 + 1] = "";
        s_keyinfo_fingerprint(sig, seen);
        for (size_t k = 0; k < self->n_keys; k++) {
            size_t used = strlen(configured);
            snprintf(configured + used, sizeof configured - used, "%s%s", k ? ", " : "",
                     self->fingerprints[k]);
        }
        bool known = false;
        for (size_t k = 0; seen[0] && k < self->n_keys; k++)
            known |= strcmp(seen, self->fingerprints[k]) == 0;
        if (seen[0] && !known)
            rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                           "signature: the %s is signed by a certificate "
                           "with SHA-256 fingerprint %s, configured: %s",
                           what, seen, configured);
        else
            rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE,
                           "signature: the %s's signature does not verify "
                           "with any configured certificate (configured: %s)",
                           what, configured);
    }
    free(id);
    return rc;
}

/* The single ds:Signature child of node: NULL when unsigned; more than one is refused. */
sso_xmldsig_error_t sso_xmldsig_signature_of(xmlNodePtr node, const char *what, xmlNodePtr *sig,
                                             char *why, size_t why_size)
{
    size_t count = sso_xml_count_children(node, SSO_XML_NS_DSIG, "Signature");
    *sig = count == 1 ? sso_xml_child(node, SSO_XML_NS_DSIG, "Signature") : NULL;
    if (count > 1)
        return s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "signature: the %s has %zu Signature elements",
                      what, count);
    return SSO_XMLDSIG_OK;
}

int sso_xmldsig_sign(xmlDocPtr doc, xmlNodePtr node, const char *key_pem, const char *cert_pem)
{
    char *id = sso_xml_attr(node, "ID");
    char uri[300];
    snprintf(uri, sizeof uri, "#%s", id ? id : "");
    xmlNodePtr sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId,
                                               xmlSecTransformRsaSha256Id, NULL);
    xmlNodePtr issuer = sso_xml_child(node, S_NS_ASSERTION, "Issuer");
    int rc = -1;
    xmlNodePtr placed = !sig ? NULL
                        : issuer ? xmlAddNextSibling(issuer, sig)
                        : node->children ? xmlAddPrevSibling(node->children, sig)
                                         : xmlAddChild(node, sig);
    if (placed) {
        xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
                                                         BAD_CAST uri, NULL);
        xmlNodePtr info = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
        if (!xmlGetID(doc, BAD_CAST id))
            xmlAddID(NULL, doc, BAD_CAST id, xmlHasNsProp(node, BAD_CAST "ID", NULL));
        if (ref && info && ctx && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId)
            && xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId)
            && xmlSecTmplKeyInfoAddX509Data(info)) {
            ctx->signKey = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *) key_pem,
                                                        (xmlSecSize) strlen(key_pem),
                                                        xmlSecKeyDataFormatPem, NULL, NULL, NULL);
            if (ctx->signKey
                && xmlSecCryptoAppKeyCertLoadMemory(ctx->signKey, (const xmlSecByte *) cert_pem,
                                                    (xmlSecSize) strlen(cert_pem),
                                                    xmlSecKeyDataFormatPem) == 0
                && xmlSecDSigCtxSign(ctx, sig) == 0)
                rc = 0;
        }
        if (ctx)
            xmlSecDSigCtxDestroy(ctx);
    }
    else if (sig)
        xmlFreeNode(sig);
    free(id);
    return rc;
}

static char *s_bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? strndup(data, (size_t) len) : NULL;
}

int sso_xmldsig_test_keypair(const char *cn, char **key_pem, char **cert_pem)
{
    *key_pem = *cert_pem = NULL;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    X509 *cert = X509_new();
    BIO *kbio = BIO_new(BIO_s_mem()), *cbio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (pkey && cert && kbio && cbio && X509_set_version(cert, 2) == 1
        && ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1
        && X509_gmtime_adj(X509_getm_notBefore(cert), 0)
        && X509_gmtime_adj(X509_getm_notAfter(cert), 86400)
        && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                      (const unsigned char *) cn, -1, -1, 0) == 1
        && X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1
        && X509_set_pubkey(cert, pkey) == 1 && X509_sign(cert, pkey, EVP_sha256()) > 0
        && PEM_write_bio_PrivateKey(kbio, pkey, NULL, NULL, 0, NULL, NULL) == 1
        && PEM_write_bio_X509(cbio, cert) == 1) {
        *key_pem = s_bio_string(kbio);
        *cert_pem = s_bio_string(cbio);
        rc = *key_pem && *cert_pem ? 0 : -1;
    }
    if (rc != 0) {
        free(*key_pem);
        free(*cert_pem);
        *key_pem = *cert_pem = NULL;
    }
    BIO_free(kbio);
    BIO_free(cbio);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return rc;
}

/* ---- self-test: nothing reaches the disk or the network ---------------------------------- */

/* A loopback TCP listener that counts the connections made to it and closes each at once
   (so a client that got through fails fast instead of waiting for an answer). */
typedef struct {
    int fd, port;
    _Atomic int connections;
    _Atomic bool stop;
    pthread_t thread;
} s_listener_t;

static void *s_listener_run(void *arg)
{
    s_listener_t *self = arg;
    while (!self->stop) {
        struct pollfd p = {.fd = self->fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            int conn = accept(self->fd, NULL, NULL);
            if (conn >= 0) {
                self->connections++;
                close(conn);
            }
        }
    }
    return NULL;
}

static int s_listener_start(s_listener_t *self)
{
    *self = (s_listener_t) {.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (self->fd < 0 || bind(self->fd, (struct sockaddr *) &addr, sizeof addr) != 0
        || listen(self->fd, 8) != 0 || getsockname(self->fd, (struct sockaddr *) &addr, &len) != 0
        || pthread_create(&self->thread, NULL, s_listener_run, self) != 0) {
        if (self->fd >= 0)
            close(self->fd);
        self->fd = -1;
        return -1;
    }
    self->port = ntohs(addr.sin_port);
    return 0;
}

/* Stops the listener; the number of connections it saw. */
static int s_listener_stop(s_listener_t *self)
{
    if (self->fd < 0)
        return -1;
    usleep(50 * 1000); /* a connection still in flight */
    self->stop = true;
    pthread_join(self->thread, NULL);
    close(self->fd);
    return self->connections;
}

static void s_no_io_test(void)
{
    char path[] = "/tmp/saml-xml-test-XXXXXX", url[128], file_url[64], xml[2048];
    int fd = mkstemp(path);
    SSO_CHECK(fd >= 0 && write(fd, "<a>on disk</a>", 14) == 14);
    if (fd >= 0)
        close(fd);
    s_listener_t listener;
    SSO_CHECK(s_listener_start(&listener) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fetched", listener.port);
    snprintf(file_url, sizeof file_url, "file://%s", path);

    /* libxml2: no file, no HTTP, no external entity (xmlSecInit installs a refusing entity
       loader of its own as well); initializing again changes nothing. */
    xmlInitParser();
    xmlDocPtr doc = xmlReadFile(path, NULL, 0);
    SSO_CHECK(doc == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(file_url, NULL, 0)) == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(url, NULL, 0)) == NULL);
    xmlFreeDoc(doc);
    snprintf(xml, sizeof xml, "<!DOCTYPE a [<!ENTITY e SYSTEM \"%s\">]><a>&e;</a>", file_url);
    doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL,
                        XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_NOERROR
                        | XML_PARSE_NOWARNING);
    xmlChar *text = doc ? xmlNodeGetContent(xmlDocGetRootElement(doc)) : NULL;
    SSO_CHECK(!text || !strstr((const char *) text, "on disk"));
    xmlFree(text);
    xmlFreeDoc(doc);

    /* xmlsec's URI transforms, even in a context that allows every URI type. */
    xmlSecTransformCtxPtr transforms = xmlSecTransformCtxCreate();
    SSO_CHECK(transforms && transforms->enabledUris == xmlSecTransformUriTypeAny);
    SSO_CHECK(transforms && xmlSecTransformCtxUriExecute(transforms, BAD_CAST file_url) < 0);
    if (transforms)
        xmlSecTransformCtxReset(transforms);
    SSO_CHECK(transforms && xmlSecTransformCtxUriExecute(transforms, BAD_CAST url) < 0);
    if (transforms)
        xmlSecTransformCtxDestroy(transforms);

    /* The restricted signature context refuses the URI itself (a layer of its own,
       independent of the handlers above). */
    char *key_pem = NULL, *cert_pem = NULL;
    SSO_CHECK(sso_xmldsig_test_keypair("sp.test", &key_pem, &cert_pem) == 0);
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    SSO_CHECK(mngr && cert_pem && xmlSecCryptoAppDefaultKeysMngrInit(mngr) == 0);
    /* A signature whose Reference points outside the document. */
    snprintf(xml, sizeof xml, "<ds:Signature xmlns:ds=\"" SSO_XML_NS_DSIG "\"><ds:SignedInfo>"
             "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
             "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
             "<ds:Reference URI=\"%s\"><ds:DigestMethod Algorithm=\""
             "http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>AAAA</ds:DigestValue>"
             "</ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue>"
             "</ds:Signature>", url);
    doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    xmlSecDSigCtxPtr dsig = mngr && cert_pem ? xmlSecDSigCtxCreate(mngr) : NULL;
    if (dsig) {
        sso_xmlsec_restrict_dsig(dsig);
        dsig->signKey = xmlSecCryptoAppKeyLoadMemory((const xmlSecByte *) cert_pem,
                                                     (xmlSecSize) strlen(cert_pem),
                                                     xmlSecKeyDataFormatCertPem, NULL, NULL, NULL);
    }
    sso_xmlsec_reset_error();
    SSO_CHECK(doc && dsig && dsig->signKey
              && xmlSecDSigCtxVerify(dsig, xmlDocGetRootElement(doc)) < 0
              && strstr(sso_xmlsec_last_error(), "invalid URI type"));
    if (dsig)
        xmlSecDSigCtxDestroy(dsig);
    xmlFreeDoc(doc);
    if (mngr)
        xmlSecKeysMngrDestroy(mngr);
    free(key_pem);
    free(cert_pem);

    SSO_CHECK(s_listener_stop(&listener) == 0);
    unlink(path);
    sso_xmlsec_reset_error();
}


/* A signed metadata-like document (no Issuer: the signature goes first), as text. */
static char *s_signed_doc(const char *key, const char *cert, const char *entity_id)
{
    char xml[512];
    snprintf(xml, sizeof xml, "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:"
             "metadata\" ID=\"_m1\" entityID=\"%s\"><md:IDPSSODescriptor/>"
             "</md:EntityDescriptor>", entity_id);
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    xmlChar *text = NULL;
    int len = 0;
    if (doc && sso_xmldsig_sign(doc, xmlDocGetRootElement(doc), key, cert) == 0)
        xmlDocDumpMemory(doc, &text, &len);
    xmlFreeDoc(doc);
    char *out = text ? strdup((const char *) text) : NULL;
    xmlFree(text);
    return out;
}

/* Verifies the root of xml with dsig; the reason in why. */
static sso_xmldsig_error_t s_verify_root(const sso_xmldsig_t *dsig, const char *xml, char *why,
                                         size_t why_size)
{
    why[0] = '\0';
    xmlDocPtr doc = xml ? xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET)
                        : NULL;
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, sig = NULL;
    sso_xmldsig_error_t rc = !root ? SSO_XMLDSIG_ERR_INTERNAL
                             : sso_xmldsig_signature_of(root, "EntityDescriptor", &sig, why,
                                                        why_size);
    if (rc == SSO_XMLDSIG_OK && !sig)
        rc = s_fail(why, why_size, SSO_XMLDSIG_ERR_SIGNATURE, "unsigned");
    if (rc == SSO_XMLDSIG_OK)
        rc = sso_xmldsig_verify(dsig, doc, root, sig, "EntityDescriptor", why, why_size);
    xmlFreeDoc(doc);
    ERR_clear_error();
    return rc;
}

/* xml with the first `from` replaced by `to` (same length or not); NULL if absent. */
static char *s_edit(const char *xml, const char *from, const char *to)
{
    const char *at = xml ? strstr(xml, from) : NULL;
    if (!at)
        return NULL;
    size_t head = (size_t) (at - xml), size = strlen(xml) - strlen(from) + strlen(to) + 1;
    char *out = malloc(size);
    if (out)
        snprintf(out, size, "%.*s%s%s", (int) head, xml, to, at + strlen(from));
    return out;
}

static void s_verify_test(void)
{
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL, why[512];
    SSO_CHECK(sso_xmldsig_test_keypair("md.test", &key, &cert) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("other.test", &other_key, &other_cert) == 0);
    sso_xmldsig_t *dsig = sso_xmldsig_new(false);
    SSO_CHECK(dsig && cert && sso_xmldsig_add_certificate(dsig, cert, why, sizeof why) == 0);
    SSO_CHECK(dsig && sso_xmldsig_add_certificate(dsig, "junk", why, sizeof why) == -1
              && strstr(why, "not a PEM X.509 certificate"));
    SSO_CHECK(dsig && sso_xmldsig_add_certificate(dsig, "", why, sizeof why) == -1);
    char *good = key ? s_signed_doc(key, cert, "https://idp.test/") : NULL;
    SSO_CHECK(good && strstr(good, "<md:EntityDescriptor") < strstr(good, "Signature")
              && strstr(good, "Signature") < strstr(good, "<md:IDPSSODescriptor"));
    SSO_CHECK(dsig && good && s_verify_root(dsig, good, why, sizeof why) == SSO_XMLDSIG_OK);

    /* Changed after signing, signed by another key, a shape outside the allow-list, a
       Reference to another element, no ID: each refused with its reason. */
    char *changed = s_edit(good, "https://idp.test/", "https://evil.test/");
    SSO_CHECK(changed && s_verify_root(dsig, changed, why, sizeof why) == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, "it was changed after signing"));
    char *forged = other_key ? s_signed_doc(other_key, other_cert, "https://idp.test/") : NULL;
    char fp[96] = "";
    xmlSecKeyPtr other = other_cert ? sso_xmldsig_key_from_pem(other_cert, fp, why, sizeof why)
                                    : NULL;
    SSO_CHECK(other && strlen(fp) == 95);
    if (other)
        xmlSecKeyDestroy(other);
    SSO_CHECK(forged && s_verify_root(dsig, forged, why, sizeof why) == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, fp) && strstr(why, "configured: "));
    char *sha1 = s_edit(good, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                        "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    SSO_CHECK(sha1 && s_verify_root(dsig, sha1, why, sizeof why) == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, "SignatureMethod http://www.w3.org/2000/09/xmldsig#rsa-sha1 is not "
                             "allowed"));
    char *elsewhere = s_edit(good, "URI=\"#_m1\"", "URI=\"#_m2\"");
    SSO_CHECK(elsewhere && s_verify_root(dsig, elsewhere, why, sizeof why)
                               == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, "expected \"#_m1\""));
    char *no_id = s_edit(good, " ID=\"_m1\"", "");
    SSO_CHECK(no_id && s_verify_root(dsig, no_id, why, sizeof why) == SSO_XMLDSIG_ERR_STRUCTURE
              && strstr(why, "no usable ID"));
    char *control = s_edit(good, "URI=\"#_m1\"", "URI=\"#_m1&#10;x\"");
    SSO_CHECK(control && s_verify_root(dsig, control, why, sizeof why)
                             == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, "#_m1?x") && !strchr(why, '\n'));
    char *twice = s_edit(good, "<md:IDPSSODescriptor/>",
                         "<ds:Signature xmlns:ds=\"" SSO_XML_NS_DSIG "\"/><md:IDPSSODescriptor/>");
    SSO_CHECK(twice && s_verify_root(dsig, twice, why, sizeof why) == SSO_XMLDSIG_ERR_SIGNATURE
              && strstr(why, "the EntityDescriptor has 2 Signature elements"));
    free(twice);
    free(control);
    free(no_id);
    free(elsewhere);
    free(sha1);
    free(forged);
    free(changed);
    free(good);
    sso_xmldsig_destroy(&dsig);
    SSO_CHECK(dsig == NULL);
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}

void sso_xmldsig_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(sso_xmlsec_init() == 0);
    s_no_io_test();
    s_verify_test();
}
