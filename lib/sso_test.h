/* sso_test: the tiny harness behind every module's self-test. */
#ifndef SSO_TEST_H
#define SSO_TEST_H
#include <stdio.h>

extern int sso_test_passed;
extern int sso_test_failed;

#define SSO_CHECK(cond)                                                                        \
    do {                                                                                       \
        if (cond)                                                                              \
            sso_test_passed++;                                                                 \
        else {                                                                                 \
            sso_test_failed++;                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                                      \
    } while (0)

/* Runs one module's self-test and says which. */
#define SSO_RUN(test, verbose)                                                                 \
    do {                                                                                       \
        int before_ = sso_test_failed;                                                         \
        test(verbose);                                                                         \
        printf("%s %s\n", sso_test_failed == before_ ? "ok  " : "FAIL", #test);                \
    } while (0)

/* Prints "N passed, N failed" and gives the process exit status. */
int sso_test_summary(void);
#endif
