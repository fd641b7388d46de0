/* scim_users: the /Users endpoint. */
#include "scim_users.h"
#include "scim_attrs.h"
#include "scim_discovery.h"
#include "scim_filter.h"
#include "scim_http.h"
#include "scim_patch.h"
#include "scim_sort.h"
#include "sso_clients.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <strings.h>
#include <time.h>

#define S_RESOURCE_MAX (256 * 1024) /* the directory's cap on a stored resource */
#define S_DEPTH_MAX 8                /* nesting of a User's values */
#define S_PAGE 500                   /* users per ScimUserList call */

/* Why an input is refused: the SCIM error's status, scimType and detail. */
typedef struct {
    uint32_t status;
    const char *scim_type;
    char detail[320];
} s_fail_t;

static void s_fail(s_fail_t *fail, uint32_t status, const char *scim_type, const char *format,
                   ...) __attribute__((format(printf, 4, 5)));
static void s_fail(s_fail_t *fail, uint32_t status, const char *scim_type, const char *format,
                   ...)
{
    fail->status = status;
    fail->scim_type = scim_type;
    va_list args;
    va_start(args, format);
    vsnprintf(fail->detail, sizeof fail->detail, format, args);
    va_end(args);
}

static zframe_t *s_fail_reply(const s_fail_t *fail)
{
    return scim_http_error(fail->status, fail->scim_type, fail->detail);
}

/* ---- input ------------------------------------------------------------------------------- */

/* Every string of value within SCIM_VALUE_MAX, nesting within S_DEPTH_MAX. */
static bool s_values_fit(const json_t *value, int depth)
{
    if (depth > S_DEPTH_MAX)
        return false;
    if (json_is_string(value))
        return json_string_length(value) <= SCIM_VALUE_MAX;
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_object(value)) {
        json_object_foreach((json_t *) value, key, child)
            if (strlen(key) > 256 || !s_values_fit(child, depth + 1))
                return false;
    }
    else if (json_is_array(value))
        json_array_foreach(value, i, child)
            if (!s_values_fit(child, depth + 1))
                return false;
    return true;
}

/* Moves the member named name (in any case) to its canonical spelling; the value or NULL. */
static json_t *s_canonical(json_t *object, const char *name)
{
    const char *key = NULL;
    json_t *value = scim_json_get(object, name, &key);
    if (value && strcmp(key, name) != 0) {
        json_incref(value);
        json_object_del(object, key);
        json_object_set_new(object, name, value);
    }
    return value;
}

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

