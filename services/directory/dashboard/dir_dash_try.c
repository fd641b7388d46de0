/* dir_dash_try: the dashboard's "Try it". */
#include "dashboard/dir_dash_try.h"
#include "api/dir_api.h"
#include "api/dir_json.h"
#include "dashboard/dir_dash_audit.h"
#include "dashboard/dir_dash_testkit.h"
#include "dir_seed.h"
#include "login/dir_codes.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define S_STATE_MAX 128
#define S_COOKIE_MAX 8192

static void s_free_secret(char *text)
{
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
}

/* The authorize URL of a try: the Test Organization's login for the try client. */
static char *s_authorize_url(const dir_t *dir, const char *state, const char *nonce,
                             const char *challenge)
{
    char base[600], callback[600];
    snprintf(base, sizeof base, "%s/oauth/authorize", dir->public_url);
    snprintf(callback, sizeof callback, "%s" DIR_SEED_TRY_CALLBACK, dir->public_url);
    const char *const names[] = {"response_type", "client_id", "redirect_uri", "scope", "state",
                                 "nonce", "code_challenge", "code_challenge_method",
                                 "organization_id"};
    const char *const values[] = {"code", DIR_SEED_TRY_CLIENT_ID, callback,
                                  "openid email profile", state, nonce, challenge, "S256",
                                  DIR_SEED_ORG_ID};
    return sso_url_with_params(base, sizeof names / sizeof *names, names, values);
}

/* The try's row; 0 with the URL (caller frees), or -1. */
static int s_create(dir_t *dir, const char *session_id, char id[64], int64_t *expires_at,
                    char **url)
{
    char *try_id = sso_random_id("try_", 16);
    char *state = sso_random_token(32), *nonce = sso_random_token(16);
    char *verifier = sso_random_token(32); /* 43 characters, as RFC 7636 4.1 asks */
    uint8_t digest[32], *sealed = NULL;
    size_t sealed_len = 0;
    char *challenge = NULL, aad[96], state_hash[65];
    int rc = -1;
    *url = NULL;
    if (!try_id || !state || !nonce || !verifier)
        goto done;
    sso_sha256(verifier, strlen(verifier), digest);
    snprintf(aad, sizeof aad, "dashboard_try:%s", try_id);
    sso_sha256_hex(state, strlen(state), state_hash);
    int64_t now = dir_now();
    if (!(challenge = sso_base64url_encode(digest, sizeof digest))
        || dir_keys_seal(dir->keys, verifier, strlen(verifier), aad, &sealed, &sealed_len) != 0
        || !(*url = s_authorize_url(dir, state, nonce, challenge))
        || dir_db_run(dir->db, NULL, "INSERT INTO dashboard_tries (id, session_id, state_hash, "
                                     "verifier_sealed, created_at, expires_at) VALUES (?, ?, ?, "
                                     "?, ?, ?)", "sssbii", try_id, session_id, state_hash,
                      sealed, sealed_len, now, now + DIR_DASH_TRY_TTL) != DIR_DB_OK)
        goto done;
    snprintf(id, 64, "%s", try_id);
    *expires_at = now + DIR_DASH_TRY_TTL;
    rc = 0;
done:
    if (rc != 0) {
        free(*url);
        *url = NULL;
    }
    free(try_id);
    free(state);
    free(nonce);
    s_free_secret(verifier);
    free(challenge);
    free(sealed);
    return rc;
}

