/* dir_webhooks: webhook endpoints, the outbox, the delivery log and redelivery. */
#include "webhooks/dir_webhooks.h"
#include "api/dir_valid.h"
#include "dir_testkit.h"
#include "login/dir_events.h"
#include "sso_crypto.h"
#include "sso_fetch.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_webhook.h"
#include <openssl/crypto.h>
#include <time.h>

const char *const dir_webhook_event_types[] = {
    "login.succeeded",         "login.failed",
    "connection.activated",    "connection.deactivated",
    "directory.user.created",  "directory.user.updated",
    "directory.user.deleted",  "directory.group.created",
    "directory.group.updated", "directory.group.deleted",
    "directory.group.user_added", "directory.group.user_removed",
    NULL,
};

#define S_COLUMNS                                                                            \
    "id, url, description, disabled, created_at, updated_at, previous_secret_until"
#define S_EVENTS_MAX 32

int64_t dir_webhooks_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The AAD that binds a sealed secret to its endpoint. */
static void s_aad(const char *id, char *aad, size_t size)
{
    snprintf(aad, size, "webhook:%s:secret", id);
}

/* A pending delivery of message to endpoint, due now, retried until deadline_ms. */
static int s_delivery_add(dir_t *dir, const char *endpoint, const char *message,
                          const char *stream, int64_t now_ms, int64_t deadline_ms, char **id_out)
{
    char *id = sso_random_id("dlv_", 12);
    int rc = id ? dir_db_run(dir->db, NULL, "INSERT INTO webhook_deliveries (id, endpoint_id, "
                                            "message_id, stream, next_at_ms, deadline_ms, "
                                            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
                                            "?, ?)",
                             "ssssiiii", id, endpoint, message, stream, now_ms, deadline_ms,
                             now_ms / 1000, now_ms / 1000)
                : DIR_DB_ERROR;
    if (rc == DIR_DB_OK && id_out)
        *id_out = id;
    else
        free(id);
    return rc == DIR_DB_OK ? 0 : -1;
}

int dir_webhooks_wanted(dir_t *dir, const char *type)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT 1 FROM webhook_subscriptions s JOIN "
                                                "webhook_endpoints e ON e.id = s.endpoint_id "
                                                "WHERE s.event_type = ? AND e.disabled = 0 "
                                                "LIMIT 1", "s", type);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    dir_db_release(stmt);
    return step == DIR_DB_ROW ? 1 : step == DIR_DB_DONE ? 0 : -1;
}

/* The enabled endpoints subscribed to type, oldest first: a new array of their ids, or NULL
   when the database failed. */
static json_t *s_subscribers(dir_t *dir, const char *type)
{
    json_t *endpoints = json_array();
    dir_db_stmt_t *stmt = endpoints ? dir_db_query(dir->db, "SELECT s.endpoint_id FROM "
                                                            "webhook_subscriptions s JOIN "
                                                            "webhook_endpoints e ON e.id = "
                                                            "s.endpoint_id WHERE s.event_type "
                                                            "= ? AND e.disabled = 0 ORDER BY "
                                                            "e.seq", "s", type)
                                    : NULL;
    int step = stmt ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW)
        if (json_array_append_new(endpoints, json_string(dir_db_text(stmt, 0))) != 0)
            step = DIR_DB_ERROR;
    dir_db_release(stmt);
    if (step != DIR_DB_DONE)
        json_decref(endpoints), endpoints = NULL;
    return endpoints;
}

/* Appends to messages the row {id, payload} of one message of type with data, sent at when,
   and to deliveries its rows {id, endpoint_id, message_id}, one per endpoint in their order.
   Ids are random, made here. 0, or -1 when out of memory. */
static int s_rows_add(json_t *messages, json_t *deliveries, const char *type, const char *when,
                      json_t *data, const json_t *endpoints)
{
    json_t *body = json_pack("{s:s, s:s, s:O}", "type", type, "timestamp", when, "data", data);
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *id = sso_random_id("msg_", 12);
    int rc = payload && id
                     && json_array_append_new(messages, json_pack("{s:s, s:s}", "id", id,
                                                                  "payload", payload)) == 0
                 ? 0
                 : -1;
    size_t i;
    json_t *endpoint;
    json_array_foreach(endpoints, i, endpoint) {
        char *delivery = rc == 0 ? sso_random_id("dlv_", 12) : NULL;
        if (!delivery
            || json_array_append_new(deliveries, json_pack("{s:s, s:O, s:s}", "id", delivery,
                                                           "endpoint_id", endpoint,
                                                           "message_id", id)) != 0)
            rc = -1;
        free(delivery);
    }
    free(id);
    free(payload);
    json_decref(body);
    return rc;
}

int dir_webhooks_emit_many(dir_t *dir, const char *type, const char *stream, json_t *datas)
{
    if (!json_is_array(datas) || json_array_size(datas) > DIR_WEBHOOK_EMIT_MAX) {
        sso_error("webhooks: %s: a batch is an array of at most %d events", type,
                  DIR_WEBHOOK_EMIT_MAX);
        return -1;
    }
    if (json_array_size(datas) == 0)
        return 0;
    /* The common case, no endpoint wants it, costs one indexed read. */
    json_t *endpoints = s_subscribers(dir, type);
    if (!endpoints || json_array_size(endpoints) == 0) {
        json_decref(endpoints);
        return endpoints ? 0 : -1;
    }
    int64_t now_ms = dir_webhooks_now_ms();
    char when[32];
    dir_time_format(now_ms / 1000, when);
    json_t *messages = json_array(), *deliveries = json_array();
    int rc = messages && deliveries ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < json_array_size(datas); i++)
        rc = s_rows_add(messages, deliveries, type, when, json_array_get(datas, i), endpoints);
    json_decref(endpoints);
    /* The rows as the JSON arrays the statements read with json_each. */
    char *message_rows = rc == 0 ? json_dumps(messages, JSON_COMPACT) : NULL;
    char *delivery_rows = rc == 0 ? json_dumps(deliveries, JSON_COMPACT) : NULL;
    json_decref(messages);
    json_decref(deliveries);
    const char *key = stream ? stream : "";
    /* Three statements for any number of messages (PostgreSQL pays a round trip for each),
       their rows inserted in the array's order: the seqs come out as emitting them one by one
       gives them, each message's deliveries endpoint by endpoint, and the sender delivers a
       stream's lowest pending seq first. */
    rc = message_rows && delivery_rows
                 && dir_db_run(dir->db, NULL, "INSERT INTO webhook_messages (id, type, stream, "
                                              "payload, created_at) SELECT json_extract(j.value, "
                                              "'$.id'), ?2, ?3, json_extract(j.value, "
                                              "'$.payload'), ?4 FROM json_each(?1) AS j ORDER "
                                              "BY j.key",
                               "sssi", message_rows, type, key, now_ms / 1000) == DIR_DB_OK
                 && dir_db_run(dir->db, NULL, "INSERT INTO webhook_deliveries (id, endpoint_id, "
                                              "message_id, stream, next_at_ms, deadline_ms, "
                                              "created_at, updated_at) SELECT "
                                              "json_extract(j.value, '$.id'), "
                                              "json_extract(j.value, '$.endpoint_id'), "
                                              "json_extract(j.value, '$.message_id'), ?2, ?3, "
                                              "?4, ?5, ?5 FROM json_each(?1) AS j ORDER BY j.key",
                               "ssiii", delivery_rows, key, now_ms,
                               now_ms + DIR_WEBHOOK_RETRY_FOR_MS, now_ms / 1000) == DIR_DB_OK
             ? 0
             : -1;
    free(message_rows);
    free(delivery_rows);
    return rc;
}

