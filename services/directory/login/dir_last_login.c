/* dir_last_login: the last successful login of each connection. */
#include "login/dir_last_login.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "login/dir_txn.h"
#include "portal/dir_portal_testkit.h"
#include "sso_test.h"
#include "sso_upstream.h"

int dir_last_login_note(dir_t *dir, const char *connection_id, const char *subject,
                        const char *raw_json, int64_t completed_at)
{
    /* An upsert (not INSERT OR REPLACE) so that the statement reads the same to any engine. */
    return dir_db_run(dir->db, NULL, "INSERT INTO connection_last_logins (connection_id, "
                                     "completed_at, subject, raw_json) VALUES (?1, ?2, ?3, ?4) "
                                     "ON CONFLICT (connection_id) DO UPDATE SET completed_at = "
                                     "?2, subject = ?3, raw_json = ?4", "siss", connection_id,
                      completed_at, subject, dir_rpc_or_null(raw_json))
                   == DIR_DB_OK
               ? 0
               : -1;
}

json_t *dir_last_login_get(dir_t *dir, const char *connection_id, dir_error_t *err)
{
    if (!connection_id || !dir_rpc_text(connection_id, 1, DIR_API_ID_MAX)) {
        dir_not_found(err, "no such connection");
        return NULL;
    }
    /* From the connection, so that none and one without a login say different things. */
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT l.connection_id IS NOT NULL, "
                                                "l.completed_at, l.subject, l.raw_json FROM "
                                                "connections c LEFT JOIN connection_last_logins "
                                                "l ON l.connection_id = c.id WHERE c.id = ?",
                                       "s", connection_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    json_t *json = NULL;
    if (step == DIR_DB_ROW && dir_db_int64(stmt, 0)) {
        json_t *raw = dir_db_is_null(stmt, 3) ? NULL
                                              : json_loads(dir_db_text(stmt, 3), 0, NULL);
        json = json_pack("{s:o, s:s, s:o}", "completed_at", dir_json_time(dir_db_int64(stmt, 1)),
                         "subject", dir_db_text(stmt, 2), "raw", raw ? raw : json_null());
        if (!json)
            dir_server_error(err);
    }
    else if (step == DIR_DB_ROW)
        dir_not_found(err, "connection %s has had no successful sign-in yet (a test sign-in "
                           "is not one)", connection_id);
    else if (step == DIR_DB_DONE)
        dir_not_found(err, "no connection %s", connection_id);
    else
        dir_server_error(err);
    dir_db_release(stmt);
    return json;
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    dir_error_t err = {0};
    json_t *json = dir_last_login_get(req->dir, id, &err);
    return json ? sso_http_json(200, json) : dir_error_reply(&err);
}

zframe_t *dir_last_login_http(dir_api_req_t *req)
{
    static const dir_api_methods_t methods = {.get = s_show};
    return dir_api_dispatch(req, &methods, req->segments[1]);
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_COMPLETE "UpstreamWrites.LoginComplete"
#define S_PATH "/api/v1/connections/" DIR_SEED_CONN_ID "/last_login"

static char s_client[64];

/* A client's login transaction id through the seeded connection, stored. */
static bool s_txn(dir_testkit_t *kit, const char *id)
{
    Sso__Transaction t = SSO__TRANSACTION__INIT;
    t.id = (char *) id;
    t.client_id = s_client;
    t.redirect_uri = "https://app.test/cb";
    t.scope = "openid";
    t.connection_id = DIR_SEED_CONN_ID;
    t.organization_id = DIR_SEED_ORG_ID;
    t.created_at = dir_now();
    t.expires_at = t.created_at + 60;
    t.max_age = -1;
    dir_error_t err = {0};
    Sso__Transaction *stored = dir_txn_create(kit->dir, &t, &err);
    if (!stored)
        fprintf(stderr, "dir_txn_create: %s\n", err.description);
    else
        sso__transaction__free_unpacked(stored, NULL);
    return stored != NULL;
}

/* LoginComplete of transaction id for subject with raw_json: true when it issued a code. */
static bool s_complete(dir_testkit_t *kit, const char *id, const char *subject,
                       const char *raw_json)
{
    Sso__Profile profile = SSO__PROFILE__INIT;
    profile.subject = (char *) subject;
    Sso__LoginCompleteRequest complete = SSO__LOGIN_COMPLETE_REQUEST__INIT;
    complete.txn_id = (char *) id;
    complete.profile = &profile;
    complete.raw_json = (char *) raw_json;
    Sso__LoginRedirectReply *reply = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    bool ok = reply && !reply->error && *reply->code;
    if (!ok)
        fprintf(stderr, "LoginComplete: %s\n", reply ? reply->error_description : "no reply");
    if (reply)
        sso__login_redirect_reply__free_unpacked(reply, NULL);
    return ok;
}

/* True when LoginComplete of id with raw_json is refused with code, saying says. */
static bool s_refused(dir_testkit_t *kit, const char *id, const char *raw_json,
                      const char *code, const char *says)
{
    Sso__Profile profile = SSO__PROFILE__INIT;
    profile.subject = "mallory";
    Sso__LoginCompleteRequest complete = SSO__LOGIN_COMPLETE_REQUEST__INIT;
    complete.txn_id = (char *) id;
    complete.profile = &profile;
    complete.raw_json = (char *) raw_json;
    return dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, code, says);
}

