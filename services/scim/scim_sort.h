/* scim_sort: sortBy and sortOrder (RFC 7644 3.4.2.3) over a list's matching resources. The
   value sorted by is the attribute's (name, name.sub or a schema URN then ':name[.sub]'); of
   a multi-valued attribute, the primary element's, else the first's; of a complex one without
   a sub-attribute, its "value". Strings compare case-insensitively except the caseExact ones
   (id, externalId, meta.version), numbers and booleans by value; resources without a value
   come last in either order, and equal ones keep their order (creation). */
#ifndef SCIM_SORT_H
#define SCIM_SORT_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether sort_order ("ascending", "descending", NULL) is one; *descending set. */
int scim_sort_order(const char *sort_order, bool *descending);
/* Sorts the array resources in place by sort_by. 0, or -1 with why when the path does not
   parse. */
int scim_sort(json_t *resources, const char *sort_by, bool descending, char *why,
              size_t why_size);

void scim_sort_test(bool verbose);
#endif
