/* saml_response_testkit: test Responses for the self-tests of the ACS validation. */
#include "saml_response_testkit.h"
#include "sso_xmldsig.h"
#include "saml_xml.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include <libxml/parser.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key wrapped for e->sp_cert with RSA-OAEP as e says, base64 (malloc'd); NULL on failure. */
static char *s_wrap(const saml_test_encryption_t *e, const uint8_t *key, size_t key_len)
{
    BIO *bio = BIO_new_mem_buf(e->sp_cert, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pub = cert ? X509_get_pubkey(cert) : NULL;
    EVP_PKEY_CTX *ctx = pub ? EVP_PKEY_CTX_new(pub, NULL) : NULL;
    size_t size = pub ? (size_t) EVP_PKEY_get_size(pub) : 0;
    uint8_t *wrapped = size ? malloc(size) : NULL;
    uint8_t *label = e->label ? OPENSSL_memdup(e->label, strlen(e->label)) : NULL;
    bool ok = ctx && wrapped && (label || !e->label) && EVP_PKEY_encrypt_init(ctx) == 1
              && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1
              && EVP_PKEY_CTX_set_rsa_oaep_md(ctx, e->digest ? e->digest : EVP_sha1()) == 1
              && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, e->mgf1 ? e->mgf1 : EVP_sha1()) == 1;
    if (ok && label && (ok = EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label,
                                                             (int) strlen(e->label)) == 1))
        label = NULL;
    ok = ok && EVP_PKEY_encrypt(ctx, wrapped, &size, key, key_len) == 1;
    char *out = ok ? sso_base64_encode(wrapped, size) : NULL;
    OPENSSL_free(label);
    free(wrapped);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    X509_free(cert);
    BIO_free(bio);
    return out;
}

/* plain encrypted with cipher and key as XML Encryption lays it out (IV | cipher text | GCM
   tag; CBC padded with zeros and the count, which PKCS#7 would refuse), base64; NULL on
   failure. */
static char *s_encrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *plain,
                       size_t len)
{
    bool gcm = EVP_CIPHER_get_mode(cipher) == EVP_CIPH_GCM_MODE;
    size_t iv = gcm ? 12 : (size_t) EVP_CIPHER_get_iv_length(cipher);
    size_t block = (size_t) EVP_CIPHER_get_block_size(cipher);
    size_t pad = gcm ? 0 : block - len % block;
    uint8_t *padded = calloc(1, len + pad + 1), *out = malloc(iv + len + pad + 16 + block);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, last = 0;
    bool ok = padded && out && ctx && sso_random_bytes(out, iv) == 0;
    if (ok) {
        memcpy(padded, plain, len);
        if (pad)
            padded[len + pad - 1] = (uint8_t) pad;
    }
    ok = ok && EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) == 1
         && (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1)
         && EVP_EncryptInit_ex(ctx, NULL, NULL, key, out) == 1
         && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
         && EVP_EncryptUpdate(ctx, out + iv, &n, padded, (int) (len + pad)) == 1
         && EVP_EncryptFinal_ex(ctx, out + iv + n, &last) == 1
         && (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
                                         out + iv + n + last) == 1);
    char *b64 = ok ? sso_base64_encode(out, iv + (size_t) (n + last) + (gcm ? 16 : 0)) : NULL;
    EVP_CIPHER_CTX_free(ctx);
    free(padded);
    free(out);
    return b64;
}

