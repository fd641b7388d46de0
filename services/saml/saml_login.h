/* saml_login: the SAML legs of a login on the bus: saml_start (token -> saml: build the
   AuthnRequest for a transaction) and the ACS (IdP -> saml: validate, then complete or fail the
   transaction at the directory and send the browser back to the client). Also serves the SP
   metadata of a connection. */
#ifndef SAML_LOGIN_H
#define SAML_LOGIN_H
#include "sso_service.h"

/* RPC "saml_start": SamlStartRequest in, SamlStartReply out. */
zframe_t *saml_login_start(sso_service_t *service, zframe_t *payload);
/* POST /sso/saml/{connection_id}/acs */
zframe_t *saml_login_acs(sso_service_t *service, const Sso__HttpRequest *request,
                         const char *connection_id);
/* The answer to a POST at the ACS that no open login (or no authenticated assertion) stands
   behind: anyone's junk. Counted (acs_anonymous), logged at most once in a while with reason,
   never stored; the page says description. */
zframe_t *saml_login_anonymous(const char *connection_id, const char *reason,
                               const char *description);
/* GET /sso/saml/{connection_id}/metadata */
zframe_t *saml_login_metadata(sso_service_t *service, const char *connection_id);

void saml_login_test(bool verbose);
#endif
