/* dir_rpc_router: an RPC's bus name in, its typed handler run, the packed reply out. */
#include "dir_rpc_router.h"
#include "api/dir_clients.h"
#include "api/dir_scim_dirs.h"
#include "api/dir_signing_api.h"
#include "dir_rpc.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "dashboard/dir_dash_try.h"
#include "login/dir_codes.h"
#include "login/dir_events.h"
#include "login/dir_housekeeping.h"
#include "login/dir_idp_initiated.h"
#include "login/dir_login.h"
#include "login/dir_steps.h"
#include "login/dir_tests.h"
#include "login/dir_tokens.h"
#include "login/dir_txn.h"
#include "scim/dir_scim_groups.h"
#include "scim/dir_scim_users.h"
#include "vault/dir_signing.h"
#include "sso_bus.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"

static DIR_RPC_FN(s_client_auth, Sso__ClientAuthRequest, Sso__ClientAuthReply)
{
    int64_t retry_after = 0;
    Sso__ClientAuthReply *auth = dir_clients_auth(dir, in->client_id, in->client_secret,
                                                  in->client_address, &retry_after);
    if (!auth) {
        dir_rpc_error(err, "server_error", "cannot read the clients");
        return -1;
    }
    if (retry_after > 0) {
        sso__client_auth_reply__free_unpacked(auth, NULL);
        dir_clients_limited(err, retry_after);
        return -1;
    }
    *out = *auth; /* its fields move to out */
    free(auth);
    return 0;
}

/* The signing keys into out (public only unless with_private). */
static int s_keys(dir_t *dir, bool with_private, Sso__KeysListReply *out, dir_error_t *err)
{
    Sso__KeysListReply *keys = dir_signing_list(dir, with_private);
    if (!keys) {
        dir_rpc_error(err, "server_error", "cannot read the signing keys");
        return -1;
    }
    *out = *keys;
    free(keys);
    return 0;
}

static DIR_RPC_FN(s_keys_list, Sso__KeysListRequest, Sso__KeysListReply)
{
    return s_keys(dir, in->with_private, out, err);
}

static DIR_RPC_FN(s_key_put, Sso__KeyPutRequest, Sso__KeysListReply)
{
    if (dir_signing_put(dir, in->key, in->only_if_none, err) != 0)
        return -1;
    return s_keys(dir, true, out, err);
}

static DIR_RPC_FN(s_token_issue, Sso__TokenIssueRequest, Sso__TokenIssueReply)
{
    if (dir_tokens_issue(dir, in->client_id, in->scope, in->ttl_seconds, in->claims_json,
                         in->code_hash, &out->access_token, err) != 0)
        return -1;
    out->expires_in = in->ttl_seconds;
    return 0;
}

/* ---- the operations, by proto service -------------------------------------------------- */

/* What a handler runs with: the generated service structs call handlers with this as their
   closure data. */
typedef struct {
    dir_t *dir;
    ProtobufCMessage *out;
    dir_error_t *err;
    int rc;
} s_call_t;

/* The function the generated service struct SSO__<GROUP>__INIT(prefix) wants for one method:
   it runs fn on the call's reply (the closure is not used: the router packs the reply). */
#define S_HANDLER(prefix, method, fn, Service, Request, Reply)                                \
    static void prefix##method(Service *service, const Request *in, Reply##_Closure done,      \
                               void *data)                                                    \
    {                                                                                         \
        (void) service;                                                                       \
        (void) done;                                                                          \
        s_call_t *call = data;                                                                \
        call->rc = fn(call->dir, in, (Reply *) call->out, call->err);                         \
    }

S_HANDLER(s_token_reads_, client_auth, s_client_auth, Sso__TokenReads_Service,
          Sso__ClientAuthRequest, Sso__ClientAuthReply)
S_HANDLER(s_token_reads_, bearer_check, dir_tokens_bearer_check, Sso__TokenReads_Service,
          Sso__BearerCheckRequest, Sso__BearerCheckReply)
