/* dir_idp_initiated: an IdP-initiated SAML login the saml service verified: no transaction and
   no code; the connection's client (the option idp_initiated_client_id) is told where to start
   a login of its own (its initiate_login_uri), once per assertion. */
#ifndef DIR_IDP_INITIATED_H
#define DIR_IDP_INITIATED_H
#include "dir_rpc.h"

/* UpstreamWrites.IdpInitiated (proto/directory.proto). */
DIR_RPC_FN(dir_idp_initiated, Sso__IdpInitiatedRequest, Sso__IdpInitiatedReply);

void dir_idp_initiated_test(bool verbose);
#endif
