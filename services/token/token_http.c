#include "token_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include "token_authorize.h"
#include "token_client_auth.h"
#include "token_code.h"
#include "sso_clients.h"
#include "token_dir.h"
#include "token_rotate.h"
#include "token_test_login.h"
#include "token_try.h"
#include "token_userinfo.h"
#include <strings.h>

#define MANAGEMENT_TOKEN_TTL 3600

char *token_discovery(const char *issuer)
{
    char authorize[600], token[600], userinfo[600], jwks[600];
    snprintf(authorize, sizeof authorize, "%s/oauth/authorize", issuer);
    snprintf(token, sizeof token, "%s/oauth/token", issuer);
    snprintf(userinfo, sizeof userinfo, "%s/userinfo", issuer);
    snprintf(jwks, sizeof jwks, "%s/keys", issuer);
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s,s], s:[s], s:[s], s:[s,s,s], s:[s,s], s:[s],"
        " s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]}",
        "issuer", issuer, "authorization_endpoint", authorize, "token_endpoint", token,
        "userinfo_endpoint", userinfo, "jwks_uri", jwks, "response_types_supported", "code",
        "response_modes_supported", "query", "grant_types_supported", "authorization_code",
        "client_credentials", "subject_types_supported", "public",
        "id_token_signing_alg_values_supported", "RS256", "scopes_supported", "openid", "email",
        "profile", "token_endpoint_auth_methods_supported", "client_secret_post",
        "client_secret_basic", "code_challenge_methods_supported", "S256", "claims_supported",
        "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "email",
        "email_verified", "name", "given_name", "family_name", "groups", "oid", "connection_id",
        "connection_type", "amr", "scim_user_id");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}

zframe_t *token_json(uint32_t status, json_t *body)
{
    sso_response_t *response = sso_response_new(status);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Pragma", "no-cache");
    sso_response_json(response, body);
    return sso_response_pack(&response);
}

/* A public, cacheable document: discovery and the JWKS. */
static zframe_t *s_public(char *text, const char *content_type)
{
    sso_response_t *response = sso_response_new(200);
    sso_response_header(response, "Cache-Control", "public, max-age=300");
    sso_response_header(response, "Access-Control-Allow-Origin", "*");
    sso_response_body(response, text, strlen(text), content_type);
    free(text);
    return sso_response_pack(&response);
}

static zframe_t *s_client_credentials(sso_service_t *service, const client_auth_t *auth)
{
    bool admin = false;
    zframe_t *refused = token_client_auth_require(service, auth, &admin);
    if (refused)
        return refused;
    if (!admin)
        return sso_http_error(400, "unauthorized_client",
                              "client_credentials is only for the management client");

    Sso__TokenIssueReply *reply = NULL;
    Sso__TokenIssueRequest issue = SSO__TOKEN_ISSUE_REQUEST__INIT;
    issue.client_id = auth->client_id;
    issue.scope = "management";
    issue.ttl_seconds = MANAGEMENT_TOKEN_TTL;
    int status = sso_dir_token_issue(service, &issue, &reply);
    if (status != 0)
        return token_dir_unavailable(status);
    zframe_t *frame;
    if (reply->error || !*reply->access_token)
        frame = sso_http_error(500, "server_error", "could not issue a token");
    else
        frame = token_json(200, json_pack("{s:s, s:s, s:I, s:s}", "access_token",
                                          reply->access_token, "token_type",
                                          "Bearer", "expires_in",
                                          (json_int_t) reply->expires_in, "scope",
                                          "management"));
    sso__token_issue_reply__free_unpacked(reply, NULL);
    return frame;
}

static zframe_t *s_token(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "POST") != 0)
        return sso_http_method_not_allowed("POST");
    /* RFC 6749 2.3.1 and 3.2: credentials, the code and the other parameters travel in the
       body only; a URL ends up in logs and histories, so anything in the query is refused
       rather than ignored. */
    if (request->query && *request->query) {
        sso_info("token request refused: parameters in the URL query");
        return sso_http_error(400, "invalid_request",
                              "the token endpoint takes its parameters in the form body only, "
                              "never in the URL query");
    }
    const char *type = sso_http_header(request, "content-type");
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
        return sso_http_error(400, "invalid_request",
                              "the body must be application/x-www-form-urlencoded");
    zhashx_t *params = sso_form_parse((const char *) request->body.data, request->body.len);
    if (!params)
        return sso_http_error(400, "invalid_request",
                              "malformed parameters, or a parameter given twice");
    zframe_t *reply;
    const char *grant = zhashx_lookup(params, "grant_type");
    client_auth_t auth;
    token_client_auth_read(request, params, &auth);
    if (!grant || !*grant)
        reply = sso_http_error(400, "invalid_request", "grant_type is missing");
    else if (auth.method == CLIENT_AUTH_INVALID)
        reply = sso_http_error(400, "invalid_request",
                               "malformed client credentials, or more than one method used");
    else if (auth.method == CLIENT_AUTH_NONE)
        reply = token_client_auth_error(&auth, "client authentication is required "
                                               "(client_secret_basic or client_secret_post)");
    else if (!token_client_auth_has_secret(&auth))
        reply = token_client_auth_error(&auth, "the client_secret is empty");
    else if (!strcmp(grant, "client_credentials"))
        reply = s_client_credentials(service, &auth);
    else if (!strcmp(grant, "authorization_code"))
        reply = token_code_grant(service, params, &auth);
    else
        reply = sso_http_error(400, "unsupported_grant_type",
                               "supported: authorization_code, client_credentials");
    token_client_auth_free(&auth);
    zhashx_destroy(&params);
    return reply;
}

