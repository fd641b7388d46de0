#include "scim_service.h"
#include "scim_discovery.h"
#include "scim_groups.h"
#include "scim_http.h"
#include "scim_req.h"
#include "scim_resource.h"
#include "scim_users.h"
#include "sso_clients.h"
#include "sso_log.h"
#include "sso_test.h"

/* Whether the request's bearer token is one of the directory's live tokens: NULL, or the
   answer to give instead (401, or 503 when the directory cannot tell). */
static zframe_t *s_authenticate(scim_req_t *req)
{
    const char *token = sso_http_bearer(req->http);
    if (!token)
        return scim_http_unauthorized();
    Sso__ScimAuthenticateRequest request = SSO__SCIM_AUTHENTICATE_REQUEST__INIT;
    request.directory_id = req->directory_id;
    request.token = (char *) token;
    Sso__ScimAuthenticateReply *reply = NULL;
    int status = sso_dir_scim_authenticate(req->service, &request, &reply);
    zframe_t *refusal = NULL;
    if (status != 0 || !reply)
        refusal = scim_http_error(503, NULL, "the directory is unavailable; retry later");
    else if (reply->error == SSO__RPC_ERROR__INVALID_TOKEN)
        refusal = scim_http_unauthorized();
    else if (reply->error) {
        sso_warn("scim: ScimAuthenticate answered %d: %s", (int) reply->error,
                 reply->error_description);
        refusal = scim_http_error(500, NULL, "internal error");
    }
    if (reply)
        sso__scim_authenticate_reply__free_unpacked(reply, NULL);
    return refusal;
}

static zframe_t *s_discovery(scim_req_t *req)
{
    if (strcmp(req->http->method, "GET") != 0)
        return scim_http_method_not_allowed("GET");
    json_t *document = scim_discovery_get(req->rest, req->base_url);
    if (!document)
        return scim_http_error(404, NULL, "no such schema or resource type");
    return scim_http_json(200, document, NULL, NULL);
}

static zframe_t *s_http(sso_service_t *service, const Sso__HttpRequest *request,
                        const Sso__Meta *meta)
{
    (void) meta;
    scim_req_t req = {.service = service, .http = request};
    if (scim_req_parse(&req, request->path, service->config->public_url) != 0)
        return scim_http_error(404, NULL, "a SCIM path is /scim/v2/{directory_id}/...");
    zframe_t *refusal = s_authenticate(&req);
    if (refusal)
        return refusal;
    if (scim_discovery_owns(req.rest))
        return s_discovery(&req);
    if (scim_endpoint_owns(req.rest, "Users"))
        return scim_users_http(&req);
    if (scim_endpoint_owns(req.rest, "Groups"))
        return scim_groups_http(&req);
    return scim_http_error(404, NULL, "no such endpoint in this SCIM directory");
}

const sso_service_def_t scim_service = {
    .name = "scim",
    .summary = "The SCIM 2.0 service provider of the SSO broker: /scim/v2/{directory_id}/\n"
               "(Users, Groups, ServiceProviderConfig, ResourceTypes, Schemas), authenticated\n"
               "by each directory's bearer token. A bus worker that connects to SSO_BROKER_ENDPOINT.",
    .http = s_http,
    .concurrent = true, /* every request calls the directory; see sso_service.h */
};

void scim_service_test(bool verbose)
{
    (void) verbose;
    /* Paths that name no directory are 404 before any call; anything else calls the
       directory first, which without a bus is a 503 (never a document or a 404 that would
       tell an unauthenticated caller what exists). */
    sso_config_t config = {0};
    snprintf(config.public_url, sizeof config.public_url, "https://sso.example");
    sso_service_t service = {.config = &config};
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.method = "GET";
    Sso__Header auth = SSO__HEADER__INIT;
    auth.name = "authorization";
    auth.value = "Bearer scim_x";
    Sso__Header *headers[] = {&auth};
    static const struct {
        const char *path;
        bool with_token;
        uint32_t status;
    } cases[] = {
        {"/scim/v2/", true, 404},
        {"/scim/v2/a.b/Users", true, 404},
        {"/scim/v2/dir_1/Users", false, 401},
        {"/scim/v2/dir_1/Schemas", false, 401},
        {"/scim/v2/dir_none/Nothing", false, 401},
        {"/scim/v2/dir_1/Users", true, 503},
        {"/scim/v2/dir_1/Nothing", true, 503},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        request.path = (char *) cases[i].path;
        request.headers = cases[i].with_token ? headers : NULL;
        request.n_headers = cases[i].with_token ? 1 : 0;
        zframe_t *frame = s_http(&service, &request, NULL);
        Sso__HttpResponse *response = sso_test_http_unpack(frame);
        bool ok = response && response->status == cases[i].status;
        if (!ok)
            fprintf(stderr, "scim_service case %zu: %u\n", i, response ? response->status : 0);
        SSO_CHECK(ok);
        if (response)
            sso__http_response__free_unpacked(response, NULL);
    }
}
