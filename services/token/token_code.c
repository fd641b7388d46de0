#include "token_code.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include "sso_clients.h"
#include "token_dir.h"
#include "token_testkit.h"
#include "token_http.h"
#include <ctype.h>

#define CODE_MAX 512
#define PKCE_MIN 43       /* RFC 7636 4.1 and 4.2 */
#define PKCE_MAX 128

static zframe_t *s_error(uint32_t status, const char *error, const char *description)
{
    return token_json(status, json_pack("{s:s, s:s}", "error", error, "error_description",
                                    description));
}

bool token_code_pkce_ok(const char *value)
{
    size_t len = strlen(value);
    if (len < PKCE_MIN || len > PKCE_MAX)
        return false;
    for (const char *p = value; *p; p++)
        if (!isalnum((unsigned char) *p) && !strchr("-._~", *p))
            return false;
    return true;
}

const char *token_code_check_params(zhashx_t *params, const char *client_id,
                                    const char **description)
{
    const char *code = zhashx_lookup(params, "code");
    const char *redirect_uri = zhashx_lookup(params, "redirect_uri");
    const char *verifier = zhashx_lookup(params, "code_verifier");
    const char *given_client_id = zhashx_lookup(params, "client_id");
    *description = NULL;
    if (!code || !*code)
        *description = "code is missing";
    else if (strlen(code) > CODE_MAX) {
        *description = "the code is not valid";
        return "invalid_grant";
    }
    else if (!redirect_uri || !*redirect_uri)
        *description = "redirect_uri is missing";
    else if (verifier && !token_code_pkce_ok(verifier))
        *description = "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]";
    else if (given_client_id && (!client_id || strcmp(given_client_id, client_id) != 0))
        *description = "client_id does not match the authenticated client";
    return *description ? "invalid_request" : NULL;
}

/* "<connection_id>;<subject>": printable ASCII, at most 255 characters (the one rule,
   sso_upstream_subject_check, which the upstream services apply before completing a login). */
static char *s_sub(const Sso__CodeGrant *grant, const char **why)
{
    const char *subject = grant->profile ? grant->profile->subject : "";
    if (!*grant->connection_id || !*subject) {
        *why = "the grant has no connection or no subject";
        return NULL;
    }
    char reason[160];
    int bad = sso_upstream_subject_check(grant->connection_id, subject, reason, sizeof reason);
    if (bad) {
        *why = bad == SSO_UPSTREAM_SUB_TOO_LONG ? "sub would be longer than 255 characters"
                                                : "sub would not be printable ASCII";
        return NULL;
    }
    size_t id_len = strlen(grant->connection_id), len = id_len + 1 + strlen(subject);
    char *sub = malloc(len + 1);
    if (!sub) {
        *why = "out of memory";
        return NULL;
    }
    memcpy(sub, grant->connection_id, id_len);
    sub[id_len] = ';';
    memcpy(sub + id_len + 1, subject, strlen(subject) + 1);
    return sub;
}

/* Adds a non-empty string claim; -1 when it is not valid UTF-8 (json_string refuses it). */
static int s_set_string(json_t *claims, const char *name, const char *value)
{
    if (!value || !*value)
        return 0;
    return json_object_set_new(claims, name, json_string(value));
}

json_t *token_code_identity(const Sso__CodeGrant *grant, const char **why)
{
    char *sub = s_sub(grant, why);
    if (!sub)
        return NULL;
    const Sso__Profile *profile = grant->profile;
    json_t *claims = json_object();
    int bad = !claims || s_set_string(claims, "sub", sub) != 0;
    free(sub);
    if (!bad && *profile->email) {
        bad |= s_set_string(claims, "email", profile->email) != 0;
        bad |= json_object_set_new(claims, "email_verified",
                                   json_boolean(profile->email_verified)) != 0;
    }
    if (!bad) {
        bad |= s_set_string(claims, "name", profile->name) != 0;
        bad |= s_set_string(claims, "given_name", profile->given_name) != 0;
        bad |= s_set_string(claims, "family_name", profile->family_name) != 0;
    }
    if (!bad && profile->n_groups) {
        json_t *groups = json_array();
        for (size_t i = 0; groups && i < profile->n_groups; i++)
            bad |= json_array_append_new(groups, json_string(profile->groups[i])) != 0;
        bad |= json_object_set_new(claims, "groups", groups) != 0;
    }
    /* The user's id in the organization's SCIM directory (issue 22), when it provisioned them. */
    if (!bad && profile->scim_user_id && *profile->scim_user_id)
        bad |= s_set_string(claims, "scim_user_id", profile->scim_user_id) != 0;
    if (!bad) {
        bad |= s_set_string(claims, "oid", grant->organization_id) != 0;
        bad |= s_set_string(claims, "connection_id", grant->connection_id) != 0;
        bad |= s_set_string(claims, "connection_type", grant->connection_type) != 0;
    }
    if (bad) {
        *why = "a profile value is not valid UTF-8";
        json_decref(claims);
        return NULL;
    }
    return claims;
}

