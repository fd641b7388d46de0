#include "saml_service.h"
#include "saml_conncache.h"
#include "saml_login.h"
#include "saml_simulator.h"
#include "saml_xml.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include <ctype.h>

int saml_service_parse_path(const char *path, char *id, size_t id_size, char *action,
                            size_t action_size)
{
    const char *prefix = "/sso/saml/";
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return -1;
    const char *start = path + strlen(prefix);
    const char *slash = strchr(start, '/');
    if (!slash || slash == start || (size_t) (slash - start) >= id_size)
        return -1;
    for (const char *p = start; p < slash; p++)
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
            return -1;
    if (strchr(slash + 1, '/') || strlen(slash + 1) >= action_size)
        return -1;
    memcpy(id, start, (size_t) (slash - start));
    id[slash - start] = '\0';
    snprintf(action, action_size, "%s", slash + 1);
    return 0;
}

static zframe_t *s_http(sso_service_t *service, const Sso__HttpRequest *request,
                        const Sso__Meta *meta)
{
    (void) meta;
    if (!strncmp(request->path, "/simulator/", 11))
        return saml_simulator_http(service, request);
    char id[64], action[16];
    if (saml_service_parse_path(request->path, id, sizeof id, action, sizeof action) == 0) {
        if (!strcmp(action, "acs"))
            return saml_login_acs(service, request, id);
        if (!strcmp(action, "metadata")) {
            if (strcmp(request->method, "GET") && strcmp(request->method, "HEAD"))
                return sso_http_method_not_allowed("GET, HEAD");
            return saml_login_metadata(service, id);
        }
    }
    return sso_http_error(404, "not_found", "no such path");
}

static zframe_t *s_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                       const Sso__Meta *meta)
{
    (void) meta;
    if (sso_upstream_is_start(rpc))
        return saml_login_start(service, payload);
    sso_warn("unknown rpc %s", rpc);
    return NULL;
}

/* The service's state is its cache of connections (saml_conncache). */
static int s_init(sso_service_t *service)
{
    service->state = saml_conncache_new();
    return service->state ? sso_xmlsec_init() : -1;
}

static void s_fini(sso_service_t *service)
{
    saml_conncache_t *cache = service->state;
    saml_conncache_destroy(&cache);
    service->state = NULL;
}

/* UpstreamStart.Start comes from the token service's /oauth/authorize; nothing else calls
   saml. */
static const char *const s_rpc_callers[] = {"token", NULL};

const sso_service_def_t saml_service = {
    .name = "saml",
    .summary = "The SAML 2.0 service provider of the SSO broker (AuthnRequest, ACS validation,\n"
               "SP metadata) and its IdP simulator. A bus worker that connects to\n"
               "SSO_BROKER_ENDPOINT.",
    .init = s_init,
    .fini = s_fini,
    .http = s_http,
    .concurrent = true, /* requests run in fibers; see sso_service.h */
    .rpc = s_rpc,
    .rpc_callers = s_rpc_callers,
};

void saml_service_test(bool verbose)
{
    (void) verbose;
    char id[64], action[16];
    SSO_CHECK(saml_service_parse_path("/sso/saml/conn_1/acs", id, sizeof id, action, sizeof action) == 0
              && !strcmp(id, "conn_1") && !strcmp(action, "acs"));
    SSO_CHECK(saml_service_parse_path("/sso/saml/conn_1/metadata", id, sizeof id, action,
                                      sizeof action) == 0 && !strcmp(action, "metadata"));
    SSO_CHECK(saml_service_parse_path("/sso/saml//acs", id, sizeof id, action, sizeof action) == -1);
    SSO_CHECK(saml_service_parse_path("/sso/saml/a/b/c", id, sizeof id, action, sizeof action) == -1);
    SSO_CHECK(saml_service_parse_path("/sso/saml/a%2e/acs", id, sizeof id, action, sizeof action) == -1);
    SSO_CHECK(saml_service_parse_path("/sso/saml/conn", id, sizeof id, action, sizeof action) == -1);
}
