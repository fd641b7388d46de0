/* dir_conn_saml: reading and checking a SAML connection's settings (the IdP's entity id, SSO
   URL and certificates, given or taken from its metadata XML or URL). */
#ifndef DIR_CONN_SAML_H
#define DIR_CONN_SAML_H
#include "api/dir_conn_conf.h"
#include "api/dir_conn_slow.h"
#include "sso_saml_metadata.h"
#include "store/dir_db.h"

/* Reads the "saml" object of a request into conf: the metadata (given as XML, or fetched from
   its URL in a slow step), then the explicit fields, which win over it; certificates are kept
   in canonical PEM. 0, -1 with err set, or -1 with slow->want set when the metadata is still
   to be fetched. Certificates given (explicitly or by the metadata) must not have expired:
   "saml.idp_certificates[0] expired on 2024-01-31 (CN=...)". */
int dir_conn_saml_read(json_t *saml, dir_conn_conf_t *conf, dir_conn_slow_t *slow,
                       dir_error_t *err);

/* Parses IdP metadata (sso_saml_metadata_parse, which checks its signature when
   signing_certificate names the certificate that must have made it; NULL: none) and refuses it
   when its validUntil is before now: the checks a document must pass when it is imported and
   when it is refreshed. The metadata, or NULL with why ("the metadata expired at
   2024-01-31T00:00:00Z (validUntil)"). */
sso_saml_metadata_t *dir_conn_saml_metadata(const char *xml, size_t len, int64_t now,
                                           const char *signing_certificate, char *why,
                                           size_t why_size);

/* Adds to saml (the API's "saml" object) idp_metadata_signing_certificate, the PEM in the
   row's column or null, and idp_metadata_signing_certificate_details (as
   dir_conn_saml_cert_details shows one certificate) or null. */
void dir_conn_saml_signing_cert_json(dir_db_stmt_t *stmt, int column, json_t *saml);

/* What an admin is shown of each certificate of certs (an array of PEM strings): a new array
   of {subject, issuer, not_before, not_after (RFC 3339), expired, sha256_fingerprint ("AB:CD:
   ...")}; one that cannot be read shows nulls and expired false. */
json_t *dir_conn_saml_cert_details(const json_t *certs);

void dir_conn_saml_test(bool verbose);
#endif
