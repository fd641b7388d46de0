/* saml_response_signature: signature shape, then xmlsec verification with the configured
   keys only, then which node the verified signature covers. */
#include "saml_response_signature.h"
#include "saml_keycache.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <libxml/valid.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#define S_ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define S_ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define S_ALG_RSA_SHA1 "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define S_ALG_SHA1 "http://www.w3.org/2000/09/xmldsig#sha1"

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

struct saml_response_signature_t {
    bool allow_sha1;
    xmlSecKeyPtr idp_keys[SAML_MAX_IDP_CERTIFICATES];
    char idp_fingerprints[SAML_MAX_IDP_CERTIFICATES][96];
    size_t n_idp_keys;
    xmlSecKeysMngrPtr idp_mngr;
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

saml_response_signature_t *saml_response_signature_new(bool allow_sha1)
{
    saml_response_signature_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->allow_sha1 = allow_sha1;
    if (!(self->idp_mngr = s_new_mngr()))
        saml_response_signature_destroy(&self);
    return self;
}

void saml_response_signature_destroy(saml_response_signature_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_response_signature_t *self = *self_p;
    for (size_t i = 0; i < self->n_idp_keys; i++)
        xmlSecKeyDestroy(self->idp_keys[i]);
    if (self->idp_mngr)
        xmlSecKeysMngrDestroy(self->idp_mngr);
    free(self);
    *self_p = NULL;
}

int saml_response_signature_add_certificate(saml_response_signature_t *self, const char *pem,
                                            char *why, size_t why_size)
{
    if (self->n_idp_keys >= SAML_MAX_IDP_CERTIFICATES) {
        snprintf(why, why_size, "config: at most %d IdP signing certificates",
                 SAML_MAX_IDP_CERTIFICATES);
        return -1;
    }
    /* Parsed once per certificate text, not once per response (saml_keycache). */
    xmlSecKeyPtr key = saml_keycache_idp_key(pem, self->idp_fingerprints[self->n_idp_keys], why,
                                             why_size);
    if (!key)
        return -1;
    self->idp_keys[self->n_idp_keys++] = key;
    /* The keys manager holds only the configured keys; verification additionally pins
       the key per attempt (signKey), so KeyInfo is never consulted. */
    xmlSecKeyPtr copy = xmlSecKeyDuplicate(key);
    if (!copy || xmlSecCryptoAppDefaultKeysMngrAdoptKey(self->idp_mngr, copy) < 0) {
        if (copy)
            xmlSecKeyDestroy(copy);
        snprintf(why, why_size, "internal: could not load the IdP keys");
        return -1;
    }
    return 0;
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
static saml_error_t s_check_signature_shape(const saml_response_signature_t *self,
                                            saml_result_t *result, xmlNodePtr sig, const char *what,
                                            const char *id)
{
    bool junk = false;
    xmlNodePtr signed_info = s_next_element(sig->children, &junk);
    xmlNodePtr value = signed_info ? s_next_element(signed_info->next, &junk) : NULL;
    xmlNodePtr rest = value ? s_next_element(value->next, &junk) : NULL;
    if (saml_xml_is(rest, SAML_NS_DSIG, "KeyInfo"))
        rest = s_next_element(rest->next, &junk);
    if (!saml_xml_is(signed_info, SAML_NS_DSIG, "SignedInfo")
        || !saml_xml_is(value, SAML_NS_DSIG, "SignatureValue"))
        return saml_fail(result, SAML_ERR_SIGNATURE,
                         "signature: the %s's Signature lacks SignedInfo "
                         "or SignatureValue",
                         what);
    if (rest)
        return saml_fail(result, SAML_ERR_SIGNATURE, "signature: the %s's Signature contains a "
                      "ds:%s element, which is not allowed", what, (const char *) rest->name);
    if (junk)
        return saml_fail(result, SAML_ERR_SIGNATURE, "signature: the %s's Signature contains text",
                      what);
    xmlNodePtr c14n = s_next_element(signed_info->children, &junk);
    xmlNodePtr method = c14n ? s_next_element(c14n->next, &junk) : NULL;
    char *alg = saml_xml_attr(c14n, "Algorithm");
    bool ok = saml_xml_is(c14n, SAML_NS_DSIG, "CanonicalizationMethod") && alg
              && strcmp(alg, S_ALG_EXC_C14N) == 0;
    saml_error_t rc = SAML_OK;
    if (!ok)
        rc = saml_fail(result, SAML_ERR_SIGNATURE,
                       "signature: CanonicalizationMethod %.200s is not "
                       "allowed (only %s)",
                       alg ? alg : "(none)", S_ALG_EXC_C14N);
    free(alg);
    if (rc)
        return rc;
    alg = saml_xml_attr(method, "Algorithm");
    ok = saml_xml_is(method, SAML_NS_DSIG, "SignatureMethod") && alg
         && (saml_xml_in_list(alg, s_sign_methods)
             || (self->allow_sha1 && strcmp(alg, S_ALG_RSA_SHA1) == 0));
    if (!ok)
        rc = saml_fail(result, SAML_ERR_SIGNATURE,
                       "signature: SignatureMethod %.200s is not allowed "
                       "(only RSA-SHA256/384/512 and ECDSA-SHA256/384/512%s)",
                       alg ? alg : "(none)", self->allow_sha1 ? " and RSA-SHA1" : "");
    free(alg);
    if (rc)
        return rc;
    size_t references = saml_xml_count_children(signed_info, SAML_NS_DSIG, "Reference");
    if (references != 1)
        return saml_fail(result, SAML_ERR_SIGNATURE,
                         "signature: the %s's Signature must have exactly "
                         "one Reference, found %zu",
                         what, references);
    xmlNodePtr ref = saml_xml_child(signed_info, SAML_NS_DSIG, "Reference");
    for (xmlNodePtr n = s_next_element(signed_info->children, &junk); n;
         n = s_next_element(n->next, &junk))
        if (n != c14n && n != method && n != ref)
            return saml_fail(result, SAML_ERR_SIGNATURE,
                             "signature: unexpected ds:%s in SignedInfo", (const char *) n->name);
    char *uri = saml_xml_attr(ref, "URI");
    ok = uri && uri[0] == '#' && strcmp(uri + 1, id) == 0;
    if (!ok)
        rc = saml_fail(result, SAML_ERR_SIGNATURE,
                       "signature: the Reference URI is \"%.200s\"; "
                       "expected \"#%.200s\" (the ID of the signed %s)",
                       uri ? uri : "(none)", id, what);
    free(uri);
    if (rc)
        return rc;
    size_t n_transforms = 0;
    for (xmlNodePtr n = s_next_element(ref->children, &junk); n;
         n = s_next_element(n->next, &junk)) {
        if (saml_xml_is(n, SAML_NS_DSIG, "Transforms")) {
            for (xmlNodePtr t = s_next_element(n->children, &junk); t;
                 t = s_next_element(t->next, &junk)) {
                alg = saml_xml_attr(t, "Algorithm");
                ok = saml_xml_is(t, SAML_NS_DSIG, "Transform") && alg
                     && (strcmp(alg, S_ALG_ENVELOPED) == 0 || strcmp(alg, S_ALG_EXC_C14N) == 0)
                     && ++n_transforms <= 2;
                if (!ok)
                    rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: transform %.200s is not "
                                "allowed (only enveloped-signature and exclusive c14n, once each)",
                                alg ? alg : "(none)");
                free(alg);
                if (rc)
                    return rc;
            }
        }
        else if (saml_xml_is(n, SAML_NS_DSIG, "DigestMethod")) {
            alg = saml_xml_attr(n, "Algorithm");
            ok = alg
                 && (saml_xml_in_list(alg, s_digests)
                     || (self->allow_sha1 && strcmp(alg, S_ALG_SHA1) == 0));
            if (!ok)
                rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: DigestMethod %.200s is not "
                            "allowed (only SHA-256/384/512)", alg ? alg : "(none)");
            free(alg);
            if (rc)
                return rc;
        }
        else if (!saml_xml_is(n, SAML_NS_DSIG, "DigestValue"))
            return saml_fail(result, SAML_ERR_SIGNATURE, "signature: unexpected ds:%s in Reference",
                          (const char *) n->name);
    }
    if (junk)
        return saml_fail(result, SAML_ERR_SIGNATURE, "signature: unexpected text in SignedInfo");
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

static int s_enable_transforms(const saml_response_signature_t *self, xmlSecDSigCtxPtr ctx)
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
static saml_error_t s_register_id(saml_result_t *result, xmlDocPtr doc, xmlNodePtr node,
                                  const char *id)
{
    xmlAttrPtr attr = xmlHasNsProp(node, BAD_CAST "ID", NULL);
    xmlAttrPtr known = xmlGetID(doc, BAD_CAST id);
    if (known == attr)
        return SAML_OK;
    if (known || !attr || !xmlAddID(NULL, doc, BAD_CAST id, attr))
        return saml_fail(result, SAML_ERR_STRUCTURE, "structure: the ID \"%.200s\" is not unique",
                         id);
    return SAML_OK;
}

/* Verifies the one Signature that is a direct child of `node` with the configured keys only.
   On success returns the element the verified Reference resolved to, which the caller
   compares with `node`: identity is read only from that element. */
saml_error_t saml_response_signature_verify(const saml_response_signature_t *self,
                                            saml_result_t *result, xmlDocPtr doc, xmlNodePtr node,
                             xmlNodePtr sig, const char *what)
{
    char *id = saml_xml_attr(node, "ID");
    if (!id || !*id || strlen(id) > SAML_MAX_ASSERTION_ID) {
        free(id);
        return saml_fail(result, SAML_ERR_STRUCTURE, "structure: the signed %s has no usable ID",
                         what);
    }
    saml_error_t rc = s_check_signature_shape(self, result, sig, what, id);
    if (rc == SAML_OK)
        rc = s_register_id(result, doc, node, id);
    bool verified = false, digest_failed = false;
    for (size_t k = 0; rc == SAML_OK && !verified && !digest_failed && k < self->n_idp_keys; k++) {
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(self->idp_mngr);
        if (!ctx) {
            rc = saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
            break;
        }
        ctx->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES;
        saml_xmlsec_restrict_dsig(ctx);
        ctx->signKey = xmlSecKeyDuplicate(self->idp_keys[k]);
        saml_xmlsec_reset_error();
        if (!ctx->signKey || s_enable_transforms(self, ctx) != 0)
            rc = saml_fail(result, SAML_ERR_INTERNAL, "internal: could not set up verification");
        else if (xmlSecDSigCtxVerify(ctx, sig) < 0)
            rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: the %s's signature could not be "
                        "processed (%s)", what, saml_xmlsec_last_error()[0]
                        ? saml_xmlsec_last_error() : "xmlsec error");
        else {
            xmlSecSize n_refs = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
            xmlSecDSigReferenceCtxPtr ref =
                n_refs == 1 ? xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0) : NULL;
            if (!ref)
                rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: expected one verified "
                            "Reference, got %u", (unsigned) n_refs);
            else if (ref->status != xmlSecDSigStatusSucceeded)
                digest_failed = true;
            else if (ctx->status == xmlSecDSigStatusSucceeded) {
                /* The verified reference must be the "#ID" of this very element. */
                xmlAttrPtr target = xmlGetID(doc, BAD_CAST id);
                if (!ref->uri || ref->uri[0] != '#' || strcmp((const char *) ref->uri + 1, id) != 0
                    || !target || target->parent != node)
                    rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: the verified Reference "
                                "does not cover the %s", what);
                else
                    verified = true;
            }
        }
        xmlSecDSigCtxDestroy(ctx);
    }
    if (rc == SAML_OK && digest_failed)
        rc = saml_fail(result, SAML_ERR_SIGNATURE,
                       "signature: the digest of the signed %s does not "
                       "match: it was changed after signing",
                       what);
    else if (rc == SAML_OK && !verified) {
        char seen[96], configured[SAML_MAX_IDP_CERTIFICATES * 97 + 1] = "";
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
            rc = saml_fail(result, SAML_ERR_SIGNATURE,
                           "signature: the %s is signed by a certificate "
                           "with SHA-256 fingerprint %s, configured: %s",
                           what, seen, configured);
        else
            rc = saml_fail(result, SAML_ERR_SIGNATURE,
                           "signature: the %s's signature does not verify "
                           "with any configured certificate (configured: %s)",
                           what, configured);
    }
    free(id);
    return rc;
}

