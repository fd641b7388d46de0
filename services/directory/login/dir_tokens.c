/* dir_tokens: issuing and checking opaque access tokens. */
#include "login/dir_tokens.h"
#include "login/dir_codes.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

#define DIR_TOKEN_MAX 512
#define DIR_SCOPE_MAX 256

static bool s_scope_has(const char *scopes, const char *wanted)
{
    size_t len = strlen(wanted);
    for (const char *p = scopes; *p;) {
        size_t word = strcspn(p, " ");
        if (word == len && strncmp(p, wanted, len) == 0)
            return true;
        p += word;
        while (*p == ' ')
            p++;
    }
    return false;
}

/* A code hash as token_issue links it: 64 lower-case hex digits. */
static bool s_is_hash(const char *text)
{
    return strlen(text) == 64 && strspn(text, "0123456789abcdef") == 64;
}

int dir_tokens_issue(dir_t *dir, const char *client_id, const char *scope, int64_t ttl_seconds,
                     const char *claims_json, const char *code_hash, char **token,
                     dir_error_t *err)
{
    *token = NULL;
    if (!client_id || !*client_id || strlen(client_id) > 128) {
        dir_bad_request(err, "client_id is required");
        return -1;
    }
    if (!scope || !*scope || strlen(scope) > DIR_SCOPE_MAX) {
        dir_bad_request(err, "scope is required (at most %d bytes)", DIR_SCOPE_MAX);
        return -1;
    }
    if (ttl_seconds < 1 || ttl_seconds > DIR_TOKEN_TTL_MAX) {
        dir_bad_request(err, "ttl_seconds must be from 1 to %d", DIR_TOKEN_TTL_MAX);
        return -1;
    }
    if (claims_json && *claims_json) {
        json_t *claims = strlen(claims_json) <= DIR_CLAIMS_MAX
                             ? json_loads(claims_json, JSON_REJECT_DUPLICATES, NULL)
                             : NULL;
        bool object = json_is_object(claims);
        json_decref(claims);
        if (!object) {
            dir_bad_request(err, "claims_json must be a JSON object of at most %d bytes",
                            DIR_CLAIMS_MAX);
            return -1;
        }
    }
    if (code_hash && *code_hash && !s_is_hash(code_hash)) {
        dir_bad_request(err, "code_hash must be the code's SHA-256 in lower-case hex");
        return -1;
    }
    const char *linked = code_hash && *code_hash ? code_hash : NULL;
    char *random = sso_random_token(32);
    size_t len = random ? strlen(random) + 4 : 0;
    char *value = random ? malloc(len) : NULL;
    if (!value) {
        free(random);
        dir_server_error(err);
        return -1;
    }
    snprintf(value, len, "at_%s", random);
    free(random);
    char hash[65];
    sso_sha256_hex(value, strlen(value), hash);
    int64_t now = dir_now();
    /* One statement: issues only for a client that exists and, for a token from a code, only
       while that code is redeemed by this client and was never presented again (a reuse
       between code_redeem and this call must not leave a live token behind). */
    int changes = 0;
    int rc = dir_db_run(dir->db, &changes,
                        "INSERT INTO access_tokens (token_hash, client_id, scope, created_at, "
                        "expires_at, claims_json, code_hash) SELECT ?1, id, ?2, ?3, ?4, ?6, ?7 "
                        "FROM clients WHERE id = ?5 AND (CAST(?7 AS TEXT) IS NULL OR EXISTS "
                        "(SELECT 1 FROM authorization_codes WHERE code_hash = ?7 AND client_id = "
                        "?5 AND used_at IS NOT NULL AND reused = 0))",
                        "ssiisss", hash, scope, now, now + ttl_seconds, client_id,
                        claims_json ? claims_json : "", linked);
    if (rc != DIR_DB_OK || changes != 1) {
        free(value);
        if (rc != DIR_DB_OK)
            dir_server_error(err);
        else if (dir_db_int(dir->db, "SELECT count(*) FROM clients WHERE id = ?", "s", client_id)
                 != 1)
            dir_bad_request(err, "unknown client_id");
        else
            dir_error_set(err, 400, "invalid_grant", "the code was not redeemed by this client, "
                                                     "or was presented again");
        return -1;
    }
    *token = value;
    return 0;
}

bool dir_tokens_check(dir_t *dir, const char *token, const char *scope, const char **why,
                      char *client_id, size_t client_id_size)
{
    *why = "the access token is not valid";
    if (!token || !*token || strlen(token) > DIR_TOKEN_MAX)
        return false;
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    dir_db_stmt_t *stmt = dir_db_query(dir->db,
                                       "SELECT t.scope, t.expires_at, t.revoked, c.is_admin, "
                                       "c.id "
                                       "FROM access_tokens t JOIN clients c ON c.id = t.client_id "
                                       "WHERE t.token_hash = ?", "s", hash);
    bool ok = false;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        if (dir_db_int64(stmt, 2))
            *why = "the access token was revoked";
        else if (dir_db_int64(stmt, 1) <= dir_now())
            *why = "the access token expired";
        else if (!s_scope_has(dir_db_text(stmt, 0), scope)
                 || (strcmp(scope, "management") == 0 && !dir_db_int64(stmt, 3)))
            *why = "the access token does not grant management access";
        else
            ok = true;
        if (ok && client_id)
            snprintf(client_id, client_id_size, "%s", dir_db_text(stmt, 4));
    }
    dir_db_release(stmt);
    return ok;
}

