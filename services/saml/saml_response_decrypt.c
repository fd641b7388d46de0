/* saml_response_decrypt: EncryptedAssertion, with the allowed algorithms checked first. */
#include "saml_response_decrypt.h"
#include "saml_keycache.h"
#include "saml_response_decode.h"
#include "saml_xml.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#define S_ALG_RSA_1_5 "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

static const char *const s_data_ciphers[] = {
    "http://www.w3.org/2009/xmlenc11#aes128-gcm", "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    NULL};
static const char *const s_key_transports[] = {
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2009/xmlenc11#rsa-oaep",
    NULL};

struct saml_response_decrypt_t {
    xmlSecKeyPtr sp_key;
    xmlSecKeysMngrPtr sp_mngr; /* made from sp_key when a response is actually encrypted */
};

/* Decryption needs the crypto library's default keys manager (not the simple store signature
   verification uses), because xmlsec reads the X509Data an IdP puts in EncryptedKey. */
static xmlSecKeysMngrPtr s_new_mngr(void)
{
    xmlSecKeysMngrPtr mngr = xmlSecKeysMngrCreate();
    if (mngr && xmlSecCryptoAppDefaultKeysMngrInit(mngr) < 0) {
        xmlSecKeysMngrDestroy(mngr);
        mngr = NULL;
    }
    return mngr;
}

saml_response_decrypt_t *saml_response_decrypt_new(const char *sp_private_key_pem)
{
    saml_response_decrypt_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->sp_key = saml_keycache_sp_key(sp_private_key_pem)))
        saml_response_decrypt_destroy(&self);
    return self;
}

void saml_response_decrypt_destroy(saml_response_decrypt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_response_decrypt_t *self = *self_p;
    if (self->sp_mngr)
        xmlSecKeysMngrDestroy(self->sp_mngr);
    if (self->sp_key)
        xmlSecKeyDestroy(self->sp_key);
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

/* Every algorithm under EncryptedAssertion is checked before xmlsec runs: data ciphers
   AES-GCM/CBC, key transport RSA-OAEP, and no key material other than EncryptedKey. */
static saml_error_t s_check_encryption(saml_result_t *result, xmlNodePtr enc_data)
{
    xmlNodePtr method = saml_xml_child(enc_data, SAML_NS_XENC, "EncryptionMethod");
    char *alg = saml_xml_attr(method, "Algorithm");
    saml_error_t rc = SAML_OK;
    if (!saml_xml_in_list(alg, s_data_ciphers))
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: data cipher %.200s is not allowed "
                    "(only AES-128/256-GCM and AES-128/256-CBC)", alg ? alg : "(none)");
    free(alg);
    xmlNodePtr info = saml_xml_child(enc_data, SAML_NS_DSIG, "KeyInfo");
    size_t keys = 0;
    for (xmlNodePtr k = info ? info->children : NULL; rc == SAML_OK && k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!saml_xml_is(k, SAML_NS_XENC, "EncryptedKey")) {
            rc = saml_fail(result, SAML_ERR_DECRYPTION,
                           "decryption: only an EncryptedKey may carry "
                           "the key, found %s",
                           (const char *) k->name);
            break;
        }
        keys++;
        alg = saml_xml_attr(saml_xml_child(k, SAML_NS_XENC, "EncryptionMethod"), "Algorithm");
        if (alg && strcmp(alg, S_ALG_RSA_1_5) == 0)
            rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: key transport %s is refused "
                        "(RSA PKCS#1 v1.5 allows padding-oracle attacks); use RSA-OAEP", alg);
        else if (!saml_xml_in_list(alg, s_key_transports))
            rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: key transport %.200s is not "
                        "allowed (only RSA-OAEP)", alg ? alg : "(none)");
        free(alg);
    }
    if (rc == SAML_OK && keys != 1)
        rc = saml_fail(result, SAML_ERR_DECRYPTION,
                       "decryption: expected one EncryptedKey, found %zu", keys);
    return rc;
}

/* Decrypts the EncryptedAssertion (a direct child of root) in place with the SP key. The
   plaintext is parsed in the Response's context (namespaces) with the same rules as the
   document: no DTD, no entities, bounded depth. */
