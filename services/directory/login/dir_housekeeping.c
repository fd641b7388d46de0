/* dir_housekeeping: the purge of expired login state, of ended browser sessions, of events
   past the retention and of deleted SCIM users and groups past theirs. */
#include "login/dir_housekeeping.h"
#include "webhooks/dir_webhooks.h"
#include "scim/dir_scim_retention.h"
#include "login/dir_tests.h"
#include "api/dir_json.h"
#include "dir_testkit.h"
#include "login/dir_events.h"
#include "login/dir_tokens.h"
#include "dashboard/dir_dash_session.h"
#include "portal/dir_portal_session.h"
#include "sso_test.h"

#define S_HOUSEKEEPING_EVERY 60

void dir_housekeeping_run(dir_t *dir, bool force)
{
    int64_t now = dir_now();
    bool due = force || now - dir->housekeeping_at >= S_HOUSEKEEPING_EVERY;
    /* Events and webhook messages past the retention, a batch per write while a backlog
       lasts. */
    if (due || dir->events_backlog) {
        int64_t cutoff = now - (int64_t) dir->event_retention_days * 86400;
        int events = dir_events_prune(dir, cutoff, DIR_EVENTS_PRUNE_BATCH);
        int webhooks = dir_webhooks_prune(dir, cutoff, DIR_EVENTS_PRUNE_BATCH);
        int scim = dir_scim_retention_prune(dir, now - (int64_t) dir->scim_retention_days * 86400,
                                            cutoff, DIR_EVENTS_PRUNE_BATCH);
        dir->events_backlog = events == DIR_EVENTS_PRUNE_BATCH
                              || webhooks == DIR_EVENTS_PRUNE_BATCH
                              || scim == DIR_EVENTS_PRUNE_BATCH;
    }
    if (!due)
        return;
    dir->housekeeping_at = now;
    /* Transactions stay an hour past expiry so a late browser hears "expired", not "unknown";
       codes stay as long as a token issued from them can live, so a reuse still revokes it. */
    dir_db_run(dir->db, NULL, "DELETE FROM login_transactions WHERE expires_at < ?", "i",
               now - 3600);
    dir_db_run(dir->db, NULL, "DELETE FROM authorization_codes WHERE expires_at < ?", "i",
               now - DIR_TOKEN_TTL_MAX);
    dir_db_run(dir->db, NULL, "DELETE FROM replay_cache WHERE expires_at <= ?", "i", now);
    dir_tests_prune(dir, now);
    dir_db_run(dir->db, NULL, "DELETE FROM access_tokens WHERE expires_at < ?", "i", now - 86400);
    /* The browser apps' sessions go once ended, idle or at their end, though their browsers
       never come back; portal links a month after their end, so that a late click still
       hears "expired" rather than "not valid". */
    dir_web_sessions_prune(dir, &dir_portal_app, now);
    dir_web_sessions_prune(dir, &dir_dash_app, now);
    dir_db_run(dir->db, NULL, "DELETE FROM portal_links WHERE expires_at < ?", "i",
               now - 30 * 86400);
}


