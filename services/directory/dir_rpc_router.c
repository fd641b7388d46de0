/* dir_rpc_router: DirRequest in, DirReply out. */
#include "dir_rpc_router.h"
#include "api/dir_clients.h"
#include "dir_rpc.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "login/dir_codes.h"
#include "login/dir_events.h"
#include "login/dir_housekeeping.h"
#include "login/dir_login.h"
#include "login/dir_replay.h"
#include "login/dir_steps.h"
#include "login/dir_tokens.h"
#include "login/dir_txn.h"
#include "vault/dir_signing.h"
#include "sso_bus.h"
#include "sso_log.h"
#include "sso_test.h"

static int s_client_auth(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                         dir_error_t *err)
{
    const Sso__ClientAuthRequest *r = request->client_auth;
    int64_t retry_after = 0;
    Sso__ClientAuthReply *auth = dir_clients_auth(dir, r->client_id, r->client_secret,
                                                  r->client_address, &retry_after);
    if (!auth) {
        dir_rpc_error(err, "server_error", "cannot read the clients");
        return -1;
    }
    if (retry_after > 0) {
        sso__client_auth_reply__free_unpacked(auth, NULL);
        dir_clients_limited(err, retry_after);
        return -1;
    }
    reply->client_auth = auth;
    reply->result_case = SSO__DIR_REPLY__RESULT_CLIENT_AUTH;
    return 0;
}

static int s_keys(dir_t *dir, bool with_private, Sso__DirReply *reply, dir_error_t *err)
{
    reply->keys_list = dir_signing_list(dir, with_private);
    if (!reply->keys_list) {
        dir_rpc_error(err, "server_error", "cannot read the signing keys");
        return -1;
    }
    reply->result_case = SSO__DIR_REPLY__RESULT_KEYS_LIST;
    return 0;
}

static int s_keys_list(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                       dir_error_t *err)
{
    return s_keys(dir, request->keys_list->with_private, reply, err);
}

static int s_key_put(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                     dir_error_t *err)
{
    if (dir_signing_put(dir, request->key_put->key, request->key_put->only_if_none, err) != 0)
        return -1;
    return s_keys(dir, true, reply, err);
}

static int s_token_issue(dir_t *dir, const Sso__DirRequest *request, Sso__DirReply *reply,
                         dir_error_t *err)
{
    const Sso__TokenIssueRequest *r = request->token_issue;
    char *token = NULL;
    if (dir_tokens_issue(dir, r->client_id, r->scope, r->ttl_seconds, r->claims_json,
                         r->code_hash, &token, err) != 0)
        return -1;
    Sso__TokenIssueReply *issued = malloc(sizeof *issued);
    if (!issued) {
        free(token);
        dir_server_error(err);
        return -1;
    }
    sso__token_issue_reply__init(issued);
    issued->access_token = token;
    issued->expires_in = r->ttl_seconds;
    reply->result_case = SSO__DIR_REPLY__RESULT_TOKEN_ISSUE;
    reply->token_issue = issued;
    return 0;
}

/* The roles that call the directory; an operation's callers are bits, role i being 1 << i.
   The service loop takes the same list (directory_service.rpc_callers). */
const char *const dir_rpc_router_callers[] = {"token", "saml", "oidc", NULL};
enum { S_TOKEN = 1, S_SAML = 2, S_OIDC = 4, S_UPSTREAM = S_SAML | S_OIDC };
#define S_ROLES 3 /* in dir_rpc_router_callers */

static unsigned s_role_bit(const char *caller)
{
    for (size_t i = 0; caller && i < S_ROLES; i++)
        if (!strcmp(caller, dir_rpc_router_callers[i]))
            return (1u << i);
    return 0;
}

/* The operations, by DirRequest op case; write says it changes state (housekeeping runs
   alongside those); callers, the roles that may call it: what each role's code calls (the
   oidc service: the upstream login's steps, as saml's), so a stolen key of one service cannot
   use another's operations (the saml key cannot issue a management token, the token key
   cannot complete a login). The table in docs/ARCHITECTURE.md ("Who may call what") says
   the same. */
