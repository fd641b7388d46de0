/* dir_scim_groups: the SCIM service's groups and their members, read and written over the
   bus. */
#include "scim/dir_scim_groups.h"
#include "dir_testkit.h"
#include "scim/dir_scim_rows.h"
#include "scim/dir_scim_sync.h"
#include "scim/dir_scim_users.h"
#include "sso_crypto.h"
#include "sso_test.h"

#define S_COLUMNS                                                                            \
    "g.id, g.display_name, g.external_id, g.resource_json, g.version, g.created_at, "        \
    "g.updated_at, g.seq, (SELECT count(*) FROM scim_group_members m WHERE m.group_id = g.id)"
#define S_NOT_FOUND "no such group in this directory"

/* The row of stmt (S_COLUMNS) as a new ScimGroup; NULL when out of memory. */
static Sso__ScimGroup *s_group_of_row(dir_db_stmt_t *stmt)
{
    Sso__ScimGroup *group = malloc(sizeof *group);
    if (!group)
        return NULL;
    sso__scim_group__init(group);
    group->id = dir_rpc_dup(dir_db_text(stmt, 0));
    group->display_name = dir_rpc_dup(dir_db_text(stmt, 1));
    group->external_id = dir_rpc_dup(dir_db_text(stmt, 2));
    group->resource_json = dir_rpc_dup(dir_db_text(stmt, 3));
    group->version = dir_db_int64(stmt, 4);
    group->created_at = dir_db_int64(stmt, 5);
    group->updated_at = dir_db_int64(stmt, 6);
    group->seq = dir_db_int64(stmt, 7);
    group->member_count = dir_db_int64(stmt, 8);
    return group;
}

/* Fills group's members, in the order added, each with its user's displayName (else
   userName). 0, or -1. */
static int s_members_of(dir_t *dir, Sso__ScimGroup *group)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT m.user_id, coalesce(u.display_name, "
                                                "u.user_name) FROM scim_group_members m JOIN "
                                                "scim_users u ON u.id = m.user_id WHERE "
                                                "m.group_id = ? ORDER BY m.position, m.user_id",
                                       "s", group->id);
    size_t cap = (size_t) (group->member_count > 0 ? group->member_count : 0);
    group->members = cap ? calloc(cap, sizeof *group->members) : NULL;
    int step = stmt && (!cap || group->members) ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW) {
        Sso__ScimMember *member = group->n_members < cap ? malloc(sizeof *member) : NULL;
        if (!member) {
            step = DIR_DB_ERROR; /* more rows than counted: read in the same transaction */
            break;
        }
        sso__scim_member__init(member);
        member->user_id = dir_rpc_dup(dir_db_text(stmt, 0));
        member->display = dir_rpc_dup(dir_db_text(stmt, 1));
        group->members[group->n_members++] = member;
    }
    dir_db_release(stmt);
    return step == DIR_DB_DONE ? 0 : -1;
}

static int s_complete(dir_t *dir, void *group, bool with_members)
{
    return with_members ? s_members_of(dir, group) : 0;
}

static void s_free(void *group)
{
    sso__scim_group__free_unpacked(group, NULL);
}

static void *s_of_row(dir_db_stmt_t *stmt)
{
    return s_group_of_row(stmt);
}

static const dir_scim_kind_t s_groups = {"scim_groups g", S_COLUMNS, S_NOT_FOUND, s_of_row,
                                         s_complete, s_free};

/* The group id of directory_id (not deleted), with its members when asked, into *group_p;
   NOT_FOUND when there is no such group. 0, or -1 with err. */
static int s_found(dir_t *dir, const char *directory_id, const char *id, bool with_members,
                   Sso__ScimGroup **group_p, dir_error_t *err)
{
    void *group = NULL;
    int rc = dir_scim_rows_read(dir, &s_groups, directory_id, id, with_members, true, &group,
                                err);
    *group_p = group;
    return rc;
}

/* The group and the member ids of a write within their caps. 0, or -1 with err. */
static int s_writable(const Sso__ScimGroupWrite *in, bool create, dir_error_t *err)
{
    const Sso__ScimGroup *g = in->group;
    if (dir_scim_ids(in->directory_id, create ? NULL : (g ? g->id : ""), err) != 0)
        return -1;
    if (!g || !dir_rpc_text(g->display_name, 1, DIR_SCIM_TEXT_MAX)
        || !dir_rpc_text(g->external_id, 0, DIR_SCIM_TEXT_MAX)) {
        dir_rpc_error(err, "invalid_request", "display_name is text of 1 to %d bytes, and "
                      "external_id of at most that", DIR_SCIM_TEXT_MAX);
        return -1;
    }
    if (dir_scim_rows_resource_ok(g->resource_json, err) != 0)
        return -1;
    if (in->n_members_added > DIR_SCIM_GROUP_MEMBERS_MAX
        || in->n_members_removed > DIR_SCIM_GROUP_MEMBERS_MAX
        || (create && in->n_members_removed)) {
        dir_rpc_error(err, "invalid_request", "a write names at most %d members added and %d "
                      "removed (none removed on create)", DIR_SCIM_GROUP_MEMBERS_MAX,
                      DIR_SCIM_GROUP_MEMBERS_MAX);
        return -1;
    }
    for (size_t i = 0; i < in->n_members_added + in->n_members_removed; i++) {
        const char *member = i < in->n_members_added ? in->members_added[i]
                                                     : in->members_removed[i - in->n_members_added];
        if (!dir_rpc_text(member, 1, 64)) {
            dir_rpc_error(err, "invalid_request", "a member is a user id of 1 to 64 bytes");
            return -1;
        }
    }
    return 0;
}

/* ---- membership changes, inside a write ------------------------------------------------- */

