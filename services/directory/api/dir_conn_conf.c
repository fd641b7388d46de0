/* dir_conn_conf: a connection's settings while they are read, checked and written. */
#include "api/dir_conn_conf.h"
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void dir_conn_conf_free(dir_conn_conf_t *conf)
{
    free(conf->type);
    free(conf->name);
    free(conf->saml_entity_id);
    free(conf->saml_sso_url);
    free(conf->saml_metadata_url);
    json_decref(conf->saml_certs);
    free(conf->saml_md_signing_cert);
    free(conf->oidc_issuer);
    free(conf->oidc_client_id);
    free(conf->oidc_scopes);
    if (conf->oidc_secret) {
        OPENSSL_cleanse(conf->oidc_secret, strlen(conf->oidc_secret));
        free(conf->oidc_secret);
    }
    json_decref(conf->options);
    json_decref(conf->mapping);
    memset(conf, 0, sizeof *conf);
}

void dir_conn_conf_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}
