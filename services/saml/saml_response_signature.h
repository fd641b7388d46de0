/* saml_response_signature: XML signatures of a Response or an Assertion, checked against the
   connection's certificates only, by lib's sso_xmldsig (which says what is checked, and how);
   keys come from saml_keycache, outcomes are saml_results. */
#ifndef SAML_RESPONSE_SIGNATURE_H
#define SAML_RESPONSE_SIGNATURE_H
#include "saml_result.h"
#include "sso_xmldsig.h"
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

#define SAML_MAX_IDP_CERTIFICATES SSO_XMLDSIG_MAX_KEYS

typedef struct saml_response_signature_t saml_response_signature_t;

/* NULL when out of memory or when xmlsec cannot make a keys manager. */
saml_response_signature_t *saml_response_signature_new(bool allow_sha1);
void saml_response_signature_destroy(saml_response_signature_t **self_p);
/* Trusts one more IdP signing certificate (PEM), up to SAML_MAX_IDP_CERTIFICATES. 0, or -1
   with the reason ("config: ..." or "internal: ...") in why. */
int saml_response_signature_add_certificate(saml_response_signature_t *self, const char *pem,
                                            char *why, size_t why_size);
/* The single ds:Signature child of node into *sig, NULL when node is unsigned; more than one
   is refused. what names node in reasons ("Response", "Assertion"). */
saml_error_t saml_response_signature_of(saml_result_t *result, xmlNodePtr node, const char *what,
                                        xmlNodePtr *sig);
/* Verifies sig, a direct child of node, and that it covers node (by its ID, registered as
   the document's only holder of that ID). */
saml_error_t saml_response_signature_verify(const saml_response_signature_t *self,
                                            saml_result_t *result, xmlDocPtr doc, xmlNodePtr node,
                                            xmlNodePtr sig, const char *what);

void saml_response_signature_test(bool verbose);
#endif