json_t *token_code_id_claims(const char *issuer, const Sso__CodeGrant *grant,
                             const char *access_token, int64_t now, const char **why)
{
    json_t *identity = token_code_identity(grant, why);
    char *at_hash = identity ? sso_jose_half_hash("RS256", access_token) : NULL;
    if (!at_hash) {
        json_decref(identity);
        if (!*why)
            *why = "out of memory";
        return NULL;
    }
    json_t *claims = json_pack("{s:s, s:O, s:s, s:s, s:I, s:I, s:I}", "iss", issuer, "sub",
                               json_object_get(identity, "sub"), "aud", grant->client_id, "azp",
                               grant->client_id, "exp", (json_int_t) (now + TOKEN_USER_TTL),
                               "iat", (json_int_t) now, "auth_time",
                               (json_int_t) (grant->auth_time ? grant->auth_time : now));
    if (claims && *grant->nonce)
        json_object_set_new(claims, "nonce", json_string(grant->nonce));
    if (claims) {
        json_object_set_new(claims, "at_hash", json_string(at_hash));
        json_object_update_missing(claims, identity);
        json_object_set_new(claims, "amr", json_pack("[s]", grant->connection_id));
    }
    free(at_hash);
    json_decref(identity);
    if (!claims)
        *why = "a claim is not valid UTF-8";
    return claims;
}

/* code_redeem, which also authenticates the client and issues the access token, in one
   round trip and one write. 0 with the grant (owned by *reply_p), or a response frame in
   *frame_p. */
static int s_redeem(sso_service_t *service, zhashx_t *params, const client_auth_t *auth,
                    Sso__CodeRedeemReply **reply_p, zframe_t **frame_p)
{
    const char *verifier = zhashx_lookup(params, "code_verifier");
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = zhashx_lookup(params, "code");
    redeem.client_id = auth->client_id;
    redeem.client_secret = auth->client_secret;
    redeem.redirect_uri = zhashx_lookup(params, "redirect_uri");
    redeem.code_verifier = (char *) (verifier ? verifier : "");
    redeem.access_token_ttl = TOKEN_USER_TTL;
    redeem.client_address = (char *) (auth->client_address ? auth->client_address : "");
    /* Single use: never re-sent by the broker (a TokenWrites operation). */
    int status = sso_dir_code_redeem(service, &redeem, reply_p);
    if (status != 0) {
        *frame_p = token_dir_unavailable(status);
        return -1;
    }
    Sso__CodeRedeemReply *reply = *reply_p;
    const char *description = *reply->error_description ? reply->error_description
                                                         : "the code is not valid";
    if (reply->error == SSO__RPC_ERROR__INVALID_REQUEST)
        *frame_p = s_error(400, "invalid_request", description);
    else if (reply->error == SSO__RPC_ERROR__INVALID_CLIENT) {
        token_client_auth_log_failure(auth, false);
        *frame_p = token_client_auth_error(auth, "client authentication failed");
    }
    else if (reply->error == SSO__RPC_ERROR__TOO_MANY_REQUESTS) {
        token_client_auth_log_failure(auth, true);
        *frame_p = token_client_auth_too_many(reply->retry_after);
    }
    else if (reply->error == SSO__RPC_ERROR__SERVER_ERROR)
        *frame_p = s_error(500, "server_error", "the code could not be redeemed");
    else if (reply->error)
        /* invalid_grant, and the finer codes (not_found, expired, consumed) it stands for. */
        *frame_p = s_error(400, "invalid_grant", description);
    else if (!reply->grant || !reply->grant->profile || !*reply->grant->access_token)
        *frame_p = s_error(500, "server_error", "the directory sent no grant");
    else if (strcmp(reply->grant->client_id, auth->client_id) != 0)
        *frame_p = s_error(400, "invalid_grant", "the code was issued to another client");
    else
        return 0;
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    *reply_p = NULL;
    return -1;
}

