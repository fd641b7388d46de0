/* saml_idp_initiated: an unsolicited (IdP-initiated) Response at a connection's ACS, the login
   a user starts from the IdP's app tile. It is verified as fully as a solicited one (with no
   InResponseTo anywhere) but logs no one in: when the connection allows it
   (allow_idp_initiated), the assertion is recorded against replay and the browser goes (303) to
   the connection's client's initiate_login_uri with iss, login_hint and idp_initiated_login (a
   JWT the token service signs), where the client starts a normal SP-initiated login. */
#ifndef SAML_IDP_INITIATED_H
#define SAML_IDP_INITIATED_H
#include "sso_service.h"

/* Whether a POST to the ACS is unsolicited: no RelayState, or a Response whose root carries
   no InResponseTo with a RelayState that names no transaction (the directory says: it is the
   IdP's own). Only decides where the POST goes: either way it is verified in full. */
bool saml_idp_initiated_is_unsolicited(sso_service_t *service, const char *saml_response,
                                       const char *relay_state);

/* The answer to an unsolicited Response at connection_id's ACS; relay_state may be NULL. */
zframe_t *saml_idp_initiated_acs(sso_service_t *service, const char *connection_id,
                                 const char *saml_response, const char *relay_state);

void saml_idp_initiated_test(bool verbose);
#endif
