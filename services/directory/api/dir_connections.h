/* dir_connections: an organization's SAML or OIDC connection to its identity provider, the
   management API's resource: its handlers, JSON shape and status. SAML connections get their
   own SP key pair (key sealed under "connection:<id>:sp_key"); the type's settings are read
   by dir_conn_saml and dir_conn_oidc, the slow steps run by dir_conn_slow. Status: draft ->
   active <-> inactive, changed only through /enable and /disable; a draft may lack the IdP's
   settings (dir_connections_ready). */
#ifndef DIR_CONNECTIONS_H
#define DIR_CONNECTIONS_H
#include "api/dir_api.h"

/* /api/v1/organizations/{id}/connections (GET list, POST create). */
zframe_t *dir_connections_org_http(dir_api_req_t *req);
/* /api/v1/connections/{id}, /api/v1/connections/{id}/enable|disable and .../sp_key/
   (dir_conn_sp_key). */
zframe_t *dir_connections_http(dir_api_req_t *req);

/* The API's JSON of connection id (new reference), or NULL when there is none. */
json_t *dir_connections_get(dir_t *dir, const char *id);

/* A connection is made as a draft, with or without the IdP's settings (a draft has its SP
   values or redirect URI to paste into the IdP's console first); they come by PATCH. It is
   enabled, kept active or tested only with all of them. For what ("enabled", "tested"): 0
   when connection id has all of them, else -1 with err: 400 naming what is missing, 404 when
   there is no such connection, 500. */
int dir_connections_ready(dir_t *dir, const char *id, const char *what, dir_error_t *err);

void dir_connections_test(bool verbose);
#endif
