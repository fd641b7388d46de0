#include "sso_clients.h"
#include "sso_rpc.h"
#include "sso_test.h"

/* One client function: the generated stub sso__<group>__<method> names the operation (from
   the .proto), its closure hands the reply over to the caller. */
#define S_CLIENT(name, group, method, Request, Reply, target)                               \
    static void s_##name##_done(const Reply *reply, void *data)                              \
    {                                                                                        \
        *(Reply **) data = (Reply *) reply;                                                  \
    }                                                                                        \
    SSO_CLIENT_FN(name, Request, Reply)                                                      \
    {                                                                                        \
        sso_rpc_client_t client;                                                             \
        sso_rpc_client_init(&client, &group##__descriptor, service, target);                 \
        *reply_p = NULL;                                                                     \
        group##__##method(&client.base, request, s_##name##_done, reply_p);                  \
        return client.status;                                                                \
    }

S_CLIENT(sso_dir_client_auth, sso__token_reads, client_auth, Sso__ClientAuthRequest,
         Sso__ClientAuthReply, "directory")
S_CLIENT(sso_dir_bearer_check, sso__token_reads, bearer_check, Sso__BearerCheckRequest,
         Sso__BearerCheckReply, "directory")
S_CLIENT(sso_dir_access_token_check, sso__token_reads, access_token_check,
         Sso__AccessTokenCheckRequest, Sso__AccessTokenCheckReply, "directory")
S_CLIENT(sso_dir_keys_list, sso__token_reads, keys_list, Sso__KeysListRequest,
         Sso__KeysListReply, "directory")
S_CLIENT(sso_dir_authorize_begin, sso__token_writes, authorize_begin,
         Sso__AuthorizeBeginRequest, Sso__AuthorizeBeginReply, "directory")
S_CLIENT(sso_dir_code_redeem, sso__token_writes, code_redeem, Sso__CodeRedeemRequest,
         Sso__CodeRedeemReply, "directory")
S_CLIENT(sso_dir_token_issue, sso__token_writes, token_issue, Sso__TokenIssueRequest,
         Sso__TokenIssueReply, "directory")
S_CLIENT(sso_dir_key_put, sso__token_writes, key_put, Sso__KeyPutRequest, Sso__KeysListReply,
         "directory")
S_CLIENT(sso_dir_key_rotate, sso__token_writes, key_rotate, Sso__KeyRotateRequest,
         Sso__KeyRotateReply, "directory")
S_CLIENT(sso_dir_test_begin, sso__token_writes, test_begin, Sso__TestBeginRequest,
         Sso__LoginContextReply, "directory")
S_CLIENT(sso_dir_try_redeem, sso__token_writes, try_redeem, Sso__TryRedeemRequest,
         Sso__CodeRedeemReply, "directory")
S_CLIENT(sso_dir_login_context, sso__upstream_reads, login_context, Sso__LoginContextRequest,
         Sso__LoginContextReply, "directory")
S_CLIENT(sso_dir_connection_get, sso__upstream_reads, connection_get, Sso__ConnectionGetRequest,
         Sso__ConnectionReply, "directory")
S_CLIENT(sso_dir_login_complete, sso__upstream_writes, login_complete,
         Sso__LoginCompleteRequest, Sso__LoginRedirectReply, "directory")
S_CLIENT(sso_dir_login_fail, sso__upstream_writes, login_fail, Sso__LoginFailRequest,
         Sso__LoginRedirectReply, "directory")
S_CLIENT(sso_dir_idp_initiated, sso__upstream_writes, idp_initiated, Sso__IdpInitiatedRequest,
         Sso__IdpInitiatedReply, "directory")
S_CLIENT(sso_token_idp_initiated_login, sso__token_sign, idp_initiated_login,
         Sso__IdpInitiatedLoginRequest, Sso__IdpInitiatedLoginReply, "token")
S_CLIENT(sso_dir_event_record, sso__event_writes, event_record, Sso__Event, Sso__EventReply,
         "directory")
S_CLIENT(sso_dir_simulator_key, sso__simulator_reads, simulator_key, Sso__SimulatorKeyRequest,
         Sso__SimulatorKeyReply, "directory")
S_CLIENT(sso_dir_scim_authenticate, sso__scim_reads, scim_authenticate,
         Sso__ScimAuthenticateRequest, Sso__ScimAuthenticateReply, "directory")
S_CLIENT(sso_dir_scim_user_get, sso__scim_reads, scim_user_get, Sso__ScimUserGetRequest,
         Sso__ScimUserReply, "directory")
S_CLIENT(sso_dir_scim_user_list, sso__scim_reads, scim_user_list, Sso__ScimUserListRequest,
         Sso__ScimUserListReply, "directory")
S_CLIENT(sso_dir_scim_user_create, sso__scim_writes, scim_user_create, Sso__ScimUserWrite,
         Sso__ScimUserReply, "directory")
S_CLIENT(sso_dir_scim_user_replace, sso__scim_writes, scim_user_replace, Sso__ScimUserWrite,
         Sso__ScimUserReply, "directory")
S_CLIENT(sso_dir_scim_user_delete, sso__scim_writes, scim_user_delete,
         Sso__ScimUserDeleteRequest, Sso__ScimUserReply, "directory")
S_CLIENT(sso_dir_scim_group_get, sso__scim_reads, scim_group_get, Sso__ScimGroupGetRequest,
         Sso__ScimGroupReply, "directory")
S_CLIENT(sso_dir_scim_group_list, sso__scim_reads, scim_group_list, Sso__ScimGroupListRequest,
         Sso__ScimGroupListReply, "directory")
S_CLIENT(sso_dir_scim_group_create, sso__scim_writes, scim_group_create, Sso__ScimGroupWrite,
         Sso__ScimGroupReply, "directory")
S_CLIENT(sso_dir_scim_group_update, sso__scim_writes, scim_group_update, Sso__ScimGroupWrite,
         Sso__ScimGroupReply, "directory")
S_CLIENT(sso_dir_scim_group_delete, sso__scim_writes, scim_group_delete,
         Sso__ScimGroupDeleteRequest, Sso__ScimGroupReply, "directory")

static void s_start_done(const Sso__UpstreamStartReply *reply, void *data)
{
    *(Sso__UpstreamStartReply **) data = (Sso__UpstreamStartReply *) reply;
}

int sso_upstream_start(sso_service_t *service, const char *target,
                       const Sso__UpstreamStartRequest *request, Sso__UpstreamStartReply **reply_p)
{
    sso_rpc_client_t client;
    sso_rpc_client_init(&client, &sso__upstream_start__descriptor, service, target);
    *reply_p = NULL;
    sso__upstream_start__start(&client.base, request, s_start_done, reply_p);
    return client.status;
}

void sso_clients_test(bool verbose)
{
    (void) verbose;
    /* Without a bus every call says so, and leaves no reply behind. */
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    Sso__CodeRedeemReply *grant = (Sso__CodeRedeemReply *) &redeem;
    SSO_CHECK(sso_dir_code_redeem(NULL, &redeem, &grant) == 503 && !grant);
    Sso__UpstreamStartRequest start = SSO__UPSTREAM_START_REQUEST__INIT;
    Sso__UpstreamStartReply *started = (Sso__UpstreamStartReply *) &start;
    SSO_CHECK(sso_upstream_start(NULL, "saml", &start, &started) == 503 && !started);
    Sso__ScimAuthenticateRequest scim = SSO__SCIM_AUTHENTICATE_REQUEST__INIT;
    Sso__ScimAuthenticateReply *authed = (Sso__ScimAuthenticateReply *) &scim;
    SSO_CHECK(sso_dir_scim_authenticate(NULL, &scim, &authed) == 503 && !authed);
}
