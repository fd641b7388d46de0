#include "oidc_exchange.h"
#include "sso_crypto.h"
#include "sso_http.h"
#include "sso_jose.h"
#include "sso_test.h"
#include "sso_log.h"
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees text that held a secret, overwritten first. */
static void s_wipe(char *text)
{
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
}

char *oidc_exchange_assertion(EVP_PKEY *key, const char *client_id, const char *token_endpoint,
                              int64_t now, char *why, size_t why_size)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || !client_id || !*client_id
        || !token_endpoint || !*token_endpoint) {
        snprintf(why, why_size, "client assertion: an RSA key, the client id and the token "
                                "endpoint are all required");
        return NULL;
    }
    char *kid = sso_jose_thumbprint(key);
    char *jti = sso_random_id("", 16);
    json_t *claims = kid && jti ? json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client_id,
                                            "sub", client_id, "aud", token_endpoint, "jti", jti,
                                            "iat", (json_int_t) now, "exp",
                                            (json_int_t) (now + OIDC_EXCHANGE_ASSERTION_TTL_S))
                                : NULL;
    char *jws = NULL;
    if (!claims || sso_jose_sign(key, "RS256", kid, claims, &jws) != 0) {
        snprintf(why, why_size, "client assertion: could not be signed");
        jws = NULL;
    }
    json_decref(claims);
    free(jti);
    free(kid);
    return jws;
}

int oidc_exchange_request(const oidc_exchange_t *in, char **body, char **authorization,
                          char *why, size_t why_size)
{
    *body = NULL;
    *authorization = NULL;
    bool basic = in->method == SSO_OIDC_AUTH_CLIENT_SECRET_BASIC;
    bool key_jwt = in->method == SSO_OIDC_AUTH_PRIVATE_KEY_JWT;
    bool has_secret = in->client_secret && *in->client_secret;
    if (!in->client_id || !*in->client_id || !in->code || !*in->code || !in->redirect_uri
        || !*in->redirect_uri || (!key_jwt && !has_secret)
        || (!key_jwt && !basic && in->method != SSO_OIDC_AUTH_CLIENT_SECRET_POST)) {
        snprintf(why, why_size, "token request: the client id, its secret (or its key, with "
                 "private_key_jwt), the code and the redirect_uri are all required");
        return -1;
    }
    char *assertion = key_jwt ? oidc_exchange_assertion(in->client_key, in->client_id,
                                                        in->token_endpoint, in->now, why,
                                                        why_size)
                              : NULL;
    if (key_jwt && !assertion)
        return -1;
    bool post = in->method == SSO_OIDC_AUTH_CLIENT_SECRET_POST;
    /* private_key_jwt sends client_id too (RFC 7523 section 3: optional, and some providers
       look the client up by it before they read the assertion); never the secret. */
    const char *names[] = {"grant_type", "code", "redirect_uri", "code_verifier", "client_id",
                           "client_secret", "client_assertion_type", "client_assertion"};
    const char *values[] = {"authorization_code", in->code, in->redirect_uri,
                            in->code_verifier, basic ? NULL : in->client_id,
                            post ? in->client_secret : NULL,
                            key_jwt ? OIDC_EXCHANGE_ASSERTION_TYPE : NULL, assertion};
    /* sso_url_with_params makes "?a=1&b=2": the body is what follows the '?'. */
    char *query = sso_url_with_params("", sizeof names / sizeof *names, names, values);
    free(assertion);
    if (!query) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    *body = strdup(query + 1);
    free(query);
    if (basic) {
        char *id = sso_url_encode(in->client_id), *secret = sso_url_encode(in->client_secret);
        size_t size = (id ? strlen(id) : 0) + (secret ? strlen(secret) : 0) + 2;
        char *pair = id && secret ? malloc(size) : NULL;
        char *b64 = NULL;
        if (pair) {
            snprintf(pair, size, "%s:%s", id, secret);
            b64 = sso_base64_encode((const uint8_t *) pair, strlen(pair));
            s_wipe(pair);
        }
        free(id);
        s_wipe(secret);
        size_t header_size = b64 ? strlen(b64) + 7 : 0;
        *authorization = b64 ? malloc(header_size) : NULL;
        if (*authorization)
            snprintf(*authorization, header_size, "Basic %s", b64);
        s_wipe(b64);
    }
    if (!*body || (basic && !*authorization)) {
        s_wipe(*body);
        s_wipe(*authorization);
        *body = *authorization = NULL;
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    return 0;
}

int oidc_exchange_response(long status, const char *body, size_t len, char **id_token,
                           char *why, size_t why_size)
{
    *id_token = NULL;
    json_error_t error;
    json_t *json = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &error) : NULL;
    int rc = -1;
    if (!json_is_object(json))
        snprintf(why, why_size, "token endpoint: expected HTTP 200 with a JSON object, got HTTP "
                 "%ld with %s", status, json ? "another JSON value" : "no JSON");
    else if (status != 200 || json_object_get(json, "error")) {
        const json_t *code = json_object_get(json, "error");
        const json_t *words = json_object_get(json, "error_description");
        char said[200], error[65];
        sso_log_printable(json_string_value(words), said, sizeof said);
        sso_log_printable(json_is_string(code) ? json_string_value(code) : "none given", error,
                          sizeof error);
        snprintf(why, why_size, "token endpoint error: %s (%s) with HTTP %ld", error, said,
                 status);
    }
    else {
        const json_t *token = json_object_get(json, "id_token");
        if (!json_is_string(token) || !json_string_length(token))
            snprintf(why, why_size, "token endpoint: no id_token in the answer");
        else if (json_string_length(token) > OIDC_EXCHANGE_ID_TOKEN_MAX)
            snprintf(why, why_size, "token endpoint: the id_token is longer than %d bytes",
                     OIDC_EXCHANGE_ID_TOKEN_MAX);
        else if (!(*id_token = strdup(json_string_value(token))))
            snprintf(why, why_size, "out of memory");
        else
            rc = 0;
    }
    json_decref(json);
    return rc;
}

