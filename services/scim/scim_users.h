/* scim_users: /Users of a SCIM directory (RFC 7644 3.3-3.6): POST (201, Location, ETag), GET
   by id, PUT (If-Match: 412 when the version differs), DELETE (204; the directory marks the
   user deleted), GET with filter, startIndex/count, sortBy/sortOrder (scim_sort),
   attributes/excludedAttributes, and POST
   /Users/.search with the same in a body (so a filter too long for a URL gets its SCIM 400
   too); PATCH through scim_patch. What it shares with /Groups is scim_resource's.

   What a User may hold: a JSON object whose schemas include the core User URN and name no
   other than it and the enterprise extension (whose attributes stay under its URN); userName
   required, unique in the directory in any case (409 uniqueness); active a boolean, or Entra's
   "True"/"False", true when absent; every string at most SCIM_VALUE_MAX bytes. id, meta,
   groups (read-only: rendered from the directory's memberships as {value, display, $ref,
   type "direct"}) and password (not kept) are ignored on input. A user of another
   directory is 404, as one that never was.

   Filtered lists ask the directory by an indexed column when the filter requires an equality
   on userName, externalId, displayName or an email's value (the user's work email, else its
   primary one, else its first: the one the directory indexes), and otherwise page through the
   directory's users; either way the whole filter is matched on each candidate. */
#ifndef SCIM_USERS_H
#define SCIM_USERS_H
#include "scim_req.h"

/* Serves req, whose rest starts with "Users". */
zframe_t *scim_users_http(scim_req_t *req);

void scim_users_test(bool verbose);
#endif
