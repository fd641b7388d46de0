/* scim_attrs: attributes and excludedAttributes. */
#include "scim_attrs.h"
#include "scim_filter.h"
#include "sso_test.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The top-level key of resource that an extension's URN alone names (text[start, end)), or
   NULL. */
static const char *s_extension_key(const json_t *resource, const char *text, size_t start,
                                   size_t end)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) resource, key, value)
        if (!strncasecmp(key, "urn:", 4) && strlen(key) == end - start
            && !strncasecmp(key, text + start, end - start) && json_is_object(value))
            return key;
    return NULL;
}

/* The object under key in object, made when absent. */
static json_t *s_object_at(json_t *object, const char *key)
{
    json_t *child = json_object_get(object, key);
    if (!json_is_object(child)) {
        child = json_object();
        json_object_set_new(object, key, child);
    }
    return child;
}

/* Copies attr's value of resource into out (attributes). */
static void s_keep(const json_t *resource, const scim_attr_t *attr, json_t *out)
{
    json_t *container = scim_attr_container(attr, resource);
    const char *key = NULL;
    json_t *value = container ? scim_json_get(container, attr->name, &key) : NULL;
    if (!value)
        return;
    json_t *dest = out;
    if (container != resource) { /* an extension's object: the same key in out */
        const char *urn_key = NULL;
        scim_json_get(resource, attr->urn, &urn_key);
        dest = s_object_at(out, urn_key);
    }
    if (!attr->sub) {
        json_object_set_new(dest, key, json_deep_copy(value));
        return;
    }
    const char *sub_key = NULL;
    if (json_is_object(value)) {
        json_t *sub = scim_json_get(value, attr->sub, &sub_key);
        if (sub)
            json_object_set_new(s_object_at(dest, key), sub_key, json_deep_copy(sub));
        return;
    }
    if (!json_is_array(value))
        return;
    /* A multi-valued attribute: each element keeps the sub-attributes asked for, so
       emails.value and emails.type together give [{value, type}, ...]. */
    json_t *elements = json_object_get(dest, key);
    if (json_array_size(elements) != json_array_size(value)) {
        elements = json_array();
        for (size_t i = 0; i < json_array_size(value); i++)
            json_array_append_new(elements, json_object());
        json_object_set_new(dest, key, elements);
    }
    size_t i;
    json_t *element;
    json_array_foreach(value, i, element) {
        json_t *sub = json_is_object(element) ? scim_json_get(element, attr->sub, &sub_key)
                                              : NULL;
        if (sub && json_is_object(json_array_get(elements, i)))
            json_object_set_new(json_array_get(elements, i), sub_key, json_deep_copy(sub));
    }
}

/* Removes attr's value from resource (excludedAttributes); never id or schemas. */
static void s_drop(json_t *resource, const scim_attr_t *attr)
{
    json_t *container = scim_attr_container(attr, resource);
    const char *key = NULL;
    json_t *value = container ? scim_json_get(container, attr->name, &key) : NULL;
    if (!value)
        return;
    if (container == resource && (!strcasecmp(key, "id") || !strcasecmp(key, "schemas")))
        return;
    if (!attr->sub) {
        json_object_del(container, key);
        return;
    }
    const char *sub_key = NULL;
    if (json_is_object(value) && scim_json_get(value, attr->sub, &sub_key))
        json_object_del(value, sub_key);
    size_t i;
    json_t *element;
    json_array_foreach(value, i, element)
        if (json_is_object(element) && scim_json_get(element, attr->sub, &sub_key))
            json_object_del(element, sub_key);
}

int scim_attrs_apply(json_t *resource, const char *attributes, const char *excluded, char *why,
                     size_t why_size)
{
    bool keep = attributes && *attributes;
    const char *list = keep ? attributes : excluded;
    if (!list || !*list)
        return 0;
    size_t len = strlen(list);
    if (len > SCIM_ATTRS_TEXT_MAX) {
        snprintf(why, why_size, "%s: at most %d bytes", keep ? "attributes" : "excludedAttributes",
                 SCIM_ATTRS_TEXT_MAX);
        return -1;
    }
    json_t *out = keep ? json_object() : NULL;
    if (keep) {
        const char *always[] = {"schemas", "id", "meta"};
        for (size_t i = 0; i < sizeof always / sizeof *always; i++)
            if (json_object_get(resource, always[i]))
                json_object_set(out, always[i], json_object_get(resource, always[i]));
    }
    int rc = 0;
    for (size_t start = 0; rc == 0 && start <= len;) {
        size_t end = start;
        while (end < len && list[end] != ',')
            end++;
        size_t a = start, b = end;
        while (a < b && list[a] == ' ')
            a++;
        while (b > a && list[b - 1] == ' ')
            b--;
        const char *ext = s_extension_key(resource, list, a, b);
        scim_attr_t attr;
        if (ext && keep)
            json_object_set_new(out, ext, json_deep_copy(json_object_get(resource, ext)));
        else if (ext)
            json_object_del(resource, ext);
        else if (scim_attr_parse(list, a, b, keep ? "attributes" : "excludedAttributes", &attr,
                                 why, why_size) != 0)
            rc = -1;
        else {
            if (keep)
                s_keep(resource, &attr, out);
            else
                s_drop(resource, &attr);
            scim_attr_free(&attr);
        }
        start = end + 1;
    }
    if (keep && rc == 0 && (json_object_clear(resource) != 0 || json_object_update(resource, out) != 0)) {
        snprintf(why, why_size, "out of memory");
        rc = -1;
    }
    json_decref(out);
    return rc;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* resource (JSON text) after attributes / excluded, compact, into out; "" when refused. */
static void s_apply(const char *resource, const char *attributes, const char *excluded,
                    char *out, size_t size)
{
    json_t *json = json_loads(resource, 0, NULL);
    char why[256];
    char *text = NULL;
    if (json && scim_attrs_apply(json, attributes, excluded, why, sizeof why) == 0)
        text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, size, "%s", text ? text : "");
    free(text);
    json_decref(json);
}

