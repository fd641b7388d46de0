/* dir_scim_dirs: SCIM directories, their bearer tokens, and what the SCIM service stored. */
#include "api/dir_scim_dirs.h"
#include "api/dir_orgs.h"
#include "dir_rpc_router.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define S_COLUMNS "id, organization_id, name, created_at, updated_at"
/* "scim_" and 32 bytes in base64url without padding. */
#define S_TOKEN_LEN (sizeof DIR_SCIM_TOKEN_PREFIX - 1 + (DIR_SCIM_TOKEN_BYTES * 4 + 2) / 3)
/* What every refused ScimAuthenticate says. */
#define S_REFUSED "the bearer token is not valid for this SCIM directory"

/* The live tokens of a directory, newest (the current one) first (new reference). */
static json_t *s_tokens(dir_t *dir, const char *id)
{
    json_t *tokens = json_array();
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, created_at, expires_at FROM "
                                                "scim_tokens WHERE directory_id = ? AND "
                                                "(expires_at IS NULL OR expires_at > ?) "
                                                "ORDER BY seq DESC",
                                       "si", id, dir_now());
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        json_array_append_new(tokens,
                              json_pack("{s:s, s:o, s:o}", "id", dir_db_text(stmt, 0),
                                        "created_at", dir_json_time(dir_db_int64(stmt, 1)),
                                        "expires_at",
                                        dir_db_is_null(stmt, 2)
                                            ? json_null()
                                            : dir_json_time(dir_db_int64(stmt, 2))));
    dir_db_release(stmt);
    return tokens;
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    const char *id = dir_db_text(stmt, 0);
    char base_url[sizeof dir->public_url + DIR_API_ID_MAX + 16];
    snprintf(base_url, sizeof base_url, "%s/scim/v2/%s", dir->public_url, id);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", id, "organization_id",
                     dir_db_text(stmt, 1), "name", dir_db_text(stmt, 2), "scim_base_url", base_url,
                     "created_at", dir_json_time(dir_db_int64(stmt, 3)), "updated_at",
                     dir_json_time(dir_db_int64(stmt, 4)), "tokens", s_tokens(dir, id));
}

static json_t *s_directory(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " S_COLUMNS " FROM scim_directories WHERE id = ?",
                       "s", id);
}

static bool s_exists(dir_t *dir, const char *id)
{
    return dir_db_int(dir->db, "SELECT count(*) FROM scim_directories WHERE id = ?", "s", id)
           == 1;
}

/* dir_api_list's check of a directory's collections. */
static zframe_t *s_check(dir_t *dir, const char *id)
{
    return s_exists(dir, id) ? NULL : dir_api_not_found("directory", id);
}

/* A new token into token (S_TOKEN_LEN + 1 bytes) and its hash into hash. 0 or -1. */
static int s_new_token(char token[S_TOKEN_LEN + 1], char hash[65])
{
    char *random = sso_random_token(DIR_SCIM_TOKEN_BYTES);
    if (!random)
        return -1;
    int n = snprintf(token, S_TOKEN_LEN + 1, DIR_SCIM_TOKEN_PREFIX "%s", random);
    OPENSSL_cleanse(random, strlen(random));
    free(random);
    if (n != (int) S_TOKEN_LEN)
        return -1;
    sso_sha256_hex(token, S_TOKEN_LEN, hash);
    return 0;
}

/* Stores the token whose hash is given as the directory's current one. */
static int s_insert_token(dir_t *dir, const char *directory_id, const char *hash, int64_t now)
{
    char *id = sso_random_id("stk_", 10);
    int rc = id ? dir_db_run(dir->db, NULL, "INSERT INTO scim_tokens (id, directory_id, "
                                            "token_hash, created_at) VALUES (?, ?, ?, ?)",
                             "sssi", id, directory_id, hash, now)
                : DIR_DB_ERROR;
    free(id);
    return rc == DIR_DB_OK ? 0 : -1;
}

/* The directory as GET shows it, with token: the one answer that carries it. */
static zframe_t *s_with_token(dir_t *dir, const char *id, const char *token, uint32_t status)
{
    json_t *json = s_directory(dir, id);
    if (!json || json_object_set_new(json, "token", json_string(token)) != 0) {
        json_decref(json);
        return dir_api_db_error();
    }
    return sso_http_json(status, json);
}

/* The body's name: absent, or no body at all, is the default. 0, or -1 with err. */
static int s_name(const dir_api_req_t *req, char *name, size_t size, dir_error_t *err)
{
    snprintf(name, size, "%s", DIR_SCIM_NAME_DEFAULT);
    if (req->http->body.len == 0)
        return 0;
    json_t *body = dir_api_body(req, err);
    const char *given = NULL;
    int rc = body ? dir_json_string(body, "name", "name", DIR_NONEMPTY, 200, &given, err) : -1;
    if (rc == 1)
        snprintf(name, size, "%s", given);
    json_decref(body);
    return rc < 0 ? -1 : 0;
}

