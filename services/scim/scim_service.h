/* scim_service: the SCIM service's definition on the bus and its routes. Every request under
   /scim/v2/{directory_id}/ is authenticated first (ScimReads.ScimAuthenticate with its bearer
   token: 401 alike for an absent, empty, wrong, expired or another directory's token, and for
   a directory that does not exist), then served: the discovery documents (scim_discovery)
   and /Users (scim_users). Nothing calls it over RPC. */
#ifndef SCIM_SERVICE_H
#define SCIM_SERVICE_H
#include "sso_service.h"

extern const sso_service_def_t scim_service;

void scim_service_test(bool verbose);
#endif
