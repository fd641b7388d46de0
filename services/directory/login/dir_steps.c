/* dir_steps: composite reads, one round trip for several steps of a login leg. */
#include "login/dir_steps.h"
#include "api/dir_clients.h"
#include "login/dir_login.h"
#include "dir_testkit.h"
#include "login/dir_txn.h"
#include "sso_test.h"

/* Runs one single operation as the bus would; 0 with its result moved into *result (a heap
   message of the type the operation returns), or -1 with its error in err. */
static int s_step(dir_t *dir, dir_rpc_fn *fn, const Sso__DirRequest *request, void **result,
                  dir_error_t *err)
{
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    *result = NULL;
    if (fn(dir, request, &reply, err) != 0) {
        dir_rpc_free_result(&reply);
        return -1;
    }
    /* Every member of the result oneof is a message pointer at the same place. */
    *result = reply.client;
    if (!*result) {
        dir_server_error(err);
        return -1;
    }
    return 0;
}

static void s_error_into(const dir_error_t *err, char **code, char **description)
{
    *code = dir_rpc_dup(err->code ? err->code : "server_error");
    *description = dir_rpc_dup(*err->description ? err->description : "internal error");
}

int dir_steps_authorize_lookup(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                               dir_error_t *err)
{
    const Sso__AuthorizeLookupRequest *r = request->authorize_lookup;
    if (!r->client) {
        dir_rpc_error(err, "invalid_request", "authorize_lookup needs a client");
        return -1;
    }
    Sso__AuthorizeLookupReply *lookup = malloc(sizeof *lookup);
    if (!lookup) {
        dir_server_error(err);
        return -1;
    }
    sso__authorize_lookup_reply__init(lookup);
    Sso__DirRequest step = SSO__DIR_REQUEST__INIT;
    step.op_case = SSO__DIR_REQUEST__OP_CLIENT_GET;
    step.client_get = r->client;
    dir_error_t step_err = {0};
    void *result = NULL;
    if (s_step(dir, dir_clients_get, &step, &result, &step_err) == 0)
        lookup->client = result;
    else
        s_error_into(&step_err, &lookup->client_error, &lookup->client_error_description);
    /* The connection only matters for a known client; resolving it anyway keeps this one
       round trip, and the caller decides in its own order. */
    if (r->resolve && lookup->client) {
        Sso__DirRequest resolve = SSO__DIR_REQUEST__INIT;
        resolve.op_case = SSO__DIR_REQUEST__OP_CONNECTION_RESOLVE;
        resolve.connection_resolve = r->resolve;
        memset(&step_err, 0, sizeof step_err);
        if (s_step(dir, dir_login_resolve, &resolve, &result, &step_err) == 0)
            lookup->connection = result;
        else
            s_error_into(&step_err, &lookup->resolve_error,
                         &lookup->resolve_error_description);
    }
    reply->result_case = SSO__DIR_REPLY__RESULT_LOOKUP;
    reply->lookup = lookup;
    return 0;
}