static zframe_t *s_create(dir_api_req_t *req, const char *org_id)
{
    dir_error_t err = {0};
    char name[256];
    if (s_name(req, name, sizeof name, &err) != 0)
        return dir_error_reply(&err);
    dir_db_t *db = req->dir->db;
    char token[S_TOKEN_LEN + 1], hash[65];
    char *id = sso_random_id("dir_", 10);
    int64_t now = dir_now();
    int changes = 0;
    /* INSERT ... SELECT ties the directory to its organization existing, in one statement. */
    bool ok = id && s_new_token(token, hash) == 0 && dir_db_begin(db) == 0;
    ok = ok
         && dir_db_run(db, &changes, "INSERT INTO scim_directories (id, organization_id, name, "
                                     "created_at, updated_at) SELECT ?, id, ?, ?, ? FROM "
                                     "organizations WHERE id = ?",
                       "ssiis", id, name, now, now, org_id) == DIR_DB_OK
         && (changes == 0 || s_insert_token(req->dir, id, hash, now) == 0)
         && dir_db_commit(db) == 0;
    zframe_t *reply;
    if (!ok) {
        dir_db_rollback(db);
        reply = dir_api_db_error();
    }
    else if (changes == 0)
        reply = dir_api_not_found("organization", org_id);
    else {
        reply = s_with_token(req->dir, id, token, 201);
        sso_info("SCIM directory %s created for %s", id, org_id);
    }
    OPENSSL_cleanse(token, sizeof token);
    free(id);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req, const char *org_id)
{
    return dir_api_list(req, dir_orgs_check, org_id, s_row_json,
                        "SELECT " S_COLUMNS ", seq FROM scim_directories WHERE "
                        "organization_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        "s", org_id);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_directory(req->dir, id), "directory", id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    return dir_api_delete(req->dir, "DELETE FROM scim_directories WHERE id = ?", "SCIM directory",
                          id, " with its tokens, users, groups and events");
}

/* POST /directories/{id}/token: a new current token, shown once. The one it replaces
   keeps working for the overlap (0: it is deleted now); any older one is deleted now, so at
   most two live. */
static zframe_t *s_rotate(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    int64_t overlap = 0;
    if (dir_api_overlap(req, DIR_SCIM_OVERLAP_DEFAULT, DIR_SCIM_OVERLAP_MAX, "token", "7 days",
                        &overlap, &err) != 0)
        return dir_error_reply(&err);
    dir_db_t *db = req->dir->db;
    char token[S_TOKEN_LEN + 1], hash[65];
    int64_t now = dir_now();
    int changes = 0;
    bool ok = s_new_token(token, hash) == 0 && dir_db_begin(db) == 0;
    ok = ok
         && dir_db_run(db, &changes, "UPDATE scim_directories SET updated_at = ? WHERE id = ?",
                       "is", now, id) == DIR_DB_OK;
    if (ok && changes == 1)
        ok = dir_db_run(db, NULL, "DELETE FROM scim_tokens WHERE directory_id = ? AND "
                                  "expires_at IS NOT NULL", "s", id) == DIR_DB_OK
             && (overlap > 0
                     ? dir_db_run(db, NULL, "UPDATE scim_tokens SET expires_at = ? WHERE "
                                            "directory_id = ? AND expires_at IS NULL",
                                  "is", now + overlap, id)
                     : dir_db_run(db, NULL, "DELETE FROM scim_tokens WHERE directory_id = ?",
                                  "s", id)) == DIR_DB_OK
             && s_insert_token(req->dir, id, hash, now) == 0;
    ok = ok && dir_db_commit(db) == 0;
    zframe_t *reply;
    if (!ok) {
        dir_db_rollback(db);
        reply = dir_api_db_error();
    }
    else if (changes == 0)
        reply = dir_api_not_found("directory", id);
    else {
        reply = s_with_token(req->dir, id, token, 200);
        sso_info("SCIM directory %s: token rotated; the previous one %s", id,
                 overlap > 0 ? "works for an overlap" : "stopped at once");
    }
    OPENSSL_cleanse(token, sizeof token);
    return reply;
}

/* ---- what the SCIM service stored ------------------------------------------------------- */

/* A nullable text column as JSON. */
static json_t *s_text(dir_db_stmt_t *stmt, int column)
{
    return dir_db_is_null(stmt, column) ? json_null() : json_string(dir_db_text(stmt, column));
}

/* A nullable time column as JSON. */
static json_t *s_time(dir_db_stmt_t *stmt, int column)
{
    return dir_db_is_null(stmt, column) ? json_null()
                                        : dir_json_time(dir_db_int64(stmt, column));
}

static json_t *s_user_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:I, s:o, s:o, s:o}", "id",
                     dir_db_text(stmt, 0), "user_name", dir_db_text(stmt, 1), "external_id",
                     s_text(stmt, 2), "display_name", s_text(stmt, 3), "email", s_text(stmt, 4),
                     "active", dir_db_int64(stmt, 5) != 0, "version",
                     (json_int_t) dir_db_int64(stmt, 6), "created_at", s_time(stmt, 7),
                     "updated_at", s_time(stmt, 8), "deleted_at", s_time(stmt, 9));
}

