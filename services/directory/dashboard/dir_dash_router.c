/* dir_dash_router: the dashboard's paths and its API. */
#include "dashboard/dir_dash_router.h"
#include "api/dir_api.h"
#include "api/dir_api_router.h"
#include "dashboard/dir_dash_audit.h"
#include "dashboard/dir_dash_pages.h"
#include "dashboard/dir_dash_session.h"
#include "dashboard/dir_dash_testkit.h"
#include "dashboard/dir_dash_try.h"
#include "dir_seed.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

static zframe_t *s_session_json(uint32_t status, const dir_dash_session_t *session,
                                const char *cookie)
{
    char csrf[DIR_WEB_CSRF_LEN + 1];
    dir_web_csrf(&dir_dash_app, session->web.secret, csrf);
    sso_response_t *response = sso_response_new(status);
    sso_response_header(response, "Cache-Control", "no-store");
    if (cookie)
        sso_response_header(response, "Set-Cookie", cookie);
    sso_response_json(response, json_pack("{s:{s:s, s:s}, s:s, s:o, s:i}", "admin", "id",
                                          session->admin.id, "email", session->admin.email,
                                          "csrf_token", csrf, "expires_at",
                                          dir_json_time(session->web.expires_at),
                                          "idle_timeout", DIR_DASH_SESSION_IDLE));
    return sso_response_pack(&response);
}

/* POST /dashboard/api/signin {email, password}. */
static zframe_t *s_signin(dir_t *dir, const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "POST"))
        return dir_api_method_not_allowed("POST");
    if (!dir_web_same_origin(dir, request))
        return sso_http_error(403, "access_denied", "this request came from another site");
    const char *why = NULL;
    json_t *body = sso_http_json_body(request, &why);
    if (!body)
        return sso_http_error(400, "invalid_request", why ? why : "the body must be JSON");
    const char *email = json_string_value(json_object_get(body, "email"));
    const char *password = json_string_value(json_object_get(body, "password"));
    dir_dash_admin_t admin;
    int64_t retry_after = 0;
    bool locked_now = false;
    dir_dash_signin_t result = dir_dash_admins_signin(dir, email, password, &admin,
                                                      &retry_after, &locked_now);
    json_decref(body);
    dir_dash_session_t session;
    char cookie[300];
    if (result == DIR_DASH_SIGNIN_OK
        && (dir_dash_session_start(dir, &admin, &session) != 0
            || dir_web_cookie(dir, &dir_dash_app, session.web.secret, session.web.expires_at,
                              cookie, sizeof cookie) != 0))
        result = DIR_DASH_SIGNIN_ERROR;
    int status = result == DIR_DASH_SIGNIN_OK       ? 200
                 : result == DIR_DASH_SIGNIN_LOCKED ? 429
                 : result == DIR_DASH_SIGNIN_ERROR  ? 500
                                                    : 401;
    /* Failures of an email with no account are written without it: the log is not a place
       for whatever strangers type. */
    dir_dash_audit_write(dir, *admin.id ? "admin" : "system",
                         *admin.id ? admin.email : "unknown account",
                         locked_now ? "LOCK /dashboard/api/signin" : "POST /dashboard/api/signin",
                         *admin.id ? admin.id : NULL, locked_now ? 429 : status,
                         request->remote_addr);
    if (result == DIR_DASH_SIGNIN_OK) {
        zframe_t *reply = s_session_json(200, &session, cookie);
        OPENSSL_cleanse(cookie, sizeof cookie);
        OPENSSL_cleanse(session.web.secret, sizeof session.web.secret);
        return reply;
    }
    if (result == DIR_DASH_SIGNIN_LOCKED) {
        char seconds[32];
        snprintf(seconds, sizeof seconds, "%lld", (long long) retry_after);
        sso_response_t *response = sso_response_new(429);
        sso_response_header(response, "Retry-After", seconds);
        sso_response_header(response, "Cache-Control", "no-store");
        sso_response_json(response, json_pack("{s:s, s:s, s:I}", "error", "locked",
                                              "error_description", "too many failed sign-ins: "
                                              "wait retry_after seconds", "retry_after",
                                              (json_int_t) retry_after));
        return sso_response_pack(&response);
    }
    if (result == DIR_DASH_SIGNIN_ERROR)
        return dir_api_db_error();
    return sso_http_error(401, "invalid_credentials", "the email or the password is wrong");
}

