/* Runs the self-test of every shared-library module. */
#include "sso_backoff.h"
#include "sso_broker.h"
#include "sso_client.h"
#include "sso_clients.h"
#include "sso_bus.h"
#include "sso_bus_keys.h"
#include "sso_config.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_email.h"
#include "sso_fetch.h"
#include "sso_fiber.h"
#include "sso_html.h"
#include "sso_jose.h"
#include "sso_http.h"
#include "sso_log.h"
#include "sso_oidc_cache.h"
#include "sso_oidc_discovery.h"
#include "sso_rpc.h"
#include "sso_saml_metadata.h"
#include "sso_service.h"
#include "sso_test.h"
#include "sso_upstream.h"
#include "sso_webhook.h"
#include "sso_worker.h"
#include "sso_xml.h"
#include "sso_xmldsig.h"
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    zsys_init();
    SSO_RUN(sso_test_test, verbose);
    SSO_RUN(sso_log_test, verbose);
    SSO_RUN(sso_config_test, verbose);
    SSO_RUN(sso_crypto_test, verbose);
    SSO_RUN(sso_bus_test, verbose);
    SSO_RUN(sso_bus_keys_test, verbose);
    SSO_RUN(sso_fiber_test, verbose);
    SSO_RUN(sso_http_test, verbose);
    SSO_RUN(sso_cookie_test, verbose);
    SSO_RUN(sso_email_test, verbose);
    SSO_RUN(sso_html_test, verbose);
    SSO_RUN(sso_backoff_test, verbose);
    SSO_RUN(sso_worker_test, verbose);
    SSO_RUN(sso_client_test, verbose);
    SSO_RUN(sso_broker_test, verbose);
    SSO_RUN(sso_service_test, verbose);
    SSO_RUN(sso_rpc_test, verbose);
    SSO_RUN(sso_clients_test, verbose);
    SSO_RUN(sso_upstream_test, verbose);
    SSO_RUN(sso_webhook_test, verbose);
    SSO_RUN(sso_xml_test, verbose);
    SSO_RUN(sso_xmldsig_test, verbose);
    SSO_RUN(sso_saml_metadata_test, verbose);
    SSO_RUN(sso_fetch_test, verbose);
    SSO_RUN(sso_jose_test, verbose);
    SSO_RUN(sso_oidc_discovery_test, verbose);
    SSO_RUN(sso_oidc_cache_test, verbose);
    return sso_test_summary();
}