/* One write's membership changes to a group: where the next member goes, and which webhooks
   the app listens to (asked once per write, not once per member). */
typedef struct {
    dir_t *dir;
    const char *directory_id;
    const char *group_id;
    const char *display_name;
    int64_t now;
    int64_t position;
    int wanted_added;
    int wanted_removed;
    char org[128];
    size_t added;
    size_t removed;
    dir_error_t *err;
} s_change_t;

static int s_change_init(s_change_t *change, dir_t *dir, const char *directory_id,
                         const char *group_id, const char *display_name, int64_t now,
                         dir_error_t *err)
{
    memset(change, 0, sizeof *change);
    change->dir = dir;
    change->directory_id = directory_id;
    change->group_id = group_id;
    change->display_name = display_name;
    change->now = now;
    change->err = err;
    change->position = dir_db_int(dir->db, "SELECT coalesce(max(position), 0) + 1 FROM "
                                           "scim_group_members WHERE group_id = ?",
                                  "s", group_id);
    change->wanted_added = dir_scim_sync_wanted(dir, "group.user_added");
    change->wanted_removed = dir_scim_sync_wanted(dir, "group.user_removed");
    if (change->position < 1 || change->wanted_added < 0 || change->wanted_removed < 0)
        return -1;
    if ((change->wanted_added || change->wanted_removed)
        && dir_scim_sync_org(dir, directory_id, change->org, sizeof change->org) != 0)
        return -1;
    return 0;
}

/* ids as one JSON array of strings, the parameter of the set-based statements below (one
   statement for n members, not n: PostgreSQL pays a round trip per statement). NULL when out
   of memory. */
static char *s_id_list(char **ids, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (json_array_append_new(list, json_string(ids[i])) != 0)
            json_decref(list), list = NULL;
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return text;
}

/* The sync events (type) of the members added from position first on (list NULL), or of
   those listed (before they leave), in the order added; and their webhooks when wanted: the
   group's id and name, the user's id and userName. 0, or -1. */
static int s_member_events(s_change_t *change, const char *type, int64_t first,
                           const char *list, int wanted)
{
#define S_EVENTS                                                                             \
    "INSERT INTO scim_events (directory_id, type, resource_type, resource_id, at, detail) "  \
    "SELECT ?1, ?2, 'Group', ?3, ?4, json_object('user_id', m.user_id) FROM "                \
    "scim_group_members m WHERE m.group_id = ?3 AND "
#define S_USERS                                                                              \
    "SELECT m.user_id, u.user_name FROM scim_group_members m JOIN scim_users u ON u.id = "   \
    "m.user_id WHERE m.group_id = ?1 AND "
    dir_db_t *db = change->dir->db;
    int rc = list ? dir_db_run(db, NULL, S_EVENTS "m.user_id IN (SELECT j.value FROM "
                                                  "json_each(?5) AS j) ORDER BY m.position",
                               "sssis", change->directory_id, type, change->group_id,
                               change->now, list)
                  : dir_db_run(db, NULL, S_EVENTS "m.position >= ?5 ORDER BY m.position",
                               "sssii", change->directory_id, type, change->group_id,
                               change->now, first);
    if (rc != DIR_DB_OK)
        return -1;
    if (!wanted)
        return 0;
    /* Read first, then write: a statement's rows are not read while others write. Then all
       the webhooks in one emit, a constant number of statements, not a few per member. */
    json_t *fields_list = json_array();
    dir_db_stmt_t *stmt = !fields_list ? NULL
                          : list ? dir_db_query(db, S_USERS "m.user_id IN (SELECT j.value FROM "
                                                            "json_each(?2) AS j) ORDER BY "
                                                            "m.position",
                                                "ss", change->group_id, list)
                                 : dir_db_query(db, S_USERS "m.position >= ?2 ORDER BY "
                                                            "m.position",
                                                "si", change->group_id, first);
#undef S_EVENTS
#undef S_USERS
    int step = stmt ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW)
        if (json_array_append_new(fields_list,
                                  json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "group", "id",
                                            change->group_id, "display_name",
                                            change->display_name, "user", "id",
                                            dir_db_text(stmt, 0), "user_name",
                                            dir_db_text(stmt, 1)))
            != 0)
            step = DIR_DB_ERROR;
    dir_db_release(stmt);
    rc = step == DIR_DB_DONE ? dir_scim_sync_webhooks(change->dir, change->directory_id,
                                                      change->org, type, fields_list)
                             : -1;
    json_decref(fields_list);
    return rc;
}

/* ids join the group, in their order: each a user (not deleted) of the same directory, or
   INVALID_REQUEST naming the first that is not; a member already is no change. 0, or -1 with
   err set when the request is at fault. */
