/* scim_path: SCIM PATCH paths (RFC 7644 3.5.2): `attr`, `attr.sub`, `urn...:attr[.sub]`,
   `attr[valueFilter]` and `attr[valueFilter].sub`, the bracket read by scim_filter's parser
   under the same limits (SCIM_FILTER_TEXT_MAX bytes, the depth and node caps); and the values
   a path selects in a resource, for the PATCH engine.

   Selecting: the path's attribute is looked up in its container (the resource, or for an
   extension URN the object under that URN's key; names case-insensitive), then
     attr                 one target: the attribute in its container (value NULL when absent);
     attr.sub             the sub-attribute in the attribute's object, or in each element
                          when the attribute is multi-valued; none when the attribute is absent;
     attr[filter]         each element of the multi-valued attribute the filter matches
                          (owner the array, key NULL, index its place);
     attr[filter].sub     the sub-attribute in each matching element (value NULL when the
                          element lacks it).
   An absent attribute or extension object selects nothing but `attr` itself (with owner NULL
   when the extension object is absent): the engine creates what `add` and `replace` need from
   scim_path_urn/attr/sub. Targets borrow from the resource: removing elements, do it from the
   highest index down so the others stay valid. */
#ifndef SCIM_PATH_H
#define SCIM_PATH_H
#include "scim_filter.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _scim_path_t scim_path_t;

/* One selected place. */
typedef struct {
    json_t *owner;   /* the object that holds key, or the array that holds element index;
                        NULL when the extension object the path names is absent */
    const char *key; /* the member's name as the resource spells it, or when absent the
                        path's spelling (valid while the path is); NULL for an array element */
    size_t index;    /* the element's index in owner, when key is NULL */
    json_t *value;   /* the selected value; NULL when absent */
} scim_path_target_t;

typedef struct {
    scim_path_target_t *items;
    size_t count;
} scim_path_targets_t;

/* Parses a PATCH path of len bytes; NULL with the reason in why ("path: at 7: ..."). */
scim_path_t *scim_path_parse(const char *text, size_t len, char *why, size_t why_size);
void scim_path_destroy(scim_path_t **self_p);
/* The parts: the schema URN (NULL when none), the attribute, the sub-attribute (after the
   attribute, or after the brackets; NULL when none), the bracket's filter (NULL when none). */
const char *scim_path_urn(const scim_path_t *self);
const char *scim_path_attr(const scim_path_t *self);
const char *scim_path_sub(const scim_path_t *self);
const scim_filter_t *scim_path_filter(const scim_path_t *self);
/* Fills targets with what the path selects in resource (see above); 0, or -1 when out of
   memory. Free with scim_path_targets_free. */
int scim_path_select(const scim_path_t *self, json_t *resource, scim_path_targets_t *targets);
void scim_path_targets_free(scim_path_targets_t *targets);

void scim_path_test(bool verbose);
#endif
