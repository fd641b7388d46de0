/* dir_portal_req: the context of a portal API request, and the organization rule. */
#include "portal/dir_portal_req.h"
#include "portal/dir_portal_testkit.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"

/* Splits the path after /portal/api/ into segments: -1 when it is empty, has an empty
   segment ("//", a trailing '/') or too many. */
static int s_split(dir_portal_req_t *req)
{
    const char *rest = req->http->path + strlen(DIR_PORTAL_API_PREFIX);
    if (strlen(rest) > DIR_PORTAL_PATH_MAX || !*rest || *rest == '/' || strstr(rest, "//")
        || rest[strlen(rest) - 1] == '/')
        return -1;
    snprintf(req->path, sizeof req->path, "%s", rest);
    char *save = NULL;
    for (char *p = req->path;; p = NULL) {
        char *segment = strtok_r(p, "/", &save);
        if (!segment)
            return 0;
        if (req->n_segments == DIR_PORTAL_MAX_SEGMENTS)
            return -1;
        req->segments[req->n_segments++] = segment;
    }
}

zframe_t *dir_portal_req_same_org(const dir_portal_req_t *req, const char *organization_id)
{
    if (organization_id && !strcmp(organization_id, req->session.organization_id))
        return NULL;
    sso_info("portal session %s of %s refused: the request names another organization",
             req->session.web.id, req->session.organization_id);
    return sso_http_error(403, "access_denied", "this portal session is for one organization "
                                                "and cannot read or change another");
}

/* Every place a request could name an organization, against the session's. */
static zframe_t *s_org_guard(const dir_portal_req_t *req)
{
    /* Every such segment: the session's own id first must not let another's through. */
    for (size_t i = 0; i < req->n_segments; i++) {
        zframe_t *refused = !strncmp(req->segments[i], "org_", 4)
                                ? dir_portal_req_same_org(req, req->segments[i])
                                : NULL;
        if (refused)
            return refused;
    }
    const char *named = zhashx_lookup(req->query, "organization_id");
    if (named)
        return dir_portal_req_same_org(req, named);
    if (req->http->body.len == 0)
        return NULL;
    json_t *body = json_loadb((const char *) req->http->body.data, req->http->body.len,
                              JSON_REJECT_DUPLICATES, NULL);
    json_t *value = json_object_get(body, "organization_id");
    zframe_t *refused = NULL;
    /* A body the guard cannot read (not JSON, a name twice) is no body a route may read. */
    if (!json_is_object(body))
        refused = sso_http_error(400, "invalid_request", "the body must be a JSON object, "
                                                         "each name once");
    else if (value && !json_is_string(value))
        refused = sso_http_error(400, "invalid_request", "organization_id must be a string");
    else if (value)
        refused = dir_portal_req_same_org(req, json_string_value(value));
    json_decref(body);
    return refused;
}

zframe_t *dir_portal_req_open(dir_portal_req_t *req, dir_t *dir, const Sso__HttpRequest *request)
{
    memset(req, 0, sizeof *req);
    req->dir = dir;
    req->http = request;
    req->method = request->method ? request->method : "";
    /* The session first, so that a caller without one learns nothing about paths. */
    static const char *const ended[] = {
        [DIR_PORTAL_SESSION_NONE] = "no portal session: open the portal link you were sent",
        [DIR_PORTAL_SESSION_IDLE_OUT] = "the portal session ended after 30 minutes without "
                                        "use: ask for a new portal link",
        [DIR_PORTAL_SESSION_EXPIRED] = "the portal session reached the end of its lifetime: "
                                       "ask for a new portal link",
    };
    dir_portal_state_t state = dir_portal_session_find(dir, request, &req->session);
    if (state == DIR_PORTAL_SESSION_ERROR)
        return sso_http_error(500, "server_error", "internal error; see the directory log");
    if (state != DIR_PORTAL_SESSION_OK)
        return sso_http_error(401, "invalid_session", ended[state]);
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")
        && !dir_portal_session_csrf_ok(&req->session, request)) {
        sso_info("portal session %s refused: %s without its CSRF token", req->session.web.id,
                 req->method);
        return sso_http_error(403, "access_denied", "this call needs the session's CSRF token "
                                                    "in the X-CSRF-Token header");
    }
    if (s_split(req) != 0)
        return sso_http_error(404, "not_found", "no such path under /portal/api");
    req->query = sso_form_parse(request->query ? request->query : "",
                                request->query ? strlen(request->query) : 0);
    if (!req->query)
        return sso_http_error(400, "invalid_request",
                              "the query string is malformed (bad escape or repeated name)");
    return s_org_guard(req);
}