static int s_add(s_change_t *change, char **ids, size_t n)
{
    if (n == 0)
        return 0;
    dir_db_t *db = change->dir->db;
    char *list = s_id_list(ids, n);
    dir_db_stmt_t *stmt = list ? dir_db_query(db, "SELECT j.value FROM json_each(?1) AS j WHERE "
                                                  "NOT EXISTS (SELECT 1 FROM scim_users u WHERE "
                                                  "u.id = j.value AND u.directory_id = ?2 AND "
                                                  "u.deleted_at IS NULL) ORDER BY j.key LIMIT 1",
                                              "ss", list, change->directory_id)
                               : NULL;
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        dir_rpc_error(change->err, "invalid_request", "member %s is not a user of this "
                      "directory", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    int64_t first = change->position;
    int changes = 0;
    int rc = step == DIR_DB_DONE
                     && dir_db_run(db, &changes, "INSERT INTO scim_group_members (group_id, "
                                                 "user_id, position) SELECT ?1, j.value, ?2 + "
                                                 "j.key FROM json_each(?3) AS j WHERE EXISTS "
                                                 "(SELECT 1 FROM scim_users u WHERE u.id = "
                                                 "j.value AND u.directory_id = ?4 AND "
                                                 "u.deleted_at IS NULL) ON CONFLICT DO NOTHING",
                                   "siss", change->group_id, first, list,
                                   change->directory_id) == DIR_DB_OK
                 ? 0
                 : -1;
    free(list);
    if (rc != 0 || changes == 0)
        return rc;
    /* Positions leave gaps where an id was a member already (or a user deleted since the check
       above, by another directory): only their order counts. (EXISTS, not a join: SQLite
       would put the users outside and read the array once per user.) */
    change->position += (int64_t) n;
    change->added += (size_t) changes;
    return s_member_events(change, "group.user_added", first, NULL, change->wanted_added);
}

/* ids leave the group; a non-member is no change. The write holds the group's row (its
   version moved first), so the rows the events name are the rows deleted. 0, or -1. */
static int s_remove(s_change_t *change, char **ids, size_t n)
{
    if (n == 0)
        return 0;
    char *list = s_id_list(ids, n);
    int changes = 0;
    int rc = list && s_member_events(change, "group.user_removed", 0, list,
                                     change->wanted_removed) == 0
                     && dir_db_run(change->dir->db, &changes, "DELETE FROM scim_group_members "
                                                              "WHERE group_id = ?1 AND user_id "
                                                              "IN (SELECT j.value FROM "
                                                              "json_each(?2) AS j)",
                                   "ss", change->group_id, list) == DIR_DB_OK
                 ? 0
                 : -1;
    free(list);
    change->removed += (size_t) changes;
    return rc;
}

/* The membership becomes exactly ids (PUT, and create): the members not among them leave,
   the others join. Sets keep it O(n). 0, or -1. */
static int s_replace_members(s_change_t *change, char **ids, size_t n_ids)
{
    zhashx_t *wanted = zhashx_new();
    zhashx_t *current = zhashx_new();
    int rc = wanted && current ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n_ids; i++)
        if (zhashx_insert(wanted, ids[i], (void *) 1) == -1 && !zhashx_lookup(wanted, ids[i]))
            rc = -1;
    dir_db_stmt_t *stmt = rc == 0 ? dir_db_query(change->dir->db, "SELECT user_id FROM "
                                                                  "scim_group_members WHERE "
                                                                  "group_id = ?",
                                                 "s", change->group_id)
                                  : NULL;
    int step = stmt ? DIR_DB_ROW : DIR_DB_ERROR;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW)
        zhashx_insert(current, dir_db_text(stmt, 0), (void *) 1);
    dir_db_release(stmt);
    if (step != DIR_DB_DONE || zhashx_size(current) > DIR_SCIM_GROUP_MEMBERS_MAX)
        rc = -1;
    /* Borrowed ids: those of current's keys and of the request. */
    size_t n_current = current ? zhashx_size(current) : 0;
    char **leaving = rc == 0 ? calloc(n_current + 1, sizeof *leaving) : NULL;
    char **joining = rc == 0 ? calloc(n_ids + 1, sizeof *joining) : NULL;
    size_t n_leaving = 0, n_joining = 0;
    if (!leaving || !joining)
        rc = -1;
    for (void *item = rc == 0 ? zhashx_first(current) : NULL; item; item = zhashx_next(current)) {
        const char *id = zhashx_cursor(current);
        if (!zhashx_lookup(wanted, id))
            leaving[n_leaving++] = (char *) id;
    }
    for (size_t i = 0; rc == 0 && i < n_ids; i++)
        if (!zhashx_lookup(current, ids[i]))
            joining[n_joining++] = ids[i];
    if (rc == 0)
        rc = s_remove(change, leaving, n_leaving);
    if (rc == 0)
        rc = s_add(change, joining, n_joining);
    free(leaving);
    free(joining);
    zhashx_destroy(&wanted);
    zhashx_destroy(&current);
    return rc;
}

/* The membership's size within the cap after a write. 0, or -1 with err. */
static int s_within_cap(s_change_t *change)
{
    int count = dir_db_int(change->dir->db, "SELECT count(*) FROM scim_group_members WHERE "
                                            "group_id = ?", "s", change->group_id);
    if (count < 0)
        return -1;
    if (count > DIR_SCIM_GROUP_MEMBERS_MAX) {
        dir_rpc_error(change->err, "invalid_request", "a group has at most %d members",
                      DIR_SCIM_GROUP_MEMBERS_MAX);
        return -1;
    }
    return 0;
}

/* The sync event of a change to the group itself, and its webhook (dir_scim_sync_change):
   its name, version and what extra adds (borrowed, or NULL). */
static int s_group_event(dir_t *dir, const char *directory_id, const char *type,
                         const char *id, const char *display_name, int64_t version,
                         int64_t now, json_t *extra, const char *resource_json)
{
    json_t *detail = json_pack("{s:s, s:I}", "display_name", display_name, "version",
                               (json_int_t) version);
    int rc = detail && (!extra || json_object_update(detail, extra) == 0) ? 0 : -1;
    if (rc == 0)
        rc = dir_scim_sync_change(dir, directory_id, type, "group", id, now, detail,
                                  resource_json);
    json_decref(detail);
    return rc;
}

/* Ends a write: commits and reads the group back (without members) into out, or rolls
   back. rc: 0 so far, or -1. */
