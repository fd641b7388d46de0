#include "token_userinfo.h"
#include "sso_log.h"
#include "sso_test.h"
#include "token_code.h"
#include "sso_clients.h"
#include "token_dir.h"
#include "token_testkit.h"
#include <strings.h>

#define ACCESS_TOKEN_MAX 512

/* RFC 6750 3: the challenge names the error only when a token was presented. */
static zframe_t *s_challenge(uint32_t status, const char *error, const char *description)
{
    sso_response_t *response = sso_response_new(status);
    char challenge[96];
    if (error)
        snprintf(challenge, sizeof challenge, "Bearer error=\"%s\"", error);
    else
        snprintf(challenge, sizeof challenge, "Bearer");
    sso_response_header(response, "WWW-Authenticate", challenge);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Pragma", "no-cache");
    sso_response_json(response, json_pack("{s:s, s:s}", "error", error ? error : "invalid_token",
                                          "error_description", description));
    return sso_response_pack(&response);
}

zframe_t *token_userinfo_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    bool post = !strcmp(request->method, "POST");
    if (!post && strcmp(request->method, "GET") != 0 && strcmp(request->method, "HEAD") != 0)
        return sso_http_method_not_allowed("GET, HEAD, POST");
    const char *header = sso_http_header(request, "authorization");
    const char *bearer = sso_http_bearer(request);
    if (header && !bearer)
        return s_challenge(401, "invalid_token", "the Authorization header is not a Bearer "
                                                 "token");
    zhashx_t *form = NULL;
    const char *type = sso_http_header(request, "content-type");
    if (post && type && !strncasecmp(type, "application/x-www-form-urlencoded", 33)) {
        form = sso_form_parse((const char *) request->body.data, request->body.len);
        if (!form)
            return sso_http_error(400, "invalid_request",
                                  "malformed form body, or a parameter given twice");
    }
    const char *body_token = form ? zhashx_lookup(form, "access_token") : NULL;
    zframe_t *frame = NULL;
    if (bearer && body_token)
        frame = sso_http_error(400, "invalid_request",
                               "send the access token in one place only (RFC 6750)");
    else if (!bearer && (!body_token || !*body_token))
        frame = s_challenge(401, NULL, "an access token is required "
                                       "(Authorization: Bearer, or access_token in a form body)");
    if (frame) {
        zhashx_destroy(&form);
        return frame;
    }
    const char *token = bearer ? bearer : body_token;
    if (strlen(token) > ACCESS_TOKEN_MAX) {
        zhashx_destroy(&form);
        return s_challenge(401, "invalid_token", "the access token is not valid");
    }
    Sso__AccessTokenCheckRequest check = SSO__ACCESS_TOKEN_CHECK_REQUEST__INIT;
    check.access_token = (char *) token;
    Sso__AccessTokenCheckReply *reply = NULL;
    int status = sso_dir_access_token_check(service, &check, &reply);
    zhashx_destroy(&form);
    if (status != 0)
        return token_dir_unavailable(status);
    json_t *claims = NULL;
    const char *why = NULL;
    if (reply->error)
        frame = s_challenge(401, "invalid_token", "the access token is not valid or expired");
    else if (reply->grant && !(claims = token_code_identity(reply->grant, &why))) {
        /* The same identity the ID token carried; one that cannot be minted never was. */
        sso_error("userinfo: %s", why ? why : "no identity");
        frame = s_challenge(401, "invalid_token", "the access token is not valid or expired");
    }
    else if (!claims
             && (!(claims = json_loads(reply->claims_json, JSON_REJECT_DUPLICATES, NULL))
                 || !json_is_object(claims) || !json_object_get(claims, "sub")))
        /* A management token, say: valid, but it carries no user. */
        frame = s_challenge(403, "insufficient_scope", "the access token is not for a user");
    else {
        sso_response_t *response = sso_response_new(200);
        sso_response_header(response, "Cache-Control", "no-store");
        sso_response_header(response, "Pragma", "no-cache");
        sso_response_json(response, json_incref(claims));
        frame = sso_response_pack(&response);
    }
    json_decref(claims);
    sso__access_token_check_reply__free_unpacked(reply, NULL);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* An access token from a real code exchange; caller frees. */
static char *s_test_access_token(token_testkit_t *fake, const char *body)
{
    Sso__HttpResponse *response = token_testkit_http(fake, "POST", "/oauth/token", NULL, body,
                                                  "content-type",
                                                  "application/x-www-form-urlencoded", NULL);
    json_t *json = token_testkit_json(response);
    const char *token = json_string_value(json_object_get(json, "access_token"));
    char *copy = token ? strdup(token) : NULL;
    json_decref(json);
    sso__http_response__free_unpacked(response, NULL);
    return copy;
}

static bool s_test_claims(Sso__HttpResponse *response, const char *expected_json)
{
    json_t *json = token_testkit_json(response);
    json_t *expected = json_loads(expected_json, 0, NULL);
    bool ok = response && response->status == 200 && json && json_equal(json, expected)
              && !strcmp(token_testkit_header(response, "Cache-Control"), "no-store");
    json_decref(json);
    json_decref(expected);
    return ok;
}

