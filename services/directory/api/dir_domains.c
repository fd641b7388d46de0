/* dir_domains: domain registration per organization. */
#include "api/dir_domains.h"
#include "api/dir_orgs.h"
#include "dir_testkit.h"
#include "api/dir_valid.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

#define S_COLUMNS "id, domain, organization_id, created_at"

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:s, s:s, s:o}", "id", dir_db_text(stmt, 0), "domain",
                     dir_db_text(stmt, 1), "organization_id", dir_db_text(stmt, 2), "created_at",
                     dir_json_time(dir_db_int64(stmt, 3)));
}

static zframe_t *s_create(dir_api_req_t *req, const char *org_id)
{
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err);
    const char *input = NULL;
    if (!body
        || dir_json_string(body, "domain", "domain", DIR_REQUIRED, 300, &input, &err) < 0) {
        json_decref(body);
        return dir_error_reply(&err);
    }
    char domain[254], why[160];
    int valid = dir_domain_normalize(input, domain, why, sizeof why);
    json_decref(body);
    if (valid != 0)
        return sso_http_error(400, "invalid_request", why);
    if (dir_domain_is_public(domain)) {
        dir_bad_request(&err, "%s is a public email domain; its users do not belong to one "
                              "organization", domain);
        return dir_error_reply(&err);
    }
    char *id = sso_random_id("dom_", 10);
    int64_t now = dir_now();
    /* INSERT ... SELECT ties the insert to the organization existing, in one statement. */
    int changes = 0;
    int rc = id ? dir_db_run(req->dir->db, &changes,
                             "INSERT INTO domains (id, organization_id, domain, created_at) "
                             "SELECT ?, id, ?, ? FROM organizations WHERE id = ?",
                             "ssis", id, domain, now, org_id)
                : DIR_DB_ERROR;
    zframe_t *reply;
    if (rc == DIR_DB_CONFLICT) {
        dir_conflict(&err, "the domain %s already belongs to an organization", domain);
        reply = dir_error_reply(&err);
    }
    else if (rc != DIR_DB_OK)
        reply = dir_api_db_error();
    else if (changes == 0)
        reply = dir_api_not_found("organization", org_id);
    else {
        json_t *json = dir_api_row(req->dir, s_row_json,
                                   "SELECT " S_COLUMNS " FROM domains WHERE id = ?", "s", id);
        reply = json ? sso_http_json(201, json) : dir_api_db_error();
        sso_info("domain %s added to %s", domain, org_id);
    }
    free(id);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req, const char *org_id)
{
    return dir_api_list(req, dir_orgs_check, org_id, s_row_json,
                        "SELECT " S_COLUMNS ", seq FROM domains WHERE organization_id = ? AND "
                        "seq > ? ORDER BY seq LIMIT ?", "s", org_id);
}

/* An item's organization is the path's, so a domain is reached only through its own. */
static zframe_t *s_show(dir_api_req_t *req, const char *domain_id)
{
    const char *org_id = req->segments[1];
    return dir_api_found(dir_api_row(req->dir, s_row_json,
                                     "SELECT " S_COLUMNS " FROM domains WHERE id = ? AND "
                                     "organization_id = ?", "ss", domain_id, org_id),
                         "domain", domain_id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *domain_id)
{
    const char *org_id = req->segments[1];
    int changes = 0;
    if (dir_db_run(req->dir->db, &changes, "DELETE FROM domains WHERE id = ? AND "
                                           "organization_id = ?", "ss", domain_id, org_id)
        != DIR_DB_OK)
        return dir_api_db_error();
    if (changes == 0)
        return dir_orgs_exists(req->dir, org_id) ? dir_api_not_found("domain", domain_id)
                                                 : dir_api_not_found("organization", org_id);
    return dir_api_no_content();
}

zframe_t *dir_domains_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.get = s_show, .del = s_delete};
    if (req->n_segments == 4)
        return dir_api_dispatch(req, &item, req->segments[3]);
    return dir_api_dispatch(req, &collection, req->segments[1]);
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    char org[64] = "", org2[64] = "", path[160], path2[160];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"B\"}", "id", org2, sizeof org2) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", org);
    snprintf(path2, sizeof path2, "/api/v1/organizations/%s/domains", org2);

    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"  Example.COM \"}", &body)
              == 201);
    char dom[64] = "";
    snprintf(dom, sizeof dom, "%s", dir_testkit_str(body, "id"));
    SSO_CHECK(!strncmp(dom, "dom_", 4) && !strcmp(dir_testkit_str(body, "domain"), "example.com")
              && !strcmp(dir_testkit_str(body, "organization_id"), org));
    json_decref(body);

    /* Refusals: syntax, public domains, already owned (here or elsewhere, any case). */
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM domains", NULL);
    const char *bad[] = {"{\"domain\":\"gmail.com\"}", "{\"domain\":\"Outlook.com\"}",
                         "{\"domain\":\"nodot\"}", "{\"domain\":\"*.example.net\"}",
                         "{\"domain\":\"a@example.net\"}", "{\"domain\":5}", "{}",
                         "{\"domain\":\".example.com\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SSO_CHECK(dir_testkit_call(kit, "POST", path, bad[i], &body) == 400);
        SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "invalid_request"));
        json_decref(body);
    }
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"gmail.com\"}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "public"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", path2, "{\"domain\":\"EXAMPLE.com\"}", &body) == 409);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "conflict"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"example.com\"}", NULL) == 409);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_none/domains",
                               "{\"domain\":\"fresh.example\"}", NULL) == 404);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM domains", NULL) == before);

    /* A subdomain is a different domain. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path2, "{\"domain\":\"a.example.com\"}", NULL) == 201);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_none/domains", NULL, NULL)
              == 404);

    /* Deleting: only through its own organization. */
    char one[256];
    snprintf(one, sizeof one, "%s/%s", path2, dom);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", one, NULL, NULL) == 404);
    snprintf(one, sizeof one, "%s/%s", path, dom);
    SSO_CHECK(dir_testkit_call(kit, "GET", one, NULL, NULL) == 200);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", one, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", one, NULL, NULL) == 404);
    /* Now free for the other organization. */
    SSO_CHECK(dir_testkit_call(kit, "POST", path2, "{\"domain\":\"example.com\"}", NULL) == 201);

    /* Deleting an organization deletes its domains. */
    char org_path[160];
    snprintf(org_path, sizeof org_path, "/api/v1/organizations/%s", org2);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", org_path, NULL, NULL) == 204);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM domains", NULL) == 0);
}

void dir_domains_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