zframe_t *dir_dash_try_http(dir_t *dir, const Sso__HttpRequest *request,
                            const dir_dash_session_t *session)
{
    if (strcmp(request->method, "POST") != 0)
        return dir_api_method_not_allowed("POST");
    if (!dir->simulator)
        return sso_http_error(404, "not_found", "Try it needs the IdP simulator, which is off "
                                                "(SSO_ENVIRONMENT=production without "
                                                "SSO_SIMULATOR=1)");
    /* Only signed-in admins make tries, a few at a time each, and the dead ones go here. */
    int64_t now = dir_now();
    if (dir_db_run(dir->db, NULL, "DELETE FROM dashboard_tries WHERE expires_at <= ?", "i", now)
        != DIR_DB_OK)
        return dir_api_db_error();
    int64_t live = dir_db_int(dir->db, "SELECT count(*) FROM dashboard_tries WHERE session_id = "
                                       "? AND used_at IS NULL", "s", session->web.id);
    if (live < 0)
        return dir_api_db_error();
    if (live >= DIR_DASH_TRY_LIVE)
        return sso_http_error(429, "too_many_requests", "this session has 5 tries open: "
                                                        "finish one or wait 10 minutes");
    char id[64] = "";
    int64_t expires_at = 0;
    char *url = NULL;
    if (s_create(dir, session->web.id, id, &expires_at, &url) != 0)
        return dir_api_db_error();
    dir_dash_audit_write(dir, "admin", session->admin.email, "POST /dashboard/api/try", id, 201,
                         request->remote_addr);
    sso_info("dashboard session %s: try %s started", session->web.id, id);
    sso_response_t *response = sso_response_new(201);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_json(response, json_pack("{s:s, s:s, s:o}", "id", id, "authorize_url", url,
                                          "expires_at", dir_json_time(expires_at)));
    free(url);
    return sso_response_pack(&response);
}

/* The try's single use, in the redemption's write transaction (before the code is looked
   at): the code and the try are spent together or not at all. */
static int s_use(dir_t *dir, void *arg, dir_error_t *err)
{
    int changes = 0;
    if (dir_db_run(dir->db, &changes, "UPDATE dashboard_tries SET used_at = ? WHERE id = ? AND "
                                      "used_at IS NULL", "is", dir_now(), (const char *) arg)
        != DIR_DB_OK) {
        dir_server_error(err);
        return -1;
    }
    if (changes != 1) {
        dir_rpc_error(err, "consumed", "this try was used already: start another");
        return -1;
    }
    return 0;
}

DIR_RPC_FN(dir_dash_try_redeem, Sso__TryRedeemRequest, Sso__CodeRedeemReply)
{
    if (!dir->simulator) {
        dir_rpc_error(err, "not_found", "Try it needs the IdP simulator, which is off");
        return -1;
    }
    size_t state_len = strlen(in->state);
    if (!state_len || state_len > S_STATE_MAX) {
        dir_rpc_error(err, "not_found", "no such try");
        return -1;
    }
    /* The session by the dashboard's own cookie rules (dir_web), as its API finds it. */
    Sso__Header cookie = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&cookie};
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    cookie.name = "Cookie";
    cookie.value = in->cookie;
    request.headers = headers;
    request.n_headers = *in->cookie && strlen(in->cookie) <= S_COOKIE_MAX ? 1 : 0;
    request.method = "GET";
    request.path = DIR_SEED_TRY_CALLBACK;
    dir_dash_session_t session;
    dir_web_state_t found = dir_dash_session_find(dir, &request, &session);
    OPENSSL_cleanse(session.web.secret, sizeof session.web.secret);
    if (found == DIR_WEB_SESSION_ERROR) {
        dir_server_error(err);
        return -1;
    }
    if (found != DIR_WEB_SESSION_OK) {
        dir_rpc_error(err, "access_denied", "this browser is not signed in to the dashboard");
        return -1;
    }
    char state_hash[65];
    sso_sha256_hex(in->state, state_len, state_hash);
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, session_id, verifier_sealed, "
                                                "expires_at, used_at FROM dashboard_tries WHERE "
                                                "state_hash = ?", "s", state_hash);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char id[64] = "", *verifier = NULL;
    int rc = -1;
    if (step == DIR_DB_DONE)
        dir_rpc_error(err, "not_found", "no such try");
    else if (step != DIR_DB_ROW)
        dir_server_error(err);
    else if (strcmp(dir_db_text(stmt, 1), session.web.id) != 0)
        /* Another admin's try (or a planted one): neither spent nor shown. */
        dir_rpc_error(err, "access_denied", "this try was started by another dashboard session");
    else if (!dir_db_is_null(stmt, 4))
        dir_rpc_error(err, "consumed", "this try was used already: start another");
    else if (dir_db_int64(stmt, 3) <= dir_now())
        dir_rpc_error(err, "expired", "this try expired: start another");
    else {
        snprintf(id, sizeof id, "%s", dir_db_text(stmt, 0));
        char aad[96];
        snprintf(aad, sizeof aad, "dashboard_try:%s", id);
        size_t len = 0;
        const void *sealed = dir_db_blob(stmt, 2, &len);
        if (!(verifier = dir_keys_open(dir->keys, sealed, len, aad, NULL)))
            dir_server_error(err);
        else
            rc = 0;
    }
    dir_db_release(stmt);
    if (rc != 0)
        return -1;
    char callback[600];
    snprintf(callback, sizeof callback, "%s" DIR_SEED_TRY_CALLBACK, dir->public_url);
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = in->code;
    redeem.client_id = DIR_SEED_TRY_CLIENT_ID;
    redeem.redirect_uri = callback;
    redeem.code_verifier = verifier;
    redeem.access_token_ttl = in->access_token_ttl;
    rc = dir_codes_spend(dir, &redeem, s_use, id, out, err);
    s_free_secret(verifier);
    if (rc == 0)
        sso_info("dashboard session %s: try %s redeemed", session.web.id, id);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_TRY "TokenWrites.TryRedeem"