static int s_finish(dir_t *dir, int rc, const char *directory_id, const char *id,
                    Sso__ScimGroupReply *out, dir_error_t *err)
{
    if (rc == 0 && dir_db_commit(dir->db) == 0)
        return s_found(dir, directory_id, id, false, &out->group, err);
    dir_db_rollback(dir->db);
    if (!err->code)
        dir_server_error(err);
    return -1;
}

/* ---- operations -------------------------------------------------------------------------- */

DIR_RPC_FN(dir_scim_groups_get, Sso__ScimGroupGetRequest, Sso__ScimGroupReply)
{
    if (dir_scim_ids(in->directory_id, in->id, err) != 0)
        return -1;
    return s_found(dir, in->directory_id, in->id, in->with_members, &out->group, err);
}

DIR_RPC_FN(dir_scim_groups_list, Sso__ScimGroupListRequest, Sso__ScimGroupListReply)
{
    static const char *const where[] = {
        [SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL] = "CAST(?4 AS TEXT) IS NULL",
        [SSO__SCIM_GROUP_KEY__SCIM_GROUP_DISPLAY_NAME] = "display_name_lower = lower(?4)",
        [SSO__SCIM_GROUP_KEY__SCIM_GROUP_EXTERNAL_ID] = "external_id = ?4",
        [SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER] = ("g.id IN (SELECT group_id FROM "
                                                    "scim_group_members WHERE user_id = ?4)"),
    };
    if (dir_scim_ids(in->directory_id, NULL, err) != 0)
        return -1;
    size_t key = (size_t) in->key;
    int32_t max = in->with_members ? DIR_SCIM_GROUP_PAGE_WITH_MEMBERS : DIR_SCIM_LIST_MAX;
    if (key >= sizeof where / sizeof *where || in->limit < 1 || in->limit > DIR_SCIM_LIST_MAX
        || in->after_seq < 0 || !dir_rpc_text(in->value, key ? 1 : 0, DIR_SCIM_TEXT_MAX)) {
        dir_rpc_error(err, "invalid_request", "key is a ScimGroupKey (with a value of 1 to %d "
                      "bytes), limit 1 to %d, after_seq not negative", DIR_SCIM_TEXT_MAX,
                      DIR_SCIM_LIST_MAX);
        return -1;
    }
    void **groups = NULL;
    bool more = false;
    int rc = dir_scim_rows_page(dir, &s_groups, where[key], in->directory_id, in->after_seq,
                                in->limit < max ? in->limit : max, key ? in->value : NULL,
                                in->with_members, &groups, &out->n_groups, &more, err);
    out->groups = (Sso__ScimGroup **) groups;
    out->more = more;
    return rc;
}

DIR_RPC_FN(dir_scim_groups_create, Sso__ScimGroupWrite, Sso__ScimGroupReply)
{
    if (s_writable(in, true, err) != 0)
        return -1;
    const Sso__ScimGroup *g = in->group;
    char *id = sso_random_id("scg_", 12);
    int64_t now = dir_now();
    int changes = 0;
    int rc = id && dir_db_begin(dir->db) == 0 ? 0 : -1;
    if (rc == 0
        && dir_db_run(dir->db, &changes, "INSERT INTO scim_groups (id, directory_id, "
                                         "display_name, display_name_lower, external_id, "
                                         "resource_json, version, created_at, updated_at) "
                                         "SELECT ?1, id, ?2, lower(?2), ?3, ?4, 1, ?5, ?5 FROM "
                                         "scim_directories WHERE id = ?6",
                      "ssssis", id, g->display_name, dir_rpc_or_null(g->external_id),
                      g->resource_json, now, in->directory_id) != DIR_DB_OK)
        rc = -1;
    if (rc == 0 && changes == 0) {
        dir_rpc_error(err, "not_found", "no such directory");
        rc = -1;
    }
    if (rc == 0)
        rc = s_group_event(dir, in->directory_id, "group.created", id, g->display_name, 1, now,
                           NULL, g->resource_json);
    s_change_t change;
    if (rc == 0)
        rc = s_change_init(&change, dir, in->directory_id, id, g->display_name, now, err);
    if (rc == 0)
        rc = s_add(&change, in->members_added, in->n_members_added);
    rc = s_finish(dir, rc, in->directory_id, id, out, err);
    free(id);
    return rc;
}

DIR_RPC_FN(dir_scim_groups_update, Sso__ScimGroupWrite, Sso__ScimGroupReply)
{
    if (s_writable(in, false, err) != 0)
        return -1;
    const Sso__ScimGroup *g = in->group;
    Sso__ScimGroup *before = NULL;
    int64_t now = dir_now();
    int changes = 0;
    int rc = dir_db_begin(dir->db) == 0 ? 0 : -1;
    if (rc == 0 && s_found(dir, in->directory_id, g->id, false, &before, err) != 0)
        rc = -1;
    if (rc == 0
        && dir_db_run(dir->db, &changes, "UPDATE scim_groups SET display_name = ?1, "
                                         "display_name_lower = lower(?1), external_id = ?2, "
                                         "resource_json = ?3, version = version + 1, "
                                         "updated_at = ?4 WHERE id = ?5 AND directory_id = ?6 "
                                         "AND deleted_at IS NULL AND version = ?7",
                      "sssissi", g->display_name, dir_rpc_or_null(g->external_id),
                      g->resource_json, now, g->id, in->directory_id, in->expected_version)
               != DIR_DB_OK)
        rc = -1;
    if (rc == 0 && changes == 0) {
        dir_rpc_error(err, "stale", "the group is at version %lld now",
                      (long long) before->version);
        rc = -1;
    }
    s_change_t change;
    if (rc == 0)
        rc = s_change_init(&change, dir, in->directory_id, g->id, g->display_name, now, err);
    if (rc == 0 && in->members_replace)
        rc = s_replace_members(&change, in->members_added, in->n_members_added);
    if (rc == 0 && !in->members_replace)
        rc = s_remove(&change, in->members_removed, in->n_members_removed);
    if (rc == 0 && !in->members_replace)
        rc = s_add(&change, in->members_added, in->n_members_added);
    if (rc == 0)
        rc = s_within_cap(&change);
    /* group.updated says what changed: the group itself, or how many members came and went. */
    bool itself = before && (strcmp(before->display_name, g->display_name) != 0
                             || strcmp(before->external_id, g->external_id ? g->external_id : "")
                                    != 0
                             || strcmp(before->resource_json, g->resource_json) != 0);
    if (rc == 0 && (itself || change.added || change.removed)) {
        json_t *extra = json_pack("{s:I, s:I}", "members_added", (json_int_t) change.added,
                                  "members_removed", (json_int_t) change.removed);
        rc = extra ? s_group_event(dir, in->directory_id, "group.updated", g->id,
                                   g->display_name, in->expected_version + 1, now, extra,
                                   g->resource_json)
                   : -1;
        json_decref(extra);
    }
    if (before)
        sso__scim_group__free_unpacked(before, NULL);
    return s_finish(dir, rc, in->directory_id, g->id, out, err);
}

