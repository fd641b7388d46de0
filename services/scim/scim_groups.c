/* scim_groups: the /Groups endpoint. */
#include "scim_groups.h"
#include "scim_discovery.h"
#include "scim_http.h"
#include "scim_resource.h"
#include "sso_clients.h"
#include "sso_test.h"
#include <strings.h>

#define S_PAGE 500        /* groups per ScimGroupList call without members */
#define S_PAGE_MEMBERS 50 /* with members: the directory's cap */

/* ---- input ------------------------------------------------------------------------------- */

/* The members of resource checked (each an object with a user's id as "value", "type" when
   given "User"), their ids appended to ids, and removed from resource: the directory keeps
   them as rows. 0 or -1 with fail. */
static int s_members(json_t *resource, json_t *ids, scim_fail_t *fail)
{
    const char *key = "members";
    json_t *members = scim_json_get(resource, "members", &key);
    if (members && !json_is_array(members)) {
        scim_fail(fail, 400, "invalidValue", "members must be an array");
        return -1;
    }
    if (json_array_size(members) > SCIM_GROUP_MEMBERS_MAX) {
        scim_fail(fail, 400, "invalidValue", "a group has at most %d members",
                  SCIM_GROUP_MEMBERS_MAX);
        return -1;
    }
    size_t i;
    json_t *member;
    json_array_foreach(members, i, member) {
        json_t *value = scim_json_get(member, "value", NULL);
        const char *type = json_string_value(scim_json_get(member, "type", NULL));
        if (!json_is_string(value)
            || !scim_req_id_valid(json_string_value(value), json_string_length(value))) {
            scim_fail(fail, 400, "invalidValue", "members[%zu] must be an object whose value is "
                      "a user's id", i);
            return -1;
        }
        if (scim_json_get(member, "type", NULL) && (!type || strcasecmp(type, "User") != 0)) {
            scim_fail(fail, 400, "invalidValue", "members[%zu] is of type %.40s: a group's "
                      "members are users (nested groups are not supported)", i,
                      type ? type : "(not a string)");
            return -1;
        }
        json_array_append(ids, value);
    }
    if (members)
        json_object_del(resource, key);
    return 0;
}

/* resource (taken) checked as a Group to store without its members (a new reference), with
   group's columns pointing into it, and the members' ids appended to ids; NULL with fail. A
   POST's or PUT's body and a PATCH's result pass the same checks. */
static json_t *s_checked(json_t *resource, Sso__ScimGroup *group, json_t *ids, scim_fail_t *fail)
{
    static const char *const ignored[] = {"id", "meta"}; /* read-only (RFC 7644 3.3) */
    scim_drop(resource, ignored, sizeof ignored / sizeof *ignored);
    const char *display_name = NULL, *external_id = NULL, *scim_type = NULL;
    char why[256];
    if (scim_schemas_and_sizes(resource, SCIM_GROUP_URN, NULL, fail) != 0)
        goto refused;
    /* Only what the served schema declares, of its type (as for users). */
    if (scim_discovery_check(SCIM_GROUP_URN, resource, &scim_type, why, sizeof why) != 0) {
        scim_fail(fail, 400, scim_type, "%s", why);
        goto refused;
    }
    if (scim_text(resource, "displayName", true, &display_name, fail) != 0
        || scim_text(resource, "externalId", false, &external_id, fail) != 0
        || s_members(resource, ids, fail) != 0)
        goto refused;
    group->display_name = (char *) display_name;
    group->external_id = (char *) (external_id ? external_id : "");
    return resource;
refused:
    json_decref(resource);
    return NULL;
}

/* ---- output ------------------------------------------------------------------------------ */

/* The group as served: its stored resource with id, meta and the members read (a new
   reference; NULL when the stored text is not an object, which the directory never keeps). */
static json_t *s_render(const scim_req_t *req, const Sso__ScimGroup *group)
{
    scim_stamp_t stamp = {group->id, group->created_at, group->updated_at, group->version};
    json_t *resource = scim_stored(req, "Group", group->resource_json, &stamp);
    for (size_t i = 0; resource && i < group->n_members; i++)
        scim_reference(resource, "members", req, "Users", group->members[i]->user_id,
                       group->members[i]->display, "User");
    return resource;
}