void token_userinfo_test(bool verbose)
{
    (void) verbose;
    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    char *token = s_test_access_token(&fake, "grant_type=authorization_code&client_id={client}&"
                                             "client_secret={secret}&code={code_full}&redirect_"
                                             "uri=https%3A%2F%2Fapp.test%2Fcallback");
    /* The identity of the ID token, read through the grant the token was issued from. */
    char *stored = strdup(token_testkit_expand(
        &fake, "{\"sub\":\"{conn_saml};user-42@idp\",\"email\":\"jane@example.com\","
               "\"email_verified\":true,\"name\":\"Jane Doe\",\"given_name\":\"Jane\","
               "\"family_name\":\"Doe\",\"groups\":[\"engineering\",\"admins\"],"
               "\"oid\":\"{org_saml}\",\"connection_id\":\"{conn_saml}\","
               "\"connection_type\":\"saml\"}"));
    SSO_CHECK(token && stored);
    if (!token || !stored) {
        free(token);
        free(stored);
        token_testkit_close(&fake);
        return;
    }
    char bearer[200], body[200];
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    snprintf(body, sizeof body, "access_token=%s", token);

    /* GET with the header, POST with the header, POST with a form body. */
    Sso__HttpResponse *response = token_testkit_http(&fake, "GET", "/userinfo", NULL, NULL,
                                                  "authorization", bearer, NULL);
    SSO_CHECK(s_test_claims(response, stored));
    sso__http_response__free_unpacked(response, NULL);
    response = token_testkit_http(&fake, "POST", "/userinfo", NULL, NULL, "authorization", bearer,
                               NULL);
    SSO_CHECK(s_test_claims(response, stored));
    sso__http_response__free_unpacked(response, NULL);
    response = token_testkit_http(&fake, "POST", "/userinfo", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", NULL);
    SSO_CHECK(s_test_claims(response, stored));
    sso__http_response__free_unpacked(response, NULL);

    /* No token: a bare Bearer challenge; a bad one: error="invalid_token"; JSON bodies. */
    struct {
        const char *method;
        const char *authorization;
        const char *body;
        unsigned status;
        const char *challenge;
    } cases[] = {
        {"GET", NULL, NULL, 401, "Bearer"},
        {"POST", NULL, "", 401, "Bearer"},
        {"GET", "Bearer at_nope", NULL, 401, "Bearer error=\"invalid_token\""},
        {"POST", NULL, "access_token=at_nope", 401, "Bearer error=\"invalid_token\""},
        {"GET", "Basic YTpi", NULL, 401, "Bearer error=\"invalid_token\""},
        {"POST", bearer, body, 400, NULL}, /* two methods at once */
        {"DELETE", bearer, NULL, 405, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (cases[i].authorization)
            response = token_testkit_http(&fake, cases[i].method, "/userinfo", NULL, cases[i].body,
                                       "content-type", "application/x-www-form-urlencoded",
                                       "authorization", cases[i].authorization, NULL);
        else
            response = token_testkit_http(&fake, cases[i].method, "/userinfo", NULL, cases[i].body,
                                       "content-type", "application/x-www-form-urlencoded",
                                       NULL);
        const char *challenge = token_testkit_header(response, "WWW-Authenticate");
        json_t *json = token_testkit_json(response);
        bool ok = response && response->status == cases[i].status
                  && (cases[i].challenge ? challenge && !strcmp(challenge, cases[i].challenge)
                                         : !challenge)
                  && json_string_value(json_object_get(json, "error"))
                  && !token_testkit_body_has(&fake, response, "sub");
        if (!ok)
            fprintf(stderr, "  userinfo case %zu: %u %s\n", i, response ? response->status : 0,
                    challenge ? challenge : "-");
        SSO_CHECK(ok);
        json_decref(json);
        sso__http_response__free_unpacked(response, NULL);
    }

    /* A management token is valid but has no user. */
    char *management = s_test_access_token(&fake, "grant_type=client_credentials&client_id={admin}&"
                                                  "client_secret={admin_secret}");
    snprintf(bearer, sizeof bearer, "Bearer %s", management ? management : "-");
    response = token_testkit_http(&fake, "GET", "/userinfo", NULL, NULL, "authorization", bearer,
                               NULL);
    SSO_CHECK(management && response && response->status == 403);
    sso__http_response__free_unpacked(response, NULL);
    free(management);

    /* The directory past the deadline: 504. */
    fake.config.request_timeout_ms = TOKEN_TESTKIT_SHORT_DEADLINE_MS;
    dir_fake_hold(fake.dir, 2 * TOKEN_TESTKIT_SHORT_DEADLINE_MS);
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    response = token_testkit_http(&fake, "GET", "/userinfo", NULL, NULL, "authorization", bearer,
                               NULL);
    SSO_CHECK(response && response->status == 504);
    sso__http_response__free_unpacked(response, NULL);
    free(token);
    free(stored);
    token_testkit_close(&fake);
}
