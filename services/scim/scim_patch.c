#include "scim_patch.h"
#include "scim_filter.h"
#include "scim_path.h"
#include "sso_test.h"
#include <czmq.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_CORE_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define S_CORE_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define S_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

typedef enum { S_ADD, S_REPLACE, S_REMOVE } s_op_t;
static const char *const s_op_names[] = {"add", "replace", "remove"};

typedef struct {
    s_op_t op;
    scim_path_t *path; /* NULL when the op has none */
    json_t *value;     /* borrowed from the body; NULL when absent */
} s_operation_t;

struct _scim_patch_t {
    json_t *body;
    s_operation_t *ops;
    size_t count;
};

/* ---- errors ------------------------------------------------------------------------------ */

static void s_error(scim_error_t *error, int status, const char *type, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static void s_error(scim_error_t *error, int status, const char *type, const char *format, ...)
{
    error->status = status;
    snprintf(error->scim_type, sizeof error->scim_type, "%s", type);
    va_list args;
    va_start(args, format);
    vsnprintf(error->detail, sizeof error->detail, format, args);
    va_end(args);
}

/* ---- parsing ----------------------------------------------------------------------------- */

void scim_patch_destroy(scim_patch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scim_patch_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        scim_path_destroy(&self->ops[i].path);
    free(self->ops);
    json_decref(self->body);
    free(self);
    *self_p = NULL;
}

size_t scim_patch_count(const scim_patch_t *self)
{
    return self ? self->count : 0;
}

static int s_parse_op(s_operation_t *op, size_t n, json_t *item, scim_error_t *error)
{
    if (!json_is_object(item)) {
        s_error(error, 400, "invalidSyntax", "Operations[%zu]: expected an object", n);
        return -1;
    }
    const char *name = json_string_value(scim_json_get(item, "op", NULL));
    size_t i = 0;
    while (name && i < 3 && strcasecmp(name, s_op_names[i]) != 0)
        i++;
    if (!name || i == 3) {
        s_error(error, 400, "invalidSyntax",
                "Operations[%zu]: \"op\" must be \"add\", \"replace\" or \"remove\"", n);
        return -1;
    }
    op->op = (s_op_t) i;
    json_t *path = scim_json_get(item, "path", NULL);
    op->value = scim_json_get(item, "value", NULL);
    if (path) {
        char why[256];
        if (!json_is_string(path)) {
            s_error(error, 400, "invalidPath", "Operations[%zu]: \"path\" must be a string", n);
            return -1;
        }
        op->path = scim_path_parse(json_string_value(path), json_string_length(path), why,
                                   sizeof why);
        if (!op->path) {
            s_error(error, 400, "invalidPath", "Operations[%zu]: %s", n, why);
            return -1;
        }
    }
    else if (op->op == S_REMOVE) {
        s_error(error, 400, "noTarget", "Operations[%zu]: remove needs a \"path\"", n);
        return -1;
    }
    if (op->op != S_REMOVE && !op->value) {
        s_error(error, 400, "invalidSyntax", "Operations[%zu]: %s needs a \"value\"", n,
                s_op_names[op->op]);
        return -1;
    }
    if (op->op != S_REMOVE && !op->path && !json_is_object(op->value)) {
        s_error(error, 400, "invalidValue",
                "Operations[%zu]: without a \"path\", the value must be an object", n);
        return -1;
    }
    return 0;
}

scim_patch_t *scim_patch_parse(const char *body, size_t len, scim_error_t *error)
{
    if (len > SCIM_PATCH_BODY_MAX) {
        s_error(error, 413, "", "the PATCH body is longer than %d bytes", SCIM_PATCH_BODY_MAX);
        return NULL;
    }
    json_error_t jerror;
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerror) : NULL;
    if (!json_is_object(root)) {
        s_error(error, 400, "invalidSyntax", "the body is not a JSON object%s%s",
                root ? "" : ": ", root ? "" : body ? jerror.text : "empty");
        json_decref(root);
        return NULL;
    }
    json_t *schemas = scim_json_get(root, "schemas", NULL);
    const char *urn = json_string_value(json_array_get(schemas, 0));
    if (json_array_size(schemas) != 1 || !urn || strcasecmp(urn, SCIM_PATCH_URN) != 0) {
        s_error(error, 400, "invalidSyntax", "\"schemas\" must be [\"%s\"]", SCIM_PATCH_URN);
        json_decref(root);
        return NULL;
    }
    json_t *ops = scim_json_get(root, "Operations", NULL);
    if (!json_is_array(ops) || json_array_size(ops) == 0) {
        s_error(error, 400, "invalidSyntax", "\"Operations\" must be a non-empty array");
        json_decref(root);
        return NULL;
    }
    if (json_array_size(ops) > SCIM_PATCH_OPS_MAX) {
        s_error(error, 400, "tooMany", "more than %d operations in one PATCH",
                SCIM_PATCH_OPS_MAX);
        json_decref(root);
        return NULL;
    }
    scim_patch_t *self = calloc(1, sizeof *self);
    if (self)
        self->ops = calloc(json_array_size(ops), sizeof *self->ops);
    if (!self || !self->ops) {
        free(self);
        json_decref(root);
        s_error(error, 500, "", "out of memory");
        return NULL;
    }
    self->body = root;
    size_t i;
    json_t *item;
    json_array_foreach(ops, i, item) {
        self->count = i + 1;
        if (s_parse_op(&self->ops[i], i, item, error) != 0) {
            scim_patch_destroy(&self);
            return NULL;
        }
    }
    return self;
}

/* ---- the schemas ------------------------------------------------------------------------- */

typedef enum { S_STRING, S_BOOLEAN, S_COMPLEX, S_MULTI, S_ANY } s_type_t;
#define S_READ_ONLY 1u
#define S_REQUIRED 2u
#define S_U (1u << SCIM_PATCH_USER)
#define S_G (1u << SCIM_PATCH_GROUP)

typedef struct {
    unsigned kinds; /* S_U, S_G */
    const char *name;
    s_type_t type;
    unsigned flags;
} s_def_t;

/* RFC 7643 4.1, 4.2 and 4.3 (User), 4.2 (Group); schemas, id, meta and groups are the
   server's. */
static const s_def_t s_core[] = {
    {S_U | S_G, "schemas", S_ANY, S_READ_ONLY},
    {S_U | S_G, "id", S_STRING, S_READ_ONLY},
    {S_U | S_G, "meta", S_COMPLEX, S_READ_ONLY},
    {S_U | S_G, "externalId", S_STRING, 0},
    {S_U, "userName", S_STRING, S_REQUIRED},
    {S_U, "name", S_COMPLEX, 0},
    {S_U | S_G, "displayName", S_STRING, 0}, /* required for a Group: s_required */
    {S_U, "nickName", S_STRING, 0},
    {S_U, "profileUrl", S_STRING, 0},
    {S_U, "title", S_STRING, 0},
    {S_U, "userType", S_STRING, 0},
    {S_U, "preferredLanguage", S_STRING, 0},
    {S_U, "locale", S_STRING, 0},
    {S_U, "timezone", S_STRING, 0},
    {S_U, "active", S_BOOLEAN, 0},
    {S_U, "password", S_STRING, 0},
    {S_U, "emails", S_MULTI, 0},
    {S_U, "phoneNumbers", S_MULTI, 0},
    {S_U, "ims", S_MULTI, 0},
    {S_U, "photos", S_MULTI, 0},
    {S_U, "addresses", S_MULTI, 0},
    {S_U, "groups", S_MULTI, S_READ_ONLY},
    {S_U, "entitlements", S_MULTI, 0},
    {S_U, "roles", S_MULTI, 0},
    {S_U, "x509Certificates", S_MULTI, 0},
    {S_G, "members", S_MULTI, 0},
};
static const s_def_t s_enterprise[] = {
    {S_U, "employeeNumber", S_STRING, 0}, {S_U, "costCenter", S_STRING, 0},
    {S_U, "organization", S_STRING, 0},   {S_U, "division", S_STRING, 0},
    {S_U, "department", S_STRING, 0},     {S_U, "manager", S_COMPLEX, 0},
};
static const s_def_t s_extension = {S_U | S_G, "", S_ANY, 0};