char *oidc_exchange_access_token(const char *body, size_t len)
{
    json_t *json = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const json_t *token = json_object_get(json, "access_token");
    char *copy = json_is_string(token) && json_string_length(token) > 0
                         && json_string_length(token) <= 8192
                         && strlen(json_string_value(token)) == json_string_length(token)
                     ? strdup(json_string_value(token))
                     : NULL;
    json_decref(json);
    return copy;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* private_key_jwt: the assertion in the body verifies with the key's public JWK under the
   thumbprint kid, with the claims RFC 7523 asks; no secret is sent. */
static void s_test_private_key_jwt(oidc_exchange_t *in)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    char *kid = rsa ? sso_jose_thumbprint(rsa) : NULL;
    json_t *set = kid ? json_pack("{s:[o]}", "keys", sso_jose_public_jwk(rsa, kid, "RS256"))
                      : NULL;
    char *set_text = set ? json_dumps(set, JSON_COMPACT) : NULL;
    json_decref(set);
    sso_jose_keys_t *keys = NULL;
    char why[300] = "";
    SSO_CHECK(ec && set_text
              && sso_jose_keys_parse(set_text, strlen(set_text), &keys, why, sizeof why) == 0);
    free(set_text);
    in->method = SSO_OIDC_AUTH_PRIVATE_KEY_JWT;
    in->client_secret = "s3cr&t"; /* stored from before: never sent with private_key_jwt */
    in->client_key = rsa;
    in->token_endpoint = "https://idp.test/oauth2/token";
    in->now = 1700000000;
    char *body = NULL, *authorization = NULL, jti[2][80] = {"", ""};
    for (int round = 0; round < 2 && keys; round++) {
        SSO_CHECK(oidc_exchange_request(in, &body, &authorization, why, sizeof why) == 0
                  && body && !authorization);
        zhashx_t *form = body ? sso_form_parse(body, strlen(body)) : NULL;
        const char *assertion = form ? zhashx_lookup(form, "client_assertion") : NULL;
        const char *type = form ? zhashx_lookup(form, "client_assertion_type") : NULL;
        SSO_CHECK(form && !zhashx_lookup(form, "client_secret")
                  && !strcmp(zhashx_lookup(form, "client_id"), "client:1")
                  && !strcmp(zhashx_lookup(form, "code"), "code/1") && type
                  && !strcmp(type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                  && assertion && !strstr(body, "s3cr"));
        const char *const rs256[] = {"RS256", NULL};
        json_t *header = NULL, *claims = NULL;
        SSO_CHECK(assertion && sso_jose_verify(assertion, keys, rs256, &header, &claims, why,
                                               sizeof why) == SSO_JOSE_OK);
        const char *got_jti = json_string_value(json_object_get(claims, "jti"));
        SSO_CHECK(claims && !strcmp(json_string_value(json_object_get(header, "kid")), kid)
                  && !strcmp(json_string_value(json_object_get(header, "alg")), "RS256")
                  && !strcmp(json_string_value(json_object_get(claims, "iss")), "client:1")
                  && !strcmp(json_string_value(json_object_get(claims, "sub")), "client:1")
                  && !strcmp(json_string_value(json_object_get(claims, "aud")),
                             "https://idp.test/oauth2/token")
                  && json_integer_value(json_object_get(claims, "iat")) == 1700000000
                  && json_integer_value(json_object_get(claims, "exp")) == 1700000060
                  && got_jti && strlen(got_jti) >= 32 && json_object_size(claims) == 6);
        snprintf(jti[round], sizeof jti[round], "%s", got_jti ? got_jti : "");
        json_decref(header);
        json_decref(claims);
        zhashx_destroy(&form);
        s_wipe(body);
        body = NULL;
    }
    SSO_CHECK(*jti[0] && strcmp(jti[0], jti[1]) != 0); /* fresh each time */
    /* Without the key, with a key of another type, or without the audience: nothing sent. */
    EVP_PKEY *bad_keys[] = {NULL, ec, rsa};
    const char *audiences[] = {"https://idp.test/t", "https://idp.test/t", ""};
    for (size_t i = 0; i < 3; i++) {
        in->client_key = bad_keys[i];
        in->token_endpoint = audiences[i];
        SSO_CHECK(oidc_exchange_request(in, &body, &authorization, why, sizeof why) == -1
                  && !body && !authorization && strstr(why, "client assertion"));
    }
    /* The secret is not needed with it. */
    in->client_key = rsa;
    in->token_endpoint = "https://idp.test/t";
    in->client_secret = NULL;
    SSO_CHECK(oidc_exchange_request(in, &body, &authorization, why, sizeof why) == 0 && body);
    s_wipe(body);
    sso_jose_keys_destroy(&keys);
    free(kid);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    memset(in, 0, sizeof *in);
}

void oidc_exchange_test(bool verbose)
{
    (void) verbose;
    oidc_exchange_t in = {.client_id = "client:1",
                          .method = SSO_OIDC_AUTH_CLIENT_SECRET_BASIC,
                          .client_secret = "s3cr&t",
                          .redirect_uri = "https://sso.test/sso/oidc/callback",
                          .code = "code/1",
                          .code_verifier = "verifier-0123456789012345678901234567890123"};
    char *body = NULL, *authorization = NULL, why[300] = "";
    SSO_CHECK(oidc_exchange_request(&in, &body, &authorization, why, sizeof why) == 0);
    zhashx_t *form = body ? sso_form_parse(body, strlen(body)) : NULL;
    SSO_CHECK(form && !strcmp(zhashx_lookup(form, "grant_type"), "authorization_code")
              && !strcmp(zhashx_lookup(form, "code"), "code/1")
              && !strcmp(zhashx_lookup(form, "redirect_uri"), "https://sso.test/sso/oidc/callback")
              && !strcmp(zhashx_lookup(form, "code_verifier"),
                         "verifier-0123456789012345678901234567890123")
              && !zhashx_lookup(form, "client_secret") && !zhashx_lookup(form, "client_id"));
    zhashx_destroy(&form);
    /* RFC 6749 2.3.1: each form-encoded, then base64 of "id:secret". */
    SSO_CHECK(authorization && !strcmp(authorization, "Basic Y2xpZW50JTNBMTpzM2NyJTI2dA=="));
    s_wipe(body);
    s_wipe(authorization);
    /* client_secret_post; no PKCE. */
    in.method = SSO_OIDC_AUTH_CLIENT_SECRET_POST;
    in.code_verifier = "";
    SSO_CHECK(oidc_exchange_request(&in, &body, &authorization, why, sizeof why) == 0
              && !authorization);
    form = body ? sso_form_parse(body, strlen(body)) : NULL;
    SSO_CHECK(form && !strcmp(zhashx_lookup(form, "client_id"), "client:1")
              && !strcmp(zhashx_lookup(form, "client_secret"), "s3cr&t")
              && !zhashx_lookup(form, "code_verifier"));
    zhashx_destroy(&form);
    s_wipe(body);
    /* Absent or empty: never a request without the secret. */
    in.client_secret = "";
    SSO_CHECK(oidc_exchange_request(&in, &body, &authorization, why, sizeof why) == -1 && !body
              && strstr(why, "secret"));
    in.client_secret = "s";
    in.code = NULL;
    SSO_CHECK(oidc_exchange_request(&in, &body, &authorization, why, sizeof why) == -1);
    in.code = "code/1";
    in.method = 0; /* no method agreed: nothing is sent */
    SSO_CHECK(oidc_exchange_request(&in, &body, &authorization, why, sizeof why) == -1 && !body);
    s_test_private_key_jwt(&in);

    /* Answers. */
    char *id_token = NULL;
    const char *ok = "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"id_token\":\"h.p.s\"}";
    SSO_CHECK(oidc_exchange_response(200, ok, strlen(ok), &id_token, why, sizeof why) == 0
              && id_token && !strcmp(id_token, "h.p.s"));
    free(id_token);
    char *access = oidc_exchange_access_token(ok, strlen(ok));
    SSO_CHECK(access && !strcmp(access, "a"));
    free(access);
    const char *no_access[] = {"{\"id_token\":\"x\"}", "{\"access_token\":5}",
                               "{\"access_token\":\"\"}", "{\"access_token\":\"a\\u0000b\"}", "[]",
                               ""};
    for (size_t i = 0; i < sizeof no_access / sizeof *no_access; i++)
        SSO_CHECK(!oidc_exchange_access_token(no_access[i], strlen(no_access[i])));
    const char *answers[][3] = {
        {"500", "<html>oops</html>", "expected HTTP 200 with a JSON object, got HTTP 500 with no JSON"},
        {"200", "[1]", "got HTTP 200 with another JSON value"},
        {"200", "", "with no JSON"},
        {"400", "{\"error\":\"invalid_grant\",\"error_description\":\"code\\nexpired\"}",
         "token endpoint error: invalid_grant (code?expired) with HTTP 400"},
        {"200", "{\"error\":\"server_error\"}", "token endpoint error: server_error () with HTTP 200"},
        {"400", "{}", "token endpoint error: none given () with HTTP 400"},
        {"200", "{\"access_token\":\"a\"}", "no id_token"},
        {"200", "{\"id_token\":5}", "no id_token"},
        {"200", "{\"id_token\":\"\"}", "no id_token"},
        {"200", "{\"id_token\":\"a\",\"id_token\":\"b\"}", "no JSON"},
    };
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        long status = strtol(answers[i][0], NULL, 10);
        int rc = oidc_exchange_response(status, answers[i][1], strlen(answers[i][1]), &id_token,
                                        why, sizeof why);
        SSO_CHECK(rc == -1 && !id_token && strstr(why, answers[i][2]));
        if (rc != -1 || !strstr(why, answers[i][2]))
            fprintf(stderr, "answer %zu: %s\n", i, why);
    }
    SSO_CHECK(oidc_exchange_response(200, NULL, 0, &id_token, why, sizeof why) == -1);
    size_t big = OIDC_EXCHANGE_ID_TOKEN_MAX + 100;
    char *huge = malloc(big + 40);
    if (huge) {
        int n = snprintf(huge, big + 40, "{\"id_token\":\"");
        memset(huge + n, 'a', big);
        snprintf(huge + n + big, 40, "\"}");
        SSO_CHECK(oidc_exchange_response(200, huge, strlen(huge), &id_token, why, sizeof why)
                      == -1
                  && strstr(why, "longer than"));
        free(huge);
    }
}
