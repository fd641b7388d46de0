/* sso_saml_metadata: safe XML reading and SAML 2.0 IdP metadata parsing (libxml2).
   Documents are read with no network, no DTD loading, no entity substitution; any DOCTYPE is
   refused, and size and element depth are bounded (DESIGN.md section 6). */
#ifndef SSO_SAML_METADATA_H
#define SSO_SAML_METADATA_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSO_XML_MAX_BYTES (1024 * 1024)
#define SSO_XML_MAX_DEPTH 64

#define SSO_SAML_MD_NS "urn:oasis:names:tc:SAML:2.0:metadata"
#define SSO_SAML_DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define SSO_SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define SSO_SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

/* Takes libxml2's file, HTTP and FTP input and output handlers and its external entity loader
   out of the process, for good: every later open of a URI fails, whatever a document asks
   for. For processes that read XML from peers (saml, directory); call once at start. 0 or -1. */
int sso_xml_forbid_io(void);

/* Parses len bytes of XML under the rules above. Returns the document (xmlFreeDoc it) or
   NULL with a reason in why. */
xmlDocPtr sso_xml_read_safe(const char *data, size_t len, char *why, size_t why_size);

typedef struct {
    char *entity_id;       /* EntityDescriptor/@entityID */
    char *sso_url;         /* SingleSignOnService/@Location: HTTP-Redirect, else HTTP-POST */
    char *sso_binding;     /* the binding of sso_url */
    char **certificates;   /* signing certificates as PEM (use="signing" or no use) */
    size_t n_certificates;
    int64_t valid_until;   /* the earliest validUntil of the EntityDescriptor and the
                              EntitiesDescriptors around it (Unix seconds); 0 when none says */
} sso_saml_metadata_t;

/* Parses IdP metadata: one EntityDescriptor (alone or inside EntitiesDescriptor) with an
   IDPSSODescriptor for SAML 2.0. Every certificate must parse as X.509; a validUntil must be
   an xs:dateTime (whether it has passed is the caller's to judge). With signing_certificate
   (PEM; NULL for none), the document must be signed by it (sso_xmldsig's rules): on its root,
   or on the EntityDescriptor read when the root is an EntitiesDescriptor; unsigned metadata is
   refused then, as stripping the signature would otherwise pass. Returns the result or NULL
   with a reason in why that can be shown to an administrator. */
sso_saml_metadata_t *sso_saml_metadata_parse(const char *xml, size_t len,
                                             const char *signing_certificate, char *why,
                                             size_t why_size);
void sso_saml_metadata_destroy(sso_saml_metadata_t **self_p);
/* Wraps one certificate as metadata carries it (base64 DER, whitespace allowed) as PEM after
   checking it parses as X.509 with nothing after it; NULL if not. Caller frees. Shared with the
   directory, which accepts the same form from administrators. */
char *sso_saml_metadata_cert_pem(const char *b64);

void sso_saml_metadata_test(bool verbose);
#endif
