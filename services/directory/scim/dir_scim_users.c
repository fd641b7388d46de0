/* dir_scim_users: the SCIM service's users, read and written over the bus. */
#include "scim/dir_scim_users.h"
#include "dir_testkit.h"
#include "scim/dir_scim_groups.h"
#include "scim/dir_scim_rows.h"
#include "scim/dir_scim_sync.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

#define S_COLUMNS                                                                            \
    "id, user_name, external_id, display_name, email_lower, active, resource_json, version, " \
    "created_at, updated_at, seq"
#define S_NOT_FOUND "no such user in this directory"

/* The row of stmt (S_COLUMNS) as a new ScimUser; NULL when out of memory. */
static Sso__ScimUser *s_user_of_row(dir_db_stmt_t *stmt)
{
    Sso__ScimUser *user = malloc(sizeof *user);
    if (!user)
        return NULL;
    sso__scim_user__init(user);
    user->id = dir_rpc_dup(dir_db_text(stmt, 0));
    user->user_name = dir_rpc_dup(dir_db_text(stmt, 1));
    user->external_id = dir_rpc_dup(dir_db_text(stmt, 2));
    user->display_name = dir_rpc_dup(dir_db_text(stmt, 3));
    user->email = dir_rpc_dup(dir_db_text(stmt, 4));
    user->active = dir_db_int64(stmt, 5) != 0;
    user->resource_json = dir_rpc_dup(dir_db_text(stmt, 6));
    user->version = dir_db_int64(stmt, 7);
    user->created_at = dir_db_int64(stmt, 8);
    user->updated_at = dir_db_int64(stmt, 9);
    user->seq = dir_db_int64(stmt, 10);
    return user;
}

/* Fills user's groups: those (not deleted) it is a member of, by name. 0, or -1. */
static int s_groups_of(dir_t *dir, Sso__ScimUser *user)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT g.id, g.display_name FROM "
                                                "scim_group_members m JOIN scim_groups g ON "
                                                "g.id = m.group_id WHERE m.user_id = ? AND "
                                                "g.deleted_at IS NULL ORDER BY "
                                                "g.display_name_lower, g.seq",
                                       "s", user->id);
    int step = stmt ? DIR_DB_ROW : DIR_DB_ERROR;
    size_t cap = 0;
    while (step == DIR_DB_ROW && (step = dir_db_step(stmt)) == DIR_DB_ROW) {
        if (user->n_groups == cap) {
            size_t grown = cap ? cap * 2 : 4;
            Sso__ScimUserGroup **groups = realloc(user->groups, grown * sizeof *groups);
            if (!groups) {
                step = DIR_DB_ERROR;
                break;
            }
            user->groups = groups;
            cap = grown;
        }
        Sso__ScimUserGroup *group = malloc(sizeof *group);
        if (!group) {
            step = DIR_DB_ERROR;
            break;
        }
        sso__scim_user_group__init(group);
        group->group_id = dir_rpc_dup(dir_db_text(stmt, 0));
        group->display_name = dir_rpc_dup(dir_db_text(stmt, 1));
        user->groups[user->n_groups++] = group;
    }
    dir_db_release(stmt);
    return step == DIR_DB_DONE ? 0 : -1;
}

static int s_complete(dir_t *dir, void *user, bool details)
{
    (void) details;
    return s_groups_of(dir, user);
}

static void s_free(void *user)
{
    sso__scim_user__free_unpacked(user, NULL);
}

static void *s_of_row(dir_db_stmt_t *stmt)
{
    return s_user_of_row(stmt);
}

static const dir_scim_kind_t s_users = {"scim_users u", S_COLUMNS, S_NOT_FOUND, s_of_row,
                                        s_complete, s_free};

/* The user id of directory_id (not deleted) with its groups into *user_p; NOT_FOUND when there
   is no such user. 0, or -1 with err. */
static int s_found(dir_t *dir, const char *directory_id, const char *id, Sso__ScimUser **user_p,
                   dir_error_t *err)
{
    void *user = NULL;
    int rc = dir_scim_rows_read(dir, &s_users, directory_id, id, true, true, &user, err);
    *user_p = user;
    return rc;
}

