/* sso_clients: a typed function for every RPC a service calls on another (proto/directory.proto,
   proto/saml.proto). Each returns 0 with *reply_p set (the caller frees it with the type's
   free_unpacked), whose error field may still carry the operation's own error (sso.RpcError),
   or the bus's status with *reply_p NULL: 503 (no instance), 504 (deadline), 502 (a reply
   that does not unpack). */
#ifndef SSO_CLIENTS_H
#define SSO_CLIENTS_H
#include "directory.pb-c.h"
#include "saml.pb-c.h"
#include "token.pb-c.h"
#include "sso_service.h"

#define SSO_CLIENT_FN(name, Request, Reply)                                                  \
    int name(sso_service_t *service, const Request *request, Reply **reply_p)

/* The directory: the token service's reads and writes. */
SSO_CLIENT_FN(sso_dir_client_auth, Sso__ClientAuthRequest, Sso__ClientAuthReply);
SSO_CLIENT_FN(sso_dir_bearer_check, Sso__BearerCheckRequest, Sso__BearerCheckReply);
SSO_CLIENT_FN(sso_dir_access_token_check, Sso__AccessTokenCheckRequest,
              Sso__AccessTokenCheckReply);
SSO_CLIENT_FN(sso_dir_keys_list, Sso__KeysListRequest, Sso__KeysListReply);
SSO_CLIENT_FN(sso_dir_authorize_begin, Sso__AuthorizeBeginRequest, Sso__AuthorizeBeginReply);
SSO_CLIENT_FN(sso_dir_code_redeem, Sso__CodeRedeemRequest, Sso__CodeRedeemReply);
SSO_CLIENT_FN(sso_dir_token_issue, Sso__TokenIssueRequest, Sso__TokenIssueReply);
SSO_CLIENT_FN(sso_dir_key_put, Sso__KeyPutRequest, Sso__KeysListReply);
SSO_CLIENT_FN(sso_dir_key_rotate, Sso__KeyRotateRequest, Sso__KeyRotateReply);
SSO_CLIENT_FN(sso_dir_test_begin, Sso__TestBeginRequest, Sso__LoginContextReply);
SSO_CLIENT_FN(sso_dir_try_redeem, Sso__TryRedeemRequest, Sso__CodeRedeemReply);
/* The upstream services' (saml, oidc) reads and writes. */
SSO_CLIENT_FN(sso_dir_login_context, Sso__LoginContextRequest, Sso__LoginContextReply);
SSO_CLIENT_FN(sso_dir_connection_get, Sso__ConnectionGetRequest, Sso__ConnectionReply);
SSO_CLIENT_FN(sso_dir_login_complete, Sso__LoginCompleteRequest, Sso__LoginRedirectReply);
SSO_CLIENT_FN(sso_dir_login_fail, Sso__LoginFailRequest, Sso__LoginRedirectReply);
SSO_CLIENT_FN(sso_dir_idp_initiated, Sso__IdpInitiatedRequest, Sso__IdpInitiatedReply);
SSO_CLIENT_FN(sso_dir_event_record, Sso__Event, Sso__EventReply);
SSO_CLIENT_FN(sso_dir_simulator_key, Sso__SimulatorKeyRequest, Sso__SimulatorKeyReply);

/* The SCIM service's reads and writes. */
SSO_CLIENT_FN(sso_dir_scim_authenticate, Sso__ScimAuthenticateRequest,
              Sso__ScimAuthenticateReply);
SSO_CLIENT_FN(sso_dir_scim_user_get, Sso__ScimUserGetRequest, Sso__ScimUserReply);
SSO_CLIENT_FN(sso_dir_scim_user_list, Sso__ScimUserListRequest, Sso__ScimUserListReply);
SSO_CLIENT_FN(sso_dir_scim_user_create, Sso__ScimUserWrite, Sso__ScimUserReply);
SSO_CLIENT_FN(sso_dir_scim_user_replace, Sso__ScimUserWrite, Sso__ScimUserReply);
SSO_CLIENT_FN(sso_dir_scim_user_delete, Sso__ScimUserDeleteRequest, Sso__ScimUserReply);
SSO_CLIENT_FN(sso_dir_scim_group_get, Sso__ScimGroupGetRequest, Sso__ScimGroupReply);
SSO_CLIENT_FN(sso_dir_scim_group_list, Sso__ScimGroupListRequest, Sso__ScimGroupListReply);
SSO_CLIENT_FN(sso_dir_scim_group_create, Sso__ScimGroupWrite, Sso__ScimGroupReply);
SSO_CLIENT_FN(sso_dir_scim_group_update, Sso__ScimGroupWrite, Sso__ScimGroupReply);
SSO_CLIENT_FN(sso_dir_scim_group_delete, Sso__ScimGroupDeleteRequest, Sso__ScimGroupReply);

/* The token service: the JWT of an IdP-initiated login (the saml service's). */
SSO_CLIENT_FN(sso_token_idp_initiated_login, Sso__IdpInitiatedLoginRequest,
              Sso__IdpInitiatedLoginReply);

/* The start of an upstream login at the service of the connection's type (target "saml" or
   "oidc"). */
int sso_upstream_start(sso_service_t *service, const char *target,
                       const Sso__UpstreamStartRequest *request, Sso__UpstreamStartReply **reply_p);

void sso_clients_test(bool verbose);
#endif
