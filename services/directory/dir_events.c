/* dir_events: recording and listing login events. */
#include "dir_events.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_test.h"

#define DIR_EVENT_TEXT_MAX 1024

static const char *s_clip(const char *text)
{
    return text && strlen(text) <= DIR_EVENT_TEXT_MAX ? text : text ? "(too long)" : NULL;
}

int dir_events_add(dir_t *dir, const dir_event_t *event, char **id_out)
{
    char *id = sso_random_id("evt_", 10);
    if (!id)
        return -1;
    int rc = dir_db_run(dir->db, NULL,
                        "INSERT INTO login_events (id, created_at, organization_id, "
                        "connection_id, client_id, outcome, reason, subject, email, request_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sissssssss", id, dir_now(), s_clip(event->organization_id),
                        s_clip(event->connection_id), s_clip(event->client_id),
                        event->success ? "success" : "failure",
                        event->reason ? s_clip(event->reason) : "", s_clip(event->subject),
                        s_clip(event->email), s_clip(event->request_id));
    if (rc != DIR_DB_OK || !id_out)
        free(id);
    else
        *id_out = id;
    return rc == DIR_DB_OK ? 0 : -1;
}

static json_t *s_text(sqlite3_stmt *stmt, int column)
{
    return sqlite3_column_type(stmt, column) == SQLITE_NULL ? json_null()
                                                           : json_string(dir_db_text(stmt, column));
}

static json_t *s_row_json(dir_t *dir, sqlite3_stmt *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o}", "id", dir_db_text(stmt, 0),
                     "created_at", dir_json_time(sqlite3_column_int64(stmt, 1)),
                     "organization_id", s_text(stmt, 2), "connection_id", s_text(stmt, 3),
                     "client_id", s_text(stmt, 4), "outcome", dir_db_text(stmt, 5), "reason",
                     dir_db_text(stmt, 6), "subject", s_text(stmt, 7), "email", s_text(stmt, 8));
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    const char *org = zhashx_lookup(req->query, "organization_id");
    const char *conn = zhashx_lookup(req->query, "connection_id");
    /* Empty filters mean "any"; newest first, so the page token is an upper bound. */
    return dir_api_list(
        req, NULL, s_row_json,
        "SELECT id, created_at, organization_id, connection_id, client_id, outcome, reason, "
        "subject, email, seq FROM login_events WHERE (?1 = '' OR organization_id = ?1) AND "
        "(?2 = '' OR connection_id = ?2) AND (?3 < 0 OR seq < ?3) ORDER BY seq DESC LIMIT ?4",
        "ss", org ? org : "", conn ? conn : "");
}

zframe_t *dir_events_http(dir_api_req_t *req)
{
    static const dir_api_methods_t methods = {.get = s_list};
    return dir_api_dispatch(req, &methods, NULL);
}

static void s_test(dir_testkit_t *kit)
{
    for (int i = 0; i < 5; i++) {
        char reason[64];
        snprintf(reason, sizeof reason, "reason %d", i);
        dir_event_t event = {.organization_id = i < 3 ? "org_a" : "org_b",
                             .connection_id = i % 2 ? "conn_1" : "conn_2",
                             .success = i == 4,
                             .reason = reason,
                             .subject = "u1",
                             .email = "u1@example.com"};
        char *id = NULL;
        SSO_CHECK(dir_events_add(kit->dir, &event, &id) == 0 && id && !strncmp(id, "evt_", 4));
        free(id);
    }
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events", NULL, &body) == 200);
    json_t *data = json_object_get(body, "data");
    SSO_CHECK(json_array_size(data) == 5);
    /* Newest first. */
    SSO_CHECK(!strcmp(dir_testkit_str(json_array_get(data, 0), "reason"), "reason 4")
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "outcome"), "success")
              && !strcmp(dir_testkit_str(json_array_get(data, 4), "outcome"), "failure")
              && !strcmp(dir_testkit_str(json_array_get(data, 0), "email"), "u1@example.com")
              && strlen(dir_testkit_str(json_array_get(data, 0), "created_at")) == 20);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events?organization_id=org_a", NULL, &body)
              == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 3);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET",
                               "/api/v1/events?organization_id=org_a&connection_id=conn_1", NULL,
                               &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    json_decref(body);
    /* Pages of two: 2 + 2 + 1, no overlap. */
    const char *start = "/api/v1/events?page_size=2";
    char target[256], previous[64] = "";
    snprintf(target, sizeof target, "%s", start);
    int seen = 0, pages = 0;
    bool more = true;
    while (more && pages <= 4) {
        SSO_CHECK(dir_testkit_call(kit, "GET", target, NULL, &body) == 200);
        json_t *items = json_object_get(body, "data");
        seen += (int) json_array_size(items);
        pages++;
        const char *first = dir_testkit_str(json_array_get(items, 0), "id");
        SSO_CHECK(strcmp(first, previous) != 0);
        snprintf(previous, sizeof previous, "%s", first);
        more = dir_testkit_next_page(body, start, target, sizeof target);
        json_decref(body);
    }
    SSO_CHECK(seen == 5 && pages == 3);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/events", "{}", NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events?page_size=x", NULL, NULL) == 400);
}

void dir_events_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
