/* dir_login: what /oauth/authorize and the ACS need to find a connection: resolving the
   selectors of /oauth/authorize (strongest first) and getting one by id, both giving a
   Connection with its organization's name and domains (and, only when asked, its secrets). */
#ifndef DIR_LOGIN_H
#define DIR_LOGIN_H
#include "dir_rpc.h"

/* The connection a selector picks (the first non-empty field decides); only an active one is
   used for a login. Never with secrets: it answers the token service (AuthorizeBegin), which
   uses none. NULL with err (not_found, no_organization, no_connection, connection_inactive,
   ambiguous_connection, invalid_request). */
Sso__Connection *dir_login_resolve(dir_t *dir, const Sso__ConnectionSelector *selector,
                                   dir_error_t *err);
/* UpstreamReads.ConnectionGet: by id, whatever its status; without its secrets (the SP
   private key, the upstream client secret) unless asked with_secrets (the router gives those
   only to the service of the connection's type). Without: the public SP metadata and the IdP
   simulator. */
DIR_RPC_FN(dir_login_connection_get, Sso__ConnectionGetRequest, Sso__ConnectionReply);
/* The same, always with the secrets unsealed, for LoginContext (the ACS decrypts with the SP
   key). NULL with err. */
Sso__Connection *dir_login_connection_for_login(dir_t *dir, const char *id, dir_error_t *err);

/* A connection's current version (Connection.version) into out; 0, or -1 with err. */
int dir_login_connection_version(dir_t *dir, const char *id, char out[65], dir_error_t *err);
/* A connection's type ("saml" or "oidc") into out and whether it is active; 0, or -1 when
   there is no such connection. */
int dir_login_connection_type(dir_t *dir, const char *id, char out[8], bool *active);

void dir_login_test(bool verbose);
#endif
