/* scim_groups: /Groups of a SCIM directory (RFC 7644 3.3-3.6): POST (201, Location, ETag), GET
   by id, PUT (the membership replaced; If-Match: 412 when the version differs), PATCH through
   scim_patch (members added and removed by value, at O(n) for n members of a group of any
   size, sent to the directory as the change alone), DELETE (204), GET with filter,
   startIndex/count, sortBy/sortOrder, attributes/excludedAttributes, and POST /Groups/.search.
   What it shares with /Users is scim_resource's.

   What a Group may hold: a JSON object whose schemas list the core Group URN and no other;
   displayName required (not unique: Entra ID allows groups of the same name), externalId
   optional, every string at most SCIM_VALUE_MAX bytes; members an array of at most
   SCIM_GROUP_MEMBERS_MAX objects, each with "value" a user's id ("display", "$ref" accepted,
   "type" when given "User": nested groups are refused). id and meta are ignored on input.
   The directory keeps the members as rows and the rest as the stored resource; a member that
   is not a user of this directory is the directory's 400 invalidValue, nothing changed.

   Served members are {value, display (the user's displayName, else userName), $ref, type
   "User"}, in the order added. The members are read from the directory only when they will be
   served or the filter or sortBy names them: Okta's and Entra's
   `excludedAttributes=members` lists never read a large group's members. A PATCH answers 204
   with the new ETag (Okta's documented answer; a group's members are not read back), or 200
   with the group when the request asks for attributes or excludedAttributes. */
#ifndef SCIM_GROUPS_H
#define SCIM_GROUPS_H
#include "scim_req.h"

#define SCIM_GROUP_MEMBERS_MAX 50000 /* the directory's cap on a group's members */

/* Serves req, whose rest starts with "Groups". */
zframe_t *scim_groups_http(scim_req_t *req);

void scim_groups_test(bool verbose);
#endif
