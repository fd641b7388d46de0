/* scim_resource: what the resource endpoints (/Users, /Groups) share, so that both read their
   input, answer, page and check versions alike: refusals as SCIM errors, the checks of a
   resource's common members (schemas, plain-text strings, sizes), meta and ETags, If-Match,
   the answer to a failed call to the directory, and lists (the query string or a
   /.search SearchRequest: filter, startIndex/count, sortBy/sortOrder,
   attributes/excludedAttributes) paged from the directory through the endpoint's callbacks,
   every candidate matched against the whole filter. */
#ifndef SCIM_RESOURCE_H
#define SCIM_RESOURCE_H
#include "scim_filter.h"
#include "scim_patch.h"
#include "scim_req.h"
#include <jansson.h>

#define SCIM_VALUE_MAX 4096            /* bytes of any string value */
#define SCIM_DEPTH_MAX 8               /* nesting of a resource's values */
#define SCIM_RESOURCE_MAX (256 * 1024) /* the directory's cap on a stored resource */
#define SCIM_COUNT_DEFAULT 100         /* a list's count when absent */

/* Why an input is refused: the SCIM error's status, scimType and detail. */
typedef struct {
    uint32_t status;
    const char *scim_type;
    char detail[320];
} scim_fail_t;

void scim_fail(scim_fail_t *fail, uint32_t status, const char *scim_type, const char *format,
               ...) __attribute__((format(printf, 4, 5)));
zframe_t *scim_fail_reply(const scim_fail_t *fail);
/* A scim_patch refusal as the answer. */
zframe_t *scim_patch_error_reply(const scim_error_t *error);
/* The request's PatchOp body parsed into *patch: NULL, or the refusal to answer. */
zframe_t *scim_patch_read(const Sso__HttpRequest *http, scim_patch_t **patch);

/* ---- input ---- */

/* The body as a JSON object (a new reference); NULL with fail (invalidSyntax). */
json_t *scim_body_object(const Sso__HttpRequest *http, scim_fail_t *fail);
/* Removes the members named (in any case) that are read-only or never kept. */
void scim_drop(json_t *resource, const char *const *names, size_t count);
/* Moves the member named name (in any case) to its canonical spelling; the value or NULL. */
json_t *scim_canonical(json_t *object, const char *name);
/* Whether text has no control characters (the directory refuses them in its columns). */
bool scim_plain(const char *text);
/* A string member that must be plain text when present, non-empty when required: 0 (*out
   NULL when absent) or -1 with fail. */
int scim_text(json_t *resource, const char *name, bool required, const char **out,
              scim_fail_t *fail);
/* schemas: core_urn, and no other than it and extension_urn (NULL: none); members named by a
   URN only the extension's object, kept under its canonical URN. schemas is rewritten to the
   canonical list. Then every string within SCIM_VALUE_MAX and nesting within SCIM_DEPTH_MAX.
   0 or -1 with fail. */
int scim_schemas_and_sizes(json_t *resource, const char *core_urn, const char *extension_urn,
                           scim_fail_t *fail);

/* ---- output ---- */

/* What the directory stamps on a resource it keeps. */
typedef struct {
    const char *id;
    int64_t created_at, updated_at, version;
} scim_stamp_t;

/* A stored resource as served: resource_json with id and meta (resource_type "User" or
   "Group", at "<base>/<resource_type>s/<id>"); a new reference, NULL when the text is not an
   object (which the directory never keeps). */
json_t *scim_stored(const scim_req_t *req, const char *resource_type, const char *resource_json,
                    const scim_stamp_t *stamp);
/* An element of a multi-valued reference ({value, display, $ref "<base>/<endpoint>/<id>",
   type}) appended to resource's attribute attr (created with the first). */
void scim_reference(json_t *resource, const char *attr, const scim_req_t *req,
                    const char *endpoint, const char *id, const char *display, const char *type);
/* resource (reference taken) as the answer with status, its ETag from meta.version and its
   Location on 201, attributes/excluded applied (400 when they do not parse). */
zframe_t *scim_resource_answer(uint32_t status, json_t *resource, const char *attributes,
                               const char *excluded);
/* 204 with the ETag of version (a write answered without its resource). */
zframe_t *scim_no_content(int64_t version);
/* The answer of a call to the directory that failed: the bus's status (503), or the
   operation's error; what names the resource ("user", "group"). */
