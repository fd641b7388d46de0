/* saml_sign: signs a SAML element the way IdPs do: an enveloped, exclusive-c14n, RSA-SHA256
   signature placed right after the element's Issuer, with the certificate in KeyInfo. Used by
   the IdP simulator (and by tests to make their own responses). */
#ifndef SAML_SIGN_H
#define SAML_SIGN_H
#include <libxml/tree.h>

/* node must carry an ID attribute and an Issuer child. 0, or -1 on failure. */
int saml_sign_enveloped(xmlDocPtr doc, xmlNodePtr node, const char *key_pem, const char *cert_pem);
#endif
