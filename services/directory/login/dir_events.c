/* dir_events: recording and listing login events. */
#include "login/dir_events.h"
#include "dir_testkit.h"
#include "login/dir_tests.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include "webhooks/dir_webhooks.h"


static const char *s_clip(const char *text)
{
    return text && strlen(text) <= DIR_EVENT_TEXT_MAX ? text : text ? "(too long)" : NULL;
}

/* reason cut to DIR_EVENT_TEXT_MAX bytes at a UTF-8 boundary, marked with "...": the reason is
   the one field worth keeping in part. */
static void s_cut(const char *text, char *out, size_t size)
{
    size_t len = strlen(text);
    if (len <= DIR_EVENT_TEXT_MAX) {
        snprintf(out, size, "%s", text);
        return;
    }
    len = DIR_EVENT_TEXT_MAX - 3;
    while (len && ((unsigned char) text[len] & 0xc0) == 0x80)
        len--;
    snprintf(out, size, "%.*s...", (int) len, text);
}

/* A field of a login's webhook: null when absent, '?' for bytes that are not UTF-8 (reasons
   quote what peers sent), which jansson would refuse and the event with them. */
static json_t *s_webhook_text(const char *text)
{
    char *copy = s_clip(text) ? strdup(s_clip(text)) : NULL;
    if (copy)
        sso_log_scrub_utf8(copy);
    json_t *json = copy ? json_string(copy) : json_null();
    free(copy);
    return json;
}

/* text as stored: clipped (s_clip), with '?' for bytes that are not UTF-8 as the events API
   and the log show them (reasons and names quote what peers sent), so that the row is text
   every engine keeps (PostgreSQL refuses such bytes). NULL stays NULL. */
static const char *s_stored(const char *text, char *out, size_t size)
{
    const char *clipped = s_clip(text);
    if (!clipped)
        return NULL;
    snprintf(out, size, "%s", clipped);
    sso_log_scrub_utf8(out);
    return out;
}

int dir_events_add(dir_t *dir, const dir_event_t *event, char **id_out)
{
    char *id = sso_random_id("evt_", 10);
    if (!id)
        return -1;
    char reason[DIR_EVENT_TEXT_MAX + 1];
    s_cut(event->reason ? event->reason : "", reason, sizeof reason);
    sso_log_scrub_utf8(reason);
    enum { ORG, CONN, CLIENT, SUBJECT, EMAIL, REQUEST, TXN, FIELDS };
    char (*buffers)[DIR_EVENT_TEXT_MAX + 1] = malloc(FIELDS * sizeof *buffers);
    if (!buffers) {
        free(id);
        return -1;
    }
    const char *const given[FIELDS] = {event->organization_id, event->connection_id,
                                       event->client_id, event->subject, event->email,
                                       event->request_id, event->txn_id};
    const char *field[FIELDS];
    for (int i = 0; i < FIELDS; i++)
        field[i] = s_stored(given[i], buffers[i], sizeof buffers[i]);
    int rc = dir_db_run(dir->db, NULL,
                        "INSERT INTO login_events (id, created_at, organization_id, "
                        "connection_id, client_id, outcome, reason, subject, email, request_id, "
                        "txn_id, test) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "sisssssssssi", id, dir_now(), field[ORG], field[CONN], field[CLIENT],
                        event->success ? "success" : "failure", reason, field[SUBJECT],
                        field[EMAIL], field[REQUEST], field[TXN], (int64_t) event->test);
    free(buffers);
    if (rc == DIR_DB_OK && !event->test && !event->maintenance) {
        json_t *data = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "event_id", id,
                                 "organization_id", s_webhook_text(event->organization_id),
                                 "connection_id", s_webhook_text(event->connection_id),
                                 "client_id", s_webhook_text(event->client_id), "subject",
                                 s_webhook_text(event->subject), "email",
                                 s_webhook_text(event->email), "reason", s_webhook_text(reason));
        if (!data
            || dir_webhooks_emit(dir, event->success ? "login.succeeded" : "login.failed",
                                 s_clip(event->organization_id), data) != 0)
            rc = DIR_DB_ERROR;
        json_decref(data);
    }
    if (rc != DIR_DB_OK || !id_out)
        free(id);
    else
        *id_out = id;
    return rc == DIR_DB_OK ? 0 : -1;
}

