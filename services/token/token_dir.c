#include "token_dir.h"
#include "sso_directory_client.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"
#include "token_testkit.h"

zframe_t *token_dir_unavailable(int status)
{
    return sso_http_error(status == 504 ? 504 : 503, "temporarily_unavailable",
                          "the directory service is not available; try again shortly");
}

static int s_start(sso_service_t *service, const char *target, const char *rpc,
                   const Sso__SamlStartRequest *request, Sso__SamlStartReply **reply_p)
{
    *reply_p = NULL;
    zframe_t *reply = NULL;
    /* Not idempotent: starting twice would make two AuthnRequests for one transaction. */
    sso_call_status_t status = sso_service_call(service, target, rpc, false, &request->base,
                                                &reply);
    if (status != SSO_CALL_OK)
        return (int) status;
    *reply_p = sso__saml_start_reply__unpack(NULL, zframe_size(reply), zframe_data(reply));
    zframe_destroy(&reply);
    if (!*reply_p) {
        sso_warn("%s reply to %s does not unpack", target, rpc);
        return 502;
    }
    return 0;
}

static const token_dir_ops_t s_real = {sso_directory_call, s_start};
static const token_dir_ops_t *s_ops = &s_real;

void token_dir_set(const token_dir_ops_t *ops)
{
    s_ops = ops ? ops : &s_real;
}

int token_dir_call(sso_service_t *service, const char *rpc, bool idempotent,
                   const Sso__DirRequest *request, Sso__DirReply **reply_p)
{
    return s_ops->directory(service, rpc, idempotent, request, reply_p);
}

int token_dir_start(sso_service_t *service, const char *target, const char *rpc,
                    const Sso__SamlStartRequest *request, Sso__SamlStartReply **reply_p)
{
    return s_ops->start(service, target, rpc, request, reply_p);
}

static int s_fake_call(sso_service_t *service, const char *rpc, bool idempotent,
                       const Sso__DirRequest *request, Sso__DirReply **reply_p)
{
    (void) service, (void) rpc, (void) idempotent, (void) request;
    *reply_p = NULL;
    return 504;
}

/* Against the real directory: its answer, then the bus's statuses when it is off the bus
   (503) or past the deadline (504), with the reply left unset. */
void token_dir_test(bool verbose)
{
    (void) verbose;
    token_testkit_t kit;
    if (token_testkit_open(&kit) != 0)
        return;
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__KeysListRequest list = SSO__KEYS_LIST_REQUEST__INIT;
    request.op_case = SSO__DIR_REQUEST__OP_KEYS_LIST;
    request.keys_list = &list;
    Sso__DirReply *reply = NULL;
    SSO_CHECK(token_dir_call(&kit.service, "keys_list", true, &request, &reply) == 0 && reply
              && reply->result_case == SSO__DIR_REPLY__RESULT_KEYS_LIST);
    sso__dir_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_fake_stop(kit.dir) == 0);
    reply = (Sso__DirReply *) &request; /* must be reset to NULL */
    SSO_CHECK(token_dir_call(&kit.service, "keys_list", true, &request, &reply) == 503 && !reply);
    SSO_CHECK(dir_fake_start(kit.dir) == 0);
    kit.config.request_timeout_ms = TOKEN_TESTKIT_SHORT_DEADLINE_MS;
    dir_fake_hold(kit.dir, 2 * TOKEN_TESTKIT_SHORT_DEADLINE_MS);
    reply = (Sso__DirReply *) &request;
    SSO_CHECK(token_dir_call(&kit.service, "keys_list", true, &request, &reply) == 504 && !reply);
    kit.config.request_timeout_ms = TOKEN_TESTKIT_DEADLINE_MS;
    /* The upstream start, and the same statuses. */
    Sso__SamlStartRequest start = SSO__SAML_START_REQUEST__INIT;
    start.txn_id = "txn-1";
    Sso__SamlStartReply *started = NULL;
    SSO_CHECK(token_dir_start(&kit.service, "saml", "saml_start", &start, &started) == 0
              && started
              && !strcmp(started->redirect_url, "https://idp.test/saml?RelayState=txn-1"));
    sso__saml_start_reply__free_unpacked(started, NULL);
    SSO_CHECK(token_testkit_upstreams(&kit, false) == 0);
    started = (Sso__SamlStartReply *) &start;
    SSO_CHECK(token_dir_start(&kit.service, "oidc", "oidc_start", &start, &started) == 503
              && !started);
    /* A replaced bus is used until it is put back. */
    static const token_dir_ops_t fake = {s_fake_call, NULL};
    token_dir_set(&fake);
    SSO_CHECK(token_dir_call(&kit.service, "keys_list", true, &request, &reply) == 504);
    token_dir_set(NULL);
    SSO_CHECK(s_ops == &s_real);
    SSO_CHECK(token_dir_call(&kit.service, "keys_list", true, &request, &reply) == 0 && reply);
    sso__dir_reply__free_unpacked(reply, NULL);
    token_testkit_close(&kit);
}
