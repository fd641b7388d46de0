/* dir_portal_req: the request context of every route under /portal/api/. Opening one is the
   only way to a portal route: it finds the session of the request's cookie (401 without a
   live one), requires the session's CSRF token in X-CSRF-Token for every method but GET and
   HEAD (403), refreshes the session's idle clock, and refuses (403) any request that names
   another organization than the session's where a route could read one: an org_ segment of
   the path, the query's organization_id, the JSON body's organization_id. A route then takes
   the organization only from req->session.organization_id, never from the request, and
   checks any other id it is given with dir_portal_req_owns. */
#ifndef DIR_PORTAL_REQ_H
#define DIR_PORTAL_REQ_H
#include "api/dir_json.h"
#include "portal/dir_portal_session.h"
#include "sso_http.h"

#define DIR_PORTAL_API_PREFIX "/portal/api/"
#define DIR_PORTAL_MAX_SEGMENTS 6
#define DIR_PORTAL_PATH_MAX 512

typedef struct {
    dir_t *dir;
    const Sso__HttpRequest *http;
    const char *method;
    dir_portal_session_t session;  /* the organization is session.organization_id */
    char *segments[DIR_PORTAL_MAX_SEGMENTS]; /* the path after /portal/api/ */
    size_t n_segments;
    zhashx_t *query;               /* decoded query parameters */
    char path[DIR_PORTAL_PATH_MAX + 1];
} dir_portal_req_t;

/* Opens req for request (a path under /portal/api/). NULL when the route may run, else the
   refusal to answer with (401, 403, 400, 404 for a malformed path); either way close req
   after. */
zframe_t *dir_portal_req_open(dir_portal_req_t *req, dir_t *dir, const Sso__HttpRequest *request);
void dir_portal_req_close(dir_portal_req_t *req);

/* NULL when organization_id is the session's, else the 403 to answer. */
zframe_t *dir_portal_req_same_org(const dir_portal_req_t *req, const char *organization_id);

/* The kinds of row a portal route may be given the id of. */
typedef enum { DIR_PORTAL_CONNECTION, DIR_PORTAL_DOMAIN, DIR_PORTAL_TEST } dir_portal_kind_t;
/* NULL when the row of kind with id belongs to the session's organization; else 404 when
   there is no such row, 403 when it is another organization's (or 500). */
zframe_t *dir_portal_req_owns(const dir_portal_req_t *req, dir_portal_kind_t kind,
                              const char *id);

void dir_portal_req_test(bool verbose);
#endif
