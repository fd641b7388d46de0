/* sso-saml: the SAML service provider and IdP simulator. */
#include "saml_service.h"

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &saml_service);
}
