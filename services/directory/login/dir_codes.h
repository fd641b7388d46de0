/* dir_codes: authorization codes. login_complete issues one (sso_random_token(32); only its
   SHA-256 is stored; 5 minutes; bound to the client, redirect_uri, PKCE challenge, nonce,
   scope, connection, organization, profile and auth_time); code_redeem spends it once. A code
   presented again is refused and every access token issued from it is revoked. */
#ifndef DIR_CODES_H
#define DIR_CODES_H
#include "dir_rpc.h"

#define DIR_CODE_TTL 300

typedef struct {
    const char *client_id;
    const char *redirect_uri;
    const char *scope;
    const char *nonce;            /* "" when the request had none */
    const char *code_challenge;   /* S256; "" when none */
    const char *organization_id;
    const char *connection_id;
    const char *connection_type;
    const Sso__Profile *profile;
    int64_t auth_time;
} dir_code_t;

/* Stores a new code for what code says (inside the caller's transaction). 0 with *value (the
   code to hand out; caller frees), or -1. */
int dir_codes_issue(dir_t *dir, const dir_code_t *code, char **value);

/* A PKCE code_verifier (RFC 7636 4.1): 43 to 128 characters of [A-Za-z0-9-._~]. */
bool dir_codes_verifier_ok(const char *verifier);

/* code_redeem: CodeGrant (with code_hash), or invalid_grant saying why. The client is always
   authenticated first by client_id and client_secret (a wrong, empty or missing secret is
   invalid_client and leaves the code unspent); with access_token_ttl an access token is
   issued from the code in the same write (CodeGrant.access_token). */
DIR_RPC_FN(dir_codes_redeem, Sso__CodeRedeemRequest, Sso__CodeRedeemReply);

/* What a redemption runs first inside its write transaction (TryRedeem: the try's single
   use): 0 to go on, or -1 with err to refuse, keeping nothing. */
typedef int(dir_codes_before_fn)(dir_t *dir, void *arg, dir_error_t *err);
/* The redemption itself, for a client that code_redeem authenticated or that the caller
   vouches for otherwise (TryRedeem: the dashboard session that started the try): one write
   that runs before (when given), then checks and spends the code as code_redeem says (a
   code presented again revokes what was issued from it) and issues the access token. 0 with
   out->grant, or -1 with err. */
int dir_codes_spend(dir_t *dir, const Sso__CodeRedeemRequest *r, dir_codes_before_fn *before,
                    void *arg, Sso__CodeRedeemReply *out, dir_error_t *err);

/* The grant code_hash was redeemed as, for /userinfo through an access token issued from it;
   NULL when there is none (or out of memory). Free with sso__code_grant__free_unpacked. */
Sso__CodeGrant *dir_codes_grant(dir_t *dir, const char *code_hash);

/* A profile as the JSON a code keeps (and a test login's result); heap, NULL when out of
   memory. */
char *dir_codes_profile_json(const Sso__Profile *profile);

void dir_codes_test(bool verbose);
#endif
