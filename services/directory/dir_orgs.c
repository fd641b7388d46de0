/* dir_orgs: organization CRUD with keyset pagination. */
#include "dir_orgs.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

#define DIR_ORG_NAME_MAX 200
#define DIR_EXTERNAL_ID_MAX 200
#define S_COLUMNS "id, display_name, external_id, created_at, updated_at, seq"

bool dir_orgs_exists(dir_t *dir, const char *id)
{
    return dir_db_int(dir->db, "SELECT count(*) FROM organizations WHERE id = ?", "s", id) == 1;
}

static json_t *s_row_json(sqlite3_stmt *stmt)
{
    json_t *external = sqlite3_column_type(stmt, 2) == SQLITE_NULL
                           ? json_null()
                           : json_string(dir_db_text(stmt, 2));
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", dir_db_text(stmt, 0), "display_name",
                     dir_db_text(stmt, 1), "external_id", external, "created_at",
                     dir_json_time(sqlite3_column_int64(stmt, 3)), "updated_at",
                     dir_json_time(sqlite3_column_int64(stmt, 4)));
}

static json_t *s_get(dir_t *dir, const char *id)
{
    sqlite3_stmt *stmt = dir_db_query(dir->db, "SELECT " S_COLUMNS " FROM organizations "
                                               "WHERE id = ?", "s", id);
    json_t *json = stmt && sqlite3_step(stmt) == SQLITE_ROW ? s_row_json(stmt) : NULL;
    sqlite3_finalize(stmt);
    return json;
}

/* Reads display_name and external_id. external_id: *clear_external is set when it is null
   (PATCH removes it). */
static int s_read(json_t *body, bool create, const char **name, const char **external,
                  bool *clear_external, dir_error_t *err)
{
    *clear_external = json_is_null(json_object_get(body, "external_id"));
    if (dir_json_string(body, "display_name", "display_name",
                        (create ? DIR_REQUIRED : 0) | DIR_NONEMPTY, DIR_ORG_NAME_MAX, name, err)
            < 0
        || dir_json_string(body, "external_id", "external_id", DIR_NULLABLE | DIR_NONEMPTY,
                           DIR_EXTERNAL_ID_MAX, external, err) < 0)
        return -1;
    return 0;
}

static zframe_t *s_create(dir_api_req_t *req)
{
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err);
    const char *name = NULL, *external = NULL;
    bool clear = false;
    if (!body || s_read(body, true, &name, &external, &clear, &err) != 0) {
        json_decref(body);
        return dir_error_reply(&err);
    }
    char *id = sso_random_id("org_", 10);
    int64_t now = dir_now();
    int rc = id ? dir_db_run(req->dir->db, NULL, "INSERT INTO organizations (id, display_name, "
                                                 "external_id, created_at, updated_at) VALUES "
                                                 "(?, ?, ?, ?, ?)",
                             "sssii", id, name, external, now, now)
                : DIR_DB_ERROR;
    zframe_t *reply;
    if (rc == DIR_DB_CONFLICT)
        reply = sso_http_error(409, "conflict", "another organization has this external_id");
    else if (rc != DIR_DB_OK)
        reply = sso_http_error(500, "server_error", "database error");
    else {
        json_t *json = s_get(req->dir, id);
        reply = json ? sso_http_json(201, json)
                     : sso_http_error(500, "server_error", "database error");
        sso_info("organization %s created", id);
    }
    free(id);
    json_decref(body);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req)
{
    dir_error_t err = {0};
    long size;
    int64_t after;
    if (dir_page_params(req->query, &size, &after, &err) != 0)
        return dir_error_reply(&err);
    sqlite3_stmt *stmt = dir_db_query(req->dir->db, "SELECT " S_COLUMNS " FROM organizations "
                                                    "WHERE seq > ? ORDER BY seq LIMIT ?",
                                      "ii", after, (int64_t) size + 1);
    if (!stmt)
        return sso_http_error(500, "server_error", "database error");
    json_t *data = json_array();
    int64_t next = -1, last = -1;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        /* One row beyond the page says there is a next page. */
        if ((long) json_array_size(data) == size) {
            next = last;
            break;
        }
        json_array_append_new(data, s_row_json(stmt));
        last = sqlite3_column_int64(stmt, 5);
    }
    sqlite3_finalize(stmt);
    return sso_http_json(200, dir_page_envelope(data, next));
}

