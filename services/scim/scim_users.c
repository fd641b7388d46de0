/* scim_users: the /Users endpoint. */
#include "scim_users.h"
#include "scim_discovery.h"
#include "scim_http.h"
#include "scim_resource.h"
#include "sso_clients.h"
#include "sso_test.h"
#include <strings.h>

#define S_PAGE 500 /* users per ScimUserList call */

/* ---- input ------------------------------------------------------------------------------- */

/* A boolean, or Entra's string forms ("True", "False", any case). 1, 0, or -1. */
static int s_bool(const json_t *value)
{
    if (json_is_boolean(value))
        return json_is_true(value);
    if (json_is_string(value) && !strcasecmp(json_string_value(value), "true"))
        return 1;
    if (json_is_string(value) && !strcasecmp(json_string_value(value), "false"))
        return 0;
    return -1;
}

/* The email the directory indexes: the first work one, else the primary, else the first. */
static const char *s_email(const json_t *emails)
{
    const char *primary = NULL, *first = NULL;
    size_t i;
    json_t *email;
    json_array_foreach(emails, i, email) {
        const char *value = json_string_value(scim_json_get(email, "value", NULL));
        if (!value)
            continue;
        const char *type = json_string_value(scim_json_get(email, "type", NULL));
        if (type && !strcasecmp(type, "work"))
            return value;
        if (!primary && s_bool(scim_json_get(email, "primary", NULL)) == 1)
            primary = value;
        if (!first)
            first = value;
    }
    return primary ? primary : first;
}

/* resource (taken) checked as a User to store (a new reference), with user's columns
   pointing into it; NULL with fail. A POST's or PUT's body and a PATCH's result pass the same
   checks. */
static json_t *s_checked(json_t *resource, Sso__ScimUser *user, scim_fail_t *fail)
{
    /* Read-only (id, meta, groups) and never kept (password): ignored, as RFC 7644 3.3
       lets a service provider do. */
    static const char *const ignored[] = {"id", "meta", "groups", "password"};
    scim_drop(resource, ignored, sizeof ignored / sizeof *ignored);
    const char *external_id = NULL, *display_name = NULL, *user_name = NULL;
    json_t *active = NULL, *emails = NULL;
    int flag = 1;
    const char *scim_type = NULL;
    char why[256];
    if (scim_schemas_and_sizes(resource, SCIM_USER_URN, SCIM_ENTERPRISE_URN, fail) != 0)
        goto refused;
    /* Only what the served schema declares, of its type: nothing is stored that a served
       resource could not be. */
    if (scim_discovery_check(SCIM_USER_URN, resource, &scim_type, why, sizeof why) != 0) {
        scim_fail(fail, 400, scim_type, "%s", why);
        goto refused;
    }
    if (scim_text(resource, "userName", true, &user_name, fail) != 0
        || scim_text(resource, "externalId", false, &external_id, fail) != 0
        || scim_text(resource, "displayName", false, &display_name, fail) != 0)
        goto refused;
    active = scim_canonical(resource, "active");
    flag = active ? s_bool(active) : 1;
    if (flag < 0) {
        scim_fail(fail, 400, "invalidValue", "active must be true or false");
        goto refused;
    }
    json_object_set_new(resource, "active", json_boolean(flag));
    emails = scim_canonical(resource, "emails");
    if (emails && !json_is_array(emails)) {
        scim_fail(fail, 400, "invalidValue", "emails must be an array");
        goto refused;
    }
    const char *email = s_email(emails);
    if (email && !scim_plain(email)) {
        scim_fail(fail, 400, "invalidValue", "an email's value must be text without control "
                                             "characters");
        goto refused;
    }
    user->user_name = (char *) user_name;
    user->external_id = (char *) (external_id ? external_id : "");
    user->display_name = (char *) (display_name ? display_name : "");
    user->email = (char *) (email ? email : "");
    user->active = flag == 1;
    return resource;
refused:
    json_decref(resource);
    return NULL;
}

/* The User of a POST's or PUT's body as s_checked leaves it; NULL with fail. */
static json_t *s_input(const Sso__HttpRequest *http, Sso__ScimUser *user, scim_fail_t *fail)
{
    json_t *resource = scim_body_object(http, fail);
    return resource ? s_checked(resource, user, fail) : NULL;
}

/* ---- output ------------------------------------------------------------------------------ */

/* The user as served: its stored resource with id, meta and the read-only groups it is a
   member of (a new reference; NULL when the stored text is not an object, which the
   directory never keeps). */
static json_t *s_render(const scim_req_t *req, const Sso__ScimUser *user)
{
    scim_stamp_t stamp = {user->id, user->created_at, user->updated_at, user->version};
    json_t *resource = scim_stored(req, "User", user->resource_json, &stamp);
    for (size_t i = 0; resource && i < user->n_groups; i++)
        scim_reference(resource, "groups", req, "Groups", user->groups[i]->group_id,
                       user->groups[i]->display_name, "direct");
    return resource;
}

