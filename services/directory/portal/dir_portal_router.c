/* dir_portal_router: the /portal/ paths and the portal API's routes. */
#include "portal/dir_portal_router.h"
#include "api/dir_api.h"
#include "login/dir_last_login.h"
#include "login/dir_tests.h"
#include "portal/dir_portal_connections.h"
#include "portal/dir_portal_pages.h"
#include "portal/dir_portal_req.h"
#include "portal/dir_portal_testkit.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include "vault/dir_pki.h"

/* GET /portal/api/session: what the pages need to know of their session, its CSRF token
   included (the pages send it back in X-CSRF-Token). */
static zframe_t *s_session(dir_portal_req_t *req)
{
    const dir_portal_session_t *session = &req->session;
    char csrf[DIR_PORTAL_CSRF_LEN + 1];
    dir_portal_session_csrf(session, csrf);
    return sso_http_json(200, json_pack("{s:s, s:s, s:o, s:o, s:i}", "organization_id",
                                        session->organization_id, "csrf_token", csrf,
                                        "created_at", dir_json_time(session->web.created_at),
                                        "expires_at", dir_json_time(session->web.expires_at),
                                        "idle_timeout", DIR_PORTAL_SESSION_IDLE));
}

/* GET /portal/api/organization: the session's organization and its domains (read-only
   here; the app's developer manages them). */
static json_t *s_org_row(dir_t *dir, dir_db_stmt_t *stmt)
{
    json_t *domains = dir_api_column(dir, "SELECT domain FROM domains WHERE organization_id = "
                                          "? ORDER BY domain", "s", dir_db_text(stmt, 0));
    return json_pack("{s:s, s:s, s:o}", "id", dir_db_text(stmt, 0), "display_name",
                     dir_db_text(stmt, 1), "domains", domains);
}

static zframe_t *s_organization(dir_portal_req_t *req)
{
    const char *org = req->session.organization_id;
    return dir_api_found(dir_api_row(req->dir, s_org_row, "SELECT id, display_name FROM "
                                                          "organizations WHERE id = ?", "s", org),
                         "organization", org);
}

/* POST /portal/api/logout: the session ends and the browser forgets the cookie. */
static zframe_t *s_logout(dir_portal_req_t *req)
{
    char cookie[300];
    if (dir_portal_session_end(req->dir, &req->session) != 0
        || dir_portal_session_cookie(req->dir, NULL, cookie, sizeof cookie) != 0)
        return dir_api_db_error();
    sso_response_t *response = sso_response_new(204);
    sso_response_header(response, "Set-Cookie", cookie);
    sso_response_header(response, "Cache-Control", "no-store");
    return sso_response_pack(&response);
}

/* POST /portal/api/connections/{id}/test: a test login of one of the session's connections,
   bound to this browser by the binding cookie (its own, or one drawn now), which the reply
   sets; the page opens start_url in a new window. */
#define S_TEST_BINDING_AGE 600
static zframe_t *s_test_start(dir_portal_req_t *req)
{
    const char *connection_id = req->segments[1];
    zframe_t *refused = dir_portal_req_owns(req, DIR_PORTAL_CONNECTION, connection_id);
    if (refused)
        return refused;
    const char *public_url = req->dir->public_url;
    char *binder = sso_upstream_binder(req->http, public_url);
    if (!binder)
        binder = sso_random_token(SSO_COOKIE_TOKEN_BYTES);
    dir_error_t err = {0};
    char *test_id = NULL, *handle = NULL, cookie[300], start_url[700];
    zframe_t *reply = NULL;
    if (!binder)
        reply = dir_api_db_error();
    else if (dir_tests_create(req->dir, req->session.organization_id, connection_id, binder,
                              &test_id, &handle, &err) != 0)
        reply = dir_error_reply(&err);
    else if (sso_upstream_binding_cookie(public_url, binder, S_TEST_BINDING_AGE, cookie,
                                         sizeof cookie) != 0
             || (size_t) snprintf(start_url, sizeof start_url, "%s/sso/test/%s", public_url,
                                  handle) >= sizeof start_url) {
        sso_error("portal: no binding cookie or start URL for test %s", test_id);
        reply = dir_api_db_error();
    }
    else {
        sso_response_t *response = sso_response_new(201);
        sso_response_header(response, "Set-Cookie", cookie);
        sso_response_header(response, "Cache-Control", "no-store");
        sso_response_json(response, json_pack("{s:s, s:s}", "test_id", test_id, "start_url",
                                              start_url));
        reply = sso_response_pack(&response);
    }
    free(binder);
    free(test_id);
    free(handle);
    return reply;
}