DIR_RPC_FN(dir_events_record, Sso__Event, Sso__EventReply)
{
    (void) out;
    const Sso__Event *e = in;
    bool success = !strcmp(e->outcome, "success");
    if (!success && strcmp(e->outcome, "failure") != 0) {
        dir_rpc_error(err, "invalid_request", "outcome must be success or failure");
        return -1;
    }
    const char *fields[] = {e->organization_id, e->connection_id, e->client_id, e->subject,
                            e->email, e->txn_id};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!dir_rpc_text(fields[i], 0, DIR_EVENT_TEXT_MAX)) {
            dir_rpc_error(err, "invalid_request", "event fields are text of at most %d bytes",
                          DIR_EVENT_TEXT_MAX);
            return -1;
        }
    if (!dir_rpc_text(e->reason, 0, 64 * 1024)) {
        dir_rpc_error(err, "invalid_request", "reason must be text without control characters");
        return -1;
    }
    dir_event_t event = {.organization_id = dir_rpc_or_null(e->organization_id),
                         .connection_id = dir_rpc_or_null(e->connection_id),
                         .client_id = dir_rpc_or_null(e->client_id),
                         .success = success,
                         .reason = e->reason,
                         .subject = dir_rpc_or_null(e->subject),
                         .email = dir_rpc_or_null(e->email),
                         .txn_id = dir_rpc_or_null(e->txn_id)};
    /* A test login that failed before its IdP was reached (its start) ends with this reason,
       which the portal's result page shows. */
    char test_id[64] = "";
    int test = *e->txn_id ? dir_tests_of_txn(dir, e->txn_id, test_id) : 0;
    event.test = test == 1;
    /* One write: the event, its webhook message and a test's result stand or fall together. */
    if (test < 0 || dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        return -1;
    }
    if (dir_events_add(dir, &event, NULL) != 0
        || (test == 1 && !success && dir_tests_finish(dir, test_id, NULL, NULL, e->reason) != 0)
        || dir_db_commit(dir->db) != 0) {
        dir_db_rollback(dir->db);
        dir_server_error(err);
        return -1;
    }
    return 0;
}

int dir_events_prune(dir_t *dir, int64_t cutoff, int limit)
{
    int changes = 0;
    /* The subquery walks the primary key from its start and stops after limit rows. */
    if (dir_db_run(dir->db, &changes,
                   "DELETE FROM login_events WHERE seq IN (SELECT seq FROM login_events ORDER BY "
                   "seq LIMIT ?) AND created_at < ?",
                   "ii", (int64_t) limit, cutoff) != DIR_DB_OK)
        return -1;
    return changes;
}

/* A column as JSON text. Reasons quote what peers sent and are cut at byte counts, so a stored
   value may not be UTF-8: shown with '?' for the bad bytes, since jansson refuses such a
   string and the whole row would drop out of the list unseen. */
static json_t *s_text(dir_db_stmt_t *stmt, int column)
{
    if (dir_db_is_null(stmt, column))
        return json_null();
    char *text = strdup(dir_db_text(stmt, column));
    sso_log_scrub_utf8(text);
    json_t *json = text ? json_string(text) : NULL;
    free(text);
    return json;
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    (void) dir;
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:b}", "id",
                     dir_db_text(stmt, 0),
                     "created_at", dir_json_time(dir_db_int64(stmt, 1)),
                     "organization_id", s_text(stmt, 2), "connection_id", s_text(stmt, 3),
                     "client_id", s_text(stmt, 4), "outcome", dir_db_text(stmt, 5), "reason",
                     s_text(stmt, 6), "subject", s_text(stmt, 7), "email", s_text(stmt, 8), "test",
                     dir_db_int64(stmt, 9) != 0);
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    const char *org = zhashx_lookup(req->query, "organization_id");
    const char *conn = zhashx_lookup(req->query, "connection_id");
    const char *outcome = zhashx_lookup(req->query, "outcome");
    dir_error_t err = {0};
    int64_t since = 0, until = 0;
    if (outcome && *outcome && strcmp(outcome, "success") != 0 && strcmp(outcome, "failure") != 0) {
        dir_bad_request(&err, "outcome must be success or failure (or empty for any)");
        return dir_error_reply(&err);
    }
    if (dir_api_query_time(req, "since", &since, &err) != 0
        || dir_api_query_time(req, "until", &until, &err) != 0)
        return dir_error_reply(&err);
    /* Empty filters, and a time of 0, mean "any"; newest first, so the page token is an upper
       bound. */
    return dir_api_list(
        req, NULL, NULL, s_row_json,
        "SELECT id, created_at, organization_id, connection_id, client_id, outcome, reason, "
        "subject, email, test, seq FROM login_events WHERE (?1 = '' OR organization_id = ?1) AND "
        "(?2 = '' OR connection_id = ?2) AND (?3 = '' OR outcome = ?3) AND created_at >= ?4 AND "
        "(?5 = 0 OR created_at < ?5) AND (?6 < 0 OR seq < ?6) ORDER BY seq DESC LIMIT ?7",
        "sssii", org ? org : "", conn ? conn : "", outcome ? outcome : "", since, until);
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

