/* dir_dash_admins: dashboard accounts, setup links, sign-in with lockout. */
#include "dashboard/dir_dash_admins.h"
#include "api/dir_valid.h"
#include "dir_admin.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <ctype.h>
#include <openssl/crypto.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BASE64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* An email as accounts keep it: lower-cased, one '@' between a local part of printable
   characters (no space, quote or angle bracket) and a domain name. 0, or -1 with why. */
static int s_email(const char *input, char out[DIR_DASH_EMAIL_MAX + 1], char *why,
                   size_t why_size)
{
    const char *at = input ? strchr(input, '@') : NULL;
    size_t local = at ? (size_t) (at - input) : 0;
    if (!input || strlen(input) > DIR_DASH_EMAIL_MAX || !at || local == 0 || local > 64
        || strchr(at + 1, '@')) {
        snprintf(why, why_size, "email must be an address such as dev@example.com (at most %d "
                                "characters)", DIR_DASH_EMAIL_MAX);
        return -1;
    }
    for (size_t i = 0; i < local; i++) {
        unsigned char c = (unsigned char) input[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"<>(),;:\\[]", c)) {
            snprintf(why, why_size, "email has a character an address cannot have");
            return -1;
        }
        out[i] = (char) tolower(c);
    }
    char domain[254];
    if (dir_domain_normalize(at + 1, domain, why, why_size) != 0
        || strcasecmp(domain, at + 1) != 0) {
        snprintf(why, why_size, "email's domain is not a domain name");
        return -1;
    }
    if ((size_t) snprintf(out + local, DIR_DASH_EMAIL_MAX + 1 - local, "@%s", domain)
        >= DIR_DASH_EMAIL_MAX + 1 - local) {
        snprintf(why, why_size, "email is too long");
        return -1;
    }
    return 0;
}

/* A new setup link for admin_id, killing any other: its URL (shown once) and expiry. */
static int s_new_link(dir_t *dir, const char *admin_id, char *url, size_t url_size,
                      int64_t *expires_at)
{
    char *token = sso_random_token(32);
    int rc = -1;
    *expires_at = dir_now() + DIR_DASH_SETUP_TTL;
    if (token && strlen(token) == DIR_DASH_SETUP_TOKEN_LEN
        && (size_t) snprintf(url, url_size, "%s/dashboard/setup#%s", dir->public_url, token)
               < url_size) {
        char hash[65];
        sso_sha256_hex(token, strlen(token), hash);
        rc = dir_db_run(dir->db, NULL, "DELETE FROM dashboard_setup_links WHERE admin_id = ?",
                        "s", admin_id) == DIR_DB_OK
                     && dir_db_run(dir->db, NULL, "INSERT INTO dashboard_setup_links "
                                                  "(token_hash, admin_id, created_at, "
                                                  "expires_at) VALUES (?, ?, ?, ?)", "ssii",
                                   hash, admin_id, dir_now(), *expires_at) == DIR_DB_OK
                 ? 0
                 : -1;
    }
    if (token)
        OPENSSL_cleanse(token, strlen(token));
    free(token);
    if (rc == 0)
        sso_info("dashboard admin %s: a new setup link (valid %ds); any older one is dead",
                 admin_id, DIR_DASH_SETUP_TTL);
    return rc;
}

/* Creates the account of email with its link. 0 with id, -1 with err. */
static int s_create(dir_t *dir, const char *email_input, char id_out[64], char *url,
                    size_t url_size, int64_t *expires_at, dir_error_t *err)
{
    char email[DIR_DASH_EMAIL_MAX + 1], why[200];
    if (s_email(email_input, email, why, sizeof why) != 0) {
        dir_bad_request(err, "%s", why);
        return -1;
    }
    char *id = sso_random_id("adm_", 10);
    int changes = 0;
    int rc = -1;
    if (id && dir_db_begin(dir->db) == 0) {
        if (dir_db_run(dir->db, &changes, "INSERT INTO dashboard_admins (id, email, created_at) "
                                          "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
                                          "dashboard_admins WHERE email = ?)", "ssis", id, email,
                       dir_now(), email) == DIR_DB_OK
            && changes == 1 && s_new_link(dir, id, url, url_size, expires_at) == 0
            && dir_db_commit(dir->db) == 0)
            rc = 0;
        else
            dir_db_rollback(dir->db);
    }
    if (rc == 0) {
        snprintf(id_out, 64, "%s", id);
        sso_info("dashboard admin %s created", id);
    }
    else if (id && changes == 0)
        dir_conflict(err, "an account with this email exists");
    else
        dir_server_error(err);
    free(id);
    return rc;
}

