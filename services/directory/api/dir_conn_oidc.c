/* dir_conn_oidc: an OIDC connection's settings, its provider's discovery, secret and client
   key. */
#include "api/dir_conn_oidc.h"
#include "api/dir_valid.h"
#include "dir_testkit.h"
#include "sso_jose.h"
#include "sso_test.h"
#include "sso_oidc_test_idp.h"
#include <openssl/crypto.h>

#define DIR_OIDC_CLIENT_ID_MAX 256
#define DIR_OIDC_SECRET_MAX 1024
#define DIR_SCOPES_MAX 20
#define DIR_SCOPE_MAX 128

json_t *dir_conn_oidc_scopes_json(const char *scopes)
{
    json_t *list = json_array();
    for (const char *p = scopes ? scopes : ""; *p;) {
        size_t len = strcspn(p, " ");
        if (len)
            json_array_append_new(list, json_stringn(p, len));
        p += len;
        while (*p == ' ')
            p++;
    }
    return list;
}

const char *dir_conn_oidc_auth_method(const json_t *options)
{
    return json_string_value(json_object_get(options, "token_endpoint_auth_method"));
}

bool dir_conn_oidc_form_post(const json_t *options)
{
    const char *mode = json_string_value(json_object_get(options, "response_mode"));
    return mode && !strcmp(mode, "form_post");
}

int dir_conn_oidc_check_discovery(const char *issuer, const json_t *options,
                                  dir_conn_slow_t *slow, dir_error_t *err)
{
    if (!dir_conn_slow_has(slow, DIR_CONN_SLOW_DISCOVERY, issuer, err))
        return -1;
    if (slow->discovery_rc != 0) {
        dir_bad_request(err, "oidc.issuer: %s", slow->discovery_why);
        return -1;
    }
    const char *method = dir_conn_oidc_auth_method(options);
    sso_oidc_token_auth_t chosen;
    char why[400];
    if (sso_oidc_discovery_auth_method(&slow->discovery, method, &chosen, why, sizeof why) != 0) {
        dir_bad_request(err, "%s: %s", method ? "options.token_endpoint_auth_method"
                                              : "oidc.issuer", why);
        return -1;
    }
    if (dir_conn_oidc_form_post(options) && !slow->discovery.form_post) {
        dir_bad_request(err, "options.response_mode: form_post is not in the "
                        "response_modes_supported of %.300s's discovery", issuer);
        return -1;
    }
    return 0;
}

int dir_conn_oidc_client_key(dir_t *dir, const char *id, const dir_conn_conf_t *conf,
                             dir_conn_slow_t *slow, uint8_t **sealed, size_t *sealed_len,
                             const char **cert, dir_error_t *err)
{
    *sealed = NULL;
    *sealed_len = 0;
    *cert = NULL;
    const char *method = dir_conn_oidc_auth_method(conf->options);
    if (conf->oidc_has_client_key || !method || strcmp(method, "private_key_jwt") != 0)
        return 0;
    if (!slow->keyed) {
        if (!slow->id && !(slow->id = strdup(id))) {
            dir_server_error(err);
            return -1;
        }
        slow->want = DIR_CONN_SLOW_KEY_PAIR;
        return -1;
    }
    char aad[200];
    snprintf(aad, sizeof aad, "connection:%s:oidc_client_key", id);
    if (slow->key_rc != 0
        || dir_keys_seal(dir->keys, slow->key_pem, strlen(slow->key_pem), aad, sealed,
                         sealed_len) != 0) {
        dir_server_error(err);
        return -1;
    }
    *cert = slow->cert_pem;
    return 0;
}

/* Scopes: an array of strings or one space-separated string; openid is always included. */
static int s_read_scopes(json_t *oidc, dir_conn_conf_t *conf, dir_error_t *err)
{
    json_t *value = json_object_get(oidc, "scopes");
    if (!value || json_is_null(value))
        return 0;
    json_t *list = NULL;
    if (json_is_string(value)) {
        const char *text;
        if (dir_json_string(oidc, "scopes", "oidc.scopes", 0, DIR_SCOPE_MAX * 4, &text, err) < 0)
            return -1;
        list = dir_conn_oidc_scopes_json(text);
    }
    else {
        json_t *items;
        if (dir_json_strings(oidc, "scopes", "oidc.scopes", DIR_NONEMPTY, DIR_SCOPES_MAX,
                             DIR_SCOPE_MAX, &items, err) < 0)
            return -1;
        list = json_incref(items);
    }
    char joined[DIR_SCOPES_MAX * (DIR_SCOPE_MAX + 1) + 16] = "openid";
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item) {
        const char *scope = json_string_value(item);
        /* Scope tokens are printable ASCII without spaces or quotes (RFC 6749 3.3). */
        for (const unsigned char *p = (const unsigned char *) scope; *p; p++)
            if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
                json_decref(list);
                dir_bad_request(err, "oidc.scopes[%zu] is not a valid scope token", index);
                return -1;
            }
        if (strcmp(scope, "openid") == 0)
            continue;
        size_t len = strlen(joined);
        snprintf(joined + len, sizeof joined - len, " %s", scope);
    }
    json_decref(list);
    dir_conn_conf_set(&conf->oidc_scopes, joined);
    return 0;
}