/* A try of who: its authorize URL's query parsed (free it), or NULL. */
static zhashx_t *s_start(dir_testkit_t *kit, const dir_dash_testkit_t *who)
{
    json_t *json = NULL;
    int status = dir_dash_testkit_api(kit, "POST", "/dashboard/api/try", who, who->csrf, NULL,
                                      &json);
    const char *url = dir_testkit_str(json, "authorize_url");
    const char *query = strchr(url, '?');
    zhashx_t *params = status == 201 && query ? sso_form_parse(query + 1, strlen(query + 1))
                                              : NULL;
    SSO_CHECK(params && !strncmp(url, "https://sso.test/oauth/authorize?", 33)
              && !strncmp(dir_testkit_str(json, "id"), "try_", 4));
    json_decref(json);
    return params;
}

/* The code a login of the try's authorize request leaves (as LoginComplete issues one). */
static char *s_login(dir_testkit_t *kit, zhashx_t *params, const char *client_id)
{
    Sso__Profile profile = SSO__PROFILE__INIT;
    profile.subject = "jane@example.com";
    profile.email = "jane@example.com";
    const char *challenge = params ? zhashx_lookup(params, "code_challenge") : NULL;
    dir_code_t code = {.client_id = client_id,
                       .redirect_uri = "https://sso.test" DIR_SEED_TRY_CALLBACK,
                       .scope = "openid email profile",
                       .nonce = params ? zhashx_lookup(params, "nonce") : "",
                       .code_challenge = challenge ? challenge : "",
                       .organization_id = DIR_SEED_ORG_ID,
                       .connection_id = DIR_SEED_CONN_ID,
                       .connection_type = "saml",
                       .profile = &profile,
                       .auth_time = dir_now()};
    char *value = NULL;
    SSO_CHECK(dir_codes_issue(kit->dir, &code, &value) == 0 && value);
    return value;
}

/* TryRedeem as the token service sends it; true when answered with error ("" for success)
   and a description containing says. */
static bool s_redeem(dir_testkit_t *kit, const char *code, zhashx_t *params, const char *cookie,
                     const char *error, const char *says)
{
    Sso__TryRedeemRequest redeem = SSO__TRY_REDEEM_REQUEST__INIT;
    const char *state = params ? zhashx_lookup(params, "state") : NULL;
    redeem.code = (char *) (code ? code : "");
    redeem.state = (char *) (state ? state : "");
    redeem.cookie = (char *) (cookie ? cookie : "");
    redeem.access_token_ttl = 60;
    if (*error)
        return dir_testkit_rpc_error(kit, S_TRY, &redeem.base, error, says);
    Sso__CodeRedeemReply *reply = dir_testkit_rpc(kit, S_TRY, &redeem.base);
    bool ok = reply && !reply->error && reply->grant
              && !strcmp(reply->grant->client_id, DIR_SEED_TRY_CLIENT_ID)
              && !strcmp(reply->grant->organization_id, DIR_SEED_ORG_ID)
              && !strcmp(reply->grant->nonce, zhashx_lookup(params, "nonce"))
              && !strcmp(reply->grant->profile->email, "jane@example.com")
              && !strncmp(reply->grant->access_token, "at_", 3);
    if (!ok)
        fprintf(stderr, "try redeem: %s %s\n", dir_testkit_error(reply),
                dir_testkit_error_description(reply));
    sso__code_redeem_reply__free_unpacked(reply, NULL);
    return ok;
}