SCIM_ANSWERS(Sso__ScimUserReply, user, sso__scim_user_reply__free_unpacked,
             Sso__ScimUserDeleteRequest, SSO__SCIM_USER_DELETE_REQUEST__INIT,
             sso_dir_scim_user_delete, "user")

/* ---- lists ------------------------------------------------------------------------------- */

/* The directory's indexed columns, by the attribute a filter's equality names. */
static const scim_key_t s_keys[] = {
    {"userName", NULL, SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME},
    {"externalId", NULL, SSO__SCIM_USER_KEY__SCIM_USER_EXTERNAL_ID},
    {"emails", "value", SSO__SCIM_USER_KEY__SCIM_USER_EMAIL},
    {"displayName", NULL, SSO__SCIM_USER_KEY__SCIM_USER_DISPLAY_NAME},
};

/* ---- the operations ---------------------------------------------------------------------- */

SCIM_LISTING(Sso__ScimUserListRequest, SSO__SCIM_USER_LIST_REQUEST__INIT, Sso__ScimUserListReply,
             sso_dir_scim_user_list, users, sso__scim_user_list_reply__free_unpacked, s_render,
             "user")

static void s_list_start(void *ctx, const scim_query_t *query, const scim_filter_t *filter)
{
    (void) query;
    s_lister_t *lister = ctx;
    const char *value = "";
    lister->list.key = scim_filter_key(filter, s_keys, sizeof s_keys / sizeof *s_keys, &value);
    lister->list.value = (char *) value;
    lister->list.limit = S_PAGE;
}

static zframe_t *s_create(scim_req_t *req)
{
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    scim_fail_t fail = {0};
    json_t *resource = s_input(req->http, &user, &fail);
    if (!resource)
        return scim_fail_reply(&fail);
    user.resource_json = json_dumps(resource, JSON_COMPACT);
    zframe_t *frame;
    if (!user.resource_json || strlen(user.resource_json) > SCIM_RESOURCE_MAX)
        frame = scim_http_error(400, "invalidValue", "the user is too large");
    else {
        Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
        write.directory_id = req->directory_id;
        write.user = &user;
        Sso__ScimUserReply *reply = NULL;
        int status = sso_dir_scim_user_create(req->service, &write, &reply);
        frame = s_reply(req, status, reply, 201, NULL, NULL);
    }
    free(user.resource_json);
    json_decref(resource);
    return frame;
}

/* The version a change of user id is to be made on: its current one, which If-Match (when
   given) must name. NULL with *version set, or the answer to give (404, 412, ...). */
static zframe_t *s_expected_version(scim_req_t *req, const char *id, int64_t *version)
{
    Sso__ScimUserGetRequest get = SSO__SCIM_USER_GET_REQUEST__INIT;
    get.directory_id = req->directory_id;
    get.id = (char *) id;
    Sso__ScimUserReply *reply = NULL;
    int status = sso_dir_scim_user_get(req->service, &get, &reply);
    if (status != 0 || !reply || reply->error || !reply->user)
        return s_reply(req, status, reply, 200, NULL, NULL);
    *version = reply->user->version;
    sso__scim_user_reply__free_unpacked(reply, NULL);
    return scim_if_match_refusal(req->http, *version, "user");
}

/* Stores resource (checked by s_checked into user; taken) as user id's new version, on the
   version read: the answer to a PUT or a PATCH. */
static zframe_t *s_store(scim_req_t *req, const char *id, json_t *resource, Sso__ScimUser *user,
                         int64_t version)
{
    zframe_t *frame;
    user->id = (char *) id;
    user->resource_json = json_dumps(resource, JSON_COMPACT);
    if (!user->resource_json || strlen(user->resource_json) > SCIM_RESOURCE_MAX)
        frame = scim_http_error(400, "invalidValue", "the user is too large");
    else {
        Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
        write.directory_id = req->directory_id;
        write.user = user;
        write.expected_version = version;
        Sso__ScimUserReply *reply = NULL;
        int status = sso_dir_scim_user_replace(req->service, &write, &reply);
        frame = s_reply(req, status, reply, 200, NULL, NULL);
    }
    free(user->resource_json);
    user->resource_json = NULL;
    json_decref(resource);
    return frame;
}

static zframe_t *s_replace(scim_req_t *req, const char *id)
{
    int64_t version = 0;
    zframe_t *frame = s_expected_version(req, id, &version);
    if (frame)
        return frame;
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    scim_fail_t fail = {0};
    json_t *resource = s_input(req->http, &user, &fail);
    if (!resource)
        return scim_fail_reply(&fail);
    return s_store(req, id, resource, &user, version);
}

