/* sso-token: the OpenID Provider. */
#include "token_service.h"

int main(int argc, char **argv)
{
    return sso_service_main(argc, argv, &token_service);
}
