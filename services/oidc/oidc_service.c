#include "oidc_service.h"
#include "oidc_authorize.h"
#include "oidc_calls.h"
#include "oidc_jwks.h"
#include "oidc_login.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_upstream.h"

/* Issuers whose documents are kept at once. */
#define S_CACHE_ISSUERS 256

#define S_ID_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
#define S_ID_MAX 128

static zframe_t *s_http(sso_service_t *service, const Sso__HttpRequest *request,
                        const Sso__Meta *meta)
{
    /* OIDC_CALLBACK_PATH/<connection id>: the ids the directory makes. */
    const char *prefix = OIDC_CALLBACK_PATH "/";
    const char *id = !strncmp(request->path, prefix, strlen(prefix))
                         ? request->path + strlen(prefix)
                         : NULL;
    size_t len = id ? strlen(id) : 0;
    if (id && len > 0 && len <= S_ID_MAX && strspn(id, S_ID_CHARS) == len)
        return oidc_login_callback(service, request, id, meta ? meta->deadline_ms : 0);
    /* OIDC_JWKS_PATH_PREFIX<connection id>OIDC_JWKS_PATH_SUFFIX, read with GET. */
    const char *jwks = request->path + strlen(OIDC_JWKS_PATH_PREFIX);
    len = strspn(jwks, S_ID_CHARS);
    if (!strncmp(request->path, OIDC_JWKS_PATH_PREFIX, strlen(OIDC_JWKS_PATH_PREFIX))
        && len > 0 && len <= S_ID_MAX && !strcmp(jwks + len, OIDC_JWKS_PATH_SUFFIX)) {
        if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
            return sso_http_method_not_allowed("GET, HEAD");
        char id_copy[S_ID_MAX + 1];
        snprintf(id_copy, sizeof id_copy, "%.*s", (int) len, jwks);
        return oidc_jwks_http(service, id_copy);
    }
    return sso_http_error(404, "not_found", "no such path");
}

static zframe_t *s_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                       const Sso__Meta *meta)
{
    if (sso_upstream_is_start(rpc))
        return oidc_login_start(service, payload, meta ? meta->deadline_ms : 0);
    sso_warn("unknown rpc %.64s", rpc);
    return NULL;
}

static int s_init(sso_service_t *service)
{
    oidc_state_t *state = calloc(1, sizeof *state);
    if (state) {
        state->cache = sso_oidc_cache_new(S_CACHE_ISSUERS);
        state->calls_max = service->config ? oidc_calls_max(service->config->worker_credit) : 0;
    }
    if (!state || !state->cache) {
        free(state);
        return -1;
    }
    service->state = state;
    return 0;
}

static void s_fini(sso_service_t *service)
{
    oidc_state_t *state = service->state;
    if (state)
        sso_oidc_cache_destroy(&state->cache);
    free(state);
    service->state = NULL;
}

/* UpstreamStart.Start comes from the token service's /oauth/authorize; nothing else calls
   oidc. */
static const char *const s_rpc_callers[] = {"token", NULL};

const sso_service_def_t oidc_service = {
    .name = "oidc",
    .summary = "The upstream OpenID Connect relying party of the SSO broker (the authorization\n"
               "request, the callback, the code exchange and the ID token's checks): a bus\n"
               "worker that connects to SSO_BROKER_ENDPOINT.",
    .init = s_init,
    .fini = s_fini,
    .http = s_http,
    .rpc = s_rpc,
    .rpc_callers = s_rpc_callers,
    .concurrent = true, /* logins wait on providers in fibers and offloads, see oidc_calls */
};

void oidc_service_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(!strcmp(oidc_service.name, "oidc") && oidc_service.http && oidc_service.rpc
              && oidc_service.init && oidc_service.fini && oidc_service.concurrent);
    sso_service_t service = {0};
    SSO_CHECK(s_init(&service) == 0 && service.state);
    s_fini(&service);
    SSO_CHECK(!service.state);
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.method = "GET";
    request.path = "/sso/oidc/callback";
    zframe_t *frame = s_http(NULL, &request, NULL);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(response && response->status == 404);
    if (response)
        sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
    /* Near misses of the JWKS path are no JWKS path (and need no directory); the path
       itself with another method is refused before any. */
    const char *paths[] = {"/sso/oidc/jwks", "/sso/oidc//jwks", "/sso/oidc/conn_a/jwks/",
                           "/sso/oidc/conn_a/jwks.json", "/sso/oidc/Conn_a/jwks",
                           "/sso/oidc/conn_a/b/jwks", "/sso/oidc/conn_a%2f/jwks",
                           "/sso/oidc/conn_a"};
    for (size_t i = 0; i <= sizeof paths / sizeof *paths; i++) {
        bool post = i == sizeof paths / sizeof *paths;
        request.method = post ? "POST" : "GET";
        request.path = post ? "/sso/oidc/conn_a/jwks" : (char *) paths[i];
        frame = s_http(NULL, &request, NULL);
        response = frame ? sso__http_response__unpack(NULL, zframe_size(frame),
                                                       zframe_data(frame))
                         : NULL;
        SSO_CHECK(response && response->status == (post ? 405u : 404u));
        if (response)
            sso__http_response__free_unpacked(response, NULL);
        zframe_destroy(&frame);
    }
    SSO_CHECK(!s_rpc(NULL, "saml_start", NULL, NULL) && !s_rpc(NULL, "UpstreamStart.", NULL, NULL));
}
