/* dir_portal_pages: the start page, the exchange, the app's shells and the error pages. */
#include "portal/dir_portal_pages.h"
#include "api/dir_json.h"
#include "portal/dir_portal_session.h"
#include "portal/dir_portal_testkit.h"
#include "sso_html.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <strings.h>

/* A page that says why nothing opened, and what to do. */
static zframe_t *s_page(uint32_t status, const char *title, const char *message)
{
    return dir_web_page(status, title, message,
                        "Ask the person who sent you the link for a new one.");
}

static zframe_t *s_not_found(void)
{
    /* The path is not quoted back nor logged: a link's token pasted into it is a secret. */
    return s_page(404, "No such page",
                  "This address is not a page of the admin portal. A portal link looks like "
                  "…/portal/start#… : open the whole link, with the part after the '#'.");
}

static zframe_t *s_start_page(void)
{
    sso_html_t *html = sso_html_new();
    if (html) {
        sso_html_begin(html, "Set up single sign-on");
        sso_html_add(html,
                     "<h1>Set up single sign-on</h1>\n"
                     "<form id=\"portal-start\" method=\"post\" action=\"start\" hidden>\n"
                     "<input type=\"hidden\" name=\"token\" value=\"\">\n"
                     "<p>This link opens the portal where you connect your organization's "
                     "identity provider. It works once: keep this tab open while you "
                     "work.</p>\n"
                     "<button type=\"submit\">Open the portal</button>\n</form>\n"
                     "<p id=\"portal-no-token\" class=\"error\" hidden>This address lacks the "
                     "part of the link after the '#'. Open the whole link you were sent.</p>\n"
                     "<noscript><p class=\"error\">The portal needs JavaScript.</p></noscript>\n"
                     "<script src=\"/static/portal-start.js\"></script>\n");
        sso_html_end(html);
    }
    sso_response_t *response =
        html ? sso_html_response_csp(&html, 200, DIR_PORTAL_START_CSP) : NULL;
    /* Under no-referrer a browser's form POST says "Origin: null", which the exchange cannot
       tell from a sandboxed frame's; same-origin sends the real one to us only (the token is
       in the fragment, which no Referer carries). */
    if (response)
        sso_response_header_set(response, "Referrer-Policy", "same-origin");
    return response ? sso_response_pack(&response)
                    : sso_http_error(500, "server_error", "out of memory");
}

static zframe_t *s_exchange(dir_t *dir, const Sso__HttpRequest *request)
{
    if (!dir_web_same_origin(dir, request)) {
        sso_info("portal: a link exchange from another site was refused");
        return s_page(403, "Not opened", "This request came from another site.");
    }
    const char *type = sso_http_header(request, "content-type");
    zhashx_t *form = type && !strncasecmp(type, "application/x-www-form-urlencoded", 33)
                         ? sso_form_parse((const char *) request->body.data, request->body.len)
                         : NULL;
    const char *token = form ? zhashx_lookup(form, "token") : NULL;
    dir_portal_session_t session;
    int64_t when = 0;
    dir_portal_link_t result = dir_portal_session_start(dir, token, &session, &when);
    if (token)
        OPENSSL_cleanse((char *) token, strlen(token));
    zhashx_destroy(&form);
    char time_text[32] = "", message[200];
    dir_time_format(when, time_text);
    switch (result) {
    case DIR_PORTAL_LINK_OK:
        break;
    case DIR_PORTAL_LINK_EXPIRED:
        snprintf(message, sizeof message, "This portal link expired at %s (UTC).", time_text);
        return s_page(410, "This link has expired", message);
    case DIR_PORTAL_LINK_REVOKED:
        return s_page(410, "This link was revoked", "This portal link was revoked.");
    case DIR_PORTAL_LINK_USED:
        snprintf(message, sizeof message, "This portal link was already used, at %s (UTC). "
                                          "A link opens the portal once.", time_text);
        return s_page(410, "This link was already used", message);
    case DIR_PORTAL_LINK_UNKNOWN:
        return s_page(404, "This link is not valid",
                      "This is not a portal link, or it was copied incompletely.");
    default:
        return s_page(500, "Something went wrong", "The portal could not be opened; try again "
                                                   "in a moment.");
    }
    char cookie[300], location[600];
    snprintf(location, sizeof location, "%s/portal/", dir->public_url);
    int rc = dir_portal_session_cookie(dir, &session, cookie, sizeof cookie);
    OPENSSL_cleanse(session.web.secret, sizeof session.web.secret);
    sso_response_t *response = rc == 0 ? sso_response_new(303) : NULL;
    if (!response)
        return s_page(500, "Something went wrong", "The portal could not be opened.");
    sso_response_header(response, "Location", location);
    sso_response_header(response, "Set-Cookie", cookie);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Referrer-Policy", "no-referrer");
    OPENSSL_cleanse(cookie, sizeof cookie);
    return sso_response_pack(&response);
}

static zframe_t *s_start(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *method = request->method ? request->method : "";
    if (!strcmp(method, "GET"))
        return s_start_page();
    if (!strcmp(method, "POST"))
        return s_exchange(dir, request);
    return sso_http_method_not_allowed("GET, POST");
}

