/* Runs the token service modules' self-tests. */
#include "sso_test.h"
#include "token_sign.h"
#include "token_authorize.h"
#include "token_authorize_login.h"
#include "token_authorize_page.h"
#include "token_authorize_params.h"
#include "token_client_auth.h"
#include "token_code.h"
#include "token_dir.h"
#include "token_testkit.h"
#include "token_http.h"
#include "token_keys.h"
#include "token_rotate.h"
#include "token_test_login.h"
#include "token_try.h"
#include "token_userinfo.h"
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    SSO_RUN(token_dir_test, verbose);
    SSO_RUN(token_keys_test, verbose);
    SSO_RUN(token_client_auth_test, verbose);
    SSO_RUN(token_testkit_test, verbose);
    SSO_RUN(token_http_test, verbose);
    SSO_RUN(token_sign_test, verbose);
    SSO_RUN(token_authorize_params_test, verbose);
    SSO_RUN(token_authorize_page_test, verbose);
    SSO_RUN(token_authorize_login_test, verbose);
    SSO_RUN(token_authorize_test, verbose);
    SSO_RUN(token_test_login_test, verbose);
    SSO_RUN(token_try_test, verbose);
    SSO_RUN(token_code_test, verbose);
    SSO_RUN(token_userinfo_test, verbose);
    SSO_RUN(token_rotate_test, verbose);
    return sso_test_summary();
}