/* GET the seeded connection's last login: the status, the body in *json (the caller's). */
static int s_get(dir_testkit_t *kit, json_t **json)
{
    return dir_testkit_call(kit, "GET", S_PATH, NULL, json);
}

static int64_t s_rows(dir_testkit_t *kit)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM connection_last_logins", NULL);
}

/* A client's logins: none yet, a failed one, refused ones, then the last success is kept,
   replaced by the next, and gone with the connection. */
static void s_test_logins(dir_testkit_t *kit)
{
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", s_client, sizeof s_client) == 0);
    json_t *json = NULL;
    /* None yet; an unknown, an empty or a hostile connection; only GET. */
    SSO_CHECK(s_get(kit, &json) == 404
              && strstr(dir_testkit_str(json, "error_description"), "no successful sign-in"));
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/connections/conn_none/last_login", NULL,
                               &json) == 404
              && strstr(dir_testkit_str(json, "error_description"), "no connection conn_none"));
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/connections/%3Cx%3E/last_login", NULL,
                               NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/connections//last_login", NULL, NULL)
              == 404);
    SSO_CHECK(dir_testkit_call(kit, "POST", S_PATH, "{}", NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", S_PATH, NULL, NULL) == 405);

    /* A failed login keeps none. */
    SSO_CHECK(s_txn(kit, "txn-last-login-fail-01"));
    Sso__LoginFailRequest fail = SSO__LOGIN_FAIL_REQUEST__INIT;
    fail.txn_id = "txn-last-login-fail-01";
    fail.error = "access_denied";
    fail.reason = "audience: expected https://sp.test, got https://other.test";
    Sso__LoginRedirectReply *failed = dir_testkit_rpc(kit, "UpstreamWrites.LoginFail",
                                                      &fail.base);
    SSO_CHECK(failed && !failed->error);
    if (failed)
        sso__login_redirect_reply__free_unpacked(failed, NULL);
    SSO_CHECK(s_rows(kit) == 0);

    /* Raw attributes that are not a JSON object of at most 64 KiB: refused as for a test,
       nothing consumed, nothing kept. */
    SSO_CHECK(s_txn(kit, "txn-last-login-0001"));
    size_t big_len = SSO_UPSTREAM_RAW_MAX + 1;
    char *big = malloc(big_len + 1);
    SSO_CHECK(big != NULL);
    if (big) {
        memset(big, 'x', big_len);
        memcpy(big, "{\"a\":\"", 6);
        memcpy(big + big_len - 2, "\"}", 2);
        big[big_len] = '\0';
        SSO_CHECK(s_refused(kit, "txn-last-login-0001", big, "invalid_request", "raw_json"));
        free(big);
    }
    const char *const not_objects[] = {"[1]", "\"a\"", "null", "{\"a\":", "{} {}"};
    for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++)
        SSO_CHECK(s_refused(kit, "txn-last-login-0001", not_objects[i], "invalid_request",
                            "raw_json must be a JSON object"));
    SSO_CHECK(s_rows(kit) == 0);

    /* A connection disabled meanwhile: no code, nothing kept. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/" DIR_SEED_CONN_ID "/disable",
                               NULL, NULL) == 200);
    SSO_CHECK(s_refused(kit, "txn-last-login-0001", "{\"mail\":[\"m@example.com\"]}",
                        "inactive", NULL));
    SSO_CHECK(s_rows(kit) == 0);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/" DIR_SEED_CONN_ID "/enable",
                               NULL, NULL) == 200);

    /* The success: its time, subject and the attributes as sent. */
    int64_t before = dir_now();
    SSO_CHECK(s_complete(kit, "txn-last-login-0001", "ada@example.com",
                         "{\"mail\":[\"ada@example.com\"],\"名前\":[\"<b>\\\"q\\\"</b>\"]}"));
    SSO_CHECK(s_get(kit, &json) == 200);
    json_t *raw = json_object_get(json, "raw");
    char when[32];
    dir_time_format(before, when);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "subject"), "ada@example.com")
              && strcmp(dir_testkit_str(json, "completed_at"), when) >= 0
              && json_object_size(json) == 3 && json_object_size(raw) == 2
              && !strcmp(json_string_value(json_array_get(json_object_get(raw, "名前"), 0)),
                         "<b>\"q\"</b>"));
    json_decref(json);
    /* Used once: a second completion of it changes nothing. */
    SSO_CHECK(s_refused(kit, "txn-last-login-0001", "{\"x\":[\"y\"]}", "consumed", NULL));

    /* The next login replaces it: one row, the new subject and attributes only. */
    SSO_CHECK(s_txn(kit, "txn-last-login-0002"));
    SSO_CHECK(s_complete(kit, "txn-last-login-0002", "grace@example.com",
                         "{\"groups\":[\"a\",\"b\"]}"));
    SSO_CHECK(s_get(kit, &json) == 200);
    raw = json_object_get(json, "raw");
    SSO_CHECK(!strcmp(dir_testkit_str(json, "subject"), "grace@example.com")
              && json_object_size(raw) == 1
              && json_array_size(json_object_get(raw, "groups")) == 2 && s_rows(kit) == 1);
    json_decref(json);
    /* A login whose service sent none (an older one): the login is kept, raw null. */
    SSO_CHECK(s_txn(kit, "txn-last-login-0003"));
    SSO_CHECK(s_complete(kit, "txn-last-login-0003", "alan@example.com", ""));
    SSO_CHECK(s_get(kit, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "subject"), "alan@example.com")
              && json_is_null(json_object_get(json, "raw")));
    json_decref(json);

    /* A failed login afterwards leaves the last success as it was. */
    SSO_CHECK(s_txn(kit, "txn-last-login-fail-02"));
    fail.txn_id = "txn-last-login-fail-02";
    failed = dir_testkit_rpc(kit, "UpstreamWrites.LoginFail", &fail.base);
    SSO_CHECK(failed && !failed->error);
    if (failed)
        sso__login_redirect_reply__free_unpacked(failed, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connection_last_logins WHERE "
                                       "subject = 'alan@example.com'", NULL) == 1);

    /* Gone with the connection. */
    SSO_CHECK(dir_testkit_call(kit, "DELETE", "/api/v1/connections/" DIR_SEED_CONN_ID, NULL,
                               NULL) == 204);
    SSO_CHECK(s_rows(kit) == 0);
    SSO_CHECK(s_get(kit, &json) == 404
              && strstr(dir_testkit_str(json, "error_description"), "no connection"));
    json_decref(json);
}

