#include "token_authorize.h"
#include "sso_test.h"
#include "token_authorize_login.h"
#include "token_authorize_page.h"
#include "token_authorize_params.h"
#include "token_testkit.h"
#include <strings.h>

/* Everything after the client is known; form_page (taken) is the hosted form's refusal. */
static zframe_t *s_authorize(token_authorize_login_t *login, zframe_t *form_page)
{
    const token_authorize_req_t *req = &login->req;
    if (req->error) {
        zframe_destroy(&form_page);
        return token_authorize_login_error(login, req->error, req->error_description);
    }
    if (form_page)
        return form_page;
    if (!req->selector)
        return token_authorize_page(login->service, login->request, req, 200, NULL, NULL);

    char description[400];
    bool typed = false;
    const char *error = token_authorize_login_resolve_error(login, description,
                                                            sizeof description, &typed);
    /* A person typed that email: let them correct it rather than bounce to the app. */
    if (error && login->from_form && typed)
        return token_authorize_page(login->service, login->request, req, 400, description,
                                    req->login_hint);
    if (error)
        return token_authorize_login_error(login, error, description);
    return token_authorize_login_start(login);
}

zframe_t *token_authorize_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    bool post = !strcmp(request->method, "POST");
    if (!post && strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
        return sso_http_method_not_allowed("GET, HEAD, POST");
    token_authorize_login_t login = {.service = service, .request = request};
    const char *type = sso_http_header(request, "content-type");
    bool form = post && type && !strncasecmp(type, "application/x-www-form-urlencoded", 33);
    token_authorize_parse(&login.req, request->query, strlen(request->query),
                          form ? (const char *) request->body.data : NULL,
                          form ? request->body.len : 0);
    login.from_form = token_authorize_page_posted(request, &login.req);
    /* The hosted form is checked before the directory is asked, so that a refused form makes
       no transaction; its page is answered only once the client is known good. */
    zframe_t *form_page = login.from_form
                              ? token_authorize_page_check_form(service, request, &login.req,
                                                                &login.last_domain)
                              : NULL;
    login.begin_txn = !form_page;
    zframe_t *frame = token_authorize_login_check_client(&login);
    if (!frame)
        frame = s_authorize(&login, form_page);
    else
        zframe_destroy(&form_page);
    token_authorize_login_clear(&login);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The handler's own part: the methods. The parts it runs have their own self-tests, which
   drive them through this handler. */
void token_authorize_test(bool verbose)
{
    (void) verbose;
    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    Sso__HttpResponse *response = token_testkit_http(
        &fake, "PUT", "/oauth/authorize",
        "client_id={client}&redirect_uri=https%3A%2F%2Fapp.test%2Fcallback"
        "&response_type=code&scope=openid%20profile&state=s1",
        NULL, NULL);
    SSO_CHECK(response && response->status == 405);
    sso__http_response__free_unpacked(response, NULL);
    token_testkit_close(&fake);
}