/* PATCH (RFC 7644 3.5.2): the stored user, the PatchOp applied by scim_patch (Okta's and
   Entra's shapes; nothing changes on a refusal), the result checked as a PUT's body is, and
   stored on the version read (If-Match, when given, must name it; a change in between is
   made again by scim_endpoint_http, or 412 under If-Match). */
static zframe_t *s_patch(scim_req_t *req, const char *id)
{
    scim_error_t error = {0};
    scim_patch_t *patch = NULL;
    zframe_t *refusal = scim_patch_read(req->http, &patch);
    if (refusal)
        return refusal;
    Sso__ScimUserGetRequest get = SSO__SCIM_USER_GET_REQUEST__INIT;
    get.directory_id = req->directory_id;
    get.id = (char *) id;
    Sso__ScimUserReply *current = NULL;
    int status = sso_dir_scim_user_get(req->service, &get, &current);
    if (status != 0 || !current || current->error || !current->user) {
        scim_patch_destroy(&patch);
        return s_reply(req, status, current, 200, NULL, NULL);
    }
    int64_t version = current->user->version;
    json_t *stored = json_loads(current->user->resource_json, JSON_REJECT_DUPLICATES, NULL);
    scim_patch_result_t result = {0};
    zframe_t *frame = scim_if_match_refusal(req->http, version, "user");
    if (!frame && !json_is_object(stored))
        frame = scim_http_error(500, NULL, "internal error");
    /* With its id: a value that repeats it (an IdP's replace of the whole user) is no change. */
    else if (!frame && json_object_set_new(stored, "id", json_string(current->user->id)) != 0)
        frame = scim_http_error(500, NULL, "internal error");
    else if (!frame && scim_patch_apply(patch, SCIM_PATCH_USER, stored, 0, &result, &error) != 0)
        frame = scim_patch_error_reply(&error);
    json_decref(stored);
    scim_patch_destroy(&patch);
    if (frame || !result.changed) {
        scim_patch_result_clear(&result);
        if (frame) {
            sso__scim_user_reply__free_unpacked(current, NULL);
            return frame;
        }
        return s_reply(req, 0, current, 200, NULL, NULL); /* nothing to write */
    }
    sso__scim_user_reply__free_unpacked(current, NULL);
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    scim_fail_t fail = {0};
    json_t *resource = s_checked(json_incref(result.resource), &user, &fail);
    scim_patch_result_clear(&result);
    if (!resource)
        return scim_fail_reply(&fail);
    return s_store(req, id, resource, &user, version);
}

static zframe_t *s_get(scim_req_t *req, const char *id)
{
    zhashx_t *params = sso_http_params(req->http);
    if (!params)
        return scim_http_error(400, "invalidValue", "the query string does not decode, or "
                                                    "repeats a parameter");
    Sso__ScimUserGetRequest get = SSO__SCIM_USER_GET_REQUEST__INIT;
    get.directory_id = req->directory_id;
    get.id = (char *) id;
    Sso__ScimUserReply *reply = NULL;
    int status = sso_dir_scim_user_get(req->service, &get, &reply);
    zframe_t *frame = s_reply(req, status, reply, 200, zhashx_lookup(params, "attributes"),
                                   zhashx_lookup(params, "excludedAttributes"));
    zhashx_destroy(&params);
    return frame;
}

zframe_t *scim_users_http(scim_req_t *req)
{
    static const scim_endpoint_t users = {"Users", "user", s_list, s_create, s_get, s_replace,
                                          s_patch, s_delete};
    return scim_endpoint_http(req, &users);
}

/* ---- self-test --------------------------------------------------------------------------- */

/* s_input of body: the stored resource as compact text into out ("" when refused, with the
   refusal's scimType into type). */