S_HANDLER(s_token_reads_, access_token_check, dir_tokens_access_check, Sso__TokenReads_Service,
          Sso__AccessTokenCheckRequest, Sso__AccessTokenCheckReply)
S_HANDLER(s_token_reads_, keys_list, s_keys_list, Sso__TokenReads_Service, Sso__KeysListRequest,
          Sso__KeysListReply)
S_HANDLER(s_token_writes_, authorize_begin, dir_steps_authorize_begin, Sso__TokenWrites_Service,
          Sso__AuthorizeBeginRequest, Sso__AuthorizeBeginReply)
S_HANDLER(s_token_writes_, code_redeem, dir_codes_redeem, Sso__TokenWrites_Service,
          Sso__CodeRedeemRequest, Sso__CodeRedeemReply)
S_HANDLER(s_token_writes_, token_issue, s_token_issue, Sso__TokenWrites_Service,
          Sso__TokenIssueRequest, Sso__TokenIssueReply)
S_HANDLER(s_token_writes_, key_put, s_key_put, Sso__TokenWrites_Service, Sso__KeyPutRequest,
          Sso__KeysListReply)
S_HANDLER(s_token_writes_, key_rotate, dir_signing_api_key_rotate, Sso__TokenWrites_Service,
          Sso__KeyRotateRequest, Sso__KeyRotateReply)
S_HANDLER(s_token_writes_, test_begin, dir_tests_begin, Sso__TokenWrites_Service,
          Sso__TestBeginRequest, Sso__LoginContextReply)
S_HANDLER(s_token_writes_, try_redeem, dir_dash_try_redeem, Sso__TokenWrites_Service,
          Sso__TryRedeemRequest, Sso__CodeRedeemReply)
S_HANDLER(s_upstream_reads_, login_context, dir_steps_login_context, Sso__UpstreamReads_Service,
          Sso__LoginContextRequest, Sso__LoginContextReply)
S_HANDLER(s_upstream_reads_, connection_get, dir_login_connection_get,
          Sso__UpstreamReads_Service, Sso__ConnectionGetRequest, Sso__ConnectionReply)
S_HANDLER(s_upstream_writes_, login_complete, dir_txn_login_complete,
          Sso__UpstreamWrites_Service, Sso__LoginCompleteRequest, Sso__LoginRedirectReply)
S_HANDLER(s_upstream_writes_, login_fail, dir_txn_login_fail, Sso__UpstreamWrites_Service,
          Sso__LoginFailRequest, Sso__LoginRedirectReply)
S_HANDLER(s_upstream_writes_, idp_initiated, dir_idp_initiated, Sso__UpstreamWrites_Service,
          Sso__IdpInitiatedRequest, Sso__IdpInitiatedReply)
S_HANDLER(s_event_writes_, event_record, dir_events_record, Sso__EventWrites_Service, Sso__Event,
          Sso__EventReply)
S_HANDLER(s_simulator_reads_, simulator_key, dir_seed_simulator_key,
          Sso__SimulatorReads_Service, Sso__SimulatorKeyRequest, Sso__SimulatorKeyReply)
S_HANDLER(s_scim_reads_, scim_authenticate, dir_scim_dirs_authenticate, Sso__ScimReads_Service,
          Sso__ScimAuthenticateRequest, Sso__ScimAuthenticateReply)
S_HANDLER(s_scim_reads_, scim_user_get, dir_scim_users_get, Sso__ScimReads_Service,
          Sso__ScimUserGetRequest, Sso__ScimUserReply)
S_HANDLER(s_scim_reads_, scim_user_list, dir_scim_users_list, Sso__ScimReads_Service,
          Sso__ScimUserListRequest, Sso__ScimUserListReply)
S_HANDLER(s_scim_writes_, scim_user_create, dir_scim_users_create, Sso__ScimWrites_Service,
          Sso__ScimUserWrite, Sso__ScimUserReply)
S_HANDLER(s_scim_writes_, scim_user_replace, dir_scim_users_replace, Sso__ScimWrites_Service,
          Sso__ScimUserWrite, Sso__ScimUserReply)
