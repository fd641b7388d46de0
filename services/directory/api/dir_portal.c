/* dir_portal: admin portal links. */
#include "api/dir_portal.h"
#include "api/dir_orgs.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define S_COLUMNS "id, organization_id, created_at, expires_at, used_at"

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", dir_db_text(stmt, 0), "organization_id",
                     dir_db_text(stmt, 1), "created_at", dir_json_time(dir_db_int64(stmt, 2)),
                     "expires_at", dir_json_time(dir_db_int64(stmt, 3)), "used_at",
                     dir_db_is_null(stmt, 4) ? json_null()
                                             : dir_json_time(dir_db_int64(stmt, 4)));
}

/* The body's expires_in (absent or an empty body: the default). 0, or -1 with err. */
static int s_lifetime(const dir_api_req_t *req, int64_t *lifetime, dir_error_t *err)
{
    *lifetime = DIR_PORTAL_TTL;
    if (req->http->body.len == 0)
        return 0;
    json_t *body = dir_api_body(req, err);
    if (!body)
        return -1;
    json_t *value = json_object_get(body, "expires_in");
    int rc = 0;
    if (value && !json_is_null(value)) {
        json_int_t seconds = json_is_integer(value) ? json_integer_value(value) : -1;
        if (seconds < DIR_PORTAL_TTL_MIN || seconds > DIR_PORTAL_TTL_MAX) {
            dir_bad_request(err, "expires_in must be a whole number of seconds from %d (5 "
                                 "minutes) to %d (30 days)", DIR_PORTAL_TTL_MIN,
                            DIR_PORTAL_TTL_MAX);
            rc = -1;
        }
        else
            *lifetime = seconds;
    }
    json_decref(body);
    return rc;
}

static zframe_t *s_create(dir_api_req_t *req, const char *org_id)
{
    dir_error_t err = {0};
    int64_t lifetime;
    if (s_lifetime(req, &lifetime, &err) != 0)
        return dir_error_reply(&err);
    char *id = sso_random_id("pl_", 10);
    char *token = sso_random_token(DIR_PORTAL_TOKEN_BYTES);
    if (!id || !token) {
        free(id);
        free(token);
        return sso_http_error(500, "server_error", "out of memory");
    }
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    int64_t now = dir_now(), expires = now + lifetime;
    int changes = 0;
    int rc = dir_db_run(req->dir->db, &changes,
                        "INSERT INTO portal_links (id, organization_id, token_hash, created_at, "
                        "expires_at) SELECT ?, id, ?, ?, ? FROM organizations WHERE id = ?",
                        "ssiis", id, hash, now, expires, org_id);
    zframe_t *reply;
    if (rc != DIR_DB_OK)
        reply = dir_api_db_error();
    else if (changes == 0)
        reply = dir_api_not_found("organization", org_id);
    else {
        /* The token after '#': browsers send no fragment to any server, nor in a Referer. */
        char location[1200];
        snprintf(location, sizeof location, "%s/portal/start#%s", req->dir->public_url, token);
        reply = sso_http_json(201, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id,
                                             "organization_id", org_id, "location", location,
                                             "created_at", dir_json_time(now), "expires_at",
                                             dir_json_time(expires)));
        OPENSSL_cleanse(location, sizeof location);
        sso_info("portal link %s issued for %s (expires in %llds)", id, org_id,
                 (long long) lifetime);
    }
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    free(id);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req, const char *org_id)
{
    return dir_api_list(req, dir_orgs_check, org_id, s_row_json,
                        "SELECT " S_COLUMNS ", seq FROM portal_links WHERE organization_id = ? "
                        "AND revoked = 0 AND expires_at > ? AND seq > ? ORDER BY seq LIMIT ?",
                        "si", org_id, dir_now());
}

/* Revokes a live link and ends its sessions, in one transaction. */
static zframe_t *s_revoke(dir_api_req_t *req, const char *link_id)
{
    const char *org_id = req->segments[1];
    dir_db_t *db = req->dir->db;
    int changes = 0;
    if (dir_db_begin(db) != 0)
        return dir_api_db_error();
    if (dir_db_run(db, &changes, "UPDATE portal_links SET revoked = 1 WHERE id = ? AND "
                                 "organization_id = ? AND revoked = 0 AND expires_at > ?",
                   "ssi", link_id, org_id, dir_now()) != DIR_DB_OK
        || (changes
            && dir_db_run(db, NULL, "DELETE FROM portal_sessions WHERE link_id = ?", "s",
                          link_id) != DIR_DB_OK)
        || dir_db_commit(db) != 0) {
        dir_db_rollback(db);
        return dir_api_db_error();
    }
    if (changes == 0)
        return dir_orgs_exists(req->dir, org_id) ? dir_api_not_found("portal link", link_id)
                                                 : dir_api_not_found("organization", org_id);
    sso_info("portal link %s of %s revoked (its sessions ended)", link_id, org_id);
    return dir_api_no_content();
}

