/* dir_api: what the resources of /api/v1 share: dispatch by method, rows, pages, answers. */
#include "api/dir_api.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"
#include <limits.h>
#include <stdarg.h>

bool dir_api_is(const dir_api_req_t *req, const char *method)
{
    return strcmp(req->method, method) == 0;
}

json_t *dir_api_body(const dir_api_req_t *req, dir_error_t *err)
{
    const char *why = NULL;
    json_t *json = sso_http_json_body(req->http, &why);
    if (!json)
        dir_bad_request(err, "%s", why ? why : "the body must be a JSON object");
    return json;
}

zframe_t *dir_api_method_not_allowed(const char *allow)
{
    sso_response_t *response = sso_response_new(405);
    sso_response_header(response, "Allow", allow);
    sso_response_header(response, "Cache-Control", "no-store");
    char text[160];
    snprintf(text, sizeof text, "this resource accepts %s", allow);
    sso_response_json(response, json_pack("{s:s, s:s}", "error", "method_not_allowed",
                                          "error_description", text));
    return sso_response_pack(&response);
}

zframe_t *dir_api_no_content(void)
{
    sso_response_t *response = sso_response_new(204);
    sso_response_header(response, "Cache-Control", "no-store");
    return sso_response_pack(&response);
}

zframe_t *dir_api_not_found(const char *what, const char *id)
{
    dir_error_t err;
    dir_not_found(&err, "no %s %.*s", what, DIR_API_ID_MAX, id);
    return dir_error_reply(&err);
}

zframe_t *dir_api_db_error(void)
{
    return sso_http_error(500, "server_error", "database error");
}

int dir_api_query_time(const dir_api_req_t *req, const char *name, int64_t *out,
                       dir_error_t *err)
{
    const char *text = zhashx_lookup(req->query, name);
    long value = 0;
    if (text && sso_parse_int(text, 0, LONG_MAX, &value) != 0) {
        dir_bad_request(err, "%s must be a time in Unix seconds", name);
        return -1;
    }
    *out = value;
    return 0;
}

int dir_api_overlap(const dir_api_req_t *req, int64_t fallback, int64_t max, const char *what,
                    const char *max_text, int64_t *overlap, dir_error_t *err)
{
    *overlap = fallback;
    if (req->http->body.len == 0)
        return 0;
    json_t *body = dir_api_body(req, err);
    if (!body)
        return -1;
    json_t *value = json_object_get(body, "overlap_seconds");
    int rc = 0;
    if (value) {
        json_int_t seconds = json_is_integer(value) ? json_integer_value(value) : -1;
        if (seconds < 0 || seconds > max) {
            dir_bad_request(err, "overlap_seconds must be a whole number of seconds from 0 (the "
                                 "previous %s stops at once) to %lld (%s)", what,
                            (long long) max, max_text);
            rc = -1;
        }
        else
            *overlap = seconds;
    }
    json_decref(body);
    return rc;
}

zframe_t *dir_api_dispatch(dir_api_req_t *req, const dir_api_methods_t *methods, const char *id)
{
    /* In the order Allow lists them. */
    const struct {
        const char *name;
        dir_api_handler_fn *handler;
    } table[] = {{"GET", methods->get},
                 {"POST", methods->post},
                 {"PATCH", methods->patch},
                 {"DELETE", methods->del}};
    char allow[40] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!table[i].handler)
            continue;
        if (dir_api_is(req, table[i].name))
            return table[i].handler(req, id);
        int n = snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", table[i].name);
        if (n > 0 && (size_t) n < sizeof allow - len)
            len += (size_t) n;
    }
    return dir_api_method_not_allowed(allow);
}

json_t *dir_api_row(dir_t *dir, dir_api_row_fn *row, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = dir_db_vquery(dir->db, sql, types, args);
    va_end(args);
    json_t *json = stmt && dir_db_step(stmt) == DIR_DB_ROW ? row(dir, stmt) : NULL;
    dir_db_release(stmt);
    return json;
}

