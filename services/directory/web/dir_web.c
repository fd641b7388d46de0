/* dir_web: sessions, CSRF, cookies, origin checks and pages of the directory's browser apps. */
#include "web/dir_web.h"
#include "api/dir_json.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <strings.h>

int dir_web_session_new(dir_web_session_t *session, const char *prefix, int64_t now,
                        int64_t expires_at, char hash[65])
{
    memset(session, 0, sizeof *session);
    char *secret = sso_random_token(SSO_COOKIE_TOKEN_BYTES);
    char *id = sso_random_id(prefix, 10);
    int rc = secret && id && strlen(secret) == SSO_COOKIE_TOKEN_LEN ? 0 : -1;
    if (rc == 0) {
        snprintf(session->secret, sizeof session->secret, "%s", secret);
        snprintf(session->id, sizeof session->id, "%s", id);
        session->created_at = session->last_seen = now;
        session->expires_at = expires_at;
        sso_sha256_hex(secret, strlen(secret), hash);
    }
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    free(id);
    return rc;
}

/* Deletes a session found ended. */
static void s_drop(dir_t *dir, const dir_web_app_t *app, const char *id, const char *why)
{
    if (dir_web_session_end(dir, app, id, why) != 0)
        sso_warn("%s session %s: could not be deleted", app->name, id);
}

dir_web_state_t dir_web_session_find(dir_t *dir, const dir_web_app_t *app,
                                     const Sso__HttpRequest *request, const char *columns,
                                     const char *from_where, dir_web_owner_fn *owner,
                                     void *arg, dir_web_session_t *session)
{
    memset(session, 0, sizeof *session);
    char name[64], sql[600];
    if (sso_cookie_host_name(dir->public_url, app->cookie, name, sizeof name) != 0
        || (size_t) snprintf(sql, sizeof sql, "SELECT s.id, s.created_at, s.last_seen, "
                                              "s.expires_at, %s FROM %s %s s.session_hash = ?",
                             columns, app->table, from_where) >= sizeof sql)
        return DIR_WEB_SESSION_ERROR;
    char *secret = sso_cookie_token(request, name);
    if (!secret)
        return DIR_WEB_SESSION_NONE;
    snprintf(session->secret, sizeof session->secret, "%s", secret);
    char hash[65];
    sso_sha256_hex(secret, strlen(secret), hash);
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, sql, "s", hash);
    int rc = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (rc == DIR_DB_ROW) {
        snprintf(session->id, sizeof session->id, "%s", dir_db_text(stmt, 0));
        session->created_at = dir_db_int64(stmt, 1);
        session->last_seen = dir_db_int64(stmt, 2);
        session->expires_at = dir_db_int64(stmt, 3);
        owner(stmt, 4, arg);
    }
    dir_db_release(stmt);
    if (rc != DIR_DB_ROW) {
        OPENSSL_cleanse(session->secret, sizeof session->secret);
        return rc == DIR_DB_DONE ? DIR_WEB_SESSION_NONE : DIR_WEB_SESSION_ERROR;
    }
    int64_t now = dir_now();
    if (now >= session->expires_at) {
        s_drop(dir, app, session->id, "its lifetime is over");
        return DIR_WEB_SESSION_EXPIRED;
    }
    if (now - session->last_seen >= app->idle) {
        s_drop(dir, app, session->id, "idle too long");
        return DIR_WEB_SESSION_IDLE_OUT;
    }
    snprintf(sql, sizeof sql, "UPDATE %s SET last_seen = ? WHERE id = ?", app->table);
    if (now > session->last_seen
        && dir_db_run(dir->db, NULL, sql, "is", now, session->id) != DIR_DB_OK)
        return DIR_WEB_SESSION_ERROR;
    session->last_seen = now;
    return DIR_WEB_SESSION_OK;
}

int dir_web_sessions_prune(dir_t *dir, const dir_web_app_t *app, int64_t now)
{
    /* The same ends as dir_web_session_find's. */
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE expires_at <= ?1 OR last_seen <= ?1 - ?2",
             app->table);
    int changes = 0;
    return dir_db_run(dir->db, &changes, sql, "ii", now, app->idle) == DIR_DB_OK ? changes : -1;
}

int dir_web_session_end(dir_t *dir, const dir_web_app_t *app, const char *id, const char *why)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", app->table);
    if (dir_db_run(dir->db, NULL, sql, "s", id) != DIR_DB_OK)
        return -1;
    sso_info("%s session %s ended: %s", app->name, id, why);
    return 0;
}

void dir_web_csrf(const dir_web_app_t *app, const char *secret, char out[DIR_WEB_CSRF_LEN + 1])
{
    /* A domain-separated digest of the secret: another value than the stored hash, useless
       without the HttpOnly cookie, and the same for the session's whole life. */
    char input[sizeof "sso  csrf:" + 32 + SSO_COOKIE_TOKEN_LEN];
    int len = snprintf(input, sizeof input, "sso %s csrf:%s", app->name, secret);
    char hex[65];
    sso_sha256_hex(input, len > 0 && (size_t) len < sizeof input ? (size_t) len : 0, hex);
    OPENSSL_cleanse(input, sizeof input);
    memcpy(out, hex, DIR_WEB_CSRF_LEN);
    out[DIR_WEB_CSRF_LEN] = '\0';
}

bool dir_web_csrf_ok(const dir_web_app_t *app, const char *secret,
                     const Sso__HttpRequest *request)
{
    const char *given = sso_http_header(request, "x-csrf-token");
    if (!given || !secret || !*secret)
        return false;
    char want[DIR_WEB_CSRF_LEN + 1];
    dir_web_csrf(app, secret, want);
    return sso_secure_equals(given, want);
}

