/* scim_patch: applies a SCIM PatchOp request body (RFC 7644 3.5.2) to a User or a Group held
   as jansson JSON, giving the new resource or a SCIM error, the resource left as it was.

   Parsing checks the body: `schemas` exactly [SCIM_PATCH_URN], `Operations` a non-empty array
   of at most SCIM_PATCH_OPS_MAX (tooMany beyond), each with `op` add/replace/remove in any case
   (Entra sends "Add", "Replace", "Remove"), a `path` read by scim_path (required for remove:
   noTarget) and a `value` (required for add and replace).

   Applying follows the RFC with what Okta and Entra send: without a path the value is an
   object applied attribute by attribute (its keys may be paths, "name.givenName", or a schema
   URN holding an object: Okta's {"active":false} deactivation, Entra's extension objects); an
   extension URN as the path's prefix; Entra's "True"/"False" for booleans (active, primary);
   add to a multi-valued attribute appends the values not already there; a value filter with
   no match is noTarget, except that add and replace through a filter that names one element
   exactly (`emails[type eq "work"].value`) create that element (Entra updates an absent work
   address so); remove of a multi-valued attribute with a value removes those values (Entra's
   member removal). id, meta, schemas and a User's groups are refused (mutability) unless the
   value given is the one already there; the attributes outside the core and enterprise
   schemas are invalidPath; other extension URNs take any attribute.

   A Group's members go through an index by value (a hash set, values compared as the filter
   does: ASCII case-insensitive), so adding or removing n members, by one op or by n ops, costs
   O(n) against a group of any size; the result says which member values were added and removed
   (the net change), and the resource can come back without its members, for a store that keeps
   them as rows. Work (elements visited, compared or indexed) is counted and capped at
   SCIM_PATCH_WORK_MAX (tooMany), which bounds a hostile patch of filters over a large group. */
#ifndef SCIM_PATCH_H
#define SCIM_PATCH_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SCIM_PATCH_URN "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_PATCH_BODY_MAX (4 * 1024 * 1024) /* bytes; the gateway's SSO_MAX_BODY_BYTES first */
#define SCIM_PATCH_OPS_MAX 10000
#define SCIM_PATCH_VALUES_MAX 256 /* values of a multi-valued attribute other than members */
#define SCIM_PATCH_WORK_MAX 2000000 /* 200 filters over 10,000 members; an index op is 1 */

typedef enum { SCIM_PATCH_USER, SCIM_PATCH_GROUP } scim_patch_kind_t;

/* A SCIM error (RFC 7644 3.12): status 400 with scimType, or 413 with scimType "". */
typedef struct {
    int status;
    char scim_type[16]; /* invalidSyntax invalidPath invalidValue noTarget mutability tooMany */
    char detail[256];
} scim_error_t;

typedef struct _scim_patch_t scim_patch_t;

/* Parses a PatchOp body of len bytes; NULL with the error. */
scim_patch_t *scim_patch_parse(const char *body, size_t len, scim_error_t *error);
void scim_patch_destroy(scim_patch_t **self_p);
size_t scim_patch_count(const scim_patch_t *self);

#define SCIM_PATCH_MEMBERS_APART 1u /* the result's resource without "members" */

typedef struct {
    json_t *resource; /* the new resource (owned) */
    json_t *added;    /* a Group's: the member values added, as the patch spells them */
    json_t *removed;  /* a Group's: the member values removed, as the resource spelled them */
    bool changed;     /* whether the resource differs from the one given */
    size_t work;      /* elements visited, compared or indexed */
} scim_patch_result_t;

/* Applies the patch to resource (not changed); 0 with result filled (free it with
   scim_patch_result_clear), or -1 with error and result empty. flags: SCIM_PATCH_MEMBERS_APART. */
int scim_patch_apply(const scim_patch_t *self, scim_patch_kind_t kind, const json_t *resource,
                     unsigned flags, scim_patch_result_t *result, scim_error_t *error);
void scim_patch_result_clear(scim_patch_result_t *result);

void scim_patch_test(bool verbose);
#endif