/* A test id as dir_tests makes them: "tst_" and lower-case letters and digits. */
static bool s_test_id_ok(const char *id)
{
    size_t len = strlen(id);
    if (len <= 4 || len > 64 || strncmp(id, "tst_", 4) != 0)
        return false;
    for (const char *p = id + 4; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

zframe_t *dir_portal_pages_handle(dir_t *dir, const Sso__HttpRequest *request)
{
    const char *path = request->path ? request->path : "";
    const char *method = request->method ? request->method : "";
    const char *page = !strncmp(path, "/portal/", 8) ? path + 8 : NULL;
    if (page && !strcmp(page, "start"))
        return s_start(dir, request);
    bool app = page && !*page;
    bool test = page && !strncmp(page, "tests/", 6) && s_test_id_ok(page + 6);
    if (!app && !test)
        return s_not_found();
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return sso_http_method_not_allowed("GET, HEAD");
    /* The test page's script reads the id from its own address: the page quotes nothing. */
    return app ? dir_web_shell("portal", "Single sign-on setup", "portal-app",
                               "/static/portal/portal.css", "/static/portal/app.js")
               : dir_web_shell("portal", "Test sign-in", "test-page",
                               "/static/portal/portal.css", "/static/portal/test-page.js");
}

/* ---- self-test ------------------------------------------------------------------------- */

/* A link of org; its form body "token=..." in form. */
static void s_link_form(dir_testkit_t *kit, const char *org, char *link, char *form, size_t size)
{
    char path[160];
    json_t *json = NULL;
    snprintf(path, sizeof path, "/api/v1/organizations/%s/portal_links", org);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, NULL, &json) == 201);
    const char *token = strchr(dir_testkit_str(json, "location"), '#');
    snprintf(form, size, "token=%s", token ? token + 1 : "");
    snprintf(link, 64, "%s", dir_testkit_str(json, "id"));
    json_decref(json);
}

static void s_test(dir_testkit_t *kit)
{
    dir_portal_testkit_reply_t reply;
    const char *form_type = "application/x-www-form-urlencoded";
    /* The start page: no token in it, script from /static only, no inline script or style. */
    SSO_CHECK(dir_portal_testkit_call(kit, "GET", "/portal/start", NULL, NULL, NULL, NULL, NULL,
                                      &reply) == 0);
    SSO_CHECK(reply.status == 200 && !strcmp(reply.csp, DIR_PORTAL_START_CSP));
    SSO_CHECK(strstr(reply.body, "<script src=\"/static/portal-start.js\"></script>")
              && !strstr(reply.body, "<script>") && !strstr(reply.body, "style="));
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(dir_portal_testkit_call(kit, "PUT", "/portal/start", NULL, NULL, NULL, NULL, NULL,
                                      &reply) == 0 && reply.status == 405);
    dir_portal_testkit_reply_free(&reply);

    char org[64] = "", link[64], form[120];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"A\"}", "id", org, sizeof org) == 201);
    s_link_form(kit, org, link, form, sizeof form);

    /* Refused without a session: another site's Origin or fetch site, no form, no token. */
    struct {
        const char *origin, *type, *body;
        int status;
    } refused[] = {{"https://evil.test", form_type, form, 403},
                   {"https://sso.test.evil.test", form_type, form, 403},
                   {"https://sso.tes", form_type, form, 403},
                   {"null", form_type, form, 403},
                   {NULL, "application/json", form, 404},
                   {NULL, NULL, form, 404},
                   {NULL, form_type, "", 404},
                   {NULL, form_type, "token=", 404},
                   {NULL, form_type, "token=abc", 404},
                   {NULL, form_type, "token=a&token=b", 404}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL,
                                          refused[i].origin, refused[i].type, refused[i].body,
                                          &reply) == 0);
        SSO_CHECK(reply.status == refused[i].status && !*reply.set_cookie
                  && strstr(reply.body, "<h1>"));
        dir_portal_testkit_reply_free(&reply);
    }
    /* "Origin: null" (a page under no-referrer) only with the browser's own same-origin. */
    const char *null_sites[] = {"cross-site", "same-site", "none"};
    for (size_t i = 0; i < sizeof null_sites / sizeof *null_sites; i++) {
        dir_portal_testkit_fetch_site(null_sites[i]);
        SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, "null",
                                          form_type, form, &reply) == 0
                  && reply.status == 403 && !*reply.set_cookie);
        dir_portal_testkit_reply_free(&reply);
    }
    dir_portal_testkit_fetch_site(NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM portal_links WHERE used_at IS NOT "
                                       "NULL", NULL) == 0);

    /* The exchange: 303 to /portal/ (no token in it) with the session cookie; once. */
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL,
                                      "https://sso.test", form_type, form, &reply) == 0);
    SSO_CHECK(reply.status == 303 && !strcmp(reply.location, "https://sso.test/portal/"));
    SSO_CHECK(!strncmp(reply.set_cookie, "__Host-sso_portal=", 18)
              && strstr(reply.set_cookie, "; Path=/; ")
              && strstr(reply.set_cookie, "; HttpOnly; SameSite=Lax; Secure"));
    dir_portal_testkit_reply_free(&reply);
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, NULL, form_type,
                                      form, &reply) == 0);
    SSO_CHECK(reply.status == 410 && strstr(reply.body, "already used") && !*reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);

    /* What a browser sends from a page under no-referrer: "Origin: null", same-origin. */
    s_link_form(kit, org, link, form, sizeof form);
    dir_portal_testkit_fetch_site("same-origin");
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, "null",
                                      form_type, form, &reply) == 0);
    dir_portal_testkit_fetch_site(NULL);
    SSO_CHECK(reply.status == 303 && *reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);

    /* Expired and revoked links: their own pages, no cookie. */
    s_link_form(kit, org, link, form, sizeof form);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE portal_links SET expires_at = ? WHERE "
                                             "id = ?", "is", dir_now() - 10, link) == DIR_DB_OK);
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, NULL, form_type,
                                      form, &reply) == 0);
    SSO_CHECK(reply.status == 410 && strstr(reply.body, "expired at") && !*reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);
    s_link_form(kit, org, link, form, sizeof form);
    char item[200];
    snprintf(item, sizeof item, "/api/v1/organizations/%s/portal_links/%s", org, link);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", item, NULL, NULL) == 204);
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/start", NULL, NULL, NULL, form_type,
                                      form, &reply) == 0);
    SSO_CHECK(reply.status == 410 && strstr(reply.body, "revoked") && !*reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);

    /* A token pasted into a path: a page that neither quotes nor honours it. */
    char target[200];
    snprintf(target, sizeof target, "/portal/%s", form + 6);
    SSO_CHECK(dir_portal_testkit_call(kit, "GET", target, NULL, NULL, NULL, NULL, NULL, &reply)
              == 0);
    SSO_CHECK(reply.status == 404 && !strstr(reply.body, form + 6) && !*reply.set_cookie);
    dir_portal_testkit_reply_free(&reply);
}