DIR_RPC_FN(dir_scim_groups_delete, Sso__ScimGroupDeleteRequest, Sso__ScimGroupReply)
{
    if (dir_scim_ids(in->directory_id, in->id, err) != 0)
        return -1;
    Sso__ScimGroup *group = NULL;
    int64_t now = dir_now();
    int changes = 0;
    int rc = dir_db_begin(dir->db) == 0 ? 0 : -1;
    if (rc == 0 && s_found(dir, in->directory_id, in->id, false, &group, err) != 0)
        rc = -1;
    if (rc == 0
        && dir_db_run(dir->db, &changes, "UPDATE scim_groups SET deleted_at = ?1, updated_at = "
                                         "?1, version = version + 1 WHERE id = ?2 AND "
                                         "directory_id = ?3 AND deleted_at IS NULL AND "
                                         "(?4 = 0 OR version = ?4)",
                      "issi", now, in->id, in->directory_id, in->expected_version) != DIR_DB_OK)
        rc = -1;
    if (rc == 0 && changes == 0) {
        dir_rpc_error(err, "stale", "the group is at version %lld now",
                      (long long) group->version);
        rc = -1;
    }
    if (rc == 0)
        rc = s_group_event(dir, in->directory_id, "group.deleted", in->id, group->display_name,
                           group->version + 1, now, NULL, NULL);
    if (rc == 0 && dir_db_commit(dir->db) == 0) {
        group->version++;
        out->group = group;
        return 0;
    }
    dir_db_rollback(dir->db);
    if (group)
        sso__scim_group__free_unpacked(group, NULL);
    if (!err->code)
        dir_server_error(err);
    return -1;
}

