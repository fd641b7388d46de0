/* scim_discovery: ServiceProviderConfig, ResourceTypes and Schemas. */
#include "scim_discovery.h"
#include "scim_http.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_SCHEMA_URN "urn:ietf:params:scim:schemas:core:2.0:Schema"
#define S_RESOURCE_TYPE_URN "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
#define S_SPC_URN "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
#define S_SUBS_MAX 8

/* One attribute's characteristics (RFC 7643 7). Flags: 'm' multiValued, 'r' required, 'c'
   caseExact, 'u' uniqueness server, 'x' a reference to an external resource (else a User).
   mutability and returned as RFC 7643 spells them (readWrite, readOnly, immutable, writeOnly;
   always, never, default, request). */
typedef struct s_attr {
    const char *name;
    const char *type; /* string boolean decimal integer dateTime reference binary complex */
    const char *flags;
    const char *mutability;
    const char *returned;
    const char *description;
    const char *canonical; /* "work,home,other" for type sub-attributes; NULL: none */
    struct s_attr const *subs;
} s_attr_t;

#define S_END {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}
#define S_RW(name, type, flags, description) {name, type, flags, "readWrite", "default", description, NULL, NULL}

static const s_attr_t s_name_subs[] = {
    S_RW("formatted", "string", "", "The full name, formatted for display."),
    S_RW("familyName", "string", "", "The family name."),
    S_RW("givenName", "string", "", "The given name."),
    S_RW("middleName", "string", "", "The middle name(s)."),
    S_RW("honorificPrefix", "string", "", "The honorific prefix(es)."),
    S_RW("honorificSuffix", "string", "", "The honorific suffix(es)."),
    S_END,
};
static const s_attr_t s_email_subs[] = {
    S_RW("value", "string", "", "The email address."),
    S_RW("display", "string", "", "A name for display."),
    {"type", "string", "", "readWrite", "default", "work, home or other.", "work,home,other", NULL},
    S_RW("primary", "boolean", "", "Whether this is the primary email."),
    S_END,
};
static const s_attr_t s_phone_subs[] = {
    S_RW("value", "string", "", "The phone number."),
    S_RW("display", "string", "", "A name for display."),
    {"type", "string", "", "readWrite", "default", "work, home, mobile, fax, pager or other.",
     "work,home,mobile,fax,pager,other", NULL},
    S_RW("primary", "boolean", "", "Whether this is the primary number."),
    S_END,
};
static const s_attr_t s_address_subs[] = {
    S_RW("formatted", "string", "", "The full address, formatted for display."),
    S_RW("streetAddress", "string", "", "The street address."),
    S_RW("locality", "string", "", "The city or locality."),
    S_RW("region", "string", "", "The state or region."),
    S_RW("postalCode", "string", "", "The postal code."),
    S_RW("country", "string", "", "The country (ISO 3166-1 alpha-2)."),
    {"type", "string", "", "readWrite", "default", "work, home or other.", "work,home,other", NULL},
    S_RW("primary", "boolean", "", "Whether this is the primary address."),
    S_END,
};
static const s_attr_t s_value_subs[] = {
    S_RW("value", "string", "", "The value."),
    S_RW("display", "string", "", "A name for display."),
    S_RW("type", "string", "", "A label of its function."),
    S_RW("primary", "boolean", "", "Whether this is the primary value."),
    S_END,
};
/* ims, photos and x509Certificates (RFC 7643 4.1.2): the service keeps them as given. */
static const s_attr_t s_im_subs[] = {
    S_RW("value", "string", "", "The instant messaging address."),
    S_RW("display", "string", "", "A name for display."),
    {"type", "string", "", "readWrite", "default",
     "aim, gtalk, icq, xmpp, msn, skype, qq or yahoo.", "aim,gtalk,icq,xmpp,msn,skype,qq,yahoo",
     NULL},
    S_RW("primary", "boolean", "", "Whether this is the primary address."),
    S_END,
};
static const s_attr_t s_photo_subs[] = {
    S_RW("value", "reference", "x", "The URL of the photo."),
    S_RW("display", "string", "", "A name for display."),
    {"type", "string", "", "readWrite", "default", "photo or thumbnail.", "photo,thumbnail", NULL},
    S_RW("primary", "boolean", "", "Whether this is the primary photo."),
    S_END,
};
static const s_attr_t s_certificate_subs[] = {
    S_RW("value", "binary", "c", "The DER certificate, base64-encoded."),
    S_RW("display", "string", "", "A name for display."),
    S_RW("type", "string", "", "A label of its function."),
    S_RW("primary", "boolean", "", "Whether this is the primary certificate."),
    S_END,
};
static const s_attr_t s_groups_subs[] = {
    {"value", "string", "", "readOnly", "default", "The id of the group.", NULL, NULL},
    {"$ref", "reference", "", "readOnly", "default", "The URI of the group.", NULL, NULL},
    {"display", "string", "", "readOnly", "default", "The group's displayName.", NULL, NULL},
    {"type", "string", "", "readOnly", "default", "direct or indirect.", "direct,indirect", NULL},
    S_END,
};
static const s_attr_t s_user_attrs[] = {
    {"userName", "string", "ru", "readWrite", "default",
     "The unique identifier of the user in this directory (case-insensitive).", NULL, NULL},
    {"name", "complex", "", "readWrite", "default", "The components of the user's name.", NULL,
     s_name_subs},
    S_RW("displayName", "string", "", "The name of the user, for display."),
    S_RW("nickName", "string", "", "The casual name of the user."),
    S_RW("profileUrl", "reference", "x", "A URI of the user's online profile."),
    S_RW("title", "string", "", "The user's title."),
    S_RW("userType", "string", "", "The relationship between the organization and the user."),
    S_RW("preferredLanguage", "string", "", "The user's preferred language."),
    S_RW("locale", "string", "", "The user's default location."),
    S_RW("timezone", "string", "", "The user's time zone (IANA)."),
    S_RW("active", "boolean", "", "Whether the user may sign in (true when absent)."),
    {"emails", "complex", "m", "readWrite", "default", "The user's email addresses.", NULL,
     s_email_subs},
    {"phoneNumbers", "complex", "m", "readWrite", "default", "The user's phone numbers.", NULL,
     s_phone_subs},
    {"addresses", "complex", "m", "readWrite", "default", "The user's addresses.", NULL,
     s_address_subs},
    {"ims", "complex", "m", "readWrite", "default", "The user's instant messaging addresses.",
     NULL, s_im_subs},
    {"photos", "complex", "m", "readWrite", "default", "The URLs of the user's photos.", NULL,
     s_photo_subs},
    {"groups", "complex", "m", "readOnly", "default", "The groups the user belongs to.", NULL,
     s_groups_subs},
    {"entitlements", "complex", "m", "readWrite", "default", "The user's entitlements.", NULL,
     s_value_subs},
    {"roles", "complex", "m", "readWrite", "default", "The user's roles.", NULL, s_value_subs},
    {"x509Certificates", "complex", "m", "readWrite", "default", "The user's certificates.", NULL,
     s_certificate_subs},
    S_END,
};
static const s_attr_t s_manager_subs[] = {
    S_RW("value", "string", "", "The id of the manager's User."),
    {"$ref", "reference", "", "readWrite", "default", "The URI of the manager's User.", NULL, NULL},
    {"displayName", "string", "", "readOnly", "default", "The manager's displayName.", NULL, NULL},
    S_END,
};
static const s_attr_t s_enterprise_attrs[] = {
    S_RW("employeeNumber", "string", "", "The identifier the organization gives the user."),
    S_RW("costCenter", "string", "", "The cost center."),
    S_RW("organization", "string", "", "The organization."),
    S_RW("division", "string", "", "The division."),
    S_RW("department", "string", "", "The department."),
    {"manager", "complex", "", "readWrite", "default", "The user's manager.", NULL,
     s_manager_subs},
    S_END,
};
static const s_attr_t s_member_subs[] = {
    {"value", "string", "", "immutable", "default", "The id of the member.", NULL, NULL},
    {"$ref", "reference", "", "immutable", "default", "The URI of the member.", NULL, NULL},
    {"type", "string", "", "immutable", "default", "User or Group.", "User,Group", NULL},
    {"display", "string", "", "readOnly", "default", "The member's name.", NULL, NULL},
    S_END,
};
static const s_attr_t s_group_attrs[] = {
    {"displayName", "string", "r", "readWrite", "default", "The name of the group.", NULL, NULL},
    {"members", "complex", "m", "readWrite", "default", "The members of the group.", NULL,
     s_member_subs},
    S_END,
};