static json_t *s_group_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:s, s:o, s:I, s:I, s:o, s:o, s:o}", "id", dir_db_text(stmt, 0),
                     "display_name", dir_db_text(stmt, 1), "external_id", s_text(stmt, 2),
                     "members_count", (json_int_t) dir_db_int64(stmt, 3), "version",
                     (json_int_t) dir_db_int64(stmt, 4), "created_at", s_time(stmt, 5),
                     "updated_at", s_time(stmt, 6), "deleted_at", s_time(stmt, 7));
}

static json_t *s_event_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    /* The SCIM service writes detail as a JSON object; anything else reads as none. */
    json_t *detail = dir_db_is_null(stmt, 5) ? NULL : json_loads(dir_db_text(stmt, 5), 0, NULL);
    if (!json_is_object(detail)) {
        json_decref(detail);
        detail = json_null();
    }
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "seq", (json_int_t) dir_db_int64(stmt, 0),
                     "type", dir_db_text(stmt, 1), "resource_type", dir_db_text(stmt, 2),
                     "resource_id", dir_db_text(stmt, 3), "created_at", s_time(stmt, 4),
                     "detail", detail);
}

static zframe_t *s_users(dir_api_req_t *req, const char *id)
{
    return dir_api_list(req, s_check, id, s_user_json,
                        "SELECT id, user_name, external_id, display_name, email_lower, active, "
                        "version, created_at, updated_at, deleted_at, seq FROM scim_users "
                        "WHERE directory_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        "s", id);
}

static zframe_t *s_groups(dir_api_req_t *req, const char *id)
{
    return dir_api_list(req, s_check, id, s_group_json,
                        "SELECT g.id, g.display_name, g.external_id, (SELECT count(*) FROM "
                        "scim_group_members m WHERE m.group_id = g.id), g.version, "
                        "g.created_at, g.updated_at, g.deleted_at, g.seq FROM scim_groups g "
                        "WHERE g.directory_id = ? AND g.seq > ? ORDER BY g.seq LIMIT ?",
                        "s", id);
}

/* Newest first, so the page token is an upper bound. */
static zframe_t *s_events(dir_api_req_t *req, const char *id)
{
    return dir_api_list(req, s_check, id, s_event_json,
                        "SELECT seq, type, resource_type, resource_id, at, detail, seq FROM "
                        "scim_events WHERE directory_id = ?1 AND (?2 < 0 OR seq < ?2) "
                        "ORDER BY seq DESC LIMIT ?3",
                        "s", id);
}

zframe_t *dir_scim_dirs_org_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    return dir_api_dispatch(req, &collection, req->segments[1]);
}