int dir_webhooks_emit(dir_t *dir, const char *type, const char *stream, json_t *data)
{
    json_t *datas = json_pack("[O]", data ? data : json_null());
    int rc = datas ? dir_webhooks_emit_many(dir, type, stream, datas) : -1;
    json_decref(datas);
    return rc;
}

int dir_webhooks_prune(dir_t *dir, int64_t cutoff, int limit)
{
    int changes = 0;
    /* Deliveries and their attempts go with their message (ON DELETE CASCADE). */
    if (dir_db_run(dir->db, &changes,
                   "DELETE FROM webhook_messages WHERE seq IN (SELECT m.seq FROM "
                   "webhook_messages m WHERE m.created_at < ? AND NOT EXISTS (SELECT 1 FROM "
                   "webhook_deliveries d WHERE d.message_id = m.id AND d.status = 'pending') "
                   "ORDER BY m.seq LIMIT ?)",
                   "ii", cutoff, (int64_t) limit) != DIR_DB_OK)
        return -1;
    return changes;
}

/* ---- endpoints ---------------------------------------------------------------------------- */

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    const char *id = dir_db_text(stmt, 0);
    json_t *events = dir_api_column(dir, "SELECT event_type FROM webhook_subscriptions WHERE "
                                         "endpoint_id = ? ORDER BY event_type", "s", id);
    return json_pack("{s:s, s:s, s:o, s:o, s:b, s:o, s:o, s:o}", "id", id, "url",
                     dir_db_text(stmt, 1), "description",
                     dir_db_is_null(stmt, 2) ? json_null() : json_string(dir_db_text(stmt, 2)),
                     "events", events, "disabled", dir_db_int64(stmt, 3) != 0, "created_at",
                     dir_json_time(dir_db_int64(stmt, 4)), "updated_at",
                     dir_json_time(dir_db_int64(stmt, 5)), "previous_secret_expires_at",
                     dir_db_is_null(stmt, 6) || dir_db_int64(stmt, 6) <= dir_now()
                         ? json_null()
                         : dir_json_time(dir_db_int64(stmt, 6)));
}

static json_t *s_endpoint(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " S_COLUMNS " FROM webhook_endpoints WHERE "
                                        "id = ?", "s", id);
}

static zframe_t *s_check(dir_t *dir, const char *id)
{
    return dir_db_int(dir->db, "SELECT count(*) FROM webhook_endpoints WHERE id = ?", "s", id)
                   == 1
               ? NULL
               : dir_api_not_found("webhook", id);
}

/* The body's url: as metadata URLs are checked (https; plain http only to loopback with
   SSO_ALLOW_PRIVATE_UPSTREAMS=1). 1 with *url lent, 0 when absent, -1 with err. */
static int s_url(dir_t *dir, const json_t *body, int flags, const char **url, dir_error_t *err)
{
    int rc = dir_json_string(body, "url", "url", flags | DIR_NONEMPTY, DIR_WEBHOOK_URL_MAX, url,
                             err);
    char why[400];
    bool plain = false;
    if (rc == 1 && (dir_url_check(*url, why, sizeof why) != 0
                    || sso_fetch_url_check(*url, dir->allow_private_upstreams, &plain, why,
                                           sizeof why) != 0)) {
        dir_bad_request(err, "url %s", why);
        return -1;
    }
    return rc;
}

/* The body's events: a non-empty array of known types, each once. 1 with *events lent, 0 when
   absent, -1 with err. */
static int s_events(const json_t *body, int flags, json_t **events, dir_error_t *err)
{
    int rc = dir_json_strings(body, "events", "events", flags, S_EVENTS_MAX, 64, events, err);
    if (rc != 1)
        return rc;
    if (json_array_size(*events) == 0) {
        dir_bad_request(err, "events must name at least one event type");
        return -1;
    }
    size_t i, j;
    json_t *item, *other;
    json_array_foreach(*events, i, item) {
        const char *type = json_string_value(item);
        bool known = false;
        for (size_t k = 0; !known && dir_webhook_event_types[k]; k++)
            known = !strcmp(type, dir_webhook_event_types[k]);
        if (!known) {
            dir_bad_request(err, "events[%zu]: unknown event type \"%.64s\" (known: "
                                 "login.succeeded, login.failed, connection.activated, "
                                 "connection.deactivated, directory.user.*, directory.group.*)",
                            i, type);
            return -1;
        }
        json_array_foreach(*events, j, other)
            if (j < i && json_equal(item, other)) {
                dir_bad_request(err, "events[%zu]: \"%s\" is given twice", i, type);
                return -1;
            }
    }
    return 1;
}

