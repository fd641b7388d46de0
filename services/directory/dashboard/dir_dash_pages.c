/* dir_dash_pages: the dashboard's shells and the setup POST. */
#include "dashboard/dir_dash_pages.h"
#include "dashboard/dir_dash_admins.h"
#include "dashboard/dir_dash_audit.h"
#include "dashboard/dir_dash_testkit.h"
#include "web/dir_web.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <strings.h>

/* The setup's answer: JSON to the page's script, a page to a plain form. */
static zframe_t *s_answer(bool form, uint32_t status, const char *error, const char *title,
                          const char *message)
{
    if (form)
        return dir_web_page(status, title, message, NULL);
    return sso_http_error(status, error, message);
}

/* POST /dashboard/setup {token, password, password_confirm} (JSON or a form). */
static zframe_t *s_setup(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *type = sso_http_header(request, "content-type");
    bool form = type && !strncasecmp(type, "application/x-www-form-urlencoded", 33);
    if (!dir_web_same_origin(dir, request))
        return s_answer(form, 403, "access_denied", "Not set up",
                        "This request came from another site.");
    zhashx_t *fields = form ? sso_form_parse((const char *) request->body.data,
                                             request->body.len)
                            : NULL;
    const char *why_body = NULL;
    json_t *json = form ? NULL : sso_http_json_body(request, &why_body);
    const char *token, *password, *confirm;
    if (form) {
        token = fields ? zhashx_lookup(fields, "token") : NULL;
        password = fields ? zhashx_lookup(fields, "password") : NULL;
        confirm = fields ? zhashx_lookup(fields, "password_confirm") : NULL;
    }
    else {
        token = json_string_value(json_object_get(json, "token"));
        password = json_string_value(json_object_get(json, "password"));
        confirm = json_string_value(json_object_get(json, "password_confirm"));
    }
    dir_dash_admin_t admin;
    char why[200];
    dir_dash_setup_t result = dir_dash_admins_setup(dir, token, password, confirm, &admin, why,
                                                    sizeof why);
    zhashx_destroy(&fields);
    json_decref(json);
    static const struct {
        uint32_t status;
        const char *error, *title;
    } answers[] = {
        [DIR_DASH_SETUP_UNKNOWN] = {400, "invalid_link", "This link is not valid"},
        [DIR_DASH_SETUP_EXPIRED] = {410, "link_expired", "This link has expired"},
        [DIR_DASH_SETUP_USED] = {410, "link_used", "This link was already used"},
        [DIR_DASH_SETUP_BAD_PASSWORD] = {400, "invalid_password", "Choose another password"},
        [DIR_DASH_SETUP_ERROR] = {500, "server_error", "Something went wrong"},
    };
    if (*admin.id && result != DIR_DASH_SETUP_BAD_PASSWORD)
        dir_dash_audit_write(dir, "admin", admin.email, "POST /dashboard/setup", admin.id,
                             result == DIR_DASH_SETUP_OK ? 200 : (int) answers[result].status,
                             request->remote_addr);
    if (result == DIR_DASH_SETUP_ERROR)
        snprintf(why, sizeof why, "the password could not be set; try again in a moment");
    if (result != DIR_DASH_SETUP_OK)
        return s_answer(form, answers[result].status, answers[result].error,
                        answers[result].title, why);
    char signin[600];
    snprintf(signin, sizeof signin, "%s/dashboard/signin", dir->public_url);
    sso_response_t *response = sso_response_new(form ? 303 : 200);
    sso_response_header(response, "Cache-Control", "no-store");
    if (form)
        sso_response_header(response, "Location", signin);
    else
        sso_response_json(response, json_pack("{s:{s:s, s:s}, s:s}", "admin", "id", admin.id,
                                              "email", admin.email, "signin_url", signin));
    return sso_response_pack(&response);
}

