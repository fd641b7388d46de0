/* dir_openapi: the management API's OpenAPI document. */
#include "api/dir_openapi.h"
#include "dir_testkit.h"
#include "sso_test.h"

zframe_t *dir_openapi_http(const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
        return sso_http_method_not_allowed("GET, HEAD");
    /* As the token service's discovery document: public, cacheable, and readable from a
       browser page elsewhere (an API explorer), which it may be since it holds no secret. */
    sso_response_t *response = sso_response_new(200);
    sso_response_header(response, "Cache-Control", "public, max-age=300");
    sso_response_header(response, "Access-Control-Allow-Origin", "*");
    sso_response_body(response, dir_openapi_doc, dir_openapi_doc_len, "application/json");
    return sso_response_pack(&response);
}

/* The compiled-in document is one JSON object of OpenAPI 3.1 that names the API's paths, and
   the router serves it without a token, to GET and HEAD only. */
static void s_test(dir_testkit_t *kit)
{
    SSO_CHECK(strlen(dir_openapi_doc) == dir_openapi_doc_len);
    json_error_t error;
    json_t *doc = json_loadb(dir_openapi_doc, dir_openapi_doc_len, 0, &error);
    SSO_CHECK(json_is_object(doc));
    const char *version = json_string_value(json_object_get(doc, "openapi"));
    SSO_CHECK(version && !strncmp(version, "3.1.", 4));
    json_t *paths = json_object_get(doc, "paths");
    SSO_CHECK(json_object_get(paths, "/organizations") && json_object_get(paths, "/openapi.json"));
    json_decref(doc);

    char *token = kit->token;
    kit->token = NULL;
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", DIR_OPENAPI_PATH, NULL, &body) == 200);
    SSO_CHECK(json_is_object(body) && json_object_get(body, "paths"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "HEAD", DIR_OPENAPI_PATH, NULL, NULL) == 200);
    SSO_CHECK(dir_testkit_call(kit, "POST", DIR_OPENAPI_PATH, "{}", &body) == 405);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "method_not_allowed"));
    json_decref(body);
    /* Only the exact path is public: what is beside it still needs a token. */
    SSO_CHECK(dir_testkit_call(kit, "GET", DIR_OPENAPI_PATH "/x", NULL, NULL) == 401);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/openapi.json.bak", NULL, NULL) == 401);
    kit->token = token;
    /* With a token it is the same document. */
    SSO_CHECK(dir_testkit_call(kit, "GET", DIR_OPENAPI_PATH, NULL, &body) == 200);
    SSO_CHECK(json_is_object(body));
    json_decref(body);
}

void dir_openapi_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
