/* dir_codes: issuing and redeeming authorization codes. */
#include "login/dir_codes.h"
#include "api/dir_clients.h"
#include "dir_seed.h"
#include "dir_service.h"
#include "dir_testkit.h"
#include "login/dir_tokens.h"
#include "store/dir_db_pg.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define S_CODE_MAX 512

char *dir_codes_profile_json(const Sso__Profile *profile)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < profile->n_groups; i++)
        json_array_append_new(groups, json_string(profile->groups[i]));
    json_t *json = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:s}", "subject",
                             profile->subject, "email", profile->email, "email_verified",
                             profile->email_verified, "name", profile->name, "given_name",
                             profile->given_name, "family_name", profile->family_name, "groups",
                             groups, "scim_user_id", profile->scim_user_id);
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    return text;
}

static char *s_member(const json_t *json, const char *key)
{
    const char *text = json_string_value(json_object_get(json, key));
    return dir_rpc_dup(text ? text : "");
}

static Sso__Profile *s_profile_parse(const char *text)
{
    json_t *json = json_loads(text, 0, NULL);
    Sso__Profile *profile = json_is_object(json) ? malloc(sizeof *profile) : NULL;
    if (profile) {
        sso__profile__init(profile);
        profile->subject = s_member(json, "subject");
        profile->email = s_member(json, "email");
        profile->email_verified = json_is_true(json_object_get(json, "email_verified"));
        profile->name = s_member(json, "name");
        profile->given_name = s_member(json, "given_name");
        profile->family_name = s_member(json, "family_name");
        profile->groups = dir_rpc_strings(json_object_get(json, "groups"), &profile->n_groups);
        profile->scim_user_id = s_member(json, "scim_user_id");
    }
    json_decref(json);
    return profile;
}

int dir_codes_issue(dir_t *dir, const dir_code_t *code, char **value)
{
    *value = NULL;
    char *secret = sso_random_token(32);
    char *claims = dir_codes_profile_json(code->profile);
    int rc = -1;
    if (secret && claims) {
        char hash[65];
        sso_sha256_hex(secret, strlen(secret), hash);
        int64_t now = dir_now();
        if (dir_db_run(dir->db, NULL,
                       "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, "
                       "scope, nonce, code_challenge, code_challenge_method, organization_id, "
                       "connection_id, connection_type, claims_json, auth_time, created_at, "
                       "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       "sssssssssssiii", hash, code->client_id, code->redirect_uri, code->scope,
                       dir_rpc_or_null(code->nonce), dir_rpc_or_null(code->code_challenge),
                       *code->code_challenge ? "S256" : NULL, code->organization_id,
                       code->connection_id, code->connection_type, claims, code->auth_time, now,
                       now + DIR_CODE_TTL) == DIR_DB_OK) {
            *value = secret;
            secret = NULL;
            rc = 0;
        }
    }
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    free(claims);
    return rc;
}

bool dir_codes_verifier_ok(const char *verifier)
{
    size_t len = strlen(verifier);
    return len >= 43 && len <= 128
           && strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-._~") == len;
}

/* base64url(SHA-256(verifier)) == challenge, compared in constant time. */
static bool s_pkce_ok(const char *verifier, const char *challenge)
{
    if (!dir_codes_verifier_ok(verifier))
        return false;
    uint8_t digest[32];
    sso_sha256(verifier, strlen(verifier), digest);
    char *computed = sso_base64url_encode(digest, sizeof digest);
    bool ok = computed && sso_secure_equals(computed, challenge);
    free(computed);
    return ok;
}

#define S_GRANT_SELECT                                                                         \
    "SELECT client_id, redirect_uri, scope, nonce, code_challenge, organization_id, "           \
    "connection_id, connection_type, auth_time, claims_json, expires_at, used_at "             \
    "FROM authorization_codes WHERE code_hash = ?"