/* POST /dashboard/api/signout: the session row goes, and the browser forgets the cookie. */
static zframe_t *s_signout(dir_t *dir, const Sso__HttpRequest *request,
                           const dir_dash_session_t *session)
{
    char cookie[300];
    if (dir_web_session_end(dir, &dir_dash_app, session->web.id, "signed out") != 0
        || dir_web_cookie(dir, &dir_dash_app, NULL, 0, cookie, sizeof cookie) != 0)
        return dir_api_db_error();
    dir_dash_audit_write(dir, "admin", session->admin.email, "POST /dashboard/api/signout",
                         session->admin.id, 204, request->remote_addr);
    sso_response_t *response = sso_response_new(204);
    sso_response_header(response, "Set-Cookie", cookie);
    sso_response_header(response, "Cache-Control", "no-store");
    return sso_response_pack(&response);
}

/* GET /dashboard/api/config: what the API Config page shows. */
static zframe_t *s_config(dir_t *dir)
{
    char discovery[600];
    snprintf(discovery, sizeof discovery, "%s/.well-known/openid-configuration",
             dir->public_url);
    json_t *config = json_pack("{s:s, s:s, s:s, s:b}", "public_url", dir->public_url,
                               "discovery_url", discovery, "environment",
                               dir->production ? "production" : "development", "simulator",
                               dir->simulator);
    int64_t seeded = dir_db_int(dir->db, "SELECT count(*) FROM organizations WHERE id = ?", "s",
                                DIR_SEED_ORG_ID);
    if (seeded > 0)
        json_object_set_new(config, "test_organization_id", json_string(DIR_SEED_ORG_ID));
    return sso_http_json(200, config);
}

#define S_BUCKET 3600
/* GET /dashboard/api/stats?range=day|week&organization_id=: logins per hour. */
static zframe_t *s_stats(dir_t *dir, const Sso__HttpRequest *request)
{
    zhashx_t *query = sso_form_parse(request->query ? request->query : "",
                                     request->query ? strlen(request->query) : 0);
    if (!query)
        return sso_http_error(400, "invalid_request", "the query string is malformed");
    const char *range = zhashx_lookup(query, "range");
    const char *org = zhashx_lookup(query, "organization_id");
    int buckets = !range || !strcmp(range, "day") ? 24 : !strcmp(range, "week") ? 168 : 0;
    if (!buckets) {
        zhashx_destroy(&query);
        return sso_http_error(400, "invalid_request", "range must be day or week");
    }
    int64_t end = (dir_now() / S_BUCKET + 1) * S_BUCKET, start = end - buckets * S_BUCKET;
    json_t *list = json_array();
    for (int i = 0; i < buckets; i++)
        json_array_append_new(list, json_pack("{s:o, s:i, s:i}", "start",
                                              dir_json_time(start + i * S_BUCKET), "success", 0,
                                              "failure", 0));
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT (created_at - ?1) / ?3, outcome, "
                                                "count(*) FROM login_events WHERE created_at >= "
                                                "?1 AND created_at < ?2 AND (?4 = '' OR "
                                                "organization_id = ?4) GROUP BY 1, 2",
                                       "iiis", start, end, (int64_t) S_BUCKET, org ? org : "");
    int rc;
    while (stmt && (rc = dir_db_step(stmt)) == DIR_DB_ROW) {
        json_t *bucket = json_array_get(list, (size_t) dir_db_int64(stmt, 0));
        if (bucket)
            json_object_set_new(bucket, dir_db_text(stmt, 1), json_integer(dir_db_int64(stmt, 2)));
    }
    dir_db_release(stmt);
    json_t *reply = json_pack("{s:s, s:i, s:o}", "range", buckets == 24 ? "day" : "week",
                              "bucket_seconds", S_BUCKET, "buckets", list);
    zhashx_destroy(&query);
    return stmt ? sso_http_json(200, reply) : (json_decref(reply), dir_api_db_error());
}