SCIM_ANSWERS(Sso__ScimGroupReply, group, sso__scim_group_reply__free_unpacked,
             Sso__ScimGroupDeleteRequest, SSO__SCIM_GROUP_DELETE_REQUEST__INIT,
             sso_dir_scim_group_delete, "group")

/* Reads group id (its members too when with_members): NULL with *reply_p, or the answer to
   give instead (404, 503, ...). */
static zframe_t *s_read(scim_req_t *req, const char *id, bool with_members,
                        Sso__ScimGroupReply **reply_p)
{
    Sso__ScimGroupGetRequest get = SSO__SCIM_GROUP_GET_REQUEST__INIT;
    get.directory_id = req->directory_id;
    get.id = (char *) id;
    get.with_members = with_members;
    *reply_p = NULL;
    int status = sso_dir_scim_group_get(req->service, &get, reply_p);
    if (status == 0 && *reply_p && !(*reply_p)->error && (*reply_p)->group)
        return NULL;
    zframe_t *failed = s_reply(req, status, *reply_p, 200, NULL, NULL);
    *reply_p = NULL;
    return failed;
}

/* The request's attributes and excludedAttributes (owned by params, which the caller
   destroys); NULL params when the query string does not decode. */
typedef struct {
    zhashx_t *params;
    const char *attributes, *excluded;
} s_shape_t;

static s_shape_t s_shape(const Sso__HttpRequest *http)
{
    s_shape_t shape = {sso_http_params(http), NULL, NULL};
    if (shape.params) {
        shape.attributes = zhashx_lookup(shape.params, "attributes");
        shape.excluded = zhashx_lookup(shape.params, "excludedAttributes");
    }
    return shape;
}

static zframe_t *s_shape_refusal(void)
{
    return scim_http_error(400, "invalidValue", "the query string does not decode, or repeats "
                                                "a parameter");
}

/* The answer to a write that gave reply (taken): the group as served under the request's
   shape, its members read again when they are served and the reply has none (a write's has
   none), or 204 when no_content and the request asks for no shape. */
static zframe_t *s_written(scim_req_t *req, int status, Sso__ScimGroupReply *reply,
                           uint32_t http_status, bool no_content)
{
    if (status != 0 || !reply || reply->error || !reply->group)
        return s_reply(req, status, reply, http_status, NULL, NULL);
    s_shape_t shape = s_shape(req->http);
    zframe_t *frame;
    if (no_content && !shape.attributes && !shape.excluded) {
        frame = scim_no_content(reply->group->version);
        sso__scim_group_reply__free_unpacked(reply, NULL);
    }
    else if (reply->group->member_count > 0 && reply->group->n_members == 0
             && scim_attrs_keep(shape.attributes, shape.excluded, "members")) {
        Sso__ScimGroupReply *read = NULL;
        frame = s_read(req, reply->group->id, true, &read);
        sso__scim_group_reply__free_unpacked(reply, NULL);
        if (!frame)
            frame = s_reply(req, 0, read, http_status, shape.attributes, shape.excluded);
    }
    else
        frame = s_reply(req, 0, reply, http_status, shape.attributes, shape.excluded);
    zhashx_destroy(&shape.params);
    return frame;
}

/* ---- writes ------------------------------------------------------------------------------ */

/* ids (a JSON array of strings) as the write's list (pointers into ids; free the list). 0, or
   -1 when out of memory. */
static int s_id_list(const json_t *ids, char ***list, size_t *count)
{
    *count = json_array_size(ids);
    *list = calloc(*count ? *count : 1, sizeof **list);
    if (!*list)
        return -1;
    for (size_t i = 0; i < *count; i++)
        (*list)[i] = (char *) json_string_value(json_array_get(ids, i));
    return 0;
}

/* Writes resource (checked by s_checked into write->group; taken) with the membership change
   of added and removed: a create when write->group->id is empty, an update on
   write->expected_version otherwise. The answer (http_status, or 204 when no_content). */
