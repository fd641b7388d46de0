/* dir_portal: links that let a customer's IT admin open the hosted admin portal for their
   organization (/api/v1/organizations/{id}/portal_links). The token is random, shown once in
   the link's location, after a '#' (a fragment never reaches a server, a log or a Referer), and
   only its SHA-256 is stored. A link works once: portal/dir_portal_session exchanges it for a
   session. Revoking a link ends the sessions made from it. */
#ifndef DIR_PORTAL_H
#define DIR_PORTAL_H
#include "api/dir_api.h"

#define DIR_PORTAL_TTL (7 * 24 * 3600)         /* a link's lifetime when expires_in is absent */
#define DIR_PORTAL_TTL_MIN (5 * 60)            /* expires_in's bounds, in seconds */
#define DIR_PORTAL_TTL_MAX (30 * 24 * 3600)
#define DIR_PORTAL_TOKEN_BYTES 32              /* 43 base64url characters */
#define DIR_PORTAL_TOKEN_LEN 43

/* /api/v1/organizations/{id}/portal_links[/{link_id}]: POST {expires_in?} creates, GET lists
   the live ones (not revoked, not expired; used or not) without tokens, DELETE revokes. */
zframe_t *dir_portal_http(dir_api_req_t *req);

void dir_portal_test(bool verbose);
#endif
