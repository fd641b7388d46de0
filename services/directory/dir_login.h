/* dir_login: what /oauth/authorize and the ACS need to find a connection: connection_resolve
   (the selectors of /oauth/authorize, strongest first) and connection_get, both answering a
   Connection with its organization's name and domains and its secrets unsealed. */
#ifndef DIR_LOGIN_H
#define DIR_LOGIN_H
#include "dir_rpc.h"

/* connection_resolve: only an active connection is used for a login. */
dir_rpc_fn dir_login_resolve;
/* connection_get: by id, whatever its status. */
dir_rpc_fn dir_login_connection_get;

/* A connection's type ("saml" or "oidc") into out; 0, or -1 when there is no such connection. */
int dir_login_connection_type(dir_t *dir, const char *id, char out[8]);

void dir_login_test(bool verbose);
#endif
