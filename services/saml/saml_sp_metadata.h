/* saml_sp_metadata: the SP metadata document of one connection (EntityDescriptor with an
   SPSSODescriptor), built with libxml2 so no configured value can alter its structure. */
#ifndef SAML_SP_METADATA_H
#define SAML_SP_METADATA_H
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *entity_id;           /* <public url>/sso/saml/<connection id> */
    const char *acs_url;             /* entity_id + "/acs" (HTTP-POST) */
    const char *signing_cert_pem;    /* the SP certificate (KeyDescriptor use="signing") */
    const char *encryption_cert_pem; /* NULL = the signing certificate (use="encryption") */
    /* During an SP key rollover, the previous certificate: a second use="encryption"
       KeyDescriptor, so that the IdP may encrypt to either until it is retired. NULL = none. */
    const char *previous_encryption_cert_pem;
    bool authn_requests_signed;
    bool want_assertions_signed;
} saml_sp_metadata_config_t;

/* Builds the metadata XML into *xml (caller frees). 0, or -1 with a reason in why. */
int saml_sp_metadata_build(const saml_sp_metadata_config_t *config, char **xml, char *why,
                           size_t why_size);

void saml_sp_metadata_test(bool verbose);
#endif
