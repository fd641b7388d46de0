/* sso-oidc: registers on the bus and answers /_ping/oidc; the protocol work lands with the login
   issue. */
#include "sso_service.h"

static const sso_service_def_t s_service = {
    .name = "oidc",
    .summary = "The upstream OpenID Connect relying party of the SSO broker: a bus worker\nthat connects to SSO_BROKER_ENDPOINT.",
};

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &s_service);
}