/* Replaces the endpoint's subscriptions with events. */
static int s_subscribe(dir_t *dir, const char *id, const json_t *events)
{
    if (dir_db_run(dir->db, NULL, "DELETE FROM webhook_subscriptions WHERE endpoint_id = ?", "s",
                   id) != DIR_DB_OK)
        return -1;
    size_t i;
    json_t *item;
    json_array_foreach(events, i, item) {
        if (dir_db_run(dir->db, NULL, "INSERT INTO webhook_subscriptions (endpoint_id, "
                                      "event_type) VALUES (?, ?)", "ss", id,
                       json_string_value(item)) != DIR_DB_OK)
            return -1;
    }
    return 0;
}

/* A fresh secret, sealed for endpoint id into *sealed; the secret itself (caller cleanses and
   frees) or NULL. */
static char *s_secret(dir_t *dir, const char *id, uint8_t **sealed, size_t *sealed_len)
{
    char *secret = sso_webhook_secret_new();
    char aad[128];
    s_aad(id, aad, sizeof aad);
    if (secret && dir_keys_seal(dir->keys, secret, strlen(secret), aad, sealed, sealed_len) == 0)
        return secret;
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return NULL;
}

/* The endpoint as GET shows it, with secret: the one answer that carries it. */
static zframe_t *s_with_secret(dir_t *dir, const char *id, const char *secret, uint32_t status)
{
    json_t *json = s_endpoint(dir, id);
    if (!json || json_object_set_new(json, "secret", json_string(secret)) != 0) {
        json_decref(json);
        return dir_api_db_error();
    }
    return sso_http_json(status, json);
}

static zframe_t *s_create(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err), *events = NULL, *every = NULL;
    const char *url = NULL, *description = NULL;
    int given = -1;
    if (!body || s_url(req->dir, body, DIR_REQUIRED, &url, &err) < 0
        || (given = s_events(body, 0, &events, &err)) < 0
        || dir_json_string(body, "description", "description", DIR_NULLABLE,
                           DIR_WEBHOOK_DESCRIPTION_MAX, &description, &err) < 0) {
        json_decref(body);
        return dir_error_reply(&err);
    }
    /* DESIGN.md section 2: events is optional; without it the endpoint gets every type. */
    if (given == 0) {
        events = every = json_array();
        for (size_t k = 0; every && dir_webhook_event_types[k]; k++)
            json_array_append_new(every, json_string(dir_webhook_event_types[k]));
    }
    dir_t *dir = req->dir;
    char *id = sso_random_id("whk_", 10);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char *secret = id ? s_secret(dir, id, &sealed, &sealed_len) : NULL;
    int64_t now = dir_now();
    bool ok = secret && dir_db_begin(dir->db) == 0;
    ok = ok
         && dir_db_run(dir->db, NULL, "INSERT INTO webhook_endpoints (id, url, description, "
                                      "secret_sealed, created_at, updated_at) VALUES (?, ?, ?, "
                                      "?, ?, ?)",
                       "sssbii", id, url, description, sealed, sealed_len, now, now) == DIR_DB_OK
         && s_subscribe(dir, id, events) == 0 && dir_db_commit(dir->db) == 0;
    zframe_t *reply;
    if (!ok) {
        dir_db_rollback(dir->db);
        reply = dir_api_db_error();
    }
    else {
        reply = s_with_secret(dir, id, secret, 201);
        sso_info("webhook %s created", id);
    }
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(sealed);
    free(id);
    json_decref(every);
    json_decref(body);
    return reply;
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT " S_COLUMNS ", seq FROM webhook_endpoints WHERE seq > ? "
                        "ORDER BY seq LIMIT ?", NULL);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_endpoint(req->dir, id), "webhook", id);
}

/* PATCH: url, events, description (null clears it), disabled. A disabled endpoint gets no new
   deliveries; those pending wait until it is enabled again (or their 3 days end). */
static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err), *events = NULL;
    const char *url = NULL, *description = NULL;
    json_t *disabled = body ? json_object_get(body, "disabled") : NULL;
    int has_url = body ? s_url(req->dir, body, 0, &url, &err) : -1;
    int has_events = has_url >= 0 ? s_events(body, 0, &events, &err) : -1;
    int has_description = has_events >= 0
                              ? dir_json_string(body, "description", "description",
                                                DIR_NULLABLE, DIR_WEBHOOK_DESCRIPTION_MAX,
                                                &description, &err)
                              : -1;
    if (has_description >= 0 && disabled && !json_is_boolean(disabled)) {
        dir_bad_request(&err, "disabled must be true or false");
        has_description = -1;
    }
    if (has_description < 0) {
        json_decref(body);
        return dir_error_reply(&err);
    }
    bool clear_description = json_is_null(json_object_get(body, "description"));
    dir_t *dir = req->dir;
    int changes = 0;
    bool ok = dir_db_begin(dir->db) == 0;
    ok = ok
         && dir_db_run(dir->db, &changes,
                       "UPDATE webhook_endpoints SET url = coalesce(?1, url), description = "
                       "CASE WHEN ?2 = 1 THEN NULL ELSE coalesce(?3, description) END, disabled = "
                       "CASE WHEN ?4 < 0 THEN disabled ELSE ?4 END, updated_at = ?5 "
                       "WHERE id = ?6",
                       "sisiis", url, (int64_t) clear_description, description,
                       disabled ? (int64_t) json_is_true(disabled) : (int64_t) -1,
                       dir_now(), id) == DIR_DB_OK;
    ok = ok && (changes == 0 || has_events != 1 || s_subscribe(dir, id, events) == 0)
         && dir_db_commit(dir->db) == 0;
    json_decref(body);
    if (!ok) {
        dir_db_rollback(dir->db);
        return dir_api_db_error();
    }
    if (changes == 0)
        return dir_api_not_found("webhook", id);
    sso_info("webhook %s changed", id);
    return dir_api_found(s_endpoint(dir, id), "webhook", id);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    return dir_api_delete(req->dir, "DELETE FROM webhook_endpoints WHERE id = ?", "webhook", id,
                          " with its pending deliveries and their log");
}

/* POST {id}/secret/rotate {overlap_seconds?}: a new secret, shown once. The one it replaces
   signs beside it for the overlap (a day by default; 0: it stops at once), so the app can
   switch without losing a delivery; one replaced before stops now. */
