/* dir_portal_session: portal sessions from single-use links. */
#include "portal/dir_portal_session.h"
#include "api/dir_json.h"
#include "api/dir_portal.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define S_BASE64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void s_copy(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text ? text : "");
}

/* The link behind a token, if any: 1 found, 0 none, -1 database failure. */
static int s_link(dir_t *dir, const char *hash, dir_portal_session_t *session,
                  int64_t *expires_at, bool *revoked, int64_t *used_at)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, organization_id, expires_at, "
                                                "revoked, used_at FROM portal_links WHERE "
                                                "token_hash = ?", "s", hash);
    if (!stmt)
        return -1;
    int rc = dir_db_step(stmt);
    if (rc == DIR_DB_ROW) {
        s_copy(session->link_id, sizeof session->link_id, dir_db_text(stmt, 0));
        s_copy(session->organization_id, sizeof session->organization_id, dir_db_text(stmt, 1));
        *expires_at = dir_db_int64(stmt, 2);
        *revoked = dir_db_int64(stmt, 3) != 0;
        *used_at = dir_db_is_null(stmt, 4) ? 0 : dir_db_int64(stmt, 4);
    }
    dir_db_release(stmt);
    return rc == DIR_DB_ROW ? 1 : rc == DIR_DB_DONE ? 0 : -1;
}

const dir_web_app_t dir_portal_app = {"portal", "portal_sessions", DIR_PORTAL_COOKIE,
                                      DIR_PORTAL_COOKIE_PATH, DIR_PORTAL_SESSION_IDLE};

/* Marks the link used and stores the session, in one transaction: DIR_PORTAL_LINK_OK, USED
   when another exchange got there first, ERROR. */
static dir_portal_link_t s_create(dir_t *dir, dir_portal_session_t *session, int64_t now,
                                  int64_t link_expires)
{
    char hash[65];
    dir_portal_link_t result = DIR_PORTAL_LINK_ERROR;
    int64_t expires_at = now + DIR_PORTAL_SESSION_MAX < link_expires
                             ? now + DIR_PORTAL_SESSION_MAX
                             : link_expires;
    if (dir_web_session_new(&session->web, "ps_", now, expires_at, hash) == 0) {
        int changes = 0;
        dir_db_t *db = dir->db;
        if (dir_db_begin(db) == 0
            && dir_db_run(db, &changes, "UPDATE portal_links SET used_at = ? WHERE id = ? AND "
                                        "used_at IS NULL AND revoked = 0", "is", now,
                          session->link_id) == DIR_DB_OK
            && (changes == 0
                || dir_db_run(db, NULL, "INSERT INTO portal_sessions (id, session_hash, "
                                        "organization_id, link_id, created_at, last_seen, "
                                        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)", "ssssiii",
                              session->web.id, hash, session->organization_id,
                              session->link_id, now, now, expires_at) == DIR_DB_OK)
            && dir_db_commit(db) == 0)
            result = changes == 1 ? DIR_PORTAL_LINK_OK : DIR_PORTAL_LINK_USED;
        else
            dir_db_rollback(db);
    }
    if (result != DIR_PORTAL_LINK_OK)
        OPENSSL_cleanse(session->web.secret, sizeof session->web.secret);
    return result;
}

