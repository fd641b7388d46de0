/* saml_response_testkit: test Responses for the self-tests of the ACS validation. */
#include "saml_response_testkit.h"
#include "saml_sign.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

xmlDocPtr saml_test_response_doc(const char *b64)
{
    size_t len = 0;
    uint8_t *xml = b64 ? sso_base64_decode(b64, &len, false) : NULL;
    xmlDocPtr doc = xml ? xmlReadMemory((const char *) xml, (int) len, "t.xml", NULL,
                                        XML_PARSE_NONET) : NULL;
    free(xml);
    return doc;
}
