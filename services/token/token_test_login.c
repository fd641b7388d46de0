/* token_test_login: the start of the admin portal's test logins. */
#include "token_test_login.h"
#include "token_dir.h"
#include "token_testkit.h"
#include "sso_clients.h"
#include "sso_cookie.h"
#include "sso_html.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_upstream.h"

#define S_TITLE "The test sign-in could not start"

/* A 302 to url that keeps the page's address out of the next request. */
static zframe_t *s_redirect(const char *url)
{
    sso_response_t *response = sso_response_new(302);
    if (!response)
        return sso_html_error_page(500, S_TITLE, "out of memory");
    sso_response_header(response, "Location", url);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Referrer-Policy", "no-referrer");
    return sso_response_pack(&response);
}

/* The request to the IdP for the test's transaction, and the browser sent there. */
static zframe_t *s_to_idp(sso_service_t *service, const Sso__LoginContextReply *begun)
{
    const Sso__Connection *conn = begun->connection;
    bool saml = !strcmp(conn->type, "saml");
    if (!saml && strcmp(conn->type, "oidc") != 0)
        return sso_html_error_page(500, S_TITLE, "The connection has an unknown type.");
    Sso__UpstreamStartRequest start = SSO__UPSTREAM_START_REQUEST__INIT;
    start.txn = begun->txn;
    start.connection = begun->connection;
    Sso__UpstreamStartReply *started = NULL;
    int status = sso_upstream_start(service, saml ? "saml" : "oidc", &start, &started);
    zframe_t *frame = NULL;
    if (status != 0 || !sso_upstream_started(started)) {
        const char *why = status != 0 ? "the upstream service did not answer"
                                      : started->error_description;
        sso_warn("test login %.13s…: the upstream start failed: %.300s", begun->txn->id, why);
        /* The reason becomes the test's result, which the result page shows the admin. */
        token_dir_start_failed(service, conn, "", begun->txn->id, "test login", why);
        if (*begun->result_url)
            frame = s_redirect(begun->result_url);
        else
            frame = sso_html_error_page(502, S_TITLE, "The connection's identity provider "
                                        "could not be reached; check its settings and try "
                                        "again.");
    }
    else if (*started->post_url) {
        /* An IdP that takes the request by HTTP-POST: a page posts it there. */
        sso_response_t *page = sso_upstream_post_page(started);
        frame = page ? sso_response_pack(&page)
                     : sso_html_error_page(500, S_TITLE, "out of memory");
        sso_info("test login %.13s… via %s (HTTP-POST)", begun->txn->id, conn->id);
    }
    else {
        frame = s_redirect(started->redirect_url);
        sso_info("test login %.13s… via %s", begun->txn->id, conn->id);
    }
    sso__upstream_start_reply__free_unpacked(started, NULL);
    return frame;
}

zframe_t *token_test_login_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "GET") != 0)
        return sso_http_method_not_allowed("GET");
    const char *handle = request->path + strlen(TOKEN_TEST_LOGIN_PREFIX);
    if (!sso_cookie_token_ok(handle))
        return sso_html_error_page(404, S_TITLE, "This test link is not valid. Start the test "
                                   "again from the admin portal.");
    char *binder = sso_upstream_binder(request, service->config->public_url);
    Sso__TestBeginRequest begin = SSO__TEST_BEGIN_REQUEST__INIT;
    begin.handle = (char *) handle;
    begin.browser_binder = binder ? binder : "";
    Sso__LoginContextReply *begun = NULL;
    int status = sso_dir_test_begin(service, &begin, &begun);
    free(binder);
    if (status != 0)
        return token_dir_unavailable(status);
    zframe_t *frame;
    if (begun->error == SSO__RPC_ERROR__NOT_FOUND)
        frame = sso_html_error_page(404, S_TITLE, "This test link was used already or has "
                                    "expired. Start the test again from the admin portal.");
    else if (begun->error == SSO__RPC_ERROR__ACCESS_DENIED)
        frame = sso_html_error_page(403, S_TITLE, "This test link belongs to another browser. "
                                    "Start the test again from the admin portal in this "
                                    "browser.");
    else if (begun->error || !begun->txn || !begun->connection)
        frame = sso_html_error_page(500, S_TITLE, "The test could not be started.");
    else
        frame = s_to_idp(service, begun);
    sso__login_context_reply__free_unpacked(begun, NULL);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_BINDER "AAAAbbbbCCCCddddEEEEffffGGGGhhhh"
#define S_OTHER "ZZZZbbbbCCCCddddEEEEffffGGGGhhhh"