dir_portal_link_t dir_portal_session_start(dir_t *dir, const char *token,
                                           dir_portal_session_t *session, int64_t *when)
{
    memset(session, 0, sizeof *session);
    *when = 0;
    if (!token || strlen(token) != DIR_PORTAL_TOKEN_LEN
        || strspn(token, S_BASE64URL) != DIR_PORTAL_TOKEN_LEN) {
        sso_info("portal: a link exchange brought no well-formed token");
        return DIR_PORTAL_LINK_UNKNOWN;
    }
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    int64_t expires_at = 0, used_at = 0, now = dir_now();
    bool revoked = false;
    int found = s_link(dir, hash, session, &expires_at, &revoked, &used_at);
    if (found < 0)
        return DIR_PORTAL_LINK_ERROR;
    if (found == 0) {
        sso_info("portal: a link exchange brought a token of no link (never issued, or its "
                 "organization was deleted)");
        return DIR_PORTAL_LINK_UNKNOWN;
    }
    dir_portal_link_t result;
    const char *why;
    if (revoked) {
        result = DIR_PORTAL_LINK_REVOKED;
        why = "it was revoked";
    }
    else if (expires_at <= now) {
        result = DIR_PORTAL_LINK_EXPIRED;
        *when = expires_at;
        why = "it expired";
    }
    else if (used_at) {
        result = DIR_PORTAL_LINK_USED;
        *when = used_at;
        why = "it was used before (links work once)";
    }
    else {
        result = s_create(dir, session, now, expires_at);
        why = result == DIR_PORTAL_LINK_USED ? "another exchange used it first"
                                             : "the session could not be stored";
    }
    if (result == DIR_PORTAL_LINK_OK)
        sso_info("portal link %s of %s exchanged for session %s (ends in %llds at the latest)",
                 session->link_id, session->organization_id, session->web.id,
                 (long long) (session->web.expires_at - now));
    else
        sso_info("portal link %s of %s refused: %s", session->link_id,
                 session->organization_id, why);
    return result;
}

/* The owner's columns of a portal session row. */
static void s_owner(dir_db_stmt_t *stmt, int first, void *arg)
{
    dir_portal_session_t *session = arg;
    s_copy(session->organization_id, sizeof session->organization_id,
           dir_db_text(stmt, first));
    s_copy(session->link_id, sizeof session->link_id, dir_db_text(stmt, first + 1));
}

dir_portal_state_t dir_portal_session_find(dir_t *dir, const Sso__HttpRequest *request,
                                           dir_portal_session_t *session)
{
    memset(session, 0, sizeof *session);
    return dir_web_session_find(dir, &dir_portal_app, request, "s.organization_id, s.link_id",
                                "s WHERE", s_owner, session, &session->web);
}

int dir_portal_session_end(dir_t *dir, const dir_portal_session_t *session)
{
    return dir_web_session_end(dir, &dir_portal_app, session->web.id, "logged out");
}

void dir_portal_session_csrf(const dir_portal_session_t *session,
                             char out[DIR_PORTAL_CSRF_LEN + 1])
{
    dir_web_csrf(&dir_portal_app, session->web.secret, out);
}

bool dir_portal_session_csrf_ok(const dir_portal_session_t *session,
                                const Sso__HttpRequest *request)
{
    return dir_web_csrf_ok(&dir_portal_app, session->web.secret, request);
}

int dir_portal_session_cookie(const dir_t *dir, const dir_portal_session_t *session,
                              char *out, size_t size)
{
    return dir_web_cookie(dir, &dir_portal_app, session ? session->web.secret : NULL,
                          session ? session->web.expires_at : 0, out, size);
}

/* ---- self-test ------------------------------------------------------------------------- */