/* The user of a write: userName and the indexed texts within their caps, the resource a JSON
   object. 0, or -1 with err. */
static int s_writable(const Sso__ScimUser *user, dir_error_t *err)
{
    if (!user || !dir_rpc_text(user->user_name, 1, DIR_SCIM_TEXT_MAX)
        || !dir_rpc_text(user->external_id, 0, DIR_SCIM_TEXT_MAX)
        || !dir_rpc_text(user->display_name, 0, DIR_SCIM_TEXT_MAX)
        || !dir_rpc_text(user->email, 0, DIR_SCIM_TEXT_MAX)) {
        dir_rpc_error(err, "invalid_request", "user_name is text of 1 to %d bytes, and "
                      "external_id, display_name and email of at most that", DIR_SCIM_TEXT_MAX);
        return -1;
    }
    return dir_scim_rows_resource_ok(user->resource_json, err);
}

/* Appends the sync event of a change to user id, and its webhook (dir_scim_sync_change). */
static int s_event(dir_t *dir, const char *directory_id, const char *type, const char *id,
                   const char *user_name, bool active, int64_t version, int64_t now,
                   const char *resource_json)
{
    json_t *detail = json_pack("{s:s, s:b, s:I}", "user_name", user_name, "active", active,
                               "version", (json_int_t) version);
    int rc = detail ? dir_scim_sync_change(dir, directory_id, type, "user", id, now, detail,
                                           resource_json)
                    : -1;
    json_decref(detail);
    return rc;
}

/* Ends a write: commits and reads the user back into out, or rolls back. rc is the write's
   result so far (DIR_DB_OK, DIR_DB_CONFLICT, DIR_DB_ERROR). */
static int s_finish(dir_t *dir, int rc, const char *directory_id, const char *id,
                    Sso__ScimUserReply *out, dir_error_t *err)
{
    if (rc == DIR_DB_OK && dir_db_commit(dir->db) == 0)
        return s_found(dir, directory_id, id, &out->user, err);
    dir_db_rollback(dir->db);
    if (rc == DIR_DB_CONFLICT)
        dir_rpc_error(err, "conflict", "the directory has a user with this userName already");
    else if (!err->code)
        dir_server_error(err);
    return -1;
}

DIR_RPC_FN(dir_scim_users_get, Sso__ScimUserGetRequest, Sso__ScimUserReply)
{
    if (dir_scim_ids(in->directory_id, in->id, err) != 0)
        return -1;
    return s_found(dir, in->directory_id, in->id, &out->user, err);
}

DIR_RPC_FN(dir_scim_users_list, Sso__ScimUserListRequest, Sso__ScimUserListReply)
{
    static const char *const where[] = {
        [SSO__SCIM_USER_KEY__SCIM_USER_ALL] = "CAST(?4 AS TEXT) IS NULL",
        [SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME] = "user_name_lower = lower(?4)",
        [SSO__SCIM_USER_KEY__SCIM_USER_EXTERNAL_ID] = "external_id = ?4",
        [SSO__SCIM_USER_KEY__SCIM_USER_EMAIL] = "email_lower = lower(?4)",
        [SSO__SCIM_USER_KEY__SCIM_USER_DISPLAY_NAME] = "display_name_lower = lower(?4)",
    };
    if (dir_scim_ids(in->directory_id, NULL, err) != 0)
        return -1;
    size_t key = (size_t) in->key;
    if (key >= sizeof where / sizeof *where || in->limit < 1 || in->limit > DIR_SCIM_LIST_MAX
        || in->after_seq < 0 || !dir_rpc_text(in->value, key ? 1 : 0, DIR_SCIM_TEXT_MAX)) {
        dir_rpc_error(err, "invalid_request", "key is a ScimUserKey (with a value of 1 to %d "
                      "bytes), limit 1 to %d, after_seq not negative", DIR_SCIM_TEXT_MAX,
                      DIR_SCIM_LIST_MAX);
        return -1;
    }
    void **users = NULL;
    bool more = false;
    int rc = dir_scim_rows_page(dir, &s_users, where[key], in->directory_id, in->after_seq,
                                in->limit, key ? in->value : NULL, true, &users,
                                &out->n_users, &more, err);
    out->users = (Sso__ScimUser **) users;
    out->more = more;
    return rc;
}

