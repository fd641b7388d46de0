/* dir_scim_rows: how the directory reads the SCIM service's users and groups, once for both:
   one by id within its directory (not deleted; NOT_FOUND for any other, another directory's
   too), and a page in creation order, all of them or those a key's condition picks. A kind
   says how a row becomes its protobuf message and what a read adds after (a user's groups, a
   group's members). The resource checks every write makes are here too. */
#ifndef DIR_SCIM_ROWS_H
#define DIR_SCIM_ROWS_H
#include "dir_rpc.h"

typedef struct {
    const char *from;      /* the table with its alias: "scim_users u" */
    const char *columns;   /* the SELECT list of_row reads */
    const char *not_found; /* NOT_FOUND's description */
    /* The row as a new message; NULL when out of memory. */
    void *(*of_row)(dir_db_stmt_t *stmt);
    /* What a read adds to item once its statement is done (with details: what the request
       asked for more); 0, or -1. NULL: nothing. */
    int (*complete)(dir_t *dir, void *item, bool details);
    void (*free)(void *item);
} dir_scim_kind_t;

/* The item id of directory_id, not deleted, into *item_p: 0; NULL with NOT_FOUND (required)
   or 0 (not required) when there is none; -1 with err when the database failed. */
int dir_scim_rows_read(dir_t *dir, const dir_scim_kind_t *kind, const char *directory_id,
                       const char *id, bool details, bool required, void **item_p,
                       dir_error_t *err);

/* A page of directory_id's items (not deleted) after seq after, at most limit, that where
   picks (SQL with ?4 for value; "?4 IS NULL" for all), into a new array *items_p of *n_p,
   *more_p saying whether another follows. 0, or -1 with err. */
int dir_scim_rows_page(dir_t *dir, const dir_scim_kind_t *kind, const char *where,
                       const char *directory_id, int64_t after, int32_t limit,
                       const char *value, bool details, void ***items_p, size_t *n_p,
                       bool *more_p, dir_error_t *err);

/* resource_json is a JSON object of at most DIR_SCIM_RESOURCE_MAX bytes: 0, or -1 with err. */
int dir_scim_rows_resource_ok(const char *resource_json, dir_error_t *err);

void dir_scim_rows_test(bool verbose);
#endif