static zframe_t *s_api(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *route = request->path + strlen(DIR_DASH_API_PREFIX);
    if (!strcmp(route, "signin"))
        return s_signin(dir, request);
    /* The session first, so that a caller without one learns nothing about paths. */
    dir_dash_session_t session;
    dir_web_state_t state = dir_dash_session_find(dir, request, &session);
    if (state == DIR_WEB_SESSION_ERROR)
        return dir_api_db_error();
    if (state != DIR_WEB_SESSION_OK)
        return sso_http_error(401, "invalid_session", state == DIR_WEB_SESSION_NONE
                                                          ? "sign in to the dashboard"
                                                          : "the session ended: sign in again");
    bool reads = !strcmp(request->method, "GET") || !strcmp(request->method, "HEAD");
    bool v1 = !strncmp(route, "v1/", 3);
    if (!reads && !dir_web_csrf_ok(&dir_dash_app, session.web.secret, request)) {
        sso_info("dashboard session %s refused: %s without its CSRF token", session.web.id,
                 request->method);
        zframe_t *refused = sso_http_error(403, "access_denied", "this call needs the "
                                                                 "session's CSRF token in the "
                                                                 "X-CSRF-Token header");
        if (v1)
            dir_dash_audit_change(dir, request, "admin", session.admin.email, refused);
        return refused;
    }
    if (v1)
        return dir_api_router_serve(dir, request, "/dashboard/api/v1/", "admin",
                                    session.admin.email);
    const char *allow = NULL;
    if (!strcmp(route, "try"))
        return dir_dash_try_http(dir, request, &session);
    if (!strcmp(route, "session"))
        return reads ? s_session_json(200, &session, NULL) : dir_api_method_not_allowed("GET");
    if (!strcmp(route, "signout"))
        return !strcmp(request->method, "POST") ? s_signout(dir, request, &session)
                                                : dir_api_method_not_allowed("POST");
    if (!strcmp(route, "config"))
        allow = reads ? NULL : "GET";
    else if (!strcmp(route, "stats"))
        allow = reads ? NULL : "GET";
    else
        return sso_http_error(404, "not_found", "no such path under /dashboard/api");
    if (allow)
        return dir_api_method_not_allowed(allow);
    return !strcmp(route, "config") ? s_config(dir) : s_stats(dir, request);
}

zframe_t *dir_dash_router_handle(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *path = request->path ? request->path : "";
    if (!request->method)
        return sso_http_error(400, "invalid_request", "no method");
    if (!strncmp(path, DIR_DASH_API_PREFIX, strlen(DIR_DASH_API_PREFIX)))
        return s_api(dir, request);
    return dir_dash_pages_handle(dir, request);
}

/* ---- self-test ------------------------------------------------------------------------- */

static int s_signin_status(dir_testkit_t *kit, const char *email, const char *password,
                           json_t **json)
{
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *text = json_dumps(body, 0);
    json_decref(body);
    int status = dir_dash_testkit_api(kit, "POST", "/dashboard/api/signin", NULL, NULL, text,
                                      json);
    free(text);
    return status;
}