int dir_web_cookie(const dir_t *dir, const dir_web_app_t *app, const char *secret,
                   int64_t expires_at, char *out, size_t size)
{
    bool set = secret && *secret;
    int64_t left = set ? expires_at - dir_now() : 0;
    return sso_cookie_host_header(out, size, dir->public_url, app->cookie_path, app->cookie,
                                  set ? secret : "", left > 0 ? (long) left : 0);
}

/* A browser's POST came from the broker's own pages: Origin, when sent, is the public URL's
   origin, and Sec-Fetch-Site, when sent, is same-origin. (Browsers send both with a POST;
   another site's form could otherwise sign a victim into the sender's session.) Under
   Referrer-Policy: no-referrer (our other pages', or an older copy of a page) a browser's form
   POST carries "Origin: null"; that passes only beside Sec-Fetch-Site: same-origin, which no
   page can set. */
bool dir_web_same_origin(const dir_t *dir, const Sso__HttpRequest *request)
{
    const char *origin = sso_http_header(request, "origin");
    const char *site = sso_http_header(request, "sec-fetch-site");
    bool same_site = site && !strcmp(site, "same-origin");
    const char *host = strstr(dir->public_url, "://");
    size_t len = host ? strcspn(host + 3, "/") + (size_t) (host + 3 - dir->public_url) : 0;
    bool origin_ok = !origin || (strlen(origin) == len && len
                                 && !strncasecmp(origin, dir->public_url, len))
                     || (!strcmp(origin, "null") && same_site);
    return origin_ok && (!site || same_site);
}

zframe_t *dir_web_shell(const char *app, const char *title, const char *testid,
                        const char *stylesheet, const char *script)
{
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin_styled(html, title, stylesheet);
        sso_html_add(html,
                     "<div id=\"{}-app\" class=\"{}\" data-testid=\"{}\">\n"
                     "<h1>{}</h1>\n<p class=\"{}-loading\" role=\"status\">Loading…</p>\n"
                     "</div>\n<noscript><p class=\"error\">This page needs JavaScript."
                     "</p></noscript>\n<script type=\"module\" src=\"{}\"></script>\n",
                     app, app, testid, title, app, script);
        sso_html_end(html);
    }
    sso_response_t *response = html ? sso_html_response_csp(&html, 200, DIR_WEB_APP_CSP)
                                    : NULL;
    return response ? sso_response_pack(&response)
                    : sso_http_error(500, "server_error", "out of memory");
}

zframe_t *dir_web_page(uint32_t status, const char *title, const char *message,
                       const char *advice)
{
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, title);
        sso_html_add(html, "<h1>{}</h1>\n<p class=\"error\">{}</p>\n", title, message);
        if (advice)
            sso_html_add(html, "<p>{}</p>\n", advice);
        sso_html_end(html);
    }
    sso_response_t *response = html ? sso_html_response(&html, status) : NULL;
    if (!response)
        return sso_http_error(status, "server_error", message);
    return sso_response_pack(&response);
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The CSRF token: bound to the secret and to the app; the cookie's forms. */
static void s_test(dir_testkit_t *kit)
{
    const dir_web_app_t a = {"alpha", "portal_sessions", "sso_alpha", "/alpha/", 60};
    const dir_web_app_t b = {"beta", "portal_sessions", "sso_beta", "/beta/", 60};
    char one[DIR_WEB_CSRF_LEN + 1], two[DIR_WEB_CSRF_LEN + 1], three[DIR_WEB_CSRF_LEN + 1];
    dir_web_csrf(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", one);
    dir_web_csrf(&a, "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", two);
    dir_web_csrf(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", three);
    SSO_CHECK(strlen(one) == DIR_WEB_CSRF_LEN && strcmp(one, two) && strcmp(one, three));
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[1] = {&header};
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.headers = headers;
    request.n_headers = 1;
    header.name = "x-csrf-token";
    header.value = one;
    SSO_CHECK(dir_web_csrf_ok(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &request));
    SSO_CHECK(!dir_web_csrf_ok(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &request));
    SSO_CHECK(!dir_web_csrf_ok(&a, "", &request) && !dir_web_csrf_ok(&a, NULL, &request));
    header.value = "";
    SSO_CHECK(!dir_web_csrf_ok(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &request));
    request.n_headers = 0;
    SSO_CHECK(!dir_web_csrf_ok(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &request));

    char cookie[300];
    SSO_CHECK(dir_web_cookie(kit->dir, &a, NULL, 0, cookie, sizeof cookie) == 0
              && !strcmp(cookie, "__Host-sso_alpha=; Path=/; Max-Age=0; HttpOnly; "
                                 "SameSite=Lax; Secure"));
    /* Origins: the public URL's only; "null" only beside same-origin. */
    header.name = "origin";
    request.n_headers = 1;
    const char *origins[] = {"https://sso.test", "https://SSO.test", "https://evil.test",
                             "https://sso.test.evil", "null", ""};
    const bool ok[] = {true, true, false, false, false, false};
    for (size_t i = 0; i < sizeof origins / sizeof *origins; i++) {
        header.value = (char *) origins[i];
        SSO_CHECK(dir_web_same_origin(kit->dir, &request) == ok[i]);
    }
    request.n_headers = 0;
    SSO_CHECK(dir_web_same_origin(kit->dir, &request));
}

void dir_web_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
