/* dir_domains: an organization's email domains. Stored lower-case, unique across all
   organizations, matched exactly (no suffix matching); consumer mail domains are refused. */
#ifndef DIR_DOMAINS_H
#define DIR_DOMAINS_H
#include "api/dir_api.h"

/* /api/v1/organizations/{id}/domains[/{domain_id}]. */
zframe_t *dir_domains_http(dir_api_req_t *req);

void dir_domains_test(bool verbose);
#endif
