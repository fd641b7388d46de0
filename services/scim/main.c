/* sso-scim: the SCIM 2.0 service provider. */
#include "scim_service.h"

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &scim_service);
}