zframe_t *dir_scim_dirs_http(dir_api_req_t *req)
{
    static const dir_api_methods_t item = {.get = s_show, .del = s_delete};
    static const dir_api_methods_t users = {.get = s_users}, groups = {.get = s_groups},
                                   events = {.get = s_events}, rotate = {.post = s_rotate};
    const char *id = req->segments[1];
    size_t n = req->n_segments;
    const char *sub = n >= 3 ? req->segments[2] : "";
    if (n == 2)
        return dir_api_dispatch(req, &item, id);
    if (n == 3 && !strcmp(sub, "users"))
        return dir_api_dispatch(req, &users, id);
    if (n == 3 && !strcmp(sub, "groups"))
        return dir_api_dispatch(req, &groups, id);
    if (n == 3 && !strcmp(sub, "events"))
        return dir_api_dispatch(req, &events, id);
    /* DESIGN.md section 2: POST /api/v1/directories/{id}/token rotates. */
    if (n == 3 && !strcmp(sub, "token"))
        return dir_api_dispatch(req, &rotate, id);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

/* ---- ScimReads.ScimAuthenticate ---------------------------------------------------------- */

/* "dir_" and what sso_random_id makes: lower-case letters and digits. */
static bool s_id_shaped(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    return len > 4 && len <= 64 && !strncmp(id, "dir_", 4)
           && strspn(id + 4, "0123456789abcdefghijklmnopqrstuvwxyz") == len - 4;
}

/* The prefix and base64url of the exact length s_new_token makes. */
static bool s_token_shaped(const char *token)
{
    size_t prefix = sizeof DIR_SCIM_TOKEN_PREFIX - 1;
    return token && strlen(token) == S_TOKEN_LEN && !strncmp(token, DIR_SCIM_TOKEN_PREFIX, prefix)
           && strspn(token + prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789-_") == S_TOKEN_LEN - prefix;
}

DIR_RPC_FN(dir_scim_dirs_authenticate, Sso__ScimAuthenticateRequest,
           Sso__ScimAuthenticateReply)
{
    if (!s_id_shaped(in->directory_id) || !s_token_shaped(in->token)) {
        dir_rpc_error(err, "invalid_token", S_REFUSED);
        return -1;
    }
    /* The token's hash is the key: a lookup by a hash of 256 random bits tells nothing by its
       timing. */
    char hash[65];
    sso_sha256_hex(in->token, strlen(in->token), hash);
    dir_db_stmt_t *stmt =
        dir_db_query(dir->db, "SELECT d.organization_id FROM scim_tokens t JOIN "
                              "scim_directories d ON d.id = t.directory_id WHERE "
                              "t.token_hash = ? AND t.directory_id = ? AND (t.expires_at IS "
                              "NULL OR t.expires_at > ?)",
                     "ssi", hash, in->directory_id, dir_now());
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        out->organization_id = dir_rpc_dup(dir_db_text(stmt, 0));
    dir_db_release(stmt);
    if (step == DIR_DB_ROW)
        return 0;
    if (step == DIR_DB_DONE)
        dir_rpc_error(err, "invalid_token", S_REFUSED);
    else
        dir_rpc_error(err, "server_error", "cannot read the SCIM directories");
    return -1;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* ScimAuthenticate's answer: the organization into org (when given), or "" when refused as
   every refusal must be (the same code and words). */
static bool s_auth(dir_testkit_t *kit, const char *directory_id, const char *token, char *org,
                   size_t size)
{
    Sso__ScimAuthenticateRequest request = SSO__SCIM_AUTHENTICATE_REQUEST__INIT;
    request.directory_id = (char *) directory_id;
    request.token = (char *) token;
    kit->caller = "scim";
    Sso__ScimAuthenticateReply *reply =
        dir_testkit_rpc(kit, "ScimReads.ScimAuthenticate", &request.base);
    kit->caller = NULL;
    bool ok = reply && !reply->error && reply->organization_id && *reply->organization_id;
    bool refused = reply && !strcmp(dir_testkit_error(reply), "invalid_token")
                   && !strcmp(reply->error_description, S_REFUSED) && !*reply->organization_id;
    SSO_CHECK(ok || refused);
    if (org)
        snprintf(org, size, "%s", ok ? reply->organization_id : "");
    if (reply)
        sso__scim_authenticate_reply__free_unpacked(reply, NULL);
    return ok;
}

/* POST path with body; the directory's id and token into id and token (when 201 or 200). */
static int s_made(dir_testkit_t *kit, const char *method, const char *path, const char *body,
                  char id[64], char token[128])
{
    json_t *json = NULL;
    int status = dir_testkit_call(kit, method, path, body, &json);
    snprintf(id, 64, "%s", dir_testkit_str(json, "id"));
    snprintf(token, 128, "%s", dir_testkit_str(json, "token"));
    json_decref(json);
    return status;
}

/* How many rows of the directories, their tokens and the audit log hold text (a token must be
   in none). */
static int64_t s_rows_holding(dir_t *dir, const char *text)
{
    return dir_db_int(dir->db, "SELECT (SELECT count(*) FROM scim_tokens WHERE instr(id || "
                               "directory_id || token_hash, ?1) > 0) + (SELECT count(*) FROM "
                               "scim_directories WHERE instr(id || name, ?1) > 0) + (SELECT "
                               "count(*) FROM audit_log WHERE instr(action || coalesce(target, "
                               "''), ?1) > 0)",
                      "s", text);
}

/* Create, read, list, delete: the token once, the lists and items without it, each
   directory through its own organization's list only. */
static void s_test_crud(dir_testkit_t *kit)
{
    json_t *body = NULL;
    char org[64] = "", org2[64] = "", path[160], path2[160], item[160];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"B\"}", "id", org2, sizeof org2) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    snprintf(path2, sizeof path2, "/api/v1/organizations/%s/directories", org2);

    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"name\":\"Okta\"}", &body) == 201);
    char id[64], token[128], hash[65];
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(token, sizeof token, "%s", dir_testkit_str(body, "token"));
    SSO_CHECK(!strncmp(id, "dir_", 4) && !strcmp(dir_testkit_str(body, "organization_id"), org)
              && !strcmp(dir_testkit_str(body, "name"), "Okta"));
    char base_url[200];
    snprintf(base_url, sizeof base_url, "https://sso.test/scim/v2/%s", id);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "scim_base_url"), base_url));
    SSO_CHECK(strlen(token) == 48 && !strncmp(token, "scim_", 5) && s_token_shaped(token));
    json_t *tokens = json_object_get(body, "tokens");
    SSO_CHECK(json_array_size(tokens) == 1
              && json_is_null(json_object_get(json_array_get(tokens, 0), "expires_at")));
    json_decref(body);
    /* Stored as its hash only; nowhere as itself (nor in the audit log). */
    sso_sha256_hex(token, strlen(token), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_tokens WHERE directory_id = ? "
                                       "AND token_hash = ? AND expires_at IS NULL",
                         "ss", id, hash) == 1);
    SSO_CHECK(s_rows_holding(kit->dir, token) == 0);
    SSO_CHECK(s_rows_holding(kit->dir, token + 5) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE target = ? AND "
                                       "status = 201",
                         "s", id) == 1);

    /* No body, or no name: the default name; a second directory for the same organization. */
    char id2[64], token2[128], id3[64], token3[128];
    SSO_CHECK(s_made(kit, "POST", path, NULL, id2, token2) == 201);
    SSO_CHECK(s_made(kit, "POST", path2, "{}", id3, token3) == 201);
    SSO_CHECK(strcmp(token, token2) && strcmp(token2, token3) && strcmp(id, id2));
    snprintf(item, sizeof item, "/api/v1/directories/%s", id2);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "name"), DIR_SCIM_NAME_DEFAULT));
    /* Its metadata only: no token. */
    SSO_CHECK(!json_object_get(body, "token") && json_array_size(json_object_get(body, "tokens"))
                                                    == 1);
    json_decref(body);

    /* Refusals: the name empty, blank, not text, too long, with a control character; a body
       that is not an object; an organization that is not there. Nothing is made. */
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_directories", NULL);
    int64_t tokens_before = dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_tokens", NULL);
    char long_name[300];
    snprintf(long_name, sizeof long_name, "{\"name\":\"%0201d\"}", 0);
    const char *bad[] = {"{\"name\":\"\"}", "{\"name\":\"  \"}", "{\"name\":5}",
                         "{\"name\":[\"a\"]}", long_name, "{\"name\":\"a\\u0001b\"}",
                         "{", "[]", "\"x\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        SSO_CHECK(dir_testkit_call(kit, "POST", path, bad[i], &body) == 400);
        SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "invalid_request"));
        json_decref(body);
    }
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", path, "{\"name\":\"\"}", &body),
                                  &body, "name must not be empty"));
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_none/directories",
                               "{\"name\":\"x\"}", &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "no organization org_none"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_directories", NULL) == before);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_tokens", NULL)
              == tokens_before);

    /* The list: this organization's only, in pages, never a token. */
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    json_t *data = json_object_get(body, "data");
    SSO_CHECK(json_array_size(data) == 2
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "id"), id)
              && !strcmp(dir_testkit_str(json_array_get(data, 1), "id"), id2));
    char *text = json_dumps(body, 0);
    SSO_CHECK(text && !strstr(text, token) && !strstr(text, token2) && !strstr(text, "\"token\""));
    free(text);
    json_decref(body);
    char page[300];
    snprintf(page, sizeof page, "%s?page_size=1", path);
    SSO_CHECK(dir_testkit_call(kit, "GET", page, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    char next[400];
    SSO_CHECK(dir_testkit_next_page(body, page, next, sizeof next));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", next, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_array_get(json_object_get(body, "data"), 0), "id"),
                      id2));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", path2, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_none/directories", NULL,
                               NULL) == 404);
    snprintf(page, sizeof page, "%s?page_size=0", path);
    SSO_CHECK(dir_testkit_call(kit, "GET", page, NULL, NULL) == 400);

    /* Unknown ids, paths and methods. */
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/directories/dir_none", NULL, &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "no directory dir_none"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/directories/dir_none", NULL, NULL) == 404);
    snprintf(item, sizeof item, "/api/v1/directories/%s/tokens", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, &body) == 404);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error_description"), "no such path under /api/v1"));
    json_decref(body);
    snprintf(item, sizeof item, "/api/v1/directories/%s/token/rotate", id);
    SSO_CHECK(dir_testkit_call(kit, "POST", item, NULL, NULL) == 404);
    snprintf(item, sizeof item, "/api/v1/directories/%s/users/x", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/directories", NULL, NULL) == 404);
    snprintf(item, sizeof item, "/api/v1/directories/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", item, "{}", NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 405);

    /* Deleting: the directory with its tokens (and the token stops); then the organization
       takes the rest with it. */
    char org_of[64];
    SSO_CHECK(s_auth(kit, id, token, org_of, sizeof org_of) && !strcmp(org_of, org));
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, NULL) == 404);
    SSO_CHECK(!s_auth(kit, id, token, NULL, 0));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_tokens WHERE directory_id = ?",
                         "s", id) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE target = ? AND "
                                       "action LIKE 'DELETE %' AND status = 204",
                         "s", id) == 1);
    char org_path[160];
    snprintf(org_path, sizeof org_path, "/api/v1/organizations/%s", org);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", org_path, NULL, NULL) == 204);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM scim_directories WHERE "
                                       "organization_id = ?", "s", org) == 0);
    SSO_CHECK(!s_auth(kit, id2, token2, NULL, 0));
    SSO_CHECK(s_auth(kit, id3, token3, NULL, 0));
}

