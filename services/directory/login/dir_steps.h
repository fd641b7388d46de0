/* dir_steps: the composite operations of proto/directory.proto, several steps of one login leg
   in one round trip: AuthorizeBegin (the client, the connection a selector resolves to, and
   the transaction, for /oauth/authorize) and LoginContext (the transaction and its
   connection, for the ACS). Each step runs through the function of its own, so the rules
   and the error texts are the same whichever operation runs it. */
#ifndef DIR_STEPS_H
#define DIR_STEPS_H
#include "dir_rpc.h"

/* TokenWrites.AuthorizeBegin. Each part's error is its own (client_error, selector_error,
   txn_error), the later parts are not tried after one fails; the call itself fails only for
   a transaction asked without a selector. The transaction gets a fresh id and its upstream
   request's handle here (saml_request_id "_<its id>" for SAML, a random oidc_state for
   OIDC); its
   client_id, connection_id and organization_id are those just checked, whatever the request
   said. */
DIR_RPC_FN(dir_steps_authorize_begin, Sso__AuthorizeBeginRequest, Sso__AuthorizeBeginReply);
/* UpstreamReads.LoginContext: the usable transaction and its connection with its secrets
   (the router gives those only to the service of the connection's type). */
DIR_RPC_FN(dir_steps_login_context, Sso__LoginContextRequest, Sso__LoginContextReply);

void dir_steps_test(bool verbose);
#endif
