/* dir_conn_conf: a connection's settings while a create, a change or an enable reads, checks
   and writes them; dir_connections owns them, dir_conn_saml and dir_conn_oidc fill their
   type's part. */
#ifndef DIR_CONN_CONF_H
#define DIR_CONN_CONF_H
#include <jansson.h>
#include <stdbool.h>

/* The longest URL a connection's settings may hold (issuer, metadata and SSO URLs). */
#define DIR_CONN_URL_MAX 2048

/* A connection's settings while they are being built or changed. Owned strings. */
typedef struct {
    char *type;
    char *name;
    char *saml_entity_id;
    char *saml_sso_url;
    char *saml_metadata_url;
    json_t *saml_certs;   /* array of canonical PEM strings */
    char *saml_md_signing_cert; /* canonical PEM that must sign the metadata; NULL: none */
    char *oidc_issuer;
    char *oidc_client_id;
    char *oidc_scopes;    /* space-separated */
    char *oidc_secret;    /* a new plaintext secret from this request, else NULL */
    bool oidc_has_secret; /* one is stored already */
    bool oidc_has_client_key; /* a private_key_jwt key pair is stored already */
    json_t *options;      /* the options object as stored (dir_conn_options) */
    json_t *mapping;      /* the attribute_mapping object as stored */
} dir_conn_conf_t;

/* Frees what conf holds (the new secret cleansed first) and zeroes it. */
void dir_conn_conf_free(dir_conn_conf_t *conf);
/* Replaces the owned string *field with a copy of value (NULL: none). */
void dir_conn_conf_set(char **field, const char *value);
#endif
