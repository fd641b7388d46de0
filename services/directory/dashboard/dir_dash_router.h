/* dir_dash_router: every /dashboard/ path: the pages (dir_dash_pages), sign-in
   (POST /dashboard/api/signin), and the API of a signed-in admin: session, signout, config,
   stats, and v1/<anything>: the management API itself (dir_api_router_serve), audited with the
   admin as actor. Every /dashboard/api/ route but signin needs a live session (401
   invalid_session before anything else) and, for every method but GET and HEAD, the session's
   CSRF token in X-CSRF-Token (403). */
#ifndef DIR_DASH_ROUTER_H
#define DIR_DASH_ROUTER_H
#include "dir.h"
#include "sso_http.h"

#define DIR_DASH_PREFIX "/dashboard/"
#define DIR_DASH_API_PREFIX "/dashboard/api/"

zframe_t *dir_dash_router_handle(dir_t *dir, const Sso__HttpRequest *request);

void dir_dash_router_test(bool verbose);
#endif
