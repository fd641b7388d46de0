#include "token_client_auth.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_clients.h"
#include "token_dir.h"
#include <strings.h>

#define CREDENTIAL_MAX 512

static void s_basic(const char *header, client_auth_t *auth)
{
    auth->method = CLIENT_AUTH_INVALID;
    const char *encoded = header + 6;
    while (*encoded == ' ')
        encoded++;
    if (strlen(encoded) > CREDENTIAL_MAX * 4)
        return;
    size_t len = 0;
    uint8_t *decoded = sso_base64_decode(encoded, &len, false);
    if (!decoded)
        return;
    char *colon = memchr(decoded, ':', len);
    if (colon && strlen((char *) decoded) == len) {
        char *id = sso_url_decode((char *) decoded, (size_t) (colon - (char *) decoded));
        char *secret = sso_url_decode(colon + 1, len - (size_t) (colon + 1 - (char *) decoded));
        if (id && secret && *id) {
            auth->client_id = id;
            auth->client_secret = secret;
            auth->method = CLIENT_AUTH_BASIC;
        }
        else {
            free(id);
            free(secret);
        }
    }
    free(decoded);
}

void token_client_auth_read(const Sso__HttpRequest *request, zhashx_t *params,
                            client_auth_t *auth)
{
    memset(auth, 0, sizeof *auth);
    auth->client_address = request->remote_addr;
    const char *header = sso_http_header(request, "authorization");
    const char *post_id = params ? zhashx_lookup(params, "client_id") : NULL;
    const char *post_secret = params ? zhashx_lookup(params, "client_secret") : NULL;
    if (header && strncasecmp(header, "Basic ", 6) == 0) {
        s_basic(header, auth);
        /* RFC 6749 2.3: a client must not use more than one method in a request. */
        if (post_secret) {
            token_client_auth_free(auth);
            auth->method = CLIENT_AUTH_INVALID;
        }
        return;
    }
    if (post_secret) {
        if (!post_id || !*post_id || strlen(post_id) > CREDENTIAL_MAX
            || strlen(post_secret) > CREDENTIAL_MAX) {
            auth->method = CLIENT_AUTH_INVALID;
            return;
        }
        auth->client_id = strdup(post_id);
        auth->client_secret = strdup(post_secret);
        auth->method = CLIENT_AUTH_POST;
    }
}

void token_client_auth_free(client_auth_t *auth)
{
    free(auth->client_id);
    free(auth->client_secret);
    auth->client_id = auth->client_secret = NULL;
}

bool token_client_auth_has_secret(const client_auth_t *auth)
{
    return auth->client_id && *auth->client_id && auth->client_secret && *auth->client_secret;
}

int token_client_auth_check(sso_service_t *service, const client_auth_t *auth, bool *is_admin,
                            int64_t *retry_after)
{
    *is_admin = false;
    *retry_after = 0;
    Sso__ClientAuthRequest check = SSO__CLIENT_AUTH_REQUEST__INIT;
    check.client_id = auth->client_id;
    check.client_secret = auth->client_secret;
    check.client_address = (char *) (auth->client_address ? auth->client_address : "");
    Sso__ClientAuthReply *reply = NULL;
    int status = sso_dir_client_auth(service, &check, &reply);
    if (status != 0)
        return status;
    bool ok = !reply->error && reply->ok;
    bool limited = reply->error == SSO__RPC_ERROR__TOO_MANY_REQUESTS;
    *is_admin = ok && reply->is_admin;
    *retry_after = limited ? reply->retry_after : 0;
    sso__client_auth_reply__free_unpacked(reply, NULL);
    if (!ok)
        token_client_auth_log_failure(auth, limited);
    return ok ? 0 : limited ? 429 : 401;
}

void token_client_auth_log_failure(const client_auth_t *auth, bool limited)
{
    sso_info("client authentication %s (%s)",
             limited ? "refused: too many failures" : "failed",
             auth->method == CLIENT_AUTH_BASIC ? "client_secret_basic" : "client_secret_post");
}