/* The grant a code's row says; NULL when out of memory. */
static Sso__CodeGrant *s_grant(dir_db_stmt_t *stmt, const char *hash)
{
    Sso__CodeGrant *grant = malloc(sizeof *grant);
    Sso__Profile *profile = grant ? s_profile_parse(dir_db_text(stmt, 9)) : NULL;
    if (!profile) {
        free(grant);
        return NULL;
    }
    sso__code_grant__init(grant);
    grant->client_id = dir_rpc_dup(dir_db_text(stmt, 0));
    grant->scope = dir_rpc_dup(dir_db_text(stmt, 2));
    grant->nonce = dir_rpc_dup(dir_db_text(stmt, 3));
    grant->organization_id = dir_rpc_dup(dir_db_text(stmt, 5));
    grant->connection_id = dir_rpc_dup(dir_db_text(stmt, 6));
    grant->connection_type = dir_rpc_dup(dir_db_text(stmt, 7));
    grant->auth_time = dir_db_int64(stmt, 8);
    grant->profile = profile;
    grant->code_hash = dir_rpc_dup(hash);
    return grant;
}

/* The access token of a redeem that asked for one, inside its write transaction. Its userinfo
   claims are read through the code (dir_codes_grant), so it stores none of its own. */
static int s_issue_access_token(dir_t *dir, const Sso__CodeRedeemRequest *r, const char *hash,
                                Sso__CodeGrant *grant, dir_error_t *err)
{
    char *token = NULL;
    if (dir_tokens_issue(dir, r->client_id, grant->scope, r->access_token_ttl, NULL, hash, &token,
                         err) != 0)
        return -1;
    grant->access_token = token; /* it held the shared "" of init */
    grant->expires_in = r->access_token_ttl;
    return 0;
}

Sso__CodeGrant *dir_codes_grant(dir_t *dir, const char *code_hash)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, S_GRANT_SELECT, "s", code_hash);
    Sso__CodeGrant *grant = NULL;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        grant = s_grant(stmt, code_hash);
    dir_db_release(stmt);
    return grant;
}

/* What a redeem request must have before anything is looked up. 0, or -1 with err. */
static int s_request_ok(const Sso__CodeRedeemRequest *r, dir_error_t *err)
{
    if (!*r->code) {
        dir_rpc_error(err, "invalid_request", "code is required");
        return -1;
    }
    if (!*r->client_id) {
        dir_rpc_error(err, "invalid_request", "client_id is required");
        return -1;
    }
    if (strlen(r->code) > S_CODE_MAX) {
        dir_rpc_error(err, "invalid_grant", "unknown code");
        return -1;
    }
    if (r->access_token_ttl < 0 || r->access_token_ttl > DIR_TOKEN_TTL_MAX) {
        dir_rpc_error(err, "invalid_request", "access_token_ttl must be from 0 to %d",
                      DIR_TOKEN_TTL_MAX);
        return -1;
    }
    return 0;
}

DIR_RPC_FN(dir_codes_redeem, Sso__CodeRedeemRequest, Sso__CodeRedeemReply)
{
    const Sso__CodeRedeemRequest *r = in;
    if (s_request_ok(r, err) != 0)
        return -1;
    /* The dashboard's "Try it" client has no secret, and one an admin rotated in until the
       next start must not open this path either: its codes are TryRedeem's only. */
    if (!strcmp(r->client_id, DIR_SEED_TRY_CLIENT_ID)) {
        dir_rpc_error(err, "invalid_client", "the dashboard's Try it client redeems its codes "
                                             "through the dashboard only");
        return -1;
    }
    /* Every redemption authenticates the client (an empty secret fails), before the code is
       looked at: a wrong secret learns nothing about the code and does not spend it. */
    int64_t retry_after = 0;
    Sso__ClientAuthReply *auth = dir_clients_auth(dir, r->client_id, r->client_secret,
                                                  r->client_address, &retry_after);
    bool authenticated = auth && auth->ok;
    if (auth)
        sso__client_auth_reply__free_unpacked(auth, NULL);
    if (!auth) {
        dir_server_error(err);
        return -1;
    }
    if (retry_after > 0) {
        dir_clients_limited(err, retry_after);
        return -1;
    }
    if (!authenticated) {
        dir_rpc_error(err, "invalid_client", "client authentication failed");
        return -1;
    }
    return dir_codes_spend(dir, r, NULL, NULL, out, err);
}

