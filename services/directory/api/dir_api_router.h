/* dir_api_router: the management API under /api/v1: bearer authentication (a management
   token), then path routing to the resource modules. */
#ifndef DIR_API_ROUTER_H
#define DIR_API_ROUTER_H
#include "dir.h"
#include "sso_http.h"

#define DIR_API_PATH_MAX 1024

/* Handles any HTTP request that reached the directory. Never NULL. */
zframe_t *dir_api_router_handle(dir_t *dir, const Sso__HttpRequest *request);
/* Routes an authenticated request of the management API whose path is prefix ("/api/v1/",
   "/dashboard/api/v1/") and then the API's path, and writes a change (any method but GET
   and HEAD), made or refused, to the audit log as actor_type ("client", "admin") actor.
   Never NULL. */
zframe_t *dir_api_router_serve(dir_t *dir, const Sso__HttpRequest *request, const char *prefix,
                               const char *actor_type, const char *actor);

void dir_api_router_test(bool verbose);
#endif
