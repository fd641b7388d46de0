/* dir_api_router: the management API under /api/v1: bearer authentication (a management
   token), then path routing to the resource modules. */
#ifndef DIR_API_ROUTER_H
#define DIR_API_ROUTER_H
#include "dir.h"
#include "sso_http.h"

/* Handles any HTTP request that reached the directory. Never NULL. */
zframe_t *dir_api_router_handle(dir_t *dir, const Sso__HttpRequest *request);

void dir_api_router_test(bool verbose);
#endif
