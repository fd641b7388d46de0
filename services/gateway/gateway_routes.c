#include "gateway_routes.h"
#include "sso_test.h"
#include <string.h>

const char *const gateway_services[] = {"token", "saml", "oidc", "directory", NULL};

typedef struct {
    const char *prefix;
    bool exact;            /* the whole path, not a prefix */
    route_kind_t kind;
    const char *service;
} route_entry_t;

/* First match wins; prefixes end with '/' so "/keysfoo" is not "/keys". */
static const route_entry_t s_routes[] = {
    {"/healthz", true, ROUTE_OPS, NULL},
    {"/readyz", true, ROUTE_OPS, NULL},
    {"/metrics", true, ROUTE_OPS, NULL},
    {"/_ping/gateway", true, ROUTE_PING, NULL},
    {"/static/", false, ROUTE_STATIC, NULL},
    {"/.well-known/openid-configuration", true, ROUTE_SERVICE, "token"},
    {"/keys", true, ROUTE_SERVICE, "token"},
    {"/oauth/", false, ROUTE_SERVICE, "token"},
    {"/userinfo", true, ROUTE_SERVICE, "token"},
    {"/_ping/token", true, ROUTE_SERVICE, "token"},
    /* The admin portal's test logins start where every login starts. */
    {"/sso/test/", false, ROUTE_SERVICE, "token"},
    {"/sso/saml/", false, ROUTE_SERVICE, "saml"},
    {"/simulator/", false, ROUTE_SERVICE, "saml"},
    {"/_ping/saml", true, ROUTE_SERVICE, "saml"},
    {"/sso/oidc/", false, ROUTE_SERVICE, "oidc"},
    {"/_ping/oidc", true, ROUTE_SERVICE, "oidc"},
    /* Signing keys are the token service's, even under the management API. */
    {"/api/v1/keys/", false, ROUTE_SERVICE, "token"},
    {"/api/v1/", false, ROUTE_SERVICE, "directory"},
    {"/portal/", false, ROUTE_SERVICE, "directory"},
    {"/_ping/directory", true, ROUTE_SERVICE, "directory"},
};

route_t gateway_route(const char *path)
{
    route_t none = {ROUTE_NONE, NULL, "unknown"};
    if (!path || path[0] != '/')
        return none;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        const route_entry_t *entry = &s_routes[i];
        bool match = entry->exact ? strcmp(path, entry->prefix) == 0
                                  : strncmp(path, entry->prefix, strlen(entry->prefix)) == 0;
        if (match) {
            route_t route = {entry->kind, entry->service, entry->service};
            if (entry->kind == ROUTE_OPS)
                route.label = entry->prefix + 1;
            else if (entry->kind == ROUTE_STATIC)
                route.label = "static";
            else if (entry->kind == ROUTE_PING)
                route.label = "gateway";
            return route;
        }
    }
    return none;
}

void gateway_routes_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(gateway_route("/healthz").kind == ROUTE_OPS);
    SSO_CHECK(gateway_route("/healthz/x").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/oauth/token").service, "token") == 0);
    SSO_CHECK(strcmp(gateway_route("/keys").service, "token") == 0);
    SSO_CHECK(gateway_route("/keysx").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/api/v1/organizations").service, "directory") == 0);
    SSO_CHECK(strcmp(gateway_route("/api/v1/keys/rotate").service, "token") == 0);
    SSO_CHECK(gateway_route("/api/v2/organizations").kind == ROUTE_NONE);
    SSO_CHECK(strcmp(gateway_route("/sso/saml/conn_1/acs").service, "saml") == 0);
    SSO_CHECK(strcmp(gateway_route("/sso/oidc/callback").service, "oidc") == 0);
    SSO_CHECK(strcmp(gateway_route("/sso/test/h").service, "token") == 0);
    SSO_CHECK(gateway_route("/static/app.css").kind == ROUTE_STATIC);
    SSO_CHECK(gateway_route("/_ping/gateway").kind == ROUTE_PING);
    SSO_CHECK(strcmp(gateway_route("/_ping/directory").service, "directory") == 0);
    SSO_CHECK(gateway_route("").kind == ROUTE_NONE);
    SSO_CHECK(gateway_route(NULL).kind == ROUTE_NONE);
    SSO_CHECK(gateway_route("relative").kind == ROUTE_NONE);
}