/* The code was presented again: whoever holds it now, nothing issued from it stays valid.
   Commits that, and says so in err. */
static void s_presented_again(dir_t *dir, const char *hash, const char *client,
                              dir_error_t *err)
{
    int revoked = 0;
    if (dir_db_run(dir->db, NULL, "UPDATE authorization_codes SET reused = 1 WHERE "
                                  "code_hash = ?", "s", hash) != DIR_DB_OK
        || dir_db_run(dir->db, &revoked, "UPDATE access_tokens SET revoked = 1 WHERE "
                                         "code_hash = ? AND revoked = 0", "s", hash)
               != DIR_DB_OK
        || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        return;
    }
    sso_warn("authorization code for %s presented again; %d access token(s) revoked", client,
             revoked);
    dir_rpc_error(err, "invalid_grant", "code already used; the tokens issued from it are "
                                        "revoked");
}

int dir_codes_spend(dir_t *dir, const Sso__CodeRedeemRequest *r, dir_codes_before_fn *before,
                    void *arg, Sso__CodeRedeemReply *out, dir_error_t *err)
{
    if (s_request_ok(r, err) != 0)
        return -1;
    char hash[65];
    sso_sha256_hex(r->code, strlen(r->code), hash);
    if (dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        return -1;
    }
    if (before && before(dir, arg, err) != 0) {
        dir_db_rollback(dir->db);
        return -1;
    }
    int rc = -1;
    dir_db_stmt_t *stmt = dir_db_query(dir->db, S_GRANT_SELECT, "s", hash);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_DONE)
        dir_rpc_error(err, "invalid_grant", "unknown code");
    else if (step != DIR_DB_ROW)
        dir_server_error(err);
    else if (!dir_db_is_null(stmt, 11))
        s_presented_again(dir, hash, dir_db_text(stmt, 0), err);
    else if (dir_db_int64(stmt, 10) <= dir_now())
        dir_rpc_error(err, "invalid_grant", "code expired");
    else if (strcmp(dir_db_text(stmt, 0), r->client_id) != 0)
        dir_rpc_error(err, "invalid_grant", "the code was issued to another client_id");
    else if (strcmp(dir_db_text(stmt, 1), r->redirect_uri) != 0)
        dir_rpc_error(err, "invalid_grant", "redirect_uri does not match the one of the "
                                            "authorization request");
    else if (*dir_db_text(stmt, 4) && !*r->code_verifier)
        dir_rpc_error(err, "invalid_grant", "PKCE verification failed: code_verifier is "
                                            "required");
    else if (*dir_db_text(stmt, 4) && !s_pkce_ok(r->code_verifier, dir_db_text(stmt, 4)))
        dir_rpc_error(err, "invalid_grant", "PKCE verification failed");
    else if (!*dir_db_text(stmt, 4) && *r->code_verifier)
        dir_rpc_error(err, "invalid_grant", "code_verifier sent, but the authorization request "
                                            "had no code_challenge");
    else {
        int changes = 0;
        if (dir_db_run(dir->db, &changes, "UPDATE authorization_codes SET used_at = ? WHERE "
                                          "code_hash = ? AND used_at IS NULL", "is", dir_now(),
                       hash) != DIR_DB_OK)
            dir_server_error(err);
        else if (changes != 1)
            /* Spent since the read by another directory (PostgreSQL made this write wait for
               that one's commit): a second presentation, not a failure of ours. */
            s_presented_again(dir, hash, dir_db_text(stmt, 0), err);
        else if (!(out->grant = s_grant(stmt, hash)))
            dir_server_error(err);
        else if (r->access_token_ttl > 0
                 && s_issue_access_token(dir, r, hash, out->grant, err) != 0)
            ; /* err says why; the router discards out */
        else if (dir_db_commit(dir->db) != 0)
            dir_server_error(err);
        else
            rc = 0;
    }
    dir_db_release(stmt);
    dir_db_rollback(dir->db);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_REDIRECT "https://app.test/cb"
