/* `ssoctl selftest` (hidden): the modules' pure-logic self-tests, no broker needed. */
#include "ssoctl_args.h"
#include "ssoctl_cmd.h"
#include "ssoctl_creds.h"
#include "ssoctl_env.h"
#include "ssoctl_http.h"
#include "ssoctl_table.h"
#include "ssoctl_util.h"
#include "sso_test.h"

int ssoctl_selftest(bool verbose);

int ssoctl_selftest(bool verbose)
{
    SSO_RUN(ssoctl_util_test, verbose);
    SSO_RUN(ssoctl_args_test, verbose);
    SSO_RUN(ssoctl_env_test, verbose);
    SSO_RUN(ssoctl_creds_test, verbose);
    SSO_RUN(ssoctl_table_test, verbose);
    SSO_RUN(ssoctl_http_test, verbose);
    SSO_RUN(ssoctl_cmd_test, verbose);
    return sso_test_summary();
}
