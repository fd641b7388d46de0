/* dir_signing_api: the token service's signing keys in the management API. GET /api/v1/keys
   lists the published keys with their state (dir_signing_states; public parts only) and the
   rotation delay; POST /api/v1/keys/rotate rotates a new key in (dir_signing_rotate). The
   gateway sends /api/v1/keys/rotate to the token service, whose route calls the same function
   through TokenWrites.KeyRotate, so this route is the dashboard's (/dashboard/api/v1/keys/rotate). */
#ifndef DIR_SIGNING_API_H
#define DIR_SIGNING_API_H
#include "api/dir_api.h"
#include "dir_rpc.h"

/* keys (GET) and keys/rotate (POST); 404 for anything deeper. */
zframe_t *dir_signing_api_http(dir_api_req_t *req);

/* TokenWrites.KeyRotate: the token service's POST /api/v1/keys/rotate. Checks the management
   bearer token as /api/v1 does (invalid_token otherwise, not audited, as /api/v1 audits only
   authenticated requests), rotates as POST keys/rotate does, audits it under the token's
   client and answers the new kid, when it signs from, and the key list with private parts. */
DIR_RPC_FN(dir_signing_api_key_rotate, Sso__KeyRotateRequest, Sso__KeyRotateReply);

void dir_signing_api_test(bool verbose);
#endif