zframe_t *token_client_auth_require(sso_service_t *service, const client_auth_t *auth,
                                    bool *is_admin)
{
    int64_t retry_after = 0;
    int status = token_client_auth_check(service, auth, is_admin, &retry_after);
    if (status == 401)
        return token_client_auth_error(auth, "client authentication failed");
    if (status == 429)
        return token_client_auth_too_many(retry_after);
    return status != 0 ? token_dir_unavailable(status) : NULL;
}

zframe_t *token_client_auth_error(const client_auth_t *auth, const char *description)
{
    sso_response_t *response = sso_response_new(401);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Pragma", "no-cache");
    /* RFC 6749 5.2 requires it when Basic was tried; RFC 9110 wants a challenge on every
       401, so the other cases get it too. */
    (void) auth;
    sso_response_header(response, "WWW-Authenticate", "Basic realm=\"sso\"");
    sso_response_json(response, json_pack("{s:s, s:s}", "error", "invalid_client",
                                          "error_description", description));
    return sso_response_pack(&response);
}

zframe_t *token_client_auth_too_many(int64_t retry_after)
{
    int64_t seconds = retry_after < 1 ? 1 : retry_after > 86400 ? 86400 : retry_after;
    char value[24], description[96];
    snprintf(value, sizeof value, "%lld", (long long) seconds);
    snprintf(description, sizeof description,
             "too many failed client authentications; retry after %lld s", (long long) seconds);
    sso_response_t *response = sso_response_new(429);
    sso_response_header(response, "Retry-After", value);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_header(response, "Pragma", "no-cache");
    sso_response_json(response, json_pack("{s:s, s:s}", "error", "invalid_client",
                                          "error_description", description));
    return sso_response_pack(&response);
}

void token_client_auth_test(bool verbose)
{
    (void) verbose;
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header header = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&header};
    header.name = "authorization";
    request.headers = headers;
    request.n_headers = 1;
    client_auth_t auth;

    header.value = "Basic YWRtaW46czNjcmV0"; /* admin:s3cret */
    token_client_auth_read(&request, NULL, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_BASIC && !strcmp(auth.client_id, "admin")
              && !strcmp(auth.client_secret, "s3cret"));
    token_client_auth_free(&auth);

    header.value = "Basic YSUzQWI6YyUyNWQ="; /* a%3Ab:c%25d -> a:b / c%d */
    token_client_auth_read(&request, NULL, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_BASIC && !strcmp(auth.client_id, "a:b")
              && !strcmp(auth.client_secret, "c%d"));
    token_client_auth_free(&auth);

    /* "cli_app:" reads as Basic with an empty secret, which is no secret. */
    header.value = "Basic Y2xpX2FwcDo=";
    token_client_auth_read(&request, NULL, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_BASIC && !strcmp(auth.client_id, "cli_app")
              && !*auth.client_secret && !token_client_auth_has_secret(&auth));
    token_client_auth_free(&auth);
    SSO_CHECK(!token_client_auth_has_secret(&auth));

    header.value = "Basic !!!";
    token_client_auth_read(&request, NULL, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_INVALID);
    header.value = "Basic bm9jb2xvbg=="; /* nocolon */
    token_client_auth_read(&request, NULL, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_INVALID);

    zhashx_t *params = sso_form_parse("client_id=x&client_secret=y", 27);
    header.value = "Basic YWRtaW46czNjcmV0";
    token_client_auth_read(&request, params, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_INVALID && !auth.client_id);
    request.n_headers = 0;
    token_client_auth_read(&request, params, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_POST && !strcmp(auth.client_id, "x")
              && token_client_auth_has_secret(&auth));
    token_client_auth_free(&auth);
    zhashx_destroy(&params);

    params = sso_form_parse("grant_type=client_credentials", 29);
    token_client_auth_read(&request, params, &auth);
    SSO_CHECK(auth.method == CLIENT_AUTH_NONE);
    zhashx_destroy(&params);
}