int dir_steps_login_context(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                            dir_error_t *err)
{
    Sso__TxnGetRequest get = SSO__TXN_GET_REQUEST__INIT;
    get.id = request->login_context->txn_id;
    Sso__DirRequest step = SSO__DIR_REQUEST__INIT;
    step.op_case = SSO__DIR_REQUEST__OP_TXN_GET;
    step.txn_get = &get;
    void *txn = NULL, *connection = NULL;
    if (s_step(dir, dir_txn_get, &step, &txn, err) != 0)
        return -1;
    Sso__ConnectionGetRequest conn_get = SSO__CONNECTION_GET_REQUEST__INIT;
    conn_get.connection_id = ((Sso__Transaction *) txn)->connection_id;
    step.op_case = SSO__DIR_REQUEST__OP_CONNECTION_GET;
    step.connection_get = &conn_get;
    Sso__LoginContext *context = NULL;
    if (s_step(dir, dir_login_connection_for_login, &step, &connection, err) != 0
        || !(context = malloc(sizeof *context))) {
        if (!*err->description)
            dir_server_error(err);
        sso__transaction__free_unpacked(txn, NULL);
        if (connection)
            sso__connection__free_unpacked(connection, NULL);
        return -1;
    }
    sso__login_context__init(context);
    context->txn = txn;
    context->connection = connection;
    reply->result_case = SSO__DIR_REPLY__RESULT_LOGIN_CONTEXT;
    reply->login_context = context;
    return 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

static void s_test_lookup(dir_testkit_t *kit)
{
    char client_id[64] = "";
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", client_id, sizeof client_id) == 0);
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__AuthorizeLookupRequest lookup = SSO__AUTHORIZE_LOOKUP_REQUEST__INIT;
    Sso__ClientGetRequest client = SSO__CLIENT_GET_REQUEST__INIT;
    Sso__ConnectionResolveRequest resolve = SSO__CONNECTION_RESOLVE_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_AUTHORIZE_LOOKUP;
    request.authorize_lookup = &lookup;
    /* No client at all: invalid_request for the whole call. */
    SSO_CHECK(dir_testkit_rpc_error(kit, &request, "invalid_request", "needs a client"));

    /* Known client, the seeded connection by domain. */
    client.client_id = client_id;
    resolve.domain = "example.com";
    lookup.client = &client;
    lookup.resolve = &resolve;
    Sso__DirReply *reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->lookup && reply->lookup->client
              && reply->lookup->client->n_redirect_uris == 1 && !*reply->lookup->client_error
              && reply->lookup->connection
              && !strcmp(reply->lookup->connection->id, "conn_simulator")
              && !*reply->lookup->resolve_error
              /* the token service uses no secret of a connection: it gets none */
              && !*reply->lookup->connection->sp_private_key_pem
              && strstr(reply->lookup->connection->sp_certificate_pem, "CERTIFICATE"));
    sso__dir_reply__free_unpacked(reply, NULL);

    /* The resolve error comes as connection_resolve says it; the client is still there. */
    resolve.domain = "example.net";
    reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && reply->lookup && reply->lookup->client && !reply->lookup->connection
              && !strcmp(reply->lookup->resolve_error, "no_organization")
              && strstr(reply->lookup->resolve_error_description, "example.net"));
    sso__dir_reply__free_unpacked(reply, NULL);

    /* No selector: the client only. */
    lookup.resolve = NULL;
    reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && reply->lookup && reply->lookup->client && !reply->lookup->connection
              && !*reply->lookup->resolve_error);
    sso__dir_reply__free_unpacked(reply, NULL);

    /* Unknown client: its error, and no resolution is attempted. */
    client.client_id = "cli_nobody";
    lookup.resolve = &resolve;
    resolve.domain = "example.com";
    reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && reply->lookup && !reply->lookup->client && !reply->lookup->connection
              && !strcmp(reply->lookup->client_error, "invalid_client")
              && strstr(reply->lookup->client_error_description, "cli_nobody"));
    sso__dir_reply__free_unpacked(reply, NULL);
}

static void s_test_context(dir_testkit_t *kit)
{
    char client_id[64] = "";
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/cb", client_id, sizeof client_id) == 0);
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    int64_t now = dir_now();
    txn.id = "txn-steps-0123456789abcdef";
    txn.client_id = client_id;
    txn.redirect_uri = "https://app.test/cb";
    txn.scope = "openid";
    txn.connection_id = "conn_simulator";
    txn.organization_id = "org_test";
    txn.created_at = now;
    txn.expires_at = now + 600;
    txn.max_age = -1;
    txn.saml_request_id = "_steps-request";
    request.op_case = SSO__DIR_REQUEST__OP_TXN_CREATE;
    request.txn_create = &txn;
    Sso__DirReply *reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && !*reply->error);
    sso__dir_reply__free_unpacked(reply, NULL);

    Sso__LoginContextRequest context = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    context.txn_id = txn.id;
    request.op_case = SSO__DIR_REQUEST__OP_LOGIN_CONTEXT;
    request.login_context = &context;
    reply = dir_testkit_rpc(kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->login_context && reply->login_context->txn
              && !strcmp(reply->login_context->txn->saml_request_id, "_steps-request")
              && reply->login_context->connection
              && !strcmp(reply->login_context->connection->id, "conn_simulator")
              && reply->login_context->connection->n_idp_certificates >= 1
              /* the ACS decrypts with it */
              && strstr(reply->login_context->connection->sp_private_key_pem, "PRIVATE KEY"));
    sso__dir_reply__free_unpacked(reply, NULL);

    /* The SP key is the saml service's: the oidc service (whose role login_context serves)
       and the token service (whose it is not) are refused. */
    const char *refused[] = {"oidc", "token"};
    for (size_t i = 0; i < 2; i++) {
        kit->caller = refused[i];
        reply = dir_testkit_rpc(kit, &request);
        SSO_CHECK(reply && !strcmp(reply->error, "access_denied") && !reply->login_context
                  && strstr(reply->error_description, i == 0 ? "conn_simulator are only for "
                                                               "the saml service"
                                                             : "is only for the saml and oidc"));
        sso__dir_reply__free_unpacked(reply, NULL);
    }
    kit->caller = NULL;

    /* The errors of txn_get, as txn_get says them. */
    context.txn_id = "txn-unknown-0123456789abcdef";
    SSO_CHECK(dir_testkit_rpc_error(kit, &request, "not_found", NULL));
    context.txn_id = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, &request, "invalid_request", NULL));
}

void dir_steps_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test_lookup);
    dir_testkit_run_seeded(s_test_context);
}