static void s_input_of(const char *body, Sso__ScimUser *user, char *out, size_t size,
                       char *type, size_t type_size)
{
    Sso__HttpRequest http = SSO__HTTP_REQUEST__INIT;
    http.body.data = (uint8_t *) body;
    http.body.len = strlen(body);
    scim_fail_t fail = {0};
    json_t *resource = s_input(&http, user, &fail);
    char *text = resource ? json_dumps(resource, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    snprintf(out, size, "%s", text ? text : "");
    snprintf(type, type_size, "%s", fail.scim_type ? fail.scim_type : "");
    SSO_CHECK(resource || fail.status == 400);
    free(text);
    json_decref(resource);
}

void scim_users_test(bool verbose)
{
    (void) verbose;
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    char out[2048], type[32];
    /* Okta's POST /Users shape: name, emails, active; password dropped. */
    s_input_of("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":"
               "\"jo@example.com\",\"name\":{\"givenName\":\"Jo\",\"familyName\":\"Doe\"},"
               "\"emails\":[{\"primary\":true,\"value\":\"jo@example.com\",\"type\":\"work\"}],"
               "\"displayName\":\"Jo Doe\",\"locale\":\"en-US\",\"externalId\":\"00u1\","
               "\"groups\":[],\"password\":\"secret\",\"active\":true}",
               &user, out, sizeof out, type, sizeof type);
    SSO_CHECK(*out && !strstr(out, "password") && !strstr(out, "groups")
              && strstr(out, "\"active\":true") && strstr(out, "\"givenName\":\"Jo\""));
    /* Entra's: the extension and string booleans; an email that is not work is primary. */
    s_input_of("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
               "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
               "\"externalId\":\"e1\",\"UserName\":\"Al@contoso.com\",\"active\":\"False\","
               "\"emails\":[{\"value\":\"h@x\",\"type\":\"home\"},{\"primary\":\"True\","
               "\"value\":\"p@x\",\"type\":\"other\"}],\"urn:ietf:params:scim:schemas:"
               "extension:enterprise:2.0:User\":{\"department\":\"R&D\"},\"id\":\"forged\","
               "\"meta\":{\"version\":\"W/\\\"9\\\"\"}}",
               &user, out, sizeof out, type, sizeof type);
    SSO_CHECK(*out && strstr(out, "\"active\":false") && strstr(out, "\"userName\":\"Al@")
              && !strstr(out, "UserName") && !strstr(out, "forged") && !strstr(out, "meta")
              && strstr(out, "\"department\":\"R&D\""));
    /* The columns are taken before the resource is freed, so check one case whole. */
    Sso__HttpRequest http = SSO__HTTP_REQUEST__INIT;
    const char *body = "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
                       "\"userName\":\"U\",\"externalId\":\"E\",\"displayName\":\"D\","
                       "\"emails\":[{\"value\":\"first@x\"},{\"value\":\"w@x\",\"type\":"
                       "\"WORK\"}],\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                       "User\":{\"costCenter\":\"1\"}}";
    http.body.data = (uint8_t *) body;
    http.body.len = strlen(body);
    scim_fail_t fail = {0};
    json_t *resource = s_input(&http, &user, &fail);
    SSO_CHECK(resource && !strcmp(user.user_name, "U") && !strcmp(user.external_id, "E")
              && !strcmp(user.display_name, "D") && !strcmp(user.email, "w@x") && user.active);
    /* The extension's object brings its URN into schemas. */
    SSO_CHECK(json_array_size(json_object_get(resource, "schemas")) == 2);
    json_decref(resource);
    /* Refusals: each a 400 with its scimType. */
    static const struct {
        const char *body, *type;
    } bad[] = {
        {"", "invalidSyntax"},
        {"{\"userName\":", "invalidSyntax"},
        {"[1]", "invalidSyntax"},
        {"{\"a\":1,\"a\":2}", "invalidSyntax"},
        {"{\"userName\":\"x\"}", "invalidValue"},
        {"{\"schemas\":[],\"userName\":\"x\"}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"userName\":\"x\"}",
         "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\",\"urn:x:y\"],"
         "\"userName\":\"x\"}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"urn:x:y\":{}}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"]}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\"}",
         "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":7}",
         "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"a\\nb\"}",
         "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"active\":\"yes\"}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"emails\":{}}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"externalId\":1}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"a\":[[[[[[[[[[1]]]]]]]]]]}", "invalidValue"},
        /* Held to the User schema (scim_discovery_check): served resources must pass it. */
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"shoeSize\":9}", "invalidSyntax"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"title\":[\"a\"]}", "invalidValue"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x\","
         "\"emails\":[{\"value\":\"x\",\"primary\":\"yes\"}]}", "invalidValue"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s_input_of(bad[i].body, &user, out, sizeof out, type, sizeof type);
        if (*out || strcmp(type, bad[i].type) != 0)
            fprintf(stderr, "input case %zu: got %s / %s\n", i, out, type);
        SSO_CHECK(!*out && !strcmp(type, bad[i].type));
    }
    /* A value over the cap. */
    char *big = malloc(SCIM_VALUE_MAX + 200);
    if (big) {
        int n = snprintf(big, SCIM_VALUE_MAX + 200, "{\"schemas\":[\"%s\"],\"userName\":\"",
                         SCIM_USER_URN);
        memset(big + n, 'a', SCIM_VALUE_MAX + 1);
        snprintf(big + n + SCIM_VALUE_MAX + 1, 8, "\"}");
        s_input_of(big, &user, out, sizeof out, type, sizeof type);
        SSO_CHECK(!*out && !strcmp(type, "invalidValue"));
        free(big);
    }
}