static zframe_t *s_write(scim_req_t *req, Sso__ScimGroupWrite *write, json_t *resource,
                         const json_t *added, const json_t *removed, uint32_t http_status,
                         bool no_content)
{
    Sso__ScimGroup *group = write->group;
    zframe_t *frame = NULL;
    group->resource_json = json_dumps(resource, JSON_COMPACT);
    if (!group->resource_json || strlen(group->resource_json) > SCIM_RESOURCE_MAX)
        frame = scim_http_error(400, "invalidValue", "the group is too large");
    else if (s_id_list(added, &write->members_added, &write->n_members_added) != 0
             || s_id_list(removed, &write->members_removed, &write->n_members_removed) != 0)
        frame = scim_http_error(500, NULL, "out of memory");
    else {
        write->directory_id = req->directory_id;
        Sso__ScimGroupReply *reply = NULL;
        int status = *group->id ? sso_dir_scim_group_update(req->service, write, &reply)
                                : sso_dir_scim_group_create(req->service, write, &reply);
        frame = s_written(req, status, reply, http_status, no_content);
    }
    free(write->members_added);
    free(write->members_removed);
    free(group->resource_json);
    group->resource_json = NULL;
    json_decref(resource);
    return frame;
}

/* A POST's or PUT's group: the body checked, its members' ids into ids. NULL with fail. */
static json_t *s_input(const Sso__HttpRequest *http, Sso__ScimGroup *group, json_t *ids,
                       scim_fail_t *fail)
{
    json_t *resource = scim_body_object(http, fail);
    return resource ? s_checked(resource, group, ids, fail) : NULL;
}

/* POST and PUT: the body's group with its members as the whole membership; id "" creates. */
static zframe_t *s_put(scim_req_t *req, const char *id, int64_t version)
{
    Sso__ScimGroup group = SSO__SCIM_GROUP__INIT;
    Sso__ScimGroupWrite write = SSO__SCIM_GROUP_WRITE__INIT;
    scim_fail_t fail = {0};
    json_t *ids = json_array(), *none = json_array();
    json_t *resource = s_input(req->http, &group, ids, &fail);
    zframe_t *frame;
    if (!resource)
        frame = scim_fail_reply(&fail);
    else {
        group.id = (char *) id;
        write.group = &group;
        write.expected_version = version;
        write.members_replace = true;
        frame = s_write(req, &write, resource, ids, none, *id ? 200 : 201, false);
    }
    json_decref(ids);
    json_decref(none);
    return frame;
}

static zframe_t *s_create(scim_req_t *req)
{
    return s_put(req, "", 0);
}

/* The version a change of group id is to be made on: its current one, which If-Match (when
   given) must name. NULL with *version set, or the answer to give (404, 412, ...). */
static zframe_t *s_expected_version(scim_req_t *req, const char *id, int64_t *version)
{
    Sso__ScimGroupReply *reply = NULL;
    zframe_t *failed = s_read(req, id, false, &reply);
    if (failed)
        return failed;
    *version = reply->group->version;
    sso__scim_group_reply__free_unpacked(reply, NULL);
    return scim_if_match_refusal(req->http, *version, "group");
}

static zframe_t *s_replace(scim_req_t *req, const char *id)
{
    int64_t version = 0;
    zframe_t *frame = s_expected_version(req, id, &version);
    return frame ? frame : s_put(req, id, version);
}

/* The group read with its members as scim_patch takes it: the stored resource with its id
   (Okta's rename repeats it: the same id is no change) and members [{value, display}] (a new
   reference; NULL when the stored text is not an object). */
static json_t *s_patchable(const Sso__ScimGroup *group)
{
    json_t *resource = json_loads(group->resource_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(resource)) {
        json_decref(resource);
        return NULL;
    }
    json_object_set_new(resource, "id", json_string(group->id));
    json_t *members = json_array();
    for (size_t i = 0; i < group->n_members; i++)
        json_array_append_new(members, json_pack("{s:s, s:s}", "value",
                                                 group->members[i]->user_id, "display",
                                                 group->members[i]->display));
    json_object_set_new(resource, "members", members);
    return resource;
}

/* The patch applied to the group read with members: 0 with result, or the answer to give. */
static zframe_t *s_apply(scim_req_t *req, const scim_patch_t *patch,
                         const Sso__ScimGroup *group, scim_patch_result_t *result)
{
    scim_error_t error = {0};
    zframe_t *refusal = scim_if_match_refusal(req->http, group->version, "group");
    if (refusal)
        return refusal;
    json_t *stored = s_patchable(group);
    if (!stored)
        return scim_http_error(500, NULL, "internal error");
    /* Applied with the members kept in the result, so that each member added is checked as a
       POST's would be (a nested group refused); the write sends only the change. */
    int rc = scim_patch_apply(patch, SCIM_PATCH_GROUP, stored, 0, result, &error);
    json_decref(stored);
    return rc == 0 ? NULL : scim_patch_error_reply(&error);
}