void dir_portal_req_close(dir_portal_req_t *req)
{
    zhashx_destroy(&req->query);
}

zframe_t *dir_portal_req_owns(const dir_portal_req_t *req, dir_portal_kind_t kind,
                              const char *id)
{
    static const char *const sql[] = {
        [DIR_PORTAL_CONNECTION] = "SELECT organization_id FROM connections WHERE id = ?",
        [DIR_PORTAL_DOMAIN] = "SELECT organization_id FROM domains WHERE id = ?",
        [DIR_PORTAL_TEST] = "SELECT organization_id FROM login_tests WHERE id = ?",
    };
    static const char *const what[] = {[DIR_PORTAL_CONNECTION] = "connection",
                                       [DIR_PORTAL_DOMAIN] = "domain",
                                       [DIR_PORTAL_TEST] = "test"};
    dir_db_stmt_t *stmt = dir_db_query(req->dir->db, sql[kind], "s", id ? id : "");
    int rc = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    bool same = rc == DIR_DB_ROW && !strcmp(dir_db_text(stmt, 0), req->session.organization_id);
    dir_db_release(stmt);
    if (rc == DIR_DB_ROW)
        return same ? NULL : dir_portal_req_same_org(req, NULL);
    if (rc != DIR_DB_DONE)
        return sso_http_error(500, "server_error", "internal error; see the directory log");
    char text[200];
    snprintf(text, sizeof text, "no such %s", what[kind]);
    return sso_http_error(404, "not_found", text);
}

/* dir_portal_req_owns, for each kind: the session's own, another's, none. */
static void s_test(dir_testkit_t *kit)
{
    dir_portal_testkit_t a, b;
    SSO_CHECK(dir_portal_testkit_session(kit, "A", &a) == 0);
    SSO_CHECK(dir_portal_testkit_session(kit, "B", &b) == 0);
    char path[200], dom_a[64] = "", dom_b[64] = "";
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", a.org);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, "{\"domain\":\"a.example\"}", "id", dom_a,
                                sizeof dom_a) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/domains", b.org);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, "{\"domain\":\"b.example\"}", "id", dom_b,
                                sizeof dom_b) == 201);
    dir_portal_req_t req = {.dir = kit->dir};
    snprintf(req.session.organization_id, sizeof req.session.organization_id, "%s", a.org);
    SSO_CHECK(dir_portal_req_owns(&req, DIR_PORTAL_DOMAIN, dom_a) == NULL);
    zframe_t *frame = dir_portal_req_owns(&req, DIR_PORTAL_DOMAIN, dom_b);
    SSO_CHECK(dir_portal_testkit_status(frame) == 403);
    frame = dir_portal_req_owns(&req, DIR_PORTAL_DOMAIN, "dom_none");
    SSO_CHECK(dir_portal_testkit_status(frame) == 404);
    frame = dir_portal_req_owns(&req, DIR_PORTAL_DOMAIN, NULL);
    SSO_CHECK(dir_portal_testkit_status(frame) == 404);
    frame = dir_portal_req_owns(&req, DIR_PORTAL_CONNECTION, "conn_none");
    SSO_CHECK(dir_portal_testkit_status(frame) == 404);
    SSO_CHECK(dir_portal_req_same_org(&req, a.org) == NULL);
    SSO_CHECK(dir_portal_testkit_status(dir_portal_req_same_org(&req, b.org)) == 403);
    SSO_CHECK(dir_portal_testkit_status(dir_portal_req_same_org(&req, NULL)) == 403);
    SSO_CHECK(dir_portal_testkit_status(dir_portal_req_same_org(&req, "")) == 403);
}

void dir_portal_req_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
