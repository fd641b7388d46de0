/* Runs the oidc service modules' self-tests (the runner takes the same arguments). */
#include "oidc_authorize.h"
#include "oidc_callback.h"
#include "oidc_calls.h"
#include "oidc_claims.h"
#include "oidc_exchange.h"
#include "oidc_jwks.h"
#include "oidc_login.h"
#include "oidc_repost.h"
#include "oidc_service.h"
#include "sso_test.h"
#include <czmq.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    zsys_init();
    SSO_RUN(oidc_authorize_test, verbose);
    SSO_RUN(oidc_claims_test, verbose);
    SSO_RUN(oidc_callback_test, verbose);
    SSO_RUN(oidc_exchange_test, verbose);
    SSO_RUN(oidc_jwks_test, verbose);
    SSO_RUN(oidc_calls_test, verbose);
    SSO_RUN(oidc_login_test, verbose);
    SSO_RUN(oidc_repost_test, verbose);
    SSO_RUN(oidc_service_test, verbose);
    return sso_test_summary();
}