static zframe_t *s_rotate(dir_api_req_t *req, const char *id)
{
    dir_t *dir = req->dir;
    dir_error_t err = {0};
    int64_t overlap = 0;
    if (dir_api_overlap(req, DIR_WEBHOOK_OVERLAP_DEFAULT, DIR_WEBHOOK_OVERLAP_MAX, "secret",
                        "7 days", &overlap, &err) != 0)
        return dir_error_reply(&err);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    char *secret = s_secret(dir, id, &sealed, &sealed_len);
    int changes = 0;
    int64_t now = dir_now();
    bool ok = secret
              && dir_db_run(dir->db, &changes, "UPDATE webhook_endpoints SET "
                                               "previous_secret_sealed = CASE WHEN ?1 > 0 THEN "
                                               "secret_sealed END, previous_secret_until = CASE "
                                               "WHEN ?1 > 0 THEN ?2 + ?1 END, secret_sealed = ?3, "
                                               "updated_at = ?2 WHERE id = ?4",
                            "iibs", overlap, now, sealed, sealed_len, id) == DIR_DB_OK;
    zframe_t *reply = !ok            ? dir_api_db_error()
                      : changes == 0 ? dir_api_not_found("webhook", id)
                                     : s_with_secret(dir, id, secret, 200);
    if (ok && changes)
        sso_info("webhook %s: secret rotated; the previous one %s", id,
                 overlap > 0 ? "signs beside it for an overlap" : "stopped at once");
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(sealed);
    return reply;
}

/* ---- deliveries ------------------------------------------------------------------------- */

#define S_DELIVERY_COLUMNS                                                                      \
    "d.id, d.message_id, m.type, d.status, d.attempts, d.next_at_ms, d.last_http_status, "     \
    "d.last_error, d.created_at, d.updated_at, m.created_at"
#define S_DELIVERY_FROM                                                                         \
    " FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id "
/* How many attempts a delivery shows (the newest). */
#define S_ATTEMPTS_SHOWN 20

static json_t *s_attempts(dir_t *dir, const char *delivery)
{
    json_t *attempts = json_array();
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT attempt, at, http_status, error, "
                                                "duration_ms FROM webhook_attempts WHERE "
                                                "delivery_id = ? ORDER BY seq DESC LIMIT ?",
                                       "si", delivery, (int64_t) S_ATTEMPTS_SHOWN);
    while (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        json_array_append_new(
            attempts,
            json_pack("{s:I, s:o, s:o, s:o, s:I}", "attempt", (json_int_t) dir_db_int64(stmt, 0),
                      "at", dir_json_time(dir_db_int64(stmt, 1)), "http_status",
                      dir_db_is_null(stmt, 2) ? json_null()
                                              : json_integer(dir_db_int64(stmt, 2)),
                      "error",
                      dir_db_is_null(stmt, 3) ? json_null() : json_string(dir_db_text(stmt, 3)),
                      "duration_ms", (json_int_t) dir_db_int64(stmt, 4)));
    dir_db_release(stmt);
    return attempts;
}

static json_t *s_delivery_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    const char *status = dir_db_text(stmt, 3);
    bool pending = !strcmp(status, "pending");
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
        dir_db_text(stmt, 0), "message_id", dir_db_text(stmt, 1), "event_type",
        dir_db_text(stmt, 2), "status", status, "attempts", (json_int_t) dir_db_int64(stmt, 4),
        "next_attempt_at", pending ? dir_json_time(dir_db_int64(stmt, 5) / 1000) : json_null(),
        "last_http_status",
        dir_db_is_null(stmt, 6) ? json_null() : json_integer(dir_db_int64(stmt, 6)),
        "last_error", dir_db_is_null(stmt, 7) ? json_null() : json_string(dir_db_text(stmt, 7)),
        "created_at", dir_json_time(dir_db_int64(stmt, 8)), "updated_at",
        dir_json_time(dir_db_int64(stmt, 9)), "message_created_at",
        dir_json_time(dir_db_int64(stmt, 10)), "attempt_log",
        s_attempts(dir, dir_db_text(stmt, 0)));
}

/* GET {id}/deliveries?status=: newest first. */
static zframe_t *s_deliveries(dir_api_req_t *req, const char *id)
{
    const char *status = zhashx_lookup(req->query, "status");
    if (status && *status && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0
        && strcmp(status, "failed") != 0) {
        dir_error_t err = {0};
        dir_bad_request(&err, "status must be pending, delivered or failed (or empty for any)");
        return dir_error_reply(&err);
    }
    return dir_api_list(req, s_check, id, s_delivery_json,
                        "SELECT " S_DELIVERY_COLUMNS ", d.seq" S_DELIVERY_FROM
                        "WHERE d.endpoint_id = ?1 AND (?2 = '' OR d.status = ?2) AND "
                        "(?3 < 0 OR d.seq < ?3) ORDER BY d.seq DESC LIMIT ?4",
                        "ss", id, status ? status : "");
}

/* POST {id}/deliveries/{delivery_id}/retry (DESIGN.md section 2): a new pending delivery of the same message
   (the same webhook-id, so receivers can tell), at the end of its stream, with 3 days of its
   own. */
static zframe_t *s_redeliver(dir_api_req_t *req, const char *id)
{
    dir_t *dir = req->dir;
    const char *delivery = req->segments[3];
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT message_id, stream FROM "
                                                "webhook_deliveries WHERE id = ? AND "
                                                "endpoint_id = ?", "ss", delivery, id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char message[80] = "", stream[DIR_API_ID_MAX * 2] = "";
    if (step == DIR_DB_ROW) {
        snprintf(message, sizeof message, "%s", dir_db_text(stmt, 0));
        snprintf(stream, sizeof stream, "%s", dir_db_text(stmt, 1));
    }
    dir_db_release(stmt);
    zframe_t *refused = step == DIR_DB_DONE ? s_check(dir, id) : NULL;
    if (step == DIR_DB_DONE)
        return refused ? refused : dir_api_not_found("delivery", delivery);
    char *created = NULL;
    int64_t now_ms = dir_webhooks_now_ms();
    if (step != DIR_DB_ROW
        || s_delivery_add(dir, id, message, stream, now_ms, now_ms + DIR_WEBHOOK_RETRY_FOR_MS,
                          &created) != 0)
        return dir_api_db_error();
    sso_info("webhook %s: message %s to be delivered again (%s)", id, message, created);
    json_t *json = dir_api_row(dir, s_delivery_json,
                               "SELECT " S_DELIVERY_COLUMNS S_DELIVERY_FROM "WHERE d.id = ?",
                               "s", created);
    free(created);
    return json ? sso_http_json(201, json) : dir_api_db_error();
}