zframe_t *dir_dash_pages_handle(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *path = request->path ? request->path : "";
    const char *method = request->method ? request->method : "";
    const char *page = !strncmp(path, "/dashboard/", 11) ? path + 11 : NULL;
    static const struct {
        const char *page, *title, *testid, *script;
    } shells[] = {
        {"", "Developer dashboard", "dashboard-app", "/static/dashboard/app.js"},
        {"signin", "Sign in to the dashboard", "dashboard-signin", "/static/dashboard/signin.js"},
        {"setup", "Set your dashboard password", "dashboard-setup",
         "/static/dashboard/setup.js"},
    };
    for (size_t i = 0; page && i < sizeof shells / sizeof *shells; i++) {
        if (strcmp(page, shells[i].page) != 0)
            continue;
        if (!strcmp(page, "setup") && !strcmp(method, "POST"))
            return s_setup(dir, request);
        if (strcmp(method, "GET") && strcmp(method, "HEAD"))
            return sso_http_method_not_allowed(!strcmp(page, "setup") ? "GET, HEAD, POST"
                                                                      : "GET, HEAD");
        return dir_web_shell("dashboard", shells[i].title, shells[i].testid,
                             DIR_DASH_STYLESHEET, shells[i].script);
    }
    /* The path is not quoted back nor logged: a setup token pasted into it is a secret. */
    return dir_web_page(404, "No such page", "This address is not a page of the developer "
                                             "dashboard.", NULL);
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test(dir_testkit_t *kit)
{
    dir_dash_testkit_reply_t reply;
    /* The shells: strict CSP, their module, nothing inline, nothing from the request. */
    const char *const shells[][2] = {{"/dashboard/", "/static/dashboard/app.js"},
                                     {"/dashboard/signin", "/static/dashboard/signin.js"},
                                     {"/dashboard/setup", "/static/dashboard/setup.js"}};
    char tag[120];
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++) {
        SSO_CHECK(dir_dash_testkit_call(kit, "GET", shells[i][0], NULL, NULL, NULL, &reply)
                  == 0);
        snprintf(tag, sizeof tag, "<script type=\"module\" src=\"%s\"></script>", shells[i][1]);
        SSO_CHECK(reply.status == 200 && !strcmp(reply.csp, DIR_WEB_APP_CSP)
                  && strstr(reply.body, tag) && !strstr(reply.body, "<script>")
                  && !strstr(reply.body, "style=")
                  && strstr(reply.body, "href=\"" DIR_DASH_STYLESHEET "\""));
        dir_dash_testkit_reply_free(&reply);
    }
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/", NULL, NULL, NULL, &reply) == 0
              && reply.status == 405);
    dir_dash_testkit_reply_free(&reply);
    const char *missing[] = {"/dashboard/x", "/dashboard/setup/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                             "/dashboard//", "/dashboard/signin/"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        SSO_CHECK(dir_dash_testkit_call(kit, "GET", missing[i], NULL, NULL, NULL, &reply) == 0
                  && reply.status == 404 && !strstr(reply.body, "AAAAAAAA"));
        dir_dash_testkit_reply_free(&reply);
    }

    /* Setup: a link's token and a password that keeps the rules; once. */
    char token[64];
    SSO_CHECK(dir_dash_testkit_admin(kit, "Dev@Example.com", token, sizeof token) == 0);
    char body[800];
    const struct {
        const char *password, *confirm;
        const char *why;
    } bad[] = {{"short", "short", "at least 12"},
               {"dev@example.com", "dev@example.com", "not be the email"},
               {"DEV@example.com", "DEV@example.com", "not be the email"},
               {"a long enough password", "another long password", "differ"},
               {"", "", "required"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\","
                 "\"password_confirm\":\"%s\"}", token, bad[i].password, bad[i].confirm);
        SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, body,
                                        &reply) == 0);
        SSO_CHECK(reply.status == 400
                  && !strcmp(dir_testkit_str(reply.json, "error"), "invalid_password")
                  && strstr(dir_testkit_str(reply.json, "error_description"), bad[i].why));
        dir_dash_testkit_reply_free(&reply);
    }
    char long_password[300];
    memset(long_password, 'x', 257);
    long_password[257] = '\0';
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"%s\",\"password_confirm\":"
             "\"%s\"}", token, long_password, long_password);
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, body, &reply)
              == 0 && reply.status == 400);
    dir_dash_testkit_reply_free(&reply);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_admins WHERE "
                                       "password_hash IS NOT NULL", NULL) == 0);
    /* Malformed and unknown tokens: 400, nothing set. */
    const char *tokens[] = {"", "x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\\""};
    for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++) {
        snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"a good long password\","
                 "\"password_confirm\":\"a good long password\"}", tokens[i]);
        SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, body,
                                        &reply) == 0 && reply.status == 400
                  && !strcmp(dir_testkit_str(reply.json, "error"), "invalid_link"));
        dir_dash_testkit_reply_free(&reply);
    }
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, "not json",
                                    &reply) == 0 && reply.status == 400);
    dir_dash_testkit_reply_free(&reply);
    /* Another site's POST: 403. */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"a good long password\","
             "\"password_confirm\":\"a good long password\"}", token);
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, "https://evil.test",
                                    body, &reply) == 0 && reply.status == 403);
    dir_dash_testkit_reply_free(&reply);
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, "https://sso.test",
                                    body, &reply) == 0 && reply.status == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(reply.json, "admin"), "email"),
                      "dev@example.com"));
    dir_dash_testkit_reply_free(&reply);
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, body, &reply)
              == 0 && reply.status == 410
              && !strcmp(dir_testkit_str(reply.json, "error"), "link_used"));
    dir_dash_testkit_reply_free(&reply);
    /* An expired link. */
    SSO_CHECK(dir_dash_testkit_admin(kit, "late@example.com", token, sizeof token) == 0);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE dashboard_setup_links SET expires_at = ?",
                         "i", dir_now()) == DIR_DB_OK);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"password\":\"a good long password\","
             "\"password_confirm\":\"a good long password\"}", token);
    SSO_CHECK(dir_dash_testkit_call(kit, "POST", "/dashboard/setup", NULL, NULL, body, &reply)
              == 0 && reply.status == 410
              && !strcmp(dir_testkit_str(reply.json, "error"), "link_expired"));
    dir_dash_testkit_reply_free(&reply);
    /* A form: 303 to the sign-in page. */
    SSO_CHECK(dir_dash_testkit_admin(kit, "form@example.com", token, sizeof token) == 0);
    snprintf(body, sizeof body, "token=%s&password=a+good+long+password&password_confirm=a+good"
             "+long+password", token);
    SSO_CHECK(dir_dash_testkit_form(kit, "/dashboard/setup", body, &reply) == 0
              && reply.status == 303
              && !strcmp(reply.location, "https://sso.test/dashboard/signin"));
    dir_dash_testkit_reply_free(&reply);
}

void dir_dash_pages_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
