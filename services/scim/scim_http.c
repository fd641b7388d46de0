/* scim_http: SCIM responses and error messages. */
#include "scim_http.h"
#include "sso_test.h"

/* json (reference taken) with up to two headers (a NULL name or value: none). */
static zframe_t *s_respond(uint32_t status, json_t *json, const char *name1, const char *value1,
                           const char *name2, const char *value2)
{
    char *body = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!body) /* out of memory: the shortest answer that still says so */
        return sso_http_error(500, "server_error", "out of memory");
    sso_response_t *response = sso_response_new(status);
    sso_response_header(response, "Cache-Control", "no-store");
    if (name1 && value1)
        sso_response_header(response, name1, value1);
    if (name2 && value2)
        sso_response_header(response, name2, value2);
    sso_response_body(response, body, strlen(body), SCIM_CONTENT_TYPE);
    free(body);
    return sso_response_pack(&response);
}

static json_t *s_error_json(uint32_t status, const char *scim_type, const char *detail)
{
    char text[16];
    snprintf(text, sizeof text, "%u", status);
    json_t *error = json_pack("{s:[s], s:s, s:s}", "schemas", SCIM_ERROR_URN, "status", text,
                              "detail", detail ? detail : "");
    if (error && scim_type)
        json_object_set_new(error, "scimType", json_string(scim_type));
    return error;
}

zframe_t *scim_http_json(uint32_t status, json_t *json, const char *location, const char *etag)
{
    return s_respond(status, json, "Location", location, "ETag", etag);
}

zframe_t *scim_http_error(uint32_t status, const char *scim_type, const char *detail)
{
    return s_respond(status, s_error_json(status, scim_type, detail), NULL, NULL, NULL, NULL);
}

zframe_t *scim_http_unauthorized(void)
{
    return s_respond(401, s_error_json(401, NULL, "a valid bearer token of this SCIM directory "
                                                  "is required"),
                     "WWW-Authenticate", "Bearer", NULL, NULL);
}

zframe_t *scim_http_method_not_allowed(const char *allow)
{
    return s_respond(405, s_error_json(405, NULL, "method not allowed here"), "Allow", allow,
                     NULL, NULL);
}

/* ---- self-test --------------------------------------------------------------------------- */

void scim_http_test(bool verbose)
{
    (void) verbose;
    Sso__HttpResponse *r = sso_test_http_unpack(scim_http_error(409, "uniqueness", "taken"));
    json_t *body = r ? json_loadb((const char *) r->body.data, r->body.len, 0, NULL) : NULL;
    SSO_CHECK(r && r->status == 409 && !strcmp(sso_test_http_header(r, "Content-Type"), SCIM_CONTENT_TYPE));
    SSO_CHECK(!strcmp(json_string_value(json_array_get(json_object_get(body, "schemas"), 0)),
                      SCIM_ERROR_URN)
              && !strcmp(json_string_value(json_object_get(body, "status")), "409")
              && !strcmp(json_string_value(json_object_get(body, "scimType")), "uniqueness")
              && !strcmp(json_string_value(json_object_get(body, "detail")), "taken"));
    json_decref(body);
    sso__http_response__free_unpacked(r, NULL);
    r = sso_test_http_unpack(scim_http_error(404, NULL, NULL));
    body = r ? json_loadb((const char *) r->body.data, r->body.len, 0, NULL) : NULL;
    SSO_CHECK(body && !json_object_get(body, "scimType")
              && !strcmp(json_string_value(json_object_get(body, "status")), "404"));
    json_decref(body);
    sso__http_response__free_unpacked(r, NULL);
    r = sso_test_http_unpack(scim_http_unauthorized());
    SSO_CHECK(r && r->status == 401 && !strcmp(sso_test_http_header(r, "WWW-Authenticate"), "Bearer")
              && !strcmp(sso_test_http_header(r, "Content-Type"), SCIM_CONTENT_TYPE));
    sso__http_response__free_unpacked(r, NULL);
    r = sso_test_http_unpack(scim_http_method_not_allowed("GET, PUT, DELETE"));
    SSO_CHECK(r && r->status == 405 && !strcmp(sso_test_http_header(r, "Allow"), "GET, PUT, DELETE")
              && strstr((const char *) r->body.data, SCIM_ERROR_URN));
    sso__http_response__free_unpacked(r, NULL);
    r = sso_test_http_unpack(scim_http_json(201, json_pack("{s:s}", "id", "u"), "http://x/Users/u", "W/\"1\""));
    SSO_CHECK(r && r->status == 201 && !strcmp(sso_test_http_header(r, "Location"), "http://x/Users/u")
              && !strcmp(sso_test_http_header(r, "ETag"), "W/\"1\""));
    sso__http_response__free_unpacked(r, NULL);
}