static const struct {
    const char *name;
    dir_rpc_fn *fn;
    bool write;
    unsigned callers;
} s_ops[] = {
    [SSO__DIR_REQUEST__OP_CLIENT_AUTH] = {"client_auth", s_client_auth, false, S_TOKEN},
    [SSO__DIR_REQUEST__OP_KEYS_LIST] = {"keys_list", s_keys_list, false, S_TOKEN},
    [SSO__DIR_REQUEST__OP_KEY_PUT] = {"key_put", s_key_put, true, S_TOKEN},
    [SSO__DIR_REQUEST__OP_TOKEN_ISSUE] = {"token_issue", s_token_issue, true, S_TOKEN},
    [SSO__DIR_REQUEST__OP_CLIENT_GET] = {"client_get", dir_clients_get, false, S_TOKEN},
    [SSO__DIR_REQUEST__OP_CONNECTION_RESOLVE] = {"connection_resolve", dir_login_resolve, false,
                                                 S_TOKEN},
    [SSO__DIR_REQUEST__OP_CONNECTION_GET] = {"connection_get", dir_login_connection_get, false,
                                             S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_TXN_CREATE] = {"txn_create", dir_txn_create, true, S_TOKEN},
    [SSO__DIR_REQUEST__OP_TXN_GET] = {"txn_get", dir_txn_get, false, S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_TXN_UPDATE] = {"txn_update", dir_txn_update, true, S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_LOGIN_COMPLETE] = {"login_complete", dir_txn_login_complete, true,
                                             S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_LOGIN_FAIL] = {"login_fail", dir_txn_login_fail, true, S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_CODE_REDEEM] = {"code_redeem", dir_codes_redeem, true, S_TOKEN},
    [SSO__DIR_REQUEST__OP_ACCESS_TOKEN_CHECK] = {"access_token_check", dir_tokens_access_check,
                                                 false, S_TOKEN},
    [SSO__DIR_REQUEST__OP_REPLAY_RECORD] = {"replay_record", dir_replay_record, true,
                                            S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_EVENT_RECORD] = {"event_record", dir_events_record, true,
                                           S_TOKEN | S_UPSTREAM},
    [SSO__DIR_REQUEST__OP_SIMULATOR_KEY] = {"simulator_key", dir_seed_simulator_key, false,
                                            S_SAML},
    [SSO__DIR_REQUEST__OP_BEARER_CHECK] = {"bearer_check", dir_tokens_bearer_check, false,
                                           S_TOKEN},
    [SSO__DIR_REQUEST__OP_AUTHORIZE_LOOKUP] = {"authorize_lookup", dir_steps_authorize_lookup,
                                               false, S_TOKEN},
    [SSO__DIR_REQUEST__OP_LOGIN_CONTEXT] = {"login_context", dir_steps_login_context, false,
                                            S_UPSTREAM},
};

const char *dir_rpc_router_caller_of(const Sso__DirRequest *request)
{
    size_t op = (size_t) request->op_case;
    for (size_t i = 0; op < sizeof s_ops / sizeof *s_ops && i < S_ROLES;
         i++)
        if (s_ops[op].callers & (1u << i))
            return dir_rpc_router_callers[i];
    return NULL;
}

#define S_REFUSED_LOG_MS 1000

/* The log line of a refused caller, at most one per S_REFUSED_LOG_MS: any service's key may
   keep trying. */
static void s_refused(const char *op, const char *allowed, const char *caller)
{
    static sso_log_limit_t limit; /* the directory handles one request at a time */
    unsigned long long skipped;
    if (sso_log_limit_due(&limit, sso_now_ms(), S_REFUSED_LOG_MS, &skipped))
        sso_warn("rpc %s refused: only the %s may call it, not %.32s (%llu more refused since "
                 "the last line)", op, allowed, caller && *caller ? caller : "an unidentified "
                 "caller", skipped);
}

/* "the token service", "the saml and oidc services", ... for callers. */
static void s_callers_text(unsigned callers, char *out, size_t size)
{
    size_t n = 0, count = 0, total = 0;
    out[0] = '\0';
    for (size_t i = 0; i < S_ROLES; i++)
        total += (callers & (1u << i)) != 0;
    for (size_t i = 0; i < S_ROLES && n < size; i++) {
        if (!(callers & (1u << i)))
            continue;
        count++;
        const char *sep = count == 1 ? "" : count == total ? " and " : ", ";
        n += (size_t) snprintf(out + n, size - n, "%s%s", sep, dir_rpc_router_callers[i]);
    }
    if (n < size)
        snprintf(out + n, size - n, " service%s", total > 1 ? "s" : "");
}

/* The connection a reply carries, if any. */
static const Sso__Connection *s_reply_connection(const Sso__DirReply *reply)
{
    switch (reply->result_case) {
    case SSO__DIR_REPLY__RESULT_CONNECTION:
        return reply->connection;
    case SSO__DIR_REPLY__RESULT_LOOKUP:
        return reply->lookup ? reply->lookup->connection : NULL;
    case SSO__DIR_REPLY__RESULT_LOGIN_CONTEXT:
        return reply->login_context ? reply->login_context->connection : NULL;
    default:
        return NULL;
    }
}