/* POST token for id with body; the new token into token (when 200). */
static int s_rotate_call(dir_testkit_t *kit, const char *id, const char *body, char token[128],
                         json_t **json)
{
    char path[160], ignored[64];
    snprintf(path, sizeof path, "/api/v1/directories/%s/token", id);
    if (json)
        return dir_testkit_call(kit, "POST", path, body, json);
    return s_made(kit, "POST", path, body, ignored, token);
}

/* Rotation: the new token and, during its overlap, the one it replaced; never more than two;
   overlap 0 ends the previous one at once; bad overlaps change nothing. */
static void s_test_rotate(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    char org[64] = "", path[160], id[64], t0[128], t1[128], t2[128], t3[128], found[64];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"R\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(s_made(kit, "POST", path, NULL, id, t0) == 201);

    /* No body: an hour's overlap; both tokens work, the answer lists both, newest first. */
    json_t *body = NULL;
    int64_t now = dir_now();
    SSO_CHECK(s_rotate_call(kit, id, NULL, NULL, &body) == 200);
    snprintf(t1, sizeof t1, "%s", dir_testkit_str(body, "token"));
    SSO_CHECK(s_token_shaped(t1) && strcmp(t0, t1) && !strcmp(dir_testkit_str(body, "id"), id));
    json_t *tokens = json_object_get(body, "tokens");
    SSO_CHECK(json_array_size(tokens) == 2
              && json_is_null(json_object_get(json_array_get(tokens, 0), "expires_at"))
              && json_is_string(json_object_get(json_array_get(tokens, 1), "expires_at")));
    json_decref(body);
    int64_t ends = dir_db_int(db, "SELECT expires_at FROM scim_tokens WHERE directory_id = ? "
                                  "AND expires_at IS NOT NULL", "s", id);
    SSO_CHECK(ends >= now + 3600 && ends <= dir_now() + 3600);
    SSO_CHECK(s_auth(kit, id, t0, found, sizeof found) && !strcmp(found, org));
    SSO_CHECK(s_auth(kit, id, t1, found, sizeof found) && !strcmp(found, org));
    /* GET shows both, without either token. */
    char item[160];
    snprintf(item, sizeof item, "/api/v1/directories/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, &body) == 200);
    char *text = json_dumps(body, 0);
    SSO_CHECK(json_array_size(json_object_get(body, "tokens")) == 2 && text && !strstr(text, t0)
              && !strstr(text, t1));
    free(text);
    json_decref(body);

    /* The overlap's end: t0 stops (a second before it, it worked). */
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE scim_tokens SET expires_at = ? WHERE directory_id = ? "
                                   "AND expires_at IS NOT NULL", "is", dir_now() + 2, id)
              == DIR_DB_OK);
    SSO_CHECK(s_auth(kit, id, t0, NULL, 0));
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE scim_tokens SET expires_at = ? WHERE directory_id = ? "
                                   "AND expires_at IS NOT NULL", "is", dir_now(), id)
              == DIR_DB_OK);
    SSO_CHECK(!s_auth(kit, id, t0, NULL, 0) && s_auth(kit, id, t1, NULL, 0));
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "tokens")) == 1);
    json_decref(body);

    /* Rotating twice within an overlap: the oldest goes, two stay. */
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":600}", t2, NULL) == 200);
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":604800}", t3, NULL) == 200);
    SSO_CHECK(!s_auth(kit, id, t1, NULL, 0) && s_auth(kit, id, t2, NULL, 0)
              && s_auth(kit, id, t3, NULL, 0));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_tokens WHERE directory_id = ?", "s", id)
              == 2);
    SSO_CHECK(dir_db_int(db, "SELECT expires_at - created_at FROM scim_tokens WHERE "
                             "directory_id = ? AND expires_at IS NOT NULL", "s", id)
              >= 604800 - 1);

    /* overlap 0: the previous token stops at once, and only the new one is kept. */
    char t4[128];
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":0}", t4, NULL) == 200);
    SSO_CHECK(!s_auth(kit, id, t2, NULL, 0) && !s_auth(kit, id, t3, NULL, 0)
              && s_auth(kit, id, t4, NULL, 0));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_tokens WHERE directory_id = ?", "s", id)
              == 1);
    SSO_CHECK(s_rows_holding(kit->dir, t4) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM audit_log WHERE target = ? AND action LIKE "
                             "'POST %/token' AND status = 200", "s", id) == 4);

    /* Bad overlaps: refused, nothing changes. */
    const char *bad[] = {"{\"overlap_seconds\":null}",  "{\"overlap_seconds\":\"\"}",
                         "{\"overlap_seconds\":-1}",    "{\"overlap_seconds\":604801}",
                         "{\"overlap_seconds\":1.5}",   "{\"overlap_seconds\":\"3600\"}",
                         "{\"overlap_seconds\":\"1h\"}", "{\"overlap_seconds\":true}",
                         "{\"overlap_seconds\":1e300}", "{\"overlap_seconds\":2592000}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        SSO_CHECK(s_rotate_call(kit, id, bad[i], NULL, &body) == 400);
        SSO_CHECK(dir_testkit_refused(400, &body, "overlap_seconds must be a whole number of "
                                                  "seconds from 0 (the previous token stops at "
                                                  "once) to 604800 (7 days)"));
    }
    SSO_CHECK(s_rotate_call(kit, id, "{", NULL, &body) == 400);
    json_decref(body);
    SSO_CHECK(s_auth(kit, id, t4, NULL, 0));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_tokens WHERE directory_id = ?", "s", id)
              == 1);
    /* Unknown directory: 404, nothing made; the wrong method: 405. */
    int64_t all = dir_db_int(db, "SELECT count(*) FROM scim_tokens", NULL);
    SSO_CHECK(s_rotate_call(kit, "dir_none", "{}", NULL, &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "no directory dir_none"));
    json_decref(body);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_tokens", NULL) == all);
    snprintf(item, sizeof item, "/api/v1/directories/%s/token", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, NULL) == 405);
}