/* Events: with the configured retention, a batch per write while a backlog lasts. */
static void s_test_events(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    const int64_t now = dir_now(), day = 86400;
    const int64_t cutoff = now - (int64_t) kit->dir->event_retention_days * day;
    /* At the default retention's boundary, just inside it, and 2 of today. */
    const int64_t ages[] = {cutoff, cutoff + 1, now - 5, now};
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        char *id = NULL;
        dir_event_t event = {.connection_id = "conn_p", .reason = "prune"};
        SSO_CHECK(dir_events_add(kit->dir, &event, &id) == 0 && id);
        SSO_CHECK(dir_db_run(db, NULL, "UPDATE login_events SET created_at = ? WHERE id = ?", "is",
                             ages[i], id) == DIR_DB_OK);
        free(id);
    }
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events", NULL) == 4);

    /* Housekeeping prunes with the configured retention: 3 days keeps only today's. */
    kit->dir->event_retention_days = 3;
    dir_housekeeping_run(kit->dir, true);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events", NULL) == 2);
    /* A backlog larger than a batch goes a batch per write, not all in one. */
    SSO_CHECK(dir_db_run(db, NULL, "DELETE FROM login_events", NULL) == DIR_DB_OK);
    for (int i = 0; i < DIR_EVENTS_PRUNE_BATCH + 12; i++) {
        dir_event_t event = {.connection_id = i < DIR_EVENTS_PRUNE_BATCH + 10 ? "conn_q" : "new",
                             .reason = "r"};
        SSO_CHECK(dir_events_add(kit->dir, &event, NULL) == 0);
    }
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE login_events SET created_at = ? WHERE connection_id = "
                                   "'conn_q'", "i", now - 10 * day) == DIR_DB_OK);
    dir_housekeeping_run(kit->dir, true);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events WHERE connection_id = 'conn_q'",
                         NULL) == 10);
    dir_housekeeping_run(kit->dir, false); /* the backlog is worked off before the minute */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events", NULL) == 2);
    dir_housekeeping_run(kit->dir, false); /* no backlog: nothing to do, nothing goes */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM login_events WHERE connection_id = 'new'",
                         NULL) == 2);
    kit->dir->event_retention_days = DIR_EVENT_RETENTION_DAYS;
}

/* The dashboard's and the portal's sessions that ended while their browsers stayed away. */
static void s_test_sessions(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    const int64_t now = dir_now();
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO dashboard_admins (id, email, created_at) VALUES "
                                   "('adm_h', 'h@example.com', ?)", "i", now) == DIR_DB_OK);
    /* Live; idle just too long; past its end though seen now; live at the idle's edge. */
    const int64_t seen[] = {now, now - DIR_DASH_SESSION_IDLE, now, now - DIR_DASH_SESSION_IDLE + 1};
    const int64_t end[] = {now + 60, now + 60, now, now + 60};
    for (int i = 0; i < 4; i++) {
        char id[16], hash[16];
        snprintf(id, sizeof id, "das_%d", i);
        snprintf(hash, sizeof hash, "hash%d", i);
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO dashboard_sessions (id, session_hash, "
                                       "admin_id, created_at, last_seen, expires_at) VALUES "
                                       "(?, ?, 'adm_h', ?, ?, ?)", "ssiii", id, hash,
                             now - 3600, seen[i], end[i]) == DIR_DB_OK);
    }
    dir_housekeeping_run(kit->dir, true);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM dashboard_sessions", NULL) == 2);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM dashboard_sessions WHERE id IN ('das_0', "
                             "'das_3')", NULL) == 2);
    /* The portal's, with its own idle time. */
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO organizations (id, display_name, created_at, "
                                   "updated_at) VALUES ('org_h', 'H', ?1, ?1)", "i", now)
              == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO portal_links (id, organization_id, token_hash, "
                                   "created_at, expires_at) VALUES ('pl_h', 'org_h', 'th', ?1, "
                                   "?1 + 3600)", "i", now) == DIR_DB_OK);
    for (int i = 0; i < 2; i++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO portal_sessions (id, session_hash, "
                                       "organization_id, link_id, created_at, last_seen, "
                                       "expires_at) VALUES (?, ?, 'org_h', 'pl_h', ?, ?, ?)",
                             "ssiii", i ? "ps_idle" : "ps_live", i ? "h1" : "h0", now,
                             i ? now - dir_portal_app.idle : now, now + 60) == DIR_DB_OK);
    dir_housekeeping_run(kit->dir, true);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_sessions WHERE id = 'ps_live'", NULL)
              == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM portal_sessions", NULL) == 1);
}

void dir_housekeeping_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_events);
    dir_testkit_run(s_test_sessions);
}