S_HANDLER(s_scim_writes_, scim_user_delete, dir_scim_users_delete, Sso__ScimWrites_Service,
          Sso__ScimUserDeleteRequest, Sso__ScimUserReply)
S_HANDLER(s_scim_reads_, scim_group_get, dir_scim_groups_get, Sso__ScimReads_Service,
          Sso__ScimGroupGetRequest, Sso__ScimGroupReply)
S_HANDLER(s_scim_reads_, scim_group_list, dir_scim_groups_list, Sso__ScimReads_Service,
          Sso__ScimGroupListRequest, Sso__ScimGroupListReply)
S_HANDLER(s_scim_writes_, scim_group_create, dir_scim_groups_create, Sso__ScimWrites_Service,
          Sso__ScimGroupWrite, Sso__ScimGroupReply)
S_HANDLER(s_scim_writes_, scim_group_update, dir_scim_groups_update, Sso__ScimWrites_Service,
          Sso__ScimGroupWrite, Sso__ScimGroupReply)
S_HANDLER(s_scim_writes_, scim_group_delete, dir_scim_groups_delete, Sso__ScimWrites_Service,
          Sso__ScimGroupDeleteRequest, Sso__ScimGroupReply)

/* A method missing here does not compile: the INIT macros name every one. */
static Sso__TokenReads_Service s_token_reads = SSO__TOKEN_READS__INIT(s_token_reads_);
static Sso__TokenWrites_Service s_token_writes = SSO__TOKEN_WRITES__INIT(s_token_writes_);
static Sso__UpstreamReads_Service s_upstream_reads = SSO__UPSTREAM_READS__INIT(s_upstream_reads_);
static Sso__UpstreamWrites_Service s_upstream_writes =
    SSO__UPSTREAM_WRITES__INIT(s_upstream_writes_);
static Sso__EventWrites_Service s_event_writes = SSO__EVENT_WRITES__INIT(s_event_writes_);
static Sso__SimulatorReads_Service s_simulator_reads =
    SSO__SIMULATOR_READS__INIT(s_simulator_reads_);
static Sso__ScimReads_Service s_scim_reads = SSO__SCIM_READS__INIT(s_scim_reads_);
static Sso__ScimWrites_Service s_scim_writes = SSO__SCIM_WRITES__INIT(s_scim_writes_);

/* The roles that call the directory; a group's callers are bits, role i being 1 << i.
   The service loop takes the same list (directory_service.rpc_callers). */
const char *const dir_rpc_router_callers[] = {"token", "saml", "oidc", "scim", NULL};
enum { S_TOKEN = 1, S_SAML = 2, S_OIDC = 4, S_SCIM = 8, S_UPSTREAM = S_SAML | S_OIDC };
#define S_ROLES 4 /* in dir_rpc_router_callers */

/* The proto services and the roles that may call each: what each role's code calls (the
   oidc service: the upstream login's steps, as saml's), so that a stolen key of one service
   cannot use another's operations (the saml key cannot issue a management token, the token
   key cannot complete a login). A Reads group runs in one read transaction; the others write
   (housekeeping runs alongside). docs/ARCHITECTURE.md ("Who may call what") says the same. */
static ProtobufCService *const s_services[] = {
    &s_token_reads.base,    &s_token_writes.base, &s_upstream_reads.base,
    &s_upstream_writes.base, &s_event_writes.base, &s_simulator_reads.base,
    &s_scim_reads.base,     &s_scim_writes.base,
};
static const unsigned s_callers[] = {S_TOKEN,    S_TOKEN,
                                     S_UPSTREAM, S_UPSTREAM,
                                     S_TOKEN | S_UPSTREAM, S_SAML,
                                     S_SCIM, S_SCIM};
#define S_SERVICES (sizeof s_services / sizeof *s_services)

static unsigned s_role_bit(const char *caller)
{
    for (size_t i = 0; caller && i < S_ROLES; i++)
        if (!strcmp(caller, dir_rpc_router_callers[i]))
            return (1u << i);
    return 0;
}

