#include "sso_test.h"

int sso_test_passed = 0;
int sso_test_failed = 0;

int sso_test_summary(void)
{
    printf("%d passed, %d failed\n", sso_test_passed, sso_test_failed);
    return sso_test_failed == 0 ? 0 : 1;
}
