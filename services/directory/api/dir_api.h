/* dir_api: what the resource modules of the management API (/api/v1) share: the request as
   they see it, dispatch by method, rows, lists with pages, and the common answers. The router
   that authenticates and picks a resource is dir_api_router. */
#ifndef DIR_API_H
#define DIR_API_H
#include "api/dir_json.h"
#include "dir.h"
#include "sso_http.h"

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
    /* For a caller whose right to the request may end while a handler waits for a slow step
       (the portal's session): checked again after each (dir_conn_slow_in_passes); NULL to go
       on, else the reply. NULL for the management API. */
    zframe_t *(*recheck)(void *arg);
    void *recheck_arg;
} dir_api_req_t;

/* Answers one method of a path; id is the path's id (the item's, the parent organization's
   for a nested collection, or NULL). */
typedef zframe_t *(dir_api_handler_fn)(dir_api_req_t *req, const char *id);
/* The methods a path offers; NULL where one is not. */
typedef struct {
    dir_api_handler_fn *get;
    dir_api_handler_fn *post;
    dir_api_handler_fn *patch;
    dir_api_handler_fn *del;
} dir_api_methods_t;
/* Calls the handler of req's method, or answers 405 with Allow listing those offered. */
zframe_t *dir_api_dispatch(dir_api_req_t *req, const dir_api_methods_t *methods, const char *id);

/* One row of a query as a resource's JSON (new reference). */
typedef json_t *(dir_api_row_fn)(dir_t *dir, dir_db_stmt_t *stmt);
/* The first row of sql (bound as by dir_db_query) through row, or NULL when there is none or
   the query fails. */
json_t *dir_api_row(dir_t *dir, dir_api_row_fn *row, const char *sql, const char *types, ...);
/* The first column of every row of sql (bound as by dir_db_query) as a JSON array of strings
   (new reference; empty when the query fails). */
json_t *dir_api_column(dir_t *dir, const char *sql, const char *types, ...);
/* 200 with json (taken), or, when it is NULL, 404 naming what was not found. */
zframe_t *dir_api_found(json_t *json, const char *what, const char *id);
/* Runs sql (one 's' parameter: id): 204, 404 naming what when no row went, or 500. Logs
   "<what> <id> deleted<aftermath>". */
zframe_t *dir_api_delete(dir_t *dir, const char *sql, const char *what, const char *id,
                         const char *aftermath);
/* What a list checks of the resource a collection belongs to, once the page is read: NULL to
   go on, or the reply (404) that ends the list. */
typedef zframe_t *dir_api_check_fn(dir_t *dir, const char *id);
/* A page of a collection as {"data": [...], "next_page_token": ...}. Reads page_size and
   page_token (400), then, when check is not NULL, answers what check(id) answers if not NULL
   (the caller's: the organization a collection belongs to exists, dir_orgs_check), then
   runs sql bound by types and the arguments after it. Its last two parameters are left for
   the page: the position the token encodes (-1 on the first page) and the row limit; its
   last column is each row's position. */
zframe_t *dir_api_list(dir_api_req_t *req, dir_api_check_fn *check, const char *id,
                       dir_api_row_fn *row, const char *sql, const char *types, ...);
/* 500 for a database failure. */
zframe_t *dir_api_db_error(void);
/* The query parameter name as a time filter of a list (since, until): *out is its Unix
   seconds, 0 when it is absent (0 also means "any" to the lists that take one). 0, or -1 with
   err (400 "<name> must be a time in Unix seconds") when it is anything but digits in the
   range of a long: empty, negative, a sign, a fraction, an exponent, or too large. */
int dir_api_query_time(const dir_api_req_t *req, const char *name, int64_t *out,
                       dir_error_t *err);

/* A rotation's overlap: the body's overlap_seconds, how long the previous credential (what:
   "secret", "token") keeps working. Absent, or no body at all, is fallback; anything but a
   whole number from 0 to max (max_text says it in words) is refused (null, "", "24h", 1.5,
   true, -1). 0, or -1 with err (400). */
int dir_api_overlap(const dir_api_req_t *req, int64_t fallback, int64_t max, const char *what,
                    const char *max_text, int64_t *overlap, dir_error_t *err);

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