static void s_test(dir_testkit_t *kit)
{
    dir_dash_testkit_t a, b;
    SSO_CHECK(dir_dash_testkit_signin(kit, "a@example.com", "correct horse battery", &a) == 0);
    SSO_CHECK(dir_dash_testkit_signin(kit, "b@example.com", "correct horse battery", &b) == 0);
    kit->caller = "token";

    /* The start: session and CSRF first (the router), then the authorize request of the try
       client for the Test Organization, with state, nonce and an S256 challenge. */
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/try", NULL, a.csrf, NULL, NULL)
              == 401);
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/try", &a, NULL, NULL, NULL)
              == 403);
    SSO_CHECK(dir_dash_testkit_api(kit, "GET", "/dashboard/api/try", &a, NULL, NULL, NULL)
              == 405);
    zhashx_t *try_a = s_start(kit, &a);
    const char *expect[][2] = {{"response_type", "code"},
                               {"client_id", DIR_SEED_TRY_CLIENT_ID},
                               {"redirect_uri", "https://sso.test/dashboard/try/callback"},
                               {"organization_id", DIR_SEED_ORG_ID},
                               {"code_challenge_method", "S256"},
                               {"scope", "openid email profile"}};
    for (size_t i = 0; try_a && i < sizeof expect / sizeof *expect; i++)
        SSO_CHECK(!strcmp(zhashx_lookup(try_a, expect[i][0]) ?: "", expect[i][1]));
    SSO_CHECK(try_a && strlen(zhashx_lookup(try_a, "state") ?: "") == 43
              && strlen(zhashx_lookup(try_a, "code_challenge") ?: "") == 43
              && *(const char *) (zhashx_lookup(try_a, "nonce") ?: ""));
    /* Stored: the state hashed, the verifier sealed. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_tries WHERE state_hash "
                                       "= ? OR instr(verifier_sealed, ?) > 0", "ss",
                         try_a ? zhashx_lookup(try_a, "state") : "", "PRIVATE") == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM audit_log WHERE action = "
                                       "'POST /dashboard/api/try' AND actor = 'a@example.com'",
                         NULL) == 1);
    char *code = s_login(kit, try_a, DIR_SEED_TRY_CLIENT_ID);

    /* Refusals, none of which spends the try or the code: no session, another admin's
       session, a forged cookie, no or an unknown state, and a code of another try (its PKCE
       challenge is not this try's verifier's). */
    SSO_CHECK(s_redeem(kit, code, try_a, "", "access_denied", "not signed in"));
    SSO_CHECK(s_redeem(kit, code, try_a, b.cookie, "access_denied", "another dashboard session"));
    SSO_CHECK(s_redeem(kit, code, try_a, "__Host-sso_dashboard=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                       "access_denied", "not signed in"));
    SSO_CHECK(s_redeem(kit, code, NULL, a.cookie, "not_found", "no such try"));
    zhashx_t *unknown = zhashx_new();
    zhashx_insert(unknown, "state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    SSO_CHECK(s_redeem(kit, code, unknown, a.cookie, "not_found", "no such try"));
    zhashx_destroy(&unknown);
    zhashx_t *try_a2 = s_start(kit, &a);
    SSO_CHECK(s_redeem(kit, code, try_a2, a.cookie, "invalid_grant", "PKCE"));
    /* A code of another client (an app's), with this try's challenge: not the try client's. */
    char client[64] = "", secret[128] = "";
    SSO_CHECK(dir_testkit_client_secret(kit, "https://sso.test" DIR_SEED_TRY_CALLBACK, client,
                                        sizeof client, secret, sizeof secret) == 0);
    char *foreign = s_login(kit, try_a, client);
    SSO_CHECK(s_redeem(kit, foreign, try_a, a.cookie, "invalid_grant", "another client_id"));
    free(foreign);

    /* The try's session: the grant, once; the state and the code are spent. */
    SSO_CHECK(s_redeem(kit, code, try_a, a.cookie, "", ""));
    SSO_CHECK(s_redeem(kit, code, try_a, a.cookie, "consumed", "used already"));
    /* The spent code with the other try's state: refused as a reused code, which burns that
       try with it. */
    SSO_CHECK(s_redeem(kit, code, try_a2, a.cookie, "invalid_grant", "already used"));
    SSO_CHECK(s_redeem(kit, code, try_a2, a.cookie, "consumed", "used already"));
    zhashx_destroy(&try_a2);
    try_a2 = s_start(kit, &a);

    /* The try client's codes never redeem at CodeRedeem, even with a secret in the store
       (which the API refuses to give it: dir_clients). */
    snprintf(secret, sizeof secret, "a-secret-put-in-the-store");
    char *hash = sso_secret_hash(secret);
    SSO_CHECK(hash && dir_db_run(kit->dir->db, NULL, "UPDATE clients SET secret_hash = ? WHERE "
                                                     "id = ?", "ss", hash,
                                 DIR_SEED_TRY_CLIENT_ID) == DIR_DB_OK);
    free(hash);
    char *code2 = s_login(kit, try_a2, DIR_SEED_TRY_CLIENT_ID);
    Sso__CodeRedeemRequest direct = SSO__CODE_REDEEM_REQUEST__INIT;
    direct.code = code2;
    direct.client_id = DIR_SEED_TRY_CLIENT_ID;
    direct.client_secret = secret;
    direct.redirect_uri = "https://sso.test" DIR_SEED_TRY_CALLBACK;
    SSO_CHECK(dir_testkit_rpc_error(kit, "TokenWrites.CodeRedeem", &direct.base, "invalid_client",
                                    "through the dashboard only"));

    /* Expired. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE dashboard_tries SET expires_at = ? WHERE "
                                             "used_at IS NULL", "i", dir_now())
              == DIR_DB_OK);
    SSO_CHECK(s_redeem(kit, code2, try_a2, a.cookie, "expired", "expired"));

    /* At most DIR_DASH_TRY_LIVE open tries per session (the expired ones are gone). */
    for (int i = 0; i < DIR_DASH_TRY_LIVE; i++) {
        zhashx_t *params = s_start(kit, &b);
        zhashx_destroy(&params);
    }
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/try", &b, b.csrf, NULL, NULL)
              == 429);
    /* Signing out ends the session's tries with it. */
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/signout", &b, b.csrf, NULL, NULL)
              == 204);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM dashboard_tries WHERE session_id "
                                       "NOT IN (SELECT id FROM dashboard_sessions)", NULL) == 0);
    free(code2);
    free(code);
    zhashx_destroy(&try_a);
    zhashx_destroy(&try_a2);
}

/* The simulator off: no start (404), no redemption. */
static void s_test_off(dir_testkit_t *kit)
{
    dir_dash_testkit_t a;
    SSO_CHECK(dir_dash_testkit_signin(kit, "a@example.com", "correct horse battery", &a) == 0);
    zhashx_t *params = s_start(kit, &a);
    char *code = s_login(kit, params, DIR_SEED_TRY_CLIENT_ID);
    kit->dir->simulator = false;
    kit->caller = "token";
    SSO_CHECK(dir_dash_testkit_api(kit, "POST", "/dashboard/api/try", &a, a.csrf, NULL, NULL)
              == 404);
    SSO_CHECK(s_redeem(kit, code, params, a.cookie, "not_found", "simulator"));
    kit->dir->simulator = true;
    free(code);
    zhashx_destroy(&params);
}

void dir_dash_try_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test);
    dir_testkit_run_seeded(s_test_off);
}