/* PATCH (RFC 7644 3.5.2): the group read with its members, the PatchOp applied by scim_patch
   (Okta's and Entra's shapes; nothing changes on a refusal), the result checked as a PUT's
   body is, and stored on the version read with the members added and removed (If-Match, when
   given, must name it; a change in between is made again by scim_endpoint_http, or 412
   under If-Match). A patch that changes nothing writes
   nothing. */
static zframe_t *s_patch(scim_req_t *req, const char *id)
{
    scim_patch_t *patch = NULL;
    zframe_t *frame = scim_patch_read(req->http, &patch);
    if (frame)
        return frame;
    Sso__ScimGroupReply *current = NULL;
    scim_patch_result_t result = {0};
    frame = s_read(req, id, true, &current);
    if (!frame)
        frame = s_apply(req, patch, current->group, &result);
    scim_patch_destroy(&patch);
    if (frame || !result.changed) {
        scim_patch_result_clear(&result);
        if (!frame) /* nothing to write: answered as read */
            return s_written(req, 0, current, 200, true);
        if (current)
            sso__scim_group_reply__free_unpacked(current, NULL);
        return frame;
    }
    Sso__ScimGroup group = SSO__SCIM_GROUP__INIT;
    Sso__ScimGroupWrite write = SSO__SCIM_GROUP_WRITE__INIT;
    scim_fail_t fail = {0};
    json_t *ids = json_array();
    json_t *resource = s_checked(json_incref(result.resource), &group, ids, &fail);
    if (!resource)
        frame = scim_fail_reply(&fail);
    else {
        group.id = (char *) id;
        write.group = &group;
        write.expected_version = current->group->version;
        frame = s_write(req, &write, resource, result.added, result.removed, 200, true);
    }
    json_decref(ids);
    scim_patch_result_clear(&result);
    sso__scim_group_reply__free_unpacked(current, NULL);
    return frame;
}

static zframe_t *s_get(scim_req_t *req, const char *id)
{
    s_shape_t shape = s_shape(req->http);
    if (!shape.params)
        return s_shape_refusal();
    Sso__ScimGroupReply *reply = NULL;
    zframe_t *frame = s_read(req, id, scim_attrs_keep(shape.attributes, shape.excluded,
                                                      "members"),
                             &reply);
    if (!frame)
        frame = s_reply(req, 0, reply, 200, shape.attributes, shape.excluded);
    zhashx_destroy(&shape.params);
    return frame;
}

/* ---- lists ------------------------------------------------------------------------------- */

SCIM_LISTING(Sso__ScimGroupListRequest, SSO__SCIM_GROUP_LIST_REQUEST__INIT, Sso__ScimGroupListReply,
             sso_dir_scim_group_list, groups, sso__scim_group_list_reply__free_unpacked, s_render,
             "group")

/* The directory's indexed columns, by the attribute a filter's equality names: the most
   selective first (externalId is unique in practice, a member's groups are few). */
static const scim_key_t s_keys[] = {
    {"externalId", NULL, SSO__SCIM_GROUP_KEY__SCIM_GROUP_EXTERNAL_ID},
    {"members", "value", SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER},
    {"displayName", NULL, SSO__SCIM_GROUP_KEY__SCIM_GROUP_DISPLAY_NAME},
};

static void s_list_start(void *ctx, const scim_query_t *query, const scim_filter_t *filter)
{
    s_lister_t *lister = ctx;
    const char *value = "";
    lister->list.key = scim_filter_key(filter, s_keys, sizeof s_keys / sizeof *s_keys, &value);
    lister->list.value = (char *) value;
    /* Members are read when served, or when the filter or sortBy may name them (the word
       anywhere in either: reading too often costs time, never a wrong match). */
    lister->list.with_members = scim_attrs_keep(query->attributes, query->excluded, "members")
                                || (query->filter && strcasestr(query->filter, "members"))
                                || (query->sort_by && strcasestr(query->sort_by, "members"));
    lister->list.limit = lister->list.with_members ? S_PAGE_MEMBERS : S_PAGE;
}

