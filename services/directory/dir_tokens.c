/* dir_tokens: issuing and checking opaque access tokens. */
#include "dir_tokens.h"
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

int dir_tokens_issue(dir_t *dir, const char *client_id, const char *scope, int64_t ttl_seconds,
                     char **token, dir_error_t *err)
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
    /* The INSERT ... SELECT issues only for a client that exists, in one statement. */
    int changes = 0;
    int rc = dir_db_run(dir->db, &changes,
                        "INSERT INTO access_tokens (token_hash, client_id, scope, created_at, "
                        "expires_at) SELECT ?1, id, ?2, ?3, ?4 FROM clients WHERE id = ?5",
                        "ssiis", hash, scope, now, now + ttl_seconds, client_id);
    if (rc != DIR_DB_OK || changes != 1) {
        free(value);
        if (rc == DIR_DB_OK)
            dir_bad_request(err, "unknown client_id");
        else
            dir_server_error(err);
        return -1;
    }
    /* Housekeeping: expired tokens are useless; drop ones a day past expiry. */
    dir_db_run(dir->db, NULL, "DELETE FROM access_tokens WHERE expires_at < ?", "i",
               now - 86400);
    *token = value;
    return 0;
}

bool dir_tokens_check(dir_t *dir, const char *token, const char *scope, const char **why)
{
    *why = "the access token is not valid";
    if (!token || !*token || strlen(token) > DIR_TOKEN_MAX)
        return false;
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    sqlite3_stmt *stmt = dir_db_query(dir->db,
                                      "SELECT t.scope, t.expires_at, t.revoked, c.is_admin "
                                      "FROM access_tokens t JOIN clients c ON c.id = t.client_id "
                                      "WHERE t.token_hash = ?", "s", hash);
    bool ok = false;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        if (sqlite3_column_int(stmt, 2))
            *why = "the access token was revoked";
        else if (sqlite3_column_int64(stmt, 1) <= dir_now())
            *why = "the access token expired";
        else if (!s_scope_has(dir_db_text(stmt, 0), scope)
                 || (strcmp(scope, "management") == 0 && !sqlite3_column_int(stmt, 3)))
            *why = "the access token does not grant management access";
        else
            ok = true;
    }
    sqlite3_finalize(stmt);
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    const char *why = NULL;
    SSO_CHECK(kit->token && strncmp(kit->token, "at_", 3) == 0 && strlen(kit->token) == 46);
    SSO_CHECK(dir_tokens_check(kit->dir, kit->token, "management", &why));
    /* Only the hash is stored. */
    char hash[65];
    sso_sha256_hex(kit->token, strlen(kit->token), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM access_tokens WHERE token_hash = ?",
                         "s", hash) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM access_tokens WHERE token_hash = ?",
                         "s", kit->token) == 0);
    SSO_CHECK(!dir_tokens_check(kit->dir, "at_nope", "management", &why));
    SSO_CHECK(!dir_tokens_check(kit->dir, "", "management", &why));

    dir_error_t err = {0};
    char *other = NULL;
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "openid", 60, &other, &err) == 0);
    SSO_CHECK(other && !dir_tokens_check(kit->dir, other, "management", &why)
              && strstr(why, "management"));
    free(other);
    SSO_CHECK(dir_tokens_issue(kit->dir, "cli_unknown", "management", 60, &other, &err) == -1
              && !other && err.status == 400);
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "management", 0, &other, &err) == -1);
    SSO_CHECK(dir_tokens_issue(kit->dir, kit->admin_id, "", 60, &other, &err) == -1);

    /* Expired and revoked tokens stop working. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE access_tokens SET expires_at = 1 WHERE "
                                             "token_hash = ?", "s", hash) == DIR_DB_OK);
    SSO_CHECK(!dir_tokens_check(kit->dir, kit->token, "management", &why)
              && strstr(why, "expired"));
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE access_tokens SET expires_at = ?, "
                                             "revoked = 1 WHERE token_hash = ?", "is",
                         dir_now() + 60, hash) == DIR_DB_OK);
    SSO_CHECK(!dir_tokens_check(kit->dir, kit->token, "management", &why)
              && strstr(why, "revoked"));
}

void dir_tokens_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