/* A link of org made through the API; its token in token. */
static void s_link_token(dir_testkit_t *kit, const char *org, const char *body, char *link,
                         char *token)
{
    char path[160];
    json_t *json = NULL;
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links", org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, body, &json) == 201);
    const char *location = strchr(dir_testkit_str(json, "location"), '#');
    snprintf(token, DIR_PORTAL_TOKEN_LEN + 1, "%s", location ? location + 1 : "");
    snprintf(link, 64, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
}

/* A request whose Cookie header is cookie ("" for none). */
static Sso__HttpRequest s_request(Sso__Header *header, Sso__Header **headers, const char *cookie)
{
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    header->name = "cookie";
    header->value = (char *) cookie;
    headers[0] = header;
    request.headers = headers;
    request.n_headers = *cookie ? 1 : 0;
    request.method = "GET";
    request.path = "/portal/api/session";
    request.query = "";
    return request;
}

static void s_test(dir_testkit_t *kit)
{
    dir_t *dir = kit->dir;
    char org[64] = "", link[64], token[DIR_PORTAL_TOKEN_LEN + 1];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    s_link_token(kit, org, NULL, link, token);
    dir_portal_session_t session, found;
    int64_t when;

    /* Absent, empty, malformed and unknown tokens open nothing and store nothing. */
    const char *junk[] = {NULL, "", "short", "x", "Zm9v/Zm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9vZm9",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
        SSO_CHECK(dir_portal_session_start(dir, junk[i], &session, &when)
                  == DIR_PORTAL_LINK_UNKNOWN);
    char longer[DIR_PORTAL_TOKEN_LEN + 2];
    snprintf(longer, sizeof longer, "%sA", token);
    SSO_CHECK(dir_portal_session_start(dir, longer, &session, &when) == DIR_PORTAL_LINK_UNKNOWN);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM portal_sessions", NULL) == 0);

    /* The exchange: a session of the link's organization, stored by hash; once only. */
    SSO_CHECK(dir_portal_session_start(dir, token, &session, &when) == DIR_PORTAL_LINK_OK);
    SSO_CHECK(!strcmp(session.organization_id, org) && !strcmp(session.link_id, link)
              && !strncmp(session.web.id, "ps_", 3) && sso_cookie_token_ok(session.web.secret));
    SSO_CHECK(session.web.expires_at - session.web.created_at == DIR_PORTAL_SESSION_MAX);
    char hash[65];
    sso_sha256_hex(session.web.secret, strlen(session.web.secret), hash);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM portal_sessions WHERE session_hash = ? "
                                  "AND organization_id = ?", "ss", hash, org) == 1);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM portal_sessions WHERE session_hash = ?",
                         "s", session.web.secret) == 0);
    SSO_CHECK(dir_portal_session_start(dir, token, &found, &when) == DIR_PORTAL_LINK_USED
              && when == session.web.created_at && !strcmp(found.link_id, link)
              && !*found.web.secret);

    /* The cookie: HttpOnly, Lax, Secure and host-only over https, for the session's life. */
    char cookie[300], want[300], want_later[300];
    SSO_CHECK(dir_portal_session_cookie(dir, &session, cookie, sizeof cookie) == 0);
    snprintf(want, sizeof want, "__Host-sso_portal=%s; Path=/; Max-Age=%d; HttpOnly; "
                                "SameSite=Lax; Secure", session.web.secret, DIR_PORTAL_SESSION_MAX);
    /* The same a second later (the clock may tick between the exchange and the cookie). */
    snprintf(want_later, sizeof want_later, "__Host-sso_portal=%s; Path=/; Max-Age=%d; "
             "HttpOnly; SameSite=Lax; Secure", session.web.secret, DIR_PORTAL_SESSION_MAX - 1);
    SSO_CHECK(!strcmp(cookie, want) || !strcmp(cookie, want_later));
    SSO_CHECK(dir_portal_session_cookie(dir, NULL, cookie, sizeof cookie) == 0
              && !strcmp(cookie, "__Host-sso_portal=; Path=/; Max-Age=0; HttpOnly; "
                                 "SameSite=Lax; Secure"));

    /* Lookup by cookie: the right name only, and one value only. */
    Sso__Header header;
    Sso__Header *headers[1];
    char value[200];
    snprintf(value, sizeof value, "__Host-sso_portal=%s", session.web.secret);
    Sso__HttpRequest request = s_request(&header, headers, value);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_OK
              && !strcmp(found.web.id, session.web.id) && !strcmp(found.organization_id, org));
    const char *none[] = {"", "sso_portal=x", "__Host-sso_portal=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        Sso__HttpRequest other = s_request(&header, headers, none[i]);
        SSO_CHECK(dir_portal_session_find(dir, &other, &found) == DIR_PORTAL_SESSION_NONE);
    }
    snprintf(value, sizeof value, "sso_portal=%s", session.web.secret); /* not the https name */
    request = s_request(&header, headers, value);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_NONE);
    snprintf(value, sizeof value, "__Host-sso_portal=%s; __Host-sso_portal=%s", session.web.secret,
             session.web.secret);
    request = s_request(&header, headers, value);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_NONE);

    /* The CSRF token: bound to the secret, compared whole. */
    char csrf[DIR_PORTAL_CSRF_LEN + 1], csrf2[DIR_PORTAL_CSRF_LEN + 1];
    dir_portal_session_csrf(&session, csrf);
    SSO_CHECK(strlen(csrf) == DIR_PORTAL_CSRF_LEN && !strstr(hash, csrf));
    dir_portal_session_t other = session;
    other.web.secret[0] = other.web.secret[0] == 'A' ? 'B' : 'A';
    dir_portal_session_csrf(&other, csrf2);
    SSO_CHECK(strcmp(csrf, csrf2) != 0);

    /* Idle: a request just inside the window moves it on; past it the session is gone. */
    snprintf(value, sizeof value, "__Host-sso_portal=%s", session.web.secret);
    request = s_request(&header, headers, value);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE portal_sessions SET last_seen = ? WHERE id = ?",
                         "is", dir_now() - DIR_PORTAL_SESSION_IDLE + 5, session.web.id) == DIR_DB_OK);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_OK);
    SSO_CHECK(dir_db_int(dir->db, "SELECT last_seen FROM portal_sessions WHERE id = ?", "s",
                         session.web.id) >= dir_now() - 1);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE portal_sessions SET last_seen = ? WHERE id = ?",
                         "is", dir_now() - DIR_PORTAL_SESSION_IDLE, session.web.id) == DIR_DB_OK);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_IDLE_OUT);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_NONE);

    /* Absolute: never past the link's expiry, and over when its end passes however busy. */
    s_link_token(kit, org, "{\"expires_in\":600}", link, token);
    SSO_CHECK(dir_portal_session_start(dir, token, &session, &when) == DIR_PORTAL_LINK_OK);
    SSO_CHECK(session.web.expires_at == dir_db_int(dir->db, "SELECT expires_at FROM portal_links "
                                                        "WHERE id = ?", "s", link));
    snprintf(value, sizeof value, "__Host-sso_portal=%s", session.web.secret);
    request = s_request(&header, headers, value);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE portal_sessions SET expires_at = ?, last_seen = ?"
                                        " WHERE id = ?", "iis", dir_now(), dir_now(), session.web.id)
              == DIR_DB_OK);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_EXPIRED);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM portal_sessions", NULL) == 0);

    /* Expired and revoked links, each with its own answer (revoked first). */
    s_link_token(kit, org, NULL, link, token);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE portal_links SET expires_at = ? WHERE id = ?",
                         "is", dir_now(), link) == DIR_DB_OK);
    SSO_CHECK(dir_portal_session_start(dir, token, &session, &when) == DIR_PORTAL_LINK_EXPIRED
              && when > 0);
    SSO_CHECK(dir_db_run(dir->db, NULL, "UPDATE portal_links SET revoked = 1 WHERE id = ?", "s",
                         link) == DIR_DB_OK);
    SSO_CHECK(dir_portal_session_start(dir, token, &session, &when) == DIR_PORTAL_LINK_REVOKED);
    SSO_CHECK(dir_db_int(dir->db, "SELECT count(*) FROM portal_sessions", NULL) == 0);

    /* Logout ends the session. */
    s_link_token(kit, org, NULL, link, token);
    SSO_CHECK(dir_portal_session_start(dir, token, &session, &when) == DIR_PORTAL_LINK_OK);
    snprintf(value, sizeof value, "__Host-sso_portal=%s", session.web.secret);
    request = s_request(&header, headers, value);
    SSO_CHECK(dir_portal_session_end(dir, &session) == 0);
    SSO_CHECK(dir_portal_session_find(dir, &request, &found) == DIR_PORTAL_SESSION_NONE);
}

void dir_portal_session_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