/* A draft SAML connection of org; its id into id. */
static bool s_draft(dir_testkit_t *kit, const char *org, char id[64])
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    return dir_testkit_field(kit, "POST", path, "{\"type\":\"saml\"}", "id", id, 64) == 201;
}

/* The portal's route (portal/dir_portal_router): a session reads its own connections' last
   login only (another organization's: 403 with nothing of it), and needs a session. */
static void s_test_portal(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    char conn_a[64] = "", conn_b[64] = "", target[200];
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    SSO_CHECK(s_draft(kit, a.org, conn_a) && s_draft(kit, b.org, conn_b));
    SSO_CHECK(dir_last_login_note(kit->dir, conn_b, "b-user", "{\"secret\":[\"of B\"]}",
                                  dir_now()) == 0);
    json_t *json = NULL;
    snprintf(target, sizeof target, "/portal/api/connections/%s/last_login", conn_b);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &b, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "subject"), "b-user"));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, &json) == 403);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "access_denied")
              && !json_object_get(json, "subject") && !json_object_get(json, "raw"));
    json_decref(json);
    dir_portal_testkit_reply_t reply;
    SSO_CHECK(dir_portal_testkit_call(kit, "GET", target, a.cookie, NULL, NULL, NULL, NULL,
                                      &reply) == 0);
    SSO_CHECK(reply.status == 403 && !strstr(reply.body, "b-user")
              && !strstr(reply.body, "of B"));
    dir_portal_testkit_reply_free(&reply);
    /* No session, or B's id named by A in the query: no. */
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, NULL, NULL, NULL, NULL) == 401);
    snprintf(target, sizeof target, "/portal/api/connections/%s/last_login?organization_id=%s",
             conn_a, b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 403);
    /* A's own: none yet is a 204 (the page asks each time, a 404 would be a console error);
       unknown: 404; only GET. */
    snprintf(target, sizeof target, "/portal/api/connections/%s/last_login", conn_a);
    SSO_CHECK(dir_portal_testkit_call(kit, "GET", target, a.cookie, NULL, NULL, NULL, NULL,
                                      &reply) == 0);
    SSO_CHECK(reply.status == 204 && !*reply.body);
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/connections/conn_none/last_login",
                                      &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", target, &a, a.csrf, NULL, NULL) == 405);
}

void dir_last_login_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test_logins);
    dir_testkit_run(s_test_portal);
}