zframe_t *scim_call_failed(int status, Sso__RpcError error, const char *description,
                           const char *what);
/* The answer of a call that gave status and reply when it failed (no reply, the reply's error,
   or has is false: the reply lacks what it must hold), else NULL. */
#define SCIM_REPLY_FAILED(status, reply, has, what)                                           \
    ((status) != 0 || !(reply) || (reply)->error || !(has)                                  \
         ? scim_call_failed((status), (reply) ? (reply)->error : SSO__RPC_ERROR__SERVER_ERROR, \
                            (reply) ? (reply)->error_description : "", (what))              \
         : NULL)
/* If-Match (RFC 9110 13.1.1) against a resource's version: 0 when absent, "*" or listing
   W/"<version>" (or "<version>"), -1 otherwise (412). */
int scim_if_match(const char *header, int64_t version);
/* The 412 of a request whose If-Match names another version, or NULL. */
zframe_t *scim_if_match_refusal(const Sso__HttpRequest *http, int64_t version, const char *what);

/* ---- lists ---- */

typedef struct {
    char *filter;     /* NULL: none */
    char *attributes; /* "a,b" */
    char *excluded;
    char *sort_by;    /* NULL: creation order */
    bool descending;
    long start;       /* 1-based */
    long count;
} scim_query_t;

/* An endpoint's side of a list: start is told the query and the filter (NULL: none) once,
   to choose what to ask the directory; next then appends the next page of resources as
   served (before attributes) to page, and says whether another follows: NULL, or the answer
   to give instead (a failed call). */
typedef struct {
    void (*start)(void *ctx, const scim_query_t *query, const scim_filter_t *filter);
    zframe_t *(*next)(void *ctx, json_t *page, bool *more);
    void *ctx;
} scim_lister_t;

/* An indexed column of the directory's, looked up by a filter's required equality on
   name[.sub]. */
typedef struct {
    const char *name, *sub;
    int key;
} scim_key_t;

/* The first of keys (count) whose equality filter requires, with its value (a non-empty
   string within SCIM_VALUE_MAX); 0 (all: no lookup) and "" when none. */
int scim_filter_key(const scim_filter_t *filter, const scim_key_t *keys, size_t count,
                    const char **value);
/* Defines what an endpoint answers from its directory replies (C has no generics, so a
   macro, once, for both endpoints), given its s_render(req, resource) and its
   s_expected_version(req, id, &version) (the version a change is made on, If-Match checked):
   s_reply(req, status, reply, http_status, attributes, excluded), a reply (taken) as the
   answer (http_status with the resource, Location on 201; or the failure), and
   s_delete(req, id), DELETE (204; the directory marks the resource deleted). */
#define SCIM_ANSWERS(Reply, field, reply_free, DeleteRequest, DELETE_INIT, delete_call, what)   \
    static zframe_t *s_expected_version(scim_req_t *req, const char *id, int64_t *version);     \
    static zframe_t *s_reply(scim_req_t *req, int status, Reply *reply, uint32_t http_status,    \
                             const char *attributes, const char *excluded)                      \
    {                                                                                           \
        if ((status) == 0 && reply && reply->error == SSO__RPC_ERROR__STALE)                    \
            req->stale = true;                                                                  \
        zframe_t *frame = SCIM_REPLY_FAILED(status, reply, reply->field, what);                 \
        if (!frame)                                                                             \
            frame = scim_resource_answer(http_status, s_render(req, reply->field), attributes,  \
                                         excluded);                                             \
        if (reply)                                                                              \
            reply_free(reply, NULL);                                                            \
        return frame;                                                                           \
    }                                                                                           \
    static zframe_t *s_delete(scim_req_t *req, const char *id)                                  \
    {                                                                                           \
        DeleteRequest del = DELETE_INIT;                                                        \
        del.directory_id = req->directory_id;                                                   \
        del.id = (char *) id;                                                                   \
        zframe_t *frame = s_expected_version(req, id, &del.expected_version);                   \
        Reply *reply = NULL;                                                                    \
        int status = frame ? 0 : delete_call(req->service, &del, &reply);                       \
        if (!frame && reply && reply->error == SSO__RPC_ERROR__STALE)                           \
            req->stale = true;                                                                  \
        if (!frame)                                                                             \
            frame = SCIM_REPLY_FAILED(status, reply, true, what);                               \
        if (reply)                                                                              \
            reply_free(reply, NULL);                                                            \
        return frame ? frame : scim_http_no_content();                                          \
    }