DIR_RPC_FN(dir_scim_users_create, Sso__ScimUserWrite, Sso__ScimUserReply)
{
    if (dir_scim_ids(in->directory_id, NULL, err) != 0 || s_writable(in->user, err) != 0)
        return -1;
    const Sso__ScimUser *u = in->user;
    char *id = sso_random_id("scu_", 12);
    int64_t now = dir_now();
    int changes = 0;
    int rc = id && dir_db_begin(dir->db) == 0 ? DIR_DB_OK : DIR_DB_ERROR;
    if (rc == DIR_DB_OK)
        rc = dir_db_run(dir->db, &changes, "INSERT INTO scim_users (id, directory_id, user_name, "
                                           "user_name_lower, external_id, display_name, "
                                           "display_name_lower, email_lower, active, "
                                           "resource_json, version, created_at, updated_at) "
                                           "SELECT ?1, id, ?2, lower(?2), ?3, ?4, lower(?4), "
                                           "lower(?5), ?6, ?7, 1, ?8, ?8 FROM scim_directories "
                                           "WHERE id = ?9",
                        "sssssisis", id, u->user_name, dir_rpc_or_null(u->external_id),
                        dir_rpc_or_null(u->display_name), dir_rpc_or_null(u->email),
                        (int64_t) u->active, u->resource_json, now, in->directory_id);
    if (rc == DIR_DB_OK && changes == 0) {
        dir_rpc_error(err, "not_found", "no such directory");
        rc = DIR_DB_ERROR;
    }
    if (rc == DIR_DB_OK && s_event(dir, in->directory_id, "user.created", id, u->user_name,
                                   u->active, 1, now, u->resource_json) != 0)
        rc = DIR_DB_ERROR;
    rc = s_finish(dir, rc, in->directory_id, id, out, err);
    free(id);
    return rc;
}

/* The version of user id (not deleted) when it is not expected (expected 0: any), into err. */
static void s_not_changed(dir_t *dir, const char *directory_id, const char *id,
                          dir_error_t *err)
{
    Sso__ScimUser *user = NULL;
    if (s_found(dir, directory_id, id, &user, err) == 0)
        dir_rpc_error(err, "stale", "the user is at version %lld now",
                      (long long) user->version);
    if (user)
        sso__scim_user__free_unpacked(user, NULL);
}

DIR_RPC_FN(dir_scim_users_replace, Sso__ScimUserWrite, Sso__ScimUserReply)
{
    if (dir_scim_ids(in->directory_id, in->user ? in->user->id : "", err) != 0
        || s_writable(in->user, err) != 0)
        return -1;
    const Sso__ScimUser *u = in->user;
    int64_t now = dir_now();
    int changes = 0;
    int rc = dir_db_begin(dir->db) == 0 ? DIR_DB_OK : DIR_DB_ERROR;
    if (rc == DIR_DB_OK)
        rc = dir_db_run(dir->db, &changes, "UPDATE scim_users SET user_name = ?1, "
                                           "user_name_lower = lower(?1), external_id = ?2, "
                                           "display_name = ?3, display_name_lower = lower(?3), "
                                           "email_lower = lower(?4), active = ?5, "
                                           "resource_json = ?6, version = version + 1, "
                                           "updated_at = ?7 WHERE id = ?8 AND directory_id = "
                                           "?9 AND deleted_at IS NULL AND version = ?10",
                        "ssssisissi", u->user_name, dir_rpc_or_null(u->external_id),
                        dir_rpc_or_null(u->display_name), dir_rpc_or_null(u->email),
                        (int64_t) u->active, u->resource_json, now, u->id, in->directory_id,
                        in->expected_version);
    if (rc == DIR_DB_OK && changes == 0) {
        s_not_changed(dir, in->directory_id, u->id, err);
        rc = DIR_DB_ERROR;
    }
    if (rc == DIR_DB_OK && s_event(dir, in->directory_id, "user.updated", u->id, u->user_name,
                                   u->active, in->expected_version + 1, now,
                                   u->resource_json) != 0)
        rc = DIR_DB_ERROR;
    return s_finish(dir, rc, in->directory_id, u->id, out, err);
}