static Sso__HttpResponse *s_get(token_testkit_t *kit, const char *handle, const char *binder)
{
    char path[128], cookie[128];
    snprintf(path, sizeof path, TOKEN_TEST_LOGIN_PREFIX "%s", handle);
    snprintf(cookie, sizeof cookie, "%s=%s",
             sso_upstream_binding_name(kit->config.public_url), binder);
    return binder ? token_testkit_http(kit, "GET", path, NULL, NULL, "Cookie", cookie, NULL)
                  : token_testkit_http(kit, "GET", path, NULL, NULL, NULL);
}

static bool s_status(Sso__HttpResponse *response, uint32_t status)
{
    bool ok = response && response->status == status;
    if (!ok)
        fprintf(stderr, "test login: expected %u, got %u\n", status,
                response ? response->status : 0);
    sso__http_response__free_unpacked(response, NULL);
    return ok;
}

static void s_test(token_testkit_t *kit)
{
    char handle[64], test_id[64], txn_id[80];
    /* Malformed handles never reach the bus; a wrong method is refused. */
    int starts = kit->starts;
    SSO_CHECK(s_status(s_get(kit, "", S_BINDER), 404));
    SSO_CHECK(s_status(s_get(kit, "short", S_BINDER), 404));
    SSO_CHECK(s_status(s_get(kit, "AAAAbbbbCCCCddddEEEEffffGGGGhhh%", S_BINDER), 404));
    SSO_CHECK(s_status(token_testkit_http(kit, "POST", "/sso/test/x", NULL, NULL, NULL), 405));

    /* Another browser (no cookie, or another one) gets nothing, and spends the handle. */
    SSO_CHECK(dir_fake_test_login(kit->dir, kit->dir->org_off, kit->dir->conn_off, S_BINDER,
                                  handle, test_id, txn_id) == 0);
    SSO_CHECK(s_status(s_get(kit, handle, NULL), 403));
    SSO_CHECK(s_status(s_get(kit, handle, S_BINDER), 404));
    SSO_CHECK(dir_fake_test_login(kit->dir, kit->dir->org_off, kit->dir->conn_off, S_BINDER,
                                  handle, test_id, txn_id) == 0);
    SSO_CHECK(s_status(s_get(kit, handle, S_OTHER), 403));
    SSO_CHECK(kit->starts == starts);

    /* The portal's browser: the inactive connection's IdP, for the test's transaction; the
       handle is good once. */
    SSO_CHECK(dir_fake_test_login(kit->dir, kit->dir->org_off, kit->dir->conn_off, S_BINDER,
                                  handle, test_id, txn_id) == 0);
    Sso__HttpResponse *response = s_get(kit, handle, S_BINDER);
    SSO_CHECK(response && response->status == 302
              && !strncmp(token_testkit_header(response, "Location"), "https://idp.test/", 17)
              && !strcmp(token_testkit_header(response, "Referrer-Policy"), "no-referrer"));
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(kit->starts == starts + 1 && kit->start && kit->start->txn
              && !strncmp(kit->start->txn->id, "test.", 5) && !*kit->start->txn->client_id
              && !strcmp(kit->start->connection->id, kit->dir->conn_off)
              && !strcmp(kit->start->connection->status, "inactive"));
    SSO_CHECK(s_status(s_get(kit, handle, S_BINDER), 404));

    /* A start that fails (the IdP's metadata or discovery) ends the test with its reason, and
       the browser goes to the test's result page. */
    SSO_CHECK(dir_fake_test_login(kit->dir, kit->dir->org_off, kit->dir->conn_off, S_BINDER,
                                  handle, test_id, txn_id) == 0);
    kit->start_error = "invalid_metadata";
    response = s_get(kit, handle, S_BINDER);
    kit->start_error = NULL;
    char want[700];
    snprintf(want, sizeof want, "%s/portal/tests/%s", kit->config.public_url, test_id);
    SSO_CHECK(response && response->status == 302
              && !strcmp(token_testkit_header(response, "Location"), want));
    sso__http_response__free_unpacked(response, NULL);
    char *result = dir_fake_test_result(kit->dir, kit->dir->org_off, test_id);
    json_t *json = result ? json_loads(result, 0, NULL) : NULL;
    const char *reason = json_string_value(json_object_get(json, "reason"));
    SSO_CHECK(json && !strcmp(json_string_value(json_object_get(json, "status")), "failure")
              && reason && strstr(reason, "test login: the upstream login could not be started: "));
    if (!reason)
        fprintf(stderr, "test login result: %s\n", result ? result : "(none)");
    json_decref(json);
    free(result);
}

void token_test_login_test(bool verbose)
{
    (void) verbose;
    token_testkit_run(s_test);
}