/* ---- setup and sign-in ----------------------------------------------------------------- */

/* The number of UTF-8 code points of text (its continuation bytes not counted). */
static size_t s_chars(const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* NULL when password may be the account's, else the rule it breaks. */
static const char *s_password_rule(const char *password, const char *confirm, const char *email)
{
    if (!password || !*password)
        return "a password is required";
    if (s_chars(password) < DIR_DASH_PASSWORD_MIN)
        return "the password must be at least 12 characters long";
    if (s_chars(password) > DIR_DASH_PASSWORD_MAX || strlen(password) > 4 * DIR_DASH_PASSWORD_MAX)
        return "the password must be at most 256 characters long";
    if (!confirm || strcmp(password, confirm) != 0)
        return "the two passwords differ";
    const char *at = strchr(email, '@');
    if (!strcasecmp(password, email)
        || (at && strlen(password) == (size_t) (at - email)
            && !strncasecmp(password, email, (size_t) (at - email))))
        return "the password must not be the email address";
    return NULL;
}

dir_dash_setup_t dir_dash_admins_setup(dir_t *dir, const char *token, const char *password,
                                       const char *password_confirm, dir_dash_admin_t *admin,
                                       char *why, size_t why_size)
{
    memset(admin, 0, sizeof *admin);
    snprintf(why, why_size, "this is not a setup link, or it was copied incompletely");
    if (!token || strlen(token) != DIR_DASH_SETUP_TOKEN_LEN
        || strspn(token, S_BASE64URL) != DIR_DASH_SETUP_TOKEN_LEN)
        return DIR_DASH_SETUP_UNKNOWN;
    char hash[65];
    sso_sha256_hex(token, strlen(token), hash);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT a.id, a.email, l.expires_at, l.used_at "
                                                "FROM dashboard_setup_links l JOIN "
                                                "dashboard_admins a ON a.id = l.admin_id WHERE "
                                                "l.token_hash = ?", "s", hash);
    int rc = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    int64_t expires_at = 0;
    bool used = false;
    if (rc == DIR_DB_ROW) {
        snprintf(admin->id, sizeof admin->id, "%s", dir_db_text(stmt, 0));
        snprintf(admin->email, sizeof admin->email, "%s", dir_db_text(stmt, 1));
        expires_at = dir_db_int64(stmt, 2);
        used = !dir_db_is_null(stmt, 3);
    }
    dir_db_release(stmt);
    if (rc != DIR_DB_ROW)
        return rc == DIR_DB_DONE ? DIR_DASH_SETUP_UNKNOWN : DIR_DASH_SETUP_ERROR;
    if (used) {
        snprintf(why, why_size, "this setup link was used already: a link works once; ask for "
                                "a new one");
        return DIR_DASH_SETUP_USED;
    }
    if (expires_at <= dir_now()) {
        snprintf(why, why_size, "this setup link expired (links last 24 hours); ask for a new "
                                "one");
        return DIR_DASH_SETUP_EXPIRED;
    }
    const char *broken = s_password_rule(password, password_confirm, admin->email);
    if (broken) {
        snprintf(why, why_size, "%s", broken);
        return DIR_DASH_SETUP_BAD_PASSWORD;
    }
    char *password_hash = sso_secret_hash(password);
    int changes = 0;
    dir_dash_setup_t result = DIR_DASH_SETUP_ERROR;
    if (password_hash && dir_db_begin(dir->db) == 0) {
        if (dir_db_run(dir->db, &changes, "UPDATE dashboard_setup_links SET used_at = ? WHERE "
                                          "token_hash = ? AND used_at IS NULL", "is", dir_now(),
                       hash) == DIR_DB_OK
            && (changes == 0
                || (dir_db_run(dir->db, NULL, "UPDATE dashboard_admins SET password_hash = ? "
                                              "WHERE id = ?", "ss", password_hash, admin->id)
                        == DIR_DB_OK
                    && dir_dash_lockout_clear(dir, admin->email) == 0
                    && dir_db_run(dir->db, NULL, "DELETE FROM dashboard_sessions WHERE "
                                                 "admin_id = ?", "s", admin->id) == DIR_DB_OK))
            && dir_db_commit(dir->db) == 0)
            result = changes == 1 ? DIR_DASH_SETUP_OK : DIR_DASH_SETUP_USED;
        else
            dir_db_rollback(dir->db);
    }
    free(password_hash);
    if (result == DIR_DASH_SETUP_OK)
        sso_info("dashboard admin %s set a password through a setup link", admin->id);
    return result;
}