int dir_conn_oidc_read(json_t *oidc, dir_conn_conf_t *conf, dir_error_t *err)
{
    const char *issuer = NULL, *client_id = NULL, *secret = NULL;
    if (dir_json_string(oidc, "issuer", "oidc.issuer", DIR_NONEMPTY, DIR_CONN_URL_MAX, &issuer,
                        err) < 0
        || dir_json_string(oidc, "client_id", "oidc.client_id", DIR_NONEMPTY,
                           DIR_OIDC_CLIENT_ID_MAX, &client_id, err) < 0
        || dir_json_string(oidc, "client_secret", "oidc.client_secret", DIR_NONEMPTY,
                           DIR_OIDC_SECRET_MAX, &secret, err) < 0
        || s_read_scopes(oidc, conf, err) < 0)
        return -1;
    if (issuer) {
        char why[160];
        if (dir_url_check(issuer, why, sizeof why) != 0) {
            dir_bad_request(err, "oidc.issuer %s", why);
            return -1;
        }
        dir_conn_conf_set(&conf->oidc_issuer, issuer);
    }
    if (client_id)
        dir_conn_conf_set(&conf->oidc_client_id, client_id);
    if (secret)
        dir_conn_conf_set(&conf->oidc_secret, secret);
    return 0;
}

int dir_conn_oidc_seal_secret(dir_t *dir, const char *id, const dir_conn_conf_t *conf,
                              uint8_t **sealed, size_t *sealed_len)
{
    *sealed = NULL;
    *sealed_len = 0;
    if (!conf->oidc_secret)
        return 0;
    char aad[200];
    snprintf(aad, sizeof aad, "connection:%s:oidc_client_secret", id);
    return dir_keys_seal(dir->keys, conf->oidc_secret, strlen(conf->oidc_secret), aad, sealed,
                         sealed_len);
}

/* ---- self-test ------------------------------------------------------------------------- */

static int64_t s_count(dir_testkit_t *kit)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM connections", NULL);
}

/* POSTs an OIDC connection of issuer; the HTTP status, the reply in *body. */
static int s_create_oidc(dir_testkit_t *kit, const char *path, const char *issuer,
                         json_t **body)
{
    char request[600];
    snprintf(request, sizeof request,
             "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\",\"client_id\":\"c\","
             "\"client_secret\":\"s\"}}", issuer);
    return dir_testkit_call(kit, "POST", path, request, body);
}