/* A test id one character past the 64 that s_test_id_ok takes. */
#define S_TOO_LONG_TEST                                                                       \
    "/portal/tests/tst_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* The shells: their CSP, their module, nothing inline; a test id only as dir_tests makes
   them, never quoted; any other path the 404 page. */
static void s_test_shells(dir_testkit_t *kit)
{
    dir_portal_testkit_reply_t reply;
    const struct {
        const char *target, *script;
    } shells[] = {{"/portal/", "/static/portal/app.js"},
                  {"/portal/tests/tst_0123456789abcdefghjkmnpqrstvwxyz",
                   "/static/portal/test-page.js"},
                  {"/portal/tests/tst_x?error=access_denied", "/static/portal/test-page.js"}};
    char tag[120];
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++) {
        SSO_CHECK(dir_portal_testkit_call(kit, "GET", shells[i].target, NULL, NULL, NULL, NULL,
                                          NULL, &reply) == 0);
        snprintf(tag, sizeof tag, "<script type=\"module\" src=\"%s\"></script>",
                 shells[i].script);
        SSO_CHECK(reply.status == 200 && !strcmp(reply.csp, DIR_PORTAL_APP_CSP));
        SSO_CHECK(strstr(reply.body, tag) && !strstr(reply.body, "<script>")
                  && !strstr(reply.body, "style=") && !strstr(reply.body, "<style")
                  && !strstr(reply.body, "tst_") && !strstr(reply.body, "error=")
                  && strstr(reply.body, "href=\"/static/portal/portal.css\""));
        dir_portal_testkit_reply_free(&reply);
    }
    SSO_CHECK(dir_portal_testkit_call(kit, "POST", "/portal/", NULL, NULL, NULL, NULL, NULL,
                                      &reply) == 0 && reply.status == 405);
    dir_portal_testkit_reply_free(&reply);
    /* Hostile, empty, too long and unknown paths: the 404 page, which quotes none of them. */
    const char *const missing[] = {"/portal/tests/", "/portal/tests/tst_", "/portal/tests/x",
                                   "/portal/tests/tst_ABC", "/portal/tests/tst_a/b",
                                   "/portal/tests/tst_a%3Cscript%3E", "/portal/tests/tst_<b>x",
                                   "/portal/tests/tst_a\"b", "/portal/tests/../",
                                   S_TOO_LONG_TEST,
                                   "/portal/test/tst_abc", "/portal/index.html", "/portal//",
                                   "/portal/app"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        SSO_CHECK(dir_portal_testkit_call(kit, "GET", missing[i], NULL, NULL, NULL, NULL, NULL,
                                          &reply) == 0);
        const char *rest = missing[i] + strlen("/portal/");
        SSO_CHECK(reply.status == 404 && strstr(reply.body, "No such page")
                  && !strstr(reply.body, "<b>") && !strstr(reply.body, "script")
                  && (strlen(rest) < 8 || !strstr(reply.body, rest)));
        dir_portal_testkit_reply_free(&reply);
    }
}

void dir_portal_pages_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_shells);
}
