/* Runs the token service modules' self-tests. */
#include "sso_test.h"
#include "token_client_auth.h"
#include "token_http.h"
#include "token_keys.h"
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    SSO_RUN(token_keys_test, verbose);
    SSO_RUN(token_client_auth_test, verbose);
    SSO_RUN(token_http_test, verbose);
    return sso_test_summary();
}