zframe_t *token_code_signing_key(sso_service_t *service, EVP_PKEY **key, char **kid)
{
    token_state_t *state = service->state;
    *key = NULL;
    *kid = NULL;
    int status = token_keys_ensure(state->keys, service);
    *key = status == 0 ? token_keys_signing(state->keys, kid) : NULL;
    if (*key)
        return NULL;
    return status != 0 ? token_dir_unavailable(status)
                       : s_error(503, "temporarily_unavailable", "no signing key is active");
}

int token_code_mint(sso_service_t *service, const Sso__CodeGrant *grant, EVP_PKEY *key,
                    const char *kid, char **id_token, const char **why)
{
    *id_token = NULL;
    *why = NULL;
    json_t *claims = token_code_id_claims(service->config->public_url, grant, grant->access_token,
                                          sso_now_ms() / 1000, why);
    int rc = -1;
    if (!claims)
        sso_error("cannot mint for %s: %s", grant->connection_id, *why);
    else if (sso_jose_sign(key, "RS256", kid, claims, id_token) != 0) {
        sso_error("cannot mint the ID token: signing failed");
        *why = "could not sign the ID token";
    }
    else
        rc = 0;
    json_decref(claims);
    return rc;
}

zframe_t *token_code_grant(sso_service_t *service, zhashx_t *params, const client_auth_t *auth)
{
    const char *description = NULL;
    const char *error = token_code_check_params(params, auth->client_id, &description);
    if (error)
        return s_error(400, error, description);

    /* Keys first: a code redeemed with nothing to sign the ID token with would be lost. */
    char *kid = NULL;
    EVP_PKEY *key = NULL;
    zframe_t *frame = token_code_signing_key(service, &key, &kid);
    if (frame)
        return frame;
    Sso__CodeRedeemReply *reply = NULL;
    if (s_redeem(service, params, auth, &reply, &frame) != 0) {
        EVP_PKEY_free(key);
        free(kid);
        return frame;
    }
    const Sso__CodeGrant *grant = reply->grant;
    const char *why = NULL;
    char *id_token = NULL;
    int64_t expires_in = grant->expires_in > 0 ? grant->expires_in : TOKEN_USER_TTL;
    /* A grant whose identity cannot be minted is refused here; the access token the directory
       issued with it is never handed out, so nobody holds it. */
    if (token_code_mint(service, grant, key, kid, &id_token, &why) != 0)
        frame = s_error(500, "server_error", why);
    else {
        frame = token_json(200, json_pack("{s:s, s:s, s:I, s:s, s:s}", "access_token",
                                          grant->access_token, "token_type", "Bearer",
                                          "expires_in", (json_int_t) expires_in, "id_token",
                                          id_token, "scope", grant->scope));
        sso_info("tokens issued to %s for %s", grant->client_id, grant->connection_id);
    }
    free(id_token);
    EVP_PKEY_free(key);
    free(kid);
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    return frame;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define T_REDIRECT "redirect_uri=https%3A%2F%2Fapp.test%2Fcallback"
#define T_POST "grant_type=authorization_code&client_id={client}&client_secret={secret}&"
#define T_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" /* RFC 7636 B */

/* "Basic " and base64 of "<client>:<secret>" into out. */
static void s_test_basic(token_testkit_t *fake, const char *secret, char *out, size_t size)
{
    char pair[200];
    snprintf(pair, sizeof pair, "%s:%s", fake->dir->client_id, secret);
    char *encoded = sso_base64_encode((const uint8_t *) pair, strlen(pair));
    snprintf(out, size, "Basic %s", encoded ? encoded : "");
    free(encoded);
}

static Sso__HttpResponse *s_test_token(token_testkit_t *fake, const char *body,
                                       const char *authorization)
{
    if (authorization)
        return token_testkit_http(fake, "POST", "/oauth/token", NULL, body, "content-type",
                               "application/x-www-form-urlencoded", "authorization",
                               authorization, NULL);
    return token_testkit_http(fake, "POST", "/oauth/token", NULL, body, "content-type",
                           "application/x-www-form-urlencoded", NULL);
}

static bool s_test_status(Sso__HttpResponse *response, unsigned status, const char *error)
{
    json_t *json = token_testkit_json(response);
    const char *got = json_string_value(json_object_get(json, "error"));
    bool ok = response && response->status == status && got && !strcmp(got, error)
              && json_string_value(json_object_get(json, "error_description"));
    if (!ok)
        fprintf(stderr, "  got %u %s\n", response ? response->status : 0, got ? got : "-");
    json_decref(json);
    return ok;
}

/* The exchange that worked: response, ID token claims and stored claims checked. */
static void s_test_success(token_testkit_t *fake, Sso__HttpResponse *response, bool full)
{
    json_t *json = token_testkit_json(response);
    SSO_CHECK(response && response->status == 200 && json);
    SSO_CHECK(!strcmp(token_testkit_header(response, "Cache-Control"), "no-store"));
    SSO_CHECK(!strcmp(token_testkit_header(response, "Pragma"), "no-cache"));
    const char *access_token = json_string_value(json_object_get(json, "access_token"));
    const char *id_token = json_string_value(json_object_get(json, "id_token"));
    SSO_CHECK(access_token && id_token && json_object_size(json) == 5);
    SSO_CHECK(!strcmp(json_string_value(json_object_get(json, "token_type")), "Bearer"));
    SSO_CHECK(json_integer_value(json_object_get(json, "expires_in")) == 3600);
    SSO_CHECK(!strcmp(json_string_value(json_object_get(json, "scope")), "openid profile"));
    if (!access_token || !id_token) {
        json_decref(json);
        return;
    }

    /* The directory authenticated the client and stored the access token with the
       redemption, bound to the code's grant: /userinfo reads the identity back through it. */
    const dir_fake_t *dir = fake->dir;
    char bearer[200];
    snprintf(bearer, sizeof bearer, "Bearer %s", access_token);
    Sso__HttpResponse *userinfo = token_testkit_http(fake, "GET", "/userinfo", NULL, NULL,
                                                     "authorization", bearer, NULL);
    json_t *user = token_testkit_json(userinfo);
    SSO_CHECK(userinfo && userinfo->status == 200
              && !strcmp(json_string_value(json_object_get(user, "sub")) ?: "",
                         token_testkit_expand(fake, "{conn_saml};user-42@idp")));
    json_decref(user);
    sso__http_response__free_unpacked(userinfo, NULL);
    json_t *identity = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s}", "sub",
                                 token_testkit_expand(fake, "{conn_saml};user-42@idp"), "email",
                                 "jane@example.com", "email_verified", 1, "name", "Jane Doe",
                                 "given_name", "Jane", "oid", dir->org_saml, "connection_id",
                                 dir->conn_saml, "connection_type", "saml");
    if (full) {
        json_object_set_new(identity, "family_name", json_string("Doe"));
        json_object_set_new(identity, "groups", json_pack("[s,s]", "engineering", "admins"));
    }

    /* The ID token verifies with the published key and carries exactly the claims. */
    char *jwks = token_testkit_jwks(fake);
    sso_jose_keys_t *keys = NULL;
    json_t *claims = NULL;
    char why[SSO_JOSE_WHY_SIZE] = "";
    const char *const rs256[] = {"RS256", NULL};
    SSO_CHECK(jwks && sso_jose_keys_parse(jwks, strlen(jwks), &keys, why, sizeof why) == 0
              && sso_jose_verify(id_token, keys, rs256, NULL, &claims, why, sizeof why)
                     == SSO_JOSE_OK);
    sso_jose_keys_destroy(&keys);
    free(jwks);
    json_t *expected = json_deep_copy(identity);
    json_t *fixed = json_pack("{s:s, s:s, s:s, s:i, s:[s]}", "iss", "https://sso.test", "aud",
                              dir->client_id, "azp", dir->client_id, "auth_time", 1700000000,
                              "amr", dir->conn_saml);
    json_object_update(expected, fixed);
    json_decref(fixed);
    if (full)
        json_object_set_new(expected, "nonce", json_string("n-123"));
    char *at_hash = sso_jose_half_hash("RS256", access_token);
    json_object_set_new(expected, "at_hash", json_string(at_hash));
    free(at_hash);
    json_int_t iat = json_integer_value(json_object_get(claims, "iat"));
    json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
    int64_t now = sso_now_ms() / 1000;
    SSO_CHECK(iat >= now - 5 && iat <= now && exp == iat + 3600);
    json_object_set_new(expected, "iat", json_integer(iat));
    json_object_set_new(expected, "exp", json_integer(exp));
    SSO_CHECK(claims && json_equal(claims, expected));
    SSO_CHECK(claims && json_object_size(claims) == (full ? 19u : 16u));
    SSO_CHECK(claims && (json_object_get(claims, "nonce") != NULL) == full);
    if (claims && !json_equal(claims, expected)) {
        char *text = json_dumps(claims, JSON_SORT_KEYS);
        fprintf(stderr, "  claims %s\n", text);
        free(text);
    }
    json_decref(expected);
    json_decref(claims);
    json_decref(identity);
    json_decref(json);
}