zframe_t *dir_webhooks_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.get = s_show, .patch = s_patch, .del = s_delete};
    static const dir_api_methods_t rotate = {.post = s_rotate}, deliveries = {.get = s_deliveries},
                                   redeliver = {.post = s_redeliver};
    size_t n = req->n_segments;
    const char *id = n >= 2 ? req->segments[1] : NULL;
    if (n == 1)
        return dir_api_dispatch(req, &collection, NULL);
    if (n == 2)
        return dir_api_dispatch(req, &item, id);
    if (n == 4 && !strcmp(req->segments[2], "secret") && !strcmp(req->segments[3], "rotate"))
        return dir_api_dispatch(req, &rotate, id);
    if (n == 3 && !strcmp(req->segments[2], "deliveries"))
        return dir_api_dispatch(req, &deliveries, id);
    if (n == 5 && !strcmp(req->segments[2], "deliveries")
        && !strcmp(req->segments[4], "retry"))
        return dir_api_dispatch(req, &redeliver, id);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

/* ---- self-test --------------------------------------------------------------------------- */

/* An endpoint for url and events (JSON text); its id into id and secret into secret. */
static int s_test_create(dir_testkit_t *kit, const char *url, const char *events, char *id,
                         char *secret, size_t secret_size)
{
    char request[600];
    snprintf(request, sizeof request, "{\"url\":\"%s\",\"events\":%s}", url, events);
    json_t *body = NULL;
    int status = dir_testkit_call(kit, "POST", "/api/v1/webhooks", request, &body);
    snprintf(id, 64, "%s", dir_testkit_str(body, "id"));
    if (secret)
        snprintf(secret, secret_size, "%s", dir_testkit_str(body, "secret"));
    json_decref(body);
    return status;
}