/* An OIDC connection's discovery decides its create, change and enable. */
static void s_test_discovery(dir_testkit_t *kit)
{
    char org[64] = "", path[160], issuer[200], good[200], conn_path[200], action[240];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"D\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/good", good, sizeof good) == 0);
    if (!idp)
        return;
    const char *base = sso_oidc_test_idp_url(idp), *json_type = "Content-Type: application/json\r\n";
    json_t *body = NULL;

    /* Loopback needs SSO_ALLOW_PRIVATE_UPSTREAMS: refused without a request. */
    kit->dir->allow_private_upstreams = false;
    SSO_CHECK(dir_testkit_refused(s_create_oidc(kit, path, good, &body), &body,
                                  "oidc.issuer: discovery at "));
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == 0);
    kit->dir->allow_private_upstreams = true;

    /* Providers whose discovery fails, each with its reason; nothing is written. */
    int64_t before = s_count(kit);
    sso_oidc_test_idp_route(idp, "/down/.well-known/openid-configuration", 500, json_type,
                            "{}", 0);
    char doc[1200];
    snprintf(doc, sizeof doc, "{\"issuer\":\"https://evil.example\",\"authorization_endpoint\":"
                              "\"%s/a\",\"token_endpoint\":\"%s/t\",\"jwks_uri\":\"%s/j\","
                              "\"response_types_supported\":[\"code\"]}", base, base, base);
    sso_oidc_test_idp_route(idp, "/other/.well-known/openid-configuration", 200, json_type, doc,
                            0);
    snprintf(doc, sizeof doc, "{\"issuer\":\"%s/none\",\"authorization_endpoint\":\"%s/a\","
                              "\"token_endpoint\":\"%s/t\",\"jwks_uri\":\"%s/j\","
                              "\"response_types_supported\":[\"code\"],"
                              "\"id_token_signing_alg_values_supported\":[\"none\",\"HS256\"]}",
             base, base, base, base);
    sso_oidc_test_idp_route(idp, "/none/.well-known/openid-configuration", 200, json_type, doc,
                            0);
    snprintf(doc, sizeof doc, "{\"issuer\":\"%s/plain\",\"authorization_endpoint\":\"%s/a\","
                              "\"token_endpoint\":\"http://idp.example.com/t\",\"jwks_uri\":"
                              "\"%s/j\",\"response_types_supported\":[\"code\"]}",
             base, base, base);
    sso_oidc_test_idp_route(idp, "/plain/.well-known/openid-configuration", 200, json_type, doc,
                            0);
    sso_oidc_test_idp_route(idp, "/junk/.well-known/openid-configuration", 200, json_type,
                            "<html>", 0);
    struct {
        const char *prefix, *want;
    } bad[] = {
        {"/down", "answered HTTP 500"},
        {"/other", "discovery issuer: expected http://127.0.0.1"},
        {"/none", "offers none of RS256/384/512, PS256/384/512, ES256/384/512 (got none, HS256)"},
        {"/plain", "discovery token_endpoint http://idp.example.com/t: the URL must use https"},
        {"/junk", "the discovery document is not JSON"},
        {"/missing", "answered HTTP 404"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(issuer, sizeof issuer, "%s%s", base, bad[i].prefix);
        SSO_CHECK(dir_testkit_refused(s_create_oidc(kit, path, issuer, &body), &body,
                                      bad[i].want));
    }
    snprintf(issuer, sizeof issuer, "%s/other", base);
    SSO_CHECK(dir_testkit_refused(s_create_oidc(kit, path, issuer, &body), &body,
                                  "got https://evil.example"));
    SSO_CHECK(s_count(kit) == before);

    /* A provider that passes: created, its endpoints shown. */
    SSO_CHECK(s_create_oidc(kit, path, good, &body) == 201);
    json_t *discovered = json_object_get(json_object_get(body, "oidc"), "discovered");
    char expect[300];
    static const char *endpoints[][2] = {{"authorization_endpoint", "/authorize"},
                                         {"token_endpoint", "/token"},
                                         {"jwks_uri", "/jwks"},
                                         {"userinfo_endpoint", "/userinfo"}};
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        snprintf(expect, sizeof expect, "%s%s", good, endpoints[i][1]);
        SSO_CHECK(!strcmp(dir_testkit_str(discovered, endpoints[i][0]), expect));
    }
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", dir_testkit_str(body, "id"));
    json_decref(body);
    SSO_CHECK(s_count(kit) == before + 1);
    /* They are kept: reading the connection shows them without a fetch. */
    int hits = sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration");
    SSO_CHECK(dir_testkit_call(kit, "GET", conn_path, NULL, &body) == 200);
    discovered = json_object_get(json_object_get(body, "oidc"), "discovered");
    snprintf(expect, sizeof expect, "%s/token", good);
    SSO_CHECK(!strcmp(dir_testkit_str(discovered, "token_endpoint"), expect));
    json_decref(body);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == hits);

    /* A change of its settings checks again: to a failing provider, refused, unchanged. */
    snprintf(issuer, sizeof issuer, "{\"oidc\":{\"issuer\":\"%s/down\"}}", base);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path, issuer, &body), &body,
                                  "answered HTTP 500"));
    SSO_CHECK(dir_testkit_call(kit, "GET", conn_path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(json_object_get(body, "oidc"), "issuer"), good));
    json_decref(body);
    /* A rename alone fetches nothing. */
    hits = sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration");
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path, "{\"name\":\"N\"}", NULL) == 200);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == hits);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path, "{\"oidc\":{\"client_id\":\"d\"}}",
                               &body) == 200);
    SSO_CHECK(json_object_get(json_object_get(body, "oidc"), "discovered"));
    json_decref(body);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == hits + 1);

    /* Enable checks too: the provider breaks, enabling is refused and the draft stays. */
    snprintf(action, sizeof action, "%s/enable", conn_path);
    sso_oidc_test_idp_route(idp, "/good/.well-known/openid-configuration", 503, json_type, "{}",
                            0);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", action, NULL, &body), &body,
                                  "answered HTTP 503"));
    SSO_CHECK(dir_testkit_call(kit, "GET", conn_path, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "draft"));
    json_decref(body);
    SSO_CHECK(sso_oidc_test_idp_provider(idp, "/good", good, sizeof good) == 0);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "status"), "active")
              && json_object_get(json_object_get(body, "oidc"), "discovered"));
    json_decref(body);
    /* Disable fetches nothing; the broken provider blocks a re-enable. */
    hits = sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration");
    snprintf(action, sizeof action, "%s/disable", conn_path);
    SSO_CHECK(dir_testkit_call(kit, "POST", action, NULL, NULL) == 200);
    SSO_CHECK(sso_oidc_test_idp_hits(idp, "/good/.well-known/openid-configuration") == hits);
    sso_oidc_test_idp_route(idp, "/good/.well-known/openid-configuration", 200, json_type,
                            "{\"issuer\":\"x\"}", 0);
    snprintf(action, sizeof action, "%s/enable", conn_path);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", action, NULL, &body), &body,
                                  "discovery issuer: expected"));
    SSO_CHECK(dir_testkit_field(kit, "GET", conn_path, NULL, "status", expect, sizeof expect)
              == 200 && !strcmp(expect, "inactive"));
    sso_oidc_test_idp_destroy(&idp);
}

