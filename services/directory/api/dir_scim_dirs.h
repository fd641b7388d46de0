/* dir_scim_dirs: an organization's SCIM 2.0 directories (issue 22) in the management API, and
   the check of a SCIM request's bearer token for the SCIM service. A directory is the
   endpoint <SSO_PUBLIC_URL>/scim/v2/<id> that the organization's IdP provisions users and
   groups into. Its bearer token ("scim_" + 32 random bytes in base64url) is shown once, when
   made, and stored as its SHA-256; a rotation keeps the token it replaces working for an
   overlap, so a directory has at most two live tokens. The users, groups and sync events the
   SCIM service writes (migration 0017) are listed here, read-only. Creating, rotating and
   deleting are audited by the router as every change is. */
#ifndef DIR_SCIM_DIRS_H
#define DIR_SCIM_DIRS_H
#include "api/dir_api.h"
#include "dir_rpc.h"

#define DIR_SCIM_TOKEN_PREFIX "scim_"
#define DIR_SCIM_TOKEN_BYTES 32
/* A rotation's overlap_seconds: an hour when absent, at most 7 days. */
#define DIR_SCIM_OVERLAP_DEFAULT 3600
#define DIR_SCIM_OVERLAP_MAX (7 * 86400)
/* A directory's name when the body gives none. */
#define DIR_SCIM_NAME_DEFAULT "SCIM directory"

/* /api/v1/organizations/{id}/directories (GET a page, POST a new directory). */
zframe_t *dir_scim_dirs_org_http(dir_api_req_t *req);
/* /api/v1/directories/{id} (GET, DELETE), its users, groups and events (GET a page) and
   token/rotate (POST); 404 for any other path below. */
zframe_t *dir_scim_dirs_http(dir_api_req_t *req);

/* ScimReads.ScimAuthenticate: the organization of the directory whose live token (current, or
   the previous one within its overlap) is in->token; otherwise invalid_token, worded alike
   whatever the reason (no such directory, another directory's token, expired, empty,
   malformed), so a caller learns nothing about which directories exist. */
DIR_RPC_FN(dir_scim_dirs_authenticate, Sso__ScimAuthenticateRequest,
           Sso__ScimAuthenticateReply);

void dir_scim_dirs_test(bool verbose);
#endif
