/* saml_attributes: maps the attributes of a (verified) SAML assertion to the normalized
   profile, with defaults that understand Okta, OneLogin, Entra ID / ADFS, Google Workspace
   custom mappings and the LDAP/eduPerson OIDs. */
#ifndef SAML_ATTRIBUTES_H
#define SAML_ATTRIBUTES_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SAML_MAX_GROUPS 1000

/* The normalized identity read from one verified assertion. Strings are malloc'd, NULL when
   the IdP did not send the value. */
typedef struct {
    char *subject;          /* NameID value, whatever its format */
    char *name_id_format;   /* NameID/@Format, NULL when absent */
    char *email;
    char *given_name;
    char *family_name;
    char *name;
    char **groups;
    size_t n_groups;
    char *session_index;    /* AuthnStatement/@SessionIndex */
    char *assertion_id;     /* for the replay cache */
    time_t issue_instant;   /* Assertion/@IssueInstant */
    time_t authn_instant;   /* AuthnStatement/@AuthnInstant */
    time_t not_on_or_after; /* how long the replay cache must remember assertion_id */
    /* The NameID and every attribute as the IdP sent them, for a test login's result: JSON
       {"NameID", "NameID Format", "attributes": {name: [values]}}, at most
       SSO_UPSTREAM_RAW_MAX bytes (values past it are left out and "truncated" is true). */
    char *raw_json;
    /* What the event log should know about a login that goes on (Entra ID's group overage
       claim in place of the groups), NULL when nothing. */
    char *warning;
} saml_profile_t;

saml_profile_t *saml_profile_new(void);
void saml_profile_destroy(saml_profile_t **self_p);
/* One-line summary "subject=...;email=...;..." (for logs and the case runner); caller frees. */
char *saml_profile_summary(const saml_profile_t *self);

typedef enum {
    SAML_FIELD_EMAIL,
    SAML_FIELD_GIVEN_NAME,
    SAML_FIELD_FAMILY_NAME,
    SAML_FIELD_NAME,
    SAML_FIELD_GROUPS,
    SAML_FIELD_COUNT
} saml_field_t;

/* Which attribute names feed which profile field. A new map holds the defaults. A field
   given names with saml_attribute_map_set (a connection's attribute_mapping; the name
   SSO_UPSTREAM_NAMEID_SOURCE is the NameID) is read from those names only, in order: not
   from the defaults, and a mapped name not from given + family names, so that an attribute
   the user can edit at the IdP never stands in for the one the connection chose. An
   emailAddress NameID is still the email's fallback (DESIGN). 0, or -1 for a bad field or
   name, or more than 8 names for one field. */
typedef struct saml_attribute_map_t saml_attribute_map_t;
saml_attribute_map_t *saml_attribute_map_new(void);
void saml_attribute_map_destroy(saml_attribute_map_t **self_p);
int saml_attribute_map_set(saml_attribute_map_t *self, saml_field_t field,
                           const char *attribute_name);
/* The field named by a profile field's API name ("email", "given_name", "family_name",
   "name", "groups"): 0, or -1 for another name. */
int saml_field_of(const char *api_name, saml_field_t *out);

/* Fills email, names and groups of profile from the AttributeStatements that are direct
   children of assertion (map NULL = defaults). profile->subject and name_id_format must
   already be set: the email falls back to the NameID when its format is emailAddress, and
   an unmapped name is built from given + family names when absent. Returns 0, or -1 with why set. */
int saml_attributes_apply(const saml_attribute_map_t *map, xmlNodePtr assertion,
                          saml_profile_t *profile, char *why, size_t why_size);

/* profile->raw_json from the AttributeStatements of assertion, for a test login's result
   (see saml_profile_t; only a test needs it, so a client's login does not pay for it). 0, or
   -1 when out of memory. */
int saml_attributes_raw(xmlNodePtr assertion, saml_profile_t *profile);

void saml_attributes_test(bool verbose);
#endif