const char *dir_rpc_router_caller_of(const char *rpc)
{
    size_t g;
    unsigned m;
    if (sso_rpc_find(s_services, S_SERVICES, rpc, &g, &m) != 0)
        return NULL;
    for (size_t i = 0; i < S_ROLES; i++)
        if (s_callers[g] & (1u << i))
            return dir_rpc_router_callers[i];
    return NULL;
}

const ProtobufCMethodDescriptor *dir_rpc_router_method(const char *rpc)
{
    size_t g;
    unsigned m;
    if (sso_rpc_find(s_services, S_SERVICES, rpc, &g, &m) != 0)
        return NULL;
    return &s_services[g]->descriptor->methods[m];
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

/* The connection a reply carries, if any: any field of type sso.Connection. */
static const Sso__Connection *s_reply_connection(const ProtobufCMessage *reply)
{
    const ProtobufCMessageDescriptor *desc = reply->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == &sso__connection__descriptor
            && f->label == PROTOBUF_C_LABEL_NONE)
            return *(const Sso__Connection *const *) ((const char *) reply + f->offset);
    }
    return NULL;
}

/* A connection's secrets go only to the service of its type, which uses them: the saml
   service signs AuthnRequests and decrypts assertions with the SP key, the oidc service
   redeems upstream codes with the client secret or signs its client assertions with the
   client key. Checked on every answer, whichever
   operation made it, so no composite can carry them elsewhere. */
static bool s_secrets_allowed(const ProtobufCMessage *reply, const char *caller)
{
    const Sso__Connection *c = s_reply_connection(reply);
    bool secrets = c && ((c->sp_private_key_pem && *c->sp_private_key_pem)
                         || (c->oidc_client_secret && *c->oidc_client_secret)
                         || (c->oidc_client_key_pem && *c->oidc_client_key_pem));
    return !secrets || (caller && c->type && !strcmp(caller, c->type));
}

/* An answer that carries only an error. */
static zframe_t *s_error(const ProtobufCMessageDescriptor *desc, const char *code,
                         const char *description)
{
    dir_error_t err = {0};
    dir_rpc_error(&err, code, "%s", description);
    return dir_rpc_error_frame(desc, &err);
}

/* Runs method m of group g on request (unpacked); the packed reply. */
static zframe_t *s_run(dir_t *dir, size_t g, unsigned m, const char *rpc,
                       const ProtobufCMessage *request, const char *caller)
{
    ProtobufCService *service = s_services[g];
    const ProtobufCMethodDescriptor *method = &service->descriptor->methods[m];
    bool write = !sso_rpc_idempotent(service->descriptor);
    if (write)
        dir_housekeeping_run(dir, false);
    ProtobufCMessage *out = calloc(1, method->output->sizeof_message);
    if (!out)
        return s_error(method->output, "server_error", "out of memory");
    protobuf_c_message_init(method->output, out);
    dir_error_t err = {0};
    s_call_t call = {dir, out, &err, -1};
    /* A read operation runs in one read transaction: one snapshot for its several queries, and
       one round of WAL locking instead of one per statement. Writes take their own. */
    bool read_txn = !write && dir_db_begin_read(dir->db) == 0;
    service->invoke(service, m, request, NULL, &call);
    /* Committed, not rolled back: should a read operation ever write, nothing is lost. */
    if (read_txn && dir_db_commit(dir->db) != 0)
        sso_warn("rpc %s: the read transaction did not commit", rpc);
    zframe_t *frame;
    if (call.rc != 0)
        frame = dir_rpc_error_frame(method->output, &err);
    else if (!s_secrets_allowed(out, caller)) {
        char owner[32], description[200];
        const Sso__Connection *c = s_reply_connection(out);
        snprintf(owner, sizeof owner, "%.16s service", c->type);
        snprintf(description, sizeof description, "the secrets of connection %.100s are only "
                 "for the %s", c->id, owner);
        s_refused(rpc, owner, caller);
        frame = s_error(method->output, "access_denied", description);
    }
    else
        frame = sso_frame_pack(out);
    protobuf_c_message_free_unpacked(out, NULL);
    return frame;
}

