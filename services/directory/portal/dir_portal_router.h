/* dir_portal_router: everything the gateway sends the directory under /portal/: the start
   page and its exchange (dir_portal_pages), and the portal API /portal/api/, whose every
   route runs behind dir_portal_req_open (session, CSRF, organization). A new route is one
   line of the table in dir_portal_router.c and a handler that takes a dir_portal_req_t. */
#ifndef DIR_PORTAL_ROUTER_H
#define DIR_PORTAL_ROUTER_H
#include "dir.h"
#include "sso_http.h"

#define DIR_PORTAL_PREFIX "/portal/"

zframe_t *dir_portal_router_handle(dir_t *dir, const Sso__HttpRequest *request);

void dir_portal_router_test(bool verbose);
#endif
