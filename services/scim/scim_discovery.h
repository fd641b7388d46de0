/* scim_discovery: the SCIM service's self-description (RFC 7644 4, RFC 7643 5-8):
   /ServiceProviderConfig (what this service supports: filter with maxResults, sort, etag,
   patch; no bulk or changePassword), /ResourceTypes (User with the enterprise extension,
   Group) and /Schemas (User, Group, EnterpriseUser with their attributes' characteristics),
   each with its meta.location under the directory's base URL. */
#ifndef SCIM_DISCOVERY_H
#define SCIM_DISCOVERY_H
#include <jansson.h>
#include <stdbool.h>

#define SCIM_USER_URN "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP_URN "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_ENTERPRISE_URN "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_LIST_MAX 200 /* count's cap (ServiceProviderConfig filter.maxResults) */

/* The document of path (below /scim/v2/{id}/: "ServiceProviderConfig", "ResourceTypes",
   "ResourceTypes/User", "Schemas", "Schemas/<urn>", ...) with base_url the directory's base;
   NULL when there is no such document. */
json_t *scim_discovery_get(const char *path, const char *base_url);
/* Whether path is one of the discovery endpoints (so an unknown one is a 404 of theirs). */
bool scim_discovery_owns(const char *path);

/* Checks resource (a User's or Group's members, urn its core schema) as a body to store must
   be (RFC 7643 2.2-2.5, 4): every member one the schema or its extension declares (in any case:
   renamed to the schema's spelling), of its type and plurality, a complex value's members
   likewise; a null member is unassigned (removed); a boolean also as Entra's "True"/"False".
   schemas, id and meta are the caller's. 0, or -1 with *scim_type (invalidSyntax: a member no
   schema declares; invalidValue: a wrong type) and why. */
int scim_discovery_check(const char *urn, json_t *resource, const char **scim_type, char *why,
                         size_t why_size);

void scim_discovery_test(bool verbose);
#endif
