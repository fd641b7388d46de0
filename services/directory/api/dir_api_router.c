/* dir_api_router: authentication and routing of /api/v1. */
#include "api/dir_api_router.h"
#include "api/dir_api.h"
#include "api/dir_clients.h"
#include "api/dir_connections.h"
#include "api/dir_domains.h"
#include "api/dir_openapi.h"
#include "api/dir_orgs.h"
#include "api/dir_portal.h"
#include "api/dir_scim_dirs.h"
#include "api/dir_signing_api.h"
#include "dashboard/dir_dash_admins.h"
#include "dashboard/dir_dash_audit.h"
#include "dir_testkit.h"
#include "login/dir_events.h"
#include "login/dir_tokens.h"
#include "sso_log.h"
#include "sso_test.h"
#include "webhooks/dir_webhooks.h"

#define DIR_API_PREFIX "/api/v1/"

static zframe_t *s_unauthorized(const char *token, const char *why)
{
    sso_response_t *response = sso_response_new(401);
    sso_response_header(response, "Cache-Control", "no-store");
    char challenge[200];
    /* RFC 6750 3: no error attribute when the request carried no token at all. */
    if (token)
        snprintf(challenge, sizeof challenge,
                 "Bearer realm=\"sso\", error=\"invalid_token\", error_description=\"%s\"", why);
    else
        snprintf(challenge, sizeof challenge, "Bearer realm=\"sso\"");
    sso_response_header(response, "WWW-Authenticate", challenge);
    sso_response_json(response, json_pack("{s:s, s:s}", "error", "invalid_token",
                                          "error_description", why));
    return sso_response_pack(&response);
}

/* Splits the path after /api/v1/ into segments; -1 when it has empty or too many. */
static int s_split(char *path, dir_api_req_t *req)
{
    size_t len = strlen(path);
    if (len && path[len - 1] == '/')
        path[--len] = '\0';
    if (len == 0)
        return -1;
    char *save = NULL;
    for (char *p = path;; p = NULL) {
        char *segment = strtok_r(p, "/", &save);
        if (!segment)
            break;
        if (req->n_segments == DIR_API_MAX_SEGMENTS || strlen(segment) > DIR_API_ID_MAX)
            return -1;
        req->segments[req->n_segments++] = segment;
    }
    /* strtok_r folds "//"; the original must not have had any. */
    return strstr(req->http->path, "//") ? -1 : 0;
}

static zframe_t *s_route(dir_api_req_t *req)
{
    const char *top = req->segments[0];
    size_t n = req->n_segments;
    if (strcmp(top, "clients") == 0 && n <= 3)
        return dir_clients_http(req);
    if (strcmp(top, "organizations") == 0) {
        if (n <= 2)
            return dir_orgs_http(req);
        if (strcmp(req->segments[2], "domains") == 0 && n <= 4)
            return dir_domains_http(req);
        if (strcmp(req->segments[2], "connections") == 0 && n == 3)
            return dir_connections_org_http(req);
        if (strcmp(req->segments[2], "portal_links") == 0 && n <= 4)
            return dir_portal_http(req);
        if (strcmp(req->segments[2], "directories") == 0 && n == 3)
            return dir_scim_dirs_org_http(req);
    }
    if (strcmp(top, "directories") == 0 && n >= 2 && n <= 4)
        return dir_scim_dirs_http(req);
    if (strcmp(top, "connections") == 0 && n >= 2 && n <= 4)
        return dir_connections_http(req);
    if (strcmp(top, "webhooks") == 0)
        return dir_webhooks_http(req);
    if (strcmp(top, "events") == 0 && n == 1)
        return dir_events_http(req);
    if (strcmp(top, "admins") == 0 && n <= 3)
        return dir_dash_admins_http(req);
    if (strcmp(top, "audit") == 0 && n == 1)
        return dir_dash_audit_http(req);
    if (strcmp(top, "keys") == 0 && n <= 2)
        return dir_signing_api_http(req);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

/* Routes the path after prefix (which the path has). */
static zframe_t *s_serve(dir_t *dir, const Sso__HttpRequest *request, const char *prefix)
{
    dir_api_req_t req = {.dir = dir, .http = request, .method = request->method};
    char path[DIR_API_PATH_MAX + 1];
    snprintf(path, sizeof path, "%s", request->path + strlen(prefix));
    if (s_split(path, &req) != 0)
        return sso_http_error(404, "not_found", "no such path under /api/v1");
    req.query = sso_form_parse(request->query, strlen(request->query));
    if (!req.query)
        return sso_http_error(400, "invalid_request",
                              "the query string is malformed (bad escape or repeated name)");
    zframe_t *reply = s_route(&req);
    zhashx_destroy(&req.query);
    return reply ? reply : sso_http_error(500, "server_error", "no response");
}

zframe_t *dir_api_router_serve(dir_t *dir, const Sso__HttpRequest *request, const char *prefix,
                               const char *actor_type, const char *actor)
{
    zframe_t *reply = strlen(request->path) <= DIR_API_PATH_MAX
                          ? s_serve(dir, request, prefix)
                          : sso_http_error(404, "not_found", "no such path under /api/v1");
    dir_dash_audit_change(dir, request, actor_type, actor, reply);
    return reply;
}

zframe_t *dir_api_router_handle(dir_t *dir, const Sso__HttpRequest *request)
{
    if (strncmp(request->path, DIR_API_PREFIX, strlen(DIR_API_PREFIX)) != 0
        || strlen(request->path) > DIR_API_PATH_MAX)
        return sso_http_error(404, "not_found", "no such path");
    /* The API's description is public (dir_openapi.h); only its exact path. */
    if (strcmp(request->path, DIR_OPENAPI_PATH) == 0)
        return dir_openapi_http(request);
    /* Authenticate before routing, so unauthenticated callers learn nothing about paths. */
    const char *token = sso_http_bearer(request);
    const char *why = "this API requires an Authorization: Bearer token from the token "
                      "endpoint (client_credentials with the admin client)";
    char client_id[DIR_API_ID_MAX + 1];
    if (!token)
        return s_unauthorized(NULL, why);
    if (!dir_tokens_check(dir, token, "management", &why, client_id, sizeof client_id))
        return s_unauthorized(token, why);
    return dir_api_router_serve(dir, request, DIR_API_PREFIX, "client", client_id);
}

/* Authentication before routing, and paths that lead nowhere. */
static void s_test(dir_testkit_t *kit)
{
    json_t *body = NULL;
    /* Authentication: missing, unknown, wrong scope. */
    char *token = kit->token;
    kit->token = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 401);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "invalid_token"));
    SSO_CHECK(!strncmp(kit->www_authenticate, "Bearer", 6));
    json_decref(body);
    kit->token = "at_forged";
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 401);
    SSO_CHECK(strstr(kit->www_authenticate, "invalid_token") != NULL);
    json_decref(body);
    /* Unknown paths are 401 before 404, so they reveal nothing. */
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/nothing", NULL, NULL) == 401);
    kit->token = token;

    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/nothing", NULL, &body) == 404);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "not_found"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations//x", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/elsewhere", NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations/a/b/c/d/e/f", NULL, NULL)
              == 404);
}

void dir_api_router_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