zframe_t *dir_rpc_router_handle(dir_t *dir, const char *caller, const char *rpc, zframe_t *payload)
{
    size_t g;
    unsigned m;
    if (sso_rpc_find(s_services, S_SERVICES, rpc, &g, &m) != 0) {
        sso_warn("rpc %.64s: no such operation; refused", rpc ? rpc : "(none)");
        Sso__RpcRefusal refusal = SSO__RPC_REFUSAL__INIT;
        refusal.error = SSO__RPC_ERROR__INVALID_REQUEST;
        refusal.error_description = "the directory has no such operation";
        return sso_frame_pack(&refusal.base);
    }
    const ProtobufCMethodDescriptor *method = &s_services[g]->descriptor->methods[m];
    if (!(s_role_bit(caller) & s_callers[g])) {
        char callers[64], description[128];
        s_callers_text(s_callers[g], callers, sizeof callers);
        s_refused(rpc, callers, caller);
        snprintf(description, sizeof description, "%s is only for the %s", rpc, callers);
        return s_error(method->output, "access_denied", description);
    }
    ProtobufCMessage *request =
        payload ? protobuf_c_message_unpack(method->input, NULL, zframe_size(payload),
                                            zframe_data(payload))
                : NULL;
    if (!request) {
        char description[128];
        snprintf(description, sizeof description, "the request is not a %s",
                 method->input->name);
        sso_warn("rpc %s: %s; refused", rpc, description);
        return s_error(method->output, "invalid_request", description);
    }
    zframe_t *frame = s_run(dir, g, m, rpc, request, caller);
    protobuf_c_message_free_unpacked(request, NULL);
    return frame;
}

/* Every operation answers only its roles: any other role, no role, a name like a role's, all
   get access_denied before the operation runs (an empty request of each kind: the check
   comes before any reading of it). */
