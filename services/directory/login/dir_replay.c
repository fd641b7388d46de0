/* dir_replay: SAML assertion replay cache. */
#include "login/dir_replay.h"
#include "dir_testkit.h"
#include "login/dir_housekeeping.h"
#include "sso_log.h"
#include "sso_test.h"

#define S_KIND "saml_assertion"

int dir_replay_note(dir_t *dir, const Sso__ReplayRecord *r, dir_error_t *err)
{
    if (!dir_rpc_text(r->connection_id, 1, 128) || !dir_rpc_text(r->assertion_id, 1, 256)) {
        dir_rpc_error(err, "invalid_request", "connection_id (at most 128 bytes) and "
                                              "assertion_id (at most 256 bytes) are required");
        return -1;
    }
    if (r->expires_at <= 0) {
        dir_rpc_error(err, "invalid_request", "expires_at must be the assertion's expiry (Unix "
                                              "seconds)");
        return -1;
    }
    int64_t now = dir_now();
    /* Kept long enough to cover skew, and not forever whatever the assertion says. */
    int64_t keep = r->expires_at;
    if (keep < now + DIR_REPLAY_MIN_KEEP)
        keep = now + DIR_REPLAY_MIN_KEEP;
    if (keep > now + DIR_REPLAY_MAX_KEEP)
        keep = now + DIR_REPLAY_MAX_KEEP;
    /* One statement that records the assertion unless a live record of it is there (an
       expired one is taken over), and whose count of rows changed says which: directories
       noting the same assertion at once cannot both see it new (in PostgreSQL the second one
       waits for the first one's row, then re-checks the WHERE on it as committed). */
    int changes = 0;
    if (dir_db_run(dir->db, &changes, "INSERT INTO replay_cache (kind, connection_id, item_id, "
                                      "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5) ON "
                                      "CONFLICT (kind, connection_id, item_id) DO UPDATE SET "
                                      "created_at = ?4, expires_at = ?5 WHERE "
                                      "replay_cache.expires_at <= ?4",
                   "sssii", S_KIND, r->connection_id, r->assertion_id, now, keep)
        != DIR_DB_OK) {
        dir_server_error(err);
        return -1;
    }
    if (changes == 0) {
        sso_warn("assertion %.256s for %s replayed", r->assertion_id, r->connection_id);
        dir_rpc_error(err, "replayed", "assertion %.256s was already used at connection %s",
                      r->assertion_id, r->connection_id);
        return -1;
    }
    return 0;
}

/* Notes record in a write of its own: true when it is recorded (code NULL), or refused with
   code and a description containing description (when given), writing nothing. */
static bool s_note(dir_testkit_t *kit, const Sso__ReplayRecord *record, const char *code,
                   const char *description)
{
    dir_error_t err = {0};
    bool ok = false;
    if (dir_db_begin(kit->dir->db) == 0) {
        int rc = dir_replay_note(kit->dir, record, &err);
        ok = code ? rc == -1 && err.code && !strcmp(err.code, code) && *err.description
                        && (!description || strstr(err.description, description))
                  : rc == 0 && dir_db_commit(kit->dir->db) == 0;
        dir_db_rollback(kit->dir->db);
    }
    if (!ok)
        fprintf(stderr, "replay note: wanted %s, got %s (%s)\n", code ? code : "ok",
                err.code ? err.code : "ok", err.description);
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    Sso__ReplayRecord record = SSO__REPLAY_RECORD__INIT;
    record.connection_id = "conn_a";
    record.assertion_id = "_assertion-1";
    record.expires_at = dir_now() + 120;
    SSO_CHECK(s_note(kit, &record, NULL, NULL));
    SSO_CHECK(s_note(kit, &record, "replayed", "_assertion-1"));
    SSO_CHECK(s_note(kit, &record, "replayed", NULL));
    /* Kept at least DIR_REPLAY_MIN_KEEP, even for an assertion that expires sooner. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT expires_at - created_at FROM replay_cache", NULL)
              >= DIR_REPLAY_MIN_KEEP);
    /* Per connection. */
    record.connection_id = "conn_b";
    SSO_CHECK(s_note(kit, &record, NULL, NULL));
    /* Once expired, the id is free again, and housekeeping purges expired rows. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE replay_cache SET expires_at = ? WHERE "
                                             "connection_id = 'conn_a'", "i", dir_now())
              == DIR_DB_OK);
    record.connection_id = "conn_a";
    SSO_CHECK(s_note(kit, &record, NULL, NULL));
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE replay_cache SET expires_at = ? WHERE "
                                             "connection_id = 'conn_b'", "i", dir_now() - 1)
              == DIR_DB_OK);
    dir_housekeeping_run(kit->dir, true);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM replay_cache", NULL) == 1);
    /* Bad input writes nothing. */
    record.assertion_id = "";
    SSO_CHECK(s_note(kit, &record, "invalid_request", NULL));
    record.assertion_id = "_x";
    record.expires_at = 0;
    SSO_CHECK(s_note(kit, &record, "invalid_request", "expires_at"));
    record.expires_at = dir_now() + 60;
    record.connection_id = "";
    SSO_CHECK(s_note(kit, &record, "invalid_request", NULL));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM replay_cache", NULL) == 1);
}

void dir_replay_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