/* RFC 7636 appendix B. */
#define S_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define S_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define S_REDEEM "TokenWrites.CodeRedeem"

static char *s_issue(dir_testkit_t *kit, const char *client_id, const char *challenge)
{
    Sso__Profile profile = SSO__PROFILE__INIT;
    char *groups[] = {"admins", "staff"};
    profile.subject = "u-1";
    profile.email = "u1@example.com";
    profile.email_verified = true;
    profile.given_name = "Ada";
    profile.groups = groups;
    profile.n_groups = 2;
    dir_code_t code = {.client_id = client_id,
                       .redirect_uri = S_REDIRECT,
                       .scope = "openid profile",
                       .nonce = "n-1",
                       .code_challenge = challenge,
                       .organization_id = "org_test",
                       .connection_id = "conn_simulator",
                       .connection_type = "saml",
                       .profile = &profile,
                       .auth_time = 1700000000};
    char *value = NULL;
    SSO_CHECK(dir_codes_issue(kit->dir, &code, &value) == 0 && value && strlen(value) >= 43);
    return value;
}

static Sso__CodeRedeemReply *s_redeem(dir_testkit_t *kit, const char *code,
                                      const char *client_id, const char *secret,
                                      const char *redirect_uri, const char *verifier)
{
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = (char *) code;
    redeem.client_id = (char *) client_id;
    redeem.client_secret = (char *) secret;
    redeem.redirect_uri = (char *) redirect_uri;
    redeem.code_verifier = (char *) verifier;
    return dir_testkit_rpc(kit, S_REDEEM, &redeem.base);
}

static bool s_refused(dir_testkit_t *kit, const char *code, const char *client_id,
                      const char *secret, const char *redirect_uri, const char *verifier,
                      const char *description)
{
    Sso__CodeRedeemReply *reply = s_redeem(kit, code, client_id, secret, redirect_uri, verifier);
    bool ok = reply && reply->error == SSO__RPC_ERROR__INVALID_GRANT && !reply->grant
              && strstr(reply->error_description, description);
    if (!ok)
        fprintf(stderr, "redeem: wanted invalid_grant \"%s\", got %s \"%s\"\n", description,
                dir_testkit_error(reply), dir_testkit_error_description(reply));
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    return ok;
}

static Sso__AccessTokenCheckReply *s_check_token(dir_testkit_t *kit, const char *token)
{
    Sso__AccessTokenCheckRequest check = SSO__ACCESS_TOKEN_CHECK_REQUEST__INIT;
    check.access_token = (char *) token;
    return dir_testkit_rpc(kit, "TokenReads.AccessTokenCheck", &check.base);
}

static Sso__TokenIssueReply *s_token_issue(dir_testkit_t *kit, const char *client_id,
                                           const char *code_hash)
{
    Sso__TokenIssueRequest issue = SSO__TOKEN_ISSUE_REQUEST__INIT;
    issue.client_id = (char *) client_id;
    issue.scope = "openid profile";
    issue.ttl_seconds = 600;
    issue.claims_json = "{\"sub\":\"conn_simulator;u-1\",\"email\":\"u1@example.com\"}";
    issue.code_hash = (char *) code_hash;
    return dir_testkit_rpc(kit, "TokenWrites.TokenIssue", &issue.base);
}

/* The access token a token_issue reply carries (a copy to free), or NULL when it has none. */
static char *s_token_of(const Sso__TokenIssueReply *reply)
{
    return reply && !reply->error && *reply->access_token ? strdup(reply->access_token) : NULL;
}

/* True when a token_issue for client_id from code_hash is refused with error. */
static bool s_token_refused(dir_testkit_t *kit, const char *client_id, const char *code_hash,
                            Sso__RpcError error)
{
    Sso__TokenIssueReply *reply = s_token_issue(kit, client_id, code_hash);
    bool ok = reply && reply->error == error && !*reply->access_token;
    if (!ok)
        fprintf(stderr, "token_issue: wanted error %d, got %s \"%s\"\n", (int) error,
                dir_testkit_error(reply), dir_testkit_error_description(reply));
    sso__token_issue_reply__free_unpacked(reply, NULL);
    return ok;
}

