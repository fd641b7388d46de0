/* scim_attrs: the `attributes` and `excludedAttributes` parameters (RFC 7644 3.4.2.5, 3.9):
   comma-separated attribute paths (name, name.sub, or a schema URN then ':name[.sub]'; an
   extension's URN alone names its whole object) applied to a resource as served. id and
   schemas are always returned, and meta unless excluded; a path the resource lacks selects
   nothing. */
#ifndef SCIM_ATTRS_H
#define SCIM_ATTRS_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SCIM_ATTRS_TEXT_MAX 2048 /* bytes of one list */

/* Applies attributes (NULL or "": all) or else excluded (NULL or "": none) to resource, in
   place. 0, or -1 with why when a list is too long or a path does not parse. */
int scim_attrs_apply(json_t *resource, const char *attributes, const char *excluded, char *why,
                     size_t why_size);

void scim_attrs_test(bool verbose);
#endif
