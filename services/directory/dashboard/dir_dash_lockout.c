/* dir_dash_lockout: the dashboard's sign-in failures per email, accounts or not. */
#include "dashboard/dir_dash_lockout.h"
#include "api/dir_json.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"

int64_t dir_dash_lockout_seconds(int64_t failures)
{
    if (failures < DIR_DASH_LOCK_AFTER)
        return 0;
    int64_t seconds = DIR_DASH_LOCK_BASE;
    for (int64_t i = DIR_DASH_LOCK_AFTER; i < failures && seconds < DIR_DASH_LOCK_MAX; i++)
        seconds *= 2;
    return seconds < DIR_DASH_LOCK_MAX ? seconds : DIR_DASH_LOCK_MAX;
}

static void s_key(const char *email, char key[65])
{
    sso_sha256_hex(email ? email : "", email ? strlen(email) : 0, key);
}

static int64_t s_wait(dir_t *dir, const char *email, int64_t now)
{
    char key[65];
    s_key(email, key);
    int64_t locked_until = dir_db_int(dir->db, "SELECT coalesce(max(locked_until), 0) FROM "
                                               "dashboard_signin_failures WHERE email_hash = ?",
                                      "s", key);
    if (locked_until < 0)
        return -1;
    return locked_until > now ? locked_until - now : 0;
}

/* Room for one new row: idle rows forgotten, then, at rows_max, rows evicted (unlocked with
   the fewest failures and oldest first, else the lock that ends first). 0, or -1. */
static int s_make_room(dir_t *dir, int64_t now, int64_t rows_max)
{
    if (dir_db_run(dir->db, NULL, "DELETE FROM dashboard_signin_failures WHERE locked_until <= ? "
                                  "AND last_failure_at < ?", "ii", now,
                   now - DIR_DASH_LOCKOUT_FORGET) != DIR_DB_OK)
        return -1;
    int64_t rows = dir_db_int(dir->db, "SELECT count(*) FROM dashboard_signin_failures", NULL);
    if (rows < 0)
        return -1;
    if (rows < rows_max)
        return 0;
    /* Reached only by a flood of emails: said once a minute, not once a try. */
    static int64_t warned_at;
    if (now - warned_at >= 60) {
        warned_at = now;
        sso_warn("dashboard sign-in failures: %lld rows, the most kept: evicting the least "
                 "failed", (long long) rows);
    }
    return dir_db_run(dir->db, NULL, "DELETE FROM dashboard_signin_failures WHERE email_hash IN "
                                     "(SELECT email_hash FROM dashboard_signin_failures ORDER BY "
                                     "locked_until > ?1, CASE WHEN locked_until > ?1 THEN "
                                     "locked_until ELSE 0 END, failed_count, last_failure_at "
                                     "LIMIT ?2)", "ii", now, rows - rows_max + 1) == DIR_DB_OK
               ? 0
               : -1;
}

static int s_failure(dir_t *dir, const char *email, int64_t now, int64_t rows_max,
                     int64_t *locked_for)
{
    *locked_for = 0;
    char key[65];
    s_key(email, key);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT failed_count, locked_until, "
                                                "last_failure_at FROM "
                                                "dashboard_signin_failures WHERE email_hash = ?",
                                       "s", key);
    int rc = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    int64_t failures = 0, locked_until = 0, last_failure_at = 0;
    if (rc == DIR_DB_ROW) {
        failures = dir_db_int64(stmt, 0);
        locked_until = dir_db_int64(stmt, 1);
        last_failure_at = dir_db_int64(stmt, 2);
    }
    dir_db_release(stmt);
    if (rc == DIR_DB_ERROR)
        return -1;
    /* A locked email's tries are not checked: none can fail, and waiting is not lengthened. */
    if (locked_until > now)
        return 0;
    if (rc == DIR_DB_ROW && last_failure_at < now - DIR_DASH_LOCKOUT_FORGET)
        failures = 0; /* idle long enough to be forgotten, though not pruned yet */
    failures++;
    int64_t lock = dir_dash_lockout_seconds(failures);
    int changes = 0;
    if (dir_db_run(dir->db, &changes, "UPDATE dashboard_signin_failures SET failed_count = ?, "
                                      "locked_until = ?, last_failure_at = ? WHERE "
                                      "email_hash = ?", "iiis", failures,
                   lock ? now + lock : (int64_t) 0, now, key) != DIR_DB_OK)
        return -1;
    if (changes == 0
        && (s_make_room(dir, now, rows_max) != 0
            || dir_db_run(dir->db, NULL, "INSERT INTO dashboard_signin_failures (email_hash, "
                                         "failed_count, locked_until, last_failure_at) VALUES "
                                         "(?, ?, ?, ?)", "siii", key, failures,
                          lock ? now + lock : (int64_t) 0, now) != DIR_DB_OK))
        return -1;
    *locked_for = lock;
    return 0;
}

