/* dir_rpc: DirRequest in, DirReply out. */
#include "dir_rpc.h"
#include "dir_clients.h"
#include "dir_signing.h"
#include "dir_testkit.h"
#include "dir_tokens.h"
#include "directory.pb-c.h"
#include "sso_bus.h"
#include "sso_log.h"
#include "sso_test.h"

static const char *s_op_names[] = {
    [SSO__DIR_REQUEST__OP_CLIENT_AUTH] = "client_auth",
    [SSO__DIR_REQUEST__OP_KEYS_LIST] = "keys_list",
    [SSO__DIR_REQUEST__OP_KEY_PUT] = "key_put",
    [SSO__DIR_REQUEST__OP_TOKEN_ISSUE] = "token_issue",
};

static zframe_t *s_error(const char *code, const char *description)
{
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    reply.error = (char *) code;
    reply.error_description = (char *) description;
    return sso_frame_pack(&reply.base);
}

/* Packs reply, whose result is result, then frees result: the reply only borrowed it. A NULL
   result (the read failed) is a server_error saying why. */
static zframe_t *s_pack_result(Sso__DirReply *reply, ProtobufCMessage *result, const char *why)
{
    if (!result)
        return s_error("server_error", why);
    zframe_t *frame = sso_frame_pack(&reply->base);
    protobuf_c_message_free_unpacked(result, NULL);
    return frame;
}

static zframe_t *s_keys_reply(dir_t *dir, bool with_private)
{
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    reply.result_case = SSO__DIR_REPLY__RESULT_KEYS_LIST;
    reply.keys_list = dir_signing_list(dir, with_private);
    return s_pack_result(&reply, (ProtobufCMessage *) reply.keys_list,
                         "cannot read the signing keys");
}

static zframe_t *s_client_auth(dir_t *dir, const Sso__ClientAuthRequest *request)
{
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    reply.result_case = SSO__DIR_REPLY__RESULT_CLIENT_AUTH;
    reply.client_auth = dir_clients_auth(dir, request->client_id, request->client_secret);
    return s_pack_result(&reply, (ProtobufCMessage *) reply.client_auth,
                         "cannot read the clients");
}

static zframe_t *s_token_issue(dir_t *dir, const Sso__TokenIssueRequest *request)
{
    dir_error_t err = {0};
    char *token = NULL;
    if (dir_tokens_issue(dir, request->client_id, request->scope, request->ttl_seconds, &token,
                         &err) != 0)
        return s_error(err.code, err.description);
    Sso__TokenIssueReply issued = SSO__TOKEN_ISSUE_REPLY__INIT;
    issued.access_token = token;
    issued.expires_in = request->ttl_seconds;
    Sso__DirReply reply = SSO__DIR_REPLY__INIT;
    reply.result_case = SSO__DIR_REPLY__RESULT_TOKEN_ISSUE;
    reply.token_issue = &issued;
    zframe_t *frame = sso_frame_pack(&reply.base);
    free(token);
    return frame;
}

zframe_t *dir_rpc_handle(dir_t *dir, const char *rpc, zframe_t *payload)
{
    Sso__DirRequest *request =
        payload ? sso__dir_request__unpack(NULL, zframe_size(payload), zframe_data(payload))
                : NULL;
    if (!request) {
        sso_warn("rpc %s: the DirRequest does not unpack; refused", rpc ? rpc : "?");
        return s_error("invalid_request", "the request is not a DirRequest");
    }
    if (request->op_case > 0 && (size_t) request->op_case < sizeof s_op_names / sizeof *s_op_names
        && s_op_names[request->op_case] && rpc && *rpc
        && strcmp(rpc, s_op_names[request->op_case]) != 0)
        sso_warn("rpc named %s carries %s; doing %s", rpc, s_op_names[request->op_case],
                 s_op_names[request->op_case]);
    zframe_t *reply;
    switch (request->op_case) {
    case SSO__DIR_REQUEST__OP_CLIENT_AUTH:
        reply = s_client_auth(dir, request->client_auth);
        break;
    case SSO__DIR_REQUEST__OP_KEYS_LIST:
        reply = s_keys_reply(dir, request->keys_list->with_private);
        break;
    case SSO__DIR_REQUEST__OP_KEY_PUT: {
        dir_error_t err = {0};
        if (dir_signing_put(dir, request->key_put->key, request->key_put->only_if_none, &err)
            != 0)
            reply = s_error(err.code, err.description);
        else
            reply = s_keys_reply(dir, true);
        break;
    }
    case SSO__DIR_REQUEST__OP_TOKEN_ISSUE:
        reply = s_token_issue(dir, request->token_issue);
        break;
    default:
        reply = s_error("invalid_request", "the DirRequest names no known operation");
        break;
    }
    sso__dir_request__free_unpacked(request, NULL);
    return reply;
}

