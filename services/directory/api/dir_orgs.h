/* dir_orgs: organizations, the customers whose employees sign in. Deleting one deletes its
   domains, connections and portal links (ON DELETE CASCADE); its login events stay. */
#ifndef DIR_ORGS_H
#define DIR_ORGS_H
#include "api/dir_api.h"

/* /api/v1/organizations and /api/v1/organizations/{id}. */
zframe_t *dir_orgs_http(dir_api_req_t *req);
/* True when the organization exists. */
bool dir_orgs_exists(dir_t *dir, const char *id);
/* dir_api_list's check of a collection under an organization: NULL when it exists, else 404. */
zframe_t *dir_orgs_check(dir_t *dir, const char *id);

void dir_orgs_test(bool verbose);
#endif