/* GET /portal/api/tests/{id}: a test's result, when it is the session's organization's. */
static zframe_t *s_test_result(dir_portal_req_t *req)
{
    /* Another organization's test is a 403, as every portal route answers (issue 19). */
    zframe_t *refused = dir_portal_req_owns(req, DIR_PORTAL_TEST, req->segments[1]);
    if (refused)
        return refused;
    dir_error_t err = {0};
    json_t *result = dir_tests_result(req->dir, req->session.organization_id,
                                      req->segments[1], &err);
    return result ? sso_http_json(200, result) : dir_error_reply(&err);
}

/* GET /portal/api/connections/{id}/last_login: the last successful sign-in of one of the
   session's connections (login/dir_last_login), or 204 when it has had none yet: the page asks
   for it each time it shows a connection, and a 404 would be an error in the browser's
   console every time. */
static zframe_t *s_last_login(dir_portal_req_t *req)
{
    zframe_t *refused = dir_portal_req_owns(req, DIR_PORTAL_CONNECTION, req->segments[1]);
    if (refused)
        return refused;
    dir_error_t err = {0};
    json_t *last = dir_last_login_get(req->dir, req->segments[1], &err);
    return last ? sso_http_json(200, last)
                : err.status == 404 ? dir_api_no_content() : dir_error_reply(&err);
}

typedef zframe_t *(dir_portal_route_fn)(dir_portal_req_t *req);
typedef struct {
    const char *method;
    const char *path;  /* after /portal/api/; a "*" segment matches any one segment */
    dir_portal_route_fn *fn;
} dir_portal_route_t;

/* Every portal API route. Each runs after dir_portal_req_open, so it has a live session, a
   checked CSRF token if it changes state, and takes its organization from the session. */
static const dir_portal_route_t s_routes[] = {
    {"GET", "session", s_session},
    {"GET", "organization", s_organization},
    {"POST", "logout", s_logout},
    {"GET", "connections", dir_portal_connections_collection},
    {"POST", "connections", dir_portal_connections_collection},
    {"GET", "connections/*", dir_portal_connections_item},
    {"PATCH", "connections/*", dir_portal_connections_item},
    {"DELETE", "connections/*", dir_portal_connections_item},
    {"POST", "connections/*/enable", dir_portal_connections_item},
    {"POST", "connections/*/disable", dir_portal_connections_item},
    {"GET", "connections/*/last_login", s_last_login},
    {"POST", "connections/*/test", s_test_start},
    {"GET", "tests/*", s_test_result},
    {"POST", "saml/check", dir_portal_connections_saml_check},
    {"GET", "events", dir_portal_connections_events},
};

static bool s_matches(const dir_portal_req_t *req, const char *pattern)
{
    size_t i = 0;
    for (const char *p = pattern; *p; i++) {
        size_t len = strcspn(p, "/");
        if (i == req->n_segments
            || (strncmp(p, "*", len) && (strlen(req->segments[i]) != len
                                         || strncmp(p, req->segments[i], len))))
            return false;
        p += len + (p[len] == '/');
    }
    return i == req->n_segments;
}