/* The reasons of every event the list at start answers, page after page, as "r7 r5 r1" into
   out; the HTTP status of the first refusal, else 200. Also checks each page is newest first
   and that no page repeats an event. */
static int s_listed(dir_testkit_t *kit, const char *start, char *out, size_t size)
{
    char target[512];
    snprintf(target, sizeof target, "%s", start);
    *out = '\0';
    size_t len = 0;
    int64_t previous_seq = INT64_MAX;
    for (int pages = 0; pages < 20; pages++) {
        json_t *body = NULL;
        int status = dir_testkit_call(kit, "GET", target, NULL, &body);
        if (status != 200) {
            json_decref(body);
            return status;
        }
        json_t *item;
        size_t i;
        json_array_foreach(json_object_get(body, "data"), i, item)
        {
            const char *reason = dir_testkit_str(item, "reason");
            int64_t seq = dir_db_int(kit->dir->db, "SELECT seq FROM login_events WHERE id = ?",
                                     "s", dir_testkit_str(item, "id"));
            SSO_CHECK(seq < previous_seq);
            previous_seq = seq;
            int n = snprintf(out + len, size - len, "%s%s", len ? " " : "", reason);
            if (n > 0 && (size_t) n < size - len)
                len += (size_t) n;
        }
        bool more = dir_testkit_next_page(body, start, target, sizeof target);
        json_decref(body);
        if (!more)
            return 200;
    }
    return 0;
}

/* Outcome and time filters, alone, with the organization and connection filters, and over
   pages; the absent, empty and malformed values. */