/* 204 without a body. */
zframe_t *scim_http_no_content(void);

/* Defines an endpoint's listing over the directory's paged list call (C has no generics, so
   a macro, once, for both endpoints): the context s_lister_t {req, list} (list the call's
   request, directory_id set), s_lister_next (each reply's items rendered by render, the next
   page after the last item's seq) and s_list(req, search), the endpoint's list operation.
   The endpoint defines s_list_start (scim_lister_t's start: the request's key, value, limit
   and anything else). */
#define SCIM_LISTING(Request, REQUEST_INIT, Reply, call, items, reply_free, render, what)       \
    typedef struct {                                                                            \
        scim_req_t *req;                                                                        \
        Request list;                                                                           \
    } s_lister_t;                                                                               \
    static void s_list_start(void *ctx, const scim_query_t *query, const scim_filter_t *filter);\
    static zframe_t *s_lister_next(void *ctx, json_t *page, bool *more)                         \
    {                                                                                           \
        s_lister_t *lister = ctx;                                                               \
        Reply *reply = NULL;                                                                    \
        int status = call(lister->req->service, &lister->list, &reply);                         \
        zframe_t *failed = SCIM_REPLY_FAILED(status, reply, true, what);                        \
        for (size_t i = 0; !failed && i < reply->n_##items; i++) {                              \
            json_t *resource = render(lister->req, reply->items[i]);                            \
            lister->list.after_seq = reply->items[i]->seq;                                      \
            if (resource)                                                                       \
                json_array_append_new(page, resource);                                          \
        }                                                                                       \
        *more = !failed && reply->more;                                                         \
        if (reply)                                                                              \
            reply_free(reply, NULL);                                                            \
        return failed;                                                                          \
    }                                                                                           \
    static zframe_t *s_list(scim_req_t *req, bool search)                                       \
    {                                                                                           \
        s_lister_t ctx = {.req = req, .list = REQUEST_INIT};                                    \
        ctx.list.directory_id = req->directory_id;                                              \
        scim_lister_t lister = {s_list_start, s_lister_next, &ctx};                             \
        return scim_list(req->http, search, &lister);                                           \
    }

/* GET <endpoint> (search false: the query string) or POST <endpoint>/.search (a
   SearchRequest body): the ListResponse. */
zframe_t *scim_list(const Sso__HttpRequest *http, bool search, const scim_lister_t *lister);
/* Whether a resource served under attributes/excluded keeps its member named name (so an
   endpoint need not read what would not be served). */
bool scim_attrs_keep(const char *attributes, const char *excluded, const char *name);

/* ---- an endpoint ---- */

/* An endpoint's operations (the routes scim_endpoint_http serves). */
typedef struct {
    const char *name; /* "Users" */
    const char *what; /* "user", in its 404 */
    zframe_t *(*list)(scim_req_t *req, bool search);
    zframe_t *(*create)(scim_req_t *req);
    zframe_t *(*get)(scim_req_t *req, const char *id);
    zframe_t *(*replace)(scim_req_t *req, const char *id);
    zframe_t *(*patch)(scim_req_t *req, const char *id);
    zframe_t *(*remove)(scim_req_t *req, const char *id);
} scim_endpoint_t;

/* Whether rest (below the directory's base) is endpoint name's ("Users", "Users/x"). */
bool scim_endpoint_owns(const char *rest, const char *name);
/* Serves req, whose rest is the endpoint's: <name> GET (list) and POST, <name>/.search POST,
   <name>/{id} GET, PUT, PATCH and DELETE; 405 with Allow for another method, 404 for an id
   that cannot be one. A PUT, PATCH or DELETE without If-Match that met a change made since its
   read (req->stale) is made again on the new version, up to SCIM_STALE_TRIES times: only an
   If-Match makes a change conditional (412). */
#define SCIM_STALE_TRIES 3
zframe_t *scim_endpoint_http(scim_req_t *req, const scim_endpoint_t *endpoint);

void scim_resource_test(bool verbose);
#endif
