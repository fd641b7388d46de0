/* scim_resource: what /Users and /Groups share. */
#include "scim_resource.h"
#include "scim_attrs.h"
#include "scim_discovery.h"
#include "scim_http.h"
#include "scim_sort.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <strings.h>
#include <time.h>

void scim_fail(scim_fail_t *fail, uint32_t status, const char *scim_type, const char *format,
               ...)
{
    fail->status = status;
    fail->scim_type = scim_type;
    va_list args;
    va_start(args, format);
    vsnprintf(fail->detail, sizeof fail->detail, format, args);
    va_end(args);
}

zframe_t *scim_fail_reply(const scim_fail_t *fail)
{
    return scim_http_error(fail->status, fail->scim_type, fail->detail);
}

zframe_t *scim_patch_error_reply(const scim_error_t *error)
{
    return scim_http_error((uint32_t) error->status,
                           error->scim_type[0] ? error->scim_type : NULL, error->detail);
}

zframe_t *scim_patch_read(const Sso__HttpRequest *http, scim_patch_t **patch)
{
    scim_error_t error = {0};
    *patch = scim_patch_parse((const char *) http->body.data, http->body.len, &error);
    return *patch ? NULL : scim_patch_error_reply(&error);
}

/* ---- input ------------------------------------------------------------------------------- */

json_t *scim_body_object(const Sso__HttpRequest *http, scim_fail_t *fail)
{
    json_error_t error;
    json_t *body = json_loadb((const char *) http->body.data, http->body.len,
                              JSON_REJECT_DUPLICATES, &error);
    if (json_is_object(body))
        return body;
    scim_fail(fail, 400, "invalidSyntax", "the body must be a JSON object%s%.200s",
              body ? "" : ": ", body ? "" : error.text);
    json_decref(body);
    return NULL;
}

void scim_drop(json_t *resource, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *key = NULL;
        while (scim_json_get(resource, names[i], &key))
            json_object_del(resource, key);
    }
}

json_t *scim_canonical(json_t *object, const char *name)
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

