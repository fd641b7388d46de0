/* dir_scim_rows: reads of SCIM users and groups, and the resource check of their writes. */
#include "scim/dir_scim_rows.h"
#include "scim/dir_scim_users.h"
#include "sso_test.h"

int dir_scim_rows_read(dir_t *dir, const dir_scim_kind_t *kind, const char *directory_id,
                       const char *id, bool details, bool required, void **item_p,
                       dir_error_t *err)
{
    *item_p = NULL;
    char sql[768];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ? AND directory_id = ? AND "
             "deleted_at IS NULL", kind->columns, kind->from);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, sql, "ss", id, directory_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        *item_p = kind->of_row(stmt);
    dir_db_release(stmt);
    if (step == DIR_DB_DONE) {
        if (!required)
            return 0;
        dir_rpc_error(err, "not_found", "%s", kind->not_found);
        return -1;
    }
    if (step == DIR_DB_ROW && *item_p
        && (!kind->complete || kind->complete(dir, *item_p, details) == 0))
        return 0;
    if (*item_p)
        kind->free(*item_p);
    *item_p = NULL;
    dir_server_error(err);
    return -1;
}

int dir_scim_rows_page(dir_t *dir, const dir_scim_kind_t *kind, const char *where,
                       const char *directory_id, int64_t after, int32_t limit,
                       const char *value, bool details, void ***items_p, size_t *n_p,
                       bool *more_p, dir_error_t *err)
{
    *items_p = NULL;
    *n_p = 0;
    *more_p = false;
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE directory_id = ?1 AND deleted_at IS NULL "
             "AND seq > ?2 AND %s ORDER BY seq LIMIT ?3", kind->columns, kind->from, where);
    /* One more than the page tells whether another follows. */
    dir_db_stmt_t *stmt = dir_db_query(dir->db, sql, "siis", directory_id, after,
                                       (int64_t) limit + 1, value);
    void **items = limit > 0 ? calloc((size_t) limit, sizeof *items) : NULL;
    size_t n = 0;
    int step = stmt && items ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW) {
        if (n == (size_t) limit) {
            *more_p = true;
            step = DIR_DB_DONE;
        }
        else if (!(items[n++] = kind->of_row(stmt)))
            step = DIR_DB_ERROR;
    }
    dir_db_release(stmt);
    /* The caller's reply owns what was made, even on a failure, and frees it with itself. */
    *items_p = items;
    *n_p = items ? n : 0;
    for (size_t i = 0; kind->complete && step == DIR_DB_DONE && i < n; i++)
        if (kind->complete(dir, items[i], details) != 0)
            step = DIR_DB_ERROR;
    if (step == DIR_DB_DONE)
        return 0;
    dir_server_error(err);
    return -1;
}

int dir_scim_rows_resource_ok(const char *resource_json, dir_error_t *err)
{
    size_t len = resource_json ? strlen(resource_json) : 0;
    json_t *resource = len && len <= DIR_SCIM_RESOURCE_MAX
                           ? json_loadb(resource_json, len, JSON_REJECT_DUPLICATES, NULL)
                           : NULL;
    bool object = json_is_object(resource);
    json_decref(resource);
    if (object)
        return 0;
    dir_rpc_error(err, "invalid_request", "resource_json is a JSON object of at most %d bytes",
                  DIR_SCIM_RESOURCE_MAX);
    return -1;
}

void dir_scim_rows_test(bool verbose)
{
    (void) verbose;
    /* The reads are proven through dir_scim_users' and dir_scim_groups' self-tests; here the
       resource check: an object within the cap, nothing else. */
    dir_error_t err = {0};
    SSO_CHECK(dir_scim_rows_resource_ok("{}", &err) == 0);
    SSO_CHECK(dir_scim_rows_resource_ok("{\"a\":[1]}", &err) == 0);
    const char *bad[] = {NULL, "", "[]", "1", "{", "{\"a\":1,\"a\":2}", "{} x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        SSO_CHECK(dir_scim_rows_resource_ok(bad[i], &err) == -1
                  && !strcmp(err.code, "invalid_request"));
    }
    /* At the cap an object passes; one byte more is refused. */
    char *text = malloc(DIR_SCIM_RESOURCE_MAX + 2);
    if (text) {
        memset(text, ' ', DIR_SCIM_RESOURCE_MAX + 1);
        text[0] = '{';
        text[DIR_SCIM_RESOURCE_MAX - 1] = '}';
        text[DIR_SCIM_RESOURCE_MAX] = '\0';
        SSO_CHECK(dir_scim_rows_resource_ok(text, &err) == 0);
        text[DIR_SCIM_RESOURCE_MAX - 1] = ' ';
        text[DIR_SCIM_RESOURCE_MAX] = '}';
        text[DIR_SCIM_RESOURCE_MAX + 1] = '\0';
        SSO_CHECK(dir_scim_rows_resource_ok(text, &err) == -1);
        free(text);
    }
}