void token_code_test(bool verbose)
{
    (void) verbose;
    token_testkit_t fake;
    if (token_testkit_open(&fake) != 0)
        return;
    /* Basic credentials of the client: with no secret, a wrong one, the right one. */
    char basic_empty[128], basic_wrong[128], basic[256];
    s_test_basic(&fake, "", basic_empty, sizeof basic_empty);
    s_test_basic(&fake, "wrong", basic_wrong, sizeof basic_wrong);
    s_test_basic(&fake, fake.dir->client_secret, basic, sizeof basic);
    /* An empty secret is no secret, by form and by Basic ("<client>:"): 401 with the Basic
       challenge, and the directory is not even asked (it is off the bus: asking would be
       503), so {code_pkce} stays unspent (it is redeemed below). */
    struct {
        const char *body;
        const char *authorization;
    } empty[] = {
        {"grant_type=authorization_code&client_id={client}&client_secret=&code={code_pkce}&"
         T_REDIRECT, NULL},
        {"grant_type=authorization_code&client_id={client}&client_secret&code={code_pkce}&"
         T_REDIRECT, NULL},
        {"grant_type=authorization_code&code={code_pkce}&" T_REDIRECT, basic_empty},
        {"grant_type=authorization_code&client_id={client}&code={code_pkce}&" T_REDIRECT,
         basic_empty},
        {"grant_type=authorization_code&client_id={client}&code={code_pkce}&" T_REDIRECT, NULL},
    };
    SSO_CHECK(dir_fake_stop(fake.dir) == 0);
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        Sso__HttpResponse *refused = s_test_token(&fake, empty[i].body, empty[i].authorization);
        bool ok = s_test_status(refused, 401, "invalid_client")
                  && token_testkit_header(refused, "WWW-Authenticate")
                  && !strncmp(token_testkit_header(refused, "WWW-Authenticate"), "Basic ", 6);
        if (!ok)
            fprintf(stderr, "  empty secret case %zu\n", i);
        SSO_CHECK(ok);
        sso__http_response__free_unpacked(refused, NULL);
    }
    /* Credentials and the code come from the body only: any parameter in the URL query is
       invalid_request, whether the body also has it or not (the directory still off). */
    struct {
        const char *query;
        const char *body;
    } queries[] = {
        {"client_secret={secret}",
         "grant_type=authorization_code&client_id={client}&code={code_pkce}&" T_REDIRECT},
        {"client_secret={secret}", T_POST "code={code_pkce}&" T_REDIRECT},
        {"code={code_pkce}", T_POST T_REDIRECT},
        {"client_id={client}&client_secret={secret}",
         "grant_type=authorization_code&code={code_pkce}&" T_REDIRECT},
        {"code_verifier=" T_VERIFIER, T_POST "code={code_pkce}&" T_REDIRECT},
        {"grant_type=authorization_code",
         "client_id={client}&client_secret={secret}&code={code_pkce}&" T_REDIRECT},
        {"x", T_POST "code={code_pkce}&" T_REDIRECT},
    };
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        Sso__HttpResponse *refused =
            token_testkit_http(&fake, "POST", "/oauth/token", queries[i].query, queries[i].body,
                               "content-type", "application/x-www-form-urlencoded", NULL);
        bool ok = s_test_status(refused, 400, "invalid_request");
        if (!ok)
            fprintf(stderr, "  query case %zu\n", i);
        SSO_CHECK(ok);
        sso__http_response__free_unpacked(refused, NULL);
    }
    SSO_CHECK(dir_fake_start(fake.dir) == 0);

    /* client_secret_post, with PKCE: the code is bound to the RFC's challenge, so only the
       verifier passed on redeems it. */
    Sso__HttpResponse *response = s_test_token(
        &fake, T_POST "code={code_pkce}&" T_REDIRECT "&code_verifier=" T_VERIFIER, NULL);
    s_test_success(&fake, response, true);
    sso__http_response__free_unpacked(response, NULL);

    /* The same code again: the directory's invalid_grant, its words passed on. */
    response = s_test_token(&fake, T_POST "code={code_pkce}&" T_REDIRECT, NULL);
    SSO_CHECK(s_test_status(response, 400, "invalid_grant"));
    SSO_CHECK(token_testkit_body_has(&fake, response, "already used"));
    sso__http_response__free_unpacked(response, NULL);

    /* client_secret_basic, no nonce in the request, no groups from the IdP. */
    response = s_test_token(&fake, "grant_type=authorization_code&code={code_bare}&" T_REDIRECT,
                            basic);
    s_test_success(&fake, response, false);
    sso__http_response__free_unpacked(response, NULL);

    /* Client authentication failures: 401, with the Basic challenge. */
    response = s_test_token(&fake, "grant_type=authorization_code&code=x&" T_REDIRECT,
                            basic_wrong);
    SSO_CHECK(s_test_status(response, 401, "invalid_client"));
    SSO_CHECK(token_testkit_header(response, "WWW-Authenticate")
              && !strncmp(token_testkit_header(response, "WWW-Authenticate"), "Basic", 5));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_token(&fake, "grant_type=authorization_code&client_id={client}&"
                                   "client_secret=wrong&code=x&" T_REDIRECT,
                            NULL);
    SSO_CHECK(s_test_status(response, 401, "invalid_client"));
    sso__http_response__free_unpacked(response, NULL);
    response = s_test_token(&fake, "grant_type=authorization_code&code=x&" T_REDIRECT, NULL);
    SSO_CHECK(s_test_status(response, 401, "invalid_client"));
    sso__http_response__free_unpacked(response, NULL);
    /* Locked out by the directory after failed authentications (made here, for real): 429
       with the directory's Retry-After, by either grant; the directory counted them by the
       caller's address. */
    int failures = 0;
    for (; failures < 10; failures++) {
        response = s_test_token(&fake, "grant_type=client_credentials&client_id={locked}&"
                                       "client_secret=wrong", NULL);
        bool limited = response && response->status == 429;
        sso__http_response__free_unpacked(response, NULL);
        if (limited)
            break;
    }
    SSO_CHECK(failures > 1 && failures < 10);
    int64_t lockout_ms = dir_fake_lockout_ms(fake.dir, fake.dir->locked_id, "127.0.0.1");
    SSO_CHECK(lockout_ms > 1000);
    const char *locked[] = {"grant_type=authorization_code&client_id={locked}&client_secret=s"
                            "&code={code_full}&" T_REDIRECT,
                            "grant_type=client_credentials&client_id={locked}&client_secret=s"};
    for (size_t i = 0; i < 2; i++) {
        response = s_test_token(&fake, locked[i], NULL);
        const char *retry = token_testkit_header(response, "Retry-After");
        char said[64];
        snprintf(said, sizeof said, "retry after %s s", retry ? retry : "?");
        /* The directory's time left, in whole seconds rounded up (a second may pass). */
        long seconds = retry ? strtol(retry, NULL, 10) : 0;
        SSO_CHECK(s_test_status(response, 429, "invalid_client")
                  && seconds * 1000 >= lockout_ms - 1000 && (seconds - 1) * 1000 <= lockout_ms
                  && token_testkit_body_has(&fake, response, said));
        sso__http_response__free_unpacked(response, NULL);
    }
    zframe_t *too_many = token_client_auth_too_many(0);
    Sso__HttpResponse *clamped = sso__http_response__unpack(NULL, zframe_size(too_many),
                                                             zframe_data(too_many));
    SSO_CHECK(clamped && clamped->status == 429 && token_testkit_header(clamped, "Retry-After")
              && !strcmp(token_testkit_header(clamped, "Retry-After"), "1"));
    sso__http_response__free_unpacked(clamped, NULL);
    zframe_destroy(&too_many);

    struct {
        const char *body;
        unsigned status;
        const char *error;
    } cases[] = {
        {T_POST T_REDIRECT, 400, "invalid_request"},                        /* no code */
        {T_POST "code={code_bare}", 400, "invalid_request"},                /* no redirect_uri */
        {T_POST "code={code_bare}&" T_REDIRECT "&code_verifier=short", 400, "invalid_request"},
        {T_POST "code=nope&" T_REDIRECT, 400, "invalid_grant"},
        /* Bound to its redirect_uri. */
        {T_POST "code={code_ascii}&redirect_uri=https%3A%2F%2Fapp.test%2Fcb%3Fx%3D1", 400,
         "invalid_grant"},
        /* A sub that would break the contract is never minted. */
        {T_POST "code={code_long}&" T_REDIRECT, 500, "server_error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        response = s_test_token(&fake, cases[i].body, NULL);
        bool ok = s_test_status(response, cases[i].status, cases[i].error);
        if (!ok)
            fprintf(stderr, "  case %zu\n", i);
        SSO_CHECK(ok);
        sso__http_response__free_unpacked(response, NULL);
    }
    /* client_id in the body must be the client that authenticated by Basic. */
    response = s_test_token(&fake, "grant_type=authorization_code&client_id=other&code=x&"
                                   T_REDIRECT, basic);
    SSO_CHECK(s_test_status(response, 400, "invalid_request"));
    sso__http_response__free_unpacked(response, NULL);

    /* A non-ASCII subject is refused too (the module's check; {code_ascii} was refused above for
       its redirect_uri). */
    Sso__CodeGrant grant = SSO__CODE_GRANT__INIT;
    Sso__Profile profile = SSO__PROFILE__INIT;
    grant.profile = &profile;
    grant.connection_id = "conn_1";
    profile.subject = "zo\xc3\xab";
    const char *why = NULL;
    SSO_CHECK(token_code_identity(&grant, &why) == NULL && why && strstr(why, "ASCII"));
    profile.subject = "ok";
    profile.name = "bad \xff utf-8";
    why = NULL;
    SSO_CHECK(token_code_identity(&grant, &why) == NULL && why);
    /* A provisioned user's SCIM id is a claim (issue 22); none without one. */
    profile.name = "Ada";
    json_t *identity = token_code_identity(&grant, &why);
    SSO_CHECK(identity && !json_object_get(identity, "scim_user_id"));
    json_decref(identity);
    profile.scim_user_id = "usr_1";
    identity = token_code_identity(&grant, &why);
    SSO_CHECK(identity && !strcmp(json_string_value(json_object_get(identity, "scim_user_id")),
                                  "usr_1"));
    json_decref(identity);

    /* The bus down: 503, nothing minted ({code_full} is still there to redeem after). */
    SSO_CHECK(dir_fake_stop(fake.dir) == 0);
    response = s_test_token(&fake, T_POST "code={code_full}&" T_REDIRECT, NULL);
    SSO_CHECK(s_test_status(response, 503, "temporarily_unavailable"));
    sso__http_response__free_unpacked(response, NULL);
    SSO_CHECK(dir_fake_start(fake.dir) == 0);
    response = s_test_token(&fake, T_POST "code={code_full}&" T_REDIRECT, NULL);
    s_test_success(&fake, response, true);
    sso__http_response__free_unpacked(response, NULL);
    token_testkit_close(&fake);
}