static zframe_t *s_api(dir_t *dir, const Sso__HttpRequest *request)
{
    dir_portal_req_t req;
    zframe_t *reply = dir_portal_req_open(&req, dir, request);
    char allow[64] = "";
    for (size_t i = 0; !reply && i < sizeof s_routes / sizeof *s_routes; i++) {
        if (!s_matches(&req, s_routes[i].path))
            continue;
        if (!strcmp(req.method, s_routes[i].method))
            reply = s_routes[i].fn(&req);
        else
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                     *allow ? ", " : "", s_routes[i].method);
    }
    if (!reply)
        reply = *allow ? dir_api_method_not_allowed(allow)
                       : sso_http_error(404, "not_found", "no such path under /portal/api");
    dir_portal_req_close(&req);
    return reply;
}

zframe_t *dir_portal_router_handle(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *path = request->path ? request->path : "";
    if (!strncmp(path, DIR_PORTAL_API_PREFIX, strlen(DIR_PORTAL_API_PREFIX)))
        return s_api(dir, request);
    return dir_portal_pages_handle(dir, request);
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    SSO_CHECK(dir_portal_testkit_session(kit, "A <script>\"é\"", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", a.org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"a.example\"}", NULL) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", b.org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{\"domain\":\"b.example\"}", NULL) == 201);

    /* The session's organization, from the session alone. */
    json_t *json = NULL;
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &a, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "id"), a.org)
              && !strcmp(dir_testkit_str(json, "display_name"), "A <script>\"é\"")
              && json_array_size(json_object_get(json, "domains")) == 1
              && !strcmp(json_string_value(json_array_get(json_object_get(json, "domains"), 0)),
                         "a.example"));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/session", &a, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "organization_id"), a.org)
              && !strcmp(dir_testkit_str(json, "csrf_token"), a.csrf));
    json_decref(json);

    /* A's session naming B in any way: 403, and B's data never in the answer. */
    char target[300], body[200];
    const char *const named[] = {"/portal/api/organization?organization_id=%s",
                                 "/portal/api/organizations/%s",
                                 "/portal/api/organization/%s/domains",
                                 "/portal/api/session?organization_id=%s"};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        snprintf(target, sizeof target, named[i], b.org);
        SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, &json) == 403);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "access_denied"));
        json_decref(json);
    }
    snprintf(body, sizeof body, "{\"organization_id\":\"%s\"}", b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", &a, a.csrf, body, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &a, NULL, body, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &a, NULL,
                     "{\"organization_id\":5}", NULL) == 400);
    /* A's own id first does not let B's through, in the path or in a body naming it twice;
       a body the guard cannot read is refused. */
    snprintf(target, sizeof target, "/portal/api/organization/%s/%s", a.org, b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 403);
    snprintf(body, sizeof body, "{\"organization_id\":\"%s\",\"organization_id\":\"%s\"}",
             a.org, b.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", &a, a.csrf, body, NULL) == 400);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", &a, a.csrf, "not json", NULL) == 400);
    snprintf(target, sizeof target, "/portal/api/organization?organization_id=%s", a.org);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 200);
    /* B's own session still reads only B. */
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &b, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "id"), b.org));
    json_decref(json);

    /* No session: 401 on every path, before any 404. A planted or forged cookie is none. */
    const char *const paths[] = {"/portal/api/organization", "/portal/api/session",
                                 "/portal/api/nothing", "/portal/api/"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        SSO_CHECK(dir_portal_testkit_json(kit, "GET", paths[i], NULL, NULL, NULL, &json) == 401);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "invalid_session"));
        json_decref(json);
    }
    dir_portal_testkit_t forged = a;
    snprintf(forged.cookie, sizeof forged.cookie, "__Host-sso_portal=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &forged, NULL, NULL, NULL) == 401);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", NULL, a.csrf, NULL, NULL) == 401);

    /* CSRF: absent, empty, B's, one character off: 403 and the session lives on. */
    char off[64];
    snprintf(off, sizeof off, "%s", a.csrf);
    off[0] = off[0] == '0' ? '1' : '0';
    const char *const bad_csrf[] = {NULL, "", b.csrf, off};
    for (size_t i = 0; i < sizeof bad_csrf / sizeof *bad_csrf; i++)
        SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", &a, bad_csrf[i], NULL, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &a, NULL, NULL, NULL) == 200);

    /* Unknown paths and methods with a session. */
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/nothing", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization/", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api//organization", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "DELETE", "/portal/api/organization", &a, a.csrf, NULL, NULL) == 405);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/logout", &a, NULL, NULL, NULL) == 405);

    /* Revoking A's link ends A's session at once; B's lives on. */
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links/%s", a.org, a.link);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &a, NULL, NULL, NULL) == 401);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &b, NULL, NULL, NULL) == 200);

    /* Logout: 204, the cookie cleared, the session gone. */
    dir_portal_testkit_reply_t reply;
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/api/logout", b.cookie, b.csrf, NULL,
                                      NULL, NULL, &reply) == 0);
    SSO_CHECK(reply.status == 204 && strstr(reply.set_cookie, "__Host-sso_portal=; ")
              && strstr(reply.set_cookie, "Max-Age=0"));
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/organization", &b, NULL, NULL, NULL) == 401);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/logout", &b, b.csrf, NULL, NULL) == 401);
}