/* The single ds:Signature child of node: NULL when unsigned; more than one is refused. */
saml_error_t saml_response_signature_of(saml_result_t *result, xmlNodePtr node, const char *what,
                                   xmlNodePtr *sig)
{
    size_t count = saml_xml_count_children(node, SAML_NS_DSIG, "Signature");
    *sig = count == 1 ? saml_xml_child(node, SAML_NS_DSIG, "Signature") : NULL;
    if (count > 1)
        return saml_fail(result, SAML_ERR_SIGNATURE, "signature: the %s has %zu Signature elements",
                      what, count);
    return SAML_OK;
}

/* -------------------------------------------------------------------------- self-test */

/* Verifies the assertion of a test Response (base64) as saml_response does. */
static saml_error_t s_verify_assertion(const saml_response_signature_t *self, const char *b64,
                                       saml_result_t *result)
{
    xmlDocPtr doc = saml_test_response_doc(b64);
    if (!doc)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: test response unreadable");
    xmlNodePtr assertion = saml_xml_child(xmlDocGetRootElement(doc), SAML_NS_ASSERTION,
                                          "Assertion");
    xmlNodePtr sig = NULL;
    saml_error_t rc = saml_response_signature_of(result, assertion, "Assertion", &sig);
    if (rc == SAML_OK && !sig)
        rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: unsigned");
    if (rc == SAML_OK)
        rc = saml_response_signature_verify(self, result, doc, assertion, sig, "Assertion");
    xmlFreeDoc(doc);
    ERR_clear_error();
    return rc;
}