DIR_RPC_FN(dir_scim_users_delete, Sso__ScimUserDeleteRequest, Sso__ScimUserReply)
{
    if (dir_scim_ids(in->directory_id, in->id, err) != 0)
        return -1;
    Sso__ScimUser *user = NULL;
    int64_t now = dir_now();
    int changes = 0;
    int rc = dir_db_begin(dir->db) == 0 ? DIR_DB_OK : DIR_DB_ERROR;
    if (rc == DIR_DB_OK && s_found(dir, in->directory_id, in->id, &user, err) != 0)
        rc = DIR_DB_ERROR;
    if (rc == DIR_DB_OK)
        rc = dir_db_run(dir->db, &changes, "UPDATE scim_users SET deleted_at = ?1, updated_at = "
                                           "?1, version = version + 1 WHERE id = ?2 AND "
                                           "directory_id = ?3 AND deleted_at IS NULL AND "
                                           "(?4 = 0 OR version = ?4)",
                        "issi", now, in->id, in->directory_id, in->expected_version);
    if (rc == DIR_DB_OK && changes == 0) {
        dir_rpc_error(err, "stale", "the user is at version %lld now", (long long) user->version);
        rc = DIR_DB_ERROR;
    }
    if (rc == DIR_DB_OK && dir_scim_groups_user_deleted(dir, in->directory_id, in->id, now) != 0)
        rc = DIR_DB_ERROR;
    if (rc == DIR_DB_OK && s_event(dir, in->directory_id, "user.deleted", in->id,
                                   user->user_name, user->active, user->version + 1, now,
                                   NULL) != 0)
        rc = DIR_DB_ERROR;
    if (rc == DIR_DB_OK && dir_db_commit(dir->db) == 0) {
        user->version++;
        out->user = user;
        return 0;
    }
    dir_db_rollback(dir->db);
    if (user)
        sso__scim_user__free_unpacked(user, NULL);
    if (!err->code)
        dir_server_error(err);
    return -1;
}

int dir_scim_users_login(dir_t *dir, const char *organization_id, const char *email,
                         dir_scim_login_t *out)
{
    memset(out, 0, sizeof *out);
    if (!email || !*email)
        return 0;
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT u.id, u.active, u.directory_id FROM "
                                                "scim_users u JOIN scim_directories d ON d.id = "
                                                "u.directory_id WHERE u.email_lower = lower(?) "
                                                "AND d.organization_id = ? AND u.deleted_at IS "
                                                "NULL ORDER BY u.seq LIMIT 1",
                                       "ss", email, organization_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW) {
        out->found = true;
        snprintf(out->id, sizeof out->id, "%s", dir_db_text(stmt, 0));
        out->active = dir_db_int64(stmt, 1) != 0;
        snprintf(out->directory_id, sizeof out->directory_id, "%s", dir_db_text(stmt, 2));
    }
    dir_db_release(stmt);
    if (step == DIR_DB_ERROR)
        return -1;
    if (!out->found || !out->active)
        return 0;
    stmt = dir_db_query(dir->db, "SELECT g.display_name FROM scim_group_members m JOIN "
                                 "scim_groups g ON g.id = m.group_id WHERE m.user_id = ? AND "
                                 "g.deleted_at IS NULL ORDER BY g.display_name_lower, g.seq "
                                 "LIMIT ?", "si", out->id, (int64_t) DIR_SCIM_LOGIN_GROUPS_MAX);
    while (stmt && (step = dir_db_step(stmt)) == DIR_DB_ROW)
        if (!(out->groups[out->n_groups++] = strdup(dir_db_text(stmt, 0))))
            step = DIR_DB_ERROR;
    dir_db_release(stmt);
    if (!stmt || step == DIR_DB_ERROR) {
        dir_scim_users_login_clear(out);
        return -1;
    }
    return 0;
}