saml_error_t saml_response_decrypt_assertion(saml_response_decrypt_t *self, saml_result_t *result,
                                             xmlNodePtr root, xmlNodePtr enc_assertion)
{
    saml_error_t rc = saml_response_decode_refuse_fetches(result, enc_assertion);
    if (rc)
        return rc;
    if (!self)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the Response carries an "
                      "EncryptedAssertion but no SP private key is configured");
    if (!self->sp_mngr) {
        xmlSecKeyPtr copy = xmlSecKeyDuplicate(self->sp_key);
        self->sp_mngr = copy ? s_new_mngr() : NULL;
        if (!self->sp_mngr || xmlSecCryptoAppDefaultKeysMngrAdoptKey(self->sp_mngr, copy) < 0) {
            if (copy)
                xmlSecKeyDestroy(copy);
            return saml_fail(result, SAML_ERR_INTERNAL, "internal: could not load the SP key");
        }
    }
    if (saml_xml_count_children(enc_assertion, SAML_NS_XENC, "EncryptedData") != 1)
        return saml_fail(result, SAML_ERR_DECRYPTION, "decryption: expected one EncryptedData in "
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
            return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
        xmlUnlinkNode(sibling_key);
        xmlAddChild(info, sibling_key);
    }
    rc = s_check_encryption(result, enc_data);
    if (rc)
        return rc;
    xmlSecEncCtxPtr ctx = xmlSecEncCtxCreate(self->sp_mngr);
    if (!ctx)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
    xmlSecPtrListPtr enabled = &ctx->transformCtx.enabledTransforms;
    if (saml_xmlsec_restrict_enc(ctx) != 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes128CbcId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes256CbcId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes128GcmId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformAes256GcmId) < 0
        || xmlSecPtrListAdd(enabled, (void *) xmlSecTransformBase64Id) < 0) {
        xmlSecEncCtxDestroy(ctx);
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: could not set up decryption");
    }
    saml_xmlsec_reset_error();
    xmlSecBufferPtr plain = xmlSecEncCtxDecryptToBuffer(ctx, enc_data);
    if (!plain || xmlSecBufferGetSize(plain) == 0) {
        rc = saml_fail(result, SAML_ERR_DECRYPTION,
                       "decryption: the EncryptedAssertion could not be "
                       "decrypted with the SP key (%s)",
                       saml_xmlsec_last_error()[0] ? saml_xmlsec_last_error() : "xmlsec error");
        xmlSecEncCtxDestroy(ctx);
        return rc;
    }
    size_t len = xmlSecBufferGetSize(plain);
    const char *data = (const char *) xmlSecBufferGetData(plain);
    xmlNodePtr list = NULL;
    if (len > SAML_RESPONSE_MAX_BYTES || memchr(data, '\0', len))
        rc = saml_fail(result, SAML_ERR_DECRYPTION,
                       "decryption: the decrypted assertion is too large "
                       "or not text");
    else if (xmlParseInNodeContext(root, data, (int) len, XML_PARSE_NONET | XML_PARSE_NOCDATA
                                   | XML_PARSE_NOERROR | XML_PARSE_NOWARNING, &list) != XML_ERR_OK)
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the decrypted content is not "
                    "well-formed XML");
    xmlSecEncCtxDestroy(ctx);
    xmlNodePtr assertion = NULL;
    for (xmlNodePtr n = list; rc == SAML_OK && n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !assertion
            && saml_xml_is(n, SAML_NS_ASSERTION, "Assertion"))
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
    xmlNodePtr encrypted = saml_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
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

#define S_AES128_GCM                                                                               \
    "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes128-gcm\"/>"
#define S_KEY(alg) "<xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=\"" alg "\"/>" \
                   "<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>" \
                   "</xenc:EncryptedKey>"
#define S_CIPHER "<xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData>"

void saml_response_decrypt_test(bool verbose)
{
    (void) verbose;
    char *key = NULL, *cert = NULL;
    SSO_CHECK(saml_xmlsec_init() == 0);
    SSO_CHECK(saml_test_keypair("sp.test", &key, &cert) == 0);
    SSO_CHECK(saml_response_decrypt_new("not a key") == NULL);
    saml_response_decrypt_t *self = key ? saml_response_decrypt_new(key) : NULL;
    SSO_CHECK(self != NULL);
    const char *oaep = S_AES128_GCM "<ds:KeyInfo>" S_KEY(
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p") "</ds:KeyInfo>" S_CIPHER;
    /* No SP key: refused, after the fetch check (which runs whatever the configuration). */
    SSO_CHECK(s_refused(NULL, oaep, "no SP private key is configured"));
    SSO_CHECK(s_refused(NULL, "<ds:KeyInfo><ds:RetrievalMethod URI=\"file:///etc/passwd\"/>"
                              "</ds:KeyInfo>", "ds:RetrievalMethod URI=\"file:///etc/passwd\""));
    /* The algorithms are checked before xmlsec runs. */
    SSO_CHECK(
        s_refused(self,
                  "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/"
                  "xmlenc#tripledes-cbc\"/>" S_CIPHER,
                  "data cipher http://www.w3.org/2001/04/xmlenc#tripledes-cbc is not allowed"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo>" S_KEY(S_ALG_RSA_1_5) "</ds:KeyInfo>"
                              S_CIPHER, "padding-oracle"));
    SSO_CHECK(s_refused(self, S_AES128_GCM "<ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo>"
                              S_CIPHER, "only an EncryptedKey may carry the key, found KeyName"));
    SSO_CHECK(s_refused(self, S_AES128_GCM S_CIPHER, "expected one EncryptedKey, found 0"));
    /* Allowed algorithms, garbage cipher text: xmlsec refuses it, nothing is parsed. */
    SSO_CHECK(s_refused(self, oaep, "could not be decrypted with the SP key"));
    saml_response_decrypt_destroy(&self);
    SSO_CHECK(self == NULL);
    free(key);
    free(cert);
}
