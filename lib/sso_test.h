/* sso_test: the tiny harness behind every module's self-test, and the runner every test-*
   binary shares: `test-directory [-v] [MODULE...]` runs every module, or only those named. */
#ifndef SSO_TEST_H
#define SSO_TEST_H
#include <stdbool.h>
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

/* Runs one module's self-test and says which; skipped when the command line named other
   modules (see sso_test_args). */
#define SSO_RUN(test, verbose)                                                                 \
    do {                                                                                       \
        if (sso_test_selected(#test)) {                                                        \
            int before_ = sso_test_failed;                                                     \
            test(verbose);                                                                     \
            printf("%s %s\n", sso_test_failed == before_ ? "ok  " : "FAIL", #test);            \
        }                                                                                      \
    } while (0)

/* Reads a runner's command line: -v sets *verbose; any other word names a module to run
   alone ("dir_codes" or "dir_codes_test"; several may be named). 0, or -1 with a usage line
   on stderr for an unknown option. */
int sso_test_args(int argc, char **argv, bool *verbose);
/* Names one module to run alone (for runners that read their own options). 0, or -1 when
   too many are named. */
int sso_test_select(const char *module);
/* Whether the self-test function test (its name, "dir_codes_test") runs: true when no module
   was named or it was; remembered, so that a name that matches none can be reported. */
bool sso_test_selected(const char *test);
/* Prints "N passed, N failed" and gives the process exit status: 0 or 1; 2, printing the
   known modules, when a module named on the command line is not one of them. */
int sso_test_summary(void);

/* A service's packed HttpResponse frame unpacked (the frame destroyed); NULL when it does not
   unpack. Free with sso__http_response__free_unpacked. */
struct Sso__HttpResponse;
typedef struct _zframe_t zframe_t; /* czmq's, as czmq.h declares it */
struct Sso__HttpResponse *sso_test_http_unpack(zframe_t *frame);
/* The value of the response's header name (any case), or "". */
const char *sso_test_http_header(const struct Sso__HttpResponse *response, const char *name);

/* For self-tests that stand in for an upstream server: a listening TCP socket on 127.0.0.1
   (an ephemeral port) in *fd; its port, or -1. */
int sso_test_listen(int *fd);
/* Reads a request's head (up to the blank line, at most size - 1 bytes, waiting up to
   timeout_ms for each read) from fd into buffer, NUL-terminated; the bytes read. */
size_t sso_test_read_head(int fd, char *buffer, size_t size, int timeout_ms);

void sso_test_test(bool verbose);
#endif
