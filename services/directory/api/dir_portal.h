/* dir_portal: links that let a customer's IT admin open the hosted admin portal for their
   organization. The token in the link is random; only its SHA-256 is stored. */
#ifndef DIR_PORTAL_H
#define DIR_PORTAL_H
#include "api/dir_api.h"

#define DIR_PORTAL_TTL (24 * 3600)

/* POST /api/v1/organizations/{id}/portal_links. */
zframe_t *dir_portal_http(dir_api_req_t *req);

void dir_portal_test(bool verbose);
#endif