static void s_test_api(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    json_t *body = NULL;
    char id[64], secret[80], path[200];
    /* Refusals: no URL, not https, http to a public host (also when private upstreams are
       allowed), no events, empty events, an unknown or repeated name, a bad description, no
       body. */
    static const struct {
        const char *body;
        const char *want;
    } bad[] = {
        {"{\"events\":[\"login.failed\"]}", "url"},
        {"{\"url\":\"\",\"events\":[\"login.failed\"]}", "url"},
        {"{\"url\":\"ftp://app.test/h\",\"events\":[\"login.failed\"]}", "url"},
        {"{\"url\":\"http://app.test/h\",\"events\":[\"login.failed\"]}", "must use https"},
        {"{\"url\":\"http://127.0.0.1:9/h\",\"events\":[\"login.failed\"]}", "must use https"},
        {"{\"url\":\"app.test/h\",\"events\":[\"login.failed\"]}", "url"},
        {"{\"url\":\"https://app.test/h\",\"events\":[]}", "at least one"},
        {"{\"url\":\"https://app.test/h\",\"events\":\"login.failed\"}", "events"},
        {"{\"url\":\"https://app.test/h\",\"events\":[\"login.started\"]}", "unknown event"},
        {"{\"url\":\"https://app.test/h\",\"events\":[\"\"]}", "events[0]"},
        {"{\"url\":\"https://app.test/h\",\"events\":[\"login.failed\",\"login.failed\"]}",
         "given twice"},
        {"{\"url\":\"https://app.test/h\",\"events\":[1]}", "events[0]"},
        {"{\"url\":\"https://app.test/h\",\"events\":[\"login.failed\"],\"description\":7}",
         "description"},
        {"[]", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = dir_testkit_call(kit, "POST", "/api/v1/webhooks", bad[i].body, &body);
        bool ok = dir_testkit_refused(status, &body, bad[i].want);
        if (!ok)
            fprintf(stderr, "webhook case %zu accepted or refused otherwise\n", i);
        SSO_CHECK(ok);
    }
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_endpoints", NULL) == 0);
    /* Without events (DESIGN.md section 2: optional), every type. */
    size_t n_types = 0;
    while (dir_webhook_event_types[n_types])
        n_types++;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/webhooks", "{\"url\":\"https://app.test/"
                               "all\"}", &body) == 201
              && json_array_size(json_object_get(body, "events")) == n_types && n_types == 12);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/webhooks/", NULL, NULL) >= 400);
    if (json_is_string(json_object_get(body, "id"))) {
        snprintf(path, sizeof path, "/api/v1/webhooks/%s", dir_testkit_str(body, "id"));
        SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    }
    json_decref(body);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_endpoints", NULL) == 0);
    dir->allow_private_upstreams = true;
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", "/api/v1/webhooks",
                                                   "{\"url\":\"http://app.test/h\",\"events\":"
                                                   "[\"login.failed\"]}", &body),
                                  &body, "must use https"));
    /* Made: the secret once, sealed for this endpoint only. */
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/h", "[\"login.failed\",\"login.succeeded\"]",
                            id, secret, sizeof secret) == 201);
    SSO_CHECK(!strncmp(id, "whk_", 4) && !strncmp(secret, "whsec_", 6));
    /* Wanted: the types it subscribes to, and no other. */
    SSO_CHECK(dir_webhooks_wanted(dir, "login.failed") == 1
              && dir_webhooks_wanted(dir, "connection.activated") == 0
              && dir_webhooks_wanted(dir, "") == 0);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!json_object_get(body, "secret") && !json_is_true(json_object_get(body, "disabled"))
              && json_array_size(json_object_get(body, "events")) == 2
              && !strcmp(json_string_value(json_array_get(json_object_get(body, "events"), 0)),
                         "login.failed"));
    json_decref(body);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT secret_sealed FROM webhook_endpoints "
                                                "WHERE id = ?", "s", id);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        size_t len = 0;
        const void *blob = dir_db_blob(stmt, 0, &len);
        char aad[128];
        s_aad(id, aad, sizeof aad);
        char *opened = dir_keys_open(dir->keys, blob, len, aad, NULL);
        SSO_CHECK(opened && !strcmp(opened, secret));
        free(opened);
        SSO_CHECK(!dir_keys_open(dir->keys, blob, len, "webhook:whk_other:secret", NULL));
        SSO_CHECK(!memmem(blob, len, secret + 6, strlen(secret) - 6));
    }
    else
        SSO_CHECK(false);
    dir_db_release(stmt);
    /* Listed without the secret. */
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/webhooks", NULL, &body) == 200);
    json_t *first = json_array_get(json_object_get(body, "data"), 0);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && !strcmp(dir_testkit_str(first, "id"), id) && !json_object_get(first, "secret"));
    json_decref(body);
    /* PATCH: each field, refusals changing nothing, 404. */
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path, "{\"events\":[]}", &body),
                                  &body, "at least one"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path,
                                                   "{\"url\":\"http://app.test/x\"}", &body),
                                  &body, "must use https"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":\"yes\"}",
                                                   &body),
                                  &body, "disabled"));
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"events\":[\"connection.activated\"],"
                                                   "\"description\":\"App\",\"disabled\":true}",
                               &body) == 200);
    SSO_CHECK(json_is_true(json_object_get(body, "disabled"))
              && !strcmp(dir_testkit_str(body, "description"), "App")
              && json_array_size(json_object_get(body, "events")) == 1
              && !strcmp(dir_testkit_str(body, "url"), "http://127.0.0.1:9/h"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"description\":null,\"disabled\":false,"
                                                   "\"url\":\"https://app.test/hook\"}",
                               &body) == 200);
    SSO_CHECK(!json_is_true(json_object_get(body, "disabled"))
              && json_is_null(json_object_get(body, "description"))
              && !strcmp(dir_testkit_str(body, "url"), "https://app.test/hook")
              && json_array_size(json_object_get(body, "events")) == 1);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/webhooks/whk_none", "{\"disabled\":true}",
                               NULL) == 404);
    /* Rotation: a new secret; by default the old one signs beside it for a day, shown as
       previous_secret_expires_at; overlap 0 ends it at once; a bad overlap changes nothing. */
    char rotate[300], second[80], third[80];
    snprintf(rotate, sizeof rotate, "%s/secret/rotate", path);
    SSO_CHECK(dir_testkit_call(kit, "POST", rotate, NULL, &body) == 200);
    snprintf(second, sizeof second, "%s", dir_testkit_str(body, "secret"));
    SSO_CHECK(!strncmp(second, "whsec_", 6) && strcmp(second, secret) != 0);
    const char *until = dir_testkit_str(body, "previous_secret_expires_at");
    json_t *day = dir_json_time(dir_now() + DIR_WEBHOOK_OVERLAP_DEFAULT);
    SSO_CHECK(until && json_string_value(day) && strncmp(until, json_string_value(day), 13) == 0);
    json_decref(day);
    json_decref(body);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_endpoints WHERE id = ? AND "
                             "previous_secret_sealed IS NOT NULL", "s", id) == 1);
    const char *bad_overlaps[] = {"{\"overlap_seconds\":-1}", "{\"overlap_seconds\":604801}",
                                  "{\"overlap_seconds\":\"1h\"}", "[]"};
    for (size_t i = 0; i < sizeof bad_overlaps / sizeof *bad_overlaps; i++)
        SSO_CHECK(dir_testkit_call(kit, "POST", rotate, bad_overlaps[i], NULL) == 400);
    SSO_CHECK(dir_testkit_field(kit, "POST", rotate, "{\"overlap_seconds\":0}", "secret", third,
                                sizeof third) == 200);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200
              && json_is_null(json_object_get(body, "previous_secret_expires_at")));
    json_decref(body);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_endpoints WHERE id = ? AND "
                             "previous_secret_sealed IS NULL AND previous_secret_until IS NULL",
                         "s", id) == 1);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/webhooks/whk_none/secret/rotate", NULL,
                               NULL) == 404);
    /* Deliveries: a filter is checked; an unknown endpoint or delivery is 404. */
    char deliveries[300];
    snprintf(deliveries, sizeof deliveries, "%s/deliveries?status=lost", path);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "GET", deliveries, NULL, &body), &body,
                                  "status must be"));
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/webhooks/whk_none/deliveries", NULL, NULL)
              == 404);
    snprintf(deliveries, sizeof deliveries, "%s/deliveries/dlv_none/retry", path);
    SSO_CHECK(dir_testkit_call(kit, "POST", deliveries, NULL, &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "delivery"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/webhooks/x/y/z/w/v", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "PUT", path, "{}", NULL) == 405);
    /* Deleted. */
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 404);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_subscriptions", NULL) == 0);
}

/* The outbox: a message and a delivery per subscribed, enabled endpoint, written in the
   event's write; none on a write rolled back, none for an event no endpoint wants. */