static const s_def_t *s_find(const s_def_t *defs, size_t n, unsigned kind, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if ((defs[i].kinds & kind) && strcasecmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

/* ---- applying ---------------------------------------------------------------------------- */

/* A Group's members, indexed by value while a patch runs. */
typedef struct {
    zhashx_t *live;  /* value (case-insensitive) -> its element in the members array */
    size_t dropped;  /* elements still in the array but no longer in live */
} s_members_t;

typedef struct {
    scim_patch_kind_t kind;
    json_t *resource; /* the working copy */
    s_members_t members;
    size_t work;
    scim_error_t *error;
} s_apply_t;

static size_t s_hash_nocase(const void *key)
{
    size_t hash = 5381;
    for (const unsigned char *c = key; *c; c++)
        hash = hash * 33 + (size_t) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    return hash;
}

static int s_compare_nocase(const void *a, const void *b)
{
    return strcasecmp(a, b);
}

static zhashx_t *s_value_set_new(void)
{
    zhashx_t *set = zhashx_new();
    if (set) {
        zhashx_set_key_hasher(set, s_hash_nocase);
        zhashx_set_key_comparator(set, s_compare_nocase);
    }
    return set;
}

static const char *s_member_value(const json_t *element)
{
    return json_string_value(scim_json_get(element, "value", NULL));
}

static int s_oom(s_apply_t *a)
{
    s_error(a->error, 500, "", "out of memory");
    return -1;
}

/* The members array (created empty when absent, when create). */
static json_t *s_members_array(s_apply_t *a, bool create)
{
    const char *key = "members";
    json_t *array = scim_json_get(a->resource, "members", &key);
    if (!json_is_array(array) && create) {
        array = json_array();
        if (!array || json_object_set_new(a->resource, key, array) != 0)
            return NULL;
    }
    return json_is_array(array) ? array : NULL;
}

/* Builds the index when it is not there (after a generic op on members). A repeated value
   counts as dropped: the compaction keeps the first. */
static int s_members_index(s_apply_t *a)
{
    if (a->members.live)
        return 0;
    a->members.live = s_value_set_new();
    if (!a->members.live)
        return s_oom(a);
    json_t *array = s_members_array(a, false);
    size_t i;
    json_t *element;
    json_array_foreach(array, i, element) {
        const char *value = s_member_value(element);
        a->work++;
        if (!value)
            continue;
        if (zhashx_lookup(a->members.live, value))
            a->members.dropped++;
        else if (zhashx_insert(a->members.live, value, element) != 0)
            return s_oom(a);
    }
    return 0;
}

/* Drops from the array what left the index: one pass, however many left. */
static int s_members_compact(s_apply_t *a)
{
    if (a->members.dropped == 0)
        return 0;
    json_t *array = s_members_array(a, false);
    json_t *kept = json_array();
    if (!kept)
        return s_oom(a);
    size_t i;
    json_t *element;
    json_array_foreach(array, i, element) {
        const char *value = s_member_value(element);
        a->work++;
        if ((!value || zhashx_lookup(a->members.live, value) == element)
            && json_array_append(kept, element) != 0) {
            json_decref(kept);
            return s_oom(a);
        }
    }
    const char *key = "members";
    scim_json_get(a->resource, "members", &key);
    if (json_object_set_new(a->resource, key, kept) != 0)
        return s_oom(a);
    a->members.dropped = 0;
    return 0;
}

/* Before a generic op on members: the array as the index says, then no index. */
static int s_members_release(s_apply_t *a)
{
    if (!a->members.live)
        return 0;
    int rc = s_members_compact(a);
    zhashx_destroy(&a->members.live);
    return rc;
}

/* A member to add: an object with a string value (display, type, $ref as given). */
static int s_member_check(s_apply_t *a, const json_t *element)
{
    if (!s_member_value(element)) {
        s_error(a->error, 400, "invalidValue",
                "a member must be an object with a string \"value\"");
        return -1;
    }
    return 0;
}

static int s_members_add(s_apply_t *a, json_t *elements)
{
    if (s_members_index(a) != 0)
        return -1;
    json_t *array = s_members_array(a, true);
    if (!array)
        return s_oom(a);
    size_t i;
    json_t *element;
    json_array_foreach(elements, i, element) {
        a->work++;
        const char *value = s_member_value(element);
        if (zhashx_lookup(a->members.live, value))
            continue;
        json_t *copy = json_deep_copy(element);
        if (!copy || json_array_append_new(array, copy) != 0
            || zhashx_insert(a->members.live, value, copy) != 0)
            return s_oom(a);
    }
    return 0;
}

/* Removes a member by value; whether it was there. */
static bool s_members_remove(s_apply_t *a, const char *value)
{
    a->work++;
    if (!zhashx_lookup(a->members.live, value))
        return false;
    zhashx_delete(a->members.live, value);
    a->members.dropped++;
    return true;
}

/* Members ops the index answers: add (with or without a path), replace of them all, remove
   of them all, of listed values, or `members[value eq "id"]`. 1 when the op is not one. */
static int s_members_op(s_apply_t *a, s_op_t op, const scim_path_t *path, json_t *value)
{
    if (path && scim_path_sub(path))
        return 1;
    json_t *template = path ? scim_filter_template(scim_path_filter(path)) : NULL;
    const char *by_value = json_object_size(template) == 1
                               ? json_string_value(json_object_get(template, "value"))
                               : NULL;
    if (path && scim_path_filter(path) && !(by_value && op == S_REMOVE)) {
        json_decref(template);
        return 1;
    }
    int rc = 0;
    if (by_value) {
        if (s_members_index(a) != 0)
            rc = -1;
        else if (!s_members_remove(a, by_value)) {
            s_error(a->error, 400, "noTarget", "no member has the value \"%.100s\"", by_value);
            rc = -1;
        }
        json_decref(template);
        return rc;
    }
    json_decref(template);
    bool none = !value || json_is_null(value);
    json_t *list = none ? json_array() : json_is_array(value) ? json_incref(value)
                                                              : json_pack("[O]", value);
    if (!list)
        return s_oom(a);
    size_t i;
    json_t *element;
    json_array_foreach(list, i, element)
        if (rc == 0)
            rc = s_member_check(a, element);
    if (rc == 0)
        rc = s_members_index(a);
    if (rc == 0 && (op == S_REPLACE || (op == S_REMOVE && none))) {
        /* replace, and remove without a value, start from no members */
        const char *key = "members";
        scim_json_get(a->resource, "members", &key);
        a->work += json_array_size(s_members_array(a, false));
        zhashx_purge(a->members.live);
        a->members.dropped = 0;
        json_object_del(a->resource, key); /* frees key */
        if (op == S_REPLACE && json_object_set_new(a->resource, "members", json_array()) != 0)
            rc = s_oom(a);
    }
    else if (rc == 0 && op == S_REMOVE)
        json_array_foreach(list, i, element)
            s_members_remove(a, s_member_value(element));
    if (rc == 0 && op != S_REMOVE)
        rc = s_members_add(a, list);
    json_decref(list);
    return rc;
}

/* ---- the generic engine ------------------------------------------------------------------ */

/* Entra sends booleans as "True"/"False". */
static int s_boolean(s_apply_t *a, const char *what, json_t *value, json_t **out)
{
    const char *text = json_string_value(value);
    if (json_is_boolean(value))
        *out = json_incref(value);
    else if (text && (!strcasecmp(text, "true") || !strcasecmp(text, "false")))
        *out = json_boolean(!strcasecmp(text, "true"));
    else {
        s_error(a->error, 400, "invalidValue", "%s must be a boolean", what);
        return -1;
    }
    return 0;
}

/* An element of a multi-valued attribute: an object, its "primary" a boolean. */
static int s_element(s_apply_t *a, const char *attr, json_t *value, json_t **out)
{
    if (!json_is_object(value)) {
        s_error(a->error, 400, "invalidValue", "each value of %s must be an object", attr);
        return -1;
    }
    *out = json_deep_copy(value);
    if (!*out)
        return s_oom(a);
    const char *key = "primary";
    json_t *primary = scim_json_get(*out, "primary", &key), *coerced;
    if (primary) {
        if (s_boolean(a, "primary", primary, &coerced) != 0) {
            json_decref(*out);
            return -1;
        }
        if (json_object_set_new(*out, key, coerced) != 0) {
            json_decref(*out);
            return s_oom(a);
        }
    }
    return 0;
}

/* A value of def's type, checked and coerced (new reference in *out). */
static int s_typed(s_apply_t *a, const s_def_t *def, const char *attr, json_t *value,
                   json_t **out)
{
    switch (def->type) {
    case S_STRING:
        if (!json_is_string(value)) {
            s_error(a->error, 400, "invalidValue", "%s must be a string", attr);
            return -1;
        }
        break;
    case S_BOOLEAN:
        return s_boolean(a, attr, value, out);
    case S_COMPLEX:
        if (!json_is_object(value)) {
            s_error(a->error, 400, "invalidValue", "%s must be an object", attr);
            return -1;
        }
        break;
    case S_MULTI: {
        json_t *list = json_array();
        if (!list)
            return s_oom(a);
        json_t *source = json_is_array(value) ? value : NULL;
        size_t n = source ? json_array_size(source) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *element;
            if (s_element(a, attr, source ? json_array_get(source, i) : value, &element) != 0) {
                json_decref(list);
                return -1;
            }
            if (json_array_append_new(list, element) != 0) {
                json_decref(list);
                return s_oom(a);
            }
        }
        *out = list;
        return 0;
    }
    case S_ANY:
        break;
    }
    *out = json_deep_copy(value);
    return *out ? 0 : s_oom(a);
}

/* Appends the urn to schemas when a value goes under an extension. */
static int s_schemas_add(s_apply_t *a, const char *urn)
{
    const char *key = "schemas";
    json_t *schemas = scim_json_get(a->resource, "schemas", &key);
    if (!json_is_array(schemas)) {
        schemas = json_pack("[s]", a->kind == SCIM_PATCH_USER ? S_CORE_USER : S_CORE_GROUP);
        if (!schemas || json_object_set_new(a->resource, key, schemas) != 0)
            return s_oom(a);
    }
    size_t i;
    json_t *item;
    json_array_foreach(schemas, i, item)
        if (json_is_string(item) && !strcasecmp(json_string_value(item), urn))
            return 0;
    return json_array_append_new(schemas, json_string(urn)) == 0 ? 0 : s_oom(a);
}

/* What a path names: its definition, the schema it is in (NULL: the core), refused when
   outside the schemas or read-only for a change. */
static const s_def_t *s_resolve(s_apply_t *a, const scim_path_t *path, const char **extension)
{
    const char *urn = scim_path_urn(path), *attr = scim_path_attr(path);
    unsigned kind = 1u << a->kind;
    const char *core = a->kind == SCIM_PATCH_USER ? S_CORE_USER : S_CORE_GROUP;
    const s_def_t *def = NULL;
    *extension = NULL;
    if (!urn || !strcasecmp(urn, core))
        def = s_find(s_core, sizeof s_core / sizeof *s_core, kind, attr);
    else if (!strcasecmp(urn, S_CORE_USER) || !strcasecmp(urn, S_CORE_GROUP)) {
        s_error(a->error, 400, "invalidPath", "%s is not the schema of a %s", urn,
                a->kind == SCIM_PATCH_USER ? "User" : "Group");
        return NULL;
    }
    else if (!strcasecmp(urn, S_ENTERPRISE)) {
        def = s_find(s_enterprise, sizeof s_enterprise / sizeof *s_enterprise, kind, attr);
        *extension = S_ENTERPRISE;
        if (a->kind != SCIM_PATCH_USER) {
            s_error(a->error, 400, "invalidPath", "the enterprise extension is a User's");
            return NULL;
        }
    }
    else if (!strncasecmp(urn, "urn:ietf:params:scim:schemas:core:", 34)
             || !strncasecmp(urn, "urn:ietf:params:scim:api:", 25)) {
        /* the IETF's own names: none but the two above holds attributes */
        s_error(a->error, 400, "invalidPath", "%.100s is not a schema of a %s", urn,
                a->kind == SCIM_PATCH_USER ? "User" : "Group");
        return NULL;
    }
    else {
        def = &s_extension;
        *extension = urn;
    }
    if (!def) {
        s_error(a->error, 400, "invalidPath", "'%.100s' is not an attribute of the %s schema",
                attr, *extension ? *extension : core);
        return NULL;
    }
    if (scim_path_filter(path) && def->type != S_MULTI && def->type != S_ANY) {
        s_error(a->error, 400, "invalidPath", "%s is not multi-valued: no value filter",
                attr);
        return NULL;
    }
    if (scim_path_sub(path) && (def->type == S_STRING || def->type == S_BOOLEAN)) {
        s_error(a->error, 400, "invalidPath", "%s has no sub-attributes", attr);
        return NULL;
    }
    return def;
}

static bool s_required(s_apply_t *a, const s_def_t *def)
{
    return (def->flags & S_REQUIRED)
           || (a->kind == SCIM_PATCH_GROUP && !strcmp(def->name, "displayName"));
}

/* The container a path's attribute goes in, created for an extension when create. */
static json_t *s_container(s_apply_t *a, const char *extension, bool create)
{
    if (!extension || !strcasecmp(extension, S_CORE_USER) || !strcasecmp(extension, S_CORE_GROUP))
        return a->resource;
    const char *key = extension;
    json_t *object = scim_json_get(a->resource, extension, &key);
    if (!json_is_object(object) && create) {
        object = json_object();
        if (!object || json_object_set_new(a->resource, key, object) != 0
            || s_schemas_add(a, extension) != 0)
            return NULL;
    }
    return json_is_object(object) ? object : NULL;
}

/* Merges value's members into object (names as object spells them); a null one removes. */
static int s_merge(s_apply_t *a, json_t *object, json_t *value)
{
    const char *sub;
    json_t *member;
    json_object_foreach(value, sub, member) {
        const char *key = sub;
        scim_json_get(object, sub, &key);
        if (json_is_null(member))
            json_object_del(object, key);
        else if (json_object_set(object, key, member) != 0)
            return s_oom(a);
    }
    return 0;
}

/* Sets key in object to value (a new reference, taken), merging objects member by member when
   merge (RFC 7644 3.5.2.1 and 3.5.2.3: sub-attributes not given are left as they are); null
   removes. */
static int s_set(s_apply_t *a, json_t *object, const char *name, json_t *value, bool merge)
{
    const char *key = name;
    json_t *current = scim_json_get(object, name, &key);
    if (merge && json_is_object(value) && json_is_object(current)) {
        int rc = s_merge(a, current, value);
        json_decref(value);
        return rc;
    }
    if (json_is_null(value)) {
        json_object_del(object, key);
        json_decref(value);
        return 0;
    }
    return json_object_set_new(object, key, value) == 0 ? 0 : s_oom(a);
}

/* Add to a multi-valued attribute: the values not already there, capped. */
static int s_append(s_apply_t *a, json_t *array, json_t *values, const char *attr)
{
    size_t i;
    json_t *value;
    json_array_foreach(values, i, value) {
        bool there = false;
        for (size_t j = 0; !there && j < json_array_size(array); j++, a->work++)
            there = json_equal(json_array_get(array, j), value);
        if (!there && json_array_size(array) == SCIM_PATCH_VALUES_MAX) {
            s_error(a->error, 400, "invalidValue", "more than %d values of %s",
                    SCIM_PATCH_VALUES_MAX, attr);
            return -1;
        }
        if (!there && json_array_append(array, value) != 0)
            return s_oom(a);
    }
    return 0;
}

/* Removes from a multi-valued attribute the values listed (Entra's remove with a value); an
   element matches a listed object with the same "value", or an equal one. */
static void s_remove_values(s_apply_t *a, json_t *array, json_t *values)
{
    json_t *list = json_is_array(values) ? values : NULL;
    size_t n = list ? json_array_size(list) : 1;
    for (size_t i = json_array_size(array); i-- > 0;) {
        json_t *element = json_array_get(array, i);
        const char *value = s_member_value(element);
        for (size_t j = 0; j < n; j++, a->work++) {
            json_t *listed = list ? json_array_get(list, j) : values;
            const char *listed_value = s_member_value(listed);
            if (json_equal(element, listed)
                || (value && listed_value && !strcasecmp(value, listed_value))) {
                json_array_remove(array, i);
                break;
            }
        }
    }
}

/* A value of a sub-attribute: "primary" a boolean, the rest as given. */
static int s_sub_value(s_apply_t *a, const char *sub, json_t *value, json_t **out)
{
    if (!strcasecmp(sub, "primary"))
        return s_boolean(a, "primary", value, out);
    *out = json_deep_copy(value);
    return *out ? 0 : s_oom(a);
}

static int s_apply_filtered(s_apply_t *a, s_op_t op, const scim_path_t *path, json_t *value,
                            const char *extension)
{
    const char *attr = scim_path_attr(path), *sub = scim_path_sub(path);
    /* the filter visits every value: counted, and refused before when past the cap */
    a->work += json_array_size(scim_json_get(s_container(a, extension, false), attr, NULL)) + 1;
    if (a->work > SCIM_PATCH_WORK_MAX)
        return 0; /* scim_patch_apply refuses */
    scim_path_targets_t targets;
    if (scim_path_select(path, a->resource, &targets) != 0)
        return s_oom(a);
    int rc = 0;
    if (targets.count == 0 && op != S_REMOVE) {
        /* Entra's update of an absent work address: the element the filter names */
        json_t *element = scim_filter_template(scim_path_filter(path)), *v = NULL;
        if (!element) {
            s_error(a->error, 400, "noTarget", "no value of %s matches the filter", attr);
            rc = -1;
        }
        else if (sub ? s_sub_value(a, sub, value, &v) : s_element(a, attr, value, &v))
            rc = -1;
        else {
            if (sub) {
                rc = s_set(a, element, sub, v, false);
                v = NULL;
            }
            else
                rc = s_merge(a, element, v);
            json_t *container = s_container(a, extension, true);
            const char *key = attr;
            json_t *array = container ? scim_json_get(container, attr, &key) : NULL;
            if (!container)
                rc = s_oom(a);
            else if (!json_is_array(array)) {
                array = json_array();
                if (!array || json_object_set_new(container, key, array) != 0)
                    rc = s_oom(a);
            }
            json_t *one = rc == 0 ? json_pack("[O]", element) : NULL;
            if (rc == 0 && (!one || s_append(a, array, one, attr) != 0))
                rc = one ? -1 : s_oom(a);
            json_decref(one);
        }
        json_decref(element);
        json_decref(v);
    }
    else if (targets.count == 0) {
        s_error(a->error, 400, "noTarget", "no value of %s matches the filter", attr);
        rc = -1;
    }
    else if (op == S_REMOVE) {
        for (size_t i = targets.count; i-- > 0;) {
            scim_path_target_t *t = &targets.items[i];
            if (t->key)
                json_object_del(t->owner, t->key);
            else
                json_array_remove(t->owner, t->index);
        }
        /* RFC 7644 3.5.2.2: with no values left, the attribute is unassigned */
        json_t *container = s_container(a, extension, false);
        const char *key = attr;
        json_t *array = scim_json_get(container, attr, &key);
        if (json_is_array(array) && json_array_size(array) == 0)
            json_object_del(container, key);
    }
    else {
        for (size_t i = 0; rc == 0 && i < targets.count; i++) {
            scim_path_target_t *t = &targets.items[i];
            json_t *v;
            if (t->key) {
                if ((rc = s_sub_value(a, sub, value, &v)) == 0)
                    rc = s_set(a, t->owner, t->key, v, false);
            }
            else if ((rc = s_element(a, attr, value, &v)) == 0) {
                if (op == S_REPLACE)
                    rc = json_array_set_new(t->owner, t->index, v) == 0 ? 0 : s_oom(a);
                else {
                    rc = s_merge(a, t->value, v);
                    json_decref(v);
                }
            }
        }
    }
    scim_path_targets_free(&targets);
    return rc;
}

/* The sub-attribute of a complex attribute, or of each value of a multi-valued one. */
static int s_apply_sub(s_apply_t *a, s_op_t op, json_t *container, const s_def_t *def,
                       const char *key, const char *sub, json_t *value)
{
    const char *attr = key;
    json_t *current = scim_json_get(container, attr, &key);
    if (op == S_REMOVE) {
        const char *sub_key = sub;
        if (json_is_object(current) && scim_json_get(current, sub, &sub_key))
            json_object_del(current, sub_key);
        size_t i;
        json_t *element;
        json_array_foreach(current, i, element) {
            sub_key = sub;
            a->work++;
            if (scim_json_get(element, sub, &sub_key))
                json_object_del(element, sub_key);
        }
        return 0;
    }
    if (json_array_size(current) == 0 && (json_is_array(current) || def->type == S_MULTI)) {
        s_error(a->error, 400, "noTarget", "%s has no values to set %s in", attr, sub);
        return -1;
    }
    json_t *v;
    if (s_sub_value(a, sub, value, &v) != 0)
        return -1;
    int rc = 0;
    if (json_is_array(current)) {
        size_t i;
        json_t *element;
        json_array_foreach(current, i, element) {
            a->work++;
            if (rc == 0 && json_is_object(element))
                rc = s_set(a, element, sub, json_incref(v), false);
        }
        json_decref(v);
        return rc;
    }
    if (!json_is_object(current)) {
        current = json_object();
        if (!current || json_object_set_new(container, key, current) != 0) {
            json_decref(v);
            return s_oom(a);
        }
    }
    return s_set(a, current, sub, v, false);
}

/* A path without a value filter. */
static int s_apply_plain(s_apply_t *a, s_op_t op, const scim_path_t *path, const s_def_t *def,
                         json_t *value, const char *extension)
{
    const char *attr = scim_path_attr(path), *sub = scim_path_sub(path);
    json_t *container = s_container(a, extension, op != S_REMOVE);
    if (!container)
        return op == S_REMOVE ? 0 : s_oom(a);
    const char *key = def->name[0] ? def->name : attr; /* the schema's spelling when absent */
    json_t *current = scim_json_get(container, attr, &key);
    if (sub)
        return s_apply_sub(a, op, container, def, key, sub, value);
    if (op == S_REMOVE && value && json_is_array(current)) {
        s_remove_values(a, current, value);
        if (json_array_size(current) == 0)
            json_object_del(container, key);
        return 0;
    }
    if (op == S_REMOVE || json_is_null(value)) {
        if (s_required(a, def)) {
            s_error(a->error, 400, "invalidValue", "%s is required", def->name);
            return -1;
        }
        json_object_del(container, key);
        return 0;
    }
    json_t *v;
    if (s_typed(a, def, attr, value, &v) != 0)
        return -1;
    if (def->type == S_MULTI || (def->type == S_ANY && json_is_array(current))) {
        if (!json_is_array(v)) {
            json_t *list = json_pack("[o]", v);
            if (!list)
                return s_oom(a);
            v = list;
        }
        if (op == S_ADD && json_is_array(current)) {
            int rc = s_append(a, current, v, attr);
            json_decref(v);
            return rc;
        }
        json_t *empty = json_array();
        if (!empty || json_object_set_new(container, key, empty) != 0) {
            json_decref(v);
            return s_oom(a);
        }
        int rc = s_append(a, empty, v, attr);
        json_decref(v);
        return rc;
    }
    return s_set(a, container, key, v, true);
}

static int s_apply_op(s_apply_t *a, s_op_t op, const scim_path_t *path, json_t *value)
{
    const char *extension, *attr = scim_path_attr(path), *sub = scim_path_sub(path);
    const s_def_t *def = s_resolve(a, path, &extension);
    if (!def)
        return -1;
    if (def->flags & S_READ_ONLY) {
        json_t *container = s_container(a, extension, false);
        json_t *current = container ? scim_json_get(container, attr, NULL) : NULL;
        /* Okta and Entra may send back what they read: the same value changes nothing */
        if (op != S_REMOVE && !sub && !scim_path_filter(path) && json_equal(current, value))
            return 0;
        s_error(a->error, 400, "mutability", "%s is read-only", def->name);
        return -1;
    }
    if (a->kind == SCIM_PATCH_GROUP && def != &s_extension && !strcmp(def->name, "members")) {
        if (sub && !strcasecmp(sub, "value")) {
            s_error(a->error, 400, "mutability", "a member's value is immutable");
            return -1;
        }
        int rc = s_members_op(a, op, path, value);
        if (rc != 1)
            return rc;
        if (s_members_release(a) != 0)
            return -1;
    }
    return scim_path_filter(path) ? s_apply_filtered(a, op, path, value, extension)
                                  : s_apply_plain(a, op, path, def, value, extension);
}

/* One member of a value object without a path: its key read as a path. */
static int s_apply_key(s_apply_t *a, s_op_t op, const char *key, json_t *value)
{
    char why[256];
    scim_path_t *path = scim_path_parse(key, strlen(key), why, sizeof why);
    if (!path) {
        s_error(a->error, 400, "invalidPath", "value: %s", why);
        return -1;
    }
    int rc = s_apply_op(a, op, path, value);
    scim_path_destroy(&path);
    return rc;
}

/* A key of a value object that names a schema (its value the attributes under it). */
static bool s_schema_key(s_apply_t *a, const char *key)
{
    if (!strcasecmp(key, S_ENTERPRISE) || !strcasecmp(key, S_CORE_USER)
        || !strcasecmp(key, S_CORE_GROUP))
        return true;
    size_t i;
    json_t *urn;
    json_array_foreach(scim_json_get(a->resource, "schemas", NULL), i, urn)
        if (json_is_string(urn) && !strcasecmp(json_string_value(urn), key))
            return true;
    return false;
}

/* add or replace without a path: the value object attribute by attribute. */
static int s_apply_object(s_apply_t *a, s_op_t op, json_t *value)
{
    const char *name;
    json_t *member;
    json_object_foreach(value, name, member) {
        if (!json_is_object(member) || !s_schema_key(a, name)) {
            if (s_apply_key(a, op, name, member) != 0)
                return -1;
            continue;
        }
        const char *sub;
        json_t *sub_member;
        json_object_foreach(member, sub, sub_member) {
            char key[SCIM_FILTER_TEXT_MAX + 1];
            int n = snprintf(key, sizeof key, "%s:%s", name, sub);
            if (n < 0 || (size_t) n >= sizeof key) {
                s_error(a->error, 400, "invalidPath", "value: a key is too long");
                return -1;
            }
            if (s_apply_key(a, op, key, sub_member) != 0)
                return -1;
        }
    }
    return 0;
}

/* The net change of a Group's members: values in one set and not the other. */
static int s_members_delta(s_apply_t *a, const json_t *original, scim_patch_result_t *result)
{
    if (s_members_release(a) != 0 || s_members_index(a) != 0 || s_members_compact(a) != 0)
        return -1;
    zhashx_t *before = s_value_set_new();
    result->added = json_array();
    result->removed = json_array();
    if (!before || !result->added || !result->removed) {
        zhashx_destroy(&before);
        return s_oom(a);
    }
    int rc = 0;
    size_t i;
    json_t *element;
    json_array_foreach(scim_json_get(original, "members", NULL), i, element) {
        const char *value = s_member_value(element);
        a->work++;
        if (value && !zhashx_lookup(before, value)
            && zhashx_insert(before, value, element) != 0)
            rc = s_oom(a);
        if (rc == 0 && value && !zhashx_lookup(a->members.live, value)
            && zhashx_lookup(before, value) == element
            && json_array_append_new(result->removed, json_string(value)) != 0)
            rc = s_oom(a);
    }
    json_array_foreach(s_members_array(a, false), i, element) {
        const char *value = s_member_value(element);
        a->work++;
        if (rc == 0 && value && !zhashx_lookup(before, value)
            && json_array_append_new(result->added, json_string(value)) != 0)
            rc = s_oom(a);
    }
    zhashx_destroy(&before);
    return rc;
}

void scim_patch_result_clear(scim_patch_result_t *result)
{
    json_decref(result->resource);
    json_decref(result->added);
    json_decref(result->removed);
    memset(result, 0, sizeof *result);
}

int scim_patch_apply(const scim_patch_t *self, scim_patch_kind_t kind, const json_t *resource,
                     unsigned flags, scim_patch_result_t *result, scim_error_t *error)
{
    memset(result, 0, sizeof *result);
    if (!self || !json_is_object(resource)) {
        s_error(error, 500, "", "no patch or no resource");
        return -1;
    }
    s_apply_t a = {kind, json_deep_copy(resource), {NULL, 0}, 0, error};
    int rc = a.resource ? 0 : s_oom(&a);
    for (size_t i = 0; rc == 0 && i < self->count; i++) {
        const s_operation_t *op = &self->ops[i];
        rc = op->path ? s_apply_op(&a, op->op, op->path, op->value)
                      : s_apply_object(&a, op->op, op->value);
        if (rc == 0 && a.work > SCIM_PATCH_WORK_MAX) {
            s_error(error, 400, "tooMany", "the PATCH costs more than the %d steps allowed",
                    SCIM_PATCH_WORK_MAX);
            rc = -1;
        }
        if (rc != 0 && error->status == 400) {
            char detail[sizeof error->detail];
            memcpy(detail, error->detail, sizeof detail);
            snprintf(error->detail, sizeof error->detail, "Operations[%zu]: %.200s", i,
                     detail);
        }
    }
    if (rc == 0 && kind == SCIM_PATCH_GROUP)
        rc = s_members_delta(&a, resource, result);
    const char *key = "members";
    json_t *members = scim_json_get(a.resource, "members", &key);
    if (rc == 0 && json_is_array(members) && json_array_size(members) == 0
        && !json_equal(members, scim_json_get(resource, "members", NULL)))
        json_object_del(a.resource, key); /* removed to the last: unassigned (3.5.2.2) */
    zhashx_destroy(&a.members.live);
    if (rc != 0) {
        json_decref(a.resource);
        scim_patch_result_clear(result);
        return -1;
    }
    result->resource = a.resource;
    result->changed = !json_equal(a.resource, resource);
    if (kind == SCIM_PATCH_GROUP && (flags & SCIM_PATCH_MEMBERS_APART)) {
        const char *key = "members";
        if (scim_json_get(a.resource, "members", &key))
            json_object_del(a.resource, key);
    }
    result->work = a.work;
    return 0;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* The self-test writes JSON with ' for " (a filter's \" as \'), to stay readable; s_quoted
   turns it back (a copy to free; NULL stays NULL). */
#define S_PATCH "{'schemas':['" SCIM_PATCH_URN "'],'Operations':"
/* A user from its parts: more schemas, active, name, emails, more members (each JSON text). */
#define S_USER_OF(schemas, active, name, emails, more)                                             \
    "{'schemas':['" S_CORE_USER "'" schemas "],'id':'u1','userName':'bjensen','active':" active    \
    ",'name':" name ",'emails':" emails ",'meta':{'resourceType':'User'}" more "}"
#define S_NAME "{'givenName':'Barbara','familyName':'Jensen'}"
#define S_EMAILS                                                                                   \
    "[{'value':'b@example.com','type':'work','primary':true},{'value':'b@home.org','type':'home'}]"
#define S_USER S_USER_OF("", "true", S_NAME, S_EMAILS, "")
/* A group from its members (JSON text, without the brackets). */
#define S_GROUP_OF(members)                                                                        \
    "{'schemas':['" S_CORE_GROUP "'],'id':'g1','displayName':'Tour Guides','members':[" members "]}"
#define S_GROUP S_GROUP_OF("{'value':'a','display':'A'},{'value':'b'}")

static char *s_quoted(const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    for (char *c = copy; c && *c; c++)
        if (*c == '\'')
            *c = '"';
    return copy;
}

static json_t *s_json(const char *text)
{
    char *quoted = s_quoted(text);
    json_t *json = quoted ? json_loads(quoted, 0, NULL) : NULL;
    free(quoted);
    return json;
}

/* Applies ops (the Operations array) to resource; want is the whole new resource (JSON), or
   "!scimType" for a refusal; either way the resource given must be unchanged. */
static bool s_case(scim_patch_kind_t kind, const char *resource, const char *ops,
                   const char *want)
{
    size_t size = strlen(ops) + sizeof S_PATCH + 2;
    char *text = malloc(size);
    if (!text)
        return false;
    snprintf(text, size, S_PATCH "%s}", ops);
    char *body = s_quoted(text);
    free(text);
    json_t *given = s_json(resource), *before = json_deep_copy(given);
    scim_error_t error = {0, "", ""};
    scim_patch_result_t result;
    scim_patch_t *patch = body ? scim_patch_parse(body, strlen(body), &error) : NULL;
    int rc = patch ? scim_patch_apply(patch, kind, given, 0, &result, &error) : -1;
    bool ok = given && json_equal(given, before);
    char *got = rc == 0 ? json_dumps(result.resource, JSON_COMPACT) : NULL;
    if (want[0] == '!')
        ok = ok && rc != 0 && !strcmp(error.scim_type, want + 1) && error.status == 400
             && !result.resource;
    else {
        json_t *wanted = s_json(want);
        ok = ok && rc == 0 && wanted && json_equal(result.resource, wanted);
        json_decref(wanted);
    }
    if (!ok)
        fprintf(stderr, "  %s\n    want %s\n    got  %s %s %s\n", ops, want, got ? got : "",
                error.scim_type, error.detail);
    free(got);
    if (rc == 0)
        scim_patch_result_clear(&result);
    scim_patch_destroy(&patch);
    free(body);
    json_decref(given);
    json_decref(before);
    return ok;
}

/* A body refused at parsing, with status and scimType (len as given: the cap is checked
   before the bytes are read). */
static bool s_body_refused(const char *text, size_t len, int status, const char *type)
{
    scim_error_t error = {0, "", ""};
    char *body = s_quoted(text);
    scim_patch_t *patch = scim_patch_parse(body, len, &error);
    bool ok = !patch && error.status == status && !strcmp(error.scim_type, type)
              && error.detail[0];
    if (!ok)
        fprintf(stderr, "  %.80s: want %d %s, got %d %s %s\n", body ? body : "(null)", status,
                type, error.status, error.scim_type, error.detail);
    scim_patch_destroy(&patch);
    free(body);
    return ok;
}

/* A group of n members "m0".."m<n-1>". */
static json_t *s_big_group(size_t n)
{
    json_t *members = json_array();
    char value[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(value, sizeof value, "m%zu", i);
        json_array_append_new(members, json_pack("{s:s}", "value", value));
    }
    return json_pack("{s:[s],s:s,s:s,s:o}", "schemas", S_CORE_GROUP, "id", "g", "displayName",
                     "big", "members", members);
}

/* Applies body (a json_t, taken) to resource; 0 with the result filled. */
static int s_apply_json(json_t *body, scim_patch_kind_t kind, const json_t *resource,
                        unsigned flags, scim_patch_result_t *result, scim_error_t *error)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    scim_patch_t *patch = text ? scim_patch_parse(text, strlen(text), error) : NULL;
    int rc = patch ? scim_patch_apply(patch, kind, resource, flags, result, error) : -1;
    scim_patch_destroy(&patch);
    free(text);
    return rc;
}

static void s_test_large(void)
{
    const size_t n = 10000;
    json_t *group = s_big_group(n);
    scim_patch_result_t result;
    scim_error_t error;
    char value[32];

    /* one op adding n members (n new, and the n already there again) */
    json_t *values = json_array();
    for (size_t i = 0; i < 2 * n; i++) {
        snprintf(value, sizeof value, "m%zu", i);
        json_array_append_new(values, json_pack("{s:s}", "value", value));
    }
    json_t *body = json_pack("{s:[s],s:[{s:s,s:s,s:o}]}", "schemas", SCIM_PATCH_URN,
                             "Operations", "op", "Add", "path", "members", "value", values);
    SSO_CHECK(s_apply_json(body, SCIM_PATCH_GROUP, group, SCIM_PATCH_MEMBERS_APART, &result,
                           &error) == 0);
    /* linear: a few steps per member; a version comparing each new member with every member
       would take more than n * n / 2 = 50,000,000 */
    SSO_CHECK(result.work > 2 * n && result.work <= 10 * n);
    SSO_CHECK(json_array_size(result.added) == n && json_array_size(result.removed) == 0);
    SSO_CHECK(!strcmp(json_string_value(json_array_get(result.added, 0)), "m10000"));
    SSO_CHECK(result.resource && !json_object_get(result.resource, "members") && result.changed);
    scim_patch_result_clear(&result);

    /* n ops, each removing one member by a value filter, and n ops each adding one */
    json_t *ops = json_array();
    for (size_t i = 0; i < n; i++) {
        snprintf(value, sizeof value, "members[value eq \"M%zu\"]", i); /* case-insensitive */
        json_array_append_new(ops, json_pack("{s:s,s:s}", "op", "remove", "path", value));
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(value, sizeof value, "n%zu", i);
        json_array_append_new(ops, json_pack("{s:s,s:s,s:[{s:s}]}", "op", "add", "path",
                                             "members", "value", "value", value));
    }
    body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_URN, "Operations", ops);
    /* 20,000 ops: past the cap, so the removals and additions go in two patches */
    SSO_CHECK(s_apply_json(json_deep_copy(body), SCIM_PATCH_GROUP, group, 0, &result, &error)
                  != 0
              && !strcmp(error.scim_type, "tooMany"));
    json_array_remove(ops, 2 * n - 1);
    json_t *adds = json_array();
    while (json_array_size(ops) > n) {
        json_array_append(adds, json_array_get(ops, n));
        json_array_remove(ops, n);
    }
    SSO_CHECK(s_apply_json(body, SCIM_PATCH_GROUP, group, 0, &result, &error) == 0);
    SSO_CHECK(result.work <= 10 * n && json_array_size(result.removed) == n
              && json_array_size(result.added) == 0
              && !json_object_get(result.resource, "members"));
    json_t *emptied = json_incref(result.resource);
    scim_patch_result_clear(&result);
    body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_URN, "Operations", adds);
    SSO_CHECK(s_apply_json(body, SCIM_PATCH_GROUP, emptied, 0, &result, &error) == 0);
    SSO_CHECK(result.work <= 10 * n && json_array_size(result.added) == n - 1
              && json_array_size(json_object_get(result.resource, "members")) == n - 1);
    scim_patch_result_clear(&result);
    json_decref(emptied);

    /* a filter the index cannot answer visits every member: the count shows it, and the cap
       stops a patch of them (201 x 10,000 visits) */
    ops = json_array();
    for (size_t i = 0; i < SCIM_PATCH_WORK_MAX / n + 1; i++)
        json_array_append_new(ops, json_pack("{s:s,s:s,s:s}", "op", "replace", "path",
                                             "members[value sw \"m\"].display", "value", "x"));
    body = json_pack("{s:[s],s:[O]}", "schemas", SCIM_PATCH_URN, "Operations",
                     json_array_get(ops, 0));
    SSO_CHECK(s_apply_json(body, SCIM_PATCH_GROUP, group, 0, &result, &error) == 0
              && result.work >= n && json_array_size(result.added) == 0 && result.changed);
    scim_patch_result_clear(&result);
    body = json_pack("{s:[s],s:o}", "schemas", SCIM_PATCH_URN, "Operations", ops);
    SSO_CHECK(s_apply_json(body, SCIM_PATCH_GROUP, group, 0, &result, &error) != 0
              && !strcmp(error.scim_type, "tooMany") && !result.resource);
    json_decref(group);
}