/* A draft SAML connection of org that trusts cert_pem; its id into id. 0 or -1. */
static int s_saml_connection(dir_testkit_t *kit, const char *org, const char *cert_pem,
                             char id[64])
{
    char path[200];
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    json_t *body = json_pack("{s:s, s:{s:s, s:s, s:[s]}}", "type", "saml", "saml",
                             "idp_entity_id", "https://idp.example.com/e", "idp_sso_url",
                             "https://idp.example.com/sso", "idp_certificates", cert_pem);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int status = text ? dir_testkit_field(kit, "POST", path, text, "id", id, 64) : -1;
    free(text);
    return status == 201 ? 0 : -1;
}

/* POST connections/{id}/test as who with csrf and the extra cookie (NULL for none): the
   status, the reply kept in reply (free it). */
static int s_start(dir_testkit_t *kit, const dir_portal_testkit_t *who, const char *csrf,
                   const char *connection_id, const char *extra_cookie,
                   dir_portal_testkit_reply_t *reply)
{
    char target[200], cookie[400];
    snprintf(target, sizeof target, "/portal/api/connections/%s/test", connection_id);
    snprintf(cookie, sizeof cookie, "%s%s%s", who->cookie, extra_cookie ? "; " : "",
             extra_cookie ? extra_cookie : "");
    if (dir_portal_testkit_call(kit, "POST", target, cookie, csrf, NULL, NULL, NULL, reply)
        != 0)
        return -1;
    return reply->status;
}

/* The test button's routes: a session starts a test login of its own connections only, with
   its CSRF token, and reads its own tests' results only. */
