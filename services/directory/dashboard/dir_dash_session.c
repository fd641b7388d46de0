/* dir_dash_session: dashboard sessions. */
#include "dashboard/dir_dash_session.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"

const dir_web_app_t dir_dash_app = {"dashboard", "dashboard_sessions", "sso_dashboard",
                                    "/dashboard/", DIR_DASH_SESSION_IDLE};

int dir_dash_session_start(dir_t *dir, const dir_dash_admin_t *admin,
                           dir_dash_session_t *session)
{
    char hash[65];
    int64_t now = dir_now();
    memset(session, 0, sizeof *session);
    session->admin = *admin;
    if (dir_web_session_new(&session->web, "ds_", now, now + DIR_DASH_SESSION_MAX, hash) != 0
        || dir_db_run(dir->db, NULL, "INSERT INTO dashboard_sessions (id, session_hash, "
                                     "admin_id, created_at, last_seen, expires_at) VALUES "
                                     "(?, ?, ?, ?, ?, ?)", "sssiii", session->web.id, hash,
                      admin->id, now, now, session->web.expires_at) != DIR_DB_OK) {
        memset(session, 0, sizeof *session);
        return -1;
    }
    sso_info("dashboard admin %s signed in: session %s", admin->id, session->web.id);
    return 0;
}

static void s_owner(dir_db_stmt_t *stmt, int first, void *arg)
{
    dir_dash_admin_t *admin = arg;
    snprintf(admin->id, sizeof admin->id, "%s", dir_db_text(stmt, first));
    snprintf(admin->email, sizeof admin->email, "%s", dir_db_text(stmt, first + 1));
}

dir_web_state_t dir_dash_session_find(dir_t *dir, const Sso__HttpRequest *request,
                                      dir_dash_session_t *session)
{
    memset(session, 0, sizeof *session);
    /* A disabled account's sessions are deleted when it is disabled; the join makes sure. */
    return dir_web_session_find(dir, &dir_dash_app, request, "a.id, a.email",
                                "s JOIN dashboard_admins a ON a.id = s.admin_id WHERE "
                                "a.status = 'active' AND", s_owner, &session->admin,
                                &session->web);
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    SSO_CHECK(dir_db_run(dir->db, NULL, "INSERT INTO dashboard_admins (id, email, created_at) "
                                        "VALUES ('adm_a', 'a@example.com', 1)", NULL)
              == DIR_DB_OK);
    dir_dash_admin_t admin = {"adm_a", "a@example.com"};
    dir_dash_session_t session, found;
    SSO_CHECK(dir_dash_session_start(dir, &admin, &session) == 0);
    SSO_CHECK(session.web.expires_at - session.web.created_at == DIR_DASH_SESSION_MAX
              && !strncmp(session.web.id, "ds_", 3));
    /* Only the hash is stored. */
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM dashboard_sessions WHERE "
                                  "session_hash = ?", "s", session.web.secret) == 0);
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[1] = {&header};
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    char cookie[100];
    snprintf(cookie, sizeof cookie, "__Host-sso_dashboard=%s", session.web.secret);
    header.name = "cookie";
    header.value = cookie;
    request.headers = headers;
    request.n_headers = 1;
    SSO_CHECK(dir_dash_session_find(dir, &request, &found) == DIR_WEB_SESSION_OK
              && !strcmp(found.admin.id, "adm_a")
              && !strcmp(found.admin.email, "a@example.com"));
    /* The portal's cookie name is not the dashboard's. */
    snprintf(cookie, sizeof cookie, "__Host-sso_portal=%s", session.web.secret);
    SSO_CHECK(dir_dash_session_find(dir, &request, &found) == DIR_WEB_SESSION_NONE);
    snprintf(cookie, sizeof cookie, "__Host-sso_dashboard=%s", session.web.secret);
    /* A disabled account's session is no session. */
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE dashboard_admins SET status = 'disabled'", NULL)
              == DIR_DB_OK);
    SSO_CHECK(dir_dash_session_find(dir, &request, &found) == DIR_WEB_SESSION_NONE);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE dashboard_admins SET status = 'active'", NULL)
              == DIR_DB_OK);
    /* Idle: ended and deleted. */
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE dashboard_sessions SET last_seen = ?", "i",
                         dir_now() - DIR_DASH_SESSION_IDLE) == DIR_DB_OK);
    SSO_CHECK(dir_dash_session_find(dir, &request, &found) == DIR_WEB_SESSION_IDLE_OUT);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM dashboard_sessions", NULL) == 0);
    /* Absolute: ended however busy. */
    SSO_CHECK(dir_dash_session_start(dir, &admin, &session) == 0);
    snprintf(cookie, sizeof cookie, "__Host-sso_dashboard=%s", session.web.secret);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE dashboard_sessions SET expires_at = ?", "i",
                         dir_now()) == DIR_DB_OK);
    SSO_CHECK(dir_dash_session_find(dir, &request, &found) == DIR_WEB_SESSION_EXPIRED);
    /* Deleting the account deletes its sessions. */
    SSO_CHECK(dir_dash_session_start(dir, &admin, &session) == 0);
    SSO_CHECK(dir_db_run(dir->db, NULL, "DELETE FROM dashboard_admins", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM dashboard_sessions", NULL) == 0);
}

void dir_dash_session_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
