/* dir_tokens: opaque access tokens ("at_" + 32 random bytes). Only the SHA-256 of a token is
   stored, with its client, scope and expiry; the management API checks bearers here. */
#ifndef DIR_TOKENS_H
#define DIR_TOKENS_H
#include "dir_json.h"
#include "dir_service.h"

#define DIR_TOKEN_TTL_MAX 86400

/* Issues a token for an existing client. 0 with *token (caller frees), or -1 with err. */
int dir_tokens_issue(dir_t *dir, const char *client_id, const char *scope, int64_t ttl_seconds,
                     char **token, dir_error_t *err);
/* True when token is known, unrevoked, unexpired, carries scope and its client is still an
   admin (for "management"). *why says what failed, for the WWW-Authenticate header. */
bool dir_tokens_check(dir_t *dir, const char *token, const char *scope, const char **why);

void dir_tokens_test(bool verbose);
#endif
