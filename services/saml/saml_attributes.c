/* saml_attributes: attribute names to the normalized profile. */
#include "saml_attributes.h"
#include "saml_xml.h"
#include "sso_upstream.h"
#include <jansson.h>
#include "sso_test.h"
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_CLAIMS "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
/* Entra ID's ".../claims/name" carries the user principal name, not a display name, so it is
   used for `name` only when neither a display name nor given + family names came. */
#define S_ENTRA_NAME S_CLAIMS "name"

static const char *const s_default_email[] = {
    "email", "mail", "emailAddress", "email_address", "User.Email", S_CLAIMS "emailaddress",
    "http://schemas.xmlsoap.org/claims/EmailAddress", "urn:oid:0.9.2342.19200300.100.1.3", NULL};
static const char *const s_default_given[] = {
    "firstName", "first_name", "givenName", "given_name", "User.FirstName",
    S_CLAIMS "givenname", "urn:oid:2.5.4.42", NULL};
static const char *const s_default_family[] = {
    "lastName", "last_name", "surname", "surName", "sn", "familyName", "family_name",
    "User.LastName", S_CLAIMS "surname", "urn:oid:2.5.4.4", NULL};
static const char *const s_default_name[] = {
    "name", "displayName", "display_name", "fullName", "full_name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241", "urn:oid:2.5.4.3", NULL};
static const char *const s_default_groups[] = {
    "groups", "memberOf", "member_of", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "http://schemas.xmlsoap.org/claims/Group", "urn:oid:1.3.6.1.4.1.5923.1.5.1.1", NULL};
/* Entra ID sends this link (to the Graph API) instead of the groups when a user is in more
   than 150 (learn.microsoft.com/entra/identity-platform/reference-saml-tokens, "Groups
   overage claim"). */
#define S_ENTRA_GROUPS_LINK "http://schemas.microsoft.com/claims/groupslink"
static const char *const *const s_defaults[SAML_FIELD_COUNT] = {
    s_default_email, s_default_given, s_default_family, s_default_name, s_default_groups};

#define S_MAX_PREFERRED 8

struct saml_attribute_map_t {
    char *preferred[SAML_FIELD_COUNT][S_MAX_PREFERRED];
    size_t n_preferred[SAML_FIELD_COUNT];
};

saml_profile_t *saml_profile_new(void)
{
    return calloc(1, sizeof(saml_profile_t));
}

void saml_profile_destroy(saml_profile_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_profile_t *self = *self_p;
    free(self->subject);
    free(self->name_id_format);
    free(self->email);
    free(self->given_name);
    free(self->family_name);
    free(self->name);
    for (size_t i = 0; i < self->n_groups; i++)
        free(self->groups[i]);
    free(self->groups);
    free(self->session_index);
    free(self->assertion_id);
    free(self->raw_json);
    free(self->warning);
    free(self);
    *self_p = NULL;
}

/* Appends "key=value;" to a growing buffer. */
static int s_append(char **buf, size_t *len, size_t *cap, const char *key, const char *value)
{
    size_t need = strlen(key) + strlen(value) + 3;
    if (*len + need >= *cap) {
        size_t cap2 = (*cap + need) * 2;
        char *grown = realloc(*buf, cap2);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = cap2;
    }
    int n = snprintf(*buf + *len, *cap - *len, "%s=%s;", key, value);
    if (n < 0)
        return -1;
    *len += (size_t) n;
    return 0;
}