int dir_scim_groups_user_deleted(dir_t *dir, const char *directory_id, const char *user_id,
                                 int64_t now)
{
    /* The groups first: their rows change below. */
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT g.id, g.display_name FROM "
                                                "scim_group_members m JOIN scim_groups g ON "
                                                "g.id = m.group_id WHERE m.user_id = ? AND "
                                                "g.directory_id = ? AND g.deleted_at IS NULL",
                                       "ss", user_id, directory_id);
    zlistx_t *groups = zlistx_new();
    int step = stmt && groups ? DIR_DB_ROW : DIR_DB_ERROR;
    if (groups) {
        zlistx_set_duplicator(groups, (zlistx_duplicator_fn *) strdup);
        zlistx_set_destructor(groups, (zlistx_destructor_fn *) zstr_free);
    }
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW)
        if (!zlistx_add_end(groups, (void *) dir_db_text(stmt, 0))
            || !zlistx_add_end(groups, (void *) dir_db_text(stmt, 1)))
            step = DIR_DB_ERROR;
    dir_db_release(stmt);
    int rc = step == DIR_DB_DONE ? 0 : -1;
    dir_error_t err = {0};
    for (const char *id = groups ? zlistx_first(groups) : NULL; rc == 0 && id;
         id = zlistx_next(groups)) {
        const char *name = zlistx_next(groups);
        s_change_t change;
        /* The group's row first, as every membership write takes it (s_remove). */
        rc = dir_db_run(dir->db, NULL, "UPDATE scim_groups SET version = version + 1, "
                                       "updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                        "is", now, id) == DIR_DB_OK
                 ? 0
                 : -1;
        if (rc == 0)
            rc = s_change_init(&change, dir, directory_id, id, name, now, &err);
        if (rc == 0)
            rc = s_remove(&change, (char **) &user_id, 1);
    }
    zlistx_destroy(&groups);
    return rc;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* A user of directory_id made over the bus; its id into id. */
static void s_test_user(dir_testkit_t *kit, const char *directory_id, const char *user_name,
                        char id[64])
{
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    user.user_name = (char *) user_name;
    user.email = (char *) user_name;
    user.display_name = (char *) (strcmp(user_name, "b@x.test") ? "" : "Bee");
    user.active = true;
    user.resource_json = "{}";
    Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
    write.directory_id = (char *) directory_id;
    write.user = &user;
    kit->caller = "scim";
    Sso__ScimUserReply *reply = dir_testkit_rpc(kit, "ScimWrites.ScimUserCreate", &write.base);
    kit->caller = NULL;
    SSO_CHECK(reply && !reply->error && reply->user);
    snprintf(id, 64, "%s", reply && reply->user ? reply->user->id : "");
    if (reply)
        sso__scim_user_reply__free_unpacked(reply, NULL);
}

/* ScimWrites.<rpc> of a group; the reply (free it). */
static Sso__ScimGroupReply *s_test_write(dir_testkit_t *kit, const char *rpc,
                                         const char *directory_id, const char *id,
                                         const char *display_name, int64_t expected,
                                         bool replace, const char **added, size_t n_added,
                                         const char **removed, size_t n_removed)
{
    Sso__ScimGroup group = SSO__SCIM_GROUP__INIT;
    group.id = (char *) id;
    group.display_name = (char *) display_name;
    group.external_id = "ext-g";
    group.resource_json = "{\"displayName\":\"x\"}";
    Sso__ScimGroupWrite write = SSO__SCIM_GROUP_WRITE__INIT;
    write.directory_id = (char *) directory_id;
    write.group = &group;
    write.expected_version = expected;
    write.members_replace = replace;
    write.members_added = (char **) added;
    write.n_members_added = n_added;
    write.members_removed = (char **) removed;
    write.n_members_removed = n_removed;
    kit->caller = "scim";
    Sso__ScimGroupReply *reply = dir_testkit_rpc(kit, rpc, &write.base);
    kit->caller = NULL;
    return reply;
}

/* The group's members' ids (","-joined) and displays ("|"-joined) into out, or "none". */
static void s_test_members(dir_testkit_t *kit, const char *directory_id, const char *id,
                           char *out, size_t size)
{
    Sso__ScimGroupGetRequest get = SSO__SCIM_GROUP_GET_REQUEST__INIT;
    get.directory_id = (char *) directory_id;
    get.id = (char *) id;
    get.with_members = true;
    kit->caller = "scim";
    Sso__ScimGroupReply *reply = dir_testkit_rpc(kit, "ScimReads.ScimGroupGet", &get.base);
    kit->caller = NULL;
    snprintf(out, size, "none");
    size_t used = 0;
    for (size_t i = 0; reply && reply->group && i < reply->group->n_members && used < size; i++)
        used += (size_t) snprintf(out + used, size - used, "%s%s=%s", i ? "," : "",
                                  reply->group->members[i]->user_id,
                                  reply->group->members[i]->display);
    if (reply && reply->group && !reply->group->n_members)
        snprintf(out, size, "empty");
    SSO_CHECK(!reply || !reply->group
              || reply->group->member_count == (int64_t) reply->group->n_members);
    if (reply)
        sso__scim_group_reply__free_unpacked(reply, NULL);
}

/* ScimReads.ScimGroupList by key; the group names (","-joined) into out; the reply's more. */
static bool s_test_list(dir_testkit_t *kit, const char *directory_id, Sso__ScimGroupKey key,
                        const char *value, int32_t limit, bool with_members, size_t *n,
                        char *out, size_t size)
{
    Sso__ScimGroupListRequest list = SSO__SCIM_GROUP_LIST_REQUEST__INIT;
    list.directory_id = (char *) directory_id;
    list.key = key;
    list.value = (char *) value;
    list.limit = limit;
    list.with_members = with_members;
    kit->caller = "scim";
    Sso__ScimGroupListReply *reply = dir_testkit_rpc(kit, "ScimReads.ScimGroupList", &list.base);
    kit->caller = NULL;
    SSO_CHECK(reply && !reply->error);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; reply && i < reply->n_groups && used < size; i++)
        used += (size_t) snprintf(out + used, size - used, "%s%s", i ? "," : "",
                                  reply->groups[i]->display_name);
    *n = reply ? reply->n_groups : 0;
    bool more = reply && reply->more;
    if (reply)
        sso__scim_group_list_reply__free_unpacked(reply, NULL);
    return more;
}

/* Whether reply is a success (version) or the error named. */
static bool s_test_ok(Sso__ScimGroupReply *reply, int64_t version)
{
    bool ok = reply && !reply->error && reply->group && reply->group->version == version;

    if (reply)
        sso__scim_group_reply__free_unpacked(reply, NULL);
    return ok;
}

static bool s_test_refused(Sso__ScimGroupReply *reply, const char *error)
{
    bool refused = reply && !strcmp(dir_testkit_error(reply), error);
    if (reply)
        sso__scim_group_reply__free_unpacked(reply, NULL);
    return refused;
}

