#include "token_sign.h"
#include "sso_crypto.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "token.pb-c.h"
#include "token_code.h"
#include "token_testkit.h"

#define S_IDP_INITIATED "TokenSign.IdpInitiatedLogin"

static zframe_t *s_refuse(Sso__RpcError error, const char *description)
{
    return sso_rpc_error_frame(&sso__idp_initiated_login_reply__descriptor, error, description, 0);
}

/* Whether text is 1..max bytes (0..max with empty_ok) of printable ASCII or UTF-8 (no
   control characters). */
static bool s_text(const char *text, size_t max, bool empty_ok)
{
    size_t len = text ? strlen(text) : 0;
    if ((!len && !empty_ok) || len > max)
        return false;
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static zframe_t *s_idp_initiated(sso_service_t *service, zframe_t *payload)
{
    Sso__IdpInitiatedLoginRequest *r = sso__idp_initiated_login_request__unpack(
        NULL, zframe_size(payload), zframe_data(payload));
    if (!r || !s_text(r->client_id, 128, false) || !s_text(r->organization_id, 128, false)
        || !s_text(r->connection_id, 128, false) || !s_text(r->login_hint, 320, false)
        || !s_text(r->relay_state, TOKEN_SIGN_RELAY_STATE_MAX, true)) {
        if (r)
            sso__idp_initiated_login_request__free_unpacked(r, NULL);
        return s_refuse(SSO__RPC_ERROR__INVALID_REQUEST, "client_id, organization_id, "
                        "connection_id and login_hint are required, relay_state is at most 80 "
                        "bytes, none with control characters");
    }
    char *kid = NULL, *jwt = NULL, *jti = sso_random_token(16);
    EVP_PKEY *key = NULL;
    zframe_t *frame = token_code_signing_key(service, &key, &kid);
    int64_t now = (int64_t) (sso_now_ms() / 1000);
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I, s:s*, s:s, s:s, s:s}", "iss",
                               service->config->public_url, "aud", r->client_id, "iat",
                               (json_int_t) now, "exp",
                               (json_int_t) (now + TOKEN_SIGN_IDP_INITIATED_TTL_S), "jti", jti,
                               "organization_id", r->organization_id, "connection_id",
                               r->connection_id, "login_hint", r->login_hint);
    if (claims && *r->relay_state
        && json_object_set_new(claims, "relay_state", json_string(r->relay_state)) != 0) {
        json_decref(claims);
        claims = NULL;
    }
    if (frame) {
        /* No key: the keys' own answer says why (the directory is away, none is active). */
        zframe_destroy(&frame);
        frame = s_refuse(SSO__RPC_ERROR__SERVER_ERROR, "no signing key is available");
    }
    else if (!jti || !claims
             || sso_jose_sign_typed(key, "RS256", kid, TOKEN_SIGN_IDP_INITIATED_TYP, claims,
                                    &jwt) != 0)
        frame = s_refuse(SSO__RPC_ERROR__SERVER_ERROR, "could not sign the token");
    else {
        Sso__IdpInitiatedLoginReply reply = SSO__IDP_INITIATED_LOGIN_REPLY__INIT;
        reply.jwt = jwt;
        reply.issuer = (char *) service->config->public_url;
        frame = sso_frame_pack(&reply.base);
        sso_info("idp-initiated login token %.8s… signed for %s at %s", jti, r->client_id,
                 r->connection_id);
    }
    json_decref(claims);
    EVP_PKEY_free(key);
    free(kid);
    free(jwt);
    free(jti);
    sso__idp_initiated_login_request__free_unpacked(r, NULL);
    return frame;
}

