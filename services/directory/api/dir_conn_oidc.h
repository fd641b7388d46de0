/* dir_conn_oidc: reading and checking an OIDC connection's settings: its issuer, client id,
   scopes and client secret (sealed under "connection:<id>:oidc_client_secret", never
   returned), its provider's discovery checked against the client authentication and response
   mode its options ask for, and the private_key_jwt client key pair (sealed under
   "connection:<id>:oidc_client_key"). */
#ifndef DIR_CONN_OIDC_H
#define DIR_CONN_OIDC_H
#include "api/dir_conn_conf.h"
#include "api/dir_conn_slow.h"

/* Reads the "oidc" object of a request into conf (issuer, client_id, a new client_secret,
   scopes: an array or one space-separated string, openid always included). 0, or -1 with
   err set. */
int dir_conn_oidc_read(json_t *oidc, dir_conn_conf_t *conf, dir_error_t *err);
/* The space-separated scopes as a JSON array (new reference). */
json_t *dir_conn_oidc_scopes_json(const char *scopes);

/* The connection's options.token_endpoint_auth_method; NULL when absent. */
const char *dir_conn_oidc_auth_method(const json_t *options);
/* Whether the options ask the provider to answer by a POSTed form. */
bool dir_conn_oidc_form_post(const json_t *options);
/* The discovery of issuer, checked (sso_oidc_discovery) with the client authentication the
   options configure, and listing form_post when they ask for it, from slow once fetched: 0,
   -1 with err set, or -1 with slow->want set when it is still to be fetched. */
int dir_conn_oidc_check_discovery(const char *issuer, const json_t *options,
                                  dir_conn_slow_t *slow, dir_error_t *err);

/* Seals the OIDC secret for connection id; *sealed NULL when there is no new secret. 0 or
   -1. */
int dir_conn_oidc_seal_secret(dir_t *dir, const char *id, const dir_conn_conf_t *conf,
                              uint8_t **sealed, size_t *sealed_len);
/* private_key_jwt: the connection's client key pair, made once (off the loop, like the SAML SP
   key pair) when its method first is private_key_jwt and kept after. 0 with *sealed and *cert
   (slow's; both NULL when none is to be stored), -1 with err set, or -1 with slow->want set
   when the key pair is still to be made. */
int dir_conn_oidc_client_key(dir_t *dir, const char *id, const dir_conn_conf_t *conf,
                             dir_conn_slow_t *slow, uint8_t **sealed, size_t *sealed_len,
                             const char **cert, dir_error_t *err);

void dir_conn_oidc_test(bool verbose);
#endif