/* True when access_token_check refuses token as invalid_token, saying says (when given). */
static bool s_token_invalid(dir_testkit_t *kit, const char *token, const char *says)
{
    Sso__AccessTokenCheckReply *reply = s_check_token(kit, token);
    bool ok = reply && reply->error == SSO__RPC_ERROR__INVALID_TOKEN && !*reply->client_id
              && !reply->grant && (!says || strstr(reply->error_description, says));
    if (!ok)
        fprintf(stderr, "access_token_check: wanted invalid_token \"%s\", got %s \"%s\"\n",
                says ? says : "", dir_testkit_error(reply), dir_testkit_error_description(reply));
    sso__access_token_check_reply__free_unpacked(reply, NULL);
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    char client[64] = "", other[64] = "", secret[128] = "", other_secret[128] = "";
    SSO_CHECK(dir_testkit_client_secret(kit, S_REDIRECT, client, sizeof client, secret,
                                        sizeof secret) == 0);
    SSO_CHECK(dir_testkit_client_secret(kit, S_REDIRECT, other, sizeof other, other_secret,
                                        sizeof other_secret) == 0);

    /* PKCE right: the grant carries everything the code was bound to. */
    char *code = s_issue(kit, client, S_CHALLENGE);
    char hash[65] = "";
    if (code)
        sso_sha256_hex(code, strlen(code), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes WHERE "
                                       "code_hash = ? AND expires_at - created_at = 300", "s",
                         hash) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes WHERE "
                                       "code_hash = ?", "s", code ? code : "") == 0);
    /* Refusals first; none of them spends the code. */
    SSO_CHECK(s_refused(kit, "nope", client, secret, S_REDIRECT, S_VERIFIER, "unknown code"));
    SSO_CHECK(s_refused(kit, code, other, other_secret, S_REDIRECT, S_VERIFIER, "client_id"));
    SSO_CHECK(s_refused(kit, code, client, secret, "https://app.test/cb/", S_VERIFIER,
                        "redirect_uri"));
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, "", "PKCE verification failed"));
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT,
                        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", "PKCE verification failed"));
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, "short",
                        "PKCE verification failed"));
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT,
                        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk!", "PKCE verification "
                                                                        "failed"));
    Sso__CodeRedeemReply *redeemed = s_redeem(kit, code, client, secret, S_REDIRECT, S_VERIFIER);
    Sso__CodeGrant *grant = redeemed ? redeemed->grant : NULL;
    SSO_CHECK(grant && !redeemed->error && !strcmp(grant->client_id, client)
              && !strcmp(grant->nonce, "n-1") && !strcmp(grant->scope, "openid profile")
              && grant->auth_time == 1700000000 && !strcmp(grant->connection_id, "conn_simulator")
              && !strcmp(grant->connection_type, "saml")
              && !strcmp(grant->organization_id, "org_test") && !strcmp(grant->code_hash, hash)
              && grant->profile && !strcmp(grant->profile->subject, "u-1")
              && !strcmp(grant->profile->email, "u1@example.com")
              && grant->profile->email_verified && !strcmp(grant->profile->given_name, "Ada")
              && !*grant->profile->family_name && grant->profile->n_groups == 2
              && !strcmp(grant->profile->groups[1], "staff"));
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);

    /* token_issue from the code (claims kept), then access_token_check. */
    Sso__TokenIssueReply *issued = s_token_issue(kit, client, hash);
    char *token = s_token_of(issued);
    SSO_CHECK(token != NULL);
    sso__token_issue_reply__free_unpacked(issued, NULL);
    Sso__AccessTokenCheckReply *checked = s_check_token(kit, token ? token : "");
    SSO_CHECK(checked && !checked->error && !strcmp(checked->client_id, client)
              && !strcmp(checked->scope, "openid profile")
              && strstr(checked->claims_json, "u1@example.com"));
    sso__access_token_check_reply__free_unpacked(checked, NULL);
    /* A token from someone else's code, or a code never redeemed, is refused. */
    SSO_CHECK(s_token_refused(kit, other, hash, SSO__RPC_ERROR__INVALID_GRANT));
    SSO_CHECK(s_token_refused(kit, client, "zz", SSO__RPC_ERROR__INVALID_REQUEST));

    /* The code a second time: refused, and the token from it is revoked. */
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, S_VERIFIER, "code already used"));
    SSO_CHECK(s_token_invalid(kit, token ? token : "", "revoked"));
    /* And no new token can come from it. */
    SSO_CHECK(s_token_refused(kit, client, hash, SSO__RPC_ERROR__INVALID_GRANT));
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, S_VERIFIER, "code already used"));
    free(token);
    free(code);

    /* No PKCE: no verifier needed, and one sent is refused. */
    code = s_issue(kit, client, "");
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, S_VERIFIER, "no code_challenge"));
    redeemed = s_redeem(kit, code, client, secret, S_REDIRECT, "");
    SSO_CHECK(redeemed && !redeemed->error && redeemed->grant
              && !strcmp(redeemed->grant->nonce, "n-1"));
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    free(code);

    /* Expired. */
    code = s_issue(kit, client, "");
    if (code)
        sso_sha256_hex(code, strlen(code), hash);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE authorization_codes SET expires_at = ? "
                                             "WHERE code_hash = ?", "is", dir_now() - 1, hash)
              == DIR_DB_OK);
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, "", "code expired"));
    free(code);

    /* Missing fields. */
    redeemed = s_redeem(kit, "", client, secret, S_REDIRECT, "");
    SSO_CHECK(redeemed && redeemed->error == SSO__RPC_ERROR__INVALID_REQUEST && !redeemed->grant);
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    redeemed = s_redeem(kit, "abc", "", secret, S_REDIRECT, "");
    SSO_CHECK(redeemed && redeemed->error == SSO__RPC_ERROR__INVALID_REQUEST && !redeemed->grant);
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);

    /* access_token_check: unknown, expired; bearer_check: only management tokens. */
    SSO_CHECK(s_token_invalid(kit, "at_unknown", NULL));
    SSO_CHECK(s_token_invalid(kit, "", NULL));
    issued = s_token_issue(kit, client, "");
    token = s_token_of(issued);
    sso__token_issue_reply__free_unpacked(issued, NULL);
    const char *rpc = "TokenReads.BearerCheck";
    Sso__BearerCheckRequest bearer = SSO__BEARER_CHECK_REQUEST__INIT;
    bearer.access_token = token ? token : "";
    Sso__BearerCheckReply *bearer_reply = dir_testkit_rpc(kit, rpc, &bearer.base);
    SSO_CHECK(bearer_reply && !bearer_reply->error && !bearer_reply->ok
              && !*bearer_reply->client_id);
    sso__bearer_check_reply__free_unpacked(bearer_reply, NULL);
    bearer.access_token = kit->token;
    bearer_reply = dir_testkit_rpc(kit, rpc, &bearer.base);
    SSO_CHECK(bearer_reply && !bearer_reply->error && bearer_reply->ok
              && !strcmp(bearer_reply->client_id, kit->admin_id));
    sso__bearer_check_reply__free_unpacked(bearer_reply, NULL);
    bearer.access_token = "";
    bearer_reply = dir_testkit_rpc(kit, rpc, &bearer.base);
    SSO_CHECK(bearer_reply && !bearer_reply->error && !bearer_reply->ok);
    sso__bearer_check_reply__free_unpacked(bearer_reply, NULL);
    if (token) {
        char token_hash[65];
        sso_sha256_hex(token, strlen(token), token_hash);
        SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE access_tokens SET expires_at = ? WHERE "
                                                 "token_hash = ?", "is", dir_now(), token_hash)
                  == DIR_DB_OK);
        SSO_CHECK(s_token_invalid(kit, token, "expired"));
    }
    free(token);
}

