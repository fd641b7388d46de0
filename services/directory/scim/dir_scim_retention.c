/* dir_scim_retention: the purge of deleted SCIM users and groups and of old sync events. */
#include "scim/dir_scim_retention.h"
#include "api/dir_json.h"
#include "dir_testkit.h"
#include "login/dir_housekeeping.h"
#include "sso_test.h"
#include <string.h>

int dir_scim_retention_prune(dir_t *dir, int64_t deleted_cutoff, int64_t events_cutoff,
                             int limit)
{
    static const char *const purges[] = {
        "DELETE FROM scim_users WHERE seq IN (SELECT seq FROM scim_users WHERE deleted_at < ? "
        "ORDER BY deleted_at LIMIT ?)",
        "DELETE FROM scim_groups WHERE seq IN (SELECT seq FROM scim_groups WHERE deleted_at < ? "
        "ORDER BY deleted_at LIMIT ?)",
        "DELETE FROM scim_events WHERE seq IN (SELECT seq FROM scim_events WHERE at < ? ORDER "
        "BY at LIMIT ?)",
    };
    int most = 0;
    for (size_t i = 0; i < sizeof purges / sizeof *purges; i++) {
        int changes = 0;
        if (dir_db_run(dir->db, &changes, purges[i], "ii", i < 2 ? deleted_cutoff : events_cutoff,
                       (int64_t) limit) != DIR_DB_OK)
            return -1;
        if (changes > most)
            most = changes;
    }
    return most;
}

/* ---- self-test --------------------------------------------------------------------------- */

void dir_scim_retention_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    if (dir_testkit_open(&kit) != 0)
        return;
    dir_db_t *db = kit.dir->db;
    char org[64] = "", path[160], d[64] = "";
    SSO_CHECK(dir_testkit_field(&kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"R\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories", org);
    SSO_CHECK(dir_testkit_field(&kit, "POST", path, NULL, "id", d, sizeof d) == 201);
    /* Users u-old (deleted at 100), u-new (deleted at 300), u-live; groups likewise, u-live a
       member of the old group; events at 100 and 300. */
    const char *users[][2] = {{"u-old", "100"}, {"u-new", "300"}, {"u-live", NULL}};
    for (size_t i = 0; i < 3; i++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_users (id, directory_id, user_name, "
                                       "user_name_lower, resource_json, created_at, updated_at, "
                                       "deleted_at) VALUES (?1, ?2, ?1, ?1, '{}', 1, 1, ?3)",
                             "sss", users[i][0], d, users[i][1]) == DIR_DB_OK);
    const char *groups[][2] = {{"g-old", "100"}, {"g-new", "300"}, {"g-live", NULL}};
    for (size_t i = 0; i < 3; i++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_groups (id, directory_id, display_name, "
                                       "display_name_lower, resource_json, created_at, "
                                       "updated_at, deleted_at) VALUES (?1, ?2, ?1, ?1, '{}', 1, "
                                       "1, ?3)",
                             "sss", groups[i][0], d, groups[i][1]) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_group_members (group_id, user_id) VALUES "
                                   "('g-old', 'u-live'), ('g-live', 'u-live')", NULL) == DIR_DB_OK);
    for (int at = 100; at <= 300; at += 200)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_events (directory_id, type, "
                                       "resource_type, resource_id, at) VALUES (?, 'user.deleted', "
                                       "'User', 'u', ?)", "si", d, (int64_t) at) == DIR_DB_OK);

    /* Before any cutoff: nothing. Then a batch of 1 at 200: the old ones go, the old group
       with its membership; the live and the recent stay. */
    SSO_CHECK(dir_scim_retention_prune(kit.dir, 50, 50, 10) == 0);
    SSO_CHECK(dir_scim_retention_prune(kit.dir, 200, 200, 1) == 1);
    dir_db_stmt_t *stmt = dir_db_query(db, "SELECT (SELECT group_concat(id, ',') FROM (SELECT id "
                                           "FROM scim_users ORDER BY seq)), (SELECT "
                                           "group_concat(id, ',') FROM (SELECT id FROM "
                                           "scim_groups ORDER BY seq)), (SELECT count(*) FROM "
                                           "scim_group_members), (SELECT min(at) FROM "
                                           "scim_events)", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW);
    SSO_CHECK(stmt && !strcmp(dir_db_text(stmt, 0), "u-new,u-live")
              && !strcmp(dir_db_text(stmt, 1), "g-new,g-live") && dir_db_int64(stmt, 2) == 1
              && dir_db_int64(stmt, 3) == 300);
    dir_db_release(stmt);
    /* A later cutoff takes the rest that is past it; a live row never goes. */
    SSO_CHECK(dir_scim_retention_prune(kit.dir, 1000, 1000, 10) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_users", NULL) == 1
              && dir_db_int(db, "SELECT count(*) FROM scim_groups", NULL) == 1
              && dir_db_int(db, "SELECT count(*) FROM scim_events", NULL) == 0
              && dir_db_int(db, "SELECT count(*) FROM scim_group_members", NULL) == 1);

    /* The housekeeping purges with SSO_SCIM_RETENTION_DAYS (30 by default): a user deleted
       31 days ago goes, one deleted 29 days ago stays. */
    int64_t now = dir_now();
    SSO_CHECK(kit.dir->scim_retention_days == DIR_SCIM_RETENTION_DAYS);
    const char *aged[] = {"u-31", "u-29"};
    for (int64_t i = 0; i < 2; i++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO scim_users (id, directory_id, user_name, "
                                       "user_name_lower, resource_json, created_at, updated_at, "
                                       "deleted_at) VALUES (?1, ?2, ?1, ?1, '{}', 1, 1, ?3)",
                             "ssi", aged[i], d, now - (31 - 2 * i) * 86400) == DIR_DB_OK);
    dir_housekeeping_run(kit.dir, true);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM scim_users WHERE id IN ('u-31', 'u-29')", NULL)
              == 1 && dir_db_int(db, "SELECT count(*) FROM scim_users WHERE id = 'u-29'", NULL)
                          == 1);
    dir_testkit_close(&kit);
}