json_t *dir_api_column(dir_t *dir, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = dir_db_vquery(dir->db, sql, types, args);
    va_end(args);
    json_t *list = json_array();
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        json_array_append_new(list, json_string(dir_db_text(stmt, 0)));
    dir_db_release(stmt);
    return list;
}

zframe_t *dir_api_found(json_t *json, const char *what, const char *id)
{
    return json ? sso_http_json(200, json) : dir_api_not_found(what, id);
}

zframe_t *dir_api_delete(dir_t *dir, const char *sql, const char *what, const char *id,
                         const char *aftermath)
{
    int changes = 0;
    if (dir_db_run(dir->db, &changes, sql, "s", id) != DIR_DB_OK)
        return dir_api_db_error();
    if (changes == 0)
        return dir_api_not_found(what, id);
    sso_info("%s %s deleted%s", what, id, aftermath);
    return dir_api_no_content();
}

zframe_t *dir_api_list(dir_api_req_t *req, dir_api_check_fn *check, const char *id,
                       dir_api_row_fn *row, const char *sql, const char *types, ...)
{
    dir_error_t err = {0};
    long size;
    int64_t after;
    if (dir_page_params(req->query, &size, &after, &err) != 0)
        return dir_error_reply(&err);
    zframe_t *refused = check ? check(req->dir, id) : NULL;
    if (refused)
        return refused;
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = dir_db_vquery(req->dir->db, sql, types, args);
    va_end(args);
    /* One row beyond the page says there is a next page. */
    int last_param = stmt ? dir_db_param_count(stmt) : 0;
    if (last_param < 2 || dir_db_bind_int64(stmt, last_param - 1, after) != 0
        || dir_db_bind_int64(stmt, last_param, (int64_t) size + 1) != 0) {
        dir_db_release(stmt);
        return dir_api_db_error();
    }
    int position = dir_db_column_count(stmt) - 1;
    json_t *data = json_array();
    int64_t next = -1, last = -1;
    while (dir_db_step(stmt) == DIR_DB_ROW) {
        if ((long) json_array_size(data) == size) {
            next = last;
            break;
        }
        json_array_append_new(data, row(req->dir, stmt));
        last = dir_db_int64(stmt, position);
    }
    dir_db_release(stmt);
    return sso_http_json(200, dir_page_envelope(data, next));
}

/* What the helpers answer, through a resource that uses them: 405 with Allow
   (dir_api_dispatch), and 400 for a body that is not a JSON object (dir_api_body). */
static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "PUT", "/api/v1/organizations", "{}", &body) == 405);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "method_not_allowed"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations?a=%zz", NULL, NULL) == 400);
    /* Malformed JSON bodies. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{", &body) == 400);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "invalid_request"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "[]", NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", NULL, NULL) == 400);
    /* A list under an organization reads its page first (400), then finds the organization
       (404), then lists. */
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_nope/domains?page_size=x",
                               NULL, NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/org_nope/connections", NULL,
                               &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "no organization org_nope"));
    json_decref(body);
    /* The logs' time filters (dir_api_query_time): the same refusals in each. */
    const char *const logs[] = {"audit", "events"};
    const char *const times[] = {"since=", "since=-1", "since=abc", "since=1e9", "since=+1",
                                 "until=99999999999999999999", "until=0x10", "until=1%20"};
    for (size_t l = 0; l < sizeof logs / sizeof logs[0]; l++)
        for (size_t t = 0; t < sizeof times / sizeof times[0]; t++) {
            char target[128], want[64];
            snprintf(target, sizeof target, "/api/v1/%s?%s", logs[l], times[t]);
            snprintf(want, sizeof want, "%.5s must be a time in Unix seconds", times[t]);
            SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "GET", target, NULL, &body),
                                          &body, want));
        }
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/audit?since=0&until=9223372036854775807",
                               NULL, NULL) == 200);
}

void dir_api_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
