/* dir_scim_sync: sync events and webhooks of the SCIM writes. */
#include "scim/dir_scim_sync.h"
#include "dir_testkit.h"
#include "webhooks/dir_webhooks.h"
#include "sso_test.h"

int dir_scim_ids(const char *directory_id, const char *id, dir_error_t *err)
{
    if (!dir_rpc_text(directory_id, 1, 64) || (id && !dir_rpc_text(id, 1, 64))) {
        dir_rpc_error(err, "invalid_request", "directory_id and id are text of 1 to 64 bytes");
        return -1;
    }
    return 0;
}

int dir_scim_sync_org(dir_t *dir, const char *directory_id, char *org, size_t size)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT organization_id FROM scim_directories "
                                                "WHERE id = ?", "s", directory_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        snprintf(org, size, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    return step == DIR_DB_ROW ? 0 : -1;
}

int dir_scim_sync_event(dir_t *dir, const char *directory_id, const char *type,
                        const char *resource_type, const char *resource_id, int64_t now,
                        const json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    if (detail && !text)
        return -1;
    int rc = dir_db_run(dir->db, NULL, "INSERT INTO scim_events (directory_id, type, "
                                       "resource_type, resource_id, at, detail) VALUES "
                                       "(?, ?, ?, ?, ?, ?)",
                        "ssssis", directory_id, type, resource_type, resource_id, now, text);
    free(text);
    return rc == DIR_DB_OK ? 0 : -1;
}

/* "directory.<type>" into name. */
static void s_name(const char *type, char name[64])
{
    snprintf(name, 64, "directory.%s", type);
}

int dir_scim_sync_wanted(dir_t *dir, const char *type)
{
    char name[64];
    s_name(type, name);
    return dir_webhooks_wanted(dir, name);
}

int dir_scim_sync_webhooks(dir_t *dir, const char *directory_id, const char *org,
                           const char *type, const json_t *fields_list)
{
    char name[64];
    s_name(type, name);
    json_t *datas = json_array();
    int rc = datas && json_is_array(fields_list) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < json_array_size(fields_list); i++) {
        json_t *data = json_pack("{s:s, s:s}", "directory_id", directory_id, "organization_id",
                                 org);
        if (!data || json_object_update(data, json_array_get(fields_list, i)) != 0) {
            json_decref(data);
            rc = -1;
        }
        else if (json_array_append_new(datas, data) != 0) /* data went with it */
            rc = -1;
    }
    if (rc == 0)
        rc = dir_webhooks_emit_many(dir, name, org, datas);
    json_decref(datas);
    return rc;
}

int dir_scim_sync_webhook(dir_t *dir, const char *directory_id, const char *org,
                          const char *type, const json_t *fields)
{
    json_t *fields_list = json_pack("[O]", (json_t *) fields);
    int rc = fields_list ? dir_scim_sync_webhooks(dir, directory_id, org, type, fields_list) : -1;
    json_decref(fields_list);
    return rc;
}

int dir_scim_sync_change(dir_t *dir, const char *directory_id, const char *type,
                         const char *key, const char *id, int64_t now, const json_t *detail,
                         const char *resource_json)
{
    const char *resource_type = !strcmp(key, "user") ? "User" : "Group";
    if (dir_scim_sync_event(dir, directory_id, type, resource_type, id, now, detail) != 0)
        return -1;
    int wanted = dir_scim_sync_wanted(dir, type);
    char org[128];
    if (wanted <= 0)
        return wanted;
    if (dir_scim_sync_org(dir, directory_id, org, sizeof org) != 0)
        return -1;
    json_t *attributes = resource_json ? json_loads(resource_json, 0, NULL) : NULL;
    json_t *object = json_deep_copy(detail);
    json_t *fields = object ? json_pack("{s:O}", key, object) : NULL;
    if (object) {
        json_object_set_new(object, "id", json_string(id));
        if (json_is_object(attributes))
            json_object_set(object, "attributes", attributes);
    }
    int rc = fields ? dir_scim_sync_webhook(dir, directory_id, org, type, fields) : -1;
    json_decref(fields);
    json_decref(object);
    json_decref(attributes);
    return rc;
}

/* ---- self-test --------------------------------------------------------------------------- */

