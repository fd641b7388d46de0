/* dir_clients: OAuth clients (the apps' Auth0 tenants) and their redirect URIs. Secrets are
   shown once at creation and stored only as sso_secret_hash values. */
#ifndef DIR_CLIENTS_H
#define DIR_CLIENTS_H
#include "api/dir_api.h"
#include "dir_rpc.h"
#include "directory.pb-c.h"

/* /api/v1/clients, /api/v1/clients/{id} and POST /api/v1/clients/{id}/rotate_secret. */
zframe_t *dir_clients_http(dir_api_req_t *req);

/* The client_auth RPC: fills a malloc'd reply (free with
   sso__client_auth_reply__free_unpacked). An unknown client and a wrong secret both give
   ok=false and nothing else. The client's secret is its current one or, until
   previous_secret_expires_at, the one the last rotate_secret replaced. NULL when out of
   memory or the database fails.
   Failures are limited per registered client id and per client_address (may be empty) by
   dir->auth_limit: while either is locked out, ok=false and *retry_after is the seconds left
   (else 0), with no secret hashed, unless the secret verified in the last few minutes
   (dir_secret_cache). A success clears the client's count. */
Sso__ClientAuthReply *dir_clients_auth(dir_t *dir, const char *client_id, const char *secret,
                                       const char *client_address, int64_t *retry_after);
/* err for an attempt dir_clients_auth refused with *retry_after: too_many_requests. */
void dir_clients_limited(dir_error_t *err, int64_t retry_after);

/* A registered client as /oauth/authorize needs it (redirect URIs as registered, exact
   strings); NULL with err invalid_client for an unknown or malformed client_id. */
Sso__ClientInfo *dir_clients_info(dir_t *dir, const char *client_id, dir_error_t *err);

void dir_clients_test(bool verbose);
#endif