/* A connection's secrets go only to the service of its type, which uses them: the saml
   service signs AuthnRequests and decrypts assertions with the SP key, the oidc service
   redeems upstream codes with the client secret. Checked on every answer, whichever
   operation made it, so no composite can carry them elsewhere. */
static bool s_secrets_allowed(const Sso__DirReply *reply, const char *caller)
{
    const Sso__Connection *c = s_reply_connection(reply);
    bool secrets = c && ((c->sp_private_key_pem && *c->sp_private_key_pem)
                         || (c->oidc_client_secret && *c->oidc_client_secret));
    return !secrets || (caller && c->type && !strcmp(caller, c->type));
}

zframe_t *dir_rpc_router_handle(dir_t *dir, const char *caller, const char *rpc, zframe_t *payload)
{
    Sso__DirRequest *request =
        payload ? sso__dir_request__unpack(NULL, zframe_size(payload), zframe_data(payload))
                : NULL;
    if (!request) {
        sso_warn("rpc %s: the DirRequest does not unpack; refused", rpc ? rpc : "?");
        return dir_rpc_error_frame("invalid_request", "the request is not a DirRequest");
    }
    size_t op = (size_t) request->op_case;
    /* Every op of the oneof is a message pointer at the same place. */
    if (op == 0 || op >= sizeof s_ops / sizeof *s_ops || !s_ops[op].fn || !request->client_auth) {
        sso__dir_request__free_unpacked(request, NULL);
        return dir_rpc_error_frame("invalid_request", "the DirRequest names no known operation");
    }
    if (!(s_role_bit(caller) & s_ops[op].callers)) {
        char callers[64], description[128];
        s_callers_text(s_ops[op].callers, callers, sizeof callers);
        s_refused(s_ops[op].name, callers, caller);
        sso__dir_request__free_unpacked(request, NULL);
        snprintf(description, sizeof description, "%s is only for the %s", s_ops[op].name,
                 callers);
        return dir_rpc_error_frame("access_denied", description);
    }
    if (rpc && *rpc && strcmp(rpc, s_ops[op].name) != 0)
        sso_warn("rpc named %s carries %s; doing %s", rpc, s_ops[op].name, s_ops[op].name);
    if (s_ops[op].write)
        dir_housekeeping_run(dir, false);
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    dir_error_t err = {0};
    zframe_t *frame;
    /* A read operation runs in one read transaction: one snapshot for its several queries, and
       one round of WAL locking instead of one per statement. Writes take their own. */
    bool read_txn = !s_ops[op].write && dir_db_begin_read(dir->db) == 0;
    int rc = s_ops[op].fn(dir, request, &reply, &err);
    /* Committed, not rolled back: should a read operation ever write, nothing is lost. */
    if (read_txn && dir_db_commit(dir->db) != 0)
        sso_warn("rpc %s: the read transaction did not commit", s_ops[op].name);
    if (rc != 0) {
        dir_rpc_free_result(&reply);
        frame = dir_rpc_refusal_frame(&err);
    }
    else if (reply.result_case != SSO__DIR_REPLY__RESULT__NOT_SET && !reply.client)
        frame = dir_rpc_error_frame("server_error", "out of memory");
    else if (!s_secrets_allowed(&reply, caller)) {
        char owner[32], description[200];
        const Sso__Connection *c = s_reply_connection(&reply);
        snprintf(owner, sizeof owner, "%.16s service", c->type);
        snprintf(description, sizeof description, "the secrets of connection %.100s are only "
                 "for the %s", c->id, owner);
        s_refused(s_ops[op].name, owner, caller);
        dir_rpc_free_result(&reply);
        frame = dir_rpc_error_frame("access_denied", description);
    }
    else {
        frame = sso_frame_pack(&reply.base);
        dir_rpc_free_result(&reply);
    }
    sso__dir_request__free_unpacked(request, NULL);
    return frame;
}

/* Every operation answers only its roles: any other role, no role, a name like a role's, all
   get access_denied before the operation runs (an empty request of each kind: the check
   comes before any reading of it). */