static bool s_refused(const saml_response_signature_t *self, const char *b64, const char *text)
{
    saml_result_t result = {0};
    saml_error_t rc = s_verify_assertion(self, b64, &result);
    bool ok = rc == SAML_ERR_SIGNATURE && strstr(result.reason, text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected signature/%s, got %s: %s\n", text, saml_error_name(rc),
                result.reason);
    return ok;
}

void saml_response_signature_test(bool verbose)
{
    (void) verbose;
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL;
    char why[256];
    SSO_CHECK(saml_xmlsec_init() == 0);
    SSO_CHECK(saml_test_keypair("idp.test", &key, &cert) == 0);
    SSO_CHECK(saml_test_keypair("attacker.test", &other_key, &other_cert) == 0);
    saml_response_signature_t *rollover = saml_response_signature_new(false);
    saml_response_signature_t *strict = saml_response_signature_new(false);
    SSO_CHECK(rollover && strict);
    if (!key || !other_key || !rollover || !strict)
        goto done;
    /* Rollover: the right key is the second one. */
    SSO_CHECK(saml_response_signature_add_certificate(rollover, other_cert, why, sizeof why) == 0
              && saml_response_signature_add_certificate(rollover, cert, why, sizeof why) == 0);
    SSO_CHECK(saml_response_signature_add_certificate(strict, cert, why, sizeof why) == 0);
    SSO_CHECK(saml_response_signature_add_certificate(strict, "not a cert", why, sizeof why) != 0
              && strstr(why, "not a PEM"));

    saml_test_case_t good = {.not_on_or_after = 300, .sign_assertion = true};
    char *b64 = saml_test_response(&good, key, cert);
    saml_result_t result = {0};
    SSO_CHECK(b64 && s_verify_assertion(rollover, b64, &result) == SAML_OK);

    /* Signed by a key that is not configured: the reason names both fingerprints. */
    char *forged = saml_test_response(&good, other_key, other_cert);
    char fp[96];
    saml_cert_fingerprint_pem(other_cert, fp);
    SSO_CHECK(forged && s_refused(strict, forged, fp));
    SSO_CHECK(forged && s_refused(strict, forged, "configured: "));
    free(forged);

    /* Content changed after signing: digest mismatch. */
    size_t len = 0;
    uint8_t *xml = b64 ? sso_base64_decode(b64, &len, false) : NULL;
    char *at = xml ? strstr((char *) xml, "ann@example.com</saml:NameID>") : NULL;
    if (at) {
        at[0] = 'b'; /* bnn@example.com */
        char *tampered = sso_base64_encode(xml, len);
        SSO_CHECK(tampered && s_refused(strict, tampered, "digest"));
        free(tampered);
    }
    SSO_CHECK(at != NULL);
    free(xml);

    /* Two signatures on one element: refused before any cryptography. */
    const char *twice = "<a xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
                        "<ds:Signature/><ds:Signature/></a>";
    xmlDocPtr doc = xmlReadMemory(twice, (int) strlen(twice), "t.xml", NULL, XML_PARSE_NONET);
    xmlNodePtr sig = NULL;
    SSO_CHECK(doc && saml_response_signature_of(&result, xmlDocGetRootElement(doc), "Response",
                                                &sig) == SAML_ERR_SIGNATURE
              && strstr(result.reason, "the Response has 2 Signature elements") && !sig);
    xmlFreeDoc(doc);
    free(b64);
done:
    saml_response_signature_destroy(&rollover);
    saml_response_signature_destroy(&strict);
    SSO_CHECK(rollover == NULL && strict == NULL);
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}