dir_dash_signin_t dir_dash_admins_signin(dir_t *dir, const char *email_input,
                                         const char *password, dir_dash_admin_t *admin,
                                         int64_t *retry_after, bool *locked_now)
{
    memset(admin, 0, sizeof *admin);
    *retry_after = 0;
    *locked_now = false;
    char email[DIR_DASH_EMAIL_MAX + 1] = "", why[200];
    /* A malformed email can have no account, and is no key of the lockout. */
    bool well_formed = s_email(email_input, email, why, sizeof why) == 0;
    /* The lockout first, whether an account has the email or not: its answers must not tell
       (a locked email's try is refused unchecked, account or not). */
    int64_t wait = well_formed ? dir_dash_lockout_wait(dir, email) : 0;
    if (wait < 0)
        return DIR_DASH_SIGNIN_ERROR;
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, email, password_hash, status FROM "
                                                "dashboard_admins WHERE email = ?", "s", email);
    int rc = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char *stored = NULL;
    bool active = false;
    if (rc == DIR_DB_ROW && well_formed) {
        snprintf(admin->id, sizeof admin->id, "%s", dir_db_text(stmt, 0));
        snprintf(admin->email, sizeof admin->email, "%s", dir_db_text(stmt, 1));
        stored = dir_db_is_null(stmt, 2) ? NULL : strdup(dir_db_text(stmt, 2));
        active = !strcmp(dir_db_text(stmt, 3), "active");
    }
    dir_db_release(stmt);
    if (rc == DIR_DB_ERROR)
        return DIR_DASH_SIGNIN_ERROR;
    if (wait > 0) {
        free(stored);
        *retry_after = wait;
        return DIR_DASH_SIGNIN_LOCKED;
    }
    /* Every refusal costs one hash: an unknown email, an account without a password yet or
       a disabled one answers as slowly as a wrong password. */
    static char *dummy;
    if (!dummy)
        dummy = sso_secret_hash("dummy password for unknown dashboard accounts");
    bool has_password = stored != NULL;
    bool matches = sso_secret_verify(password && strlen(password) <= 4 * DIR_DASH_PASSWORD_MAX
                                         ? password
                                         : "",
                                     stored ? stored : dummy ? dummy : "");
    free(stored);
    bool ok = matches && has_password && active && *admin->id;
    if (!well_formed)
        return DIR_DASH_SIGNIN_REFUSED;
    if (ok) {
        if (dir_dash_lockout_clear(dir, email) != 0
            || dir_db_run(dir->db, NULL, "UPDATE dashboard_admins SET last_sign_in_at = ? "
                                         "WHERE id = ?", "is", dir_now(), admin->id)
                   != DIR_DB_OK)
            return DIR_DASH_SIGNIN_ERROR;
        return DIR_DASH_SIGNIN_OK;
    }
    int64_t lock = 0;
    if (dir_dash_lockout_failure(dir, email, &lock) != 0)
        return DIR_DASH_SIGNIN_ERROR;
    *locked_now = lock > 0;
    /* Only an account's id is logged: not the addresses strangers type. */
    if (lock)
        sso_info("dashboard sign-in of %s locked for %llds after failures in a row",
                 *admin->id ? admin->id : "an email without an account", (long long) lock);
    return DIR_DASH_SIGNIN_REFUSED;
}

