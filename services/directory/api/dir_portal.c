/* dir_portal: admin portal links. */
#include "api/dir_portal.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

static zframe_t *s_create(dir_api_req_t *req, const char *org_id)
{
    char *id = sso_random_id("pl_", 10);
    char *token = sso_random_token(32);
    if (!id || !token) {
        free(id);
        free(token);
        return sso_http_error(500, "server_error", "out of memory");
    }
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    int64_t now = dir_now(), expires = now + DIR_PORTAL_TTL;
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
        char location[1200];
        snprintf(location, sizeof location, "%s/portal/%s", req->dir->public_url, token);
        reply = sso_http_json(201, json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id,
                                             "organization_id", org_id, "location", location,
                                             "created_at", dir_json_time(now), "expires_at",
                                             dir_json_time(expires)));
        OPENSSL_cleanse(location, sizeof location);
        sso_info("portal link %s issued for %s", id, org_id);
    }
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    free(id);
    return reply;
}

zframe_t *dir_portal_http(dir_api_req_t *req)
{
    static const dir_api_methods_t methods = {.post = s_create};
    return dir_api_dispatch(req, &methods, req->segments[1]);
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    char org[64] = "", path[160];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links", org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &body) == 201);
    const char *location = dir_testkit_str(body, "location");
    SSO_CHECK(!strncmp(dir_testkit_str(body, "id"), "pl_", 3));
    SSO_CHECK(!strncmp(location, "https://sso.test/portal/", 24) && strlen(location) > 60);
    SSO_CHECK(strlen(dir_testkit_str(body, "expires_at")) == 20);
    /* Only the hash of the token is stored. */
    const char *token = location + 24;
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM portal_links WHERE token_hash = ? "
                                       "AND expires_at - created_at = ?", "si", hash,
                         (int64_t) DIR_PORTAL_TTL) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM portal_links WHERE token_hash = ?",
                         "s", token) == 0);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_none/portal_links", NULL,
                               NULL) == 404);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM portal_links", NULL) == 1);
}

void dir_portal_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
