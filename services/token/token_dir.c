#include "token_dir.h"
#include "sso_directory_client.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_test.h"

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
    (void) service;
    (void) idempotent;
    (void) request;
    *reply_p = NULL;
    return !strcmp(rpc, "slow") ? 504 : 503;
}

void token_dir_test(bool verbose)
{
    (void) verbose;
    static const token_dir_ops_t fake = {s_fake_call, NULL};
    Sso__DirRequest request = SSO__DIR_REQUEST__INIT;
    Sso__DirReply *reply = (Sso__DirReply *) &request; /* must be reset to NULL */
    token_dir_set(&fake);
    SSO_CHECK(token_dir_call(NULL, "slow", true, &request, &reply) == 504 && !reply);
    SSO_CHECK(token_dir_call(NULL, "x", true, &request, &reply) == 503);
    token_dir_set(NULL);
    SSO_CHECK(s_ops == &s_real);
}