zframe_t *token_http(sso_service_t *service, const Sso__HttpRequest *request,
                     const Sso__Meta *meta)
{
    (void) meta;
    token_state_t *state = service->state;
    bool get = !strcmp(request->method, "GET") || !strcmp(request->method, "HEAD");
    if (!strcmp(request->path, "/.well-known/openid-configuration")) {
        if (!get)
            return sso_http_method_not_allowed("GET, HEAD");
        return s_public(token_discovery(service->config->public_url), "application/json");
    }
    if (!strcmp(request->path, "/keys")) {
        if (!get)
            return sso_http_method_not_allowed("GET, HEAD");
        int status = token_keys_ensure(state->keys, service);
        if (status != 0)
            return token_dir_unavailable(status);
        return s_public(token_keys_jwks(state->keys), "application/jwk-set+json");
    }
    if (!strcmp(request->path, "/oauth/token"))
        return s_token(service, request);
    if (!strcmp(request->path, "/oauth/authorize"))
        return token_authorize_http(service, request);
    if (!strcmp(request->path, "/userinfo"))
        return token_userinfo_http(service, request);
    if (!strncmp(request->path, TOKEN_TEST_LOGIN_PREFIX, strlen(TOKEN_TEST_LOGIN_PREFIX)))
        return token_test_login_http(service, request);
    if (!strcmp(request->path, TOKEN_TRY_PATH))
        return token_try_http(service, request);
    if (!strcmp(request->path, "/api/v1/keys/rotate"))
        return token_rotate_http(service, request);
    return sso_http_error(404, "not_found", "no such path");
}

void token_http_test(bool verbose)
{
    (void) verbose;
    char *doc = token_discovery("https://sso.example.com");
    json_t *json = json_loads(doc, 0, NULL);
    SSO_CHECK(json && !strcmp(json_string_value(json_object_get(json, "issuer")),
                              "https://sso.example.com"));
    SSO_CHECK(json && !strcmp(json_string_value(json_object_get(json, "token_endpoint")),
                              "https://sso.example.com/oauth/token"));
    json_t *methods = json_object_get(json, "token_endpoint_auth_methods_supported");
    SSO_CHECK(methods && !strcmp(json_string_value(json_array_get(methods, 0)),
                                 "client_secret_post"));
    json_t *pkce = json_object_get(json, "code_challenge_methods_supported");
    SSO_CHECK(pkce && json_array_size(pkce) == 1);
    json_decref(json);
    free(doc);

    /* Requests refused before any bus call. */
    sso_service_t service = {0};
    token_state_t state = {0};
    service.state = &state;
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&header};
    header.name = "content-type";
    header.value = "application/x-www-form-urlencoded";
    request.headers = headers;
    request.n_headers = 1;
    request.method = "POST";
    request.path = "/oauth/token";
    struct {
        const char *body;
        unsigned status;
        const char *error;
    } cases[] = {
        {"", 400, "invalid_request"},
        {"grant_type=client_credentials", 401, "invalid_client"},
        {"grant_type=client_credentials&grant_type=x", 400, "invalid_request"},
        {"grant_type=password&client_id=a&client_secret=b", 400, "unsupported_grant_type"},
        {"grant_type=client_credentials&client_secret=b", 400, "invalid_request"},
        /* An empty secret is refused before the directory is asked, for every grant. */
        {"grant_type=client_credentials&client_id=admin&client_secret=", 401, "invalid_client"},
        {"grant_type=authorization_code&client_id=a&client_secret=&code=c&redirect_uri=x", 401,
         "invalid_client"},
        {"grant_type=%zz", 400, "invalid_request"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        request.body.data = (uint8_t *) cases[i].body;
        request.body.len = strlen(cases[i].body);
        zframe_t *frame = token_http(&service, &request, NULL);
        Sso__HttpResponse *response = sso__http_response__unpack(NULL, zframe_size(frame),
                                                                   zframe_data(frame));
        SSO_CHECK(response && response->status == cases[i].status);
        SSO_CHECK(response && memmem(response->body.data, response->body.len, cases[i].error,
                                     strlen(cases[i].error)));
        sso__http_response__free_unpacked(response, NULL);
        zframe_destroy(&frame);
    }
    request.method = "GET";
    zframe_t *frame = token_http(&service, &request, NULL);
    Sso__HttpResponse *response = sso__http_response__unpack(NULL, zframe_size(frame),
                                                               zframe_data(frame));
    SSO_CHECK(response && response->status == 405);
    sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
}