void scim_patch_test(bool verbose)
{
    (void) verbose;
    const scim_patch_kind_t U = SCIM_PATCH_USER, G = SCIM_PATCH_GROUP;
    const char *no_members = "{'schemas':['" S_CORE_GROUP "'],'id':'g1','displayName':"
                               "'Tour Guides'}";
    /* Entra ID's shapes */
    const char *inactive = S_USER_OF("", "false", S_NAME, S_EMAILS, "");
    SSO_CHECK(s_case(U, S_USER, "[{'op':'Replace','path':'active','value':'False'}]",
                     inactive));
    SSO_CHECK(s_case(U, inactive, "[{'op':'Replace','path':'active','value':'True'}]",
                     S_USER));
    SSO_CHECK(s_case(G, S_GROUP,
                     "[{'op':'Add','path':'members','value':[{'value':'c'}]}]",
                     S_GROUP_OF("{'value':'a','display':'A'},{'value':'b'},"
                              "{'value':'c'}")));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'Remove','path':'members[value eq \\'a\\']'}]",
                     S_GROUP_OF("{'value':'b'}")));
    SSO_CHECK(s_case(G, S_GROUP,
                     "[{'op':'Remove','path':'members','value':[{'value':'b'},"
                     "{'value':'gone'}]}]",
                     S_GROUP_OF("{'value':'a','display':'A'}")));
    SSO_CHECK(s_case(U, S_USER,
                     "[{'op':'Add','path':'" S_ENTERPRISE ":employeeNumber',"
                     "'value':'701984'}]",
                     S_USER_OF(",'" S_ENTERPRISE "'", "true", S_NAME, S_EMAILS,
                               ",'" S_ENTERPRISE "':{'employeeNumber':'701984'}")));
    /* Entra's update of an absent work phone creates it; of the work email, replaces */
    SSO_CHECK(s_case(U, S_USER,
                     "[{'op':'Add','path':'phoneNumbers[type eq \\'work\\'].value',"
                     "'value':'555'},{'op':'Replace','path':'emails[type eq "
                     "\\'work\\'].value','value':'new@example.com'}]",
                     S_USER_OF("", "true", S_NAME,
                               "[{'value':'new@example.com','type':'work','primary':true},"
                               "{'value':'b@home.org','type':'home'}]",
                               ",'phoneNumbers':[{'type':'work','value':'555'}]")));
    /* Okta's: deactivation without a path, and member removal */
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','value':{'active':false}}]", inactive));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'remove','path':'members[value eq \\'b\\']'}]",
                     S_GROUP_OF("{'value':'a','display':'A'}")));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','value':{'id':'u1','active':false,"
                                "'schemas':['" S_CORE_USER "']}}]", inactive));

    /* every form */
    const char *two_names =
        S_USER_OF("", "true", S_NAME, S_EMAILS, ",'nickName':'Babs','title':'Guide'");
    SSO_CHECK(s_case(U, S_USER,
                     "[{'op':'add','value':{'nickName':'Babs','TITLE':'Guide'}}]",
                     two_names));
    SSO_CHECK(s_case(U, two_names, "[{'op':'remove','path':'nickName'},"
                                   "{'op':'remove','path':'title'}]", S_USER));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'remove','path':'nickName'}]", S_USER));
    /* a complex attribute: sub-attributes not given stay (add and replace alike) */
    const char *renamed =
        S_USER_OF("", "true", "{'givenName':'Babs','familyName':'Jensen'}", S_EMAILS, "");
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','path':'name','value':"
                                "{'givenName':'Babs'}}]", renamed));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'add','path':'name.givenName','value':"
                                "'Babs'}]", renamed));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','value':{'name.givenName':'Babs'}}]",
                     renamed));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','value':{'" S_CORE_USER "':"
                                "{'name':{'givenName':'Babs'}}}}]", renamed));
    /* add to a multi-valued attribute: what is not there yet */
    SSO_CHECK(s_case(U, S_USER, "[{'op':'add','path':'emails','value':[{'value':"
                                "'b@home.org','type':'home'},{'value':'x@y.z'}]}]",
                     S_USER_OF("", "true", S_NAME,
                               "[{'value':'b@example.com','type':'work','primary':true},"
                               "{'value':'b@home.org','type':'home'},{'value':'x@y.z'}]",
                               "")));
    /* replace of a multi-valued attribute; of filtered elements; remove of filtered ones */
    const char *one_email =
        S_USER_OF("", "true", S_NAME, "[{'value':'o@x.y','primary':false}]", "");
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','path':'emails','value':"
                                "{'value':'o@x.y','primary':'False'}}]", one_email));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'replace','path':'emails[type eq \\'work\\']',"
                                "'value':{'value':'o@x.y','primary':false}},"
                                "{'op':'remove','path':'emails[type eq \\'home\\']'}]",
                     one_email));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'remove','path':'emails[type eq \\'home\\']'},"
                                "{'op':'replace','path':'emails[primary eq true]',"
                                "'value':{'value':'o@x.y','primary':false}}]",
                     one_email));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'remove','path':'emails'},{'op':'add',"
                                "'path':'emails','value':[{'value':'o@x.y',"
                                "'primary':false}]}]", one_email));
    SSO_CHECK(s_case(U, S_USER, "[{'op':'remove','path':'emails[type eq \\'home\\']'},"
                                "{'op':'remove','path':'emails[type eq \\'work\\'].type'},"
                                "{'op':'replace','path':'emails.primary','value':"
                                "'false'},{'op':'replace','path':'emails[value ew "
                                "\\'.com\\'].value','value':'o@x.y'}]", one_email));
    /* members: add what is missing (case-insensitively, as filters compare), remove, replace */
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'add','value':{'members':[{'value':'B'},"
                                 "{'value':'c'},{'value':'c'}]}}]",
                     S_GROUP_OF("{'value':'a','display':'A'},{'value':'b'},"
                              "{'value':'c'}")));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'replace','path':'members','value':"
                                 "[{'value':'c'}]}]", S_GROUP_OF("{'value':'c'}")));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'remove','path':'members'}]",
                     no_members));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'remove','path':'members[value eq \\'a\\']'},"
                                 "{'op':'add','path':'members','value':[{'value':"
                                 "'a'}]},{'op':'replace','path':'members[value eq "
                                 "\\'b\\'].display','value':'B'}]",
                     S_GROUP_OF("{'value':'b','display':'B'},{'value':'a'}")));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'remove','path':'members[display eq \\'A\\' "
                                 "or value eq \\'b\\']'}]",
                     no_members));
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'replace','value':{'displayName':'T',"
                                 "'externalId':'e'}}]",
                     "{'schemas':['" S_CORE_GROUP "'],'id':'g1','displayName':'T','externalId':"
                     "'e','members':[{'value':'a','display':'A'},{'value':'b'}]}"));
    /* extensions: enterprise manager by path, a custom extension's object without a path */
    SSO_CHECK(s_case(U, S_USER, "[{'op':'add','path':'" S_ENTERPRISE ":manager.value',"
                                "'value':'m1'},{'op':'add','path':'urn:ex:ext:1.0:User:badge',"
                                "'value':7}]",
                     S_USER_OF(",'" S_ENTERPRISE "','urn:ex:ext:1.0:User'", "true", S_NAME,
                               S_EMAILS,
                               ",'" S_ENTERPRISE "':{'manager':{'value':'m1'}},"
                               "'urn:ex:ext:1.0:User':{'badge':7}")));

    /* refusals at parsing */
    const char *ok_ops = "'Operations':[{'op':'remove','path':'title'}]}";
    char body[512];
    SSO_CHECK(s_body_refused(NULL, 0, 400, "invalidSyntax"));
    SSO_CHECK(s_body_refused("", 0, 400, "invalidSyntax"));
    SSO_CHECK(s_body_refused("{'schemas':", 11, 400, "invalidSyntax"));
    SSO_CHECK(s_body_refused("[]", 2, 400, "invalidSyntax"));
    snprintf(body, sizeof body, "{%s", ok_ops);
    SSO_CHECK(s_body_refused(body, strlen(body), 400, "invalidSyntax"));
    snprintf(body, sizeof body, "{'schemas':['" S_CORE_USER "'],%s", ok_ops);
    SSO_CHECK(s_body_refused(body, strlen(body), 400, "invalidSyntax"));
    snprintf(body, sizeof body, "{'schemas':['%s','%s'],%s", SCIM_PATCH_URN,
             SCIM_PATCH_URN, ok_ops);
    SSO_CHECK(s_body_refused(body, strlen(body), 400, "invalidSyntax"));
    const char *bodies[][2] = {
        {"{'schemas':['" SCIM_PATCH_URN "']}", "invalidSyntax"},
        {S_PATCH "[]}", "invalidSyntax"},
        {S_PATCH "{}}", "invalidSyntax"},
        {S_PATCH "[7]}", "invalidSyntax"},
        {S_PATCH "[{'path':'title'}]}", "invalidSyntax"},
        {S_PATCH "[{'op':'move','path':'title'}]}", "invalidSyntax"},
        {S_PATCH "[{'op':1,'path':'title'}]}", "invalidSyntax"},
        {S_PATCH "[{'op':'add','path':'title'}]}", "invalidSyntax"},
        {S_PATCH "[{'op':'add','value':'x'}]}", "invalidValue"},
        {S_PATCH "[{'op':'remove'}]}", "noTarget"},
        {S_PATCH "[{'op':'remove','path':7}]}", "invalidPath"},
        {S_PATCH "[{'op':'remove','path':''}]}", "invalidPath"},
        {S_PATCH "[{'op':'remove','path':'emails[type eqq \\'x\\']'}]}", "invalidPath"},
        {S_PATCH "[{'op':'remove','path':'title','path':'x'}]}", "invalidSyntax"},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        SSO_CHECK(s_body_refused(bodies[i][0], strlen(bodies[i][0]), 400, bodies[i][1]));
    /* the caps: operations, and bytes */
    size_t many = SCIM_PATCH_OPS_MAX + 1, size = many * 40 + 200, n;
    char *huge = malloc(size);
    SSO_CHECK(huge != NULL);
    if (huge) {
        n = (size_t) snprintf(huge, size, S_PATCH "[");
        for (size_t i = 0; i < many; i++)
            n += (size_t) snprintf(huge + n, size - n, "%s{'op':'remove','path':'title'}",
                                   i ? "," : "");
        n += (size_t) snprintf(huge + n, size - n, "]}");
        SSO_CHECK(s_body_refused(huge, n, 400, "tooMany"));
        free(huge);
    }
    SSO_CHECK(s_body_refused("{}", SCIM_PATCH_BODY_MAX + 1, 413, ""));

    /* refusals at applying, each leaving the resource as it was (s_case checks) */
    const struct {
        scim_patch_kind_t kind;
        const char *ops, *want;
    } refusals[] = {
        {SCIM_PATCH_USER, "[{'op':'add','path':'shoeSize','value':'9'}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'add','value':{'shoeSize':'9'}}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'add','value':{'a b':'9'}}]",
         "!invalidPath"},
        {SCIM_PATCH_GROUP, "[{'op':'add','path':'userName','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_GROUP, "[{'op':'add','path':'" S_ENTERPRISE ":department','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_GROUP, "[{'op':'add','path':'" S_CORE_USER ":displayName','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'" S_ENTERPRISE ":shoeSize','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'userName[value eq \\'x\\']','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'userName.x','value':'x'}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'add','value':{'" S_CORE_USER "':'x'}}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'" SCIM_PATCH_URN ":x','value':1}]",
         "!invalidPath"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'active','value':'yes'}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'active','value':1}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'userName','value':7}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'name','value':'x'}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'emails','value':['x']}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'emails','value':[{'primary':'maybe'}]}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'remove','path':'userName'}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'userName','value':null}]",
         "!invalidValue"},
        {SCIM_PATCH_GROUP, "[{'op':'remove','path':'displayName'}]",
         "!invalidValue"},
        {SCIM_PATCH_GROUP, "[{'op':'add','path':'members','value':[{'display':'no value'}]}]",
         "!invalidValue"},
        {SCIM_PATCH_GROUP, "[{'op':'add','path':'members','value':[7]}]",
         "!invalidValue"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'id','value':'u2'}]",
         "!mutability"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'id','value':'u1'}]",
         S_USER},
        {SCIM_PATCH_USER, "[{'op':'remove','path':'id'}]",
         "!mutability"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'meta.resourceType','value':'Group'}]",
         "!mutability"},
        {SCIM_PATCH_USER, "[{'op':'replace','value':{'meta':{}}}]",
         "!mutability"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'schemas','value':['urn:x']}]",
         "!mutability"},
        {SCIM_PATCH_USER, "[{'op':'add','path':'groups','value':[{'value':'g1'}]}]",
         "!mutability"},
        {SCIM_PATCH_GROUP,
         "[{'op':'replace','path':'members[value eq \\'a\\'].value','value':'z'}]",
         "!mutability"},
        {SCIM_PATCH_GROUP, "[{'op':'remove','path':'members[value eq \\'z\\']'}]",
         "!noTarget"},
        {SCIM_PATCH_USER, "[{'op':'remove','path':'emails[type eq \\'other\\']'}]",
         "!noTarget"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'emails[value co \\'zz\\'].value','value':'x'}]",
         "!noTarget"},
        {SCIM_PATCH_USER, "[{'op':'replace','path':'ims.value','value':'x'}]",
         "!noTarget"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++)
        SSO_CHECK(s_case(refusals[i].kind, refusals[i].kind == U ? S_USER : S_GROUP,
                         refusals[i].ops, refusals[i].want));
    /* the resource stays as it was when a later op fails, whatever the earlier ones did */
    SSO_CHECK(s_case(G, S_GROUP, "[{'op':'add','path':'members','value':[{'value':"
                                 "'c'}]},{'op':'remove','path':'members[value eq "
                                 "\\'a\\']'},{'op':'replace','path':'displayName',"
                                 "'value':'x'},{'op':'remove','path':'id'}]",
                     "!mutability"));
    /* at most SCIM_PATCH_VALUES_MAX emails */
    size = (SCIM_PATCH_VALUES_MAX + 1) * 24 + 100;
    huge = malloc(size);
    SSO_CHECK(huge != NULL);
    if (huge) {
        n = (size_t) snprintf(huge, size, "[{'op':'add','path':'emails','value':[");
        for (int i = 0; i < SCIM_PATCH_VALUES_MAX; i++)
            n += (size_t) snprintf(huge + n, size - n, "%s{'value':'%d'}", i ? "," : "", i);
        snprintf(huge + n, size - n, "]}]");
        SSO_CHECK(s_case(U, S_USER, huge, "!invalidValue"));
        free(huge);
    }

    /* a schema's object whose key, with the URN, would be longer than a path may be */
    size = SCIM_FILTER_TEXT_MAX + 200;
    huge = malloc(size);
    SSO_CHECK(huge != NULL);
    if (huge) {
        n = (size_t) snprintf(huge, size, "[{'op':'add','value':{'" S_ENTERPRISE "':{'");
        memset(huge + n, 'a', SCIM_FILTER_TEXT_MAX);
        snprintf(huge + n + SCIM_FILTER_TEXT_MAX, size - n - SCIM_FILTER_TEXT_MAX, "':1}}}]");
        SSO_CHECK(s_case(U, S_USER, huge, "!invalidPath"));
        free(huge);
    }

    /* the members' delta, and the resource without them */
    scim_patch_result_t result;
    scim_error_t error;
    json_t *group = s_json(S_GROUP);
    json_t *body_json = s_json(S_PATCH "[{'op':'add','path':'members','value':["
                                   "{'value':'c'},{'value':'A'}]},{'op':'remove',"
                                   "'path':'members[value eq \\'b\\']'},{'op':'add',"
                                   "'path':'members','value':[{'value':'b'},{'value':"
                                   "'d'}]},{'op':'remove','path':'members','value':"
                                   "[{'value':'D'}]}]}");
    SSO_CHECK(s_apply_json(body_json, G, group, SCIM_PATCH_MEMBERS_APART, &result, &error) == 0);
    char *added = json_dumps(result.added, JSON_COMPACT | JSON_ENCODE_ANY);
    char *removed = json_dumps(result.removed, JSON_COMPACT | JSON_ENCODE_ANY);
    SSO_CHECK(added && !strcmp(added, "[\"c\"]") && removed && !strcmp(removed, "[]"));
    SSO_CHECK(!json_object_get(result.resource, "members") && result.changed);
    free(added);
    free(removed);
    scim_patch_result_clear(&result);
    body_json = s_json(S_PATCH "[{'op':'replace','path':'displayName','value':"
                           "'Tour Guides'}]}");
    SSO_CHECK(s_apply_json(body_json, G, group, 0, &result, &error) == 0 && !result.changed
              && json_array_size(result.added) == 0 && json_array_size(result.removed) == 0);
    scim_patch_result_clear(&result);
    json_decref(group);
    /* a User has no member delta */
    json_t *user = s_json(S_USER);
    body_json = s_json(S_PATCH "[{'op':'replace','value':{'active':false}}]}");
    SSO_CHECK(s_apply_json(body_json, U, user, 0, &result, &error) == 0 && !result.added
              && !result.removed && result.changed);
    scim_patch_result_clear(&result);
    SSO_CHECK(scim_patch_apply(NULL, U, user, 0, &result, &error) != 0 && !result.resource);
    json_decref(user);

    s_test_large();
}
