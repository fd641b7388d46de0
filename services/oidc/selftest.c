/* Runs the oidc service modules' self-tests (none yet; the runner takes the same arguments). */
#include "sso_test.h"

int main(int argc, char **argv)
{
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    (void) verbose;
    return sso_test_summary();
}
