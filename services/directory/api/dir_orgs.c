/* dir_orgs: organization CRUD with keyset pagination. */
#include "api/dir_orgs.h"
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

zframe_t *dir_orgs_check(dir_t *dir, const char *id)
{
    return dir_orgs_exists(dir, id) ? NULL : dir_api_not_found("organization", id);
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    json_t *external = dir_db_is_null(stmt, 2)
                           ? json_null()
                           : json_string(dir_db_text(stmt, 2));
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", dir_db_text(stmt, 0), "display_name",
                     dir_db_text(stmt, 1), "external_id", external, "created_at",
                     dir_json_time(dir_db_int64(stmt, 3)), "updated_at",
                     dir_json_time(dir_db_int64(stmt, 4)));
}

static json_t *s_get(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " S_COLUMNS " FROM organizations WHERE id = ?",
                       "s", id);
}

/* A create or patch body and what it says; name and external are lent by body. */
typedef struct {
    json_t *body;
    const char *name;
    const char *external;
    bool clear_external; /* external_id is null: PATCH removes it */
} s_input_t;

/* Reads the body into in (release in->body); 0, or -1 with err. */
static int s_read(dir_api_req_t *req, bool create, s_input_t *in, dir_error_t *err)
{
    in->body = dir_api_body(req, err);
    if (!in->body)
        return -1;
    in->clear_external = json_is_null(json_object_get(in->body, "external_id"));
    if (dir_json_string(in->body, "display_name", "display_name",
                        (create ? DIR_REQUIRED : 0) | DIR_NONEMPTY, DIR_ORG_NAME_MAX, &in->name,
                        err) < 0
        || dir_json_string(in->body, "external_id", "external_id", DIR_NULLABLE | DIR_NONEMPTY,
                           DIR_EXTERNAL_ID_MAX, &in->external, err) < 0) {
        json_decref(in->body);
        in->body = NULL;
        return -1;
    }
    return 0;
}

static zframe_t *s_create(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    s_input_t in = {0};
    if (s_read(req, true, &in, &err) != 0)
        return dir_error_reply(&err);
    char *id = sso_random_id("org_", 10);
    int64_t now = dir_now();
    int rc = id ? dir_db_run(req->dir->db, NULL, "INSERT INTO organizations (id, display_name, "
                                                 "external_id, created_at, updated_at) VALUES "
                                                 "(?, ?, ?, ?, ?)",
                             "sssii", id, in.name, in.external, now, now)
                : DIR_DB_ERROR;
    zframe_t *reply;
    if (rc == DIR_DB_CONFLICT)
        reply = sso_http_error(409, "conflict", "another organization has this external_id");
    else if (rc != DIR_DB_OK)
        reply = dir_api_db_error();
    else {
        json_t *json = s_get(req->dir, id);
        reply = json ? sso_http_json(201, json) : dir_api_db_error();
        sso_info("organization %s created", id);
    }
    free(id);
    json_decref(in.body);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT " S_COLUMNS " FROM organizations WHERE seq > ? ORDER BY seq LIMIT ?",
                        NULL);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_get(req->dir, id), "organization", id);
}

static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    s_input_t in = {0};
    if (s_read(req, false, &in, &err) != 0)
        return dir_error_reply(&err);
    int changes = 0;
    int rc = dir_db_run(req->dir->db, &changes,
                        "UPDATE organizations SET display_name = coalesce(?1, display_name), "
                        "external_id = CASE WHEN ?2 THEN NULL ELSE coalesce(?3, external_id) END, "
                        "updated_at = ?4 WHERE id = ?5",
                        "sisis", in.name, (int64_t) in.clear_external, in.external, dir_now(), id);
    json_decref(in.body);
    if (rc == DIR_DB_CONFLICT)
        return sso_http_error(409, "conflict", "another organization has this external_id");
    if (rc != DIR_DB_OK)
        return dir_api_db_error();
    if (changes == 0)
        return dir_api_not_found("organization", id);
    return s_show(req, id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    return dir_api_delete(req->dir, "DELETE FROM organizations WHERE id = ?", "organization", id,
                          " with its domains and connections");
}

zframe_t *dir_orgs_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.get = s_show, .patch = s_patch, .del = s_delete};
    if (req->n_segments == 1)
        return dir_api_dispatch(req, &collection, NULL);
    return dir_api_dispatch(req, &item, req->segments[1]);
}

static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
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
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "display_name"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{\"display_name\":1}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"\"}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":7}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"B\",\"external_id\":\"acme-1\"}", &body)
              == 409);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "conflict"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL) == before);

    char path[128];
    snprintf(path, sizeof path, "/api/v1/organizations/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "id"), id));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"display_name\":\"Acme Corp\"}", &body)
              == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "display_name"), "Acme Corp")
              && !strcmp(dir_testkit_str(body, "external_id"), "acme-1"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"external_id\":null}", &body) == 200);
    SSO_CHECK(json_is_null(json_object_get(body, "external_id")));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"display_name\":[]}", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_none", NULL, &body) == 404);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "not_found"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/organizations/org_none",
                               "{\"display_name\":\"x\"}", NULL) == 404);

    /* Pagination: 5 organizations in pages of 2, each seen once, in order. */
    for (int i = 0; i < 4; i++) {
        char create[64];
        snprintf(create, sizeof create, "{\"display_name\":\"Org %d\"}", i);
        SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", create, NULL) == 201);
    }
    const char *start = "/api/v1/organizations?page_size=2";
    char target[256];
    snprintf(target, sizeof target, "%s", start);
    int pages = 0, seen = 0;
    bool more = true;
    while (more && pages <= 5) {
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
        seen += (int) json_array_size(json_object_get(body, "data"));
        pages++;
        more = dir_testkit_next_page(body, start, target, sizeof target);
        json_decref(body);
    }
    SSO_CHECK(pages == 3 && seen == 5);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_size=0", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_size=201", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?page_token=zzz", NULL, NULL)
              == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 5
              && !*dir_testkit_str(body, "next_page_token"));
    json_decref(body);

    /* Data survives a restart. */
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    char name[64];
    SSO_CHECK(dir_testkit_field(kit, "GET", path, NULL, "display_name", name, sizeof name) == 200);
    SSO_CHECK(!strcmp(name, "Acme Corp"));

    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 404);
}

void dir_orgs_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
