#include "scim_path.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _scim_path_t {
    scim_attr_t attr;       /* urn, name; sub when the path is attr.sub */
    char *sub;              /* the sub-attribute after the brackets */
    scim_filter_t *filter;  /* the brackets' value filter, or NULL */
};

void scim_path_destroy(scim_path_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scim_path_t *self = *self_p;
    scim_attr_free(&self->attr);
    free(self->sub);
    scim_filter_destroy(&self->filter);
    free(self);
    *self_p = NULL;
}

static bool s_is_path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_' || c == '$' || c == ':' || c == '.';
}

scim_path_t *scim_path_parse(const char *text, size_t len, char *why, size_t why_size)
{
    char got[48];
    if (!text || len == 0) {
        snprintf(why, why_size, "path: the path is empty");
        return NULL;
    }
    if (len > SCIM_FILTER_TEXT_MAX) {
        snprintf(why, why_size, "path: the path is longer than %d bytes", SCIM_FILTER_TEXT_MAX);
        return NULL;
    }
    size_t end = 0;
    while (end < len && s_is_path_char(text[end]))
        end++;
    if (end == 0) {
        snprintf(why, why_size, "path: at 1: expected an attribute, got %s",
                 scim_filter_got(text, len, 0, "path", got, sizeof got));
        return NULL;
    }
    scim_path_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "path: out of memory");
        return NULL;
    }
    if (scim_attr_parse(text, 0, end, "path", &self->attr, why, why_size) != 0) {
        free(self);
        return NULL;
    }
    size_t pos = end;
    if (pos < len && text[pos] == '[') {
        if (self->attr.sub) {
            snprintf(why, why_size,
                     "path: at %zu: a value filter follows an attribute, not a sub-attribute",
                     pos + 1);
            scim_path_destroy(&self);
            return NULL;
        }
        pos++;
        self->filter = scim_filter_parse_bracket(text, len, &pos, why, why_size);
        if (!self->filter) {
            scim_path_destroy(&self);
            return NULL;
        }
        if (pos < len && text[pos] == '.') {
            size_t sub = ++pos;
            while (pos < len && s_is_path_char(text[pos]) && text[pos] != '.' && text[pos] != ':')
                pos++;
            if (!scim_attr_name_valid(text + sub, pos - sub)) {
                snprintf(why, why_size,
                         "path: at %zu: expected a sub-attribute name after '].', got %s",
                         sub + 1, scim_filter_got(text, len, sub, "path", got, sizeof got));
                scim_path_destroy(&self);
                return NULL;
            }
            self->sub = strndup(text + sub, pos - sub);
            if (!self->sub) {
                snprintf(why, why_size, "path: out of memory");
                scim_path_destroy(&self);
                return NULL;
            }
        }
    }
    if (pos < len) {
        snprintf(why, why_size, "path: at %zu: expected %s the end of the path, got %s",
                 pos + 1, self->filter ? "'.sub' or" : "'[', '.sub' or",
                 scim_filter_got(text, len, pos, "path", got, sizeof got));
        scim_path_destroy(&self);
        return NULL;
    }
    return self;
}

const char *scim_path_urn(const scim_path_t *self)
{
    return self->attr.urn;
}

const char *scim_path_attr(const scim_path_t *self)
{
    return self->attr.name;
}

const char *scim_path_sub(const scim_path_t *self)
{
    return self->filter ? self->sub : self->attr.sub;
}

const scim_filter_t *scim_path_filter(const scim_path_t *self)
{
    return self->filter;
}

static int s_push(scim_path_targets_t *targets, size_t *capacity, json_t *owner,
                  const char *key, size_t index, json_t *value)
{
    if (targets->count == *capacity) {
        size_t more = *capacity ? *capacity * 2 : 8;
        scim_path_target_t *items = realloc(targets->items, more * sizeof *items);
        if (!items)
            return -1;
        targets->items = items;
        *capacity = more;
    }
    targets->items[targets->count++] = (scim_path_target_t) {owner, key, index, value};
    return 0;
}