zframe_t *dir_portal_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.del = s_revoke};
    if (req->n_segments == 4)
        return dir_api_dispatch(req, &item, req->segments[3]);
    return dir_api_dispatch(req, &collection, req->segments[1]);
}

/* The token of a link's location ("" when it has none). */
static const char *s_token_of(const char *location)
{
    const char *hash = strchr(location, '#');
    return hash ? hash + 1 : "";
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    dir_db_t *db = kit->dir->db;
    char org[64] = "", org2[64] = "", path[160], path2[160], item[240];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"B\"}", "id", org2, sizeof org2) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links", org);
    snprintf(path2, sizeof path2, "/api/v1/organizations/%s/portal_links", org2);

    /* The default lifetime; the token only in the fragment, only its hash stored. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &body) == 201);
    char link[64] = "";
    snprintf(link, sizeof link, "%s", dir_testkit_str(body, "id"));
    const char *location = dir_testkit_str(body, "location");
    SSO_CHECK(!strncmp(link, "pl_", 3));
    SSO_CHECK(!strncmp(location, "https://sso.test/portal/start#", 30));
    char token[DIR_PORTAL_TOKEN_LEN + 1];
    snprintf(token, sizeof token, "%s", s_token_of(location));
    SSO_CHECK(strlen(token) == DIR_PORTAL_TOKEN_LEN);
    SSO_CHECK(strlen(dir_testkit_str(body, "expires_at")) == 20);
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_links WHERE token_hash = ? AND "
                             "expires_at - created_at = ?", "si", hash,
                         (int64_t) DIR_PORTAL_TTL) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_links WHERE token_hash = ?", "s",
                         token) == 0);
    json_decref(body);

    /* expires_in: its bounds exactly, and every wrong kind of value, each refused with what
       is wanted and nothing stored. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"expires_in\":300}", &body) == 201);
    sso_sha256_hex(s_token_of(dir_testkit_str(body, "location")), DIR_PORTAL_TOKEN_LEN, hash);
    SSO_CHECK(dir_db_int(db, "SELECT expires_at - created_at FROM portal_links WHERE "
                             "token_hash = ?", "s", hash) == 300);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"expires_in\":2592000}", NULL) == 201);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"expires_in\":null}", NULL) == 201);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{}", NULL) == 201);
    int64_t before = dir_db_int(db, "SELECT count(*) FROM portal_links", NULL);
    const char *bad[] = {"{\"expires_in\":299}", "{\"expires_in\":2592001}",
                         "{\"expires_in\":0}", "{\"expires_in\":-5}", "{\"expires_in\":\"600\"}",
                         "{\"expires_in\":600.5}", "{\"expires_in\":true}",
                         "{\"expires_in\":[600]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SSO_CHECK(dir_testkit_call(kit, "POST", path, bad[i], &body) == 400);
        SSO_CHECK(dir_testkit_refused(400, &body, "expires_in must be a whole number of "
                                                  "seconds from 300 (5 minutes) to 2592000"));
    }
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "[1]", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_none/portal_links", NULL,
                               NULL) == 404);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_links", NULL) == before);

    /* The list: live links of this organization only, never a token or its hash. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path2, NULL, NULL) == 201);
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE portal_links SET expires_at = ? WHERE id <> ? AND "
                                   "expires_at - created_at = 300", "is", dir_now() - 1, link)
              == DIR_DB_OK);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    json_t *data = json_object_get(body, "data");
    SSO_CHECK(json_array_size(data) == 4); /* 5 made here, one expired */
    json_t *first = json_array_get(data, 0);
    SSO_CHECK(!strcmp(dir_testkit_str(first, "id"), link) && json_is_null(json_object_get(
                                                                 first, "used_at")));
    char *text = json_dumps(body, 0);
    SSO_CHECK(text && !strstr(text, token) && !strstr(text, "\"token\"")
              && !strstr(text, "location") && !strstr(text, "hash"));
    free(text);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_none/portal_links", NULL,
                               NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{}", NULL) == 405);

    /* Revoking: only through the link's own organization, once; its sessions end. */
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO portal_sessions (id, session_hash, "
                                   "organization_id, link_id, created_at, last_seen, expires_at) "
                                   "VALUES ('ps_t', 'h', ?, ?, 0, 0, 0)", "ss", org, link)
              == DIR_DB_OK);
    snprintf(item, sizeof item, "%s/%s", path2, link);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 404);
    snprintf(item, sizeof item, "/api/v1/organizations/org_none/portal_links/%s", link);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "organization"));
    json_decref(body);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_sessions", NULL) == 1);
    snprintf(item, sizeof item, "%s/%s", path, link);
    SSO_CHECK(dir_testkit_call(kit, "GET", item, NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 204);
    SSO_CHECK(dir_db_int(db, "SELECT revoked FROM portal_links WHERE id = ?", "s", link) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_sessions", NULL) == 0);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 3);
    json_decref(body);
}

void dir_portal_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
