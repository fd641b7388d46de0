#include "gateway_routes.h"
#include "sso_http.h"
#include "sso_test.h"
#include <stdio.h>
#include <string.h>

const char *const gateway_services[] = {"token", "saml", "oidc", "directory", "scim", NULL};

typedef struct {
    const char *prefix;
    bool exact;            /* the whole path, not a prefix */
    route_kind_t kind;
    const char *service;
    bool secret_segments;  /* a path may carry a secret: the access log masks its segments */
} route_entry_t;

/* First match wins; prefixes end with '/' so "/keysfoo" is not "/keys". */
static const route_entry_t s_routes[] = {
    {"/healthz", true, ROUTE_OPS, NULL, false},
    {"/readyz", true, ROUTE_OPS, NULL, false},
    {"/metrics", true, ROUTE_OPS, NULL, false},
    {"/_ping/gateway", true, ROUTE_PING, NULL, false},
    {"/static/", false, ROUTE_STATIC, NULL, false},
    {"/.well-known/openid-configuration", true, ROUTE_SERVICE, "token", false},
    {"/keys", true, ROUTE_SERVICE, "token", false},
    {"/oauth/", false, ROUTE_SERVICE, "token", false},
    {"/userinfo", true, ROUTE_SERVICE, "token", false},
    {"/_ping/token", true, ROUTE_SERVICE, "token", false},
    /* The admin portal's test logins start where every login starts; the start handle is
       masked in the access log like a portal token. */
    {"/sso/test/", false, ROUTE_SERVICE, "token", true},
    {"/sso/saml/", false, ROUTE_SERVICE, "saml", false},
    {"/simulator/", false, ROUTE_SERVICE, "saml", false},
    {"/_ping/saml", true, ROUTE_SERVICE, "saml", false},
    {"/sso/oidc/", false, ROUTE_SERVICE, "oidc", false},
    {"/_ping/oidc", true, ROUTE_SERVICE, "oidc", false},
    /* SCIM 2.0 provisioning (/scim/v2/{directory_id}/...); its token is a header, never a
       path segment. */
    {"/scim/v2/", false, ROUTE_SERVICE, "scim", false},
    {"/_ping/scim", true, ROUTE_SERVICE, "scim", false},
    /* The token service's rotation route (it publishes the new key at once); the list,
       /api/v1/keys, is the directory's. */
    {"/api/v1/keys/", false, ROUTE_SERVICE, "token", false},
    {"/api/v1/", false, ROUTE_SERVICE, "directory", false},
    /* A portal link's token belongs after a '#', which never reaches us; one typed into the
       path must still never reach the access log. */
    {"/portal/", false, ROUTE_SERVICE, "directory", true},
    /* Where a dashboard "Try it" login ends: the token service mints its ID token. */
    {"/dashboard/try/callback", true, ROUTE_SERVICE, "token", false},
    /* The developer dashboard: a setup link's token belongs after a '#' as well. */
    {"/dashboard/", false, ROUTE_SERVICE, "directory", true},
    {"/_ping/directory", true, ROUTE_SERVICE, "directory", false},
};

static const route_entry_t *s_entry(const char *path)
{
    for (size_t i = 0; path && i < sizeof s_routes / sizeof s_routes[0]; i++) {
        const route_entry_t *entry = &s_routes[i];
        if (entry->exact ? strcmp(path, entry->prefix) == 0
                         : strncmp(path, entry->prefix, strlen(entry->prefix)) == 0)
            return entry;
    }
    return NULL;
}

route_t gateway_route(const char *path)
{
    route_t none = {ROUTE_NONE, NULL, "unknown"};
    if (!path || path[0] != '/')
        return none;
    const route_entry_t *entry = s_entry(path);
    if (!entry)
        return none;
    route_t route = {entry->kind, entry->service, entry->service};
    if (entry->kind == ROUTE_OPS)
        route.label = entry->prefix + 1;
    else if (entry->kind == ROUTE_STATIC)
        route.label = "static";
    else if (entry->kind == ROUTE_PING)
        route.label = "gateway";
    return route;
}

void gateway_route_log_path(const char *path, char *out, size_t size)
{
    const route_entry_t *entry = s_entry(path);
    if (entry && entry->secret_segments)
        sso_http_masked_path(path, out, size);
    else {
        /* Cut short when it does not fit: a log line, not a key. */
        size_t len = path ? strnlen(path, size - 1) : 0;
        memcpy(out, path ? path : "", len);
        out[len] = '\0';
    }
}

