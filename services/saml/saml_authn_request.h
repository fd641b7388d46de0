/* saml_authn_request: builds the SP's AuthnRequest and encodes it for the HTTP-Redirect
   binding (SAML bindings 3.4.4: raw DEFLATE, base64, URL-encode; optional SigAlg + Signature
   over the exact query string, RSA-SHA256 with the SP key) or the HTTP-POST binding (3.5.4:
   base64 of the XML; optionally signed inside, an enveloped RSA-SHA256 XML signature). */
#ifndef SAML_AUTHN_REQUEST_H
#define SAML_AUTHN_REQUEST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *sp_entity_id;       /* Issuer */
    const char *acs_url;            /* AssertionConsumerServiceURL */
    const char *idp_sso_url;        /* Destination; may already carry a query */
    const char *relay_state;        /* optional, at most 80 bytes (bindings 3.4.3) */
    const char *sp_private_key_pem; /* optional: sign the request with RSA-SHA256 */
    const char *sp_certificate_pem; /* HTTP-POST signed: the KeyInfo's certificate */
    bool post_binding;              /* HTTP-POST instead of HTTP-Redirect */
    const char *nameid_format;      /* NameIDPolicy Format; NULL or "" = unspecified */
    time_t now;                     /* IssueInstant */
    bool force_authn;               /* ForceAuthn="true" */
    /* The request's ID as the login transaction holds it (an xs:ID: "_" and 16 to 64 of
       [A-Za-z0-9_-]); NULL makes a fresh one ("_" and 32 hex digits). */
    const char *id;
} saml_authn_request_config_t;

typedef struct saml_authn_request_t saml_authn_request_t;

/* Builds and encodes the request. NULL with a reason in why on bad input. */
saml_authn_request_t *saml_authn_request_new(const saml_authn_request_config_t *config,
                                             char *why, size_t why_size);
void saml_authn_request_destroy(saml_authn_request_t **self_p);
/* The request's ID: the InResponseTo the ACS must expect. */
const char *saml_authn_request_id(const saml_authn_request_t *self);
/* HTTP-Redirect: the full redirect URL for the browser. HTTP-POST: the IdP's SSO URL, where
   the browser posts SAMLRequest (saml_authn_request_post_value) and RelayState. */
const char *saml_authn_request_url(const saml_authn_request_t *self);
/* HTTP-POST: the SAMLRequest form value (base64 of the XML); NULL for HTTP-Redirect. */
const char *saml_authn_request_post_value(const saml_authn_request_t *self);
/* The AuthnRequest XML before encoding (for logs and tests). */
const char *saml_authn_request_xml(const saml_authn_request_t *self);

void saml_authn_request_test(bool verbose);
#endif
