/* dir_portal_testkit: for the self-tests only: calling /portal/ with a cookie and a CSRF
   token, and an organization with a live portal session. */
#ifndef DIR_PORTAL_TESTKIT_H
#define DIR_PORTAL_TESTKIT_H
#include "dir_testkit.h"
#include "sso_http.h"

typedef struct {
    char org[64];
    char link[64];
    char cookie[200]; /* the Cookie header that carries the session ("name=value") */
    char csrf[64];
} dir_portal_testkit_t;

typedef struct {
    int status;
    char location[600];
    char set_cookie[300];
    char csp[300];
    char *body;   /* NUL-terminated; "" when empty */
    json_t *json; /* the body as JSON, or NULL */
} dir_portal_testkit_reply_t;

/* Sends method target (path with optional ?query) as the directory routes it (/dashboard/ to
   dir_dash_router_handle, the rest to dir_portal_router_handle) with the Cookie
   header cookie, X-CSRF-Token csrf, Origin origin and a body of content_type (each NULL for
   none). 0 with reply filled (free it), or -1. */
int dir_portal_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                            const char *cookie, const char *csrf, const char *origin,
                            const char *content_type, const char *body,
                            dir_portal_testkit_reply_t *reply);
void dir_portal_testkit_reply_free(dir_portal_testkit_reply_t *reply);
/* The Sec-Fetch-Site header the calls after it send (NULL, the start: none). */
void dir_portal_testkit_fetch_site(const char *site);
/* The same with who's cookie (NULL: none) and a JSON body (NULL: none): the status, or -1;
   the reply as JSON in *json when json is not NULL (the caller's; NULL when not JSON). */
int dir_portal_testkit_json(dir_testkit_t *kit, const char *method, const char *target,
                            const dir_portal_testkit_t *who, const char *csrf, const char *body,
                            json_t **json);
/* A new organization named display_name, a link of it opened by the start page's POST, and
   the session's cookie and CSRF token. 0 or -1. */
int dir_portal_testkit_session(dir_testkit_t *kit, const char *display_name,
                               dir_portal_testkit_t *out);
/* The status of a reply frame (destroyed), or -1. */
int dir_portal_testkit_status(zframe_t *frame);
#endif
