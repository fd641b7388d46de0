/* Runs the scim service's self-tests (the runner takes the same arguments).
   `test-scim --filter-match FILTER` is a test-only mode for tests/interop/scim_filter.test.js:
   it reads a JSON array of resources on stdin and prints, as a JSON array, whether each
   matches FILTER; a refused filter prints its reason on stderr and exits 1. */
#include "scim_attrs.h"
#include "scim_discovery.h"
#include "scim_filter.h"
#include "scim_http.h"
#include "scim_path.h"
#include "scim_req.h"
#include "scim_service.h"
#include "scim_sort.h"
#include "scim_users.h"
#include "sso_test.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void s_usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "usage: %s [-v] [MODULE...]        run the scim modules' self-tests\n"
            "       %s --filter-match FILTER   read a JSON array of resources on stdin, print\n"
            "                                    [true|false, ...]: whether each matches\n"
            "                                    FILTER (refused: the reason, exit 1)\n",
            argv0, argv0);
}

static int s_filter_match(const char *text)
{
    char why[256];
    scim_filter_t *filter = scim_filter_parse(text, strlen(text), why, sizeof why);
    if (!filter) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    json_error_t error;
    json_t *resources = json_loadf(stdin, 0, &error);
    if (!json_is_array(resources)) {
        fprintf(stderr, "stdin: expected a JSON array of resources (%s)\n",
                resources ? "not an array" : error.text);
        json_decref(resources);
        scim_filter_destroy(&filter);
        return 2;
    }
    size_t i;
    json_t *resource;
    printf("[");
    json_array_foreach(resources, i, resource)
        printf("%s%s", i ? "," : "", scim_filter_match(filter, resource) ? "true" : "false");
    printf("]\n");
    json_decref(resources);
    scim_filter_destroy(&filter);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout, argv[0]);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--filter-match")) {
        if (argc != 3) {
            s_usage(stderr, argv[0]);
            return 2;
        }
        return s_filter_match(argv[2]);
    }
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    SSO_RUN(scim_filter_test, verbose);
    SSO_RUN(scim_path_test, verbose);
    SSO_RUN(scim_attrs_test, verbose);
    SSO_RUN(scim_http_test, verbose);
    SSO_RUN(scim_discovery_test, verbose);
    SSO_RUN(scim_req_test, verbose);
    SSO_RUN(scim_sort_test, verbose);
    SSO_RUN(scim_users_test, verbose);
    SSO_RUN(scim_service_test, verbose);
    return sso_test_summary();
}
