/* saml_response_signature: lib's sso_xmldsig with the connection's keys from saml_keycache,
   its outcomes as saml_result. */
#include "saml_response_signature.h"
#include "saml_keycache.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct saml_response_signature_t {
    sso_xmldsig_t *dsig;
};

saml_response_signature_t *saml_response_signature_new(bool allow_sha1)
{
    saml_response_signature_t *self = calloc(1, sizeof *self);
    if (self && !(self->dsig = sso_xmldsig_new(allow_sha1)))
        saml_response_signature_destroy(&self);
    return self;
}

void saml_response_signature_destroy(saml_response_signature_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_xmldsig_destroy(&(*self_p)->dsig);
    free(*self_p);
    *self_p = NULL;
}

int saml_response_signature_add_certificate(saml_response_signature_t *self, const char *pem,
                                            char *why, size_t why_size)
{
    /* Parsed once per certificate text, not once per response (saml_keycache). */
    char fingerprint[96];
    xmlSecKeyPtr key = saml_keycache_idp_key(pem, fingerprint, why, why_size);
    return key ? sso_xmldsig_add_key(self->dsig, key, fingerprint, why, why_size) : -1;
}

static saml_error_t s_result(saml_result_t *result, sso_xmldsig_error_t rc, const char *why)
{
    switch (rc) {
    case SSO_XMLDSIG_OK:
        return SAML_OK;
    case SSO_XMLDSIG_ERR_STRUCTURE:
        return saml_fail(result, SAML_ERR_STRUCTURE, "%s", why);
    case SSO_XMLDSIG_ERR_SIGNATURE:
        return saml_fail(result, SAML_ERR_SIGNATURE, "%s", why);
    default:
        return saml_fail(result, SAML_ERR_INTERNAL, "%s", why);
    }
}

saml_error_t saml_response_signature_verify(const saml_response_signature_t *self,
                                            saml_result_t *result, xmlDocPtr doc, xmlNodePtr node,
                                            xmlNodePtr sig, const char *what)
{
    char why[SAML_REASON_MAX] = "";
    return s_result(result, sso_xmldsig_verify(self->dsig, doc, node, sig, what, why, sizeof why),
                    why);
}

saml_error_t saml_response_signature_of(saml_result_t *result, xmlNodePtr node, const char *what,
                                        xmlNodePtr *sig)
{
    char why[SAML_REASON_MAX] = "";
    return s_result(result, sso_xmldsig_signature_of(node, what, sig, why, sizeof why), why);
}

/* -------------------------------------------------------------------------- self-test */

/* Verifies the assertion of a test Response (base64) as saml_response does. */
static saml_error_t s_verify_assertion(const saml_response_signature_t *self, const char *b64,
                                       saml_result_t *result)
{
    xmlDocPtr doc = saml_test_response_doc(b64);
    if (!doc)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: test response unreadable");
    xmlNodePtr assertion = sso_xml_child(xmlDocGetRootElement(doc), SAML_NS_ASSERTION,
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
    SSO_CHECK(sso_xmlsec_init() == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("idp.test", &key, &cert) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("attacker.test", &other_key, &other_cert) == 0);
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