/* code_redeem as the token endpoint sends it: client authenticated and access token issued in
   the same call; /userinfo reads the grant through that token. */
static void s_test_exchange(dir_testkit_t *kit)
{
    json_t *json = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients",
                               "{\"name\":\"app\",\"redirect_uris\":[\"" S_REDIRECT "\"]}", &json)
              == 201);
    char *client = strdup(dir_testkit_str(json, "client_id"));
    char *secret = strdup(dir_testkit_str(json, "client_secret"));
    json_decref(json);
    SSO_CHECK(client && *client && secret && *secret);
    char *code = s_issue(kit, client, S_CHALLENGE);
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = code ? code : "";
    redeem.client_id = client ? client : "";
    redeem.redirect_uri = S_REDIRECT;
    redeem.code_verifier = S_VERIFIER;
    redeem.client_secret = "wrong-secret";
    redeem.access_token_ttl = 600;
    /* A wrong secret: invalid_client, and the code is not spent. */
    SSO_CHECK(dir_testkit_rpc_error(kit, S_REDEEM, &redeem.base, "invalid_client",
                                    "authentication"));
    /* An empty secret is no secret: never "no secret, so skip the check". */
    redeem.client_secret = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_REDEEM, &redeem.base, "invalid_client",
                                    "authentication"));
    redeem.access_token_ttl = DIR_TOKEN_TTL_MAX + 1;
    redeem.client_secret = secret ? secret : "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_REDEEM, &redeem.base, "invalid_request",
                                    "access_token_ttl"));
    redeem.access_token_ttl = 600;
    Sso__CodeRedeemReply *redeemed = dir_testkit_rpc(kit, S_REDEEM, &redeem.base);
    char *token = redeemed && redeemed->grant && !strncmp(redeemed->grant->access_token, "at_", 3)
                      ? strdup(redeemed->grant->access_token)
                      : NULL;
    SSO_CHECK(token && !redeemed->error && redeemed->grant->expires_in == 600
              && !strcmp(redeemed->grant->profile->subject, "u-1"));
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    /* The token reads the grant back, profile and all; it stores no claims of its own. */
    Sso__AccessTokenCheckReply *checked = s_check_token(kit, token ? token : "");
    SSO_CHECK(checked && !checked->error && !*checked->claims_json && checked->grant
              && !strcmp(checked->grant->profile->email, "u1@example.com")
              && !strcmp(checked->grant->connection_id, "conn_simulator")
              && !strcmp(checked->scope, "openid profile"));
    sso__access_token_check_reply__free_unpacked(checked, NULL);
    /* The code again: refused, and the token issued with it is revoked. */
    SSO_CHECK(s_refused(kit, code, client, secret, S_REDIRECT, S_VERIFIER, "code already used"));
    SSO_CHECK(s_token_invalid(kit, token ? token : "", "revoked"));
    free(token);
    free(code);
    free(client);
    free(secret);
}

