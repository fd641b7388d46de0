/* Runs the scim service's self-tests (the runner takes the same arguments).
   `test-scim --filter-match FILTER` is a test-only mode for tests/interop/scim_filter.test.js:
   it reads a JSON array of resources on stdin and prints, as a JSON array, whether each
   matches FILTER; a refused filter prints its reason on stderr and exits 1.
   `test-scim --patch` is one for tests/interop/scim_patch.test.js: it reads
   {"resource": {...}, "patch": {...}} on stdin, applies the patch (a Group when the resource's
   schemas say so, else a User) and prints {"resource": ...} (with "added" and "removed" for a
   Group) or the SCIM error {"status": 400, "scimType": ..., "detail": ...}. */
#include "scim_attrs.h"
#include "scim_discovery.h"
#include "scim_filter.h"
#include "scim_groups.h"
#include "scim_http.h"
#include "scim_patch.h"
#include "scim_path.h"
#include "scim_req.h"
#include "scim_resource.h"
#include "scim_service.h"
#include "scim_sort.h"
#include "scim_users.h"
#include "sso_test.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void s_usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "usage: %s [-v] [MODULE...]        run the scim modules' self-tests\n"
            "       %s --filter-match FILTER   read a JSON array of resources on stdin, print\n"
            "                                    [true|false, ...]: whether each matches\n"
            "                                    FILTER (refused: the reason, exit 1)\n"
            "       %s --patch                 read {\"resource\":{..},\"patch\":{..}} on stdin,\n"
            "                                    print {\"resource\":..} (a Group's with\n"
            "                                    \"added\" and \"removed\") or the SCIM error\n",
            argv0, argv0, argv0);
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

/* A Group when its schemas name the Group schema. */
static scim_patch_kind_t s_kind(const json_t *resource)
{
    size_t i;
    json_t *urn;
    json_array_foreach(scim_json_get(resource, "schemas", NULL), i, urn)
        if (json_is_string(urn)
            && !strcasecmp(json_string_value(urn), "urn:ietf:params:scim:schemas:core:2.0:Group"))
            return SCIM_PATCH_GROUP;
    return SCIM_PATCH_USER;
}

static int s_patch(void)
{
    json_error_t jerror;
    json_t *input = json_loadf(stdin, 0, &jerror);
    json_t *resource = json_object_get(input, "resource");
    char *body = json_dumps(json_object_get(input, "patch"), JSON_COMPACT | JSON_ENCODE_ANY);
    if (!json_is_object(resource) || !body) {
        fprintf(stderr, "stdin: expected {\"resource\": {...}, \"patch\": ...}\n");
        free(body);
        json_decref(input);
        return 2;
    }
    scim_error_t error;
    scim_patch_result_t result;
    scim_patch_t *patch = scim_patch_parse(body, strlen(body), &error);
    json_t *out;
    if (patch && scim_patch_apply(patch, s_kind(resource), resource, 0, &result, &error) == 0) {
        out = json_pack("{s:O}", "resource", result.resource);
        if (out && result.added)
            json_object_set(out, "added", result.added);
        if (out && result.removed)
            json_object_set(out, "removed", result.removed);
        scim_patch_result_clear(&result);
    }
    else
        out = json_pack("{s:i,s:s,s:s}", "status", error.status, "scimType", error.scim_type,
                        "detail", error.detail);
    int rc = out && json_dumpf(out, stdout, JSON_COMPACT) == 0 ? 0 : 2;
    printf("\n");
    json_decref(out);
    scim_patch_destroy(&patch);
    free(body);
    json_decref(input);
    return rc;
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
    if (argc == 2 && !strcmp(argv[1], "--patch"))
        return s_patch();
    bool verbose = false;
    if (sso_test_args(argc, argv, &verbose) != 0)
        return 2;
    SSO_RUN(scim_filter_test, verbose);
    SSO_RUN(scim_path_test, verbose);
    SSO_RUN(scim_patch_test, verbose);
    SSO_RUN(scim_attrs_test, verbose);
    SSO_RUN(scim_http_test, verbose);
    SSO_RUN(scim_discovery_test, verbose);
    SSO_RUN(scim_req_test, verbose);
    SSO_RUN(scim_sort_test, verbose);
    SSO_RUN(scim_resource_test, verbose);
    SSO_RUN(scim_users_test, verbose);
    SSO_RUN(scim_groups_test, verbose);
    SSO_RUN(scim_service_test, verbose);
    return sso_test_summary();
}