void dir_scim_groups_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    if (dir_testkit_open(&kit) != 0)
        return;
    dir_db_t *db = kit.dir->db;
    char org[64] = "", path[160], a[64] = "", b[64] = "", text[512];
    SSO_CHECK(dir_testkit_field(&kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"G\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", a, sizeof a) == 201);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", b, sizeof b) == 201);
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/webhooks", "{\"url\":\"https://app.test/"
                               "h\",\"events\":[\"directory.group.user_added\",\"directory."
                               "group.deleted\"]}", NULL) == 201);
    char u1[64], u2[64], u3[64], other[64];
    s_test_user(&kit, a, "a@x.test", u1);
    s_test_user(&kit, a, "b@x.test", u2);
    s_test_user(&kit, a, "c@x.test", u3);
    s_test_user(&kit, b, "a@x.test", other);

    /* Create with members (one named twice): version 1, two members in order, displays. */
    const char *first[] = {u2, u1, u2};
    Sso__ScimGroupReply *made = s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL,
                                             "Engineering", 0, true, first, 3, NULL, 0);
    SSO_CHECK(made && !made->error && made->group && !strncmp(made->group->id, "scg_", 4)
              && made->group->version == 1 && made->group->member_count == 2
              && made->group->n_members == 0 && !strcmp(made->group->external_id, "ext-g"));
    char g[64] = "";
    snprintf(g, sizeof g, "%s", made && made->group ? made->group->id : "");
    if (made)
        sso__scim_group_reply__free_unpacked(made, NULL);
    char want[256];
    snprintf(want, sizeof want, "%s=Bee,%s=a@x.test", u2, u1);
    s_test_members(&kit, a, g, text, sizeof text);
    SSO_CHECK(!strcmp(text, want));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE resource_id = ? AND type = "
                             "'group.user_added'", "s", g) == 2);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE type = "
                             "'directory.group.user_added' AND json_extract(payload, "
                             "'$.data.group.display_name') = 'Engineering' AND stream = ?",
                         "s", org) == 2);
    /* In the order added (u2 first), each with its user's id and userName. */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages m, webhook_messages n WHERE "
                             "m.type = 'directory.group.user_added' AND n.type = m.type AND "
                             "json_extract(m.payload, '$.data.user.id') = ? AND "
                             "json_extract(m.payload, '$.data.user.user_name') = 'b@x.test' AND "
                             "json_extract(n.payload, '$.data.user.id') = ? AND "
                             "json_extract(n.payload, '$.data.user.user_name') = 'a@x.test' AND "
                             "m.seq < n.seq", "ss", u2, u1) == 1);

    /* Another directory's user, an unknown one: refused, nothing written. */
    int groups = dir_db_int(db, "SELECT count(*) FROM scim_groups", NULL);
    int events = dir_db_int(db, "SELECT count(*) FROM scim_events", NULL);
    const char *foreign[] = {u1, other};
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL, "X", 0,
                                          true, foreign, 2, NULL, 0), "invalid_request"));
    const char *unknown[] = {"scu_nobody"};
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", a, g,
                                          "Engineering", 1, false, unknown, 1, NULL, 0),
                             "invalid_request"));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_groups", NULL) == groups
              && dir_db_int(db, "SELECT count(*) FROM scim_events", NULL) == events
              && dir_db_int(db, "SELECT version FROM scim_groups WHERE id = ?", "s", g) == 1);
    /* Bad writes: no name, a bad resource, too many ids, an empty id, a removal on create. */
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL, "", 0,
                                          true, NULL, 0, NULL, 0), "invalid_request"));
    const char *empty[] = {""};
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL, "X", 0,
                                          true, empty, 1, NULL, 0), "invalid_request"));
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL, "X", 0,
                                          true, NULL, 0, first, 1), "invalid_request"));
    size_t many = DIR_SCIM_GROUP_MEMBERS_MAX + 1;
    const char **ids = malloc(many * sizeof *ids);
    for (size_t i = 0; ids && i < many; i++)
        ids[i] = u1;
    SSO_CHECK(ids && s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL,
                                                 "X", 0, true, ids, many, NULL, 0),
                                    "invalid_request"));
    free(ids);
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupCreate", "dir_none", NULL,
                                          "X", 0, true, NULL, 0, NULL, 0), "not_found"));

    /* PATCH-like update: u1 leaves, u3 joins; then a stale version is refused. */
    const char *join[] = {u3}, *leave[] = {u1};
    SSO_CHECK(s_test_ok(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", a, g, "Engineering",
                                     1, false, join, 1, leave, 1), 2));
    snprintf(want, sizeof want, "%s=Bee,%s=c@x.test", u2, u3);
    s_test_members(&kit, a, g, text, sizeof text);
    SSO_CHECK(!strcmp(text, want));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE resource_id = ? AND type = "
                             "'group.updated' AND json_extract(detail, '$.members_added') = 1 "
                             "AND json_extract(detail, '$.members_removed') = 1 AND "
                             "json_extract(detail, '$.version') = 2", "s", g) == 1);
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", a, g, "Renamed",
                                          1, false, NULL, 0, NULL, 0), "stale"));
    SSO_CHECK(s_test_refused(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", b, g, "Renamed",
                                          2, false, NULL, 0, NULL, 0), "not_found"));
    /* PUT: the membership becomes exactly u1, u3 (u2 leaves, u3 stays, u1 joins last). */
    const char *exactly[] = {u3, u1};
    SSO_CHECK(s_test_ok(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", a, g, "Engineering",
                                     2, true, exactly, 2, NULL, 0), 3));
    snprintf(want, sizeof want, "%s=c@x.test,%s=a@x.test", u3, u1);
    s_test_members(&kit, a, g, text, sizeof text);
    SSO_CHECK(!strcmp(text, want));
    /* A rename alone: group.updated with no member counts changed. */
    SSO_CHECK(s_test_ok(s_test_write(&kit, "ScimWrites.ScimGroupUpdate", a, g, "Eng", 3, false,
                                     NULL, 0, NULL, 0), 4));

    /* Lists: by name in any case, by externalId, by member; pages; another directory. */
    made = s_test_write(&kit, "ScimWrites.ScimGroupCreate", a, NULL, "Sales", 0, true, NULL, 0,
                        NULL, 0);
    SSO_CHECK(made && !made->error && made->group && made->group->member_count == 0);
    char sales[64] = "";
    snprintf(sales, sizeof sales, "%s", made && made->group ? made->group->id : "");
    if (made)
        sso__scim_group_reply__free_unpacked(made, NULL);
    size_t n = 0;
    SSO_CHECK(!s_test_list(&kit, a, SSO__SCIM_GROUP_KEY__SCIM_GROUP_DISPLAY_NAME, "eNG", 10,
                           false, &n, text, sizeof text) && !strcmp(text, "Eng"));
    SSO_CHECK(!s_test_list(&kit, a, SSO__SCIM_GROUP_KEY__SCIM_GROUP_EXTERNAL_ID, "ext-g", 10,
                           false, &n, text, sizeof text) && !strcmp(text, "Eng,Sales"));
    SSO_CHECK(!s_test_list(&kit, a, SSO__SCIM_GROUP_KEY__SCIM_GROUP_EXTERNAL_ID, "EXT-G", 10,
                           false, &n, text, sizeof text) && n == 0);
    SSO_CHECK(!s_test_list(&kit, a, SSO__SCIM_GROUP_KEY__SCIM_GROUP_MEMBER, u3, 10, true, &n,
                           text, sizeof text) && !strcmp(text, "Eng"));
    SSO_CHECK(s_test_list(&kit, a, SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, NULL, 1, false, &n,
                          text, sizeof text) && !strcmp(text, "Eng"));
    SSO_CHECK(!s_test_list(&kit, b, SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, NULL, 10, false, &n,
                           text, sizeof text) && n == 0);
    /* With members, a page holds at most DIR_SCIM_GROUP_PAGE_WITH_MEMBERS groups. */
    for (int i = 0; i <= DIR_SCIM_GROUP_PAGE_WITH_MEMBERS; i++)
        SSO_CHECK(s_test_ok(s_test_write(&kit, "ScimWrites.ScimGroupCreate", b, NULL, "Many",
                                         0, true, NULL, 0, NULL, 0), 1));
    SSO_CHECK(!s_test_list(&kit, b, SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, NULL, 500, false, &n,
                           text, sizeof text) && n == DIR_SCIM_GROUP_PAGE_WITH_MEMBERS + 1);
    SSO_CHECK(s_test_list(&kit, b, SSO__SCIM_GROUP_KEY__SCIM_GROUP_ALL, NULL, 500, true, &n,
                          text, sizeof text) && n == DIR_SCIM_GROUP_PAGE_WITH_MEMBERS);

    /* A user's reads carry its groups; a login too. */
    Sso__ScimUserGetRequest get_user = SSO__SCIM_USER_GET_REQUEST__INIT;
    get_user.directory_id = a;
    get_user.id = u3;
    kit.caller = "scim";
    Sso__ScimUserReply *user = dir_testkit_rpc(&kit, "ScimReads.ScimUserGet", &get_user.base);
    kit.caller = NULL;
    SSO_CHECK(user && user->user && user->user->n_groups == 1
              && !strcmp(user->user->groups[0]->group_id, g)
              && !strcmp(user->user->groups[0]->display_name, "Eng"));
    if (user)
        sso__scim_user_reply__free_unpacked(user, NULL);

    /* A deleted user leaves its groups: the group's version moves, group.user_removed. */
    Sso__ScimUserDeleteRequest del_user = SSO__SCIM_USER_DELETE_REQUEST__INIT;
    del_user.directory_id = a;
    del_user.id = u3;
    kit.caller = "scim";
    user = dir_testkit_rpc(&kit, "ScimWrites.ScimUserDelete", &del_user.base);
    kit.caller = NULL;
    SSO_CHECK(user && !user->error);
    if (user)
        sso__scim_user_reply__free_unpacked(user, NULL);
    snprintf(want, sizeof want, "%s=a@x.test", u1);
    s_test_members(&kit, a, g, text, sizeof text);
    SSO_CHECK(!strcmp(text, want));
    SSO_CHECK(dir_db_int(db, "SELECT version FROM scim_groups WHERE id = ?", "s", g) == 5);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE resource_id = ? AND type = "
                             "'group.user_removed' AND json_extract(detail, '$.user_id') = ?",
                         "ss", g, u3) == 1);

    dir_scim_login_t login;
    SSO_CHECK(dir_scim_users_login(kit.dir, org, "a@x.test", &login) == 0 && login.found
              && login.n_groups == 1 && !strcmp(login.groups[0], "Eng"));
    dir_scim_users_login_clear(&login);

    /* Delete: stale, then done (once); the group is gone from reads, its row kept. */
    Sso__ScimGroupDeleteRequest del = SSO__SCIM_GROUP_DELETE_REQUEST__INIT;
    del.directory_id = a;
    del.id = g;
    del.expected_version = 4;
    kit.caller = "scim";
    SSO_CHECK(s_test_refused(dir_testkit_rpc(&kit, "ScimWrites.ScimGroupDelete", &del.base),
                             "stale"));
    del.expected_version = 0;
    SSO_CHECK(s_test_ok(dir_testkit_rpc(&kit, "ScimWrites.ScimGroupDelete", &del.base), 6));
    SSO_CHECK(s_test_refused(dir_testkit_rpc(&kit, "ScimWrites.ScimGroupDelete", &del.base),
                             "not_found"));
    del.directory_id = b;
    del.id = sales;
    SSO_CHECK(s_test_refused(dir_testkit_rpc(&kit, "ScimWrites.ScimGroupDelete", &del.base),
                             "not_found"));
    kit.caller = NULL;
    s_test_members(&kit, a, g, text, sizeof text);
    SSO_CHECK(!strcmp(text, "none"));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_groups WHERE id = ? AND deleted_at IS "
                             "NOT NULL", "s", g) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE type = "
                             "'directory.group.deleted' AND json_extract(payload, "
                             "'$.data.group.id') = ?", "s", g) == 1);
    SSO_CHECK(dir_scim_users_login(kit.dir, org, "a@x.test", &login) == 0 && login.found
              && login.n_groups == 0);
    dir_scim_users_login_clear(&login);
    /* The group RPCs are the scim service's only. */
    Sso__ScimGroupGetRequest get = SSO__SCIM_GROUP_GET_REQUEST__INIT;
    get.directory_id = a;
    get.id = sales;
    kit.caller = "token";
    SSO_CHECK(s_test_refused(dir_testkit_rpc(&kit, "ScimReads.ScimGroupGet", &get.base),
                             "access_denied"));
    kit.caller = NULL;
    dir_testkit_close(&kit);
}