static void s_test_callers(dir_testkit_t *kit)
{
    const char *const others[] = {"gateway", "directory", "", "Token", "saml ", NULL};
    const ProtobufCMessageDescriptor *desc = &sso__dir_request__descriptor;
    for (unsigned f = 0; f < desc->n_fields; f++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[f];
        const ProtobufCMessageDescriptor *op_desc = field->descriptor;
        ProtobufCMessage *op = calloc(1, op_desc->sizeof_message);
        if (!op) {
            SSO_CHECK(op);
            return;
        }
        protobuf_c_message_init(op_desc, op);
        Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
        request.op_case = (Sso__DirRequest__OpCase) field->id;
        request.client_auth = (Sso__ClientAuthRequest *) op; /* the oneof's one pointer */
        zframe_t *payload = sso_frame_pack(&request.base);
        SSO_CHECK(field->id < sizeof s_ops / sizeof *s_ops && s_ops[field->id].callers);
        size_t n_others = sizeof others / sizeof *others;
        for (size_t i = 0; i < S_ROLES + n_others; i++) {
            const char *caller = i < n_others ? others[i] : dir_rpc_router_callers[i - n_others];
            bool allowed = s_role_bit(caller) & s_ops[field->id].callers;
            zframe_t *frame = dir_rpc_router_handle(kit->dir, caller, "", payload);
            Sso__DirReply *reply =
                frame ? sso__dir_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
                      : NULL;
            bool refused = reply && !strcmp(reply->error, "access_denied")
                           && strstr(reply->error_description, " is only for the ")
                           && reply->result_case == SSO__DIR_REPLY__RESULT__NOT_SET;
            SSO_CHECK(reply && refused == !allowed);
            if (!reply || refused == allowed)
                fprintf(stderr, "%s from %s: %s\n", field->name, caller ? caller : "(none)",
                        reply ? reply->error : "no reply");
            sso__dir_reply__free_unpacked(reply, NULL);
            zframe_destroy(&frame);
        }
        zframe_destroy(&payload);
        protobuf_c_message_free_unpacked(op, NULL);
    }
    /* What the token service's code calls, and nothing the upstream services' calls do. */
    SSO_CHECK(s_ops[SSO__DIR_REQUEST__OP_TOKEN_ISSUE].callers == S_TOKEN
              && s_ops[SSO__DIR_REQUEST__OP_LOGIN_COMPLETE].callers == S_UPSTREAM
              && s_ops[SSO__DIR_REQUEST__OP_AUTHORIZE_LOOKUP].callers == S_TOKEN
              && s_ops[SSO__DIR_REQUEST__OP_LOGIN_CONTEXT].callers == S_UPSTREAM);
    char text[64];
    s_callers_text(S_TOKEN | S_UPSTREAM, text, sizeof text);
    SSO_CHECK(!strcmp(text, "token, saml and oidc services"));
    s_callers_text(S_UPSTREAM, text, sizeof text);
    SSO_CHECK(!strcmp(text, "saml and oidc services"));
    s_callers_text(S_TOKEN, text, sizeof text);
    SSO_CHECK(!strcmp(text, "token service"));
}

