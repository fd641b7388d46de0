/* dir_idp_initiated: the directory's part of an IdP-initiated SAML login. */
#include "login/dir_idp_initiated.h"
#include "api/dir_conn_options.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "login/dir_events.h"
#include "login/dir_login.h"
#include "login/dir_replay.h"
#include "sso_log.h"
#include "sso_test.h"

/* The connection's organization and IdP-initiated client as stored now, checked: 0 with
   out's organization_id, client_id and initiate_login_uri filled, or -1 with err (INACTIVE
   when IdP-initiated logins are off for it or its client cannot take one). */
static int s_target(dir_t *dir, const char *connection_id, Sso__IdpInitiatedReply *out,
                    dir_error_t *err)
{
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT organization_id, options, status FROM "
                                                "connections WHERE id = ? AND type = 'saml'",
                                       "s", connection_id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    json_t *options = step == DIR_DB_ROW ? json_loads(dir_db_text(stmt, 1), 0, NULL) : NULL;
    const char *client = json_string_value(json_object_get(options, "idp_initiated_client_id"));
    if (step == DIR_DB_ERROR)
        dir_server_error(err);
    else if (step != DIR_DB_ROW)
        dir_rpc_error(err, "not_found", "no SAML connection %.128s", connection_id);
    else if (strcmp(dir_db_text(stmt, 2), "active") != 0)
        dir_rpc_error(err, "inactive", "idp-initiated: connection %.128s is not active",
                      connection_id);
    else if (!json_is_true(json_object_get(options, "allow_idp_initiated")))
        dir_rpc_error(err, "inactive", "idp-initiated: not allowed for connection %.128s (set "
                      "its options.allow_idp_initiated)", connection_id);
    else if (!(out->organization_id = dir_rpc_dup(dir_db_text(stmt, 0))))
        dir_server_error(err);
    if (stmt)
        dir_db_release(stmt);
    if (err->code) {
        json_decref(options);
        return -1;
    }
    /* The client as it is now: the API checked it when the option was written. */
    stmt = client ? dir_db_query(dir->db, "SELECT id, coalesce(initiate_login_uri, '') FROM "
                                          "clients WHERE id = ? AND is_admin = 0 AND id <> ?",
                                 "ss", client, DIR_SEED_TRY_CLIENT_ID)
                  : NULL;
    step = stmt ? dir_db_step(stmt) : DIR_DB_DONE;
    if (step == DIR_DB_ERROR)
        dir_server_error(err);
    else if (step != DIR_DB_ROW || !*dir_db_text(stmt, 1))
        dir_rpc_error(err, "inactive", "idp-initiated: connection %.128s has no client with an "
                      "initiate_login_uri (options.idp_initiated_client_id)", connection_id);
    else if (!(out->client_id = dir_rpc_dup(dir_db_text(stmt, 0)))
             || !(out->initiate_login_uri = dir_rpc_dup(dir_db_text(stmt, 1))))
        dir_server_error(err);
    if (stmt)
        dir_db_release(stmt);
    json_decref(options);
    return err->code ? -1 : 0;
}

