/* scim_filter: SCIM filters (RFC 7644 3.4.2.2, `GET /Users?filter=...`) parsed into a tree
   under hard limits, and matched against a resource held as jansson JSON. A refusal says
   where and what was expected ("filter: at 14: expected a comparison operator, got 'eqq'"),
   for a SCIM 400 with scimType invalidFilter.

   Grammar: attrPath op compValue (eq ne co sw ew gt ge lt le), attrPath pr, and (binds
   tighter than or), or, not ( ... ), ( ... ), valuePath attr[valFilter] with an optional
   .sub op compValue after it (the same element must match both: Entra's
   `emails[type eq "work"].value eq "x"`). An attrPath is name, name.sub, or a schema URN then
   ':name[.sub]'. Operators, and/or/not and attribute names are case-insensitive; compValue is
   JSON: a string (escapes decoded; \u0000 refused), a number, true, false or null.

   Matching (RFC 7644 3.4.2.2 and RFC 7643 2): an operator applies to each value of the
   attribute and the filter matches when any value does (so `ne` on an absent attribute is
   false, like every operator but `eq null`, which is true for an unassigned attribute: absent,
   null or []); `pr` is true for a value that is not null, "" or []. Strings compare
   case-insensitively (ASCII) unless the schema says caseExact (id, externalId,
   meta.resourceType, meta.version); dateTime attributes (meta.created, meta.lastModified)
   compare as instants when both sides read as xs:dateTime; gt/ge/lt/le compare numbers as
   numbers and other strings lexicographically; a complex value compared without a
   sub-attribute is compared by its "value" (RFC 7644's `emails co "example.com"`). A core
   schema URN (urn:ietf:params:scim:schemas:core:2.0:...) names a top-level attribute; any
   other URN names the object under that key (the enterprise extension). */
#ifndef SCIM_FILTER_H
#define SCIM_FILTER_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SCIM_FILTER_TEXT_MAX 4096 /* bytes: the longest filter Okta or Entra send is < 300 */
#define SCIM_FILTER_DEPTH_MAX 32  /* nested ( ), not ( ) and [ ] */
#define SCIM_FILTER_NODES_MAX 256 /* comparisons, and/or/not and value paths in all */

typedef struct _scim_filter_t scim_filter_t;

/* An attribute path: [urn ':'] name ['.' sub]; urn and sub NULL when absent. */
typedef struct {
    char *urn;
    char *name;
    char *sub;
} scim_attr_t;

/* Parses a filter of len bytes (not NUL-terminated); NULL with the reason in why. */
scim_filter_t *scim_filter_parse(const char *text, size_t len, char *why, size_t why_size);
void scim_filter_destroy(scim_filter_t **self_p);
/* Whether resource (a User or Group as JSON) matches. */
bool scim_filter_match(const scim_filter_t *self, const json_t *resource);

/* A string equality every match must satisfy, for an indexed lookup of candidates before
   the whole filter is matched: the root, or an operand of a root "and", that is
   `name eq "..."`, `name.sub eq "..."` or `name[...].sub eq "..."` (Entra's
   emails[type eq "work"].value) or `name[sub eq "..."]` (a Group's members[value eq "..."]),
   name and sub of the core schema, compared as SCIM names are.
   The compared string (owned by the filter), or NULL when there is none. */
const char *scim_filter_eq_value(const scim_filter_t *self, const char *name, const char *sub);

/* For scim_path, which shares the grammar, the limits and the reasons. */
/* Parses the value filter of a path's brackets: text[*pos] is just after '['; on success *pos
   is just after the closing ']'. Positions in reasons count from text's start. */
scim_filter_t *scim_filter_parse_bracket(const char *text, size_t len, size_t *pos,
                                         char *why, size_t why_size);
/* Whether one element of the multi-valued attribute named attr ("emails"; for the case and
   dateTime rules of its sub-attributes) matches a value filter. */
bool scim_filter_match_element(const scim_filter_t *self, const char *attr,
                               const json_t *element);
/* The element a value filter describes exactly: for `name eq value`, or an `and` of such on
   distinct plain sub-attributes (no URN, no sub, value not null), an object {name: value, ...}
   (new reference); NULL for any other filter. For the PATCH engine: the members index's
   `members[value eq "id"]`, and the element Entra's `emails[type eq "work"].value` creates. */
json_t *scim_filter_template(const scim_filter_t *self);
/* Reads the attribute path text[start, end) into attr (what = "filter" or "path", the
   reasons' prefix); 0, or -1 with the reason. Free with scim_attr_free. */
int scim_attr_parse(const char *text, size_t start, size_t end, const char *what,
                    scim_attr_t *attr, char *why, size_t why_size);
void scim_attr_free(scim_attr_t *attr);
/* ATTRNAME (RFC 7644 3.10): ALPHA *(ALPHA / DIGIT / "-" / "_"), or "$ref". */
bool scim_attr_name_valid(const char *text, size_t len);
/* What stands at `at` of text, for a reason's "got ...": the word there (up to a space, a
   bracket or a quote; a delimiter alone), quoted, printable and at most 32 characters, or
   "the end of the <what>". buffer (48 bytes are enough) or a constant. */
const char *scim_filter_got(const char *text, size_t len, size_t at, const char *what,
                            char *buffer, size_t size);
/* The object that holds attr's name in resource: resource itself for no URN or a core schema
   URN, else the member named by the URN (case-insensitively); NULL when that is absent or not
   an object. */
json_t *scim_attr_container(const scim_attr_t *attr, const json_t *resource);
/* The member of object named key, compared case-insensitively (SCIM attribute names are);
   *found_key (when not NULL) gets its spelling in the object. NULL when absent. */
json_t *scim_json_get(const json_t *object, const char *key, const char **found_key);
/* Reads an xs:dateTime ("2026-01-02T03:04:05Z", fractions, "+01:00") as Unix seconds and
   nanoseconds; 0, or -1 when text is not one. */
int scim_datetime_parse(const char *text, long long *seconds, long *nanos);

void scim_filter_test(bool verbose);
#endif
