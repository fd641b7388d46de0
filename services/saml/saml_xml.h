/* saml_xml: what the SAML modules share beyond lib's sso_xml (strict element access) and
   sso_xmldsig (xmlsec start-up, signatures): SAML's names, xs:dateTime and certificates. */
#ifndef SAML_XML_H
#define SAML_XML_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "sso_xml.h"
#include "sso_xmldsig.h"

#define SAML_NS_ASSERTION "urn:oasis:names:tc:SAML:2.0:assertion"
#define SAML_NS_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS_METADATA "urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DSIG SSO_XML_NS_DSIG
#define SAML_NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define SAML_NS_XENC11 "http://www.w3.org/2009/xmlenc11#"
#define SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SAML_NAMEID_EMAIL "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define SAML_NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

/* xs:dateTime in UTC ("2026-01-02T03:04:05Z", optional fraction, optional "+00:00"). */
int saml_time_parse(const char *text, time_t *out);
/* "2026-01-02T03:04:05Z" into out (at least 21 bytes). */
void saml_time_format(time_t when, char *out, size_t size);

/* SHA-256 fingerprint "AB:CD:..." of a PEM certificate (95 chars + NUL). */
int saml_cert_fingerprint_pem(const char *pem, char out[96]);
/* The base64 DER of a PEM certificate (as ds:X509Certificate carries it), after checking it
   parses; NULL when it does not. Caller frees. */
char *saml_cert_base64_der(const char *pem);

void saml_xml_test(bool verbose);
#endif
