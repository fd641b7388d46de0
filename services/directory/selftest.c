/* Runs the directory service modules' self-tests. */
#include "api/dir_api.h"
#include "dir_fake.h"
#include "api/dir_api_router.h"
#include "api/dir_clients.h"
#include "api/dir_conn_oidc.h"
#include "api/dir_conn_options.h"
#include "api/dir_conn_refresh.h"
#include "webhooks/dir_webhook_sender.h"
#include "webhooks/dir_webhooks.h"
#include "api/dir_conn_saml.h"
#include "api/dir_conn_slow.h"
#include "api/dir_conn_sp_key.h"
#include "api/dir_connections.h"
#include "api/dir_domains.h"
#include "api/dir_json.h"
#include "api/dir_openapi.h"
#include "api/dir_orgs.h"
#include "api/dir_portal.h"
#include "api/dir_scim_dirs.h"
#include "scim/dir_scim_users.h"
#include "api/dir_signing_api.h"
#include "portal/dir_portal_connections.h"
#include "portal/dir_portal_pages.h"
#include "portal/dir_portal_req.h"
#include "portal/dir_portal_router.h"
#include "portal/dir_portal_session.h"
#include "web/dir_web.h"
#include "dashboard/dir_dash_admins.h"
#include "dashboard/dir_dash_audit.h"
#include "dashboard/dir_dash_lockout.h"
#include "dashboard/dir_dash_pages.h"
#include "dashboard/dir_dash_router.h"
#include "dashboard/dir_dash_session.h"
#include "dashboard/dir_dash_try.h"
#include "api/dir_valid.h"
#include "dir.h"
#include "dir_admin.h"
#include "dir_rpc.h"
#include "dir_rpc_router.h"
#include "dir_seed.h"
#include "dir_service.h"
#include "login/dir_auth_limit.h"
#include "login/dir_codes.h"
#include "login/dir_events.h"
#include "login/dir_housekeeping.h"
#include "login/dir_last_login.h"
#include "login/dir_login.h"
#include "login/dir_replay.h"
#include "login/dir_secret_cache.h"
#include "login/dir_steps.h"
#include "login/dir_tests.h"
#include "login/dir_idp_initiated.h"
#include "login/dir_tokens.h"
#include "login/dir_txn.h"
#include "store/dir_checkpoint.h"
#include "store/dir_db.h"
#include "store/dir_db_sqlite.h"
#include "vault/dir_keys.h"
#include "vault/dir_pki.h"
#include "vault/dir_signing.h"
#include "sso_log.h"
#include "sso_test.h"
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    sso_log_init("test-directory", "text", NULL, false);
    zsys_init();
    /* The tests must not pick up the caller's deployment settings. */
    unsetenv("SSO_MASTER_KEY");
    unsetenv("SSO_ADMIN_CLIENT_ID");
    unsetenv("SSO_ADMIN_CLIENT_SECRET");
    SSO_RUN(dir_db_test, verbose);
    SSO_RUN(dir_db_sqlite_test, verbose);
    SSO_RUN(dir_checkpoint_test, verbose);
    SSO_RUN(dir_keys_test, verbose);
    SSO_RUN(dir_secret_cache_test, verbose);
    SSO_RUN(dir_auth_limit_test, verbose);
    SSO_RUN(dir_json_test, verbose);
    SSO_RUN(dir_valid_test, verbose);
    SSO_RUN(dir_rpc_test, verbose);
    SSO_RUN(dir_pki_test, verbose);
    SSO_RUN(dir_test, verbose);
    SSO_RUN(dir_service_test, verbose);
    SSO_RUN(dir_admin_test, verbose);
    SSO_RUN(dir_tokens_test, verbose);
    SSO_RUN(dir_signing_test, verbose);
    SSO_RUN(dir_signing_api_test, verbose);
    SSO_RUN(dir_rpc_router_test, verbose);
    SSO_RUN(dir_api_test, verbose);
    SSO_RUN(dir_api_router_test, verbose);
    SSO_RUN(dir_openapi_test, verbose);
    SSO_RUN(dir_clients_test, verbose);
    SSO_RUN(dir_orgs_test, verbose);
    SSO_RUN(dir_domains_test, verbose);
    SSO_RUN(dir_conn_options_test, verbose);
    SSO_RUN(dir_conn_slow_test, verbose);
    SSO_RUN(dir_conn_saml_test, verbose);
    SSO_RUN(dir_conn_refresh_test, verbose);
    SSO_RUN(dir_webhooks_test, verbose);
    SSO_RUN(dir_webhook_sender_test, verbose);
    SSO_RUN(dir_connections_test, verbose);
    SSO_RUN(dir_conn_sp_key_test, verbose);
    SSO_RUN(dir_conn_oidc_test, verbose);
    SSO_RUN(dir_portal_test, verbose);
    SSO_RUN(dir_scim_dirs_test, verbose);
    SSO_RUN(dir_scim_users_test, verbose);
    SSO_RUN(dir_web_test, verbose);
    SSO_RUN(dir_portal_session_test, verbose);
    SSO_RUN(dir_dash_audit_test, verbose);
    SSO_RUN(dir_dash_lockout_test, verbose);
    SSO_RUN(dir_dash_admins_test, verbose);
    SSO_RUN(dir_dash_session_test, verbose);
    SSO_RUN(dir_dash_pages_test, verbose);
    SSO_RUN(dir_dash_router_test, verbose);
    SSO_RUN(dir_dash_try_test, verbose);
    SSO_RUN(dir_portal_req_test, verbose);
    SSO_RUN(dir_portal_pages_test, verbose);
    SSO_RUN(dir_portal_router_test, verbose);
    SSO_RUN(dir_portal_connections_test, verbose);
    SSO_RUN(dir_events_test, verbose);
    SSO_RUN(dir_idp_initiated_test, verbose);
    SSO_RUN(dir_last_login_test, verbose);
    SSO_RUN(dir_housekeeping_test, verbose);
    SSO_RUN(dir_seed_test, verbose);
    SSO_RUN(dir_login_test, verbose);
    SSO_RUN(dir_txn_test, verbose);
    SSO_RUN(dir_steps_test, verbose);
    SSO_RUN(dir_tests_test, verbose);
    SSO_RUN(dir_codes_test, verbose);
    SSO_RUN(dir_replay_test, verbose);
    SSO_RUN(dir_fake_test, verbose);
    return sso_test_summary();
}
