/* saml_xml: helpers shared by the SAML modules: xmlsec start-up, strict element/attribute
   access, text reading that cannot be truncated by comments, xs:dateTime, certificates, and
   test key generation. */
#ifndef SAML_XML_H
#define SAML_XML_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <xmlsec/xmldsig.h>

#define SAML_NS_ASSERTION "urn:oasis:names:tc:SAML:2.0:assertion"
#define SAML_NS_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS_METADATA "urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define SAML_NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define SAML_NS_XENC11 "http://www.w3.org/2009/xmlenc11#"
#define SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SAML_NAMEID_EMAIL "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define SAML_NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

/* Values longer than this (NameID, attribute values, ids) are refused: nothing legitimate is
   that long and it keeps every later copy bounded. */
#define SAML_MAX_VALUE 4096

/* Initializes libxml2 + xmlsec (OpenSSL) once per process; 0 on success. It also removes
   every file, HTTP and FTP handler of libxml2 and xmlsec (and the external entity loader) from
   the process, so no XML code path in it can reach the disk or the network. */
int saml_xmlsec_init(void);
/* Only same-document references ("#id") resolve in this context, RetrievalMethod is never
   followed, manifests are ignored. For every signature context that reads a document from
   outside. (Decryption does not use xmlsec: saml_response_decrypt runs on OpenSSL.) */
void saml_xmlsec_restrict_dsig(xmlSecDSigCtxPtr ctx);
/* The last xmlsec error recorded on this thread (for reasons), "" if none; cleared by reset. */
const char *saml_xmlsec_last_error(void);
void saml_xmlsec_reset_error(void);

/* True when node is an element named name in namespace ns. */
bool saml_xml_is(xmlNodePtr node, const char *ns, const char *name);
/* First element child of node named ns:name, or NULL. */
xmlNodePtr saml_xml_child(xmlNodePtr node, const char *ns, const char *name);
/* Number of element children of node named ns:name. */
size_t saml_xml_count_children(xmlNodePtr node, const char *ns, const char *name);
/* True when value (may be NULL) is one of the NULL-terminated list (algorithm allow-lists). */
bool saml_xml_in_list(const char *value, const char *const *list);
/* Attribute without namespace as a malloc'd string, NULL when absent. */
char *saml_xml_attr(xmlNodePtr node, const char *name);
/* Text of an element: every text and CDATA child concatenated (comments are skipped, as
   exclusive c14n without comments does, so the value is exactly what was signed), XML
   whitespace trimmed at both ends. Refuses (-1) an element with element children or a value
   longer than SAML_MAX_VALUE. *out is malloc'd. */
int saml_xml_text(xmlNodePtr node, char **out);

/* xs:dateTime in UTC ("2026-01-02T03:04:05Z", optional fraction, optional "+00:00"). */
int saml_time_parse(const char *text, time_t *out);
/* "2026-01-02T03:04:05Z" into out (at least 21 bytes). */
void saml_time_format(time_t when, char *out, size_t size);

/* SHA-256 fingerprint "AB:CD:..." of a PEM or DER certificate (95 chars + NUL). */
int saml_cert_fingerprint_pem(const char *pem, char out[96]);
int saml_cert_fingerprint_der(const unsigned char *der, size_t len, char out[96]);
/* The base64 DER of a PEM certificate (as ds:X509Certificate carries it), after checking it
   parses; NULL when it does not. Caller frees. */
char *saml_cert_base64_der(const char *pem);

/* Self-test helper: a fresh RSA-2048 key and a self-signed certificate, both PEM. */
int saml_test_keypair(const char *cn, char **key_pem, char **cert_pem);

void saml_xml_test(bool verbose);
#endif