static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err);
    const char *name = NULL, *external = NULL;
    bool clear = false;
    if (!body || s_read(body, false, &name, &external, &clear, &err) != 0) {
        json_decref(body);
        return dir_error_reply(&err);
    }
    int changes = 0;
    int rc = dir_db_run(req->dir->db, &changes,
                        "UPDATE organizations SET display_name = coalesce(?1, display_name), "
                        "external_id = CASE WHEN ?2 THEN NULL ELSE coalesce(?3, external_id) END, "
                        "updated_at = ?4 WHERE id = ?5",
                        "sisis", name, (int64_t) clear, external, dir_now(), id);
    json_decref(body);
    if (rc == DIR_DB_CONFLICT)
        return sso_http_error(409, "conflict", "another organization has this external_id");
    if (rc != DIR_DB_OK)
        return sso_http_error(500, "server_error", "database error");
    if (changes == 0)
        return dir_api_not_found("organization", id);
    json_t *json = s_get(req->dir, id);
    return json ? sso_http_json(200, json) : dir_api_not_found("organization", id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    int changes = 0;
    if (dir_db_run(req->dir->db, &changes, "DELETE FROM organizations WHERE id = ?", "s", id)
        != DIR_DB_OK)
        return sso_http_error(500, "server_error", "database error");
    if (changes == 0)
        return dir_api_not_found("organization", id);
    sso_info("organization %s deleted with its domains and connections", id);
    return dir_api_no_content();
}

zframe_t *dir_orgs_http(dir_api_req_t *req)
{
    if (req->n_segments == 1) {
        if (dir_api_is(req, "GET"))
            return s_list(req);
        if (dir_api_is(req, "POST"))
            return s_create(req);
        return dir_api_method_not_allowed("GET, POST");
    }
    const char *id = req->segments[1];
    if (dir_api_is(req, "GET")) {
        json_t *json = s_get(req->dir, id);
        return json ? sso_http_json(200, json) : dir_api_not_found("organization", id);
    }
    if (dir_api_is(req, "PATCH"))
        return s_patch(req, id);
    if (dir_api_is(req, "DELETE"))
        return s_delete(req, id);
    return dir_api_method_not_allowed("GET, PATCH, DELETE");
}

void dir_orgs_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    if (dir_testkit_open(&kit) != 0) {
        SSO_CHECK(!"testkit");
        return;
    }
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"Acme\",\"external_id\":\"acme-1\",\"x\":[]}",
                               &body) == 201);
    char id[64] = "";
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    SSO_CHECK(!strncmp(id, "org_", 4) && !strcmp(dir_testkit_str(body, "display_name"), "Acme"));
    SSO_CHECK(!strcmp(dir_testkit_str(body, "external_id"), "acme-1"));
    const char *created = dir_testkit_str(body, "created_at");
    SSO_CHECK(strlen(created) == 20 && created[10] == 'T' && created[19] == 'Z');
    json_decref(body);

    /* Refused input leaves the table as it was. */
    int64_t before = dir_db_int(kit.dir->db, "SELECT count(*) FROM organizations", NULL);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations", "{}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "display_name"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations", "{\"display_name\":1}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations", "{\"display_name\":\"\"}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":7}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":\"acme-1\"}", &body)
              == 409);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "conflict"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit.dir->db, "SELECT count(*) FROM organizations", NULL) == before);

    char path[128];
    snprintf(path, sizeof path, "/api/v1/organizations/%s", id);
    SSO_CHECK(dir_testkit_call(&kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "id"), id));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(&kit, "PATCH", path, "{\"display_name\":\"Acme Corp\"}", &body)
              == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "display_name"), "Acme Corp")
              && !strcmp(dir_testkit_str(body, "external_id"), "acme-1"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(&kit, "PATCH", path, "{\"external_id\":null}", &body) == 200);
    SSO_CHECK(json_is_null(json_object_get(body, "external_id")));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(&kit, "PATCH", path, "{\"display_name\":[]}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations/org_none", NULL, &body) == 404);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "not_found"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(&kit, "PATCH", "/api/v1/organizations/org_none",
                               "{\"display_name\":\"x\"}", NULL) == 404);

    /* Pagination: 5 organizations in pages of 2, each seen once, in order. */
    for (int i = 0; i < 4; i++) {
        char create[64];
        snprintf(create, sizeof create, "{\"display_name\":\"Org %d\"}", i);
        SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/organizations", create, NULL) == 201);
    }
    char target[256] = "/api/v1/organizations?page_size=2";
    int pages = 0, seen = 0;
    for (;;) {
        SSO_CHECK(dir_testkit_call(&kit, "GET", target, NULL, &body) == 200);
        seen += (int) json_array_size(json_object_get(body, "data"));
        pages++;
        const char *token = dir_testkit_str(body, "next_page_token");
        if (!*token || pages > 5) {
            json_decref(body);
            break;
        }
        snprintf(target, sizeof target, "/api/v1/organizations?page_size=2&page_token=%s", token);
        json_decref(body);
    }
    SSO_CHECK(pages == 3 && seen == 5);
    SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations?page_size=0", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations?page_size=201", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations?page_token=zzz", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 5
              && !*dir_testkit_str(body, "next_page_token"));
    json_decref(body);

    /* Data survives a restart. */
    SSO_CHECK(dir_testkit_reopen(&kit) == 0);
    SSO_CHECK(dir_testkit_call(&kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "display_name"), "Acme Corp"));
    json_decref(body);

    SSO_CHECK(dir_testkit_call(&kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(&kit, "GET", path, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(&kit, "DELETE", path, NULL, NULL) == 404);
    dir_testkit_close(&kit);
}