/* ScimAuthenticate refuses alike: an empty or malformed token or directory id, another
   directory's token, a directory that is not there; only the scim role may call it. */
static void s_test_authenticate(dir_testkit_t *kit)
{
    char org[64] = "", path[160], a[64], ta[128], b[64], tb[128];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"S\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(s_made(kit, "POST", path, NULL, a, ta) == 201);
    SSO_CHECK(s_made(kit, "POST", path, NULL, b, tb) == 201);
    char found[64];
    SSO_CHECK(s_auth(kit, a, ta, found, sizeof found) && !strcmp(found, org));
    SSO_CHECK(s_auth(kit, b, tb, NULL, 0));

    char upper[128], cut[128], longer[160], hostile_id[300];
    snprintf(upper, sizeof upper, "SCIM_%s", ta + 5);
    snprintf(cut, sizeof cut, "%.*s", (int) strlen(ta) - 1, ta);
    snprintf(longer, sizeof longer, "%sA", ta);
    memset(hostile_id, 'a', sizeof hostile_id - 1);
    memcpy(hostile_id, "dir_", 4);
    hostile_id[sizeof hostile_id - 1] = '\0';
    const char *const refused[][2] = {
        {a, ""},          {a, NULL},         {a, tb},    {b, ta},       {a, upper},
        {a, cut},         {a, longer},       {a, ta + 5}, {"", ta},     {NULL, ta},
        {"dir_none", ta}, {"dir_", ta},      {"DIR_X", ta}, {"dir_a'--", ta},
        {hostile_id, ta}, {org, ta},         {"dir_zzzzzzzzzzzzzzzzzzzz", tb},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        bool accepted = s_auth(kit, refused[i][0], refused[i][1], NULL, 0);
        SSO_CHECK(!accepted);
        if (accepted)
            fprintf(stderr, "ScimAuthenticate case %zu accepted\n", i);
    }
    /* A token's hash in the request's place is no token. */
    char hash[65];
    sso_sha256_hex(ta, strlen(ta), hash);
    SSO_CHECK(!s_auth(kit, a, hash, NULL, 0));

    /* Only the scim role: every other role and none get access_denied. */
    Sso__ScimAuthenticateRequest request = SSO__SCIM_AUTHENTICATE_REQUEST__INIT;
    request.directory_id = a;
    request.token = ta;
    const char *const others[] = {"token", "saml", "oidc", "", "gateway", "SCIM", "scim "};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        kit->caller = others[i];
        SSO_CHECK(dir_testkit_rpc_error(kit, "ScimReads.ScimAuthenticate", &request.base,
                                        "access_denied", "scim service"));
    }
    kit->caller = NULL;
    SSO_CHECK(!strcmp(dir_rpc_router_caller_of("ScimReads.ScimAuthenticate"), "scim"));
}

