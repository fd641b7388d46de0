/* dir_portal_router: the /portal/ paths and the portal API's routes. */
#include "portal/dir_portal_router.h"
#include "api/dir_api.h"
#include "portal/dir_portal_pages.h"
#include "portal/dir_portal_req.h"
#include "portal/dir_portal_testkit.h"
#include "sso_log.h"
#include "sso_test.h"

/* GET /portal/api/session: what the pages need to know of their session, its CSRF token
   included (the pages send it back in X-CSRF-Token). */
static zframe_t *s_session(dir_portal_req_t *req)
{
    const dir_portal_session_t *session = &req->session;
    char csrf[DIR_PORTAL_CSRF_LEN + 1];
    dir_portal_session_csrf(session, csrf);
    return sso_http_json(200, json_pack("{s:s, s:s, s:o, s:o, s:i}", "organization_id",
                                        session->organization_id, "csrf_token", csrf,
                                        "created_at", dir_json_time(session->created_at),
                                        "expires_at", dir_json_time(session->expires_at),
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
    if (!strcmp(path, DIR_PORTAL_PREFIX "start"))
        return dir_portal_pages_start(dir, request);
    return dir_portal_pages_not_found();
}

/* ---- self-test ------------------------------------------------------------------------- */

static int s_call(dir_testkit_t *kit, const char *method, const char *target,
                  const dir_portal_testkit_t *who, const char *csrf, const char *body,
                  json_t **json)
{
    dir_portal_testkit_reply_t reply;
    if (dir_portal_testkit_call(kit, method, target, who ? who->cookie : NULL, csrf, NULL,
                                body ? "application/json" : NULL, body, &reply) != 0)
        return -1;
    int status = reply.status;
    if (json) {
        *json = reply.json;
        reply.json = NULL;
    }
    dir_portal_testkit_reply_free(&reply);
    return status;
}

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
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &a, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "id"), a.org)
              && !strcmp(dir_testkit_str(json, "display_name"), "A <script>\"é\"")
              && json_array_size(json_object_get(json, "domains")) == 1
              && !strcmp(json_string_value(json_array_get(json_object_get(json, "domains"), 0)),
                         "a.example"));
    json_decref(json);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/session", &a, NULL, NULL, &json) == 200);
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
        SSO_CHECK(s_call(kit, "GET", target, &a, NULL, NULL, &json) == 403);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "access_denied"));
        json_decref(json);
    }
    snprintf(body, sizeof body, "{\"organization_id\":\"%s\"}", b.org);
    SSO_CHECK(s_call(kit, "POST", "/portal/api/logout", &a, a.csrf, body, NULL) == 403);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &a, NULL, body, NULL) == 403);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &a, NULL,
                     "{\"organization_id\":5}", NULL) == 400);
    snprintf(target, sizeof target, "/portal/api/organization?organization_id=%s", a.org);
    SSO_CHECK(s_call(kit, "GET", target, &a, NULL, NULL, NULL) == 200);
    /* B's own session still reads only B. */
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &b, NULL, NULL, &json) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json, "id"), b.org));
    json_decref(json);

    /* No session: 401 on every path, before any 404. A planted or forged cookie is none. */
    const char *const paths[] = {"/portal/api/organization", "/portal/api/session",
                                 "/portal/api/nothing", "/portal/api/"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        SSO_CHECK(s_call(kit, "GET", paths[i], NULL, NULL, NULL, &json) == 401);
        SSO_CHECK(!strcmp(dir_testkit_str(json, "error"), "invalid_session"));
        json_decref(json);
    }
    dir_portal_testkit_t forged = a;
    snprintf(forged.cookie, sizeof forged.cookie, "__Host-sso_portal=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &forged, NULL, NULL, NULL) == 401);
    SSO_CHECK(s_call(kit, "POST", "/portal/api/logout", NULL, a.csrf, NULL, NULL) == 401);

    /* CSRF: absent, empty, B's, one character off: 403 and the session lives on. */
    char off[64];
    snprintf(off, sizeof off, "%s", a.csrf);
    off[0] = off[0] == '0' ? '1' : '0';
    const char *const bad_csrf[] = {NULL, "", b.csrf, off};
    for (size_t i = 0; i < sizeof bad_csrf / sizeof *bad_csrf; i++)
        SSO_CHECK(s_call(kit, "POST", "/portal/api/logout", &a, bad_csrf[i], NULL, NULL) == 403);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &a, NULL, NULL, NULL) == 200);

    /* Unknown paths and methods with a session. */
    SSO_CHECK(s_call(kit, "GET", "/portal/api/nothing", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization/", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(s_call(kit, "GET", "/portal/api//organization", &a, NULL, NULL, NULL) == 404);
    SSO_CHECK(s_call(kit, "DELETE", "/portal/api/organization", &a, a.csrf, NULL, NULL) == 405);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/logout", &a, NULL, NULL, NULL) == 405);

    /* Revoking A's link ends A's session at once; B's lives on. */
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links/%s", a.org, a.link);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &a, NULL, NULL, NULL) == 401);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &b, NULL, NULL, NULL) == 200);

    /* Logout: 204, the cookie cleared, the session gone. */
    dir_portal_testkit_reply_t reply;
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/api/logout", b.cookie, b.csrf, NULL,
                                      NULL, NULL, &reply) == 0);
    SSO_CHECK(reply.status == 204 && strstr(reply.set_cookie, "__Host-sso_portal=; ")
              && strstr(reply.set_cookie, "Max-Age=0"));
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(s_call(kit, "GET", "/portal/api/organization", &b, NULL, NULL, NULL) == 401);
    SSO_CHECK(s_call(kit, "POST", "/portal/api/logout", &b, b.csrf, NULL, NULL) == 401);
}

void dir_portal_router_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