static void s_test_logins(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    char *idp_key = NULL, *idp_cert = NULL, conn_a[64] = "", conn_b[64] = "";
    SSO_CHECK(dir_pki_sp_keypair("idp.example.com", &idp_key, &idp_cert) == 0);
    SSO_CHECK(s_saml_connection(kit, a.org, idp_cert ? idp_cert : "", conn_a) == 0);
    SSO_CHECK(s_saml_connection(kit, b.org, idp_cert ? idp_cert : "", conn_b) == 0);
    free(idp_key);
    free(idp_cert);

    /* A's own draft connection: 201, the start URL, the browser's binding cookie set. */
    dir_portal_testkit_reply_t reply;
    SSO_CHECK(s_start(kit, &a, a.csrf, conn_a, NULL, &reply) == 201);
    char test_a[64] = "", start_prefix[600], binder[64] = "";
    snprintf(test_a, sizeof test_a, "%s", dir_testkit_str(reply.json, "test_id"));
    snprintf(start_prefix, sizeof start_prefix, "%s/sso/test/", kit->dir->public_url);
    const char *start_url = dir_testkit_str(reply.json, "start_url");
    SSO_CHECK(!strncmp(test_a, "tst_", 4)
              && !strncmp(start_url, start_prefix, strlen(start_prefix))
              && sso_cookie_token_ok(start_url + strlen(start_prefix)));
    const char *name = sso_upstream_binding_name(kit->dir->public_url);
    SSO_CHECK(!strncmp(reply.set_cookie, name, strlen(name))
              && reply.set_cookie[strlen(name)] == '=' && strstr(reply.set_cookie, "HttpOnly")
              && strstr(reply.set_cookie, "Max-Age=600"));
    const char *value = reply.set_cookie + strlen(name) + 1;
    snprintf(binder, sizeof binder, "%.*s", (int) strcspn(value, ";"), value);
    SSO_CHECK(sso_cookie_token_ok(binder));
    dir_portal_testkit_reply_free(&reply);
    /* The browser keeps its binder for the next test. */
    char extra[200];
    snprintf(extra, sizeof extra, "%s=%s", name, binder);
    SSO_CHECK(s_start(kit, &a, a.csrf, conn_a, extra, &reply) == 201);
    SSO_CHECK(strstr(reply.set_cookie, extra) == reply.set_cookie
              && strcmp(dir_testkit_str(reply.json, "test_id"), test_a) != 0);
    dir_portal_testkit_reply_free(&reply);
    int64_t tests = dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL);
    SSO_CHECK(tests == 2);

    /* B's connection (403: dir_portal_req_owns knows it is another organization's), none,
       empty, hostile, and no or a wrong CSRF token (403): no test made, no cookie set. */
    const struct {
        const char *csrf, *conn;
        int status;
    } refused[] = {{a.csrf, conn_b, 403},   {a.csrf, "conn_none", 404},
                   {a.csrf, "%3Cscript%3E", 404}, {NULL, conn_a, 403},
                   {"", conn_a, 403},       {b.csrf, conn_a, 403}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        SSO_CHECK(s_start(kit, &a, refused[i].csrf, refused[i].conn, NULL, &reply)
                  == refused[i].status);
        SSO_CHECK(!*reply.set_cookie && !strstr(reply.body, "tst_"));
        dir_portal_testkit_reply_free(&reply);
    }
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/connections//test", &a, a.csrf, NULL, NULL)
              == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/connections/x/test", &a, NULL, NULL, NULL)
              == 405);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL) == tests);

    /* A's own test reads as pending; B's test is a 403 to A, an unknown one a 404. */
    char target[200];
    json_t *json = NULL;
    snprintf(target, sizeof target, "/portal/api/tests/%s", test_a);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "id"), test_a)
              && !strcmp(dir_testkit_str(json, "status"), "pending")
              && !strcmp(dir_testkit_str(json, "connection_id"), conn_a));
    json_decref(json);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &b, NULL, NULL, &json) == 403);
    SSO_CHECK(!json_object_get(json, "connection_id") && !json_object_get(json, "profile"));
    json_decref(json);
    SSO_CHECK(s_start(kit, &b, b.csrf, conn_b, NULL, &reply) == 201);
    snprintf(target, sizeof target, "/portal/api/tests/%s",
             dir_testkit_str(reply.json, "test_id"));
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &a, NULL, NULL, NULL) == 403);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", target, &b, NULL, NULL, NULL) == 200);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/tests/tst_none", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "GET", "/portal/api/tests/%3Cscript%3E", &a, NULL, NULL, NULL)
              == 404);
    SSO_CHECK(dir_portal_testkit_json(kit, "POST", "/portal/api/tests/x", &a, a.csrf, NULL, NULL) == 405);
}

void dir_portal_router_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_logins);
}