/* The users, groups and events the SCIM service writes, listed per directory. */
static void s_test_stored(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    char org[64] = "", path[160], a[64], ta[128], b[64], tb[128], target[200], next[400];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"U\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(s_made(kit, "POST", path, NULL, a, ta) == 201);
    SSO_CHECK(s_made(kit, "POST", path, NULL, b, tb) == 201);
    /* Empty until the SCIM service writes. */
    const char *const lists[] = {"users", "groups", "events"};
    json_t *body = NULL;
    for (size_t i = 0; i < 3; i++) {
        snprintf(target, sizeof target, "/api/v1/directories/%s/%s", a, lists[i]);
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
        SSO_CHECK(json_array_size(json_object_get(body, "data")) == 0
                  && !strcmp(dir_testkit_str(body, "next_page_token"), ""));
        json_decref(body);
        snprintf(target, sizeof target, "/api/v1/directories/dir_none/%s", lists[i]);
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 404);
        SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "no directory dir_none"));
        json_decref(body);
        snprintf(target, sizeof target, "/api/v1/directories/%s/%s?page_size=x", a, lists[i]);
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, NULL) == 400);
        snprintf(target, sizeof target, "/api/v1/directories/%s/%s", a, lists[i]);
        SSO_CHECK(dir_testkit_call(kit, "POST", target, "{}", NULL) == 405);
    }
    /* Rows as the SCIM service will write them: two users (one deleted), a group with both,
       events; and a user of the other directory. deleted_at 0 inserts NULL. */
    const char *insert_user = "INSERT INTO scim_users (id, directory_id, user_name, "
                              "user_name_lower, external_id, display_name, display_name_lower, "
                              "email_lower, active, resource_json, version, created_at, "
                              "updated_at, deleted_at) VALUES (?1, ?2, ?3, lower(?3), ?4, ?5, "
                              "lower(?5), ?6, ?7, '{}', ?8, 100, 200, nullif(?9, 0))";
    SSO_CHECK(dir_db_run(db, NULL, insert_user, "ssssssiii", "u1", a, "Jo@Example.com", "ext-1",
                         "Jo Doe", "jo@example.com", (int64_t) 1, (int64_t) 3, (int64_t) 0)
              == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, insert_user, "ssssssiii", "u2", a, "Al", NULL, NULL, NULL,
                         (int64_t) 0, (int64_t) 1, (int64_t) 300) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, insert_user, "ssssssiii", "u3", b, "Jo@Example.com", NULL,
                         NULL, NULL, (int64_t) 1, (int64_t) 1, (int64_t) 0) == DIR_DB_OK);
    /* userName is unique per directory, in any case, while the user is not deleted. */
    SSO_CHECK(dir_db_run(db, NULL, insert_user, "ssssssiii", "u4", a, "JO@example.COM", NULL,
                         NULL, NULL, (int64_t) 1, (int64_t) 1, (int64_t) 0) == DIR_DB_CONFLICT);
    /* A deleted user's userName is free again. */
    SSO_CHECK(dir_db_run(db, NULL, insert_user, "ssssssiii", "u5", a, "al", NULL, NULL, NULL,
                         (int64_t) 1, (int64_t) 1, (int64_t) 0) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "DELETE FROM scim_users WHERE id = 'u5'", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_groups (id, directory_id, display_name, "
                                   "display_name_lower, external_id, resource_json, version, "
                                   "created_at, updated_at) VALUES ('g1', ?, 'Admins', "
                                   "'admins', 'eg-1', '{}', 2, 100, 100)", "s", a) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_group_members (group_id, user_id) VALUES "
                                   "('g1', 'u1'), ('g1', 'u2')", NULL) == DIR_DB_OK);
    for (int i = 0; i < 3; i++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_events (directory_id, type, "
                                       "resource_type, resource_id, at, detail) VALUES (?, ?, "
                                       "'User', 'u1', ?, ?)",
                             "ssis", a, i == 2 ? "user.deactivated" : "user.created",
                             (int64_t) 1000 + i, i == 1 ? "not json" : "{\"active\":false}")
                  == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_events (directory_id, type, resource_type, "
                                   "resource_id, at) VALUES (?, 'user.created', 'User', 'u3', 1)",
                         "s", b) == DIR_DB_OK);

    snprintf(target, sizeof target, "/api/v1/directories/%s/users", a);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    json_t *data = json_object_get(body, "data");
    json_t *u1 = json_array_get(data, 0), *u2 = json_array_get(data, 1);
    SSO_CHECK(json_array_size(data) == 2 && !strcmp(dir_testkit_str(u1, "id"), "u1")
              && !strcmp(dir_testkit_str(u1, "user_name"), "Jo@Example.com")
              && !strcmp(dir_testkit_str(u1, "email"), "jo@example.com")
              && !strcmp(dir_testkit_str(u1, "external_id"), "ext-1")
              && json_is_true(json_object_get(u1, "active"))
              && json_integer_value(json_object_get(u1, "version")) == 3
              && json_is_null(json_object_get(u1, "deleted_at")));
    SSO_CHECK(!strcmp(dir_testkit_str(u2, "id"), "u2")
              && json_is_false(json_object_get(u2, "active"))
              && json_is_null(json_object_get(u2, "email"))
              && !strcmp(dir_testkit_str(u2, "deleted_at"), "1970-01-01T00:05:00Z"));
    json_decref(body);
    /* A page of one, then the next. */
    snprintf(target, sizeof target, "/api/v1/directories/%s/users?page_size=1", a);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && dir_testkit_next_page(body, target, next, sizeof next));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", next, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_array_get(json_object_get(body, "data"), 0), "id"),
                      "u2"));
    json_decref(body);

    snprintf(target, sizeof target, "/api/v1/directories/%s/groups", a);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    json_t *g1 = json_array_get(json_object_get(body, "data"), 0);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && !strcmp(dir_testkit_str(g1, "display_name"), "Admins")
              && json_integer_value(json_object_get(g1, "members_count")) == 2
              && json_integer_value(json_object_get(g1, "version")) == 2);
    json_decref(body);

    /* Events newest first; detail an object, or null when it is not one. */
    snprintf(target, sizeof target, "/api/v1/directories/%s/events?page_size=2", a);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    data = json_object_get(body, "data");
    SSO_CHECK(json_array_size(data) == 2
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "type"), "user.deactivated")
              && json_is_false(json_object_get(json_object_get(json_array_get(data, 0), "detail"),
                                               "active"))
              && json_is_null(json_object_get(json_array_get(data, 1), "detail"))
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "created_at"),
                         "1970-01-01T00:16:42Z"));
    SSO_CHECK(dir_testkit_next_page(body, target, next, sizeof next));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", next, NULL, &body) == 200);
    data = json_object_get(body, "data");
    SSO_CHECK(json_array_size(data) == 1
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "type"), "user.created")
              && !strcmp(dir_testkit_str(body, "next_page_token"), ""));
    json_decref(body);

    /* The other directory sees only its own. */
    snprintf(target, sizeof target, "/api/v1/directories/%s/users", b);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && !strcmp(dir_testkit_str(json_array_get(json_object_get(body, "data"), 0), "id"),
                         "u3"));
    json_decref(body);
    snprintf(target, sizeof target, "/api/v1/directories/%s/groups", b);
    SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 0);
    json_decref(body);

    /* Deleting a directory deletes what it holds, memberships included. */
    snprintf(target, sizeof target, "/api/v1/directories/%s", a);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", target, NULL, NULL) == 204);
    SSO_CHECK(dir_db_int(db, "SELECT (SELECT count(*) FROM scim_users) + (SELECT count(*) FROM "
                             "scim_groups) + (SELECT count(*) FROM scim_group_members) + (SELECT "
                             "count(*) FROM scim_events)", NULL) == 2);
}

void dir_scim_dirs_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_crud);
    dir_testkit_run(s_test_rotate);
    dir_testkit_run(s_test_authenticate);
    dir_testkit_run(s_test_stored);
}