/* Sign-in: one answer for every refusal; lockout after 5 with its doubling. */
static void s_test_signin(dir_testkit_t *kit)
{
    dir_dash_testkit_t a;
    SSO_CHECK(dir_dash_testkit_signin(kit, "a@example.com", "correct horse battery", &a) == 0);
    SSO_CHECK(!strncmp(a.cookie, "__Host-sso_dashboard=", 21) && *a.csrf);
    char token[64];
    SSO_CHECK(dir_dash_testkit_admin(kit, "nopass@example.com", token, sizeof token) == 0);
    json_t *json = NULL;
    const char *refused[][2] = {{"nobody@example.com", "correct horse battery"},
                                {"a@example.com", "wrong password!"},
                                {"nopass@example.com", ""},
                                {"not an email", "x"}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        SSO_CHECK(s_signin_status(kit, refused[i][0], refused[i][1], &json) == 401);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "invalid_credentials")
                  && !strcmp(dir_testkit_str(json, "error_description"),
                             "the email or the password is wrong"));
        json_decref(json);
    }
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/signin", NULL, NULL, "{", NULL)
              == 400);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/signin", NULL, NULL, NULL, NULL)
              == 405);
    /* The email's case does not matter. */
    SSO_CHECK(s_signin_status(kit, "A@EXAMPLE.COM", "correct horse battery", NULL) == 200);
    /* Four more failures lock the account: then even the right password waits. */
    for (int i = 0; i < 4; i++)
        SSO_CHECK(s_signin_status(kit, "a@example.com", "wrong password!", NULL) == 401);
    SSO_CHECK(s_signin_status(kit, "a@example.com", "wrong password!", NULL) == 401);
    SSO_CHECK(s_signin_status(kit, "a@example.com", "correct horse battery", &json) == 429);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "locked"));
    json_int_t retry = json_integer_value(json_object_get(json, "retry_after"));
    SSO_CHECK(retry > 55 && retry <= 60);
    json_decref(json);
    /* After the wait, one more failure locks it twice as long, up to an hour. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE dashboard_signin_failures SET "
                                             "locked_until = ?1 WHERE locked_until > ?1", "i",
                         dir_now()) == DIR_DB_OK);
    SSO_CHECK(s_signin_status(kit, "a@example.com", "wrong password!", NULL) == 401);
    SSO_CHECK(s_signin_status(kit, "a@example.com", "correct horse battery", &json) == 429);
    retry = json_integer_value(json_object_get(json, "retry_after"));
    SSO_CHECK(retry > 115 && retry <= 120);
    json_decref(json);
    /* The lock, the failures and the sign-ins are in the audit log. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'LOCK /dashboard/api/signin' AND actor = 'a@example.com'",
                         NULL) == 2);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = "
                                       "'unknown account' AND status = 401", NULL) == 2);
    /* A success resets the count: left are the unknown email's and the account without a
       password's one failure each (a malformed email is not counted). */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE dashboard_signin_failures SET "
                                             "locked_until = 0", NULL) == DIR_DB_OK);
    SSO_CHECK(s_signin_status(kit, "a@example.com", "correct horse battery", NULL) == 200);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_signin_failures WHERE "
                                       "failed_count = 1", NULL) == 2
              && dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_signin_failures",
                            NULL) == 2);
    /* An email without an account is locked as an account is, with the same answers: the
       lockout does not tell which emails have accounts. */
    for (int i = 0; i < 4; i++)
        SSO_CHECK(s_signin_status(kit, "Nobody@Example.com", "wrong password!", NULL) == 401);
    SSO_CHECK(s_signin_status(kit, "nobody@example.com", "correct horse battery", &json) == 429);
    retry = json_integer_value(json_object_get(json, "retry_after"));
    SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "locked") && retry > 55 && retry <= 60);
    json_decref(json);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'LOCK /dashboard/api/signin' AND actor = "
                                       "'unknown account'", NULL) == 1);
}

/* The API of a session: 401 without one, 403 without CSRF, the management API as the admin,
   sign-out, a disabled admin's session ended. */
