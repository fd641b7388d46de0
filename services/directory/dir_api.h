/* dir_api: the management API under /api/v1: bearer authentication, path routing to the
   resource modules, and the small helpers they share. */
#ifndef DIR_API_H
#define DIR_API_H
#include "dir_json.h"
#include "dir_service.h"

#define DIR_API_MAX_SEGMENTS 6
#define DIR_API_ID_MAX 128

/* One request, as the resource modules see it. Segments follow /api/v1/. */
typedef struct {
    dir_t *dir;
    const Sso__HttpRequest *http;
    const char *method;
    char *segments[DIR_API_MAX_SEGMENTS];
    size_t n_segments;
    zhashx_t *query;  /* decoded query parameters */
} dir_api_req_t;

/* Handles any HTTP request that reached the directory. Never NULL. */
zframe_t *dir_api_handle(dir_t *dir, const Sso__HttpRequest *request);

/* The body as a JSON object, or NULL with err (400 naming the problem). New reference. */
json_t *dir_api_body(const dir_api_req_t *req, dir_error_t *err);
/* 405 with an Allow header. */
zframe_t *dir_api_method_not_allowed(const char *allow);
/* 204 with no body. */
zframe_t *dir_api_no_content(void);
/* 404 naming what was not found. */
zframe_t *dir_api_not_found(const char *what, const char *id);
bool dir_api_is(const dir_api_req_t *req, const char *method);

void dir_api_test(bool verbose);
#endif