int dir_dash_admins_bootstrap(dir_t *dir, const char *email, char *why, size_t why_size)
{
    if (!email || !*email)
        return 0;
    int64_t accounts = dir_db_int(dir->db, "SELECT count(*) FROM dashboard_admins", NULL);
    if (accounts != 0) {
        if (accounts < 0)
            snprintf(why, why_size, "cannot read the dashboard accounts");
        return accounts < 0 ? -1 : 0;
    }
    char id[64], url[700], text[800];
    int64_t expires_at;
    dir_error_t err = {0};
    if (s_create(dir, email, id, url, sizeof url, &expires_at, &err) != 0) {
        snprintf(why, why_size, "SSO_DASHBOARD_ADMIN_EMAIL: %s", err.description);
        return -1;
    }
    char when[32];
    dir_time_format(expires_at, when);
    snprintf(text, sizeof text, "%s\n", url);
    int rc = dir_admin_write_file(dir->data_dir, DIR_DASH_SETUP_FILE, text, why, why_size);
    /* Printed on the console, not logged: the link is a secret until it is used. */
    fprintf(stderr, "\nThe developer dashboard's first account, %s, sets its password at\n  "
                    "%s\n(valid until %s UTC, once; also in %s/%s)\n\n",
            email, url, when, dir->data_dir, DIR_DASH_SETUP_FILE);
    fflush(stderr);
    OPENSSL_cleanse(url, sizeof url);
    OPENSSL_cleanse(text, sizeof text);
    sso_info("dashboard: made the first account %s from SSO_DASHBOARD_ADMIN_EMAIL; its setup "
             "link is in %s/%s", id, dir->data_dir, DIR_DASH_SETUP_FILE);
    return rc;
}

/* ---- the management API ----------------------------------------------------------------- */

#define S_COLUMNS "id, email, status, created_at, last_sign_in_at, password_hash IS NOT NULL, " \
                  "seq"

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    json_t *row = json_pack("{s:s, s:s, s:s, s:o, s:b}", "id", dir_db_text(stmt, 0), "email",
                            dir_db_text(stmt, 1), "status", dir_db_text(stmt, 2), "created_at",
                            dir_json_time(dir_db_int64(stmt, 3)), "password_set",
                            dir_db_int64(stmt, 5) != 0);
    json_object_set_new(row, "last_sign_in_at", dir_db_is_null(stmt, 4)
                                                     ? json_null()
                                                     : dir_json_time(dir_db_int64(stmt, 4)));
    int64_t wait = dir_dash_lockout_wait(dir, dir_db_text(stmt, 1));
    json_object_set_new(row, "locked_until", wait > 0 ? dir_json_time(dir_now() + wait)
                                                      : json_null());
    return row;
}

static zframe_t *s_list(dir_api_req_t *req, const char *id)
{
    (void) id;
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT " S_COLUMNS " FROM dashboard_admins WHERE seq > ? ORDER BY seq "
                        "LIMIT ?", NULL);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(dir_api_row(req->dir, s_row_json, "SELECT " S_COLUMNS " FROM "
                                                           "dashboard_admins WHERE id = ?",
                                     "s", id),
                         "admin", id);
}

/* The reply that shows a setup link once. */
static zframe_t *s_with_link(dir_api_req_t *req, const char *id, int status, const char *url,
                             int64_t expires_at)
{
    json_t *row = dir_api_row(req->dir, s_row_json, "SELECT " S_COLUMNS " FROM "
                                                    "dashboard_admins WHERE id = ?", "s", id);
    if (!row)
        return dir_api_db_error();
    json_object_set_new(row, "setup_url", json_string(url));
    json_object_set_new(row, "setup_expires_at", dir_json_time(expires_at));
    sso_response_t *response = sso_response_new((uint32_t) status);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_json(response, row);
    return sso_response_pack(&response);
}

