/* dir_tests: test logins from the admin portal. */
#include "login/dir_tests.h"
#include "api/dir_connections.h"
#include "login/dir_codes.h"
#include "login/dir_login.h"
#include "login/dir_txn.h"
#include "dir_testkit.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"

#define S_REF_MAX 128

/* The test's transaction: no client, no redirect_uri; the upstream request's handle as
   AuthorizeBegin makes it (dir_steps), bound to the browser's binder for either type. */
static Sso__Transaction *s_txn(dir_t *dir, const char *org, const char *conn_id,
                               const char *type, const char *binder, dir_error_t *err)
{
    char *random = sso_random_token(24), *state = sso_random_token(24);
    char *nonce = sso_random_token(24), *verifier = sso_random_token(32);
    char id[64], request_id[72], binding_hash[65];
    Sso__Transaction *stored = NULL;
    if (!random || !state || !nonce || !verifier) {
        dir_server_error(err);
        goto done;
    }
    snprintf(id, sizeof id, DIR_TESTS_TXN_PREFIX "%s", random);
    snprintf(request_id, sizeof request_id, "_%s", id);
    sso_sha256_hex(binder, strlen(binder), binding_hash);
    bool saml = !strcmp(type, "saml");
    Sso__Transaction t = SSO__TRANSACTION__INIT;
    t.id = id;
    t.scope = "openid";
    t.connection_id = (char *) conn_id;
    t.organization_id = (char *) org;
    t.created_at = dir_now();
    t.expires_at = t.created_at + DIR_TXN_TTL_MAX;
    t.max_age = -1;
    /* A test is a fresh sign-in, never the IdP's remembered session of someone else. */
    t.force_login = true;
    t.saml_request_id = saml ? request_id : "";
    t.oidc_state = saml ? "" : state;
    t.oidc_nonce = saml ? "" : nonce;
    t.oidc_code_verifier = saml ? "" : verifier;
    t.browser_binding_hash = binding_hash;
    stored = dir_txn_create_test(dir, &t, err);
done:
    free(random);
    free(state);
    free(nonce);
    free(verifier);
    return stored;
}

