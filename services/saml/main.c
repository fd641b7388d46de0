/* sso-saml: registers on the bus and answers /_ping/saml; the protocol work lands with the login
   issue. */
#include "sso_service.h"

static const sso_service_def_t s_service = {
    .name = "saml",
    .summary = "The SAML 2.0 service provider and IdP simulator of the SSO broker: a bus worker\nthat connects to SSO_BROKER_ENDPOINT.",
};

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &s_service);
}