static zframe_t *s_create_http(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err);
    const char *email = NULL;
    char id[64], url[700];
    int64_t expires_at = 0;
    zframe_t *reply;
    if (!body || dir_json_string(body, "email", "email", DIR_NONEMPTY, DIR_DASH_EMAIL_MAX,
                                 &email, &err) != 1) {
        if (body && !err.status)
            dir_bad_request(&err, "email is required");
        reply = dir_error_reply(&err);
    }
    else if (s_create(req->dir, email, id, url, sizeof url, &expires_at, &err) != 0)
        reply = dir_error_reply(&err);
    else
        reply = s_with_link(req, id, 201, url, expires_at);
    OPENSSL_cleanse(url, sizeof url);
    json_decref(body);
    return reply;
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    /* Its sessions and setup link go with it (ON DELETE CASCADE). */
    return dir_api_delete(req->dir, "DELETE FROM dashboard_admins WHERE id = ?", "admin", id,
                          " with its sessions");
}

/* POST /admins/{id}/{disable|enable|setup_link}. */
static zframe_t *s_action(dir_api_req_t *req, const char *id)
{
    const char *action = req->segments[2];
    dir_t *dir = req->dir;
    int64_t exists = dir_db_int(dir->db, "SELECT count(*) FROM dashboard_admins WHERE id = ?",
                                "s", id);
    if (exists < 0)
        return dir_api_db_error();
    if (exists == 0)
        return dir_api_not_found("admin", id);
    if (!strcmp(action, "setup_link")) {
        char url[700];
        int64_t expires_at = 0;
        zframe_t *reply = s_new_link(dir, id, url, sizeof url, &expires_at) == 0
                              ? s_with_link(req, id, 200, url, expires_at)
                              : dir_api_db_error();
        OPENSSL_cleanse(url, sizeof url);
        return reply;
    }
    bool disable = !strcmp(action, "disable");
    /* A disabled account's sessions end with it. */
    if (dir_db_begin(dir->db) != 0)
        return dir_api_db_error();
    if (dir_db_run(dir->db, NULL, "UPDATE dashboard_admins SET status = ? WHERE id = ?", "ss",
                   disable ? "disabled" : "active", id) != DIR_DB_OK
        || (disable && dir_db_run(dir->db, NULL, "DELETE FROM dashboard_sessions WHERE "
                                                 "admin_id = ?", "s", id) != DIR_DB_OK)
        || dir_db_commit(dir->db) != 0) {
        dir_db_rollback(dir->db);
        return dir_api_db_error();
    }
    sso_info("dashboard admin %s %s", id, disable ? "disabled, its sessions ended" : "enabled");
    return s_show(req, id);
}