int dir_tests_create(dir_t *dir, const char *organization_id, const char *connection_id,
                     const char *browser_binder, char **test_id, char **start_handle,
                     dir_error_t *err)
{
    *test_id = *start_handle = NULL;
    if (!organization_id || !dir_rpc_text(organization_id, 1, S_REF_MAX) || !connection_id
        || !dir_rpc_text(connection_id, 1, S_REF_MAX)) {
        dir_bad_request(err, "an organization id and a connection id are required");
        return -1;
    }
    if (!browser_binder || !sso_cookie_token_ok(browser_binder)) {
        dir_bad_request(err, "the browser binder must be %d base64url characters",
                        SSO_COOKIE_TOKEN_LEN);
        return -1;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT type FROM connections WHERE id = ? AND "
                                                "organization_id = ?", "ss", connection_id,
                                       organization_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char type[8] = "";
    if (step == DIR_DB_ROW)
        snprintf(type, sizeof type, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    if (step == DIR_DB_DONE) {
        /* Another organization's connection reads as none. */
        dir_not_found(err, "no connection %s", connection_id);
        return -1;
    }
    if (step != DIR_DB_ROW) {
        dir_server_error(err);
        return -1;
    }
    /* A draft without the IdP's settings has nothing to sign in at yet: say what is missing. */
    if (dir_connections_ready(dir, connection_id, "tested", err) != 0)
        return -1;
    int64_t pending = dir_db_int(dir->db, "SELECT count(*) FROM login_tests WHERE "
                                          "organization_id = ? AND completed_at IS NULL AND "
                                          "created_at > ?", "si", organization_id,
                                 dir_now() - DIR_TXN_TTL_MAX);
    if (pending < 0) {
        dir_server_error(err);
        return -1;
    }
    if (pending >= DIR_TESTS_PENDING_MAX) {
        dir_error_set(err, 429, "too_many_requests", "%d test sign-ins of this organization "
                      "are still open; finish one, or wait %d minutes for them to expire",
                      DIR_TESTS_PENDING_MAX, DIR_TXN_TTL_MAX / 60);
        return -1;
    }
    Sso__Transaction *txn = s_txn(dir, organization_id, connection_id, type, browser_binder,
                                  err);
    if (!txn) {
        if (err->code && strcmp(err->code, "server_error") != 0)
            dir_error_set(err, 400, "invalid_request", "%s", err->description);
        return -1;
    }
    char *id = sso_random_id("tst_", 16), *handle = sso_random_token(24);
    char handle_hash[65] = "";
    if (handle)
        sso_sha256_hex(handle, strlen(handle), handle_hash);
    int64_t now = dir_now();
    /* One statement: its own transaction. Should it fail, the test's login transaction made
       above is never started and expires like any unused one. */
    if (!id || !handle
        || dir_db_run(dir->db, NULL, "INSERT INTO login_tests (id, organization_id, "
                                     "connection_id, txn_id, start_hash, created_at, expires_at) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?)", "sssssii", id,
                      organization_id, connection_id, txn->id, handle_hash, now,
                      now + DIR_TESTS_TTL) != DIR_DB_OK) {
        sso__transaction__free_unpacked(txn, NULL);
        free(id);
        free(handle);
        dir_server_error(err);
        return -1;
    }
    sso_info("test login %s of %s made for organization %s", id, connection_id,
             organization_id);
    sso__transaction__free_unpacked(txn, NULL);
    *test_id = id;
    *start_handle = handle;
    return 0;
}

DIR_RPC_FN(dir_tests_begin, Sso__TestBeginRequest, Sso__LoginContextReply)
{
    if (!sso_cookie_token_ok(in->handle)) {
        dir_rpc_error(err, "invalid_request", "the test's start handle is malformed");
        return -1;
    }
    char hash[65], binding[65] = "";
    sso_sha256_hex(in->handle, strlen(in->handle), hash);
    if (dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        return -1;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT txn_id, id FROM login_tests WHERE "
                                                "start_hash = ?", "s", hash);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char txn_id[80] = "", test_id[64] = "";
    if (step == DIR_DB_ROW) {
        snprintf(txn_id, sizeof txn_id, "%s", dir_db_text(stmt, 0));
        snprintf(test_id, sizeof test_id, "%s", dir_db_text(stmt, 1));
    }
    dir_db_release(stmt);
    int rc = -1;
    /* Single use: the handle is spent whatever follows, a wrong browser's attempt too. */
    if (step == DIR_DB_DONE)
        dir_rpc_error(err, "not_found", "no test login has this start handle (each is good "
                                        "once); start the test again from the portal");
    else if (step != DIR_DB_ROW
             || dir_db_run(dir->db, NULL, "UPDATE login_tests SET start_hash = NULL WHERE "
                                          "start_hash = ?", "s", hash) != DIR_DB_OK
             || dir_db_commit(dir->db) != 0)
        dir_server_error(err);
    else if ((out->txn = dir_txn_get(dir, txn_id, err)) != NULL) {
        if (*in->browser_binder)
            sso_sha256_hex(in->browser_binder, strlen(in->browser_binder), binding);
        if (!*binding || strcmp(binding, out->txn->browser_binding_hash) != 0)
            dir_rpc_error(err, "access_denied", "the test login was started by another "
                                                "browser than the portal's; start it again "
                                                "from the portal");
        else {
            Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
            get.connection_id = out->txn->connection_id;
            Sso__ConnectionReply conn = SSO__CONNECTION_REPLY__INIT;
            if (dir_login_connection_get(dir, &get, &conn, err) == 0) {
                out->connection = conn.connection;
                /* Only the challenge leaves, as AuthorizeBegin answers it. */
                out->result_url = dir_tests_result_url(dir, test_id);
                rc = out->result_url && dir_txn_challenge_only(out->txn) == 0
                             && (*out->txn->oidc_code_challenge || !*out->txn->oidc_state)
                         ? 0
                         : -1;
                if (rc != 0)
                    dir_server_error(err);
            }
        }
    }
    dir_db_rollback(dir->db);
    return rc;
}

int dir_tests_of_txn(dir_t *dir, const char *txn_id, char test_id[64])
{
    test_id[0] = '\0';
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id FROM login_tests WHERE txn_id = ?",
                                       "s", txn_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW)
        snprintf(test_id, 64, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    return step == DIR_DB_ROW ? 1 : step == DIR_DB_DONE ? 0 : -1;
}

int dir_tests_finish(dir_t *dir, const char *test_id, const Sso__Profile *profile,
                     const char *raw_json, const char *reason)
{
    char *profile_json = profile ? dir_codes_profile_json(profile) : NULL;
    /* The reason may quote bytes a peer sent that are not UTF-8: '?' for them, as every
       reader shows them, so that any engine keeps the text. */
    char *clean = strdup(reason ? reason : "");
    if ((profile && !profile_json) || !clean) {
        free(profile_json);
        free(clean);
        return -1;
    }
    sso_log_scrub_utf8(clean);
    int rc = dir_db_run(dir->db, NULL, "UPDATE login_tests SET completed_at = ?, outcome = ?, "
                                       "reason = ?, profile_json = ?, raw_json = ? WHERE id = ? "
                                       "AND completed_at IS NULL", "isssss", dir_now(),
                        profile ? "success" : "failure", clean, profile_json,
                        dir_rpc_or_null(raw_json), test_id);
    free(profile_json);
    free(clean);
    return rc == DIR_DB_OK ? 0 : -1;
}

char *dir_tests_result_url(dir_t *dir, const char *test_id)
{
    size_t len = strlen(dir->public_url) + strlen("/portal/tests/") + strlen(test_id) + 1;
    char *url = malloc(len);
    if (url)
        snprintf(url, len, "%s/portal/tests/%s", dir->public_url, test_id);
    return url;
}

int dir_tests_prune(dir_t *dir, int64_t now)
{
    return dir_db_run(dir->db, NULL, "DELETE FROM login_tests WHERE expires_at < ?", "i", now)
                   == DIR_DB_OK
               ? 0
               : -1;
}

/* A stored JSON text as a value: an object, or null. */
static json_t *s_json_or_null(dir_db_stmt_t *stmt, int column)
{
    json_t *json = dir_db_is_null(stmt, column) ? NULL
                                                : json_loads(dir_db_text(stmt, column), 0, NULL);
    return json ? json : json_null();
}

json_t *dir_tests_result(dir_t *dir, const char *organization_id, const char *test_id,
                         dir_error_t *err)
{
    if (!organization_id || !test_id || !dir_rpc_text(test_id, 1, S_REF_MAX)) {
        dir_not_found(err, "no such test");
        return NULL;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id, connection_id, created_at, "
                                                "expires_at, completed_at, outcome, reason, "
                                                "profile_json, raw_json FROM login_tests WHERE "
                                                "id = ? AND organization_id = ?", "ss", test_id,
                                       organization_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    json_t *json = NULL;
    if (step == DIR_DB_ROW) {
        int64_t now = dir_now();
        bool done = !dir_db_is_null(stmt, 4);
        const char *status = done ? dir_db_text(stmt, 5)
                             : dir_db_int64(stmt, 3) <= now
                                 || dir_db_int64(stmt, 2) + DIR_TXN_TTL_MAX <= now
                                 ? "expired"
                                 : "pending";
        json = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", dir_db_text(stmt, 0),
                         "connection_id", dir_db_text(stmt, 1), "status", status,
                         "created_at", dir_json_time(dir_db_int64(stmt, 2)),
                         "completed_at", done ? dir_json_time(dir_db_int64(stmt, 4))
                                              : json_null(),
                         "profile", s_json_or_null(stmt, 7), "raw", s_json_or_null(stmt, 8),
                         "reason", dir_db_text(stmt, 6));
    }
    dir_db_release(stmt);
    if (step == DIR_DB_DONE)
        dir_not_found(err, "no such test");
    else if (!json)
        dir_server_error(err);
    return json;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_BINDER "AAAAbbbbCCCCddddEEEEffffGGGGhhhh"
#define S_OTHER_BINDER "ZZZZbbbbCCCCddddEEEEffffGGGGhhhh"

/* A new test of conn_simulator for org_test; its id and start handle into the buffers. */
static bool s_made(dir_testkit_t *kit, char test_id[64], char handle[64])
{
    dir_error_t err = {0};
    char *id = NULL, *start = NULL;
    bool ok = dir_tests_create(kit->dir, "org_test", "conn_simulator", S_BINDER, &id, &start,
                               &err) == 0;
    if (ok) {
        snprintf(test_id, 64, "%s", id);
        snprintf(handle, 64, "%s", start);
    }
    else
        fprintf(stderr, "dir_tests_create: %s\n", err.description);
    free(id);
    free(start);
    return ok;
}

/* TestBegin with handle and binder: the reply (free it), or NULL when it does not unpack. */
static Sso__LoginContextReply *s_begin(dir_testkit_t *kit, const char *handle,
                                       const char *binder)
{
    Sso__TestBeginRequest begin = SSO__TEST_BEGIN_REQUEST__INIT;
    begin.handle = (char *) handle;
    begin.browser_binder = (char *) binder;
    return dir_testkit_rpc(kit, "TokenWrites.TestBegin", &begin.base);
}

static bool s_refused_create(dir_testkit_t *kit, const char *org, const char *conn,
                             const char *binder, uint32_t status)
{
    dir_error_t err = {0};
    char *id = NULL, *start = NULL;
    int rc = dir_tests_create(kit->dir, org, conn, binder, &id, &start, &err);
    bool ok = rc == -1 && !id && !start && err.status == status;
    if (!ok)
        fprintf(stderr, "dir_tests_create: expected %u, got %d %u %s\n", status, rc,
                err.status, err.description);
    free(id);
    free(start);
    return ok;
}

static void s_test_tests(dir_testkit_t *kit)
{
    char other_org[64] = "";
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/organizations",
                                "{\"display_name\":\"Other\"}", "id", other_org,
                                sizeof other_org) == 201);
    /* The connection must be the session's organization's; the absent, empty and hostile. */
    SSO_CHECK(s_refused_create(kit, other_org, "conn_simulator", S_BINDER, 404));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_none", S_BINDER, 404));
    SSO_CHECK(s_refused_create(kit, NULL, "conn_simulator", S_BINDER, 400));
    SSO_CHECK(s_refused_create(kit, "org_test", "", S_BINDER, 400));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_simulator", NULL, 400));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_simulator", "short", 400));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_simulator\n", S_BINDER, 400));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL) == 0);

    /* A connection that is not active cannot be used for a login, only for a test. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_simulator/disable", NULL,
                               NULL) == 200);
    dir_error_t err = {0};
    Sso__ConnectionSelector selector = SSO__CONNECTION_SELECTOR__INIT;
    selector.connection_id = "conn_simulator";
    Sso__Connection *resolved = dir_login_resolve(kit->dir, &selector, &err);
    SSO_CHECK(!resolved && err.code && !strcmp(err.code, "connection_inactive"));

    /* A wrong browser spends the handle. */
    char test_id[64], handle[64];
    SSO_CHECK(s_made(kit, test_id, handle) && !strncmp(test_id, "tst_", 4));
    Sso__LoginContextReply *reply = s_begin(kit, handle, S_OTHER_BINDER);
    SSO_CHECK(reply && !strcmp(dir_testkit_error(reply), "access_denied"));
    sso__login_context_reply__free_unpacked(reply, NULL);
    reply = s_begin(kit, handle, S_BINDER);
    SSO_CHECK(reply && !strcmp(dir_testkit_error(reply), "not_found"));
    sso__login_context_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_testkit_rpc_error(kit, "TokenWrites.TestBegin",
                                    &(Sso__TestBeginRequest) SSO__TEST_BEGIN_REQUEST__INIT.base,
                                    "invalid_request", "handle"));

    /* The right browser: the test's transaction (no client, no redirect) and its connection
       without secrets; the handle is good once. */
    SSO_CHECK(s_made(kit, test_id, handle));
    reply = s_begin(kit, handle, S_BINDER);
    SSO_CHECK(reply && !*dir_testkit_error(reply) && reply->txn && reply->connection
              && !strncmp(reply->txn->id, DIR_TESTS_TXN_PREFIX, 5)
              && !*reply->txn->client_id && !*reply->txn->redirect_uri
              && !strcmp(reply->txn->saml_request_id + 1, reply->txn->id)
              && reply->txn->force_login
              && !strcmp(reply->connection->id, "conn_simulator")
              && !strcmp(reply->connection->status, "inactive")
              && !*reply->connection->sp_private_key_pem);
    char txn_id[80] = "";
    if (reply && reply->txn)
        snprintf(txn_id, sizeof txn_id, "%s", reply->txn->id);
    sso__login_context_reply__free_unpacked(reply, NULL);
    reply = s_begin(kit, handle, S_BINDER);
    SSO_CHECK(reply && !strcmp(dir_testkit_error(reply), "not_found"));
    sso__login_context_reply__free_unpacked(reply, NULL);
    json_t *result = dir_tests_result(kit->dir, "org_test", test_id, &err);
    SSO_CHECK(result && !strcmp(dir_testkit_str(result, "status"), "pending"));
    json_decref(result);

    /* It completes on the inactive connection with the profile and the raw attributes, and
       no code; the event is marked as a test's. */
    int64_t codes = dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes", NULL);
    Sso__Profile profile = SSO__PROFILE__INIT;
    profile.subject = "ada";
    profile.email = "ada@example.com";
    char *groups[] = {"<script>admins</script>"};
    profile.groups = groups;
    profile.n_groups = 1;
    Sso__LoginCompleteRequest complete = SSO__LOGIN_COMPLETE_REQUEST__INIT;
    complete.txn_id = txn_id;
    complete.profile = &profile;
    complete.raw_json = "[1]";
    SSO_CHECK(dir_testkit_rpc_error(kit, "UpstreamWrites.LoginComplete", &complete.base,
                                    "invalid_request", "raw_json"));
    complete.raw_json = "{\"mail\":[\"ada@example.com\"],\"名前\":[\"\\\"q\\\"\"]}";
    Sso__LoginRedirectReply *done = dir_testkit_rpc(kit, "UpstreamWrites.LoginComplete",
                                                    &complete.base);
    char url[640];
    snprintf(url, sizeof url, "%s/portal/tests/%s", kit->dir->public_url, test_id);
    SSO_CHECK(done && !*dir_testkit_error(done) && !*done->code && !*done->state
              && !strcmp(done->redirect_uri, url));
    sso__login_redirect_reply__free_unpacked(done, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes", NULL)
              == codes);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE txn_id = ? AND "
                                       "test = 1 AND outcome = 'success' AND client_id IS NULL",
                         "s", txn_id) == 1);
    /* A test is not the connection's last login (login/dir_last_login). */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connection_last_logins", NULL)
              == 0);
    /* Used once. */
    SSO_CHECK(dir_testkit_rpc_error(kit, "UpstreamWrites.LoginComplete", &complete.base,
                                    "consumed", NULL));
    result = dir_tests_result(kit->dir, "org_test", test_id, &err);
    json_t *got = json_object_get(result, "profile");
    SSO_CHECK(result && !strcmp(dir_testkit_str(result, "status"), "success")
              && !strcmp(dir_testkit_str(got, "subject"), "ada")
              && !strcmp(dir_testkit_str(got, "email"), "ada@example.com")
              && !strcmp(json_string_value(json_array_get(json_object_get(got, "groups"), 0)),
                         "<script>admins</script>")
              && !strcmp(json_string_value(json_array_get(
                             json_object_get(json_object_get(result, "raw"), "名前"), 0)),
                         "\"q\""));
    json_decref(result);
    /* Another organization cannot read it, whatever the id. */
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_tests_result(kit->dir, other_org, test_id, &err) && err.status == 404);
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_tests_result(kit->dir, "org_test", "tst_none", &err) && err.status == 404);
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_tests_result(kit->dir, "org_test", NULL, &err) && err.status == 404);

    /* A failure is the test's result, with the reason; the browser goes to the result. */
    SSO_CHECK(s_made(kit, test_id, handle));
    reply = s_begin(kit, handle, S_BINDER);
    SSO_CHECK(reply && reply->txn);
    snprintf(txn_id, sizeof txn_id, "%s", reply && reply->txn ? reply->txn->id : "");
    sso__login_context_reply__free_unpacked(reply, NULL);
    Sso__LoginFailRequest fail = SSO__LOGIN_FAIL_REQUEST__INIT;
    fail.txn_id = txn_id;
    fail.error = "access_denied";
    fail.error_description = "refused";
    fail.reason = "audience: expected https://sp.test, got https://other.test";
    done = dir_testkit_rpc(kit, "UpstreamWrites.LoginFail", &fail.base);
    snprintf(url, sizeof url, "%s/portal/tests/%s", kit->dir->public_url, test_id);
    SSO_CHECK(done && !*dir_testkit_error(done) && !strcmp(done->redirect_uri, url));
    sso__login_redirect_reply__free_unpacked(done, NULL);
    result = dir_tests_result(kit->dir, "org_test", test_id, &err);
    SSO_CHECK(result && !strcmp(dir_testkit_str(result, "status"), "failure")
              && strstr(dir_testkit_str(result, "reason"), "expected https://sp.test, got")
              && json_is_null(json_object_get(result, "profile")));
    json_decref(result);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE txn_id = ? AND "
                                       "test = 1 AND outcome = 'failure'", "s", txn_id) == 1);

    /* A client's login takes raw_json too, as its connection's last login, not a test's. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_simulator/enable", NULL,
                               NULL) == 200);
    char client[64];
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", client, sizeof client) == 0);
    Sso__Transaction t = SSO__TRANSACTION__INIT;
    t.id = "txn-not-a-test-0001";
    t.client_id = client;
    t.redirect_uri = "https://app.test/cb";
    t.scope = "openid";
    t.connection_id = "conn_simulator";
    t.organization_id = "org_test";
    t.created_at = dir_now();
    t.expires_at = t.created_at + 60;
    t.max_age = -1;
    Sso__Transaction *stored = dir_txn_create(kit->dir, &t, &err);
    SSO_CHECK(stored);
    if (stored)
        sso__transaction__free_unpacked(stored, NULL);
    complete.txn_id = t.id;
    done = dir_testkit_rpc(kit, "UpstreamWrites.LoginComplete", &complete.base);
    SSO_CHECK(done && !*dir_testkit_error(done) && *done->code);
    sso__login_redirect_reply__free_unpacked(done, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connection_last_logins WHERE "
                                       "connection_id = 'conn_simulator' AND instr(raw_json, "
                                       "'ada@example.com') > 0", NULL) == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests WHERE txn_id = ?", "s",
                         t.id) == 0);
    /* A client's transaction cannot be made without a client, nor a test's with one. */
    t.id = "txn-not-a-test-0002";
    t.client_id = "";
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_txn_create(kit->dir, &t, &err) && strstr(err.description, "client_id"));
    t.client_id = client;
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_txn_create_test(kit->dir, &t, &err) && strstr(err.description, "test"));

    /* Housekeeping takes results past their time. */
    SSO_CHECK(dir_tests_prune(kit->dir, dir_now() + DIR_TESTS_TTL + 1) == 0
              && dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL) == 0);
}

/* An organization's pending tests are capped: the next is a 429 and stores nothing, until one
   is finished or has outlived its transaction. */
static void s_test_pending_cap(dir_testkit_t *kit)
{
    char ids[DIR_TESTS_PENDING_MAX][64], handle[64];
    for (int i = 0; i < DIR_TESTS_PENDING_MAX; i++)
        SSO_CHECK(s_made(kit, ids[i], handle));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_simulator", S_BINDER, 429));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_tests", NULL)
              == DIR_TESTS_PENDING_MAX);
    SSO_CHECK(dir_tests_finish(kit->dir, ids[0], NULL, NULL, "refused") == 0);
    SSO_CHECK(s_made(kit, ids[0], handle));
    SSO_CHECK(s_refused_create(kit, "org_test", "conn_simulator", S_BINDER, 429));
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE login_tests SET created_at = ? WHERE id = ?",
                         "is", dir_now() - DIR_TXN_TTL_MAX, ids[1]) == DIR_DB_OK);
    SSO_CHECK(s_made(kit, ids[1], handle));
}

void dir_tests_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test_tests);
    dir_testkit_run_seeded(s_test_pending_cap);
}