/* The sub-attribute in one object: its member (as spelled there) or the path's name. */
static int s_push_sub(scim_path_targets_t *targets, size_t *capacity, json_t *object,
                      const char *sub)
{
    const char *key = sub;
    json_t *value = scim_json_get(object, sub, &key);
    return s_push(targets, capacity, object, key, 0, value);
}

int scim_path_select(const scim_path_t *self, json_t *resource, scim_path_targets_t *targets)
{
    targets->items = NULL;
    targets->count = 0;
    size_t capacity = 0;
    const char *sub = scim_path_sub(self);
    json_t *container = scim_attr_container(&self->attr, resource);
    if (!container)
        return self->filter || sub ? 0 : s_push(targets, &capacity, NULL, self->attr.name, 0,
                                                NULL);
    const char *key = self->attr.name;
    json_t *value = scim_json_get(container, self->attr.name, &key);
    int rc = 0;
    if (!self->filter && !sub)
        rc = s_push(targets, &capacity, container, key, 0, value);
    else if (!self->filter) {
        if (json_is_object(value))
            rc = s_push_sub(targets, &capacity, value, sub);
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
            if (rc == 0 && json_is_object(item))
                rc = s_push_sub(targets, &capacity, item, sub);
    }
    else {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
            if (rc == 0 && scim_filter_match_element(self->filter, self->attr.name, item))
                rc = sub ? s_push_sub(targets, &capacity, item, sub)
                         : s_push(targets, &capacity, value, NULL, i, item);
    }
    if (rc != 0)
        scim_path_targets_free(targets);
    return rc;
}

void scim_path_targets_free(scim_path_targets_t *targets)
{
    free(targets->items);
    targets->items = NULL;
    targets->count = 0;
}

/* ---- self-test --------------------------------------------------------------------------- */

static bool s_refused(const char *text, const char *reason)
{
    char why[256] = "";
    scim_path_t *path = scim_path_parse(text, text ? strlen(text) : 0, why, sizeof why);
    bool refused = !path && strcmp(why, reason) == 0;
    if (!refused)
        fprintf(stderr, "  %.60s: want \"%s\", got \"%s\"\n", text ? text : "(null)", reason,
                path ? "(parsed)" : why);
    scim_path_destroy(&path);
    return refused;
}

/* The path's parts joined "urn|attr|sub|filter?" for a compact check. */
static bool s_parts(const char *text, const char *want)
{
    char why[256], parts[512];
    scim_path_t *path = scim_path_parse(text, strlen(text), why, sizeof why);
    if (!path) {
        fprintf(stderr, "  %s: %s\n", text, why);
        return false;
    }
    snprintf(parts, sizeof parts, "%s|%s|%s|%s", scim_path_urn(path) ? scim_path_urn(path) : "",
             scim_path_attr(path), scim_path_sub(path) ? scim_path_sub(path) : "",
             scim_path_filter(path) ? "filter" : "");
    scim_path_destroy(&path);
    if (strcmp(parts, want) != 0)
        fprintf(stderr, "  %s: want %s, got %s\n", text, want, parts);
    return strcmp(parts, want) == 0;
}

/* Selects text in resource; the targets' values as compact JSON in out, one per line, with
   "-" for an absent value. */
static scim_path_t *s_path; /* the last s_select's: an absent target's key is its name */

static int s_select(const char *text, json_t *resource, scim_path_targets_t *targets,
                    char *out, size_t size)
{
    char why[256];
    scim_path_destroy(&s_path);
    s_path = scim_path_parse(text, strlen(text), why, sizeof why);
    out[0] = '\0';
    if (!s_path || scim_path_select(s_path, resource, targets) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < targets->count && n < size; i++) {
        char *json = targets->items[i].value
                         ? json_dumps(targets->items[i].value, JSON_COMPACT | JSON_ENCODE_ANY)
                         : NULL;
        n += (size_t) snprintf(out + n, size - n, "%s%s", i ? "\n" : "", json ? json : "-");
        free(json);
    }
    return 0;
}