DIR_RPC_FN(dir_idp_initiated, Sso__IdpInitiatedRequest, Sso__IdpInitiatedReply)
{
    const Sso__IdpInitiatedRequest *r = in;
    if (!dir_rpc_text(r->connection_id, 1, DIR_API_ID_MAX) || !r->replay
        || strcmp(r->replay->connection_id, r->connection_id) != 0
        || !dir_rpc_text(r->subject, 1, 1024) || !dir_rpc_text(r->email, 0, 320)) {
        dir_rpc_error(err, "invalid_request", "connection_id, subject and a replay record of "
                                              "the connection are required");
        return -1;
    }
    if (dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        return -1;
    }
    char version[65];
    int rc = -1;
    if (*r->connection_version
        && (dir_login_connection_version(dir, r->connection_id, version, err) != 0
            || strcmp(version, r->connection_version) != 0)) {
        if (!err->code)
            dir_rpc_error(err, "stale", "connection %.128s changed since it was read; read it "
                                        "again", r->connection_id);
        goto done;
    }
    if (s_target(dir, r->connection_id, out, err) != 0)
        goto done;
    /* Once per assertion, as at a transaction's ACS. */
    if (dir_replay_note(dir, r->replay, err) != 0)
        goto done;
    char reason[300];
    snprintf(reason, sizeof reason, "idp-initiated: sent to client %.128s's initiate_login_uri "
             "to start a login", out->client_id);
    dir_event_t event = {.organization_id = out->organization_id,
                         .connection_id = r->connection_id,
                         .client_id = out->client_id,
                         .success = true,
                         .reason = reason,
                         .subject = r->subject,
                         .email = dir_rpc_or_null(r->email)};
    if (dir_events_add(dir, &event, NULL) != 0 || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    rc = 0;
done:
    dir_db_rollback(dir->db);
    /* A replay, or a connection that takes none, is the saml service's to write to the event
       log, within its limit per connection (anyone may post one signed Response again and
       again). */
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

static int64_t s_events(dir_testkit_t *kit, const char *text)
{
    return dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE instr(reason, ?) > 0",
                      "s", text);
}

static void s_test(dir_testkit_t *kit)
{
    const char *rpc = "UpstreamWrites.IdpInitiated";
    Sso__ReplayRecord replay = SSO__REPLAY_RECORD__INIT;
    replay.connection_id = DIR_SEED_CONN_ID;
    replay.assertion_id = "_idp-initiated-1";
    replay.expires_at = dir_now() + 300;
    Sso__IdpInitiatedRequest r = SSO__IDP_INITIATED_REQUEST__INIT;
    r.connection_id = DIR_SEED_CONN_ID;
    r.replay = &replay;
    r.subject = "jane@example.com";
    r.email = "jane@example.com";
    /* Off by default: refused with the reason (how to turn it on), which the saml service
       writes to the event log; nothing recorded against replay, nor in the event log here. */
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "inactive", "allow_idp_initiated"));
    SSO_CHECK(s_events(kit, "allow_idp_initiated") == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM replay_cache WHERE item_id = ?",
                         "s", replay.assertion_id) == 0);
    /* The option needs a client that can take the login, checked when it is written. */
    char path[128], client[64];
    snprintf(path, sizeof path, "/api/v1/connections/%s", DIR_SEED_CONN_ID);
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path,
                                                   "{\"options\":{\"allow_idp_initiated\":true}}",
                                                   &body),
                                  &body, "needs options.idp_initiated_client_id"));
    SSO_CHECK(dir_testkit_field(kit, "POST", "/api/v1/clients",
                                "{\"name\":\"App\",\"redirect_uris\":[\"https://app.test/cb\"]}",
                                "id", client, sizeof client) == 201);
    char patch[300];
    snprintf(patch, sizeof patch, "{\"options\":{\"allow_idp_initiated\":true,"
             "\"idp_initiated_client_id\":\"%s\"}}", client);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path, patch, &body), &body,
                                  "has no initiate_login_uri"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path,
                                                   "{\"options\":{\"allow_idp_initiated\":true,"
                                                   "\"idp_initiated_client_id\":\"cli_nope\"}}",
                                                   &body),
                                  &body, "no client cli_nope"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path,
                                                   "{\"options\":{\"allow_idp_initiated\":true,"
                                                   "\"idp_initiated_client_id\":\""
                                                   DIR_SEED_TRY_CLIENT_ID "\"}}", &body),
                                  &body, "built-in client"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", path,
                                                   "{\"options\":{\"idp_initiated_client_id\":"
                                                   "7}}", &body),
                                  &body, "must be a client id"));
    char client_path[128];
    snprintf(client_path, sizeof client_path, "/api/v1/clients/%s", client);
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", client_path,
                                                   "{\"initiate_login_uri\":\"http://app.test/"
                                                   "start\"}", &body),
                                  &body, "initiate_login_uri must use https"));
    SSO_CHECK(dir_testkit_refused(dir_testkit_call(kit, "PATCH", client_path,
                                                   "{\"initiate_login_uri\":\"https://u:p@"
                                                   "app.test/start\"}", &body),
                                  &body, "initiate_login_uri"));
    char uri[200];
    SSO_CHECK(dir_testkit_field(kit, "PATCH", client_path,
                                "{\"initiate_login_uri\":\"https://app.test/start\"}",
                                "initiate_login_uri", uri, sizeof uri) == 200
              && !strcmp(uri, "https://app.test/start"));
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, patch, NULL) == 200);
    /* On: the client and where it starts a login, an event, the assertion recorded. */
    Sso__IdpInitiatedReply *reply = dir_testkit_rpc(kit, rpc, &r.base);
    SSO_CHECK(reply && !reply->error && !strcmp(reply->client_id, client)
              && !strcmp(reply->initiate_login_uri, "https://app.test/start")
              && !strncmp(reply->organization_id, "org_", 4));
    if (reply)
        sso__idp_initiated_reply__free_unpacked(reply, NULL);
    SSO_CHECK(s_events(kit, "idp-initiated: sent to client") == 1);
    /* Not a login: the connection's last login is not written (login/dir_last_login). */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM connection_last_logins", NULL)
              == 0);
    /* The same assertion again: a replay, refused with its reason (for the saml service's
       event, not written here). */
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "replayed", "_idp-initiated-1"));
    SSO_CHECK(s_events(kit, "replay") == 0);
    /* A stale view of the connection changes nothing. */
    replay.assertion_id = "_idp-initiated-2";
    r.connection_version = "0000000000000000000000000000000000000000000000000000000000000000";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "stale", NULL));
    r.connection_version = "";
    /* Absent and hostile input. */
    r.replay = NULL;
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "invalid_request", NULL));
    r.replay = &replay;
    replay.connection_id = "conn_other";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "invalid_request", NULL));
    replay.connection_id = r.connection_id = "conn_none";
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "not_found", NULL));
    r.connection_id = replay.connection_id = DIR_SEED_CONN_ID;
    /* The client loses its initiate_login_uri: refused at the next one. */
    SSO_CHECK(dir_testkit_call(kit, "PATCH", client_path, "{\"initiate_login_uri\":null}", NULL)
              == 200);
    SSO_CHECK(dir_testkit_rpc_error(kit, rpc, &r.base, "inactive", "no client with an "
                                                                  "initiate_login_uri"));
}

void dir_idp_initiated_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test);
}