void dir_rpc_router_test(bool verbose)
{
    (void) verbose;
    dir_testkit_t kit;
    setenv("SSO_ADMIN_CLIENT_ID", "rpc-admin", 1);
    setenv("SSO_ADMIN_CLIENT_SECRET", "rpc-admin-secret-0123456789", 1);
    int opened = dir_testkit_open(&kit);
    unsetenv("SSO_ADMIN_CLIENT_ID");
    unsetenv("SSO_ADMIN_CLIENT_SECRET");
    if (opened != 0)
        return;
    /* client_auth: right, wrong, unknown. */
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__ClientAuthRequest auth = SSO__CLIENT_AUTH_REQUEST__INIT;
    auth.client_id = "rpc-admin";
    auth.client_secret = "rpc-admin-secret-0123456789";
    request.op_case = SSO__DIR_REQUEST__OP_CLIENT_AUTH;
    request.client_auth = &auth;
    Sso__DirReply *reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->result_case == SSO__DIR_REPLY__RESULT_CLIENT_AUTH
              && reply->client_auth->ok && reply->client_auth->is_admin
              && !strcmp(reply->client_auth->client_id, "rpc-admin"));
    sso__dir_reply__free_unpacked(reply, NULL);
    auth.client_secret = "wrong";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->client_auth && !reply->client_auth->ok
              && !reply->client_auth->is_admin);
    sso__dir_reply__free_unpacked(reply, NULL);
    auth.client_id = "nobody";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && reply->client_auth && !reply->client_auth->ok);
    sso__dir_reply__free_unpacked(reply, NULL);

    /* token_issue, then the token works on the management API. */
    Sso__TokenIssueRequest issue = SSO__TOKEN_ISSUE_REQUEST__INIT;
    issue.client_id = "rpc-admin";
    issue.scope = "management";
    issue.ttl_seconds = 600;
    request.op_case = SSO__DIR_REQUEST__OP_TOKEN_ISSUE;
    request.token_issue = &issue;
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->token_issue
              && !strncmp(reply->token_issue->access_token, "at_", 3)
              && reply->token_issue->expires_in == 600);
    if (reply && reply->token_issue) {
        free(kit.token);
        kit.token = strdup(reply->token_issue->access_token);
        SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations", NULL, NULL) == 200);
    }
    sso__dir_reply__free_unpacked(reply, NULL);
    issue.ttl_seconds = -5;
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request") && *reply->error_description);
    sso__dir_reply__free_unpacked(reply, NULL);

    /* key_put with only_if_none, twice: the first key wins; the reply lists it privately. */
    char *pem = NULL;
    Sso__SigningKey key;
    SSO_CHECK(dir_testkit_signing_key(&key, "kid-1", "{\"kty\":\"RSA\"}", &pem) == 0);
    Sso__KeyPutRequest put = SSO__KEY_PUT_REQUEST__INIT;
    put.key = &key;
    put.only_if_none = true;
    request.op_case = SSO__DIR_REQUEST__OP_KEY_PUT;
    request.key_put = &put;
    /* Only the token service may store a signing key: the answer lists the private keys. */
    const char *not_token[] = {"", "saml", "directory", "oidc", "gateway", "tokenx", "Token"};
    for (size_t i = 0; i < sizeof not_token / sizeof *not_token; i++) {
        kit.caller = not_token[i];
        reply = dir_testkit_rpc(&kit, &request);
        SSO_CHECK(reply && !strcmp(reply->error, "access_denied") && !reply->keys_list
                  && strstr(reply->error_description, "token"));
        sso__dir_reply__free_unpacked(reply, NULL);
    }
    kit.caller = "token";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !*reply->error && reply->keys_list && reply->keys_list->n_keys == 1
              && pem && !strcmp(reply->keys_list->keys[0]->private_key_pem, pem));
    sso__dir_reply__free_unpacked(reply, NULL);
    key.kid = "kid-2";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && reply->keys_list && reply->keys_list->n_keys == 1
              && !strcmp(reply->keys_list->keys[0]->kid, "kid-1"));
    sso__dir_reply__free_unpacked(reply, NULL);
    put.key = NULL;
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);

    /* keys_list: public only unless asked; the token service's alone either way (it serves
       /keys), so the private keys are only ever the token service's. */
    Sso__KeysListRequest list = SSO__KEYS_LIST_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_KEYS_LIST;
    request.keys_list = &list;
    kit.caller = "token";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && reply->keys_list && reply->keys_list->n_keys == 1
              && !*reply->keys_list->keys[0]->private_key_pem);
    sso__dir_reply__free_unpacked(reply, NULL);
    kit.caller = "saml";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !strcmp(reply->error, "access_denied") && !reply->keys_list);
    sso__dir_reply__free_unpacked(reply, NULL);
    list.with_private = true;
    for (size_t i = 0; i < sizeof not_token / sizeof *not_token; i++) {
        kit.caller = not_token[i];
        reply = dir_testkit_rpc(&kit, &request);
        SSO_CHECK(reply && !strcmp(reply->error, "access_denied") && !reply->keys_list);
        sso__dir_reply__free_unpacked(reply, NULL);
    }
    kit.caller = "token";
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && reply->keys_list && reply->keys_list->n_keys == 1 && pem
              && !strcmp(reply->keys_list->keys[0]->private_key_pem, pem));
    sso__dir_reply__free_unpacked(reply, NULL);
    /* The simulator's key is the saml service's alone. */
    Sso__SimulatorKeyRequest sim = SSO__SIMULATOR_KEY_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_SIMULATOR_KEY;
    request.simulator_key = &sim;
    reply = dir_testkit_rpc(&kit, &request);
    SSO_CHECK(reply && !strcmp(reply->error, "access_denied") && !reply->simulator_key);
    sso__dir_reply__free_unpacked(reply, NULL);

    s_test_callers(&kit);

    /* Junk and empty requests get invalid_request, not a crash. */
    zframe_t *junk = zframe_new("\xff\xff\xff", 3);
    zframe_t *frame = dir_rpc_router_handle(kit.dir, "token", "keys_list", junk);
    reply = frame ? sso__dir_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);
    zframe_destroy(&frame);
    zframe_destroy(&junk);
    Sso__DirRequest empty = SSO__DIR_REQUEST__INIT;
    reply = dir_testkit_rpc(&kit, &empty);
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);
    free(pem);
    dir_testkit_close(&kit);
}