static void s_test_outbox(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    char a[64], b[64], c[64], path[200];
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/a", "[\"login.succeeded\"]", a, NULL, 0)
              == 201);
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/b", "[\"login.succeeded\",\"login.failed\"]",
                            b, NULL, 0) == 201);
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/c", "[\"login.succeeded\"]", c, NULL, 0)
              == 201);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", c);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"disabled\":true}", NULL) == 200);

    json_t *data = json_pack("{s:s}", "subject", "u1");
    SSO_CHECK(dir_db_begin(dir->db) == 0);
    SSO_CHECK(dir_webhooks_emit(dir, "login.succeeded", "org_1", data) == 0);
    SSO_CHECK(dir_db_commit(dir->db) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE status = "
                                  "'pending' AND stream = 'org_1' AND attempts = 0", NULL) == 2);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = "
                                  "?", "s", c) == 0);
    /* The body: type, an RFC 3339 timestamp, the data. */
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, payload, created_at FROM "
                                                "webhook_messages", NULL);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        json_t *payload = json_loads(dir_db_text(stmt, 1), 0, NULL);
        SSO_CHECK(!strncmp(dir_db_text(stmt, 0), "msg_", 4));
        SSO_CHECK(!strcmp(dir_testkit_str(payload, "type"), "login.succeeded")
                  && strlen(dir_testkit_str(payload, "timestamp")) == 20
                  && json_equal(json_object_get(payload, "data"), data));
        json_decref(payload);
    }
    else
        SSO_CHECK(false);
    dir_db_release(stmt);
    /* Rolled back with its event: nothing stays. */
    SSO_CHECK(dir_db_begin(dir->db) == 0);
    SSO_CHECK(dir_webhooks_emit(dir, "login.failed", "org_1", data) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 2);
    dir_db_rollback(dir->db);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries", NULL) == 2);
    /* Nobody wants it: no message. */
    SSO_CHECK(dir_webhooks_emit(dir, "connection.activated", "org_1", data) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 1);
    json_decref(data);

    /* Producers: a login's event, in dir_events_add's write; a failed login's too. */
    dir_event_t event = {.organization_id = "org_2", .connection_id = "conn_2",
                         .client_id = "client_2", .success = true, .subject = "u2",
                         .email = "u2@example.com", .txn_id = "txn_2"};
    SSO_CHECK(dir_events_add(dir, &event, NULL) == 0);
    event.success = false;
    event.reason = "the IdP said no";
    SSO_CHECK(dir_events_add(dir, &event, NULL) == 0);
    /* A test login's, and a metadata refresh's, are not app logins. */
    event.test = true;
    SSO_CHECK(dir_events_add(dir, &event, NULL) == 0);
    event.test = false;
    event.maintenance = true;
    SSO_CHECK(dir_events_add(dir, &event, NULL) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages WHERE stream = "
                                  "'org_2'", NULL) == 2);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE stream = "
                                  "'org_2' AND endpoint_id = ?", "s", b) == 2);
    stmt = dir_db_query(dir->db, "SELECT payload FROM webhook_messages WHERE type = "
                                 "'login.failed'", NULL);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        json_t *payload = json_loads(dir_db_text(stmt, 0), 0, NULL);
        json_t *fields = json_object_get(payload, "data");
        SSO_CHECK(!strcmp(dir_testkit_str(fields, "organization_id"), "org_2")
                  && !strcmp(dir_testkit_str(fields, "connection_id"), "conn_2")
                  && !strcmp(dir_testkit_str(fields, "reason"), "the IdP said no")
                  && !strncmp(dir_testkit_str(fields, "event_id"), "evt_", 4));
        json_decref(payload);
    }
    else
        SSO_CHECK(false);
    dir_db_release(stmt);
    /* The deliveries list: newest first, filtered by status. */
    char list[200];
    json_t *body = NULL;
    snprintf(list, sizeof list, "/api/v1/webhooks/%s/deliveries?status=pending&page_size=2", b);
    SSO_CHECK(dir_testkit_call(kit, "GET", list, NULL, &body) == 200);
    json_t *items = json_object_get(body, "data");
    SSO_CHECK(json_array_size(items) == 2
              && !strcmp(dir_testkit_str(json_array_get(items, 0), "event_type"), "login.failed")
              && !strcmp(dir_testkit_str(json_array_get(items, 1), "event_type"),
                         "login.succeeded")
              && *dir_testkit_str(body, "next_page_token"));
    char delivery[64];
    snprintf(delivery, sizeof delivery, "%s", dir_testkit_str(json_array_get(items, 0), "id"));
    json_decref(body);
    snprintf(list, sizeof list, "/api/v1/webhooks/%s/deliveries?status=failed", b);
    SSO_CHECK(dir_testkit_call(kit, "GET", list, NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 0);
    json_decref(body);
    /* Redelivery: a new pending delivery of the same message; another endpoint's id is 404. */
    snprintf(list, sizeof list, "/api/v1/webhooks/%s/deliveries/%s/retry", b, delivery);
    SSO_CHECK(dir_testkit_call(kit, "POST", list, NULL, &body) == 201);
    SSO_CHECK(strcmp(dir_testkit_str(body, "id"), delivery) != 0
              && !strcmp(dir_testkit_str(body, "status"), "pending")
              && !strcmp(dir_testkit_str(body, "event_type"), "login.failed"));
    json_decref(body);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(DISTINCT message_id) FROM webhook_deliveries "
                                  "WHERE endpoint_id = ? AND message_id = (SELECT message_id "
                                  "FROM webhook_deliveries WHERE id = ?)", "ss", b, delivery)
              == 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = "
                                  "?", "s", b) == 4);
    snprintf(list, sizeof list, "/api/v1/webhooks/%s/deliveries/%s/retry", a, delivery);
    SSO_CHECK(dir_testkit_call(kit, "POST", list, NULL, NULL) == 404);

    /* Retention: a message goes with its deliveries and their log once it is older than the
       cutoff and none of them is pending; not before. */
    SSO_CHECK(dir_db_run(dir->db, NULL, "INSERT INTO webhook_attempts (delivery_id, attempt, "
                                        "at, duration_ms) SELECT id, 1, 0, 0 FROM "
                                        "webhook_deliveries", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_webhooks_prune(dir, dir_now() + 10, 100) == 0); /* all pending */
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE webhook_deliveries SET status = 'delivered' "
                                        "WHERE message_id IN (SELECT id FROM webhook_messages "
                                        "WHERE type = 'login.succeeded')", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_webhooks_prune(dir, dir_now() - 10, 100) == 0); /* too young */
    SSO_CHECK(dir_webhooks_prune(dir, dir_now() + 10, 1) == 1
              && dir_webhooks_prune(dir, dir_now() + 10, 100) == 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 1
              && dir_db_int(dir->db, "SELECT count(*) FROM webhook_deliveries", NULL) == 2
              && dir_db_int(dir->db, "SELECT count(*) FROM webhook_attempts", NULL) == 2);
}

/* The outbox of stream as the sender sees it: its deliveries in seq order, each as [endpoint,
   the message's type and data, status, attempts, retry span, created_at after the message's];
   NULL when the database failed. The messages' own ids and times differ from emit to emit. */