void scim_path_test(bool verbose)
{
    (void) verbose;
    /* the forms of RFC 7644 3.5.2, and what Okta and Entra send */
    SSO_CHECK(s_parts("userName", "|userName||"));
    SSO_CHECK(s_parts("name.familyName", "|name|familyName|"));
    SSO_CHECK(s_parts("members", "|members||"));
    SSO_CHECK(s_parts("members[value eq \"2819c223\"]", "|members||filter"));
    SSO_CHECK(s_parts("emails[type eq \"work\"].value", "|emails|value|filter"));
    SSO_CHECK(s_parts("addresses[type eq \"work\" and primary eq true].streetAddress",
                      "|addresses|streetAddress|filter"));
    SSO_CHECK(s_parts("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User|manager||"));
    SSO_CHECK(s_parts("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User|manager|value|"));
    SSO_CHECK(s_parts("urn:ietf:params:scim:schemas:core:2.0:User:emails[primary eq true].value",
                      "urn:ietf:params:scim:schemas:core:2.0:User|emails|value|filter"));
    SSO_CHECK(s_parts("members[value eq \"a\"].$ref", "|members|$ref|filter"));

    /* refusals, each with its reason */
    SSO_CHECK(s_refused("", "path: the path is empty"));
    SSO_CHECK(s_refused(NULL, "path: the path is empty"));
    SSO_CHECK(s_refused(" userName", "path: at 1: expected an attribute, got ' '"));
    SSO_CHECK(s_refused("userName ", "path: at 9: expected '[', '.sub' or the end of the path, "
                                     "got ' '"));
    SSO_CHECK(s_refused("a.b.c", "path: at 1: 'a.b.c' is not an attribute path (name, name.sub "
                                 "or a schema URN then ':name')"));
    SSO_CHECK(s_refused("emails[type eq \"work\"", "path: at 22: expected 'and', 'or' or ']', "
                                                  "got the end of the path"));
    SSO_CHECK(s_refused("emails[type eqq \"work\"]", "path: at 13: expected a comparison "
                        "operator (eq ne co sw ew gt ge lt le pr), got 'eqq'"));
    SSO_CHECK(s_refused("emails[]", "path: at 8: expected an attribute, '(' or 'not (', got ']'"));
    SSO_CHECK(s_refused("emails[type pr].", "path: at 17: expected a sub-attribute name after "
                                            "'].', got the end of the path"));
    SSO_CHECK(s_refused("emails[type pr].value.x", "path: at 22: expected '.sub' or the end of "
                                                   "the path, got '.x'"));
    SSO_CHECK(s_refused("emails[type pr]x", "path: at 16: expected '.sub' or the end of the "
                                            "path, got 'x'"));
    SSO_CHECK(s_refused("emails.value[type pr]", "path: at 13: a value filter follows an "
                                                 "attribute, not a sub-attribute"));
    SSO_CHECK(s_refused("emails[value[x pr]]", "path: at 13: a value filter cannot hold another "
                                               "'['"));
    SSO_CHECK(s_refused("emails[type eq \"a\\q\"]", "path: at 18: bad escape '\\q' in a string "
                        "(\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u and 4 hex digits)"));
    /* the filter's limits hold in a path too: depth counts the bracket */
    char deep[1100] = "members[";
    for (int i = 0; i < 1000; i++)
        deep[8 + i] = '(';
    memcpy(deep + 1008, "value pr", 9);
    SSO_CHECK(s_refused(deep, "path: at 40: nested deeper than 32 levels"));
    size_t huge = 1 << 20;
    char *big = malloc(huge + 1);
    SSO_CHECK(big != NULL);
    if (big) {
        memset(big, 'a', huge);
        big[huge] = '\0';
        SSO_CHECK(s_refused(big, "path: the path is longer than 4096 bytes"));
        free(big);
    }

    /* selecting */
    json_t *user = json_loads(
        "{\"userName\":\"bjensen\",\"name\":{\"familyName\":\"Jensen\"},"
        "\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\"},"
        "{\"value\":\"b@jensen.org\",\"type\":\"home\"},{\"Type\":\"WORK\"}],"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
        "{\"manager\":{\"value\":\"26118915\"}}}", 0, NULL);
    SSO_CHECK(user != NULL);
    scim_path_targets_t targets;
    char out[512];
    SSO_CHECK(s_select("USERNAME", user, &targets, out, sizeof out) == 0
              && strcmp(out, "\"bjensen\"") == 0 && targets.items[0].owner == user
              && strcmp(targets.items[0].key, "userName") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("title", user, &targets, out, sizeof out) == 0 && strcmp(out, "-") == 0
              && targets.count == 1 && targets.items[0].owner == user
              && strcmp(targets.items[0].key, "title") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("name.familyName", user, &targets, out, sizeof out) == 0
              && strcmp(out, "\"Jensen\"") == 0
              && targets.items[0].owner == json_object_get(user, "name"));
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("name.givenName", user, &targets, out, sizeof out) == 0
              && strcmp(out, "-") == 0 && strcmp(targets.items[0].key, "givenName") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("nickName.x", user, &targets, out, sizeof out) == 0 && targets.count == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("emails.type", user, &targets, out, sizeof out) == 0
              && strcmp(out, "\"work\"\n\"home\"\n\"WORK\"") == 0
              && strcmp(targets.items[2].key, "Type") == 0);
    scim_path_targets_free(&targets);
    /* the filter's case rules: type is not caseExact, so "WORK" is a work address too */
    json_t *emails = json_object_get(user, "emails");
    SSO_CHECK(s_select("emails[type eq \"work\"]", user, &targets, out, sizeof out) == 0
              && targets.count == 2 && targets.items[0].owner == emails
              && !targets.items[0].key && targets.items[0].index == 0
              && targets.items[1].index == 2);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("emails[type eq \"work\"].value", user, &targets, out, sizeof out) == 0
              && strcmp(out, "\"b@example.com\"\n-") == 0
              && targets.items[1].owner == json_array_get(emails, 2)
              && strcmp(targets.items[1].key, "value") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("emails[type eq \"other\"]", user, &targets, out, sizeof out) == 0
              && targets.count == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("phoneNumbers[type eq \"work\"]", user, &targets, out, sizeof out) == 0
              && targets.count == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                       user, &targets, out, sizeof out) == 0 && strcmp(out, "\"26118915\"") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", user,
                       &targets, out, sizeof out) == 0 && strcmp(out, "\"Jensen\"") == 0);
    scim_path_targets_free(&targets);
    /* an absent extension object: `attr` alone, with no owner, for the engine to create */
    SSO_CHECK(s_select("urn:example:ext:costCenter", user, &targets, out, sizeof out) == 0
              && targets.count == 1 && !targets.items[0].owner && !targets.items[0].value
              && strcmp(targets.items[0].key, "costCenter") == 0);
    scim_path_targets_free(&targets);
    SSO_CHECK(s_select("urn:example:ext:manager.value", user, &targets, out, sizeof out) == 0
              && targets.count == 0);
    scim_path_targets_free(&targets);

    /* a group's members: remove the selected ones from the highest index down */
    json_t *group = json_pack("{s:[{s:s},{s:s},{s:s},{s:s}]}", "members", "value", "a", "value",
                              "b", "value", "a", "value", "c");
    char why[256];
    const char *members_a_c = "members[value eq \"a\" or value eq \"c\"]";
    scim_path_t *path = scim_path_parse(members_a_c, strlen(members_a_c), why, sizeof why);
    SSO_CHECK(path && scim_path_select(path, group, &targets) == 0 && targets.count == 3);
    for (size_t i = targets.count; path && i-- > 0;)
        json_array_remove(targets.items[i].owner, targets.items[i].index);
    char *left = json_dumps(group, JSON_COMPACT);
    SSO_CHECK(left && strcmp(left, "{\"members\":[{\"value\":\"b\"}]}") == 0);
    free(left);
    scim_path_targets_free(&targets);
    scim_path_destroy(&path);
    scim_path_destroy(&path);
    scim_path_destroy(&s_path);
    json_decref(group);
    json_decref(user);
}