void gateway_routes_test(bool verbose)
{
    (void) verbose;
    /* The access log's path: a token typed into a portal path never shows; other paths and
       the portal's names and ids do. */
    char out[256];
    const char *token = "q3Xf_9Kz-Lm2Np8Rt5Vw1Yb4Dc7Gh0Jk3Mn6Pq9St2Uv";
    char path[200];
    snprintf(path, sizeof path, "/portal/%s", token);
    gateway_route_log_path(path, out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/~"));
    snprintf(path, sizeof path, "/sso/test/%s", token);
    gateway_route_log_path(path, out, sizeof out);
    SSO_CHECK(!strcmp(out, "/sso/test/~"));
    snprintf(path, sizeof path, "/portal/api/%s/x", token);
    gateway_route_log_path(path, out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/api/~/x"));
    gateway_route_log_path("/portal/abcdefghijklmnopqrstuvwxyz0123456", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/~")); /* 33 lower-case characters: too long for a name */
    gateway_route_log_path("/portal/Start", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/~"));
    gateway_route_log_path("/portal/", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/"));
    gateway_route_log_path("/portal/api/connections/conn_0a1b/test", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/api/connections/conn_0a1b/test"));
    gateway_route_log_path("/portal/start", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal/start"));
    gateway_route_log_path("/portal//x%41", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/portal//~"));
    gateway_route_log_path("/portal/start", out, 8);
    SSO_CHECK(!strcmp(out, "/portal"));
    snprintf(path, sizeof path, "/dashboard/setup/%s", token);
    gateway_route_log_path(path, out, sizeof out);
    SSO_CHECK(!strcmp(out, "/dashboard/setup/~"));
    gateway_route_log_path("/dashboard/api/v1/admins/adm_0a1b/disable", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/dashboard/api/v1/admins/adm_0a1b/disable"));
    SSO_CHECK(strcmp(gateway_route("/dashboard/").service, "directory") == 0);
    SSO_CHECK(strcmp(gateway_route("/dashboard/try/callback").service, "token") == 0);
    SSO_CHECK(strcmp(gateway_route("/dashboard/try/callbackx").service, "directory") == 0);
    gateway_route_log_path("/api/v1/Organizations", out, sizeof out);
    SSO_CHECK(!strcmp(out, "/api/v1/Organizations"));
    gateway_route_log_path(NULL, out, sizeof out);
    SSO_CHECK(!strcmp(out, ""));
    SSO_CHECK(!strcmp(gateway_route(path).label, "directory")); /* metrics: the service only */

    SSO_CHECK(gateway_route("/healthz").kind == ROUTE_OPS);
    SSO_CHECK(gateway_route("/healthz/x").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/oauth/token").service, "token") == 0);
    SSO_CHECK(strcmp(gateway_route("/keys").service, "token") == 0);
    SSO_CHECK(gateway_route("/keysx").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/api/v1/organizations").service, "directory") == 0);
    SSO_CHECK(strcmp(gateway_route("/api/v1/keys/rotate").service, "token") == 0);
    SSO_CHECK(strcmp(gateway_route("/api/v1/keys").service, "directory") == 0);
    SSO_CHECK(gateway_route("/api/v2/organizations").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/sso/saml/conn_1/acs").service, "saml") == 0);
    SSO_CHECK(strcmp(gateway_route("/sso/oidc/callback").service, "oidc") == 0);
    SSO_CHECK(strcmp(gateway_route("/scim/v2/dir_1/Users").service, "scim") == 0
              && strcmp(gateway_route("/scim/v2/dir_1/Users").label, "scim") == 0);
    SSO_CHECK(gateway_route("/scim/v2").kind == ROUTE_NONE
              && gateway_route("/scim/v1/dir_1/Users").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/_ping/scim").service, "scim") == 0);
    SSO_CHECK(strcmp(gateway_route("/sso/test/h").service, "token") == 0);
    SSO_CHECK(gateway_route("/static/app.css").kind == ROUTE_STATIC);
    SSO_CHECK(gateway_route("/_ping/gateway").kind == ROUTE_PING);
    SSO_CHECK(strcmp(gateway_route("/_ping/directory").service, "directory") == 0);
    SSO_CHECK(gateway_route("").kind == ROUTE_NONE);
    SSO_CHECK(gateway_route(NULL).kind == ROUTE_NONE);
    SSO_CHECK(gateway_route("relative").kind == ROUTE_NONE);
}
