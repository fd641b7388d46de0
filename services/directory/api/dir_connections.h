/* dir_connections: an organization's SAML or OIDC connection to its identity provider, the
   management API's resource: its handlers, JSON shape and status. SAML connections get their
   own SP key pair (key sealed under "connection:<id>:sp_key"); the type's settings are read
   by dir_conn_saml and dir_conn_oidc, the slow steps run by dir_conn_slow. Status: draft ->
   active <-> inactive, changed only through /enable and /disable. */
#ifndef DIR_CONNECTIONS_H
#define DIR_CONNECTIONS_H
#include "api/dir_api.h"

/* /api/v1/organizations/{id}/connections (GET list, POST create). */
zframe_t *dir_connections_org_http(dir_api_req_t *req);
/* /api/v1/connections/{id} and /api/v1/connections/{id}/enable|disable. */
zframe_t *dir_connections_http(dir_api_req_t *req);

void dir_connections_test(bool verbose);
#endif