/* Sends request through dir_rpc_handle and unpacks the reply. */
static Sso__DirReply *s_call(dir_t *dir, const char *rpc, const Sso__DirRequest *request)
{
    zframe_t *payload = sso_frame_pack(&request->base);
    zframe_t *frame = dir_rpc_handle(dir, rpc, payload);
    zframe_destroy(&payload);
    Sso__DirReply *reply =
        frame ? sso__dir_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    zframe_destroy(&frame);
    return reply;
}

void dir_rpc_test(bool verbose)
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
    Sso__DirReply *reply = s_call(kit.dir, "client_auth", &request);
    SSO_CHECK(reply && !*reply->error && reply->result_case == SSO__DIR_REPLY__RESULT_CLIENT_AUTH
              && reply->client_auth->ok && reply->client_auth->is_admin
              && !strcmp(reply->client_auth->client_id, "rpc-admin"));
    sso__dir_reply__free_unpacked(reply, NULL);
    auth.client_secret = "wrong";
    reply = s_call(kit.dir, "client_auth", &request);
    SSO_CHECK(reply && !*reply->error && reply->client_auth && !reply->client_auth->ok
              && !reply->client_auth->is_admin);
    sso__dir_reply__free_unpacked(reply, NULL);
    auth.client_id = "nobody";
    reply = s_call(kit.dir, "client_auth", &request);
    SSO_CHECK(reply && reply->client_auth && !reply->client_auth->ok);
    sso__dir_reply__free_unpacked(reply, NULL);

    /* token_issue, then the token works on the management API. */
    Sso__TokenIssueRequest issue = SSO__TOKEN_ISSUE_REQUEST__INIT;
    issue.client_id = "rpc-admin";
    issue.scope = "management";
    issue.ttl_seconds = 600;
    request.op_case = SSO__DIR_REQUEST__OP_TOKEN_ISSUE;
    request.token_issue = &issue;
    reply = s_call(kit.dir, "token_issue", &request);
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
    reply = s_call(kit.dir, "token_issue", &request);
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
    reply = s_call(kit.dir, "key_put", &request);
    SSO_CHECK(reply && !*reply->error && reply->keys_list && reply->keys_list->n_keys == 1
              && pem && !strcmp(reply->keys_list->keys[0]->private_key_pem, pem));
    sso__dir_reply__free_unpacked(reply, NULL);
    key.kid = "kid-2";
    reply = s_call(kit.dir, "key_put", &request);
    SSO_CHECK(reply && reply->keys_list && reply->keys_list->n_keys == 1
              && !strcmp(reply->keys_list->keys[0]->kid, "kid-1"));
    sso__dir_reply__free_unpacked(reply, NULL);
    put.key = NULL;
    reply = s_call(kit.dir, "key_put", &request);
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);

    /* keys_list: public only unless asked. */
    Sso__KeysListRequest list = SSO__KEYS_LIST_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_KEYS_LIST;
    request.keys_list = &list;
    reply = s_call(kit.dir, "keys_list", &request);
    SSO_CHECK(reply && reply->keys_list && reply->keys_list->n_keys == 1
              && !*reply->keys_list->keys[0]->private_key_pem);
    sso__dir_reply__free_unpacked(reply, NULL);

    /* Junk and empty requests get invalid_request, not a crash. */
    zframe_t *junk = zframe_new("\xff\xff\xff", 3);
    zframe_t *frame = dir_rpc_handle(kit.dir, "keys_list", junk);
    reply = frame ? sso__dir_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);
    zframe_destroy(&frame);
    zframe_destroy(&junk);
    Sso__DirRequest empty = SSO__DIR_REQUEST__INIT;
    reply = s_call(kit.dir, "whatever", &empty);
    SSO_CHECK(reply && !strcmp(reply->error, "invalid_request"));
    sso__dir_reply__free_unpacked(reply, NULL);
    free(pem);
    dir_testkit_close(&kit);
}