/* The thumbprint of a PEM's key (private key or certificate), "" when it holds none. */
static void s_thumbprint(const char *pem, bool certificate, char out[64])
{
    EVP_PKEY *key = certificate ? sso_jose_certificate_key_pem(pem) : sso_jose_private_key_pem(pem);
    char *thumb = key ? sso_jose_thumbprint(key) : NULL;
    snprintf(out, 64, "%s", thumb ? thumb : "");
    free(thumb);
    EVP_PKEY_free(key);
}

/* A discovery document at prefix listing methods (JSON array text) and signing algs (JSON
   array text, or NULL for none). */
static void s_route_methods(sso_oidc_test_idp_t *idp, const char *prefix, const char *methods,
                            const char *algs)
{
    const char *base = sso_oidc_test_idp_url(idp);
    char doc[1400], path[200];
    snprintf(doc, sizeof doc, "{\"issuer\":\"%s%s\",\"authorization_endpoint\":\"%s/a\","
                              "\"token_endpoint\":\"%s/t\",\"jwks_uri\":\"%s/j\","
                              "\"response_types_supported\":[\"code\"],"
                              "\"token_endpoint_auth_methods_supported\":%s%s%s}",
             base, prefix, base, base, base, methods,
             algs ? ",\"token_endpoint_auth_signing_alg_values_supported\":" : "",
             algs ? algs : "");
    snprintf(path, sizeof path, "%s/.well-known/openid-configuration", prefix);
    sso_oidc_test_idp_route(idp, path, 200, "Content-Type: application/json\r\n", doc, 0);
}

/* options.token_endpoint_auth_method: checked against the provider's discovery, and
   private_key_jwt gives the connection a client key pair (made once, sealed, the key only for
   the oidc service) in place of the secret. */
