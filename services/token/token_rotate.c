#include "token_rotate.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_clients.h"
#include "token_dir.h"
#include "token_testkit.h"
#include "token_http.h"
#include <time.h>

static zframe_t *s_unauthorized(const char *error, const char *description)
{
    sso_response_t *response = sso_response_new(401);
    char challenge[64] = "Bearer";
    if (error)
        snprintf(challenge, sizeof challenge, "Bearer error=\"%s\"", error);
    sso_response_header(response, "WWW-Authenticate", challenge);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_json(response, json_pack("{s:s, s:s}", "error", error ? error : "unauthorized",
                                          "error_description", description));
    return sso_response_pack(&response);
}

zframe_t *token_rotate_http(sso_service_t *service, const Sso__HttpRequest *request)
{
    if (strcmp(request->method, "POST") != 0)
        return sso_http_method_not_allowed("POST");
    const char *token = sso_http_bearer(request);
    if (!token)
        return s_unauthorized(NULL, "a management access token is required");
    token_state_t *state = service->state;
    /* The directory checks the token, makes and stores the key and audits the rotation, as
       for the dashboard's (dir_signing_rotate); this instance publishes the list at once. */
    char *kid = NULL;
    int64_t active_from = 0;
    int status = token_keys_rotate(state->keys, service, token, request->remote_addr, &kid,
                                   &active_from);
    if (status == 401)
        return s_unauthorized("invalid_token", "the access token is not valid");
    if (status == 500 || status == 502)
        return sso_http_error(500, "server_error", "the new signing key could not be stored");
    if (status != 0)
        return token_dir_unavailable(status);
    char when[32];
    time_t seconds = (time_t) active_from;
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sso_info("signing key %s rotated in; signs from %s", kid, when);
    zframe_t *frame = sso_http_json(201, json_pack("{s:s, s:s}", "kid", kid, "active_from", when));
    free(kid);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The kid in the header of the ID token a fresh code exchange mints; caller frees. */
static char *s_test_signing_kid(token_testkit_t *fake, const char *code)
{
    char body[300];
    snprintf(body, sizeof body, "grant_type=authorization_code&client_id={client}&client_secret="
                                "{secret}&code=%s&redirect_uri=https%%3A%%2F%%2Fapp.test%%2F"
                                "callback",
             code);
    Sso__HttpResponse *response = token_testkit_http(fake, "POST", "/oauth/token", NULL, body,
                                                  "content-type",
                                                  "application/x-www-form-urlencoded", NULL);
    json_t *json = token_testkit_json(response);
    const char *id_token = json_string_value(json_object_get(json, "id_token"));
    char *kid = NULL;
    if (id_token) {
        char *header_b64 = strndup(id_token, strcspn(id_token, "."));
        size_t len = 0;
        uint8_t *header = sso_base64_decode(header_b64, &len, false);
        json_t *parsed = header ? json_loads((char *) header, 0, NULL) : NULL;
        const char *value = json_string_value(json_object_get(parsed, "kid"));
        kid = value ? strdup(value) : NULL;
        json_decref(parsed);
        free(header);
        free(header_b64);
    }
    json_decref(json);
    sso__http_response__free_unpacked(response, NULL);
    return kid;
}

static Sso__HttpResponse *s_test_rotate(token_testkit_t *fake, const char *method,
                                        const char *authorization)
{
    if (!authorization)
        return token_testkit_http(fake, method, "/api/v1/keys/rotate", NULL, NULL, NULL);
    return token_testkit_http(fake, method, "/api/v1/keys/rotate", NULL, NULL, "authorization",
                           authorization, NULL);
}

void token_rotate_test(bool verbose)
{
    (void) verbose;

    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    /* The first key: the one the directory holds, and the service publishes. */
    char *jwks = token_testkit_jwks(&fake);
    Sso__KeysListReply *stored = dir_fake_signing_keys(fake.dir);
    SSO_CHECK(jwks && stored && stored->n_keys == 1);
    free(jwks);
    if (!stored || stored->n_keys != 1) {
        sso__keys_list_reply__free_unpacked(stored, NULL);
        token_testkit_close(&fake);
        return;
    }
    char *old_kid = strdup(stored->keys[0]->kid);
    sso__keys_list_reply__free_unpacked(stored, NULL);
    Sso__HttpResponse *response = s_test_rotate(&fake, "POST", NULL);
    SSO_CHECK(response && response->status == 401
              && !strcmp(token_testkit_header(response, "WWW-Authenticate"), "Bearer"));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_rotate(&fake, "POST", "Bearer wrong");
    SSO_CHECK(response && response->status == 401
              && !strcmp(token_testkit_header(response, "WWW-Authenticate"),
                         "Bearer error=\"invalid_token\""));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_rotate(&fake, "GET", "Bearer {mgmt}");
    SSO_CHECK(response && response->status == 405);
    sso__http_response__free_unpacked(response, NULL);
    stored = dir_fake_signing_keys(fake.dir);
    SSO_CHECK(stored && stored->n_keys == 1);
    sso__keys_list_reply__free_unpacked(stored, NULL);

    /* A rotation: stored with key_put, published at once, signing only after the delay. */
    response = s_test_rotate(&fake, "POST", "Bearer {mgmt}");
    json_t *json = token_testkit_json(response);
    const char *kid = json_string_value(json_object_get(json, "kid"));
    const char *active_from = json_string_value(json_object_get(json, "active_from"));
    SSO_CHECK(response && response->status == 201 && kid && strcmp(kid, old_kid) != 0);
    SSO_CHECK(active_from && strlen(active_from) == 20 && active_from[19] == 'Z');
    stored = dir_fake_signing_keys(fake.dir);
    const Sso__SigningKey *put = NULL, *old = NULL;
    for (size_t i = 0; stored && i < stored->n_keys; i++) {
        if (kid && !strcmp(stored->keys[i]->kid, kid))
            put = stored->keys[i];
        if (!strcmp(stored->keys[i]->kid, old_kid))
            old = stored->keys[i];
    }
    /* (Made a second after the first key when that one is of the same second.) */
    SSO_CHECK(put && put->active_from - put->created_at >= 3599
              && put->active_from - put->created_at <= 3600);
    SSO_CHECK(put && strstr(put->private_key_pem, "PRIVATE KEY") && put->retire_after == 0);
    SSO_CHECK(stored && stored->n_keys == 2);
    /* The old key stays published until tokens it signs before the switch have expired. */
    SSO_CHECK(put && old && old->retire_after == put->active_from + TOKEN_KEYS_TOKEN_LIFETIME_S);
    sso__keys_list_reply__free_unpacked(stored, NULL);
    jwks = token_testkit_jwks(&fake);
    SSO_CHECK(jwks && kid && strstr(jwks, kid) && strstr(jwks, old_kid));
    SSO_CHECK(jwks && !strstr(jwks, "PRIVATE") && !strstr(jwks, "\"d\""));
    free(jwks);
    char *signing = s_test_signing_kid(&fake, "{code_full}");
    SSO_CHECK(signing && !strcmp(signing, old_kid));
    free(signing);
    json_decref(json);
    sso__http_response__free_unpacked(response, NULL);

    /* With no delay the new key signs at once. */
    SSO_CHECK(dir_fake_key_rotation_delay(fake.dir, 0) == 0);
    response = s_test_rotate(&fake, "POST", "Bearer {mgmt}");
    json = token_testkit_json(response);
    kid = json_string_value(json_object_get(json, "kid"));
    signing = s_test_signing_kid(&fake, "{code_bare}");
    SSO_CHECK(response && response->status == 201 && kid && signing && !strcmp(signing, kid));
    free(signing);
    json_decref(json);
    sso__http_response__free_unpacked(response, NULL);

    /* The directory gone: 503, nothing stored. */
    stored = dir_fake_signing_keys(fake.dir);
    size_t keys = stored ? stored->n_keys : 0;
    sso__keys_list_reply__free_unpacked(stored, NULL);
    SSO_CHECK(dir_fake_stop(fake.dir) == 0);
    response = s_test_rotate(&fake, "POST", "Bearer {mgmt}");
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_start(fake.dir) == 0);
    stored = dir_fake_signing_keys(fake.dir);
    SSO_CHECK(stored && keys == 3 && stored->n_keys == keys);
    sso__keys_list_reply__free_unpacked(stored, NULL);
    free(old_kid);
    token_testkit_close(&fake);
}
