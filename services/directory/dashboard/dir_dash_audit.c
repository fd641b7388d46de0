/* dir_dash_audit: the audit log's rows and its listing. */
#include "dashboard/dir_dash_audit.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

int dir_dash_audit_write(dir_t *dir, const char *actor_type, const char *actor,
                         const char *action, const char *target, int status,
                         const char *remote_addr)
{
    char *id = sso_random_id("aud_", 10);
    int rc = id && dir_db_run(dir->db, NULL, "INSERT INTO audit_log (id, created_at, "
                                             "actor_type, actor, action, target, status, "
                                             "remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                              "sissssis", id, dir_now(), actor_type, actor, action,
                              target && *target ? target : NULL, (int64_t) status,
                              remote_addr ? remote_addr : "") == DIR_DB_OK
                 ? 0
                 : -1;
    if (rc != 0)
        sso_error("audit: could not record %s by %s %s (%d)", action, actor_type, actor, status);
    free(id);
    return rc;
}

/* The last id-like segment of path (a segment with a '_' after its type prefix, not a
   collection's name such as portal_links): ids are the odd segments after /api/v1/. */
static void s_path_target(const char *api_path, char *out, size_t size)
{
    *out = '\0';
    size_t index = 0;
    for (const char *p = api_path; *p; index++) {
        size_t len = strcspn(p, "/");
        if (index % 2 == 1 && len < size)
            snprintf(out, size, "%.*s", (int) len, p);
        p += len + (p[len] == '/');
    }
}

void dir_dash_audit_change(dir_t *dir, const Sso__HttpRequest *request, const char *actor_type,
                           const char *actor, zframe_t *reply)
{
    const char *method = request->method ? request->method : "";
    if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
        return;
    Sso__HttpResponse *response =
        reply ? sso__http_response__unpack(NULL, zframe_size(reply), zframe_data(reply)) : NULL;
    int status = response ? (int) response->status : 500;
    char target[DIR_API_ID_MAX + 1] = "", path[DIR_AUDIT_ACTION_MAX - 20];
    char action[DIR_AUDIT_ACTION_MAX];
    json_t *body = response && status / 100 == 2 && response->body.len
                       ? json_loadb((const char *) response->body.data, response->body.len, 0,
                                    NULL)
                       : NULL;
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *api = strstr(request->path ? request->path : "", "/api/v1/");
    if (id && strlen(id) <= DIR_API_ID_MAX)
        snprintf(target, sizeof target, "%s", id);
    else if (api)
        s_path_target(api + strlen("/api/v1/"), target, sizeof target);
    json_decref(body);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    sso_http_masked_path(request->path, path, sizeof path);
    snprintf(action, sizeof action, "%.16s %s", method, path);
    dir_dash_audit_write(dir, actor_type, actor, action, target, status, request->remote_addr);
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    json_t *row = json_pack("{s:s, s:o, s:s, s:s, s:s, s:i, s:s}", "id", dir_db_text(stmt, 0),
                            "created_at", dir_json_time(dir_db_int64(stmt, 1)), "actor_type",
                            dir_db_text(stmt, 2), "actor", dir_db_text(stmt, 3), "action",
                            dir_db_text(stmt, 4), "status", (int) dir_db_int64(stmt, 6),
                            "remote_addr", dir_db_text(stmt, 7));
    json_object_set_new(row, "target", dir_db_is_null(stmt, 5) ? json_null()
                                                               : json_string(dir_db_text(stmt, 5)));
    return row;
}

static zframe_t *s_list(dir_api_req_t *req, const char *id)
{
    (void) id;
    dir_error_t err = {0};
    int64_t since = 0, until = 0;
    if (dir_api_query_time(req, "since", &since, &err) != 0
        || dir_api_query_time(req, "until", &until, &err) != 0)
        return dir_error_reply(&err);
    const char *actor = zhashx_lookup(req->query, "actor");
    const char *action = zhashx_lookup(req->query, "action");
    /* Newest first, so the page token is an upper bound. */
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT id, created_at, actor_type, actor, action, target, status, "
                        "remote_addr, seq FROM audit_log WHERE (?1 = '' OR actor = ?1) AND "
                        "(?2 = '' OR substr(action, 1, length(?2)) = ?2) AND created_at >= ?3 "
                        "AND (?4 = 0 OR created_at < ?4) AND (?5 < 0 OR seq < ?5) "
                        "ORDER BY seq DESC LIMIT ?6",
                        "ssii", actor ? actor : "", action ? action : "", since, until);
}

zframe_t *dir_dash_audit_http(dir_api_req_t *req)
{
    static const dir_api_methods_t methods = {.get = s_list};
    return dir_api_dispatch(req, &methods, NULL);
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    /* Changes through the API are written with the client, the status and the target;
       reads are not. */
    char org[64] = "";
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations", "{\"display_name\":\"A\"}",
                                "id", org, sizeof org) == 201);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, NULL) == 200);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{}", NULL) == 400);
    char path[400];
    snprintf(path, sizeof path, "/api/v1/organizations/%s", org);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    json_t *json = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit", NULL, &json) == 200);
    json_t *data = json_object_get(json, "data");
    SSO_CHECK(json_array_size(data) == 3);
    json_t *deleted = json_array_get(data, 0), *refused = json_array_get(data, 1),
           *created = json_array_get(data, 2);
    SSO_CHECK(!strcmp(dir_testkit_str(created, "actor"), kit->admin_id)
              && !strcmp(dir_testkit_str(created, "actor_type"), "client")
              && !strcmp(dir_testkit_str(created, "action"), "POST /api/v1/organizations")
              && !strcmp(dir_testkit_str(created, "target"), org)
              && json_integer_value(json_object_get(created, "status")) == 201);
    SSO_CHECK(json_integer_value(json_object_get(refused, "status")) == 400
              && json_is_null(json_object_get(refused, "target")));
    SSO_CHECK(!strcmp(dir_testkit_str(deleted, "target"), org)
              && !strncmp(dir_testkit_str(deleted, "action"), "DELETE /api/v1/organizations/",
                          29));
    json_decref(json);
    /* Filters: by actor, by action prefix, by time; malformed times refused. */
    snprintf(path, sizeof path, "/api/v1/audit?actor=%s&action=DELETE", kit->admin_id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &json) == 200
              && json_array_size(json_object_get(json, "data")) == 1);
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit?actor=nobody", NULL, &json) == 200
              && json_array_size(json_object_get(json, "data")) == 0);
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit?since=4102444800", NULL, &json) == 200
              && json_array_size(json_object_get(json, "data")) == 0);
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit?until=x", NULL, NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit?since=-1", NULL, NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/audit", "{}", NULL) == 405);
    /* A secret-looking segment is masked in the action. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/Secret+Token/x", "{}", NULL)
              == 404);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'POST /api/v1/organizations/~/x' AND status = 404",
                         NULL) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action LIKE "
                                       "'%Secret%'", NULL) == 0);
}

void dir_dash_audit_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