zframe_t *dir_dash_admins_http(dir_api_req_t *req)
{
    size_t n = req->n_segments;
    if (n == 1) {
        static const dir_api_methods_t methods = {.get = s_list, .post = s_create_http};
        return dir_api_dispatch(req, &methods, NULL);
    }
    if (n == 2) {
        static const dir_api_methods_t methods = {.get = s_show, .del = s_delete};
        return dir_api_dispatch(req, &methods, req->segments[1]);
    }
    const char *action = req->segments[2];
    /* An unknown action is an unknown path, answered as the other routes answer one. */
    if (strcmp(action, "disable") && strcmp(action, "enable") && strcmp(action, "setup_link"))
        return sso_http_error(404, "not_found", "no such path under /api/v1");
    static const dir_api_methods_t methods = {.post = s_action};
    return dir_api_dispatch(req, &methods, req->segments[1]);
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    /* Create: the link once, the email lower-cased, no secret in the list. */
    json_t *json = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/admins", "{\"email\":\"Dev@Example.COM\"}",
                               &json) == 201);
    char id[64];
    snprintf(id, sizeof id, "%s", dir_testkit_str(json, "id"));
    const char *url = dir_testkit_str(json, "setup_url");
    SSO_CHECK(!strncmp(id, "adm_", 4) && !strcmp(dir_testkit_str(json, "email"),
                                                 "dev@example.com")
              && !strncmp(url, "https://sso.test/dashboard/setup#", 33)
              && strlen(url) == 33 + DIR_DASH_SETUP_TOKEN_LEN
              && !strcmp(dir_testkit_str(json, "status"), "active")
              && *dir_testkit_str(json, "setup_expires_at"));
    char hash[65], first[DIR_DASH_SETUP_TOKEN_LEN + 1];
    snprintf(first, sizeof first, "%s", url + 33);
    sso_sha256_hex(first, strlen(first), hash);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_setup_links WHERE "
                                       "token_hash = ? AND expires_at - created_at = ?", "si",
                         hash, (int64_t) DIR_DASH_SETUP_TTL) == 1);
    json_decref(json);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/admins", "{\"email\":\"dev@example.com\"}",
                               NULL) == 409);
    const char *bad[] = {"{}", "{\"email\":\"\"}", "{\"email\":\"no-at\"}",
                         "{\"email\":\"a@b@example.com\"}", "{\"email\":\"a b@example.com\"}",
                         "{\"email\":\"<a>@example.com\"}", "{\"email\":\"a@localhost\"}",
                         "{\"email\":\"@example.com\"}", "{\"email\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/admins", bad[i], NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/admins", NULL, &json) == 200);
    json_t *data = json_object_get(json, "data");
    char *text = json_dumps(json, 0);
    SSO_CHECK(json_array_size(data) == 1 && text && !strstr(text, "setup_url")
              && !strstr(text, "hash") && !strstr(text, first));
    free(text);
    json_decref(json);

    /* A new link kills the old one. */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/admins/%s/setup_link", id);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &json) == 200);
    SSO_CHECK(strncmp(dir_testkit_str(json, "setup_url") + 33, first, 10) != 0);
    json_decref(json);
    dir_dash_admin_t admin;
    char why[200];
    SSO_CHECK(dir_dash_admins_setup(kit->dir, first, "a good long password",
                                    "a good long password", &admin, why, sizeof why)
              == DIR_DASH_SETUP_UNKNOWN);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/admins/adm_none/setup_link", NULL, NULL)
              == 404);
    snprintf(path, sizeof path, "/api/v1/admins/%s/promote", id);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &json) == 404
              && !strcmp(dir_testkit_str(json, "error_description"),
                         "no such path under /api/v1"));
    json_decref(json);
    snprintf(path, sizeof path, "/api/v1/admins/%s/disable", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 405);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &json) == 200
              && !strcmp(dir_testkit_str(json, "status"), "disabled"));
    json_decref(json);
    snprintf(path, sizeof path, "/api/v1/admins/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 404);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_setup_links", NULL) == 0);

    /* The first account from the environment: once, its link in a 0600 file. */
    char why_start[300] = "", file[1200];
    SSO_CHECK(dir_dash_admins_bootstrap(kit->dir, NULL, why_start, sizeof why_start) == 0);
    SSO_CHECK(dir_dash_admins_bootstrap(kit->dir, "not an email", why_start, sizeof why_start)
              == -1 && strstr(why_start, "SSO_DASHBOARD_ADMIN_EMAIL"));
    SSO_CHECK(dir_dash_admins_bootstrap(kit->dir, "first@example.com", why_start,
                                        sizeof why_start) == 0);
    snprintf(file, sizeof file, "%s/%s", kit->dir->data_dir, DIR_DASH_SETUP_FILE);
    struct stat st;
    SSO_CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0600);
    SSO_CHECK(unlink(file) == 0);
    SSO_CHECK(dir_dash_admins_bootstrap(kit->dir, "other@example.com", why_start,
                                        sizeof why_start) == 0);
    SSO_CHECK(access(file, F_OK) != 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_admins", NULL) == 1);
}

void dir_dash_admins_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
