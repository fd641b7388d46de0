/* dir_portal_connections: the portal API's routes for an organization's own SSO set-up: its
   connections (list, create, show, change, delete, enable, disable), the check of a SAML
   IdP's details before they are saved, and its recent login events. Each is the management
   API's handler (dir_connections, dir_events, dir_conn_saml's reading) called with a request
   that names the SESSION's organization, never one from the request, after
   dir_portal_req_owns has found any connection id it is given to be the session's (403
   another organization's, 404 none). A handler that waits for a slow step (a metadata or
   discovery fetch, a key pair) goes on only while the session lives. A create or change
   that sets or resets an option naming the app's clients (allow_idp_initiated,
   idp_initiated_client_id: the developer's) is a 403, as is "options": null. */
#ifndef DIR_PORTAL_CONNECTIONS_H
#define DIR_PORTAL_CONNECTIONS_H
#include "portal/dir_portal_req.h"

/* The default and largest number of events GET events answers (?limit=). */
#define DIR_PORTAL_EVENTS_DEFAULT 20
#define DIR_PORTAL_EVENTS_MAX 100
/* How many requests that may wait in a slow step (create, change, enable, saml/check) one
   portal session, and all portal sessions together, may have running at once; more answer
   429. Together they stay below the directory's offload threads (dir_service.c), so a portal
   fetch never runs on the directory's loop and the management API keeps threads of its own. */
#define DIR_PORTAL_SLOW_PER_SESSION 2
#define DIR_PORTAL_SLOW_MAX 4

/* GET connections, POST connections. */
zframe_t *dir_portal_connections_collection(dir_portal_req_t *req);
/* GET, PATCH, DELETE connections/{id}; POST connections/{id}/enable|disable. */
zframe_t *dir_portal_connections_item(dir_portal_req_t *req);
/* POST saml/check: what a create would read of the IdP's details (any of idp_metadata_xml,
   idp_metadata_url, idp_entity_id, idp_sso_url, idp_certificates), written nowhere:
   200 {idp_entity_id, idp_sso_url, idp_certificates, idp_certificate_details} or 400 with the
   precise reason. */
zframe_t *dir_portal_connections_saml_check(dir_portal_req_t *req);
/* GET events?limit=N: the organization's recent login events, newest first. */
zframe_t *dir_portal_connections_events(dir_portal_req_t *req);

void dir_portal_connections_test(bool verbose);
#endif