char *saml_profile_summary(const saml_profile_t *self)
{
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    char issue[32], authn[32], until[32];
    saml_time_format(self->issue_instant, issue, sizeof issue);
    saml_time_format(self->authn_instant, authn, sizeof authn);
    saml_time_format(self->not_on_or_after, until, sizeof until);
    int rc = s_append(&buf, &len, &cap, "subject", self->subject ? self->subject : "")
             | s_append(&buf, &len, &cap, "format", self->name_id_format ? self->name_id_format : "")
             | s_append(&buf, &len, &cap, "email", self->email ? self->email : "")
             | s_append(&buf, &len, &cap, "given_name", self->given_name ? self->given_name : "")
             | s_append(&buf, &len, &cap, "family_name", self->family_name ? self->family_name : "")
             | s_append(&buf, &len, &cap, "name", self->name ? self->name : "");
    for (size_t i = 0; i < self->n_groups; i++)
        rc |= s_append(&buf, &len, &cap, "group", self->groups[i]);
    if (self->warning)
        rc |= s_append(&buf, &len, &cap, "warning", self->warning);
    rc |= s_append(&buf, &len, &cap, "session_index", self->session_index ? self->session_index : "")
          | s_append(&buf, &len, &cap, "assertion_id", self->assertion_id ? self->assertion_id : "")
          | s_append(&buf, &len, &cap, "issue_instant", issue)
          | s_append(&buf, &len, &cap, "authn_instant", authn)
          | s_append(&buf, &len, &cap, "not_on_or_after", until);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

saml_attribute_map_t *saml_attribute_map_new(void)
{
    return calloc(1, sizeof(saml_attribute_map_t));
}

void saml_attribute_map_destroy(saml_attribute_map_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_attribute_map_t *self = *self_p;
    for (int f = 0; f < SAML_FIELD_COUNT; f++)
        for (size_t i = 0; i < self->n_preferred[f]; i++)
            free(self->preferred[f][i]);
    free(self);
    *self_p = NULL;
}

int saml_field_of(const char *api_name, saml_field_t *out)
{
    static const char *const names[SAML_FIELD_COUNT] = {"email", "given_name", "family_name",
                                                        "name", "groups"};
    for (int f = 0; api_name && f < SAML_FIELD_COUNT; f++)
        if (!strcmp(api_name, names[f])) {
            *out = (saml_field_t) f;
            return 0;
        }
    return -1;
}

int saml_attribute_map_set(saml_attribute_map_t *self, saml_field_t field,
                           const char *attribute_name)
{
    if (!self || field >= SAML_FIELD_COUNT || !attribute_name || !*attribute_name
        || strlen(attribute_name) > 256 || self->n_preferred[field] == S_MAX_PREFERRED)
        return -1;
    char *copy = strdup(attribute_name);
    if (!copy)
        return -1;
    self->preferred[field][self->n_preferred[field]++] = copy;
    return 0;
}

/* Attribute names are compared case-insensitively: IdP admins type "Email" or "email" and
   mean the same thing; no two standard names differ only by case. */
static bool s_name_matches(xmlNodePtr attribute, const char *wanted)
{
    xmlChar *name = xmlGetNoNsProp(attribute, (const xmlChar *) "Name");
    bool match = name && strcasecmp((const char *) name, wanted) == 0;
    xmlFree(name);
    return match;
}

/* Calls back for each non-empty text value of each Attribute named `wanted`; stops early when
   the callback returns non-zero. Values that are not plain text (complex XML) are skipped. */
typedef int (s_value_fn)(const char *value, void *arg);
static int s_each_value(xmlNodePtr assertion, const char *wanted, s_value_fn *fn, void *arg)
{
    for (xmlNodePtr st = assertion->children; st; st = st->next) {
        if (!sso_xml_is(st, SAML_NS_ASSERTION, "AttributeStatement"))
            continue;
        for (xmlNodePtr attr = st->children; attr; attr = attr->next) {
            if (!sso_xml_is(attr, SAML_NS_ASSERTION, "Attribute") || !s_name_matches(attr, wanted))
                continue;
            for (xmlNodePtr v = attr->children; v; v = v->next) {
                if (!sso_xml_is(v, SAML_NS_ASSERTION, "AttributeValue"))
                    continue;
                char *text = NULL;
                if (sso_xml_text(v, &text) != 0)
                    continue;
                int rc = *text ? fn(text, arg) : 0;
                free(text);
                if (rc != 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* As s_each_value, for a candidate name that may be the NameID source (the subject: one
   value), which the mapping names exactly (the directory refuses other '$' names). */
static int s_each_source_value(xmlNodePtr assertion, const saml_profile_t *profile,
                               const char *wanted, s_value_fn *fn, void *arg)
{
    if (strcmp(wanted, SSO_UPSTREAM_NAMEID_SOURCE) != 0)
        return s_each_value(assertion, wanted, fn, arg);
    return profile->subject && *profile->subject ? fn(profile->subject, arg) : 0;
}

static int s_take_first(const char *value, void *arg)
{
    char **out = arg;
    *out = strdup(value);
    return *out ? 1 : -1;
}

typedef struct {
    saml_profile_t *profile;
    bool too_many;
} s_groups_t;

static int s_add_group(const char *value, void *arg)
{
    s_groups_t *ctx = arg;
    saml_profile_t *p = ctx->profile;
    for (size_t i = 0; i < p->n_groups; i++)
        if (strcmp(p->groups[i], value) == 0)
            return 0;
    if (p->n_groups == SAML_MAX_GROUPS) {
        ctx->too_many = true;
        return -1;
    }
    char **grown = realloc(p->groups, (p->n_groups + 1) * sizeof(char *));
    if (!grown)
        return -1;
    p->groups = grown;
    if (!(p->groups[p->n_groups] = strdup(value)))
        return -1;
    p->n_groups++;
    return 0;
}

/* Whether the connection maps field (its names replace the defaults and the fallbacks). */
static bool s_mapped(const saml_attribute_map_t *map, saml_field_t field)
{
    return map && map->n_preferred[field] > 0;
}

/* The candidate names of a field in order: the connection's, else the defaults. */
static const char *s_candidate(const saml_attribute_map_t *map, saml_field_t field, size_t i)
{
    if (s_mapped(map, field))
        return i < map->n_preferred[field] ? map->preferred[field][i] : NULL;
    return s_defaults[field][i];
}

static int s_single(const saml_attribute_map_t *map, xmlNodePtr assertion,
                    const saml_profile_t *profile, saml_field_t field, char **out)
{
    for (size_t i = 0; !*out && s_candidate(map, field, i); i++)
        if (s_each_source_value(assertion, profile, s_candidate(map, field, i), s_take_first,
                                out) < 0)
            return -1;
    return 0;
}

/* The warning for Entra ID's group overage: the login goes on without groups. */
static int s_groups_overage(xmlNodePtr assertion, saml_profile_t *profile)
{
    if (profile->n_groups)
        return 0;
    char *link = NULL;
    if (s_each_value(assertion, S_ENTRA_GROUPS_LINK, s_take_first, &link) < 0)
        return -1;
    if (!link)
        return 0;
    free(link);
    profile->warning = strdup("groups: the IdP sent Entra ID's group overage claim ("
                              S_ENTRA_GROUPS_LINK ": the user is in more groups than an assertion "
                              "carries) instead of the groups; the login has no groups");
    return profile->warning ? 0 : -1;
}

int saml_attributes_raw(xmlNodePtr assertion, saml_profile_t *profile)
{
    json_t *attributes = json_object();
    json_t *raw = json_pack("{s:s?, s:s?, s:o}", "NameID", profile->subject, "NameID Format",
                            profile->name_id_format, "attributes", attributes);
    /* JSON escaping can grow a text six times over. */
    size_t size = 128 + (profile->subject ? strlen(profile->subject) * 6 : 0)
                  + (profile->name_id_format ? strlen(profile->name_id_format) * 6 : 0);
    bool truncated = false;
    for (xmlNodePtr st = assertion->children; raw && st; st = st->next) {
        if (!sso_xml_is(st, SAML_NS_ASSERTION, "AttributeStatement"))
            continue;
        for (xmlNodePtr attr = st->children; attr; attr = attr->next) {
            xmlChar *name = sso_xml_is(attr, SAML_NS_ASSERTION, "Attribute")
                                ? xmlGetProp(attr, BAD_CAST "Name")
                                : NULL;
            size += name ? strlen((const char *) name) * 6 + 8 : 0;
            if (name && size >= SSO_UPSTREAM_RAW_MAX) {
                truncated = true;
                xmlFree(name);
                continue;
            }
            json_t *values = name ? json_object_get(attributes, (const char *) name) : NULL;
            if (name && !values && json_object_set_new(attributes, (const char *) name,
                                                       values = json_array()) != 0)
                values = NULL;
            for (xmlNodePtr v = values ? attr->children : NULL; v; v = v->next) {
                char *text = NULL;
                if (!sso_xml_is(v, SAML_NS_ASSERTION, "AttributeValue")
                    || sso_xml_text(v, &text) != 0)
                    continue;
                size += strlen(text) * 6 + 4;
                if (size < SSO_UPSTREAM_RAW_MAX)
                    json_array_append_new(values, json_string(text));
                else
                    truncated = true;
                free(text);
            }
            xmlFree(name);
        }
    }
    if (raw && truncated)
        json_object_set_new(raw, "truncated", json_true());
    profile->raw_json = sso_upstream_raw_json(raw);
    json_decref(raw);
    return profile->raw_json ? 0 : -1;
}

int saml_attributes_apply(const saml_attribute_map_t *map, xmlNodePtr assertion,
                          saml_profile_t *profile, char *why, size_t why_size)
{
    if (s_single(map, assertion, profile, SAML_FIELD_EMAIL, &profile->email)
        || s_single(map, assertion, profile, SAML_FIELD_GIVEN_NAME, &profile->given_name)
        || s_single(map, assertion, profile, SAML_FIELD_FAMILY_NAME, &profile->family_name)
        || s_single(map, assertion, profile, SAML_FIELD_NAME, &profile->name)) {
        snprintf(why, why_size, "out of memory reading attributes");
        return -1;
    }
    /* Groups come from the first candidate name that has any value, every value of it. */
    s_groups_t groups = {profile, false};
    for (size_t i = 0; profile->n_groups == 0 && s_candidate(map, SAML_FIELD_GROUPS, i); i++)
        if (s_each_source_value(assertion, profile, s_candidate(map, SAML_FIELD_GROUPS, i),
                                s_add_group, &groups)
            < 0) {
            if (groups.too_many)
                snprintf(why, why_size, "attributes: more than %d groups", SAML_MAX_GROUPS);
            else
                snprintf(why, why_size, "out of memory reading groups");
            return -1;
        }
    if (s_groups_overage(assertion, profile) != 0) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    /* DESIGN: the email falls back to an emailAddress NameID, mapped or not (the NameID is
       the IdP's, not an attribute the user may edit). */
    if (!profile->email && profile->subject && profile->name_id_format
        && strcmp(profile->name_id_format, SAML_NAMEID_EMAIL) == 0
        && !(profile->email = strdup(profile->subject))) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (s_mapped(map, SAML_FIELD_NAME))
        return 0;
    if (!profile->name && (profile->given_name || profile->family_name)) {
        const char *g = profile->given_name ? profile->given_name : "";
        const char *f = profile->family_name ? profile->family_name : "";
        size_t size = strlen(g) + strlen(f) + 2;
        if (!(profile->name = malloc(size))) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        snprintf(profile->name, size, "%s%s%s", g, *g && *f ? " " : "", f);
    }
    if (!profile->name && s_each_value(assertion, S_ENTRA_NAME, s_take_first, &profile->name) < 0) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */

static saml_profile_t *s_apply_xml(const saml_attribute_map_t *map, const char *attrs,
                                   const char *subject, const char *format)
{
    size_t size = strlen(attrs) + 200;
    char *xml = malloc(size);
    if (xml)
        snprintf(xml, size,
                 "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">"
                 "<saml:AttributeStatement>%s</saml:AttributeStatement></saml:Assertion>",
                 attrs);
    xmlDocPtr doc = xml ? xmlReadMemory(xml, (int) strlen(xml), "t.xml", NULL, XML_PARSE_NONET)
                        : NULL;
    free(xml);
    saml_profile_t *p = saml_profile_new();
    char why[128];
    if (!doc || !p) {
        xmlFreeDoc(doc);
        saml_profile_destroy(&p);
        return NULL;
    }
    p->subject = strdup(subject);
    p->name_id_format = format ? strdup(format) : NULL;
    if (saml_attributes_apply(map, xmlDocGetRootElement(doc), p, why, sizeof why) != 0
        || saml_attributes_raw(xmlDocGetRootElement(doc), p) != 0)
        saml_profile_destroy(&p);
    xmlFreeDoc(doc);
    return p;
}

#define S_ATTR(name, values) "<saml:Attribute Name=\"" name "\">" values "</saml:Attribute>"
#define S_VAL(v) "<saml:AttributeValue>" v "</saml:AttributeValue>"

static bool s_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

void saml_attributes_test(bool verbose)
{
    (void) verbose;
    /* Okta / OneLogin. */
    saml_profile_t *p = s_apply_xml(NULL,
                                    S_ATTR("email", S_VAL("ann@example.com"))
                                    S_ATTR("firstName", S_VAL("Ann"))
                                    S_ATTR("lastName", S_VAL("Lee"))
                                    S_ATTR("groups", S_VAL("admins") S_VAL("devs") S_VAL("admins")),
                                    "00u1", SAML_NAMEID_UNSPECIFIED);
    SSO_CHECK(p && s_eq(p->email, "ann@example.com") && s_eq(p->given_name, "Ann")
              && s_eq(p->family_name, "Lee") && s_eq(p->name, "Ann Lee") && p->n_groups == 2
              && s_eq(p->groups[0], "admins") && s_eq(p->groups[1], "devs"));
    char *summary = p ? saml_profile_summary(p) : NULL;
    SSO_CHECK(summary && strstr(summary, "subject=00u1;") && strstr(summary, "group=devs;"));
    /* The raw attributes, as sent (every value, duplicates too). */
    SSO_CHECK(p && p->raw_json
              && !strcmp(p->raw_json, "{\"NameID\":\"00u1\",\"NameID Format\":\""
                                      SAML_NAMEID_UNSPECIFIED "\",\"attributes\":{\"email\":"
                                      "[\"ann@example.com\"],\"firstName\":[\"Ann\"],"
                                      "\"lastName\":[\"Lee\"],\"groups\":[\"admins\","
                                      "\"devs\",\"admins\"]}}"));
    /* Attributes past the cap are left out, and the result says so. */
    size_t big_size = 40 * 4100 + 100;
    char *big = malloc(big_size);
    size_t used = big ? (size_t) snprintf(big, big_size, "<saml:Attribute Name=\"blob\">") : 0;
    for (int i = 0; big && i < 40; i++) {
        used += (size_t) snprintf(big + used, big_size - used, "<saml:AttributeValue>");
        memset(big + used, 'x', 4000);
        used += 4000;
        used += (size_t) snprintf(big + used, big_size - used, "</saml:AttributeValue>");
    }
    if (big)
        snprintf(big + used, big_size - used, "</saml:Attribute>");
    saml_profile_t *capped = big ? s_apply_xml(NULL, big, "00u2", NULL) : NULL;
    SSO_CHECK(capped && capped->raw_json && strlen(capped->raw_json) <= SSO_UPSTREAM_RAW_MAX
              && strstr(capped->raw_json, "\"truncated\":true")
              && strstr(capped->raw_json, "\"blob\":[\"xxxx"));
    saml_profile_destroy(&capped);
    free(big);
    free(summary);
    saml_profile_destroy(&p);
    SSO_CHECK(p == NULL);

    /* Entra ID / ADFS: .../name is the UPN and loses to given + family. */
    p = s_apply_xml(NULL,
                    S_ATTR(S_CLAIMS "emailaddress", S_VAL("bo@example.org"))
                    S_ATTR(S_CLAIMS "givenname", S_VAL("Bo"))
                    S_ATTR(S_CLAIMS "surname", S_VAL("Ng"))
                    S_ATTR(S_CLAIMS "name", S_VAL("bo@contoso.onmicrosoft.com"))
                    S_ATTR("http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
                           S_VAL("6f1c")),
                    "xyz", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    SSO_CHECK(p && s_eq(p->email, "bo@example.org") && s_eq(p->name, "Bo Ng") && p->n_groups == 1
              && s_eq(p->groups[0], "6f1c"));
    saml_profile_destroy(&p);
    p = s_apply_xml(NULL, S_ATTR(S_CLAIMS "name", S_VAL("bo@contoso.com")), "xyz", NULL);
    SSO_CHECK(p && s_eq(p->name, "bo@contoso.com") && p->email == NULL);
    saml_profile_destroy(&p);

    /* Google Workspace custom mapping, OIDs, NameID email fallback. */
    p = s_apply_xml(NULL, S_ATTR("first_name", S_VAL(" Cy ")) S_ATTR("last_name", S_VAL("Ro")),
                    "cy@example.com", SAML_NAMEID_EMAIL);
    SSO_CHECK(p && s_eq(p->email, "cy@example.com") && s_eq(p->name, "Cy Ro"));
    saml_profile_destroy(&p);
    p = s_apply_xml(NULL,
                    S_ATTR("urn:oid:0.9.2342.19200300.100.1.3", S_VAL("di@example.com"))
                    S_ATTR("urn:oid:2.5.4.42", S_VAL("Di")) S_ATTR("urn:oid:2.5.4.4", S_VAL("Po")),
                    "cn=di", SAML_NAMEID_UNSPECIFIED);
    SSO_CHECK(p && s_eq(p->email, "di@example.com") && s_eq(p->given_name, "Di")
              && s_eq(p->family_name, "Po"));
    saml_profile_destroy(&p);
    /* No email attribute, NameID not an email format: no email. */
    p = s_apply_xml(NULL, "", "ed@example.com", SAML_NAMEID_UNSPECIFIED);
    SSO_CHECK(p && p->email == NULL && p->name == NULL);
    saml_profile_destroy(&p);
    /* Comments and CDATA do not truncate; complex values are skipped. */
    p = s_apply_xml(NULL,
                    S_ATTR("Email", "<saml:AttributeValue><x/></saml:AttributeValue>"
                                    S_VAL("fi@evil.com<!---->.example.com"))
                    S_ATTR("givenName", S_VAL("<![CDATA[F<i>]]>")),
                    "s", NULL);
    SSO_CHECK(p && s_eq(p->email, "fi@evil.com.example.com") && s_eq(p->given_name, "F<i>"));
    saml_profile_destroy(&p);

    /* A connection's own mapping replaces the defaults of the fields it names. */
    saml_attribute_map_t *map = saml_attribute_map_new();
    saml_field_t field = SAML_FIELD_COUNT;
    SSO_CHECK(saml_field_of("given_name", &field) == 0 && field == SAML_FIELD_GIVEN_NAME);
    SSO_CHECK(saml_field_of("subject", &field) == -1 && saml_field_of(NULL, &field) == -1);
    SSO_CHECK(map && saml_attribute_map_set(map, SAML_FIELD_EMAIL, "corpMail") == 0);
    SSO_CHECK(saml_attribute_map_set(map, SAML_FIELD_COUNT, "x") == -1);
    SSO_CHECK(saml_attribute_map_set(map, SAML_FIELD_NAME, "") == -1);
    p = s_apply_xml(map, S_ATTR("email", S_VAL("a@x.com")) S_ATTR("corpMail", S_VAL("b@x.com"))
                             S_ATTR("givenName", S_VAL("Ann")),
                    "s", NULL);
    SSO_CHECK(p && s_eq(p->email, "b@x.com") && s_eq(p->given_name, "Ann"));
    saml_profile_destroy(&p);
    /* The mapped attribute missing: no default (a user-editable email) stands in for it; an
       emailAddress NameID does (DESIGN), another NameID does not. */
    p = s_apply_xml(map, S_ATTR("email", S_VAL("a@x.com")), "s@x.com", SAML_NAMEID_EMAIL);
    SSO_CHECK(p && s_eq(p->email, "s@x.com"));
    saml_profile_destroy(&p);
    p = s_apply_xml(map, S_ATTR("email", S_VAL("a@x.com")), "s@x.com", NULL);
    SSO_CHECK(p && !p->email);
    saml_profile_destroy(&p);
    /* A mapped name is not built from the given and family names. */
    SSO_CHECK(saml_attribute_map_set(map, SAML_FIELD_NAME, "cn") == 0);
    p = s_apply_xml(map, S_ATTR("givenName", S_VAL("Ann")) S_ATTR("sn", S_VAL("Lee")), "s",
                    NULL);
    SSO_CHECK(p && !p->name && s_eq(p->family_name, "Lee"));
    saml_profile_destroy(&p);
    /* Mapped groups: only that attribute's values. */
    SSO_CHECK(saml_attribute_map_set(map, SAML_FIELD_GROUPS, "teams") == 0);
    p = s_apply_xml(map, S_ATTR("groups", S_VAL("g1")) S_ATTR("teams", S_VAL("t1") S_VAL("t2")),
                    "s", NULL);
    SSO_CHECK(p && p->n_groups == 2 && s_eq(p->groups[0], "t1") && s_eq(p->groups[1], "t2"));
    saml_profile_destroy(&p);
    saml_attribute_map_destroy(&map);
    SSO_CHECK(map == NULL);

    /* Groups: every value of every Attribute of the name (ADFS and PingFederate send one
       Attribute per group), in every AttributeStatement. */
    p = s_apply_xml(NULL,
                    S_ATTR("memberOf", S_VAL("g1")) S_ATTR("memberOf", S_VAL("g2") S_VAL("g1"))
                    "</saml:AttributeStatement><saml:AttributeStatement>"
                    S_ATTR("memberOf", S_VAL("g3")),
                    "s", NULL);
    SSO_CHECK(p && p->n_groups == 3 && s_eq(p->groups[0], "g1") && s_eq(p->groups[1], "g2")
              && s_eq(p->groups[2], "g3") && !p->warning);
    saml_profile_destroy(&p);

    /* A field from the NameID ($nameid): never from an attribute that has that name. */
    map = saml_attribute_map_new();
    SSO_CHECK(map && saml_attribute_map_set(map, SAML_FIELD_NAME, SSO_UPSTREAM_NAMEID_SOURCE) == 0
              && saml_attribute_map_set(map, SAML_FIELD_EMAIL, SSO_UPSTREAM_NAMEID_SOURCE) == 0);
    p = s_apply_xml(map,
                    S_ATTR("$nameid", S_VAL("evil@x.com")) S_ATTR("$NameID", S_VAL("evil@x.com"))
                    S_ATTR("email", S_VAL("a@x.com")) S_ATTR("givenName", S_VAL("Ann")),
                    "jo@x.com", SAML_NAMEID_UNSPECIFIED);
    SSO_CHECK(p && s_eq(p->name, "jo@x.com") && s_eq(p->email, "jo@x.com")
              && s_eq(p->given_name, "Ann"));
    saml_profile_destroy(&p);
    /* An empty NameID gives nothing (the subject check refuses such a login anyway). */
    p = s_apply_xml(map, S_ATTR("email", S_VAL("a@x.com")), "", SAML_NAMEID_UNSPECIFIED);
    SSO_CHECK(p && !p->name && !p->email);
    saml_profile_destroy(&p);
    saml_attribute_map_destroy(&map);

    /* Entra ID's group overage: the link instead of the groups is a warning, not a group. */
    p = s_apply_xml(NULL,
                    S_ATTR(S_ENTRA_GROUPS_LINK,
                           S_VAL("https://graph.windows.net/t/users/u/getMemberObjects"))
                    S_ATTR(S_CLAIMS "emailaddress", S_VAL("bo@example.org")),
                    "xyz", NULL);
    SSO_CHECK(p && p->n_groups == 0 && s_eq(p->email, "bo@example.org") && p->warning
              && strstr(p->warning, "group overage claim (" S_ENTRA_GROUPS_LINK));
    saml_profile_destroy(&p);
    /* Groups that did come: no warning. */
    p = s_apply_xml(NULL,
                    S_ATTR(S_ENTRA_GROUPS_LINK, S_VAL("https://graph.windows.net/x"))
                    S_ATTR("groups", S_VAL("g1")),
                    "xyz", NULL);
    SSO_CHECK(p && p->n_groups == 1 && !p->warning);
    saml_profile_destroy(&p);
}