/* assertion (a child of root) replaced by the EncryptedAssertion e describes. 0 or -1. */
static int s_encrypt_assertion(xmlNodePtr root, xmlNodePtr assertion,
                               const saml_test_encryption_t *e)
{
    const EVP_CIPHER *cipher = e->cipher ? e->cipher : EVP_aes_256_gcm();
    size_t key_len = e->key_len ? e->key_len : (size_t) EVP_CIPHER_get_key_length(cipher);
    uint8_t key[64] = {0};
    xmlBufferPtr text = xmlBufferCreate();
    if (!text || key_len > sizeof key || sso_random_bytes(key, key_len) != 0
        || xmlNodeDump(text, root->doc, assertion, 0, 0) < 0) {
        xmlBufferFree(text);
        return -1;
    }
    char *wrapped = s_wrap(e, key, key_len);
    char *data = s_encrypt(cipher, key, xmlBufferContent(text), (size_t) xmlBufferLength(text));
    char *label = e->label ? sso_base64_encode((const uint8_t *) e->label, strlen(e->label))
                           : NULL;
    xmlBufferFree(text);
    size_t size = (data ? strlen(data) : 0) + (wrapped ? strlen(wrapped) : 0) + 8192;
    char *key_xml = malloc(size), *xml = malloc(size);
    int rc = -1;
    if (wrapped && data && key_xml && xml && (label || !e->label)) {
        char digest[300] = "", mgf[300] = "", params[300] = "", named[4096] = "";
        char *named_b64 = e->key_info_cert ? saml_cert_base64_der(e->key_info_cert) : NULL;
        if (named_b64)
            snprintf(named, sizeof named, "<ds:KeyInfo xmlns:ds=\"" SAML_NS_DSIG "\"><ds:X509Data>"
                     "<ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                     named_b64);
        free(named_b64);
        if (e->digest_uri)
            snprintf(digest, sizeof digest, "<ds:DigestMethod xmlns:ds=\"" SAML_NS_DSIG "\" "
                     "Algorithm=\"%s\"/>", e->digest_uri);
        if (e->mgf_uri)
            snprintf(mgf, sizeof mgf, "<xenc11:MGF xmlns:xenc11=\"" SAML_NS_XENC11 "\" "
                     "Algorithm=\"%s\"/>", e->mgf_uri);
        if (label)
            snprintf(params, sizeof params, "<xenc:OAEPparams>%s</xenc:OAEPparams>", label);
        snprintf(key_xml, size, "<xenc:EncryptedKey xmlns:xenc=\"" SAML_NS_XENC "\">"
                 "<xenc:EncryptionMethod Algorithm=\"%s\">%s%s%s</xenc:EncryptionMethod>%s"
                 "<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData>"
                 "</xenc:EncryptedKey>", e->transport ? e->transport : SAML_NS_XENC11 "rsa-oaep",
                 digest, mgf, params, named, wrapped);
        snprintf(xml, size, "<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\""
                 SAML_NS_XENC "\" Type=\"" SAML_NS_XENC "Element\"><xenc:EncryptionMethod "
                 "Algorithm=\"%s\"/>%s%s%s<xenc:CipherData><xenc:CipherValue>%s"
                 "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>%s"
                 "</saml:EncryptedAssertion>",
                 e->cipher_uri ? e->cipher_uri : SAML_NS_XENC11 "aes256-gcm",
                 e->key_beside_data ? "" : "<ds:KeyInfo xmlns:ds=\"" SAML_NS_DSIG "\">",
                 e->key_beside_data ? "" : key_xml, e->key_beside_data ? "" : "</ds:KeyInfo>",
                 data, e->key_beside_data ? key_xml : "");
        xmlNodePtr made = NULL;
        if (xmlParseInNodeContext(root, xml, (int) strlen(xml), XML_PARSE_NONET, &made)
                == XML_ERR_OK && made && !made->next) {
            xmlReplaceNode(assertion, made);
            xmlFreeNode(assertion);
            rc = 0;
        }
        else
            xmlFreeNodeList(made);
    }
    OPENSSL_cleanse(key, sizeof key);
    free(wrapped);
    free(data);
    free(label);
    free(key_xml);
    free(xml);
    return rc;
}

char *saml_test_response(const saml_test_case_t *c, const char *key, const char *cert)
{
    char now[32], before[32], after[32], issued[32], authn_at[32], authn[120];
    saml_time_format(SAML_TEST_NOW, now, sizeof now);
    saml_time_format(SAML_TEST_NOW + c->issue_instant, issued, sizeof issued);
    saml_time_format(SAML_TEST_NOW + (c->authn_instant ? c->authn_instant : -5), authn_at,
                     sizeof authn_at);
    snprintf(authn, sizeof authn, "<saml:AuthnStatement%s%s%s SessionIndex=\"_s1\"/>",
             c->no_authn_instant ? "" : " AuthnInstant=\"", c->no_authn_instant ? "" : authn_at,
             c->no_authn_instant ? "" : "\"");
    saml_time_format(SAML_TEST_NOW + c->not_before, before, sizeof before);
    saml_time_format(SAML_TEST_NOW + c->not_on_or_after, after, sizeof after);
    size_t size = 8192;
    char *xml = malloc(size);
    if (!xml)
        return NULL;
    snprintf(
        xml, size,
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
        "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_resp1\" Version=\"2.0\" "
        "IssueInstant=\"%s\" Destination=\"%s\" InResponseTo=\"%s\">"
        "<saml:Issuer>%s</saml:Issuer>"
        "<samlp:Status><samlp:StatusCode Value=\"%s\"/></samlp:Status>%s"
        "<saml:Assertion ID=\"%s\" Version=\"2.0\" IssueInstant=\"%s\">"
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
        now, c->destination ? c->destination : SAML_TEST_ACS,
        c->in_response_to ? c->in_response_to : "_req1", c->issuer ? c->issuer : SAML_TEST_IDP,
        c->status ? c->status : "urn:oasis:names:tc:SAML:2.0:status:Success",
        c->extra_response ? c->extra_response : "",
        c->assertion_id ? c->assertion_id : "_assert1", issued,
        c->issuer ? c->issuer : SAML_TEST_IDP,
        SAML_NAMEID_EMAIL, c->name_id ? c->name_id : "ann@example.com",
        c->recipient ? c->recipient : SAML_TEST_ACS, after,
        c->in_response_to ? c->in_response_to : "_req1", before, after,
        c->audience ? c->audience : SAML_TEST_SP,
        c->no_authn ? "" : authn);
    xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    free(xml);
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr assertion = sso_xml_child(root, SAML_NS_ASSERTION, "Assertion");
    if (c->unsolicited)
        xmlUnsetProp(root, BAD_CAST "InResponseTo");
    if (c->unsolicited == 1) {
        xmlNodePtr subject = sso_xml_child(assertion, SAML_NS_ASSERTION, "Subject");
        xmlNodePtr confirmation = sso_xml_child(subject, SAML_NS_ASSERTION,
                                                 "SubjectConfirmation");
        xmlUnsetProp(sso_xml_child(confirmation, SAML_NS_ASSERTION, "SubjectConfirmationData"),
                     BAD_CAST "InResponseTo");
    }
    char *out = NULL;
    if ((!c->sign_assertion || sso_xmldsig_sign(doc, assertion, key, cert) == 0)
        && (!c->encrypt || s_encrypt_assertion(root, assertion, c->encrypt) == 0)
        && (!c->sign_response || sso_xmldsig_sign(doc, root, key, cert) == 0)) {
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

xmlDocPtr saml_test_response_doc(const char *b64)
{
    size_t len = 0;
    uint8_t *xml = b64 ? sso_base64_decode(b64, &len, false) : NULL;
    xmlDocPtr doc = xml ? xmlReadMemory((const char *) xml, (int) len, "t.xml", NULL,
                                        XML_PARSE_NONET) : NULL;
    free(xml);
    return doc;
}

saml_test_case_t saml_test_case_now(const char *connection_id, saml_test_sp_t *sp)
{
    /* The case's times are offsets from SAML_TEST_NOW. */
    long now = (long) (sso_now_ms() / 1000) - SAML_TEST_NOW;
    snprintf(sp->sp, sizeof sp->sp, "https://sso.test/sso/saml/%s", connection_id);
    snprintf(sp->acs, sizeof sp->acs, "%s/acs", sp->sp);
    return (saml_test_case_t) {.issuer = "https://sso.test/simulator",
                               .audience = sp->sp,
                               .destination = sp->acs,
                               .recipient = sp->acs,
                               .name_id = "jane@example.com",
                               .not_before = now - 60,
                               .not_on_or_after = now + 300,
                               .sign_assertion = true};
}