zframe_t *token_sign_rpc(sso_service_t *service, const char *rpc, zframe_t *payload)
{
    if (rpc && !strcmp(rpc, S_IDP_INITIATED))
        return s_idp_initiated(service, payload);
    return NULL;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* The reply to request through token_sign_rpc, unpacked. */
static Sso__IdpInitiatedLoginReply *s_call(token_testkit_t *kit,
                                           const Sso__IdpInitiatedLoginRequest *request)
{
    zframe_t *payload = sso_frame_pack(&request->base);
    zframe_t *frame = payload ? token_sign_rpc(&kit->service, S_IDP_INITIATED, payload) : NULL;
    Sso__IdpInitiatedLoginReply *reply =
        frame ? sso__idp_initiated_login_reply__unpack(NULL, zframe_size(frame),
                                                       zframe_data(frame))
              : NULL;
    zframe_destroy(&payload);
    zframe_destroy(&frame);
    return reply;
}

void token_sign_test(bool verbose)
{
    (void) verbose;
    token_testkit_t kit;
    if (token_testkit_open(&kit) != 0)
        return;
    Sso__IdpInitiatedLoginRequest r = SSO__IDP_INITIATED_LOGIN_REQUEST__INIT;
    r.client_id = "cli_app";
    r.organization_id = "org_1";
    r.connection_id = "conn_1";
    r.login_hint = "jane@example.com";
    r.relay_state = "tile-42";
    Sso__IdpInitiatedLoginReply *reply = s_call(&kit, &r);
    SSO_CHECK(reply && !reply->error && !strcmp(reply->issuer, "https://sso.test"));
    /* It verifies against the published keys and carries the claims. */
    char *jwks = token_keys_jwks(kit.state.keys), why[200] = "";
    sso_jose_keys_t *keys = NULL;
    const char *algs[] = {"RS256", NULL};
    json_t *claims = NULL;
    SSO_CHECK(jwks && sso_jose_keys_parse(jwks, strlen(jwks), &keys, why, sizeof why) == 0);
    SSO_CHECK(reply && keys
              && sso_jose_verify(reply->jwt, keys, algs, NULL, &claims, why, sizeof why)
                     == SSO_JOSE_OK);
    /* Typed apart from ID tokens (whose typ is JWT). */
    size_t header_len = 0;
    const char *dot = reply && reply->jwt ? strchr(reply->jwt, '.') : NULL;
    char encoded[256] = "";
    size_t n = dot ? (size_t) (dot - reply->jwt) : 0;
    if (n && n < sizeof encoded - 4) { /* base64url to base64, padded */
        for (size_t i = 0; i < n; i++)
            encoded[i] = reply->jwt[i] == '-' ? '+' : reply->jwt[i] == '_' ? '/' : reply->jwt[i];
        while (n % 4)
            encoded[n++] = '=';
    }
    uint8_t *header = *encoded ? sso_base64_decode(encoded, &header_len, false) : NULL;
    json_t *parsed = header ? json_loadb((const char *) header, header_len, 0, NULL) : NULL;
    SSO_CHECK(parsed && !strcmp(json_string_value(json_object_get(parsed, "typ")),
                                TOKEN_SIGN_IDP_INITIATED_TYP));
    json_decref(parsed);
    free(header);
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    SSO_CHECK(claims && !strcmp(json_string_value(json_object_get(claims, "iss")), "https://sso.test")
              && !strcmp(json_string_value(json_object_get(claims, "aud")), "cli_app")
              && !strcmp(json_string_value(json_object_get(claims, "organization_id")), "org_1")
              && !strcmp(json_string_value(json_object_get(claims, "connection_id")), "conn_1")
              && !strcmp(json_string_value(json_object_get(claims, "login_hint")),
                         "jane@example.com")
              && !strcmp(json_string_value(json_object_get(claims, "relay_state")), "tile-42")
              && strlen(json_string_value(json_object_get(claims, "jti"))) >= 16
              && exp - iat == TOKEN_SIGN_IDP_INITIATED_TTL_S
              && sso_jose_check_dates(claims, (int64_t) iat, 0, why, sizeof why) == 0);
    json_decref(claims);
    claims = NULL;
    if (reply)
        sso__idp_initiated_login_reply__free_unpacked(reply, NULL);
    /* No RelayState: no relay_state claim. */
    r.relay_state = "";
    reply = s_call(&kit, &r);
    SSO_CHECK(reply && !reply->error && keys
              && sso_jose_verify(reply->jwt, keys, algs, NULL, &claims, why, sizeof why)
                     == SSO_JOSE_OK
              && !json_object_get(claims, "relay_state"));
    json_decref(claims);
    if (reply)
        sso__idp_initiated_login_reply__free_unpacked(reply, NULL);
    /* Absent, too long and hostile input: refused, nothing signed. */
    char long_state[TOKEN_SIGN_RELAY_STATE_MAX + 2];
    memset(long_state, 's', sizeof long_state - 1);
    long_state[sizeof long_state - 1] = '\0';
    const char *bad[][2] = {{"client_id", ""}, {"login_hint", ""}, {"relay_state", long_state},
                            {"login_hint", "a\nb@example.com"}, {"organization_id", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Sso__IdpInitiatedLoginRequest b = r;
        const char *field = bad[i][0];
        char **slot = !strcmp(field, "client_id")         ? &b.client_id
                      : !strcmp(field, "login_hint")      ? &b.login_hint
                      : !strcmp(field, "organization_id") ? &b.organization_id
                                                          : &b.relay_state;
        *slot = (char *) bad[i][1];
        reply = s_call(&kit, &b);
        SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__INVALID_REQUEST && !*reply->jwt);
        if (reply)
            sso__idp_initiated_login_reply__free_unpacked(reply, NULL);
    }
    zframe_t *junk = zframe_new("\xff\xff", 2);
    zframe_t *frame = token_sign_rpc(&kit.service, S_IDP_INITIATED, junk);
    Sso__IdpInitiatedLoginReply *refused =
        frame ? sso__idp_initiated_login_reply__unpack(NULL, zframe_size(frame),
                                                       zframe_data(frame))
              : NULL;
    SSO_CHECK(refused && refused->error == SSO__RPC_ERROR__INVALID_REQUEST);
    if (refused)
        sso__idp_initiated_login_reply__free_unpacked(refused, NULL);
    zframe_destroy(&frame);
    SSO_CHECK(token_sign_rpc(&kit.service, "TokenSign.Nope", junk) == NULL);
    zframe_destroy(&junk);
    sso_jose_keys_destroy(&keys);
    free(jwks);
    token_testkit_close(&kit);
}