/* Defense in depth: even a client whose stored hash is that of "" (which the API never
   makes) cannot redeem, or authenticate at all, with an empty secret; the code stays unspent. */
static void s_test_empty_secret(dir_testkit_t *kit)
{
    char client[64] = "", secret[128] = "";
    SSO_CHECK(dir_testkit_client_secret(kit, S_REDIRECT, client, sizeof client, secret,
                                        sizeof secret) == 0);
    char *empty_hash = sso_secret_hash("");
    SSO_CHECK(empty_hash && dir_db_run(kit->dir->db, NULL, "UPDATE clients SET secret_hash = ? "
                                                           "WHERE id = ?", "ss", empty_hash,
                                       client) == DIR_DB_OK);
    free(empty_hash);
    int64_t retry_after = 0;
    Sso__ClientAuthReply *auth = dir_clients_auth(kit->dir, client, "", "", &retry_after);
    SSO_CHECK(auth && !auth->ok && retry_after == 0);
    if (auth)
        sso__client_auth_reply__free_unpacked(auth, NULL);
    char *code = s_issue(kit, client, "");
    Sso__CodeRedeemReply *redeemed = s_redeem(kit, code ? code : "", client, "", S_REDIRECT, "");
    SSO_CHECK(redeemed && redeemed->error == SSO__RPC_ERROR__INVALID_CLIENT && !redeemed->grant);
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes WHERE "
                                       "client_id = ? AND used_at IS NULL", "s", client) == 1);
    free(code);
}