static void s_test_api(dir_testkit_t *kit)
{
    dir_dash_testkit_t a, b;
    SSO_CHECK(dir_dash_testkit_signin(kit, "a@example.com", "correct horse battery", &a) == 0);
    SSO_CHECK(dir_dash_testkit_signin(kit, "b@example.com", "correct horse battery", &b) == 0);
    const char *const routes[][2] = {
        {"GET", "/dashboard/api/session"},  {"POST", "/dashboard/api/signout"},
        {"GET", "/dashboard/api/config"},   {"GET", "/dashboard/api/stats"},
        {"GET", "/dashboard/api/v1/organizations"}, {"POST", "/dashboard/api/v1/organizations"},
        {"GET", "/dashboard/api/nothing"},  {"DELETE", "/dashboard/api/v1/admins/x"},
    };
    json_t *json = NULL;
    dir_dash_testkit_t forged = a;
    snprintf(forged.cookie, sizeof forged.cookie, "__Host-sso_dashboard=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        SSO_CHECK(dir_dash_testkit_api(kit, routes[i][0], routes[i][1], NULL, a.csrf, "{}",
                                       &json) == 401);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "invalid_session"));
        json_decref(json);
        SSO_CHECK(dir_dash_testkit_api(kit, routes[i][0], routes[i][1], &forged, a.csrf, "{}",
                                       NULL) == 401);
    }
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/session", &a, NULL, NULL, &json)
              == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "csrf_token"), a.csrf)
              && !strcmp(dir_testkit_str(json_object_get(json, "admin"), "email"),
                         "a@example.com"));
    json_decref(json);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/config", &a, NULL, NULL, &json)
              == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "public_url"), "https://sso.test")
              && !strcmp(dir_testkit_str(json, "discovery_url"),
                         "https://sso.test/.well-known/openid-configuration"));
    json_decref(json);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/nothing", &a, NULL, NULL, NULL)
              == 404);

    /* CSRF: absent, empty, another session's, one character off. */
    char off[64];
    snprintf(off, sizeof off, "%s", a.csrf);
    off[0] = off[0] == '0' ? '1' : '0';
    const char *const bad[] = {NULL, "", b.csrf, off};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/v1/organizations", &a,
                                       bad[i], "{\"display_name\":\"X\"}", NULL) == 403);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM organizations", NULL) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = "
                                       "'a@example.com' AND status = 403", NULL) == 4);

    /* The management API as the admin, audited with the admin's email. */
    char org[64] = "";
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/v1/organizations", &a, a.csrf,
                                   "{\"display_name\":\"Acme\"}", &json) == 201);
    snprintf(org, sizeof org, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE actor = ? AND "
                                       "actor_type = 'admin' AND target = ? AND status = 201 AND "
                                       "action = 'POST /dashboard/api/v1/organizations'", "ss",
                         "a@example.com", org) == 1);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/v1/organizations", &a, NULL,
                                   NULL, &json) == 200
              && json_array_size(json_object_get(json, "data")) == 1);
    json_decref(json);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/v1/nothing", &a, NULL, NULL,
                                   NULL) == 404);

    /* Stats: 24 or 168 hourly buckets, with the logins of the range. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "INSERT INTO login_events (id, created_at, "
                                             "organization_id, outcome) VALUES ('ev_1', ?, ?, "
                                             "'success'), ('ev_2', ?, ?, 'failure'), ('ev_3', ?, "
                                             "'org_other', 'failure')", "isisi", dir_now(), org,
                         dir_now(), org, dir_now()) == DIR_DB_OK);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/stats?range=day", &a, NULL, NULL,
                                   &json) == 200);
    json_t *buckets = json_object_get(json, "buckets"), *last = json_array_get(buckets, 23);
    SSO_CHECK(json_array_size(buckets) == 24
              && json_integer_value(json_object_get(json, "bucket_seconds")) == 3600
              && json_integer_value(json_object_get(last, "success")) == 1
              && json_integer_value(json_object_get(last, "failure")) == 2);
    json_decref(json);
    char target[200];
    snprintf(target, sizeof target, "/dashboard/api/stats?range=week&organization_id=%s", org);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", target, &a, NULL, NULL, &json) == 200);
    buckets = json_object_get(json, "buckets");
    last = json_array_get(buckets, 167);
    SSO_CHECK(json_array_size(buckets) == 168
              && json_integer_value(json_object_get(last, "failure")) == 1);
    json_decref(json);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/stats?range=year", &a, NULL,
                                   NULL, NULL) == 400);

    /* Disabling B ends B's session; enabling does not bring it back. */
    snprintf(target, sizeof target, "/dashboard/api/v1/admins/%s/disable", b.id);
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", target, &a, a.csrf, NULL, NULL) == 200);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/session", &b, NULL, NULL, NULL)
              == 401);
    snprintf(target, sizeof target, "/api/v1/admins/%s/enable", b.id);
    SSO_CHECK(dir_testkit_call(kit, "POST", target, NULL, NULL) == 200);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/session", &b, NULL, NULL, NULL)
              == 401);

    /* Sign-out: the cookie cleared, the row gone, the old cookie refused. */
    dir_dash_testkit_reply_t reply;
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/dashboard/api/signout", a.cookie, a.csrf,
                                      NULL, NULL, NULL, &reply) == 0);
    SSO_CHECK(reply.status == 204 && strstr(reply.set_cookie, "__Host-sso_dashboard=; ")
              && strstr(reply.set_cookie, "Max-Age=0"));
    dir_dash_testkit_reply_free(&reply);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/session", &a, NULL, NULL, NULL)
              == 401);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'POST /dashboard/api/signout'", NULL) == 1);
}

void dir_dash_router_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_signin);
    dir_testkit_run(s_test_api);
}