static const struct {
    const char *urn, *name, *description;
    const s_attr_t *attrs;
} s_schemas[] = {
    {SCIM_USER_URN, "User", "User Account", s_user_attrs},
    {SCIM_GROUP_URN, "Group", "Group", s_group_attrs},
    {SCIM_ENTERPRISE_URN, "EnterpriseUser", "Enterprise User", s_enterprise_attrs},
};
#define S_SCHEMAS (sizeof s_schemas / sizeof *s_schemas)

/* ---- checking a body against the schemas ------------------------------------------------ */

/* The attribute of attrs named name in any case (RFC 7643 2.1), or NULL. */
static const s_attr_t *s_attr_named(const s_attr_t *attrs, const char *name)
{
    for (const s_attr_t *a = attrs; a->name; a++)
        if (!strcasecmp(a->name, name))
            return a;
    return NULL;
}

static json_t *s_checked_object(const s_attr_t *attrs, json_t *object, const char *where,
                                const char **scim_type, char *why, size_t why_size);

/* value as attribute a holds it (element: one value of a multi-valued one): a new reference,
   or NULL with the reason. */
static json_t *s_checked_value(const s_attr_t *a, json_t *value, bool element,
                               const char *where, const char **scim_type, char *why,
                               size_t why_size)
{
    *scim_type = "invalidValue";
    if (strchr(a->flags, 'm') && !element) {
        if (!json_is_array(value)) {
            snprintf(why, why_size, "%s must be an array", where);
            return NULL;
        }
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) {
            char at[160];
            snprintf(at, sizeof at, "%s[%zu]", where, i);
            json_t *checked = s_checked_value(a, item, true, at, scim_type, why, why_size);
            if (!checked || json_array_append_new(out, checked) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    const char *type = a->type;
    if (!strcmp(type, "complex")) {
        if (json_is_object(value))
            return s_checked_object(a->subs, value, where, scim_type, why, why_size);
    }
    else if (!strcmp(type, "boolean")) {
        const char *text = json_string_value(value);
        if (json_is_boolean(value))
            return json_incref(value);
        if (text && (!strcasecmp(text, "true") || !strcasecmp(text, "false")))
            return json_boolean(!strcasecmp(text, "true"));
    }
    else if (!strcmp(type, "integer") ? json_is_integer(value)
             : !strcmp(type, "decimal") ? json_is_number(value)
                                         : json_is_string(value))
        return json_incref(value);
    snprintf(why, why_size, "%s must be %s %s%s", where, strchr("aeiou", type[0]) ? "an" : "a",
             type, strchr(a->flags, 'm') ? " value" : "");
    return NULL;
}

/* object's members checked against attrs into a new object (NULL with the reason). */
static json_t *s_checked_object(const s_attr_t *attrs, json_t *object, const char *where,
                                const char **scim_type, char *why, size_t why_size)
{
    json_t *out = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        char at[160];
        snprintf(at, sizeof at, "%s%s%.64s", where, *where ? "." : "", key);
        if (json_is_null(value))
            continue; /* unassigned (RFC 7643 2.5) */
        const s_attr_t *a = s_attr_named(attrs, key);
        json_t *checked = NULL;
        if (!a) {
            *scim_type = "invalidSyntax";
            snprintf(why, why_size, "%s: no such attribute in the schema", at);
        }
        else if (json_object_get(out, a->name)) {
            *scim_type = "invalidSyntax";
            snprintf(why, why_size, "%s: given twice", at);
        }
        else
            checked = s_checked_value(a, value, false, at, scim_type, why, why_size);
        if (!checked || json_object_set_new(out, a->name, checked) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

int scim_discovery_check(const char *urn, json_t *resource, const char **scim_type, char *why,
                         size_t why_size)
{
    const s_attr_t *core = NULL;
    for (size_t i = 0; i < S_SCHEMAS; i++)
        if (!strcmp(s_schemas[i].urn, urn))
            core = s_schemas[i].attrs;
    bool user = !strcmp(urn, SCIM_USER_URN);
    /* The common attributes (RFC 7643 3.1) beside the schema's: externalId a string; schemas,
       id and meta the caller's (their types here only name them). */
    static const s_attr_t common[] = {
        S_RW("externalId", "string", "c", ""), S_RW("schemas", "reference", "m", ""),
        S_RW("id", "string", "", ""), S_RW("meta", "string", "", ""), S_END};
    *scim_type = "invalidSyntax";
    if (!core) {
        snprintf(why, why_size, "%s: no such schema", urn);
        return -1;
    }
    json_t *checked = json_object();
    const char *key;
    json_t *value;
    int rc = 0;
    json_object_foreach(resource, key, value) {
        const s_attr_t *a = s_attr_named(common, key);
        const char *name = key; /* as stored; key itself drives the iteration */
        json_t *out = NULL;
        if (a && strcmp(a->name, "externalId") != 0)
            out = json_incref(value);
        else if (json_is_null(value))
            continue; /* unassigned (RFC 7643 2.5) */
        else if (user && !strcasecmp(key, SCIM_ENTERPRISE_URN)) {
            name = SCIM_ENTERPRISE_URN;
            if (json_is_object(value))
                out = s_checked_object(s_enterprise_attrs, value, name, scim_type, why, why_size);
            else {
                *scim_type = "invalidValue";
                snprintf(why, why_size, "%s must be an object", name);
            }
        }
        else if (a || (a = s_attr_named(core, key)) != NULL) {
            name = a->name;
            out = s_checked_value(a, value, false, name, scim_type, why, why_size);
        }
        else {
            *scim_type = "invalidSyntax";
            snprintf(why, why_size, "%.64s: no such attribute in the schema", key);
        }
        if (out && json_object_get(checked, name)) {
            *scim_type = "invalidSyntax";
            snprintf(why, why_size, "%.64s: given twice", name);
            json_decref(out);
            out = NULL;
        }
        if (!out || json_object_set_new(checked, name, out) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0) {
        json_object_clear(resource);
        rc = json_object_update(resource, checked) == 0 ? 0 : -1;
    }
    json_decref(checked);
    return rc;
}

static json_t *s_attr_json(const s_attr_t *a)
{
    bool case_exact = strchr(a->flags, 'c') || !strcmp(a->type, "reference");
    json_t *json = json_pack("{s:s, s:s, s:b, s:s, s:b, s:b, s:s, s:s, s:s}", "name", a->name,
                             "type", a->type, "multiValued", strchr(a->flags, 'm') != NULL,
                             "description", a->description, "required",
                             strchr(a->flags, 'r') != NULL, "caseExact", case_exact,
                             "mutability", a->mutability, "returned", a->returned, "uniqueness",
                             strchr(a->flags, 'u') ? "server" : "none");
    if (json && a->canonical) {
        json_t *values = json_array();
        char copy[64];
        snprintf(copy, sizeof copy, "%s", a->canonical);
        char *save = NULL;
        for (char *v = strtok_r(copy, ",", &save); v; v = strtok_r(NULL, ",", &save))
            json_array_append_new(values, json_string(v));
        json_object_set_new(json, "canonicalValues", values);
    }
    if (json && !strcmp(a->type, "reference"))
        json_object_set_new(json, "referenceTypes",
                            json_pack("[s]", strchr(a->flags, 'x') ? "external" : "User"));
    if (json && a->subs) {
        json_t *subs = json_array();
        for (const s_attr_t *s = a->subs; s->name; s++)
            json_array_append_new(subs, s_attr_json(s));
        json_object_set_new(json, "subAttributes", subs);
    }
    return json;
}

static json_t *s_meta(const char *type, const char *base_url, const char *path)
{
    char location[1024];
    snprintf(location, sizeof location, "%s/%s", base_url, path);
    return json_pack("{s:s, s:s}", "resourceType", type, "location", location);
}

static json_t *s_schema(size_t i, const char *base_url)
{
    json_t *attrs = json_array();
    for (const s_attr_t *a = s_schemas[i].attrs; a->name; a++)
        json_array_append_new(attrs, s_attr_json(a));
    char path[128];
    snprintf(path, sizeof path, "Schemas/%s", s_schemas[i].urn);
    return json_pack("{s:[s], s:s, s:s, s:s, s:o, s:o}", "schemas", S_SCHEMA_URN, "id",
                     s_schemas[i].urn, "name", s_schemas[i].name, "description",
                     s_schemas[i].description, "attributes", attrs, "meta",
                     s_meta("Schema", base_url, path));
}

static json_t *s_resource_type(bool user, const char *base_url)
{
    const char *name = user ? "User" : "Group";
    char path[64];
    snprintf(path, sizeof path, "ResourceTypes/%s", name);
    json_t *type = json_pack("{s:[s], s:s, s:s, s:s, s:s, s:s, s:o}", "schemas",
                             S_RESOURCE_TYPE_URN, "id", name, "name", name, "endpoint",
                             user ? "/Users" : "/Groups", "description",
                             user ? "User Account" : "Group", "schema",
                             user ? SCIM_USER_URN : SCIM_GROUP_URN, "meta",
                             s_meta("ResourceType", base_url, path));
    if (type && user)
        json_object_set_new(type, "schemaExtensions",
                            json_pack("[{s:s, s:b}]", "schema", SCIM_ENTERPRISE_URN, "required",
                                      false));
    return type;
}

static json_t *s_service_provider_config(const char *base_url)
{
    return json_pack(
        "{s:[s], s:s, s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b}, "
        "s:[{s:s, s:s, s:s, s:b}], s:o}",
        "schemas", S_SPC_URN, "documentationUri", "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch", "supported", true, "bulk", "supported", false, "maxOperations", 0,
        "maxPayloadSize", 0, "filter", "supported", true, "maxResults", SCIM_LIST_MAX,
        "changePassword", "supported", false, "sort", "supported", true, "etag", "supported",
        true, "authenticationSchemes", "type", "oauthbearertoken", "name", "OAuth Bearer Token",
        "description", "The directory's bearer token, in the Authorization header.", "primary",
        true, "meta", s_meta("ServiceProviderConfig", base_url, "ServiceProviderConfig"));
}

/* A ListResponse of every item. */
static json_t *s_list(json_t *items)
{
    size_t n = json_array_size(items);
    return json_pack("{s:[s], s:I, s:i, s:I, s:o}", "schemas", SCIM_LIST_URN, "totalResults",
                     (json_int_t) n, "startIndex", 1, "itemsPerPage", (json_int_t) n,
                     "Resources", items);
}

json_t *scim_discovery_get(const char *path, const char *base_url)
{
    if (!strcmp(path, "ServiceProviderConfig"))
        return s_service_provider_config(base_url);
    if (!strcmp(path, "ResourceTypes"))
        return s_list(json_pack("[o, o]", s_resource_type(true, base_url),
                                s_resource_type(false, base_url)));
    if (!strcmp(path, "ResourceTypes/User"))
        return s_resource_type(true, base_url);
    if (!strcmp(path, "ResourceTypes/Group"))
        return s_resource_type(false, base_url);
    if (!strcmp(path, "Schemas")) {
        json_t *all = json_array();
        for (size_t i = 0; i < S_SCHEMAS; i++)
            json_array_append_new(all, s_schema(i, base_url));
        return s_list(all);
    }
    if (!strncmp(path, "Schemas/", 8))
        for (size_t i = 0; i < S_SCHEMAS; i++)
            if (!strcasecmp(path + 8, s_schemas[i].urn))
                return s_schema(i, base_url);
    return NULL;
}

bool scim_discovery_owns(const char *path)
{
    static const char *const roots[] = {"ServiceProviderConfig", "ResourceTypes", "Schemas"};
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        size_t len = strlen(roots[i]);
        if (!strncmp(path, roots[i], len) && (path[len] == '\0' || path[len] == '/'))
            return true;
    }
    return false;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* The attribute named name in the attributes array of a schema document. */
static json_t *s_find(json_t *attributes, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(attributes, i, a)
        if (!strcmp(json_string_value(json_object_get(a, "name")), name))
            return a;
    return NULL;
}

void scim_discovery_test(bool verbose)
{
    (void) verbose;
    const char *base = "https://sso.example.com/scim/v2/dir_1";
    json_t *spc = scim_discovery_get("ServiceProviderConfig", base);
    SSO_CHECK(spc && json_is_true(json_object_get(json_object_get(spc, "patch"), "supported"))
              && json_is_false(json_object_get(json_object_get(spc, "bulk"), "supported"))
              && json_is_true(json_object_get(json_object_get(spc, "etag"), "supported"))
              && json_is_true(json_object_get(json_object_get(spc, "sort"), "supported"))
              && json_is_false(
                  json_object_get(json_object_get(spc, "changePassword"), "supported"))
              && json_integer_value(json_object_get(json_object_get(spc, "filter"),
                                                    "maxResults")) == SCIM_LIST_MAX);
    SSO_CHECK(!strcmp(json_string_value(json_object_get(json_object_get(spc, "meta"),
                                                        "location")),
                      "https://sso.example.com/scim/v2/dir_1/ServiceProviderConfig"));
    json_decref(spc);
    json_t *types = scim_discovery_get("ResourceTypes", base);
    SSO_CHECK(json_integer_value(json_object_get(types, "totalResults")) == 2);
    json_t *user = json_array_get(json_object_get(types, "Resources"), 0);
    json_t *listed_group = json_array_get(json_object_get(types, "Resources"), 1);
    SSO_CHECK(!strcmp(json_string_value(json_object_get(listed_group, "endpoint")), "/Groups")
              && !strcmp(json_string_value(json_object_get(listed_group, "schema")),
                         SCIM_GROUP_URN)
              && !json_object_get(listed_group, "schemaExtensions"));
    SSO_CHECK(!strcmp(json_string_value(json_object_get(user, "endpoint")), "/Users")
              && !strcmp(json_string_value(json_object_get(
                             json_array_get(json_object_get(user, "schemaExtensions"), 0),
                             "schema")),
                         SCIM_ENTERPRISE_URN));
    json_decref(types);
    json_t *group_type = scim_discovery_get("ResourceTypes/Group", base);
    SSO_CHECK(group_type && !strcmp(json_string_value(json_object_get(group_type, "id")), "Group")
              && !strcmp(json_string_value(json_object_get(json_object_get(group_type, "meta"),
                                                           "location")),
                         "https://sso.example.com/scim/v2/dir_1/ResourceTypes/Group"));
    json_decref(group_type);
    SSO_CHECK(scim_discovery_get("ResourceTypes/Nothing", base) == NULL);
    json_t *schemas = scim_discovery_get("Schemas", base);
    SSO_CHECK(json_integer_value(json_object_get(schemas, "totalResults")) == 3);
    json_decref(schemas);
    /* The User schema: userName required and unique, emails multi-valued with canonical
       types, groups read-only, every multi-valued attribute of RFC 7643 4.1.2 that the
       service keeps (photos' value an external reference); found by its URN in any case. */
    json_t *schema = scim_discovery_get("Schemas/urn:ietf:params:scim:schemas:core:2.0:user",
                                        base);
    json_t *attrs = json_object_get(schema, "attributes");
    json_t *user_name = s_find(attrs, "userName"), *emails = s_find(attrs, "emails");
    SSO_CHECK(json_is_true(json_object_get(user_name, "required"))
              && !strcmp(json_string_value(json_object_get(user_name, "uniqueness")), "server")
              && json_is_true(json_object_get(emails, "multiValued"))
              && json_array_size(json_object_get(
                     s_find(json_object_get(emails, "subAttributes"), "type"),
                     "canonicalValues")) == 3
              && !strcmp(json_string_value(json_object_get(s_find(attrs, "groups"),
                                                           "mutability")),
                         "readOnly"));
    const char *const kept[] = {"emails", "phoneNumbers", "ims", "photos", "addresses",
                                "entitlements", "roles", "x509Certificates"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        SSO_CHECK(json_is_true(json_object_get(s_find(attrs, kept[i]), "multiValued")));
    json_t *photo = s_find(json_object_get(s_find(attrs, "photos"), "subAttributes"), "value");
    SSO_CHECK(!strcmp(json_string_value(json_array_get(json_object_get(photo, "referenceTypes"),
                                                       0)),
                      "external"));
    json_decref(schema);
    schema = scim_discovery_get("Schemas/" SCIM_ENTERPRISE_URN, base);
    SSO_CHECK(s_find(json_object_get(schema, "attributes"), "manager") != NULL);
    json_decref(schema);
    SSO_CHECK(!scim_discovery_get("Schemas/urn:x", base) && !scim_discovery_get("Schemas/", base)
              && !scim_discovery_get("ResourceTypes/Device", base)
              && !scim_discovery_get("serviceproviderconfig", base));
    /* A body against the schemas: names in any case take the schema's spelling, a null is
       unassigned, Entra's string booleans become booleans, the extension is checked too. */
    const char *scim_type = NULL;
    char why[256] = "";
    json_t *body = json_loads(
        "{\"schemas\":[\"x\"],\"ID\":\"i\",\"USERNAME\":\"u\",\"nickName\":null,"
        "\"externalid\":\"e\",\"emails\":[{\"Value\":\"a@x\",\"primary\":\"True\","
        "\"display\":null}],\"ims\":[{\"value\":\"a\",\"type\":\"xmpp\"}],"
        "\"URN:ietf:params:scim:schemas:extension:enterprise:2.0:User\":{\"Manager\":{\"value\":"
        "\"m\"}}}",
        0, NULL);
    SSO_CHECK(scim_discovery_check(SCIM_USER_URN, body, &scim_type, why, sizeof why) == 0);
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    SSO_CHECK(text && !strcmp(text, "{\"ID\":\"i\",\"emails\":[{\"primary\":true,\"value\":"
                                    "\"a@x\"}],\"externalId\":\"e\",\"ims\":[{\"type\":"
                                    "\"xmpp\",\"value\":\"a\"}],\"schemas\":[\"x\"],"
                                    "\"" SCIM_ENTERPRISE_URN "\":{\"manager\":{\"value\":"
                                    "\"m\"}},\"userName\":\"u\"}"));
    free(text);
    json_decref(body);
    /* Refused, the body left as it was: each with its scimType. */
    static const struct {
        const char *urn, *body, *type;
    } bad[] = {
        {SCIM_USER_URN, "{\"shoeSize\":9}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"name\":{\"nick\":\"x\"}}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"emails\":[{\"value\":\"x\",\"weird\":1}]}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"" SCIM_ENTERPRISE_URN "\":{\"shoe\":1}}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"title\":\"a\",\"TITLE\":\"b\"}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"urn:x:y:attr\":1}", "invalidSyntax"},
        {SCIM_USER_URN, "{\"title\":[\"a\"]}", "invalidValue"},
        {SCIM_USER_URN, "{\"name\":\"str\"}", "invalidValue"},
        {SCIM_USER_URN, "{\"emails\":{\"value\":\"x\"}}", "invalidValue"},
        {SCIM_USER_URN, "{\"emails\":[\"x\"]}", "invalidValue"},
        {SCIM_USER_URN, "{\"emails\":[null]}", "invalidValue"},
        {SCIM_USER_URN, "{\"emails\":[{\"primary\":\"yes\"}]}", "invalidValue"},
        {SCIM_USER_URN, "{\"active\":1}", "invalidValue"},
        {SCIM_USER_URN, "{\"externalId\":7}", "invalidValue"},
        {SCIM_USER_URN, "{\"" SCIM_ENTERPRISE_URN "\":\"x\"}", "invalidValue"},
        {SCIM_USER_URN, "{\"" SCIM_ENTERPRISE_URN "\":{\"manager\":\"m\"}}", "invalidValue"},
        {SCIM_GROUP_URN, "{\"" SCIM_ENTERPRISE_URN "\":{}}", "invalidSyntax"},
        {SCIM_GROUP_URN, "{\"members\":[{\"value\":1}]}", "invalidValue"},
        {"urn:x", "{}", "invalidSyntax"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        body = json_loads(bad[i].body, 0, NULL);
        char *before = json_dumps(body, JSON_COMPACT);
        scim_type = NULL;
        int rc = scim_discovery_check(bad[i].urn, body, &scim_type, why, sizeof why);
        char *after = json_dumps(body, JSON_COMPACT);
        if (rc == 0 || !scim_type || strcmp(scim_type, bad[i].type) != 0)
            fprintf(stderr, "check case %zu: %d %s (%s)\n", i, rc, scim_type ? scim_type : "-",
                    why);
        SSO_CHECK(rc == -1 && scim_type && !strcmp(scim_type, bad[i].type) && *why && before
                  && after && !strcmp(before, after));
        free(before);
        free(after);
        json_decref(body);
    }
    SSO_CHECK(scim_discovery_owns("Schemas") && scim_discovery_owns("ResourceTypes/X")
              && !scim_discovery_owns("SchemasX") && !scim_discovery_owns("Users"));
}