bool scim_plain(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int scim_text(json_t *resource, const char *name, bool required, const char **out,
              scim_fail_t *fail)
{
    json_t *value = scim_canonical(resource, name);
    *out = json_string_value(value);
    if ((!value && !required) || (*out && **out && scim_plain(*out)))
        return 0;
    scim_fail(fail, 400, "invalidValue", "%s must be %s text without control characters", name,
              required ? "non-empty" : "");
    return -1;
}

/* Every string of value within SCIM_VALUE_MAX, nesting within SCIM_DEPTH_MAX. */
static bool s_values_fit(const json_t *value, int depth)
{
    if (depth > SCIM_DEPTH_MAX)
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

/* The refusal of a schema the resource may not have. */
static void s_unknown_schema(scim_fail_t *fail, const char *urn, const char *core_urn,
                             const char *extension_urn)
{
    const char *kind = strrchr(core_urn, ':') + 1; /* "User", "Group" */
    scim_fail(fail, 400, "invalidValue", "unknown schema %.200s: a %s has %s%s%s", urn, kind,
              core_urn, extension_urn ? " and " : " only", extension_urn ? extension_urn : "");
}

int scim_schemas_and_sizes(json_t *resource, const char *core_urn, const char *extension_urn,
                           scim_fail_t *fail)
{
    json_t *schemas = scim_canonical(resource, "schemas");
    bool core = false, extension = false;
    size_t i;
    json_t *urn;
    json_array_foreach(schemas, i, urn) {
        const char *text = json_string_value(urn);
        if (text && !strcasecmp(text, core_urn))
            core = true;
        else if (text && extension_urn && !strcasecmp(text, extension_urn))
            extension = true;
        else {
            s_unknown_schema(fail, text ? text : "(not a string)", core_urn, extension_urn);
            return -1;
        }
    }
    if (!core) {
        scim_fail(fail, 400, "invalidValue", "schemas must list %s", core_urn);
        return -1;
    }
    /* Members named by a URN: only the extension's, an object, kept under its URN. */
    const char *key;
    json_t *value;
    bool has_extension = false;
    json_object_foreach(resource, key, value) {
        if (strncasecmp(key, "urn:", 4) != 0)
            continue;
        if (!extension_urn || strcasecmp(key, extension_urn) != 0 || !json_is_object(value)) {
            s_unknown_schema(fail, key, core_urn, extension_urn);
            return -1;
        }
        has_extension = true;
    }
    if (has_extension)
        scim_canonical(resource, extension_urn);
    json_t *canonical = json_pack("[s]", core_urn);
    if (extension || has_extension)
        json_array_append_new(canonical, json_string(extension_urn));
    json_object_set_new(resource, "schemas", canonical);
    if (!s_values_fit(resource, 0)) {
        scim_fail(fail, 400, "invalidValue", "a value is longer than %d bytes, or nested deeper "
                  "than %d levels", SCIM_VALUE_MAX, SCIM_DEPTH_MAX);
        return -1;
    }
    return 0;
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

json_t *scim_stored(const scim_req_t *req, const char *resource_type, const char *resource_json,
                    const scim_stamp_t *stamp)
{
    json_t *resource = json_loads(resource_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(resource)) {
        json_decref(resource);
        return NULL;
    }
    char created[32], modified[32], etag[32], location[sizeof req->base_url + 96];
    s_time(stamp->created_at, created);
    s_time(stamp->updated_at, modified);
    s_etag(stamp->version, etag);
    snprintf(location, sizeof location, "%s/%ss/%s", req->base_url, resource_type, stamp->id);
    json_object_set_new(resource, "id", json_string(stamp->id));
    json_object_set_new(resource, "meta",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "resourceType", resource_type,
                                  "created", created, "lastModified", modified, "location",
                                  location, "version", etag));
    return resource;
}

void scim_reference(json_t *resource, const char *attr, const scim_req_t *req,
                    const char *endpoint, const char *id, const char *display, const char *type)
{
    char ref[sizeof req->base_url + 96];
    snprintf(ref, sizeof ref, "%s/%s/%s", req->base_url, endpoint, id);
    json_t *array = json_object_get(resource, attr);
    if (!array) {
        array = json_array();
        json_object_set_new(resource, attr, array);
    }
    json_array_append_new(array, json_pack("{s:s, s:s, s:s, s:s}", "value", id, "display",
                                           display, "$ref", ref, "type", type));
}

zframe_t *scim_resource_answer(uint32_t status, json_t *resource, const char *attributes,
                               const char *excluded)
{
    if (!resource)
        return scim_http_error(500, NULL, "internal error");
    json_t *meta = json_object_get(resource, "meta");
    char etag[32] = "", location[sizeof ((scim_req_t *) 0)->base_url + 96] = "", why[256] = "";
    snprintf(etag, sizeof etag, "%s", json_string_value(json_object_get(meta, "version")));
    snprintf(location, sizeof location, "%s",
             json_string_value(json_object_get(meta, "location")));
    if (scim_attrs_apply(resource, attributes, excluded, why, sizeof why) != 0) {
        json_decref(resource);
        return scim_http_error(400, "invalidValue", why);
    }
    return scim_http_json(status, resource, status == 201 ? location : NULL, etag);
}

zframe_t *scim_http_no_content(void)
{
    sso_response_t *response = sso_response_new(204);
    return sso_response_pack(&response);
}

zframe_t *scim_no_content(int64_t version)
{
    char etag[32];
    s_etag(version, etag);
    sso_response_t *response = sso_response_new(204);
    sso_response_header(response, "ETag", etag);
    return sso_response_pack(&response);
}

zframe_t *scim_call_failed(int status, Sso__RpcError error, const char *description,
                           const char *what)
{
    char detail[128];
    if (status != 0)
        return scim_http_error(503, NULL, "the directory is unavailable; retry later");
    switch (error) {
    case SSO__RPC_ERROR__NOT_FOUND:
        snprintf(detail, sizeof detail, "no such %s in this directory", what);
        return scim_http_error(404, NULL, detail);
    case SSO__RPC_ERROR__CONFLICT:
        snprintf(detail, sizeof detail, "the directory has a %s with this %s already", what,
                 !strcmp(what, "user") ? "userName" : "name");
        return scim_http_error(409, "uniqueness", detail);
    case SSO__RPC_ERROR__STALE:
        snprintf(detail, sizeof detail, "the %s changed since it was read (its If-Match, or "
                 "changes made at the same time); read it again", what);
        return scim_http_error(412, NULL, detail);
    case SSO__RPC_ERROR__INVALID_REQUEST:
        return scim_http_error(400, "invalidValue", description);
    default:
        sso_warn("scim: the directory answered %d: %s", (int) error, description);
        return scim_http_error(500, NULL, "internal error");
    }
}

int scim_if_match(const char *header, int64_t version)
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

zframe_t *scim_if_match_refusal(const Sso__HttpRequest *http, int64_t version, const char *what)
{
    if (scim_if_match(sso_http_header(http, "if-match"), version) == 0)
        return NULL;
    char detail[96];
    snprintf(detail, sizeof detail, "the %s's version is not the one If-Match gives", what);
    return scim_http_error(412, NULL, detail);
}

/* ---- lists ------------------------------------------------------------------------------- */

static void s_query_free(scim_query_t *query)
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
static void s_bounds(scim_query_t *query)
{
    query->start = query->start < 1 ? 1 : query->start;
    query->count = query->count < 0 ? 0 : query->count > SCIM_LIST_MAX ? SCIM_LIST_MAX
                                                                       : query->count;
}

static char *s_dup(const char *text)
{
    return text ? strdup(text) : NULL;
}

/* The query string's parameters. 0, or -1 with fail. */
static int s_query_of_url(const Sso__HttpRequest *http, scim_query_t *query, scim_fail_t *fail)
{
    zhashx_t *params = sso_http_params(http);
    if (!params) {
        scim_fail(fail, 400, "invalidValue", "the query string does not decode, or repeats a "
                                             "parameter");
        return -1;
    }
    const char *start = zhashx_lookup(params, "startIndex");
    const char *count = zhashx_lookup(params, "count");
    query->sort_by = s_dup(zhashx_lookup(params, "sortBy"));
    query->filter = s_dup(zhashx_lookup(params, "filter"));
    query->attributes = s_dup(zhashx_lookup(params, "attributes"));
    query->excluded = s_dup(zhashx_lookup(params, "excludedAttributes"));
    int rc = 0;
    if ((start && s_long(start, &query->start) != 0)
        || (count && s_long(count, &query->count) != 0)) {
        scim_fail(fail, 400, "invalidValue", "startIndex and count must be integers");
        rc = -1;
    }
    if (rc == 0 && scim_sort_order(zhashx_lookup(params, "sortOrder"), &query->descending) != 0) {
        scim_fail(fail, 400, "invalidValue", "sortOrder must be ascending or descending");
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
    if (!joined)
        return -1;
    size_t used = 0;
    json_array_foreach(list, i, item)
        used += (size_t) snprintf(joined + used, total - used, "%s%s", i ? "," : "",
                                  json_string_value(item));
    *out = joined;
    return 0;
}

/* POST <endpoint>/.search's SearchRequest (RFC 7644 3.4.3). 0, or -1 with fail. */
static int s_query_of_body(const Sso__HttpRequest *http, scim_query_t *query, scim_fail_t *fail)
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
        scim_fail(fail, 400, "invalidSyntax", "the body must be a SearchRequest JSON object");
    else if ((filter && !json_is_string(filter)) || (start && !json_is_integer(start))
             || (count && !json_is_integer(count)) || (sort_by && !json_is_string(sort_by))
             || (sort_order && !json_is_string(sort_order))
             || scim_sort_order(json_string_value(sort_order), &query->descending) != 0)
        scim_fail(fail, 400, "invalidValue", "filter and sortBy must be strings, sortOrder "
                                             "ascending or descending, startIndex and count "
                                             "integers");
    else if (s_joined(scim_json_get(body, "attributes", NULL), &query->attributes) != 0
             || s_joined(scim_json_get(body, "excludedAttributes", NULL), &query->excluded)
                    != 0)
        scim_fail(fail, 400, "invalidValue", "attributes and excludedAttributes must be "
                                             "arrays of attribute paths");
    else {
        query->filter = s_dup(json_string_value(filter));
        query->sort_by = s_dup(json_string_value(sort_by));
        if (start)
            query->start = (long) json_integer_value(start);
        if (count)
            query->count = (long) json_integer_value(count);
        rc = 0;
    }
    json_decref(body);
    return rc;
}

/* The list parameters that do not depend on the resources: the filter parsed, attributes and
   sortBy readable. NULL, or the 400 to answer. */
static zframe_t *s_list_checked(const scim_query_t *query, scim_filter_t **filter)
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

int scim_filter_key(const scim_filter_t *filter, const scim_key_t *keys, size_t count,
                    const char **value)
{
    for (size_t i = 0; filter && i < count; i++)
        if ((*value = scim_filter_eq_value(filter, keys[i].name, keys[i].sub)) != NULL
            && **value && strlen(*value) <= SCIM_VALUE_MAX)
            return keys[i].key;
    *value = "";
    return 0;
}

/* Reads every page, keeping the matches: sorted, every one (to be sorted); otherwise only the
   page asked for. *matched counts them all. NULL, or the answer to give instead. */
static zframe_t *s_matches(const scim_query_t *query, const scim_filter_t *filter,
                           const scim_lister_t *lister, json_t *matches, long *matched)
{
    bool sorting = query->sort_by != NULL;
    zframe_t *failed = NULL;
    for (bool more = true; more && !failed;) {
        json_t *page = json_array();
        more = false;
        failed = lister->next(lister->ctx, page, &more);
        size_t i;
        json_t *resource;
        json_array_foreach(page, i, resource)
            if (!failed && (!filter || scim_filter_match(filter, resource))
                && ++*matched >= (sorting ? 1 : query->start)
                && (sorting || (long) json_array_size(matches) < query->count))
                json_array_append(matches, resource);
        json_decref(page);
    }
    return failed;
}

zframe_t *scim_list(const Sso__HttpRequest *http, bool search, const scim_lister_t *lister)
{
    scim_query_t query = {.start = 1, .count = SCIM_COUNT_DEFAULT};
    scim_fail_t fail = {0};
    char why[320];
    scim_filter_t *filter = NULL;
    zframe_t *failed = (search ? s_query_of_body(http, &query, &fail)
                               : s_query_of_url(http, &query, &fail)) != 0
                           ? scim_fail_reply(&fail)
                           : NULL;
    if (!failed) {
        s_bounds(&query);
        failed = s_list_checked(&query, &filter);
    }
    if (failed) {
        s_query_free(&query);
        return failed;
    }
    lister->start(lister->ctx, &query, filter);
    json_t *matches = json_array();
    long matched = 0;
    failed = s_matches(&query, filter, lister, matches, &matched);
    scim_filter_destroy(&filter);
    bool sorting = query.sort_by != NULL;
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

bool scim_attrs_keep(const char *attributes, const char *excluded, const char *name)
{
    /* A probe served as a resource would be: what scim_attrs leaves of it is the answer. */
    json_t *probe = json_pack("{s:s, s:[s], s:[{s:s}]}", "id", "probe", "schemas", "x", name,
                              "value", "v");
    char why[64];
    bool keep = probe && scim_attrs_apply(probe, attributes, excluded, why, sizeof why) == 0
                && json_object_get(probe, name) != NULL;
    json_decref(probe);
    return keep;
}

/* ---- an endpoint ------------------------------------------------------------------------- */

bool scim_endpoint_owns(const char *rest, const char *name)
{
    size_t len = strlen(name);
    return !strncmp(rest, name, len) && (rest[len] == '\0' || rest[len] == '/');
}

/* write on id, made again while it meets a concurrent change and no If-Match was given. */
static zframe_t *s_write_retried(scim_req_t *req, zframe_t *(*write)(scim_req_t *, const char *),
                                 const char *id)
{
    bool conditional = sso_http_header(req->http, "if-match") != NULL;
    zframe_t *frame = NULL;
    for (int attempt = 0; attempt < SCIM_STALE_TRIES; attempt++) {
        zframe_destroy(&frame);
        req->stale = false;
        frame = write(req, id);
        if (conditional || !req->stale)
            break;
    }
    return frame;
}

zframe_t *scim_endpoint_http(scim_req_t *req, const scim_endpoint_t *endpoint)
{
    const char *method = req->http->method;
    const char *rest = req->rest + strlen(endpoint->name);
    if (!strcmp(rest, "") || !strcmp(rest, "/")) {
        if (!strcmp(method, "GET"))
            return endpoint->list(req, false);
        if (!strcmp(method, "POST"))
            return endpoint->create(req);
        return scim_http_method_not_allowed("GET, POST");
    }
    if (!strcmp(rest, "/.search")) {
        if (!strcmp(method, "POST"))
            return endpoint->list(req, true);
        return scim_http_method_not_allowed("POST");
    }
    const char *id = rest + 1;
    if (rest[0] != '/' || !scim_req_id_valid(id, strlen(id))) {
        char detail[64];
        snprintf(detail, sizeof detail, "no such %s in this directory", endpoint->what);
        return scim_http_error(404, NULL, detail);
    }
    if (!strcmp(method, "GET"))
        return endpoint->get(req, id);
    zframe_t *(*write)(scim_req_t *, const char *) = !strcmp(method, "PUT")     ? endpoint->replace
                                                     : !strcmp(method, "PATCH") ? endpoint->patch
                                                     : !strcmp(method, "DELETE") ? endpoint->remove
                                                                                 : NULL;
    if (!write)
        return scim_http_method_not_allowed("GET, PUT, PATCH, DELETE");
    return s_write_retried(req, write, id);
}

/* ---- self-test --------------------------------------------------------------------------- */

/* A lister over a fixed array, two resources a page. */
typedef struct {
    json_t *all;
    size_t at;
    bool started;
    bool fail_at_second;
} s_fixed_t;

static void s_fixed_start(void *ctx, const scim_query_t *query, const scim_filter_t *filter)
{
    (void) query;
    (void) filter;
    ((s_fixed_t *) ctx)->started = true;
}

static zframe_t *s_fixed_next(void *ctx, json_t *page, bool *more)
{
    s_fixed_t *fixed = ctx;
    if (fixed->fail_at_second && fixed->at > 0)
        return scim_call_failed(503, 0, "", "user");
    for (size_t n = 0; n < 2 && fixed->at < json_array_size(fixed->all); n++)
        json_array_append(page, json_array_get(fixed->all, fixed->at++));
    *more = fixed->at < json_array_size(fixed->all);
    return NULL;
}

/* The list's answer to a GET with query, as JSON (NULL when not a 200), status into *status. */
static json_t *s_list_of(s_fixed_t *fixed, const char *query, uint32_t *status)
{
    Sso__HttpRequest http = SSO__HTTP_REQUEST__INIT;
    http.method = "GET";
    http.query = (char *) (query ? query : "");
    fixed->at = 0;
    scim_lister_t lister = {s_fixed_start, s_fixed_next, fixed};
    Sso__HttpResponse *r = sso_test_http_unpack(scim_list(&http, false, &lister));
    *status = r ? r->status : 0;
    json_t *body = r && r->status == 200
                       ? json_loadb((const char *) r->body.data, r->body.len, 0, NULL)
                       : NULL;
    if (r)
        sso__http_response__free_unpacked(r, NULL);
    return body;
}

/* A write that meets a concurrent change its first s_test_stale_left times. */
static int s_test_stale_left, s_test_writes;

static zframe_t *s_test_write(scim_req_t *req, const char *id)
{
    (void) id;
    s_test_writes++;
    req->stale = s_test_stale_left-- > 0;
    return scim_http_error(req->stale ? 412 : 200, NULL, "x");
}

static void s_test_retried(void)
{
    static const scim_endpoint_t endpoint = {"Users", "user", NULL, NULL, NULL, s_test_write,
                                             s_test_write, s_test_write};
    const char *methods[] = {"PUT", "PATCH", "DELETE"};
    for (size_t m = 0; m < 3; m++) {
        for (int conditional = 0; conditional < 2; conditional++) {
            for (int stale = 0; stale <= SCIM_STALE_TRIES; stale++) {
                Sso__HttpRequest http = SSO__HTTP_REQUEST__INIT;
                Sso__Header header = SSO__HEADER__INIT, *headers[] = {&header};
                header.name = "if-match";
                header.value = "W/\"1\"";
                http.method = (char *) methods[m];
                if (conditional) {
                    http.headers = headers;
                    http.n_headers = 1;
                }
                scim_req_t req = {.http = &http, .rest = "Users/scu_1"};
                s_test_stale_left = stale;
                s_test_writes = 0;
                zframe_t *frame = scim_endpoint_http(&req, &endpoint);
                /* Without If-Match: made again while stale, up to the tries; with it: once,
                   its 412 answered. */
                int want = conditional ? 1 : stale < SCIM_STALE_TRIES ? stale + 1
                                                                      : SCIM_STALE_TRIES;
                SSO_CHECK(frame && s_test_writes == want);
                zframe_destroy(&frame);
            }
        }
    }
}

void scim_resource_test(bool verbose)
{
    (void) verbose;
    s_test_retried();
    /* If-Match. */
    int64_t version = 3;
    SSO_CHECK(scim_if_match(NULL, version) == 0 && scim_if_match("*", version) == 0
              && scim_if_match("W/\"3\"", version) == 0 && scim_if_match("\"3\"", version) == 0
              && scim_if_match("W/\"1\", W/\"3\"", version) == 0);
    SSO_CHECK(scim_if_match("W/\"2\"", version) == -1 && scim_if_match("3", version) == -1
              && scim_if_match("W/\"3", version) == -1 && scim_if_match("", version) == -1
              && scim_if_match("W/\"\"", version) == -1);
    /* startIndex and count bounds. */
    scim_query_t query = {.start = 0, .count = 5000};
    s_bounds(&query);
    SSO_CHECK(query.start == 1 && query.count == SCIM_LIST_MAX);
    query.start = 7;
    query.count = -2;
    s_bounds(&query);
    SSO_CHECK(query.start == 7 && query.count == 0);
    long parsed = 0;
    SSO_CHECK(s_long("12", &parsed) == 0 && parsed == 12 && s_long("1x", &parsed) == -1
              && s_long("", &parsed) == -1 && s_long("99999999999999999999", &parsed) == -1);
    /* Schemas: the core URN required, the extension only where there is one. */
    static const struct {
        const char *json, *extension;
        bool ok;
    } schemas[] = {
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"]}", NULL, true},
        {"{\"Schemas\":[\"URN:ietf:params:scim:schemas:core:2.0:GROUP\"]}", NULL, true},
        {"{\"schemas\":[]}", NULL, false},
        {"{}", NULL, false},
        {"{\"schemas\":\"urn:ietf:params:scim:schemas:core:2.0:Group\"}", NULL, false},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\",\"urn:x\"]}", NULL, false},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"urn:x\":{}}", NULL,
         false},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"urn:e\":{}}", "urn:e",
         true},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"urn:e\":1}", "urn:e",
         false},
        {"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"a\":[[[[[[[[[1]]]]]]]]]}",
         NULL, false},
    };
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
        json_t *resource = json_loads(schemas[i].json, 0, NULL);
        scim_fail_t fail = {0};
        int rc = scim_schemas_and_sizes(resource, SCIM_GROUP_URN, schemas[i].extension, &fail);
        bool ok = resource && (rc == 0) == schemas[i].ok
                  && (rc == 0 ? json_array_size(json_object_get(resource, "schemas")) >= 1
                              : fail.status == 400 && !strcmp(fail.scim_type, "invalidValue"));
        if (!ok)
            fprintf(stderr, "schemas case %zu: %d %s\n", i, rc, fail.detail);
        SSO_CHECK(ok);
        json_decref(resource);
    }
    /* Which members attributes/excludedAttributes keep. */
    SSO_CHECK(scim_attrs_keep(NULL, NULL, "members") && scim_attrs_keep("members", NULL, "members")
              && scim_attrs_keep("members.value", NULL, "members")
              && scim_attrs_keep(NULL, "displayName", "members")
              && !scim_attrs_keep(NULL, "members", "members")
              && !scim_attrs_keep(NULL, "Members", "members")
              && !scim_attrs_keep("displayName", NULL, "members"));
    /* A list: filter, paging across the lister's pages, sortBy, attributes. */
    s_fixed_t fixed = {.all = json_loads("[{\"id\":\"a\",\"schemas\":[],\"displayName\":\"c\"},"
                                         "{\"id\":\"b\",\"schemas\":[],\"displayName\":\"a\"},"
                                         "{\"id\":\"c\",\"schemas\":[],\"displayName\":\"b\"},"
                                         "{\"id\":\"d\",\"schemas\":[],\"displayName\":\"x\"}]",
                                         0, NULL)};
    uint32_t status = 0;
    json_t *list = s_list_of(&fixed, "filter=displayName%20ne%20%22x%22&startIndex=2&count=1",
                             &status);
    SSO_CHECK(fixed.started && json_integer_value(json_object_get(list, "totalResults")) == 3
              && json_integer_value(json_object_get(list, "itemsPerPage")) == 1
              && !strcmp(json_string_value(json_object_get(
                             json_array_get(json_object_get(list, "Resources"), 0), "id")),
                         "b"));
    json_decref(list);
    list = s_list_of(&fixed, "sortBy=displayName&count=2&attributes=id", &status);
    json_t *first = json_array_get(json_object_get(list, "Resources"), 0);
    SSO_CHECK(json_integer_value(json_object_get(list, "totalResults")) == 4
              && !strcmp(json_string_value(json_object_get(first, "id")), "b")
              && !json_object_get(first, "displayName"));
    json_decref(list);
    list = s_list_of(&fixed, "filter=displayName%20zz%20%22x%22", &status);
    SSO_CHECK(!list && status == 400);
    list = s_list_of(&fixed, "count=x", &status);
    SSO_CHECK(!list && status == 400);
    fixed.fail_at_second = true;
    list = s_list_of(&fixed, NULL, &status);
    SSO_CHECK(!list && status == 503);
    json_decref(fixed.all);
}