int64_t dir_dash_lockout_wait(dir_t *dir, const char *email)
{
    return s_wait(dir, email, dir_now());
}

int dir_dash_lockout_failure(dir_t *dir, const char *email, int64_t *locked_for)
{
    return s_failure(dir, email, dir_now(), DIR_DASH_LOCKOUT_ROWS, locked_for);
}

int dir_dash_lockout_clear(dir_t *dir, const char *email)
{
    char key[65];
    s_key(email, key);
    return dir_db_run(dir->db, NULL, "DELETE FROM dashboard_signin_failures WHERE "
                                     "email_hash = ?", "s", key) == DIR_DB_OK
               ? 0
               : -1;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* count failures of email at now (rows_max rows); the lock the last one started. */
static int64_t s_fail(dir_testkit_t *kit, const char *email, int count, int64_t now,
                      int64_t rows_max)
{
    int64_t lock = -1;
    for (int i = 0; i < count; i++)
        SSO_CHECK(s_failure(kit->dir, email, now, rows_max, &lock) == 0);
    return lock;
}

static int64_t s_rows(dir_testkit_t *kit)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_signin_failures", NULL);
}

static void s_test(dir_testkit_t *kit)
{
    SSO_CHECK(dir_dash_lockout_seconds(0) == 0 && dir_dash_lockout_seconds(4) == 0
              && dir_dash_lockout_seconds(5) == 60 && dir_dash_lockout_seconds(6) == 120
              && dir_dash_lockout_seconds(11) == 3600 && dir_dash_lockout_seconds(40) == 3600
              && dir_dash_lockout_seconds(INT64_MAX) == 3600);
    const int64_t t0 = 1700000000, big = DIR_DASH_LOCKOUT_ROWS;
    /* Five failures lock for a minute; tries meanwhile are not counted. */
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0) == 0);
    SSO_CHECK(s_fail(kit, "a@example.com", 4, t0, big) == 0);
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0) == 0);
    SSO_CHECK(s_fail(kit, "a@example.com", 1, t0, big) == 60);
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0 + 10) == 50);
    SSO_CHECK(s_fail(kit, "a@example.com", 3, t0 + 10, big) == 0);
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0 + 10) == 50);
    /* Past it, the next failure doubles it, and so on. */
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0 + 60) == 0);
    SSO_CHECK(s_fail(kit, "a@example.com", 1, t0 + 60, big) == 120);
    SSO_CHECK(s_fail(kit, "a@example.com", 1, t0 + 180, big) == 240);
    /* Only the hash is kept, of the email as given (the caller lower-cases). */
    char key[65];
    s_key("a@example.com", key);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT failed_count FROM dashboard_signin_failures "
                                       "WHERE email_hash = ?", "s", key) == 7);
    SSO_CHECK(s_wait(kit->dir, "b@example.com", t0 + 180) == 0);
    /* The absent and the empty email are one more key, counted the same. */
    SSO_CHECK(s_fail(kit, NULL, 4, t0, big) == 0 && s_fail(kit, "", 1, t0, big) == 60);
    SSO_CHECK(dir_dash_lockout_clear(kit->dir, "") == 0 && s_wait(kit->dir, NULL, t0) == 0);
    /* A success clears it. */
    SSO_CHECK(dir_dash_lockout_clear(kit->dir, "a@example.com") == 0);
    SSO_CHECK(s_wait(kit->dir, "a@example.com", t0 + 200) == 0 && s_rows(kit) == 0);
    /* Idle a day, the count starts over; an idle row is forgotten when room is made. */
    SSO_CHECK(s_fail(kit, "c@example.com", 4, t0, big) == 0);
    SSO_CHECK(s_fail(kit, "c@example.com", 1, t0 + DIR_DASH_LOCKOUT_FORGET + 1, big) == 0);
    SSO_CHECK(s_fail(kit, "d@example.com", 1, t0, big) == 0 && s_rows(kit) == 2);
    SSO_CHECK(s_fail(kit, "e@example.com", 1, t0 + DIR_DASH_LOCKOUT_FORGET + 1, big) == 0);
    SSO_CHECK(s_rows(kit) == 2); /* d went, c (recent) and e stay */
    /* Full: an unlocked row with the fewest failures goes first, the oldest of them; locked
       rows stay while an unlocked one is left. */
    const int64_t t1 = t0 + 3 * DIR_DASH_LOCKOUT_FORGET;
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "DELETE FROM dashboard_signin_failures", NULL)
              == DIR_DB_OK);
    SSO_CHECK(s_fail(kit, "locked@example.com", 5, t1, 3) == 60);
    SSO_CHECK(s_fail(kit, "two@example.com", 2, t1, 3) == 0);
    SSO_CHECK(s_fail(kit, "one@example.com", 1, t1 + 1, 3) == 0);
    SSO_CHECK(s_fail(kit, "new@example.com", 1, t1 + 2, 3) == 0 && s_rows(kit) == 3);
    s_key("one@example.com", key);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_signin_failures WHERE "
                                       "email_hash = ?", "s", key) == 0);
    SSO_CHECK(s_fail(kit, "newer@example.com", 1, t1 + 3, 3) == 0 && s_rows(kit) == 3);
    s_key("two@example.com", key);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT failed_count FROM dashboard_signin_failures "
                                       "WHERE email_hash = ?", "s", key) == 2);
    SSO_CHECK(s_wait(kit->dir, "locked@example.com", t1 + 3) == 57);
    /* All locked: the lock that ends first goes. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "DELETE FROM dashboard_signin_failures", NULL)
              == DIR_DB_OK);
    SSO_CHECK(s_fail(kit, "first@example.com", 5, t1, 3) == 60);
    SSO_CHECK(s_fail(kit, "second@example.com", 5, t1 + 5, 3) == 60);
    SSO_CHECK(s_fail(kit, "third@example.com", 5, t1 + 6, 3) == 60);
    SSO_CHECK(s_fail(kit, "fourth@example.com", 1, t1 + 7, 3) == 0 && s_rows(kit) == 3);
    SSO_CHECK(s_wait(kit->dir, "first@example.com", t1 + 7) == 0);
    SSO_CHECK(s_wait(kit->dir, "second@example.com", t1 + 7) == 58);
    /* A flood of new emails keeps the table at its cap and does not end the locks. */
    for (int i = 0; i < 20; i++) {
        char email[64];
        snprintf(email, sizeof email, "flood%d@example.com", i);
        SSO_CHECK(s_fail(kit, email, 1, t1 + 8, 3) == 0);
    }
    SSO_CHECK(s_rows(kit) == 3 && s_wait(kit->dir, "second@example.com", t1 + 8) == 57
              && s_wait(kit->dir, "third@example.com", t1 + 8) == 58);
}

void dir_dash_lockout_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
