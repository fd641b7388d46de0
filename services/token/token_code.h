/* token_code: the authorization_code grant of /oauth/token. Redeems the code with the
   directory (which checks binding to client and redirect_uri, expiry, single use and PKCE),
   issues the access token (stored by the directory with the userinfo claims) and mints the
   RS256 ID token with exactly the claims of DESIGN 3. */
#ifndef TOKEN_CODE_H
#define TOKEN_CODE_H
#include "directory.pb-c.h"
#include <openssl/evp.h>
#include "sso_service.h"
#include "token_client_auth.h"

/* Lifetime of the ID token and of the access token. */
#define TOKEN_USER_TTL 3600

/* Handles grant_type=authorization_code; auth holds credentials (BASIC or POST) not yet
   checked. Always returns a response frame. */
zframe_t *token_code_grant(sso_service_t *service, zhashx_t *params, const client_auth_t *auth);

/* The key that signs ID tokens now (token_keys, generated on first need): NULL with *key
   and *kid (caller frees both), or the answer to give instead (503). */
zframe_t *token_code_signing_key(sso_service_t *service, EVP_PKEY **key, char **kid);

/* The RS256 ID token of a redeemed grant (its claims token_code_id_claims, at_hash of its
   access token), as /oauth/token and the dashboard's Try it (token_try) mint it: 0 with
   *id_token (caller frees), or -1 with *why. */
int token_code_mint(sso_service_t *service, const Sso__CodeGrant *grant, EVP_PKEY *key,
                    const char *kid, char **id_token, const char **why);

/* The authorization_code request's own checks, before any directory call (code present and
   not too long, redirect_uri present, code_verifier well-formed, a client_id parameter equal
   to the authenticated client_id). NULL when they pass, else the error code (a 400) with
   *description set. Pure. */
const char *token_code_check_params(zhashx_t *params, const char *client_id,
                                    const char **description);

/* A code_verifier or code_challenge: 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636). */
bool token_code_pkce_ok(const char *value);

/* The identity claims of a grant, what /userinfo returns: sub, email, email_verified, name,
   given_name, family_name, groups (when any), oid, connection_id, connection_type. Empty
   strings are left out. NULL with *why set when sub cannot be made (too long, not ASCII). */
json_t *token_code_identity(const Sso__CodeGrant *grant, const char **why);

/* The ID token's claims: iss, sub, aud, azp, exp, iat, auth_time, nonce (only when the request
   had one), at_hash, then the identity claims and amr. NULL with *why as above. */
json_t *token_code_id_claims(const char *issuer, const Sso__CodeGrant *grant,
                             const char *access_token, int64_t now, const char **why);

void token_code_test(bool verbose);
#endif