typedef struct {
    dir_testkit_t *kit;
    const char *code, *client, *secret;
    Sso__CodeRedeemReply *reply;
} s_race_t;

static void *s_race_redeem(void *arg)
{
    s_race_t *race = arg;
    race->reply = s_redeem(race->kit, race->code, race->client, race->secret, S_REDIRECT, "");
    return NULL;
}

/* On PostgreSQL (SSO_TEST_DATABASE_URL): a code another directory spends while this one
   redeems it (its write waits for the other's commit, then finds the code used) is a second
   presentation, invalid_grant with the code marked reused, never a server error. */
static void s_test_race_on_postgres(void)
{
    sso_config_t settings = {0};
    sso_config_load_settings(&settings);
    char name[64], url[1024], why[256] = "";
    if (!settings.test_database_url)
        return; /* dir_db_pg_test says it skipped */
    bool made = dir_db_pg_test_database(settings.test_database_url, name, sizeof name, url,
                                        sizeof url) == 0;
    SSO_CHECK(made);
    if (!made)
        return;
    /* Read by the kit's sso_config_load_settings; kept until both directories are open (their
       settings point at it). */
    setenv("SSO_DATABASE_URL", url, 1);
    dir_testkit_t kit;
    bool open = dir_testkit_open_seeded(&kit) == 0;
    dir_t *other = open ? dir_service_open(&kit.config, why, sizeof why) : NULL;
    unsetenv("SSO_DATABASE_URL");
    char client[64] = "", secret[128] = "";
    SSO_CHECK(other && dir_testkit_client_secret(&kit, S_REDIRECT, client, sizeof client, secret,
                                                 sizeof secret) == 0);
    char *code = other ? s_issue(&kit, client, "") : NULL;
    char hash[65] = "";
    if (code)
        sso_sha256_hex(code, strlen(code), hash);
    int spent = 0;
    SSO_CHECK(code && dir_db_begin(other->db) == 0
              && dir_db_run(other->db, &spent, "UPDATE authorization_codes SET used_at = 1 WHERE "
                                               "code_hash = ? AND used_at IS NULL", "s", hash)
                     == DIR_DB_OK && spent == 1);
    s_race_t race = {.kit = &kit, .code = code, .client = client, .secret = secret};
    pthread_t thread;
    bool started = code && pthread_create(&thread, NULL, s_race_redeem, &race) == 0;
    usleep(100 * 1000); /* the redemption waits for the other's row now (or reads it spent) */
    SSO_CHECK(other && dir_db_commit(other->db) == 0);
    if (started)
        pthread_join(thread, NULL);
    SSO_CHECK(race.reply && race.reply->error == SSO__RPC_ERROR__INVALID_GRANT
              && !race.reply->grant && strstr(race.reply->error_description, "already used"));
    SSO_CHECK(open && dir_db_int(kit.dir->db, "SELECT reused FROM authorization_codes WHERE "
                                              "code_hash = ?", "s", hash) == 1);
    sso__code_redeem_reply__free_unpacked(race.reply, NULL);
    free(code);
    dir_destroy(&other);
    if (open)
        dir_testkit_close(&kit);
    SSO_CHECK(dir_db_pg_test_drop(settings.test_database_url, name) == 0);
}

void dir_codes_test(bool verbose)
{
    (void) verbose;
    s_test_race_on_postgres();
    dir_testkit_run_seeded(s_test);
    dir_testkit_run_seeded(s_test_exchange);
    dir_testkit_run_seeded(s_test_empty_secret);
}