static void s_test_callers(dir_testkit_t *kit)
{
    const char *const others[] = {"gateway", "directory", "", "Token", "saml ", NULL};
    size_t n_others = sizeof others / sizeof *others;
    for (size_t g = 0; g < S_SERVICES; g++) {
        const ProtobufCServiceDescriptor *sd = s_services[g]->descriptor;
        SSO_CHECK(s_callers[g] != 0);
        for (unsigned m = 0; m < sd->n_methods; m++) {
            char rpc[SSO_RPC_NAME_MAX];
            SSO_CHECK(sso_rpc_name(sd, m, rpc, sizeof rpc) == 0);
            ProtobufCMessage *op = calloc(1, sd->methods[m].input->sizeof_message);
            if (!op) {
                SSO_CHECK(op);
                return;
            }
            protobuf_c_message_init(sd->methods[m].input, op);
            for (size_t i = 0; i < S_ROLES + n_others; i++) {
                const char *caller =
                    i < n_others ? others[i] : dir_rpc_router_callers[i - n_others];
                bool allowed = s_role_bit(caller) & s_callers[g];
                kit->caller = caller ? caller : "";
                ProtobufCMessage *reply = dir_testkit_rpc(kit, rpc, op);
                bool refused = reply && !strcmp(dir_testkit_error(reply), "access_denied")
                               && strstr(dir_testkit_error_description(reply),
                                         " is only for the ");
                SSO_CHECK(reply && refused == !allowed);
                if (!reply || refused == allowed)
                    fprintf(stderr, "%s from %s: %s\n", rpc, caller ? caller : "(none)",
                            dir_testkit_error(reply));
                protobuf_c_message_free_unpacked(reply, NULL);
            }
            free(op);
        }
    }
    kit->caller = NULL;
    /* What the token service's code calls, and nothing the upstream services' calls do. */
    SSO_CHECK(!strcmp(dir_rpc_router_caller_of("TokenWrites.TokenIssue"), "token")
              && !strcmp(dir_rpc_router_caller_of("UpstreamWrites.LoginComplete"), "saml")
              && !strcmp(dir_rpc_router_caller_of("TokenWrites.AuthorizeBegin"), "token")
              && !strcmp(dir_rpc_router_caller_of("SimulatorReads.SimulatorKey"), "saml")
              && !dir_rpc_router_caller_of("TokenWrites.Nothing")
              && !dir_rpc_router_caller_of(NULL));
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
    /* ClientAuth: right, wrong, unknown. */
    const char *rpc = "TokenReads.ClientAuth";
    Sso__ClientAuthRequest auth = SSO__CLIENT_AUTH_REQUEST__INIT;
    auth.client_id = "rpc-admin";
    auth.client_secret = "rpc-admin-secret-0123456789";
    Sso__ClientAuthReply *authed = dir_testkit_rpc(&kit, rpc, &auth.base);
    SSO_CHECK(authed && !authed->error && authed->ok && authed->is_admin
              && !strcmp(authed->client_id, "rpc-admin"));
    sso__client_auth_reply__free_unpacked(authed, NULL);
    auth.client_secret = "wrong";
    authed = dir_testkit_rpc(&kit, rpc, &auth.base);
    SSO_CHECK(authed && !authed->error && !authed->ok && !authed->is_admin);
    sso__client_auth_reply__free_unpacked(authed, NULL);
    auth.client_id = "nobody";
    authed = dir_testkit_rpc(&kit, rpc, &auth.base);
    SSO_CHECK(authed && !authed->ok);
    sso__client_auth_reply__free_unpacked(authed, NULL);

    /* TokenIssue, then the token works on the management API. */
    rpc = "TokenWrites.TokenIssue";
    Sso__TokenIssueRequest issue = SSO__TOKEN_ISSUE_REQUEST__INIT;
    issue.client_id = "rpc-admin";
    issue.scope = "management";
    issue.ttl_seconds = 600;
    Sso__TokenIssueReply *issued = dir_testkit_rpc(&kit, rpc, &issue.base);
    SSO_CHECK(issued && !issued->error && !strncmp(issued->access_token, "at_", 3)
              && issued->expires_in == 600);
    if (issued && !issued->error) {
        free(kit.token);
        kit.token = strdup(issued->access_token);
        SSO_CHECK(dir_testkit_call(&kit, "GET", "/api/v1/organizations", NULL, NULL) == 200);
    }
    sso__token_issue_reply__free_unpacked(issued, NULL);
    issue.ttl_seconds = -5;
    SSO_CHECK(dir_testkit_rpc_error(&kit, rpc, &issue.base, "invalid_request", NULL));

    /* KeyPut with only_if_none, twice: the first key wins; the reply lists it privately. */
    char *pem = NULL;
    Sso__SigningKey key;
    SSO_CHECK(dir_testkit_signing_key(&key, "kid-1", "{\"kty\":\"RSA\"}", &pem) == 0);
    rpc = "TokenWrites.KeyPut";
    Sso__KeyPutRequest put = SSO__KEY_PUT_REQUEST__INIT;
    put.key = &key;
    put.only_if_none = true;
    /* Only the token service may store a signing key: the answer lists the private keys. */
    const char *not_token[] = {"", "saml", "directory", "oidc", "gateway", "tokenx", "Token"};
    for (size_t i = 0; i < sizeof not_token / sizeof *not_token; i++) {
        kit.caller = not_token[i];
        SSO_CHECK(dir_testkit_rpc_error(&kit, rpc, &put.base, "access_denied", "token"));
    }
    kit.caller = "token";
    Sso__KeysListReply *keys = dir_testkit_rpc(&kit, rpc, &put.base);
    SSO_CHECK(keys && !keys->error && keys->n_keys == 1 && pem
              && !strcmp(keys->keys[0]->private_key_pem, pem));
    sso__keys_list_reply__free_unpacked(keys, NULL);
    key.kid = "kid-2";
    keys = dir_testkit_rpc(&kit, rpc, &put.base);
    SSO_CHECK(keys && keys->n_keys == 1 && !strcmp(keys->keys[0]->kid, "kid-1"));
    sso__keys_list_reply__free_unpacked(keys, NULL);
    put.key = NULL;
    SSO_CHECK(dir_testkit_rpc_error(&kit, rpc, &put.base, "invalid_request", NULL));

    /* KeysList: public only unless asked; the token service's alone either way (it serves
       /keys), so the private keys are only ever the token service's. */
    rpc = "TokenReads.KeysList";
    Sso__KeysListRequest list = SSO__KEYS_LIST_REQUEST__INIT;
    kit.caller = "token";
    keys = dir_testkit_rpc(&kit, rpc, &list.base);
    SSO_CHECK(keys && keys->n_keys == 1 && !*keys->keys[0]->private_key_pem);
    sso__keys_list_reply__free_unpacked(keys, NULL);
    kit.caller = "saml";
    SSO_CHECK(dir_testkit_rpc_error(&kit, rpc, &list.base, "access_denied", NULL));
    list.with_private = true;
    for (size_t i = 0; i < sizeof not_token / sizeof *not_token; i++) {
        kit.caller = not_token[i];
        SSO_CHECK(dir_testkit_rpc_error(&kit, rpc, &list.base, "access_denied", NULL));
    }
    kit.caller = "token";
    keys = dir_testkit_rpc(&kit, rpc, &list.base);
    SSO_CHECK(keys && keys->n_keys == 1 && pem && !strcmp(keys->keys[0]->private_key_pem, pem));
    sso__keys_list_reply__free_unpacked(keys, NULL);
    /* The simulator's key is the saml service's alone. */
    Sso__SimulatorKeyRequest sim = SSO__SIMULATOR_KEY_REQUEST__INIT;
    SSO_CHECK(dir_testkit_rpc_error(&kit, "SimulatorReads.SimulatorKey", &sim.base,
                                    "access_denied", NULL));

    s_test_callers(&kit);

    /* Junk payloads get invalid_request as the operation's reply; unknown operations (the
       old names too) an RpcRefusal; no crash. */
    zframe_t *junk = zframe_new("\xff\xff\xff", 3);
    zframe_t *frame = dir_rpc_router_handle(kit.dir, "token", "TokenReads.KeysList", junk);
    keys = frame ? sso__keys_list_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
                 : NULL;
    SSO_CHECK(keys && keys->error == SSO__RPC_ERROR__INVALID_REQUEST
              && strstr(keys->error_description, "sso.KeysListRequest"));
    sso__keys_list_reply__free_unpacked(keys, NULL);
    zframe_destroy(&frame);
    const char *unknown[] = {"keys_list", "", NULL, "TokenReads.", "TokenReads.Nope",
                             "TokenWrites.KeysList", "txn_create", "UpstreamReads.TxnGet"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        frame = dir_rpc_router_handle(kit.dir, "token", unknown[i], junk);
        Sso__RpcRefusal *refusal =
            frame ? sso__rpc_refusal__unpack(NULL, zframe_size(frame), zframe_data(frame))
                  : NULL;
        SSO_CHECK(refusal && refusal->error == SSO__RPC_ERROR__INVALID_REQUEST
                  && strstr(refusal->error_description, "no such operation"));
        sso__rpc_refusal__free_unpacked(refusal, NULL);
        zframe_destroy(&frame);
    }
    zframe_destroy(&junk);
    /* An empty payload is an empty request: answered by the operation's own checks. */
    frame = dir_rpc_router_handle(kit.dir, "token", "TokenWrites.KeyPut", NULL);
    keys = frame ? sso__keys_list_reply__unpack(NULL, zframe_size(frame), zframe_data(frame))
                 : NULL;
    SSO_CHECK(keys && keys->error == SSO__RPC_ERROR__INVALID_REQUEST);
    sso__keys_list_reply__free_unpacked(keys, NULL);
    zframe_destroy(&frame);
    free(pem);
    dir_testkit_close(&kit);
}