void dir_scim_sync_test(bool verbose)
{
    (void) verbose;
    dir_error_t err = {0};
    SSO_CHECK(dir_scim_ids("dir_a", NULL, &err) == 0 && dir_scim_ids("dir_a", "scg_b", &err) == 0);
    SSO_CHECK(dir_scim_ids("", NULL, &err) == -1 && !strcmp(err.code, "invalid_request"));
    SSO_CHECK(dir_scim_ids("dir_a", "", &err) == -1 && dir_scim_ids(NULL, "x", &err) == -1);
    char long_id[80];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    SSO_CHECK(dir_scim_ids(long_id, NULL, &err) == -1 && dir_scim_ids("d", "a\nb", &err) == -1);

    dir_testkit_t kit;
    if (dir_testkit_open(&kit) != 0)
        return;
    dir_t *dir = kit.dir;
    char org[64] = "", path[160], directory[64] = "", found[128] = "";
    SSO_CHECK(dir_testkit_field(&kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"S\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", directory, sizeof directory)
              == 201);
    SSO_CHECK(dir_scim_sync_org(dir, directory, found, sizeof found) == 0
              && !strcmp(found, org));
    SSO_CHECK(dir_scim_sync_org(dir, "dir_none", found, sizeof found) == -1);

    /* An event with and without detail; no webhook while no endpoint listens. */
    json_t *detail = json_pack("{s:s}", "user_id", "scu_1");
    SSO_CHECK(dir_scim_sync_wanted(dir, "group.user_added") == 0);
    SSO_CHECK(dir_scim_sync_event(dir, directory, "group.user_added", "Group", "scg_1", 5,
                                  detail) == 0);
    SSO_CHECK(dir_scim_sync_event(dir, directory, "group.deleted", "Group", "scg_1", 6, NULL)
              == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM scim_events WHERE directory_id = ? AND "
                                  "resource_id = 'scg_1' AND (detail = '{\"user_id\":\"scu_1\"}' "
                                  "OR (detail IS NULL AND at = 6))", "s", directory) == 2);
    /* A resource type the table does not know is refused by the database. */
    SSO_CHECK(dir_scim_sync_event(dir, directory, "x", "Thing", "t", 7, NULL) == -1);

    /* Once an endpoint subscribes: the message carries the directory, its organization and
       the fields, in the organization's stream. */
    SSO_CHECK(dir_testkit_call(&kit, "POST", "/api/v1/webhooks", "{\"url\":\"https://app.test/"
                               "h\",\"events\":[\"directory.group.user_added\"]}", NULL) == 201);
    SSO_CHECK(dir_scim_sync_wanted(dir, "group.user_added") == 1
              && dir_scim_sync_wanted(dir, "group.deleted") == 0);
    SSO_CHECK(dir_scim_sync_webhook(dir, directory, org, "group.user_added", detail) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages WHERE type = "
                                  "'directory.group.user_added' AND stream = ? AND "
                                  "json_extract(payload, '$.data.user_id') = 'scu_1' AND "
                                  "json_extract(payload, '$.data.directory_id') = ? AND "
                                  "json_extract(payload, '$.data.organization_id') = ?",
                         "sss", org, directory, org) == 1);
    /* Many at once: none for none, each in its order (scu_<seq>, after scu_1's) with the
       directory and organization; what is not an array is refused. */
    json_t *many = json_pack("[]");
    SSO_CHECK(dir_scim_sync_webhooks(dir, directory, org, "group.user_added", many) == 0);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages", NULL) == 1);
    for (int i = 2; i <= 4; i++) {
        char user[16];
        snprintf(user, sizeof user, "scu_%d", i);
        json_array_append_new(many, json_pack("{s:s}", "user_id", user));
    }
    SSO_CHECK(dir_scim_sync_webhooks(dir, directory, org, "group.user_added", many) == 0);
    SSO_CHECK(dir_scim_sync_webhooks(dir, directory, org, "group.user_added", detail) == -1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM webhook_messages m WHERE "
                                  "json_extract(payload, '$.data.directory_id') = ? AND "
                                  "json_extract(payload, '$.data.organization_id') = ? AND "
                                  "json_extract(payload, '$.data.user_id') = 'scu_' || (m.seq) "
                                  "AND stream = ?", "sss", directory, org, org) == 4);
    json_decref(many);
    json_decref(detail);
    dir_testkit_close(&kit);
}
