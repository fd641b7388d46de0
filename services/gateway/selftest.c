/* Runs the gateway modules' self-tests. */
#include "gateway_http.h"
#include "gateway_limits.h"
#include "gateway_proxy.h"
#include "gateway_metrics.h"
#include "gateway_routes.h"
#include "gateway_static.h"
#include "sso_test.h"
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    SSO_RUN(gateway_routes_test, verbose);
    SSO_RUN(gateway_metrics_test, verbose);
    SSO_RUN(gateway_limits_test, verbose);
    SSO_RUN(gateway_proxy_test, verbose);
    SSO_RUN(gateway_static_test, verbose);
    SSO_RUN(gateway_http_test, verbose);
    return sso_test_summary();
}