void dir_scim_users_login_clear(dir_scim_login_t *out)
{
    for (size_t i = 0; i < out->n_groups; i++)
        free(out->groups[i]);
    memset(out, 0, sizeof *out);
}

/* ---- self-test --------------------------------------------------------------------------- */

/* ScimWrites.ScimUserCreate of user_name in directory_id; the reply (free it). */
static Sso__ScimUserReply *s_create(dir_testkit_t *kit, const char *directory_id,
                                    const char *user_name, const char *external_id,
                                    const char *email)
{
    Sso__ScimUser user = SSO__SCIM_USER__INIT;
    user.user_name = (char *) user_name;
    user.external_id = (char *) external_id;
    user.email = (char *) email;
    user.active = true;
    user.resource_json = "{\"userName\":\"x\"}";
    Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
    write.directory_id = (char *) directory_id;
    write.user = &user;
    kit->caller = "scim";
    Sso__ScimUserReply *reply = dir_testkit_rpc(kit, "ScimWrites.ScimUserCreate", &write.base);
    kit->caller = NULL;
    return reply;
}

/* ScimReads.ScimUserList by key and value; the ids, ","-joined, into out; the reply's more. */
static bool s_list(dir_testkit_t *kit, const char *directory_id, Sso__ScimUserKey key,
                   const char *value, int64_t after, int32_t limit, char *out, size_t size)
{
    Sso__ScimUserListRequest list = SSO__SCIM_USER_LIST_REQUEST__INIT;
    list.directory_id = (char *) directory_id;
    list.key = key;
    list.value = (char *) value;
    list.after_seq = after;
    list.limit = limit;
    kit->caller = "scim";
    Sso__ScimUserListReply *reply = dir_testkit_rpc(kit, "ScimReads.ScimUserList", &list.base);
    kit->caller = NULL;
    SSO_CHECK(reply && !reply->error);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; reply && i < reply->n_users && used < size; i++)
        used += (size_t) snprintf(out + used, size - used, "%s%s", i ? "," : "",
                                  reply->users[i]->user_name);
    bool more = reply && reply->more;
    if (reply)
        sso__scim_user_list_reply__free_unpacked(reply, NULL);
    return more;
}

