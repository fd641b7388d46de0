/* dir_connection_columns: the one column list by which the directory reads a connection (the
   management API's JSON and edits, the login steps' Connection), with its organization's
   name and allow_any_domain, and the index of each column. A column added here is read by
   every reader; the sealed secrets are read as blobs and opened only by the login steps. */
#ifndef DIR_CONNECTION_COLUMNS_H
#define DIR_CONNECTION_COLUMNS_H

/* SELECT DIR_CONN_COLUMNS DIR_CONN_FROM WHERE c.<column> ...; the last column is c.seq (the
   position dir_api_list pages by). */
#define DIR_CONN_COLUMNS                                                                       \
    "c.id, c.organization_id, c.type, c.status, c.name, c.created_at, c.updated_at, "        \
    "c.saml_idp_entity_id, c.saml_idp_sso_url, c.saml_idp_certificates, "                    \
    "c.saml_idp_metadata_url, c.saml_sp_certificate, c.saml_sp_key_sealed, c.oidc_issuer, "  \
    "c.oidc_client_id, c.oidc_client_secret_sealed, c.oidc_scopes, c.options, "              \
    "c.attribute_mapping, c.oidc_discovered, c.oidc_client_certificate, "                     \
    "c.oidc_client_key_sealed, c.saml_sp_previous_certificate, "                             \
    "c.saml_sp_previous_key_sealed, c.saml_idp_metadata_signing_certificate, "               \
    "o.display_name, o.allow_any_domain, c.seq"
#define DIR_CONN_FROM " FROM connections c JOIN organizations o ON o.id = c.organization_id "

enum {
    DIR_CONN_ID, DIR_CONN_ORG, DIR_CONN_TYPE, DIR_CONN_STATUS, DIR_CONN_NAME, DIR_CONN_CREATED,
    DIR_CONN_UPDATED, DIR_CONN_SAML_ENTITY, DIR_CONN_SAML_SSO, DIR_CONN_SAML_CERTS,
    DIR_CONN_SAML_MD_URL, DIR_CONN_SP_CERT, DIR_CONN_SP_KEY_SEALED, DIR_CONN_OIDC_ISSUER,
    DIR_CONN_OIDC_CLIENT, DIR_CONN_OIDC_SECRET_SEALED, DIR_CONN_OIDC_SCOPES, DIR_CONN_OPTIONS,
    DIR_CONN_MAPPING, DIR_CONN_OIDC_DISCOVERED, DIR_CONN_OIDC_CLIENT_CERT,
    DIR_CONN_OIDC_CLIENT_KEY_SEALED, DIR_CONN_SP_PREVIOUS_CERT, DIR_CONN_SP_PREVIOUS_KEY_SEALED,
    DIR_CONN_SAML_MD_SIGNING_CERT, DIR_CONN_ORG_NAME, DIR_CONN_ANY_DOMAIN,
    DIR_CONN_SEQ
};
#endif
