/* sso-oidc: the upstream OpenID Connect relying party (oidc_service). */
#include "oidc_service.h"

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &oidc_service);
}