static void s_test_client_key(dir_testkit_t *kit)
{
    char org[64] = "", path[160], text[900], id[64] = "", conn_path[200];
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"K\"}", "id", org, sizeof org) == 201);
    snprintf(path, sizeof path, "/api/v1/organizations/%s/connections", org);
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char secret_only[200];
    SSO_CHECK(idp && sso_oidc_test_idp_provider(idp, "/s", secret_only, sizeof secret_only) == 0);
    if (!idp)
        return;
    kit->dir->allow_private_upstreams = true;
    const char *base = sso_oidc_test_idp_url(idp);
    s_route_methods(idp, "/pk", "[\"private_key_jwt\"]", "[\"RS256\",\"ES256\"]");
    s_route_methods(idp, "/all", "[\"client_secret_basic\",\"private_key_jwt\"]", NULL);
    s_route_methods(idp, "/es", "[\"private_key_jwt\"]", "[\"ES256\"]");
    json_t *body = NULL;
    int64_t before = s_count(kit);
    struct {
        const char *prefix, *secret, *method, *want;
    } bad[] = {
        /* Without a secret (a draft may lack it) the provider is checked all the same. */
        {"/pk", NULL, NULL, "offers neither client_secret_basic nor client_secret_post"},
        {"/pk", NULL, "client_secret_post", "options.token_endpoint_auth_method: discovery "
                                            "token_endpoint_auth_methods_supported does not list "
                                            "client_secret_post"},
        /* A provider with only private_key_jwt, and the connection not set for it. */
        {"/pk", "s", NULL, "oidc.issuer: discovery token_endpoint_auth_methods_supported offers "
                           "neither client_secret_basic nor client_secret_post (got "
                           "private_key_jwt): set options.token_endpoint_auth_method"},
        {"/pk", "s", "client_secret_basic", "options.token_endpoint_auth_method: discovery "
                                            "token_endpoint_auth_methods_supported does not list "
                                            "client_secret_basic"},
        /* A connection set for it, at a provider that does not take it. */
        {"/s", NULL, "private_key_jwt", "options.token_endpoint_auth_method: discovery "
                                        "token_endpoint_auth_methods_supported does not list "
                                        "private_key_jwt, the connection's "
                                        "token_endpoint_auth_method (got client_secret_basic, "
                                        "client_secret_post)"},
        {"/es", NULL, "private_key_jwt", "token_endpoint_auth_signing_alg_values_supported does "
                                         "not list RS256"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char secret[40] = "", options[120] = "";
        if (bad[i].secret)
            snprintf(secret, sizeof secret, ",\"client_secret\":\"%s\"", bad[i].secret);
        if (bad[i].method)
            snprintf(options, sizeof options,
                     ",\"options\":{\"token_endpoint_auth_method\":\"%s\"}", bad[i].method);
        snprintf(text, sizeof text, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s%s\","
                                    "\"client_id\":\"c\"%s}%s}", base, bad[i].prefix, secret,
                 options);
        SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", path, text, &body), &body,
                                      bad[i].want));
    }
    SSO_CHECK(s_count(kit) == before);
    /* Without private_key_jwt the secret is needed to enable it, named when missing. */
    snprintf(text, sizeof text, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\","
                                "\"client_id\":\"c\"}}", secret_only);
    SSO_CHECK(dir_testkit_field(kit, "POST", path, text, "id", id, sizeof id) == 201);
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s/enable", id);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", conn_path, NULL, &body), &body,
                                  "cannot be enabled without the IdP's settings: "
                                  "oidc.client_secret is missing"));

    /* private_key_jwt at a provider that lists only it: no secret, a key pair. */
    snprintf(text, sizeof text, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s/pk\","
                                "\"client_id\":\"c\"},\"options\":"
                                "{\"token_endpoint_auth_method\":\"private_key_jwt\"}}", base);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, text, &body) == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", id);
    json_t *o = json_object_get(body, "oidc");
    char want_jwks[300], cert[4096] = "";
    snprintf(want_jwks, sizeof want_jwks, "https://sso.test/sso/oidc/%s/jwks", id);
    snprintf(cert, sizeof cert, "%s", dir_testkit_str(o, "client_certificate"));
    SSO_CHECK(!strcmp(dir_testkit_str(o, "jwks_uri"), want_jwks)
              && strstr(cert, "-----BEGIN CERTIFICATE-----")
              && json_is_false(json_object_get(o, "client_secret_set")));
    json_decref(body);
    char cert_thumb[64], key_thumb[64];
    s_thumbprint(cert, true, cert_thumb);
    SSO_CHECK(*cert_thumb);
    /* Sealed under its own name: another AAD does not open it. */
    dir_db_stmt_t *stmt = dir_db_query(kit->dir->db, "SELECT oidc_client_key_sealed FROM "
                                                     "connections WHERE id = ?", "s", id);
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        size_t len = 0;
        const void *blob = dir_db_blob(stmt, 0, &len);
        char aad[200];
        snprintf(aad, sizeof aad, "connection:%s:oidc_client_key", id);
        char *key = dir_keys_open(kit->dir->keys, blob, len, aad, NULL);
        SSO_CHECK(key && strstr(key, "PRIVATE KEY") && !memmem(blob, len, "PRIVATE", 7));
        s_thumbprint(key, false, key_thumb);
        SSO_CHECK(!strcmp(key_thumb, cert_thumb));
        if (key)
            OPENSSL_cleanse(key, strlen(key));
        free(key);
        snprintf(aad, sizeof aad, "connection:%s:oidc_client_secret", id);
        SSO_CHECK(!dir_keys_open(kit->dir->keys, blob, len, aad, NULL));
    }
    else
        SSO_CHECK(!"the connection's row");
    dir_db_release(stmt);
    /* The key goes to the oidc service only; the certificate to any reader. */
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = id;
    get.with_secrets = true;
    kit->caller = "oidc";
    Sso__ConnectionReply *got = dir_testkit_rpc(kit, "UpstreamReads.ConnectionGet", &get.base);
    SSO_CHECK(got && got->connection && !*got->connection->oidc_client_secret
              && !strcmp(got->connection->oidc_client_certificate_pem, cert)
              && !strcmp(got->connection->oidc_token_auth_method, "private_key_jwt"));
    if (got && got->connection) {
        s_thumbprint(got->connection->oidc_client_key_pem, false, key_thumb);
        SSO_CHECK(!strcmp(key_thumb, cert_thumb));
    }
    sso__connection_reply__free_unpacked(got, NULL);
    kit->caller = "saml";
    got = dir_testkit_rpc(kit, "UpstreamReads.ConnectionGet", &get.base);
    SSO_CHECK(got && got->error == SSO__RPC_ERROR__ACCESS_DENIED && !got->connection);
    sso__connection_reply__free_unpacked(got, NULL);
    get.with_secrets = false;
    got = dir_testkit_rpc(kit, "UpstreamReads.ConnectionGet", &get.base);
    SSO_CHECK(got && got->connection && !*got->connection->oidc_client_key_pem
              && !strcmp(got->connection->oidc_client_certificate_pem, cert));
    sso__connection_reply__free_unpacked(got, NULL);
    kit->caller = NULL;
    /* Made once: a change keeps the key its provider has registered. */
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path, "{\"oidc\":{\"client_id\":\"d\"}}",
                               &body) == 200
              && !strcmp(dir_testkit_str(json_object_get(body, "oidc"), "client_certificate"),
                         cert));
    json_decref(body);
    /* Enabling checks again: the provider dropped private_key_jwt. */
    s_route_methods(idp, "/pk", "[\"client_secret_post\"]", NULL);
    snprintf(text, sizeof text, "%s/enable", conn_path);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "POST", text, NULL, &body), &body,
                                  "does not list private_key_jwt"));
    s_route_methods(idp, "/pk", "[\"private_key_jwt\"]", NULL);
    SSO_CHECK(dir_testkit_call(kit, "POST", text, NULL, NULL) == 200);
    /* Active, it keeps all of its settings: no other method without a secret. */
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path,
                                                   "{\"options\":{\"token_endpoint_auth_method\""
                                                   ":\"client_secret_post\"}}", &body),
                                  &body, "cannot be active without the IdP's settings: "
                                         "oidc.client_secret is missing"));

    /* A connection with a secret switched to private_key_jwt by its options alone: checked,
       then keyed; switched back, it keeps the key (and its secret). */
    snprintf(text, sizeof text, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\","
                                "\"client_id\":\"c\",\"client_secret\":\"s\"}}", secret_only);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, text, &body) == 201
              && json_is_null(json_object_get(json_object_get(body, "oidc"), "jwks_uri"))
              && json_is_null(json_object_get(json_object_get(body, "oidc"),
                                              "client_certificate")));
    snprintf(conn_path, sizeof conn_path, "/api/v1/connections/%s", dir_testkit_str(body, "id"));
    json_decref(body);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", conn_path,
                                                   "{\"options\":{\"token_endpoint_auth_method\":"
                                                   "\"private_key_jwt\"}}", &body),
                                  &body, "does not list private_key_jwt"));
    snprintf(text, sizeof text, "{\"oidc\":{\"issuer\":\"%s/all\"},\"options\":"
                                "{\"token_endpoint_auth_method\":\"private_key_jwt\"}}", base);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path, text, &body) == 200);
    char cert2[4096];
    snprintf(cert2, sizeof cert2, "%s",
             dir_testkit_str(json_object_get(body, "oidc"), "client_certificate"));
    SSO_CHECK(strstr(cert2, "BEGIN CERTIFICATE") && strcmp(cert2, cert) != 0);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", conn_path,
                               "{\"options\":{\"token_endpoint_auth_method\":null}}", &body)
                  == 200
              && !strcmp(dir_testkit_str(json_object_get(body, "oidc"), "client_certificate"),
                         cert2)
              && json_is_true(json_object_get(json_object_get(body, "oidc"),
                                              "client_secret_set")));
    json_decref(body);
    sso_oidc_test_idp_destroy(&idp);
}

void dir_conn_oidc_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test_discovery);
    dir_testkit_run(s_test_client_key);
}
