/* dir_conn_sp_key: rollover of a SAML connection's SP key pair. POST
   /api/v1/connections/{id}/sp_key/rotate makes a new key pair (off the directory's loop,
   dir_conn_slow) and keeps the one it replaces as the previous: SP metadata publishes both
   certificates for encryption and the saml service decrypts with either (Connection fields
   41-42). POST .../sp_key/retire_previous drops the previous, once the IdP encrypts to the
   new certificate. Retirement is explicit, not timed: only the admin knows when the IdP
   (often re-configured by hand) has switched, and a timer that ran out first would break
   every login. A second rotation before the retirement is refused (409): it would drop a key
   the IdP may still use. The previous key is sealed under "connection:<id>:sp_key_previous". */
#ifndef DIR_CONN_SP_KEY_H
#define DIR_CONN_SP_KEY_H
#include "api/dir_api.h"
#include "store/dir_db.h"

/* /api/v1/connections/{id}/sp_key/{rotate|retire_previous} (POST): 200 with the connection,
   404, 400 (not a SAML connection), 409 (rotate: a previous one not retired yet; retire: none
   to retire). */
zframe_t *dir_conn_sp_key_http(dir_api_req_t *req);

/* Adds to sp (the API's "sp" object of a SAML connection read with DIR_CONN_COLUMNS) the
   previous certificate (null when none) and certificate_details: the current and the
   previous certificate's subject, expiry and SHA-256 fingerprint, in that order. */
void dir_conn_sp_key_json(dir_db_stmt_t *stmt, json_t *sp);

void dir_conn_sp_key_test(bool verbose);
#endif
