/* token_test_login: GET /sso/test/<start handle>, where the admin portal's test button opens
   a new window. The directory spends the handle and checks the browser (TokenWrites.TestBegin:
   the test's binder is the browser's binding cookie, lib/sso_upstream, which the portal set
   when it made the test), then the saml or oidc service builds the request to the IdP as for
   any login (UpstreamStart.Start) and the browser goes there. No client, no redirect_uri:
   every refusal is a page, never a redirect; the IdP's answer ends at the test's result page
   (login/dir_tests). */
#ifndef TOKEN_TEST_LOGIN_H
#define TOKEN_TEST_LOGIN_H
#include "bus.pb-c.h"
#include "sso_service.h"

#define TOKEN_TEST_LOGIN_PREFIX "/sso/test/"

/* The answer to request, whose path starts with TOKEN_TEST_LOGIN_PREFIX. */
zframe_t *token_test_login_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_test_login_test(bool verbose);
#endif
