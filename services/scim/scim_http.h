/* scim_http: the SCIM service's answers (RFC 7644 3.12 and 8): resources and lists as
   application/scim+json, and errors as SCIM Error messages ("status" a string, "scimType"
   where 3.12 defines one for the case, "detail"). A 401 carries WWW-Authenticate: Bearer. */
#ifndef SCIM_HTTP_H
#define SCIM_HTTP_H
#include "sso_http.h"
#include <jansson.h>

#define SCIM_CONTENT_TYPE "application/scim+json"
#define SCIM_ERROR_URN "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_LIST_URN "urn:ietf:params:scim:api:messages:2.0:ListResponse"

/* A SCIM error; scim_type NULL when RFC 7644 3.12 defines none for it. */
zframe_t *scim_http_error(uint32_t status, const char *scim_type, const char *detail);
/* 401 for a request without a valid bearer token, worded alike whatever the reason. */
zframe_t *scim_http_unauthorized(void);
/* 405 with Allow. */
zframe_t *scim_http_method_not_allowed(const char *allow);
/* A JSON document (reference taken); location and etag (W/"<n>") NULL for none. */
zframe_t *scim_http_json(uint32_t status, json_t *json, const char *location, const char *etag);

void scim_http_test(bool verbose);
#endif
