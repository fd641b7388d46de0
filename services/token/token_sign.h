/* token_sign: the token service's RPCs (proto/token.proto TokenSign): tokens signed with the
   broker's keys for the other services. Today the idp_initiated_login JWT of an IdP-initiated
   SAML login, which the saml service hands to the client's initiate_login_uri. */
#ifndef TOKEN_SIGN_H
#define TOKEN_SIGN_H
#include "sso_service.h"

/* How long the idp_initiated_login JWT lives (seconds): long enough for the client to start
   its login, short enough that a leaked one is soon worthless. */
#define TOKEN_SIGN_IDP_INITIATED_TTL_S 300
/* Its JWS header's typ: it never passes for an ID token at a client that checks typ. */
#define TOKEN_SIGN_IDP_INITIATED_TYP "idp-initiated-login+jwt"
/* The IdP's RelayState carried in the JWT: at most this many bytes (SAML bindings 3.4.3: 80). */
#define TOKEN_SIGN_RELAY_STATE_MAX 80

/* The operation rpc on payload (not taken): the packed reply, or NULL for an rpc it does
   not serve. */
zframe_t *token_sign_rpc(sso_service_t *service, const char *rpc, zframe_t *payload);

void token_sign_test(bool verbose);
#endif
