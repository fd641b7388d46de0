/* dir_login: what /oauth/authorize and the ACS need to find a connection: connection_resolve
   (the selectors of /oauth/authorize, strongest first) and connection_get, both answering a
   Connection with its organization's name and domains (and, only when asked, its secrets). */
#ifndef DIR_LOGIN_H
#define DIR_LOGIN_H
#include "dir_rpc.h"

/* connection_resolve: only an active connection is used for a login. Never with secrets: it
   answers the token service (authorize_lookup), which uses none. */
dir_rpc_fn dir_login_resolve;
/* connection_get: by id, whatever its status; without its secrets (the SP private key, the
   upstream client secret) unless asked with_secrets (dir_rpc gives those only to the service
   of the connection's type). Without: the public SP metadata and the IdP simulator. */
dir_rpc_fn dir_login_connection_get;
/* The same, always with the secrets unsealed, for login_context (the ACS decrypts with the SP
   key). Not an RPC of its own. */
dir_rpc_fn dir_login_connection_for_login;

/* A connection's type ("saml" or "oidc") into out and whether it is active; 0, or -1 when
   there is no such connection. */
int dir_login_connection_type(dir_t *dir, const char *id, char out[8], bool *active);

void dir_login_test(bool verbose);
#endif
