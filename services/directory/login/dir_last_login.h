/* dir_last_login: the last successful login of each connection, for the portal's connection
   page and the management API: its time, subject and the raw SAML attributes or OIDC claims
   as the IdP sent them (LoginCompleteRequest.raw_json). Written by LoginComplete of a client's
   login (never a test's, never an IdP-initiated one) in the write that records the success
   event; one row per connection (the next login replaces it), deleted with the connection.
   One person's attributes per connection, kept that long: never written to the service log. */
#ifndef DIR_LAST_LOGIN_H
#define DIR_LAST_LOGIN_H
#include "api/dir_api.h"

/* For dir_txn, inside its write: connection_id's last login is now subject's at completed_at
   with raw_json (checked by the caller: a JSON object of at most SSO_UPSTREAM_RAW_MAX bytes,
   or "" when the service sent none, stored as NULL). 0, or -1 when the database fails. */
int dir_last_login_note(dir_t *dir, const char *connection_id, const char *subject,
                        const char *raw_json, int64_t completed_at);

/* The last login of connection_id: {completed_at, subject, raw (the attributes or claims, or
   null when none were sent)}, or NULL with err: 404 for no such connection, or for one that
   has had no successful login (saying so), 500. The caller checks who may read it. */
json_t *dir_last_login_get(dir_t *dir, const char *connection_id, dir_error_t *err);

/* GET /api/v1/connections/{id}/last_login. (The portal's is portal/dir_portal_router's.) */
zframe_t *dir_last_login_http(dir_api_req_t *req);

void dir_last_login_test(bool verbose);
#endif