zframe_t *scim_groups_http(scim_req_t *req)
{
    static const scim_endpoint_t groups = {"Groups", "group", s_list, s_create, s_get,
                                           s_replace, s_patch, s_delete};
    return scim_endpoint_http(req, &groups);
}

/* ---- self-test --------------------------------------------------------------------------- */

/* s_input of body: the stored resource as compact text into out ("" when refused, the
   refusal's scimType and detail into type and detail), the members' ids as compact JSON into
   ids_out. */
static void s_input_of(const char *body, char *out, size_t size, char *type, char *detail,
                       char *ids_out)
{
    Sso__HttpRequest http = SSO__HTTP_REQUEST__INIT;
    http.body.data = (uint8_t *) body;
    http.body.len = strlen(body);
    Sso__ScimGroup group = SSO__SCIM_GROUP__INIT;
    scim_fail_t fail = {0};
    json_t *ids = json_array();
    json_t *resource = s_input(&http, &group, ids, &fail);
    char *text = resource ? json_dumps(resource, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *listed = json_dumps(ids, JSON_COMPACT);
    snprintf(out, size, "%s", text ? text : "");
    snprintf(type, 32, "%s", fail.scim_type ? fail.scim_type : "");
    snprintf(detail, 320, "%s", fail.detail);
    snprintf(ids_out, 256, "%s", listed ? listed : "");
    SSO_CHECK(resource ? !strcmp(group.display_name, json_string_value(json_object_get(
                                                         resource, "displayName")))
                       : fail.status == 400);
    free(text);
    free(listed);
    json_decref(ids);
    json_decref(resource);
}

void scim_groups_test(bool verbose)
{
    (void) verbose;
    char out[2048], type[32], detail[320], ids[256];
    /* Okta's POST /Groups: displayName and members ({value, display}); meta and id ignored. */
    s_input_of("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":"
               "\"Test SCIMv2\",\"members\":[{\"value\":\"scu_1\",\"display\":\"a@x\"},"
               "{\"value\":\"scu_2\",\"$ref\":\"https://x/Users/scu_2\",\"type\":\"User\"}],"
               "\"id\":\"forged\",\"meta\":{\"version\":\"W/\\\"9\\\"\"}}",
               out, sizeof out, type, detail, ids);
    SSO_CHECK(!strcmp(out, "{\"displayName\":\"Test SCIMv2\",\"schemas\":[\"urn:ietf:params:"
                           "scim:schemas:core:2.0:Group\"]}")
              && !strcmp(ids, "[\"scu_1\",\"scu_2\"]"));
    /* Entra's: externalId, Members spelt otherwise, no members at all. */
    s_input_of("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"externalId\":"
               "\"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\",\"DisplayName\":\"Group1DisplayName\","
               "\"meta\":{\"resourceType\":\"Group\"},\"Members\":[{\"value\":\"u-1\"}]}",
               out, sizeof out, type, detail, ids);
    SSO_CHECK(strstr(out, "\"displayName\":\"Group1DisplayName\"")
              && strstr(out, "\"externalId\":\"8aa1a0c0") && !strstr(out, "embers")
              && !strstr(out, "meta") && !strcmp(ids, "[\"u-1\"]"));
    s_input_of("{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":"
               "\"G\",\"members\":[]}", out, sizeof out, type, detail, ids);
    SSO_CHECK(*out && !strstr(out, "members") && !strcmp(ids, "[]"));
    /* Refusals: each a 400 with its scimType and a detail that says why. */
    static const struct {
        const char *body, *type, *why;
    } bad[] = {
        {"", "invalidSyntax", "JSON object"},
        {"{\"displayName\":", "invalidSyntax", "JSON object"},
        {"[]", "invalidSyntax", "JSON object"},
        {"{\"displayName\":\"G\"}", "invalidValue", "schemas must list"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"displayName\":\"G\"}",
         "invalidValue", "unknown schema"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"urn:x\"],"
         "\"displayName\":\"G\"}", "invalidValue", "unknown schema urn:x"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"urn:x\":{},"
         "\"displayName\":\"G\"}", "invalidValue", "unknown schema urn:x"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"]}", "invalidValue",
         "displayName"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"\"}",
         "invalidValue", "displayName"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":1}",
         "invalidValue", "displayName"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":"
         "\"a\\u0007\"}", "invalidValue", "displayName"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"externalId\":[]}", "invalidValue", "externalId"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":{\"value\":\"u\"}}", "invalidValue", "members must be an array"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"display\":\"u\"}]}", "invalidValue", "members[0] must be"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"value\":\"u\"},\"v\"]}", "invalidValue", "members[1] must be"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"value\":\"\"}]}", "invalidValue", "members[0] must be"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"value\":\"a/b\"}]}", "invalidValue", "members[0] must be"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"value\":\"g1\",\"type\":\"Group\"}]}", "invalidValue",
         "nested groups"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"members\":[{\"value\":\"g1\",\"type\":1}]}", "invalidValue",
         "members[0].type must be a string"},
        /* What the Group schema does not declare is not stored (scim_discovery_check). */
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"shoeSize\":1}", "invalidSyntax", "shoeSize"},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"G\","
         "\"a\":[[[[[[[[[[1]]]]]]]]]]}", "invalidValue", "nested deeper"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s_input_of(bad[i].body, out, sizeof out, type, detail, ids);
        bool ok = !*out && !strcmp(type, bad[i].type) && strstr(detail, bad[i].why);
        if (!ok)
            fprintf(stderr, "group input case %zu: got %s / %s / %s\n", i, out, type, detail);
        SSO_CHECK(ok);
    }
    /* Over the member cap: refused before the directory is asked. */
    size_t many = SCIM_GROUP_MEMBERS_MAX + 1, cap = many * 24 + 256, used = 0;
    char *big = malloc(cap);
    if (big) {
        used += (size_t) snprintf(big, cap, "{\"schemas\":[\"%s\"],\"displayName\":\"G\","
                                  "\"members\":[", SCIM_GROUP_URN);
        for (size_t i = 0; i < many; i++)
            used += (size_t) snprintf(big + used, cap - used, "%s{\"value\":\"u%zu\"}",
                                      i ? "," : "", i);
        snprintf(big + used, cap - used, "]}");
        s_input_of(big, out, sizeof out, type, detail, ids);
        SSO_CHECK(!*out && strstr(detail, "at most 50000 members"));
        free(big);
    }
    /* Rendering: id, meta, members with $ref and type; none without members read. */
    scim_req_t req = {0};
    snprintf(req.base_url, sizeof req.base_url, "https://sso.example/scim/v2/dir_1");
    static const char *const member_of[][2] = {{"scu_1", "Jo Doe"}, {"scu_2", "al@x"}};
    Sso__ScimMember rows[2], *members[2];
    for (size_t i = 0; i < 2; i++) {
        rows[i] = (Sso__ScimMember) SSO__SCIM_MEMBER__INIT;
        rows[i].user_id = (char *) member_of[i][0];
        rows[i].display = (char *) member_of[i][1];
        members[i] = &rows[i];
    }
    Sso__ScimGroup group = SSO__SCIM_GROUP__INIT;
    group.id = "scg_1";
    group.display_name = "Eng";
    group.resource_json = "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],"
                          "\"displayName\":\"Eng\"}";
    group.version = 4;
    group.created_at = 86400;
    group.updated_at = 86401;
    group.members = members;
    group.n_members = group.member_count = 2;
    json_t *rendered = s_render(&req, &group);
    json_t *meta = json_object_get(rendered, "meta");
    json_t *second = json_array_get(json_object_get(rendered, "members"), 1);
    SSO_CHECK(rendered && !strcmp(json_string_value(json_object_get(rendered, "id")), "scg_1")
              && !strcmp(json_string_value(json_object_get(meta, "resourceType")), "Group")
              && !strcmp(json_string_value(json_object_get(meta, "version")), "W/\"4\"")
              && !strcmp(json_string_value(json_object_get(meta, "created")),
                         "1970-01-02T00:00:00Z")
              && !strcmp(json_string_value(json_object_get(meta, "location")),
                         "https://sso.example/scim/v2/dir_1/Groups/scg_1"));
    SSO_CHECK(json_array_size(json_object_get(rendered, "members")) == 2
              && !strcmp(json_string_value(json_object_get(second, "value")), "scu_2")
              && !strcmp(json_string_value(json_object_get(second, "display")), "al@x")
              && !strcmp(json_string_value(json_object_get(second, "$ref")),
                         "https://sso.example/scim/v2/dir_1/Users/scu_2")
              && !strcmp(json_string_value(json_object_get(second, "type")), "User"));
    json_decref(rendered);
    /* What scim_patch is given: the members as {value, display}; a Group PATCH then sees them. */
    json_t *patchable = s_patchable(&group);
    char *text = json_dumps(json_object_get(patchable, "members"), JSON_COMPACT);
    SSO_CHECK(text && !strcmp(text, "[{\"value\":\"scu_1\",\"display\":\"Jo Doe\"},"
                                    "{\"value\":\"scu_2\",\"display\":\"al@x\"}]"));
    SSO_CHECK(!strcmp(json_string_value(json_object_get(patchable, "id")), "scg_1"));
    free(text);
    json_decref(patchable);
    group.n_members = 0;
    rendered = s_render(&req, &group);
    SSO_CHECK(rendered && !json_object_get(rendered, "members"));
    json_decref(rendered);
    group.resource_json = "[]";
    SSO_CHECK(!s_render(&req, &group) && !s_patchable(&group));
    /* What a list asks the directory: members only when served or named by filter/sortBy
       (Okta's and Entra's excludedAttributes=members reads none), 50 groups a page then. */
    static const struct {
        const char *attributes, *excluded, *filter, *sort_by;
        bool with_members;
    } reads[] = {
        {NULL, "members", "displayName eq \"Eng\"", NULL, false},
        {"displayName", NULL, NULL, NULL, false},
        {NULL, "members", "members[value eq \"scu_1\"]", NULL, true},
        {NULL, "members", NULL, "members.display", true},
        {NULL, NULL, NULL, NULL, true},
        {"members.value", NULL, NULL, NULL, true},
    };
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        scim_query_t query = {.attributes = (char *) reads[i].attributes,
                              .excluded = (char *) reads[i].excluded,
                              .filter = (char *) reads[i].filter,
                              .sort_by = (char *) reads[i].sort_by};
        char why[256];
        scim_filter_t *filter = query.filter ? scim_filter_parse(query.filter,
                                                                 strlen(query.filter), why,
                                                                 sizeof why)
                                             : NULL;
        s_lister_t lister = {.req = &req, .list = SSO__SCIM_GROUP_LIST_REQUEST__INIT};
        s_list_start(&lister, &query, filter);
        bool ok = lister.list.with_members == reads[i].with_members
                  && lister.list.limit == (reads[i].with_members ? S_PAGE_MEMBERS : S_PAGE);
        if (!ok)
            fprintf(stderr, "group list read case %zu\n", i);
        SSO_CHECK(ok);
        scim_filter_destroy(&filter);
    }
    /* The directory's key of a filter. */
    static const struct {
        const char *filter;
        Sso__ScimGroupKey key;
        const char *value;
    } keys[] = {
        {"displayName eq \"Eng\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_DISPLAY_NAME, "Eng"},
        {"externalId eq \"e1\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_EXTERNAL_ID, "e1"},
        {"members.value eq \"scu_1\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER, "scu_1"},
        {"members[value eq \"scu_1\"]", SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER, "scu_1"},
        {"displayName eq \"Eng\" and members[value eq \"scu_1\"]",
         SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER, "scu_1"},
        {"displayName co \"Eng\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, ""},
        {"displayName eq \"\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, ""},
        {"displayName eq \"a\" or externalId eq \"b\"", SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, ""},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char why[256];
        scim_filter_t *filter = scim_filter_parse(keys[i].filter, strlen(keys[i].filter), why,
                                                  sizeof why);
        const char *value = NULL;
        bool ok = filter
                  && scim_filter_key(filter, s_keys, sizeof s_keys / sizeof *s_keys, &value)
                         == (int) keys[i].key
                  && !strcmp(value, keys[i].value);
        if (!ok)
            fprintf(stderr, "group key case %zu: %s\n", i, keys[i].filter);
        SSO_CHECK(ok);
        scim_filter_destroy(&filter);
    }
}