void dir_scim_users_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    if (dir_testkit_open(&kit) != 0)
        return;
    dir_db_t *db = kit.dir->db;
    char org[64] = "", path[160], a[64] = "", b[64] = "";
    SSO_CHECK(dir_testkit_field(&kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"S\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", a, sizeof a) == 201);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", b, sizeof b) == 201);
    /* An app's webhook for two of the three user events (checked at the end). */
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/webhooks", "{\"url\":\"https://app.test/"
                               "h\",\"events\":[\"directory.user.created\",\"directory.user."
                               "deleted\"]}", NULL) == 201);

    /* Create: the directory makes id, version 1 and the times, and appends user.created. */
    Sso__ScimUserReply *made = s_create(&kit, a, "Jo@Example.com", "ext-1", "Jo@Example.com");
    SSO_CHECK(made && !made->error && made->user && !strncmp(made->user->id, "scu_", 4)
              && made->user->version == 1 && made->user->active && made->user->created_at > 0
              && !strcmp(made->user->email, "jo@example.com"));
    char id[64] = "";
    if (made && made->user)
        snprintf(id, sizeof id, "%s", made->user->id);
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE directory_id = ? AND type = "
                             "'user.created' AND resource_id = ?", "ss", a, id) == 1);
    /* The same userName in another case: CONFLICT, nothing written; another directory may. */
    int64_t events = dir_db_int(db, "SELECT count(*) FROM scim_events", NULL);
    made = s_create(&kit, a, "JO@example.COM", NULL, NULL);
    SSO_CHECK(made && !strcmp(dir_testkit_error(made), "conflict") && !made->user);
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events", NULL) == events);
    made = s_create(&kit, b, "jo@example.com", NULL, NULL);
    SSO_CHECK(made && !made->error);
    char other[64] = "";
    if (made && made->user)
        snprintf(other, sizeof other, "%s", made->user->id);
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    /* No such directory; hostile and empty inputs. */
    made = s_create(&kit, "dir_none", "x", NULL, NULL);
    SSO_CHECK(made && !strcmp(dir_testkit_error(made), "not_found"));
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    const char *const bad_names[] = {"", "a\nb", NULL};
    for (size_t i = 0; bad_names[i]; i++) {
        made = s_create(&kit, a, bad_names[i], NULL, NULL);
        SSO_CHECK(made && !strcmp(dir_testkit_error(made), "invalid_request"));
        if (made)
            sso__scim_user_reply__free_unpacked(made, NULL);
    }
    Sso__ScimUser bad = SSO__SCIM_USER__INIT;
    bad.user_name = "y";
    const char *const bad_json[] = {"", "[1]", "{\"a\":1,\"a\":2}", "{", NULL};
    Sso__ScimUserWrite write = SSO__SCIM_USER_WRITE__INIT;
    write.directory_id = a;
    write.user = &bad;
    kit.caller = "scim";
    for (size_t i = 0; bad_json[i]; i++) {
        bad.resource_json = (char *) bad_json[i];
        SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserCreate", &write.base,
                                        "invalid_request", "resource_json"));
    }
    write.user = NULL;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserCreate", &write.base,
                                    "invalid_request", NULL));

    /* Get: this directory's user only. */
    Sso__ScimUserGetRequest get = SSO__SCIM_USER_GET_REQUEST__INIT;
    get.directory_id = a;
    get.id = id;
    Sso__ScimUserReply *got = dir_testkit_rpc(&kit, "ScimReads.ScimUserGet", &get.base);
    SSO_CHECK(got && !got->error && got->user && !strcmp(got->user->user_name, "Jo@Example.com")
              && !strcmp(got->user->external_id, "ext-1"));
    if (got)
        sso__scim_user_reply__free_unpacked(got, NULL);
    get.id = other;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserGet", &get.base, "not_found",
                                    S_NOT_FOUND));
    get.id = "";
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserGet", &get.base, "invalid_request",
                                    NULL));

    /* Replace: with the version read, once; a stale one is STALE; another's userName CONFLICT;
       another directory's id NOT_FOUND. */
    Sso__ScimUser next = SSO__SCIM_USER__INIT;
    next.id = id;
    next.user_name = "jo.new@example.com";
    next.active = false;
    next.resource_json = "{\"userName\":\"jo.new@example.com\"}";
    write.user = &next;
    write.expected_version = 1;
    got = dir_testkit_rpc(&kit, "ScimWrites.ScimUserReplace", &write.base);
    SSO_CHECK(got && !got->error && got->user && got->user->version == 2 && !got->user->active
              && !strcmp(got->user->user_name, "jo.new@example.com")
              && !strcmp(got->user->external_id, ""));
    if (got)
        sso__scim_user_reply__free_unpacked(got, NULL);
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserReplace", &write.base, "stale",
                                    "version 2"));
    kit.caller = NULL;
    made = s_create(&kit, a, "taken", NULL, NULL);
    SSO_CHECK(made && !made->error);
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    kit.caller = "scim";
    next.user_name = "TAKEN";
    write.expected_version = 2;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserReplace", &write.base, "conflict",
                                    NULL));
    next.user_name = "ok";
    next.id = other;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserReplace", &write.base, "not_found",
                                    NULL));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE type = 'user.updated'",
                         NULL) == 1);

    /* List: all, by each key, paged; a deleted user is in none. */
    char names[256];
    kit.caller = NULL;
    SSO_CHECK(!s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_ALL, "", 0, 10, names, sizeof names)
              && !strcmp(names, "jo.new@example.com,taken"));
    SSO_CHECK(s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_ALL, "", 0, 1, names, sizeof names)
              && !strcmp(names, "jo.new@example.com"));
    SSO_CHECK(!s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME, "Taken", 0, 10, names,
                      sizeof names) && !strcmp(names, "taken"));
    SSO_CHECK(!s_list(&kit, b, SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME, "Taken", 0, 10, names,
                      sizeof names) && !strcmp(names, ""));
    made = s_create(&kit, a, "mail", "Ext-2", "Mail@X.org");
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    SSO_CHECK(!s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_EMAIL, "mail@x.ORG", 0, 10, names,
                      sizeof names) && !strcmp(names, "mail"));
    SSO_CHECK(!s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_EXTERNAL_ID, "Ext-2", 0, 10, names,
                      sizeof names) && !strcmp(names, "mail"));
    SSO_CHECK(!s_list(&kit, a, SSO__SCIM_USER_KEY__SCIM_USER_EXTERNAL_ID, "ext-2", 0, 10, names,
                      sizeof names) && !strcmp(names, "")); /* externalId is caseExact */
    Sso__ScimUserListRequest list = SSO__SCIM_USER_LIST_REQUEST__INIT;
    list.directory_id = a;
    list.limit = DIR_SCIM_LIST_MAX + 1;
    kit.caller = "scim";
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserList", &list.base,
                                    "invalid_request", NULL));
    list.limit = 1;
    list.key = SSO__SCIM_USER_KEY__SCIM_USER_USER_NAME; /* a key without a value */
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserList", &list.base,
                                    "invalid_request", NULL));
    list.key = 99;
    list.value = "x";
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserList", &list.base,
                                    "invalid_request", NULL));

    /* Delete: marked, not removed; stale version refused; its userName free again. */
    Sso__ScimUserDeleteRequest del = SSO__SCIM_USER_DELETE_REQUEST__INIT;
    del.directory_id = a;
    del.id = id;
    del.expected_version = 1;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserDelete", &del.base, "stale", NULL));
    del.expected_version = 0;
    del.directory_id = b;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserDelete", &del.base, "not_found",
                                    NULL));
    del.directory_id = a;
    got = dir_testkit_rpc(&kit, "ScimWrites.ScimUserDelete", &del.base);
    SSO_CHECK(got && !got->error && got->user && got->user->version == 3);
    if (got)
        sso__scim_user_reply__free_unpacked(got, NULL);
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimWrites.ScimUserDelete", &del.base, "not_found",
                                    NULL));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_users WHERE id = ? AND deleted_at IS "
                             "NOT NULL", "s", id) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_events WHERE type = 'user.deleted' AND "
                             "resource_id = ?", "s", id) == 1);
    get.id = id;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserGet", &get.base, "not_found", NULL));
    kit.caller = NULL;
    made = s_create(&kit, a, "JO.NEW@example.com", NULL, NULL);
    SSO_CHECK(made && !made->error);
    if (made)
        sso__scim_user_reply__free_unpacked(made, NULL);
    /* The webhooks: one message per successful create (not the refused one) and the deletion,
       in the organization's stream, with the user; none for the updates it did not ask for. */
    int64_t created = dir_db_int(db, "SELECT count(*) FROM scim_events WHERE type = "
                                     "'user.created'", NULL);
    SSO_CHECK(created >= 3
              && dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE type = 'directory."
                                "user.created' AND stream = ?", "s", org) == created);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE type = 'directory.user."
                             "deleted' AND payload LIKE '%\"id\":\"' || ? || '\"%'", "s", id) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE type = 'directory.user."
                             "updated'", NULL) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM webhook_messages WHERE payload LIKE "
                             "'%\"attributes\":{\"userName\":\"x\"}%' AND payload LIKE "
                             "'%\"directory_id\":\"' || ? || '\"%'", "s", a)
              == dir_db_int(db, "SELECT count(*) FROM scim_events WHERE type = 'user.created' "
                                "AND directory_id = ?", "s", a));
    /* Only the scim role calls them. */
    kit.caller = "token";
    SSO_CHECK(dir_testkit_rpc_error(&kit, "ScimReads.ScimUserGet", &get.base, "access_denied",
                                    NULL));
    kit.caller = NULL;
    dir_testkit_close(&kit);
}
