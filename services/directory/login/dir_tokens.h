/* dir_tokens: opaque access tokens ("at_" + 32 random bytes). Only the SHA-256 of a token is
   stored, with its client, scope and expiry; the management API checks bearers here. */
#ifndef DIR_TOKENS_H
#define DIR_TOKENS_H
#include "api/dir_json.h"
#include "dir_rpc.h"
#include "dir.h"

#define DIR_TOKEN_TTL_MAX 86400
#define DIR_CLAIMS_MAX 65536

/* Issues a token for an existing client. claims_json (NULL or "" for none) is what
   access_token_check returns (a JSON object); code_hash (NULL or "") links the token to the
   authorization code it came from: the code must have been redeemed by this client and never
   presented again (else invalid_grant), and a later reuse of the code revokes the token.
   0 with *token (caller frees), or -1 with err. */
int dir_tokens_issue(dir_t *dir, const char *client_id, const char *scope, int64_t ttl_seconds,
                     const char *claims_json, const char *code_hash, char **token,
                     dir_error_t *err);
/* True when token is known, unrevoked, unexpired, carries scope and its client is still an
   admin (for "management"); then its client's id is copied into client_id (client_id_size
   bytes; NULL for none). *why says what failed, for the WWW-Authenticate header. */
bool dir_tokens_check(dir_t *dir, const char *token, const char *scope, const char **why,
                      char *client_id, size_t client_id_size);

/* access_token_check: an unexpired, unrevoked token's AccessTokenClaims; else invalid_token. */
DIR_RPC_FN(dir_tokens_access_check, Sso__AccessTokenCheckRequest, Sso__AccessTokenCheckReply);
/* bearer_check: ok and client_id for a management token (as the API checks it), else ok=false. */
DIR_RPC_FN(dir_tokens_bearer_check, Sso__BearerCheckRequest, Sso__BearerCheckReply);

void dir_tokens_test(bool verbose);
#endif