static json_t *s_test_stream(dir_t *dir, const char *stream)
{
    json_t *rows = json_array();
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT d.endpoint_id, m.type, m.payload, "
                                                "d.status, d.attempts, d.deadline_ms - "
                                                "d.next_at_ms, d.created_at - m.created_at, "
                                                "d.next_at_ms / 1000 - m.created_at FROM "
                                                "webhook_deliveries d JOIN webhook_messages m ON "
                                                "m.id = d.message_id WHERE d.stream = ? AND "
                                                "m.stream = d.stream ORDER BY d.seq",
                                       "s", stream);
    int step = stmt && rows ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW) {
        json_t *payload = json_loads(dir_db_text(stmt, 2), 0, NULL);
        bool stamped = strlen(dir_testkit_str(payload, "timestamp")) == 20;
        json_array_append_new(rows, json_pack("[s, s, O, s, I, I, I, I, b]", dir_db_text(stmt, 0),
                                              dir_db_text(stmt, 1),
                                              json_object_get(payload, "data"),
                                              dir_db_text(stmt, 3),
                                              (json_int_t) dir_db_int64(stmt, 4),
                                              (json_int_t) dir_db_int64(stmt, 5),
                                              (json_int_t) dir_db_int64(stmt, 6),
                                              (json_int_t) dir_db_int64(stmt, 7), stamped));
        json_decref(payload);
    }
    dir_db_release(stmt);
    if (step != DIR_DB_DONE)
        json_decref(rows), rows = NULL;
    return rows;
}

/* Many messages in one emit: nothing for none, a refusal for what is not an array of at most
   the cap; otherwise exactly the rows that emitting them one by one leaves, in the same order
   (each message's deliveries endpoint by endpoint, as the sender's head of line reads them). */
static void s_test_emit_many(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    dir->allow_private_upstreams = true;
    const char *type = "directory.group.user_added";
    char a[64], b[64], c[64];
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/a", "[\"directory.group.user_added\"]", a,
                            NULL, 0) == 201);
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/b", "[\"login.failed\","
                            "\"directory.group.user_added\"]", b, NULL, 0) == 201);
    SSO_CHECK(s_test_create(kit, "http://127.0.0.1:9/c", "[\"login.failed\"]", c, NULL, 0)
              == 201);

    /* None, and what is not a batch: no message. */
    json_t *datas = json_array(), *object = json_object(), *too_many = json_array();
    for (int i = 0; too_many && i <= DIR_WEBHOOK_EMIT_MAX; i++)
        json_array_append_new(too_many, json_null());
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "many", datas) == 0);
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "many", NULL) == -1);
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "many", object) == -1);
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "many", too_many) == -1);
    json_decref(object);
    json_decref(too_many);
    /* Data a statement must carry as it is: quotes, a backslash, a JSON-looking string,
       non-ASCII text, a nested object, null. */
    const char *names[] = {"ada", "O'Brien \"the\" \\ one", "{\"id\":\"x\"}", "Zoë 東京",
                           "", "7"};
    size_t n = sizeof names / sizeof *names;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(datas, json_pack("{s:I, s:s, s:{s:s}, s:n}", "n", (json_int_t) i,
                                               "name", names[i], "user", "id", names[i],
                                               "none"));
    /* Nobody listens: nothing. */
    SSO_CHECK(dir_webhooks_emit_many(dir, "connection.activated", "many", datas) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 0);

    /* One by one (stream "single"), all at once ("many"), the first alone ("one"). */
    SSO_CHECK(dir_db_begin(dir->db) == 0);
    for (size_t i = 0; i < n; i++)
        SSO_CHECK(dir_webhooks_emit(dir, type, "single", json_array_get(datas, i)) == 0);
    SSO_CHECK(dir_db_commit(dir->db) == 0);
    SSO_CHECK(dir_db_begin(dir->db) == 0);
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "many", datas) == 0);
    SSO_CHECK(dir_db_commit(dir->db) == 0);
    json_t *first = json_pack("[O]", json_array_get(datas, 0));
    SSO_CHECK(dir_webhooks_emit_many(dir, type, "one", first) == 0);
    json_decref(first);

    json_t *single = s_test_stream(dir, "single"), *many = s_test_stream(dir, "many");
    json_t *one = s_test_stream(dir, "one");
    SSO_CHECK(single && json_array_size(single) == 2 * n && json_equal(single, many));
    SSO_CHECK(one && json_array_size(one) == 2);
    for (size_t i = 0; one && single && i < 2; i++)
        SSO_CHECK(json_equal(json_array_get(one, i), json_array_get(single, i)));
    /* What is compared: endpoints in order (a before b, never c), the data as given, a fresh
       pending delivery retried for 3 days, created with its message. */
    for (size_t i = 0; many && i < json_array_size(many); i++) {
        json_t *row = json_array_get(many, i);
        SSO_CHECK(!strcmp(json_string_value(json_array_get(row, 0)), i % 2 ? b : a)
                  && !strcmp(json_string_value(json_array_get(row, 1)), type)
                  && json_equal(json_array_get(row, 2), json_array_get(datas, i / 2))
                  && !strcmp(json_string_value(json_array_get(row, 3)), "pending")
                  && json_integer_value(json_array_get(row, 4)) == 0
                  && json_integer_value(json_array_get(row, 5)) == DIR_WEBHOOK_RETRY_FOR_MS
                  && json_integer_value(json_array_get(row, 6)) == 0
                  && json_integer_value(json_array_get(row, 7)) == 0
                  && json_is_true(json_array_get(row, 8)));
    }
    json_decref(single);
    json_decref(many);
    json_decref(one);
    json_decref(datas);
    /* Every message and delivery has an id of its own; the messages of "many" are in order. */
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(DISTINCT id) FROM webhook_messages WHERE "
                                  "substr(id, 1, 4) = 'msg_'", NULL) == (int64_t) (2 * n + 1));
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(DISTINCT id) FROM webhook_deliveries WHERE "
                                  "substr(id, 1, 4) = 'dlv_'", NULL) == (int64_t) (4 * n + 2));
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages m, webhook_messages o "
                                  "WHERE m.stream = 'many' AND o.stream = 'many' AND m.seq < "
                                  "o.seq AND json_extract(m.payload, '$.data.n') > "
                                  "json_extract(o.payload, '$.data.n')", NULL) == 0);
}

void dir_webhooks_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_api);
    dir_testkit_run(s_test_outbox);
    dir_testkit_run(s_test_emit_many);
}