DIR_RPC_FN(dir_tokens_access_check, Sso__AccessTokenCheckRequest, Sso__AccessTokenCheckReply)
{
    const char *token = in->access_token;
    const char *why = "the access token is not valid";
    dir_db_stmt_t *stmt = NULL;
    if (dir_rpc_text(token, 1, DIR_TOKEN_MAX)) {
        char hash[65];
        sso_sha256_hex(token, strlen(token), hash);
        stmt = dir_db_query(dir->db, "SELECT client_id, scope, claims_json, expires_at, revoked, "
                                     "code_hash FROM access_tokens WHERE token_hash = ?", "s",
                            hash);
        if (!stmt) {
            dir_server_error(err);
            return -1;
        }
        if (dir_db_step(stmt) == DIR_DB_ROW) {
            if (dir_db_int64(stmt, 4))
                why = "the access token was revoked";
            else if (dir_db_int64(stmt, 3) <= dir_now())
                why = "the access token expired";
            else
                why = NULL;
        }
    }
    /* A token code_redeem issued carries no claims of its own: they are the grant's. */
    Sso__CodeGrant *grant = NULL;
    if (!why && !*dir_db_text(stmt, 2) && !dir_db_is_null(stmt, 5)
        && !(grant = dir_codes_grant(dir, dir_db_text(stmt, 5))))
        why = "the access token is not valid (its code is gone)";
    if (!why) {
        out->client_id = dir_rpc_dup(dir_db_text(stmt, 0));
        out->scope = dir_rpc_dup(dir_db_text(stmt, 1));
        out->claims_json = dir_rpc_dup(dir_db_text(stmt, 2));
        out->grant = grant;
    }
    dir_db_release(stmt);
    if (why) {
        dir_rpc_error(err, "invalid_token", "%s", why);
        return -1;
    }
    return 0;
}

DIR_RPC_FN(dir_tokens_bearer_check, Sso__BearerCheckRequest, Sso__BearerCheckReply)
{
    (void) err;
    const char *token = in->access_token;
    const char *why = NULL;
    Sso__BearerCheckReply *bearer = out;
    char client_id[256];
    if (dir_rpc_text(token, 1, DIR_TOKEN_MAX)
        && dir_tokens_check(dir, token, "management", &why, client_id, sizeof client_id)) {
        bearer->ok = true;
        bearer->client_id = dir_rpc_dup(client_id);
    }
    return 0;
}

static void s_test(dir_testkit_t *kit)
{
    const char *why = NULL;
    SSO_CHECK(kit->token && strncmp(kit->token, "at_", 3) == 0 && strlen(kit->token) == 46);
    SSO_CHECK(dir_tokens_check(kit->dir, kit->token, "management", &why, NULL, 0));
    char client_id[256] = "";
    SSO_CHECK(dir_tokens_check(kit->dir, kit->token, "management", &why, client_id,
                               sizeof client_id) && !strcmp(client_id, kit->admin_id));
    /* Only the hash is stored. */
    char hash[65];
    sso_sha256_hex(kit->token, strlen(kit->token), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM access_tokens WHERE token_hash = ?",
                         "s", hash) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM access_tokens WHERE token_hash = ?",
                         "s", kit->token) == 0);
    SSO_CHECK(!dir_tokens_check(kit->dir, "at_nope", "management", &why, NULL, 0));
    SSO_CHECK(!dir_tokens_check(kit->dir, "", "management", &why, NULL, 0));

    dir_error_t err = {0};
    char *other = NULL;
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "openid", 60, NULL, NULL, &other, &err)
              == 0);
    SSO_CHECK(other && !dir_tokens_check(kit->dir, other, "management", &why, NULL, 0)
              && strstr(why, "management"));
    free(other);
    SSO_CHECK(dir_tokens_issue(kit->dir, "cli_unknown", "management", 60, NULL, NULL, &other,
                               &err) == -1
              && !other && err.status == 400);
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "management", 0, NULL, NULL, &other,
                               &err) == -1);
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "", 60, NULL, NULL, &other, &err)
              == -1);

    /* Expired and revoked tokens stop working. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE access_tokens SET expires_at = 1 WHERE "
                                             "token_hash = ?", "s", hash) == DIR_DB_OK);
    SSO_CHECK(!dir_tokens_check(kit->dir, kit->token, "management", &why, NULL, 0)
              && strstr(why, "expired"));
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE access_tokens SET expires_at = ?, "
                                             "revoked = 1 WHERE token_hash = ?", "is",
                         dir_now() + 60, hash) == DIR_DB_OK);
    SSO_CHECK(!dir_tokens_check(kit->dir, kit->token, "management", &why, NULL, 0)
              && strstr(why, "revoked"));
}

void dir_tokens_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