static void s_test_filters(dir_testkit_t *kit)
{
    /* Event i at t0 + 100 i: org_a for 0-3, org_b after; conn_1 when i is odd; a success
       when i is a multiple of 3. */
    const int64_t t0 = 1700000000;
    for (int i = 0; i < 8; i++) {
        char reason[16], *id = NULL;
        snprintf(reason, sizeof reason, "r%d", i);
        dir_event_t event = {.organization_id = i < 4 ? "org_a" : "org_b",
                             .connection_id = i % 2 ? "conn_1" : "conn_2",
                             .success = i % 3 == 0,
                             .reason = reason};
        SSO_CHECK(dir_events_add(kit->dir, &event, &id) == 0 && id);
        SSO_CHECK(dir_db_run(kit->dir->db, NULL,
                             "UPDATE login_events SET created_at = ? WHERE id = ?", "is",
                             t0 + 100 * i, id) == DIR_DB_OK);
        free(id);
    }
    static const struct {
        const char *query;
        const char *reasons;
    } cases[] = {
        {"", "r7 r6 r5 r4 r3 r2 r1 r0"},
        {"?outcome=", "r7 r6 r5 r4 r3 r2 r1 r0"},
        {"?outcome=success", "r6 r3 r0"},
        {"?outcome=failure", "r7 r5 r4 r2 r1"},
        /* since: at or after; until: before. */
        {"?since=1700000300", "r7 r6 r5 r4 r3"},
        {"?until=1700000300", "r2 r1 r0"},
        {"?since=1700000200&until=1700000500", "r4 r3 r2"},
        {"?since=0&until=0", "r7 r6 r5 r4 r3 r2 r1 r0"},
        {"?since=1700000500&until=1700000200", ""},
        {"?since=1700000701", ""},
        {"?until=1700000000", ""},
        {"?since=9223372036854775807", ""},
        /* With the organization and connection filters. */
        {"?organization_id=org_a&outcome=failure", "r2 r1"},
        {"?organization_id=org_b&outcome=success&since=1700000500", "r6"},
        {"?connection_id=conn_1&outcome=failure&since=1700000100", "r7 r5 r1"},
        {"?organization_id=org_a&connection_id=conn_2&until=1700000200", "r0"},
        {"?organization_id=org_c&outcome=failure", ""},
        /* Over pages of one and two: the filters hold on every page. */
        {"?outcome=failure&page_size=2", "r7 r5 r4 r2 r1"},
        {"?outcome=success&page_size=1", "r6 r3 r0"},
        {"?organization_id=org_b&outcome=failure&since=1700000400&page_size=1", "r7 r5 r4"},
        {"?since=1700000100&until=1700000700&page_size=2", "r6 r5 r4 r3 r2 r1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char target[256], reasons[256];
        snprintf(target, sizeof target, "/api/v1/events%s", cases[i].query);
        int status = s_listed(kit, target, reasons, sizeof reasons);
        SSO_CHECK(status == 200 && !strcmp(reasons, cases[i].reasons));
        if (status != 200 || strcmp(reasons, cases[i].reasons) != 0)
            fprintf(stderr, "events%s: %d \"%s\", want \"%s\"\n", cases[i].query, status,
                    reasons, cases[i].reasons);
    }
    static const struct {
        const char *query;
        const char *says;
    } refused[] = {
        {"?outcome=SUCCESS", "outcome must be success or failure (or empty for any)"},
        {"?outcome=x", "outcome must be success or failure (or empty for any)"},
        {"?outcome=success%20", "outcome must be success or failure (or empty for any)"},
        {"?since=-1", "since must be a time in Unix seconds"},
        {"?since=abc", "since must be a time in Unix seconds"},
        {"?since=1e9", "since must be a time in Unix seconds"},
        {"?since=", "since must be a time in Unix seconds"},
        {"?since=+5", "since must be a time in Unix seconds"},
        {"?since=%205", "since must be a time in Unix seconds"},
        {"?until=99999999999999999999", "until must be a time in Unix seconds"},
        {"?until=1.5", "until must be a time in Unix seconds"},
        {"?organization_id=org_a&since=1&until=x", "until must be a time in Unix seconds"},
        {"?outcome=failure&page_size=2&since=x", "since must be a time in Unix seconds"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/api/v1/events%s", refused[i].query);
        json_t *body = NULL;
        int status = dir_testkit_call(kit, "GET", target, NULL, &body);
        SSO_CHECK(dir_testkit_refused(status, &body, refused[i].says));
    }
}

static void s_test_record(dir_testkit_t *kit)
{
    const char *rpc = "EventWrites.EventRecord";
    Sso__Event event = SSO__EVENT__INIT;
    event.organization_id = "org_1";
    event.connection_id = "conn_1";
    event.client_id = "cli_1";
    event.outcome = "failure";
    event.reason = "Audience: expected https://sso.test/sso/saml/conn_1, received https://x";
    event.subject = "u1";
    event.email = "u1@example.com";
    event.txn_id = "txn-1";
    Sso__EventReply *reply = dir_testkit_rpc(kit, rpc, &event.base);
    SSO_CHECK(reply && !reply->error && !*reply->error_description);
    sso__event_reply__free_unpacked(reply, NULL);
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events?connection_id=conn_1", NULL, &body)
              == 200);
    json_t *first = json_array_get(json_object_get(body, "data"), 0);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && !strncmp(dir_testkit_str(first, "id"), "evt_", 4)
              && strlen(dir_testkit_str(first, "created_at")) == 20
              && !strcmp(dir_testkit_str(first, "organization_id"), "org_1")
              && !strcmp(dir_testkit_str(first, "connection_id"), "conn_1")
              && !strcmp(dir_testkit_str(first, "client_id"), "cli_1")
              && !strcmp(dir_testkit_str(first, "outcome"), "failure")
              && !strcmp(dir_testkit_str(first, "reason"), event.reason)
              && !strcmp(dir_testkit_str(first, "subject"), "u1")
              && !strcmp(dir_testkit_str(first, "email"), "u1@example.com"));
    json_decref(body);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE txn_id = "
                                       "'txn-1'", NULL) == 1);
    /* A long reason is kept in part; bad input writes nothing. */
    char *longer = malloc(5000);
    if (longer) {
        memset(longer, 'r', 4999);
        longer[4999] = '\0';
        event.reason = longer;
        event.outcome = "success";
        reply = dir_testkit_rpc(kit, rpc, &event.base);
        SSO_CHECK(reply && !reply->error);
        sso__event_reply__free_unpacked(reply, NULL);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT max(length(reason)) FROM login_events", NULL)
                  == DIR_EVENT_TEXT_MAX);
        free(longer);
    }
    /* A reason cut inside a UTF-8 character (the ACS quotes what an anonymous sender wrote,
       at most so many bytes of it), and a connection id that is not UTF-8: the event is still
       listed, with '?' for the bad bytes, never left out of the list unseen. */
    event.outcome = "failure";
    event.connection_id = "conn_\xc3";
    event.reason = "status: aaa\xc3";
    reply = dir_testkit_rpc(kit, rpc, &event.base);
    SSO_CHECK(reply && !reply->error);
    sso__event_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events", NULL, &body) == 200);
    first = json_array_get(json_object_get(body, "data"), 0);
    SSO_CHECK(!strcmp(dir_testkit_str(first, "reason"), "status: aaa?")
              && !strcmp(dir_testkit_str(first, "connection_id"), "conn_?"));
    json_decref(body);
    event.connection_id = "conn_1";
    int64_t before = dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events", NULL);
    event.reason = "r";
    event.outcome = "maybe";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &event.base, "invalid_request", "outcome"));
    event.outcome = "failure";
    event.email = "a\x01b";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &event.base, "invalid_request", NULL));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events", NULL) == before);
}