/* Whether text has no control characters (the directory refuses them in its columns). */
static bool s_plain(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* A string member that must be plain text when present: 0 (*out NULL when absent) or -1. */
static int s_text(json_t *resource, const char *name, bool required, const char **out,
                  s_fail_t *fail)
{
    json_t *value = s_canonical(resource, name);
    *out = json_string_value(value);
    if ((!value && !required) || (*out && **out && s_plain(*out)))
        return 0;
    s_fail(fail, 400, "invalidValue", "%s must be %s text without control characters", name,
           required ? "non-empty" : "");
    return -1;
}

/* The schemas member: the core User URN, and no other than it and the enterprise extension
   (added when the body has the extension's object). 0 or -1. */
static int s_schemas(json_t *resource, s_fail_t *fail)
{
    json_t *schemas = s_canonical(resource, "schemas");
    if (!json_is_array(schemas) || json_array_size(schemas) == 0) {
        s_fail(fail, 400, "invalidValue", "schemas must list %s", SCIM_USER_URN);
        return -1;
    }
    bool user = false, enterprise = false;
    size_t i;
    json_t *urn;
    json_array_foreach(schemas, i, urn) {
        const char *text = json_string_value(urn);
        if (text && !strcasecmp(text, SCIM_USER_URN))
            user = true;
        else if (text && !strcasecmp(text, SCIM_ENTERPRISE_URN))
            enterprise = true;
        else {
            s_fail(fail, 400, "invalidValue", "unknown schema %.200s: a User has %s and %s",
                   text ? text : "(not a string)", SCIM_USER_URN, SCIM_ENTERPRISE_URN);
            return -1;
        }
    }
    if (!user) {
        s_fail(fail, 400, "invalidValue", "schemas must list %s", SCIM_USER_URN);
        return -1;
    }
    /* Members named by a URN: only the extension's, an object, kept under its URN. */
    const char *key;
    json_t *value;
    bool has_extension = false;
    json_object_foreach(resource, key, value) {
        if (strncasecmp(key, "urn:", 4) != 0)
            continue;
        if (strcasecmp(key, SCIM_ENTERPRISE_URN) != 0 || !json_is_object(value)) {
            s_fail(fail, 400, "invalidValue", "unknown schema %.200s: a User has %s and %s",
                   key, SCIM_USER_URN, SCIM_ENTERPRISE_URN);
            return -1;
        }
        has_extension = true;
    }
    if (has_extension)
        s_canonical(resource, SCIM_ENTERPRISE_URN);
    json_t *canonical = json_pack("[s]", SCIM_USER_URN);
    if (enterprise || has_extension)
        json_array_append_new(canonical, json_string(SCIM_ENTERPRISE_URN));
    json_object_set_new(resource, "schemas", canonical);
    return 0;
}

static json_t *s_checked(json_t *resource, Sso__ScimUser *user, s_fail_t *fail);

/* The User of a POST or PUT body as it will be stored (a new reference), with user's columns
   pointing into it; NULL with fail. */
static json_t *s_input(const Sso__HttpRequest *http, Sso__ScimUser *user, s_fail_t *fail)
{
    json_error_t error;
    json_t *resource = json_loadb((const char *) http->body.data, http->body.len,
                                  JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(resource)) {
        s_fail(fail, 400, "invalidSyntax", "the body must be a JSON object%s%.200s",
               resource ? "" : ": ", resource ? "" : error.text);
        json_decref(resource);
        return NULL;
    }
    return s_checked(resource, user, fail);
}

/* resource (taken) checked as a User to store, as s_input does for a body: a PUT's body and a
   PATCH's result pass the same checks. */
static json_t *s_checked(json_t *resource, Sso__ScimUser *user, s_fail_t *fail)
{
    /* Read-only (id, meta, groups) and never kept (password): ignored, as RFC 7644 3.3
       lets a service provider do. */
    const char *const ignored[] = {"id", "meta", "groups", "password"};
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++) {
        const char *key = NULL;
        while (scim_json_get(resource, ignored[i], &key))
            json_object_del(resource, key);
    }
    const char *external_id = NULL, *display_name = NULL;
    json_t *active = NULL, *emails = NULL;
    int flag = 1;
    if (s_schemas(resource, fail) != 0)
        goto refused;
    if (!s_values_fit(resource, 0)) {
        s_fail(fail, 400, "invalidValue", "a value is longer than %d bytes, or nested deeper "
               "than %d levels", SCIM_VALUE_MAX, S_DEPTH_MAX);
        goto refused;
    }
    const char *scim_type = NULL;
    char why[256];
    if (scim_discovery_check(SCIM_USER_URN, resource, &scim_type, why, sizeof why) != 0) {
        s_fail(fail, 400, scim_type, "%s", why);
        goto refused;
    }
    const char *user_name = NULL;
    if (s_text(resource, "userName", true, &user_name, fail) != 0
        || s_text(resource, "externalId", false, &external_id, fail) != 0
        || s_text(resource, "displayName", false, &display_name, fail) != 0)
        goto refused;
    active = s_canonical(resource, "active");
    flag = active ? s_bool(active) : 1;
    if (flag < 0) {
        s_fail(fail, 400, "invalidValue", "active must be true or false");
        goto refused;
    }
    json_object_set_new(resource, "active", json_boolean(flag));
    emails = s_canonical(resource, "emails");
    if (emails && !json_is_array(emails)) {
        s_fail(fail, 400, "invalidValue", "emails must be an array");
        goto refused;
    }
    const char *email = s_email(emails);
    if (email && !s_plain(email)) {
        s_fail(fail, 400, "invalidValue", "an email's value must be text without control "
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

/* ---- output ------------------------------------------------------------------------------ */

static void s_time(int64_t seconds, char out[32])
{
    time_t t = (time_t) seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static void s_etag(int64_t version, char out[32])
{
    snprintf(out, 32, "W/\"%lld\"", (long long) version);
}

static void s_location(const scim_req_t *req, const char *id, char *out, size_t size)
{
    snprintf(out, size, "%s/Users/%s", req->base_url, id);
}

/* The user as served: its stored resource with id and meta (a new reference; NULL when the
   stored text is not an object, which the directory never keeps). */
static json_t *s_render(const scim_req_t *req, const Sso__ScimUser *user)
{
    json_t *resource = json_loads(user->resource_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(resource)) {
        json_decref(resource);
        return NULL;
    }
    char created[32], modified[32], etag[32], location[sizeof req->base_url + 80];
    s_time(user->created_at, created);
    s_time(user->updated_at, modified);
    s_etag(user->version, etag);
    s_location(req, user->id, location, sizeof location);
    json_object_set_new(resource, "id", json_string(user->id));
    json_object_set_new(resource, "meta",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "resourceType", "User",
                                  "created", created, "lastModified", modified, "location",
                                  location, "version", etag));
    return resource;
}

/* The answer of a call to the directory that failed: the bus's status, or the operation's
   error. */
static zframe_t *s_call_failed(int status, Sso__RpcError error, const char *description)
{
    if (status != 0)
        return scim_http_error(503, NULL, "the directory is unavailable; retry later");
    switch (error) {
    case SSO__RPC_ERROR__NOT_FOUND:
        return scim_http_error(404, NULL, "no such user in this directory");
    case SSO__RPC_ERROR__CONFLICT:
        return scim_http_error(409, "uniqueness", "the directory has a user with this userName "
                                                  "already");
    case SSO__RPC_ERROR__STALE:
        return scim_http_error(412, NULL, "the user changed since the version given in "
                                          "If-Match");
    case SSO__RPC_ERROR__INVALID_REQUEST:
        return scim_http_error(400, "invalidValue", description);
    default:
        sso_warn("scim: the directory answered %d: %s", (int) error, description);
        return scim_http_error(500, NULL, "internal error");
    }
}

/* A user reply as the answer: status with the user (and Location on 201), or the failure. */
static zframe_t *s_user_reply(scim_req_t *req, int status, Sso__ScimUserReply *reply,
                              uint32_t http_status, const char *attributes, const char *excluded)
{
    zframe_t *frame;
    if (status != 0 || !reply || reply->error || !reply->user)
        frame = s_call_failed(status, reply ? reply->error : SSO__RPC_ERROR__SERVER_ERROR,
                              reply ? reply->error_description : "");
    else {
        json_t *resource = s_render(req, reply->user);
        char why[256] = "", etag[32], location[sizeof req->base_url + 80];
        s_etag(reply->user->version, etag);
        s_location(req, reply->user->id, location, sizeof location);
        if (resource && scim_attrs_apply(resource, attributes, excluded, why, sizeof why) != 0) {
            json_decref(resource);
            frame = scim_http_error(400, "invalidValue", why);
        }
        else if (!resource)
            frame = scim_http_error(500, NULL, "internal error");
        else
            frame = scim_http_json(http_status, resource, http_status == 201 ? location : NULL,
                                   etag);
    }
    if (reply)
        sso__scim_user_reply__free_unpacked(reply, NULL);
    return frame;
}

/* ---- list parameters --------------------------------------------------------------------- */

typedef struct {
    char *filter;     /* NULL: none */
    char *attributes; /* "a,b" */
    char *excluded;
    char *sort_by;    /* NULL: creation order */
    bool descending;
    long start;       /* 1-based */
    long count;
} s_query_t;

static void s_query_free(s_query_t *query)
{
    free(query->filter);
    free(query->attributes);
    free(query->excluded);
    free(query->sort_by);
}

/* A decimal integer of text ("-3" too); -1 when it is not one. */
static int s_long(const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long value = text && *text ? strtol(text, &end, 10) : 0;
    if (!text || !*text || *end || errno)
        return -1;
    *out = value;
    return 0;
}

/* startIndex below 1 reads as 1 and count below 0 as 0 (RFC 7644 3.4.2.4); count is capped. */
static void s_bounds(s_query_t *query)
{
    query->start = query->start < 1 ? 1 : query->start;
    query->count = query->count < 0 ? 0 : query->count > SCIM_LIST_MAX ? SCIM_LIST_MAX
                                                                       : query->count;
}

/* The query string's parameters. 0, or -1 with fail. */
static int s_query_of_url(const Sso__HttpRequest *http, s_query_t *query, s_fail_t *fail)
{
    zhashx_t *params = sso_http_params(http);
    if (!params) {
        s_fail(fail, 400, "invalidValue", "the query string does not decode, or repeats a "
                                          "parameter");
        return -1;
    }
    const char *filter = zhashx_lookup(params, "filter");
    const char *start = zhashx_lookup(params, "startIndex");
    const char *count = zhashx_lookup(params, "count");
    const char *attributes = zhashx_lookup(params, "attributes");
    const char *excluded = zhashx_lookup(params, "excludedAttributes");
    const char *sort_by = zhashx_lookup(params, "sortBy");
    query->sort_by = sort_by ? strdup(sort_by) : NULL;
    query->filter = filter ? strdup(filter) : NULL;
    query->attributes = attributes ? strdup(attributes) : NULL;
    query->excluded = excluded ? strdup(excluded) : NULL;
    int rc = 0;
    if ((start && s_long(start, &query->start) != 0)
        || (count && s_long(count, &query->count) != 0)) {
        s_fail(fail, 400, "invalidValue", "startIndex and count must be integers");
        rc = -1;
    }
    if (rc == 0 && scim_sort_order(zhashx_lookup(params, "sortOrder"), &query->descending) != 0) {
        s_fail(fail, 400, "invalidValue", "sortOrder must be ascending or descending");
        rc = -1;
    }
    zhashx_destroy(&params);
    return rc;
}

/* A SearchRequest's list of attribute paths as "a,b"; NULL (and 0) when absent. -1 when it is
   not an array of strings. */
static int s_joined(const json_t *list, char **out)
{
    *out = NULL;
    if (!list)
        return 0;
    if (!json_is_array(list))
        return -1;
    size_t total = 1, i;
    json_t *item;
    json_array_foreach(list, i, item) {
        if (!json_is_string(item) || json_string_length(item) > SCIM_ATTRS_TEXT_MAX)
            return -1;
        total += json_string_length(item) + 1;
    }
    if (total > SCIM_ATTRS_TEXT_MAX + 2)
        return -1;
    char *joined = calloc(1, total);
    size_t used = 0;
    json_array_foreach(list, i, item)
        used += (size_t) snprintf(joined + used, total - used, "%s%s", i ? "," : "",
                                  json_string_value(item));
    *out = joined;
    return 0;
}

/* POST /Users/.search's SearchRequest (RFC 7644 3.4.3). 0, or -1 with fail. */
static int s_query_of_body(const Sso__HttpRequest *http, s_query_t *query, s_fail_t *fail)
{
    json_error_t error;
    json_t *body = json_loadb((const char *) http->body.data, http->body.len,
                              JSON_REJECT_DUPLICATES, &error);
    int rc = -1;
    const json_t *filter = scim_json_get(body, "filter", NULL);
    const json_t *start = scim_json_get(body, "startIndex", NULL);
    const json_t *count = scim_json_get(body, "count", NULL);
    const json_t *sort_by = scim_json_get(body, "sortBy", NULL);
    const json_t *sort_order = scim_json_get(body, "sortOrder", NULL);
    if (!json_is_object(body))
        s_fail(fail, 400, "invalidSyntax", "the body must be a SearchRequest JSON object");
    else if ((filter && !json_is_string(filter)) || (start && !json_is_integer(start))
             || (count && !json_is_integer(count)) || (sort_by && !json_is_string(sort_by))
             || (sort_order && !json_is_string(sort_order))
             || scim_sort_order(json_string_value(sort_order), &query->descending) != 0)
        s_fail(fail, 400, "invalidValue", "filter and sortBy must be strings, sortOrder "
                                          "ascending or descending, startIndex and count "
                                          "integers");
    else if (s_joined(scim_json_get(body, "attributes", NULL), &query->attributes) != 0
             || s_joined(scim_json_get(body, "excludedAttributes", NULL), &query->excluded)
                    != 0)
        s_fail(fail, 400, "invalidValue", "attributes and excludedAttributes must be arrays "
                                          "of attribute paths");
    else {
        query->filter = filter ? strdup(json_string_value(filter)) : NULL;
        query->sort_by = sort_by ? strdup(json_string_value(sort_by)) : NULL;
        if (start)
            query->start = (long) json_integer_value(start);
        if (count)
            query->count = (long) json_integer_value(count);
        rc = 0;
    }
    json_decref(body);
    return rc;
}

/* The indexed column a filter's required equality names, with its value. */
static Sso__ScimUserKey s_key(const scim_filter_t *filter, const char **value)
{
    static const struct {
        const char *name, *sub;
        Sso__ScimUserKey key;
    } keys[] = {
        {"userName", NULL, SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME},
        {"externalId", NULL, SSO__SCIM_USER_KEY__SCIM_USER_EXTERNAL_ID},
        {"emails", "value", SSO__SCIM_USER_KEY__SCIM_USER_EMAIL},
        {"displayName", NULL, SSO__SCIM_USER_KEY__SCIM_USER_DISPLAY_NAME},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if ((*value = scim_filter_eq_value(filter, keys[i].name, keys[i].sub)) != NULL
            && **value && strlen(*value) <= SCIM_VALUE_MAX)
            return keys[i].key;
    *value = "";
    return SSO__SCIM_USER_KEY__SCIM_USER_ALL;
}

/* ---- the operations ---------------------------------------------------------------------- */

/* The list parameters that do not depend on the users: the filter parsed, attributes and
   sortBy readable. NULL, or the 400 to answer. */
static zframe_t *s_list_checked(const s_query_t *query, scim_filter_t **filter)
{
    char why[320];
    *filter = NULL;
    if (query->filter
        && !(*filter = scim_filter_parse(query->filter, strlen(query->filter), why, sizeof why)))
        return scim_http_error(400, "invalidFilter", why);
    json_t *empty = json_array(), *probe = json_object();
    int rc = scim_attrs_apply(probe, query->attributes, query->excluded, why, sizeof why);
    if (rc == 0 && query->sort_by)
        rc = scim_sort(empty, query->sort_by, query->descending, why, sizeof why);
    json_decref(empty);
    json_decref(probe);
    if (rc == 0)
        return NULL;
    scim_filter_destroy(filter);
    return scim_http_error(400, "invalidValue", why);
}

static zframe_t *s_list(scim_req_t *req, bool search)
{
    s_query_t query = {.start = 1, .count = SCIM_COUNT_DEFAULT};
    s_fail_t fail = {0};
    char why[320];
    scim_filter_t *filter = NULL;
    zframe_t *failed = (search ? s_query_of_body(req->http, &query, &fail)
                               : s_query_of_url(req->http, &query, &fail)) != 0
                           ? s_fail_reply(&fail)
                           : NULL;
    if (!failed) {
        s_bounds(&query);
        failed = s_list_checked(&query, &filter);
    }
    if (failed) {
        s_query_free(&query);
        return failed;
    }
    Sso__ScimUserListRequest list = SSO__SCIM_USER_LIST_REQUEST__INIT;
    list.directory_id = req->directory_id;
    const char *value = "";
    list.key = filter ? s_key(filter, &value) : SSO__SCIM_USER_KEY__SCIM_USER_ALL;
    list.value = (char *) value;
    list.limit = S_PAGE;
    /* Sorted, every match is kept to be sorted; otherwise only the page's. */
    bool sorting = query.sort_by != NULL;
    json_t *matches = json_array();
    long matched = 0;
    for (bool more = true; more && !failed;) {
        Sso__ScimUserListReply *page = NULL;
        int status = sso_dir_scim_user_list(req->service, &list, &page);
        if (status != 0 || !page || page->error) {
            failed = s_call_failed(status, page ? page->error : SSO__RPC_ERROR__SERVER_ERROR,
                                   page ? page->error_description : "");
            more = false;
        }
        for (size_t i = 0; !failed && i < page->n_users; i++) {
            json_t *resource = s_render(req, page->users[i]);
            list.after_seq = page->users[i]->seq;
            if (resource && (!filter || scim_filter_match(filter, resource))
                && ++matched >= (sorting ? 1 : query.start)
                && (sorting || (long) json_array_size(matches) < query.count))
                json_array_append(matches, resource);
            json_decref(resource);
        }
        more = more && page->more;
        if (page)
            sso__scim_user_list_reply__free_unpacked(page, NULL);
    }
    scim_filter_destroy(&filter);
    if (!failed && sorting
        && scim_sort(matches, query.sort_by, query.descending, why, sizeof why) != 0)
        failed = scim_http_error(400, "invalidValue", why);
    json_t *resources = json_array();
    for (size_t i = sorting ? (size_t) query.start - 1 : 0;
         !failed && i < json_array_size(matches) && (long) json_array_size(resources) < query.count;
         i++) {
        json_t *resource = json_array_get(matches, i);
        if (scim_attrs_apply(resource, query.attributes, query.excluded, why, sizeof why) != 0)
            failed = scim_http_error(400, "invalidValue", why);
        else
            json_array_append(resources, resource);
    }
    json_decref(matches);
    s_query_free(&query);
    if (failed) {
        json_decref(resources);
        return failed;
    }
    size_t n = json_array_size(resources);
    return scim_http_json(200,
                          json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCIM_LIST_URN,
                                    "totalResults", (json_int_t) matched, "startIndex",
                                    (json_int_t) query.start, "itemsPerPage", (json_int_t) n,
                                    "Resources", resources),
                          NULL, NULL);
}

static zframe_t *s_create(scim_req_t *req)
{
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    s_fail_t fail = {0};
    json_t *resource = s_input(req->http, &user, &fail);
    if (!resource)
        return s_fail_reply(&fail);
    user.resource_json = json_dumps(resource, JSON_COMPACT);
    zframe_t *frame;
    if (!user.resource_json || strlen(user.resource_json) > S_RESOURCE_MAX)
        frame = scim_http_error(400, "invalidValue", "the user is too large");
    else {
        Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
        write.directory_id = req->directory_id;
        write.user = &user;
        Sso__ScimUserReply *reply = NULL;
        int status = sso_dir_scim_user_create(req->service, &write, &reply);
        frame = s_user_reply(req, status, reply, 201, NULL, NULL);
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
        return s_user_reply(req, status, reply, 200, NULL, NULL);
    *version = reply->user->version;
    sso__scim_user_reply__free_unpacked(reply, NULL);
    if (scim_users_if_match(sso_http_header(req->http, "if-match"), *version) != 0)
        return scim_http_error(412, NULL, "the user's version is not the one If-Match gives");
    return NULL;
}

int scim_users_if_match(const char *header, int64_t version)
{
    if (!header)
        return 0;
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return 0;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (*p != '"')
            return -1;
        char *end = NULL;
        errno = 0;
        long long given = strtoll(p + 1, &end, 10);
        if (end == p + 1 || *end != '"' || errno)
            return -1;
        if (given == version)
            return 0;
        p = end + 1;
    }
    return -1;
}

/* Stores resource (checked by s_checked into user; taken) as user id's new version, on the
   version read: the answer to a PUT or a PATCH. */
static zframe_t *s_store(scim_req_t *req, const char *id, json_t *resource, Sso__ScimUser *user,
                         int64_t version)
{
    zframe_t *frame;
    user->id = (char *) id;
    user->resource_json = json_dumps(resource, JSON_COMPACT);
    if (!user->resource_json || strlen(user->resource_json) > S_RESOURCE_MAX)
        frame = scim_http_error(400, "invalidValue", "the user is too large");
    else {
        Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
        write.directory_id = req->directory_id;
        write.user = user;
        write.expected_version = version;
        Sso__ScimUserReply *reply = NULL;
        int status = sso_dir_scim_user_replace(req->service, &write, &reply);
        frame = s_user_reply(req, status, reply, 200, NULL, NULL);
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
    s_fail_t fail = {0};
    json_t *resource = s_input(req->http, &user, &fail);
    if (!resource)
        return s_fail_reply(&fail);
    return s_store(req, id, resource, &user, version);
}

/* PATCH (RFC 7644 3.5.2): the stored user, the PatchOp applied by scim_patch (Okta's and
   Entra's shapes; nothing changes on a refusal), the result checked as a PUT's body is, and
   stored on the version read (If-Match, when given, must name it; a change in between is 412). */
static zframe_t *s_patch(scim_req_t *req, const char *id)
{
    scim_error_t error = {0};
    scim_patch_t *patch = scim_patch_parse((const char *) req->http->body.data,
                                           req->http->body.len, &error);
    if (!patch)
        return scim_http_error((uint32_t) error.status, error.scim_type[0] ? error.scim_type
                                                                          : NULL, error.detail);
    Sso__ScimUserGetRequest get = SSO__SCIM_USER_GET_REQUEST__INIT;
    get.directory_id = req->directory_id;
    get.id = (char *) id;
    Sso__ScimUserReply *current = NULL;
    int status = sso_dir_scim_user_get(req->service, &get, &current);
    if (status != 0 || !current || current->error || !current->user) {
        scim_patch_destroy(&patch);
        return s_user_reply(req, status, current, 200, NULL, NULL);
    }
    int64_t version = current->user->version;
    zframe_t *frame = NULL;
    json_t *stored = json_loads(current->user->resource_json, JSON_REJECT_DUPLICATES, NULL);
    scim_patch_result_t result = {0};
    if (scim_users_if_match(sso_http_header(req->http, "if-match"), version) != 0)
        frame = scim_http_error(412, NULL, "the user's version is not the one If-Match gives");
    else if (!json_is_object(stored))
        frame = scim_http_error(500, NULL, "internal error");
    else if (scim_patch_apply(patch, SCIM_PATCH_USER, stored, 0, &result, &error) != 0)
        frame = scim_http_error((uint32_t) error.status, error.scim_type[0] ? error.scim_type
                                                                           : NULL, error.detail);
    json_decref(stored);
    scim_patch_destroy(&patch);
    if (frame || !result.changed) {
        scim_patch_result_clear(&result);
        if (frame) {
            sso__scim_user_reply__free_unpacked(current, NULL);
            return frame;
        }
        return s_user_reply(req, 0, current, 200, NULL, NULL); /* nothing to write */
    }
    sso__scim_user_reply__free_unpacked(current, NULL);
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    s_fail_t fail = {0};
    json_t *resource = s_checked(json_incref(result.resource), &user, &fail);
    scim_patch_result_clear(&result);
    if (!resource)
        return s_fail_reply(&fail);
    return s_store(req, id, resource, &user, version);
}

static zframe_t *s_delete(scim_req_t *req, const char *id)
{
    int64_t version = 0;
    zframe_t *frame = s_expected_version(req, id, &version);
    if (frame)
        return frame;
    Sso__ScimUserDeleteRequest del = SSO__SCIM_USER_DELETE_REQUEST__INIT;
    del.directory_id = req->directory_id;
    del.id = (char *) id;
    del.expected_version = version;
    Sso__ScimUserReply *reply = NULL;
    int status = sso_dir_scim_user_delete(req->service, &del, &reply);
    if (status == 0 && reply && !reply->error) {
        sso__scim_user_reply__free_unpacked(reply, NULL);
        sso_response_t *response = sso_response_new(204);
        return sso_response_pack(&response);
    }
    return s_user_reply(req, status, reply, 204, NULL, NULL);
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
    zframe_t *frame = s_user_reply(req, status, reply, 200, zhashx_lookup(params, "attributes"),
                                   zhashx_lookup(params, "excludedAttributes"));
    zhashx_destroy(&params);
    return frame;
}

zframe_t *scim_users_http(scim_req_t *req)
{
    const char *method = req->http->method;
    const char *rest = req->rest + strlen("Users");
    if (!strcmp(rest, "") || !strcmp(rest, "/")) {
        if (!strcmp(method, "GET"))
            return s_list(req, false);
        if (!strcmp(method, "POST"))
            return s_create(req);
        return scim_http_method_not_allowed("GET, POST");
    }
    if (!strcmp(rest, "/.search")) {
        if (!strcmp(method, "POST"))
            return s_list(req, true);
        return scim_http_method_not_allowed("POST");
    }
    const char *id = rest + 1;
    if (rest[0] != '/' || !scim_req_id_valid(id, strlen(id)))
        return scim_http_error(404, NULL, "no such user in this directory");
    if (!strcmp(method, "GET"))
        return s_get(req, id);
    if (!strcmp(method, "PUT"))
        return s_replace(req, id);
    if (!strcmp(method, "PATCH"))
        return s_patch(req, id);
    if (!strcmp(method, "DELETE"))
        return s_delete(req, id);
    return scim_http_method_not_allowed("GET, PUT, PATCH, DELETE");
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
    s_fail_t fail = {0};
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
    s_fail_t fail = {0};
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
    /* If-Match. */
    int64_t version = 3;
    SSO_CHECK(scim_users_if_match(NULL, version) == 0 && scim_users_if_match("*", version) == 0
              && scim_users_if_match("W/\"3\"", version) == 0
              && scim_users_if_match("\"3\"", version) == 0
              && scim_users_if_match("W/\"1\", W/\"3\"", version) == 0);
    SSO_CHECK(scim_users_if_match("W/\"2\"", version) == -1
              && scim_users_if_match("3", version) == -1
              && scim_users_if_match("W/\"3", version) == -1
              && scim_users_if_match("", version) == -1
              && scim_users_if_match("W/\"\"", version) == -1);
    /* startIndex and count bounds. */
    s_query_t query = {.start = 0, .count = 5000};
    s_bounds(&query);
    SSO_CHECK(query.start == 1 && query.count == SCIM_LIST_MAX);
    query.start = 7;
    query.count = -2;
    s_bounds(&query);
    SSO_CHECK(query.start == 7 && query.count == 0);
    long parsed = 0;
    SSO_CHECK(s_long("12", &parsed) == 0 && parsed == 12 && s_long("1x", &parsed) == -1
              && s_long("", &parsed) == -1 && s_long("99999999999999999999", &parsed) == -1);
}