void scim_attrs_test(bool verbose)
{
    (void) verbose;
    const char *user =
        "{\"schemas\":[\"s\"],\"id\":\"u1\",\"userName\":\"jo\",\"active\":true,"
        "\"name\":{\"givenName\":\"Jo\",\"familyName\":\"Doe\"},"
        "\"emails\":[{\"value\":\"a@x\",\"type\":\"work\"},{\"value\":\"b@x\"}],"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
        "{\"department\":\"R\",\"costCenter\":\"9\"},\"meta\":{\"version\":\"W/\\\"1\\\"\"}}";
    char out[1024];
    s_apply(user, "userName", NULL, out, sizeof out);
    SSO_CHECK(!strcmp(out, "{\"id\":\"u1\",\"meta\":{\"version\":\"W/\\\"1\\\"\"},\"schemas\":"
                           "[\"s\"],\"userName\":\"jo\"}"));
    s_apply(user, "USERNAME, name.familyName,emails.value", NULL, out, sizeof out);
    SSO_CHECK(strstr(out, "\"userName\":\"jo\"") && strstr(out, "\"name\":{\"familyName\":\"Doe\"}")
              && strstr(out, "\"emails\":[{\"value\":\"a@x\"},{\"value\":\"b@x\"}]")
              && !strstr(out, "active"));
    s_apply(user, "emails.value,emails.type", NULL, out, sizeof out);
    SSO_CHECK(strstr(out, "[{\"type\":\"work\",\"value\":\"a@x\"},{\"value\":\"b@x\"}]"));
    s_apply(user, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", NULL,
            out, sizeof out);
    SSO_CHECK(strstr(out, "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
                          "{\"department\":\"R\"}"));
    s_apply(user, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", NULL, out,
            sizeof out);
    SSO_CHECK(strstr(out, "\"costCenter\":\"9\"") && !strstr(out, "userName"));
    s_apply(user, "urn:ietf:params:scim:schemas:core:2.0:User:userName,nickName", NULL, out,
            sizeof out);
    SSO_CHECK(strstr(out, "\"userName\":\"jo\"") && !strstr(out, "nickName"));
    /* Excluded: the paths go, id and schemas never. */
    s_apply(user, NULL, "emails,name.givenName,id,schemas,meta", out, sizeof out);
    SSO_CHECK(!strstr(out, "emails") && !strstr(out, "givenName") && strstr(out, "familyName")
              && strstr(out, "\"id\":\"u1\"") && strstr(out, "schemas") && !strstr(out, "meta"));
    s_apply(user, NULL, "emails.type,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            out, sizeof out);
    SSO_CHECK(strstr(out, "[{\"value\":\"a@x\"},{\"value\":\"b@x\"}]") && !strstr(out, "costCenter"));
    /* attributes wins over excludedAttributes; empty lists change nothing. */
    s_apply(user, "active", "active", out, sizeof out);
    SSO_CHECK(strstr(out, "\"active\":true"));
    s_apply(user, "", "", out, sizeof out);
    SSO_CHECK(strstr(out, "costCenter") && strstr(out, "emails"));
    /* Refused: paths that do not parse, a list too long. */
    const char *const bad[] = {"a b", "emails[type eq \"work\"]", ",", "x:y", "urn:x:", NULL};
    for (size_t i = 0; bad[i]; i++) {
        s_apply(user, bad[i], NULL, out, sizeof out);
        SSO_CHECK(!strcmp(out, ""));
        s_apply(user, NULL, bad[i], out, sizeof out);
        SSO_CHECK(!strcmp(out, ""));
    }
    char long_list[SCIM_ATTRS_TEXT_MAX + 2];
    memset(long_list, 'a', sizeof long_list - 1);
    long_list[sizeof long_list - 1] = '\0';
    s_apply(user, long_list, NULL, out, sizeof out);
    SSO_CHECK(!strcmp(out, ""));
}