/* Events a retention old go, a batch at a time; the one at the boundary and newer stay. */
static void s_test_prune(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    const int64_t now = dir_now(), day = 86400;
    const int64_t cutoff = now - (int64_t) kit->dir->event_retention_days * day;
    SSO_CHECK(kit->dir->event_retention_days == DIR_EVENT_RETENTION_DAYS);
    /* Recorded oldest first: 5 past the retention, one at the boundary, one just inside, 2 of
       today. */
    const int64_t ages[] = {cutoff - 400 * day, cutoff - day, cutoff - 60, cutoff - 2, cutoff - 1,
                            cutoff, cutoff + 1, now - 5, now};
    const size_t n = sizeof ages / sizeof ages[0];
    for (size_t i = 0; i < n; i++) {
        char reason[32], *id = NULL;
        snprintf(reason, sizeof reason, "prune %zu", i);
        dir_event_t event = {.connection_id = "conn_p", .reason = reason};
        SSO_CHECK(dir_events_add(kit->dir, &event, &id) == 0 && id);
        SSO_CHECK(dir_db_run(db, NULL, "UPDATE login_events SET created_at = ? WHERE id = ?", "is",
                             ages[i], id) == DIR_DB_OK);
        free(id);
    }
    /* Batches of 2: 2, 2, 1, then nothing; the boundary (created_at == cutoff) is kept. */
    SSO_CHECK(dir_events_prune(kit->dir, cutoff, 2) == 2);
    SSO_CHECK(dir_events_prune(kit->dir, cutoff, 2) == 2);
    SSO_CHECK(dir_events_prune(kit->dir, cutoff, 2) == 1);
    SSO_CHECK(dir_events_prune(kit->dir, cutoff, 2) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events", NULL) == 4);
    SSO_CHECK(dir_db_int(db, "SELECT min(created_at) FROM login_events", NULL) == cutoff);
}

void dir_events_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_filters);
    dir_testkit_run(s_test_record);
    dir_testkit_run(s_test_prune);
}
