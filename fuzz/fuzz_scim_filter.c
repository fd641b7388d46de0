/* Fuzz target: SCIM filters (GET /Users?filter=..., from any IdP holding a directory token):
   parsed under the limits, and each filter that parses matched against a User and a Group. */
#include "scim_filter.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_user, *s_group;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_user) {
        s_user = json_loads(
            "{\"id\":\"2819c223\",\"externalId\":\"bjensen\",\"userName\":\"bjensen@example.com\","
            "\"active\":true,\"age\":41,\"title\":\"\",\"nickName\":null,\"phoneNumbers\":[],"
            "\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},"
            "\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\",\"primary\":true},"
            "{\"value\":\"b@jensen.org\",\"type\":\"home\"},\"loose\",[1],null],"
            "\"meta\":{\"created\":\"2026-01-02T03:04:05Z\",\"lastModified\":\"not a date\","
            "\"version\":\"W/\\\"1\\\"\"},"
            "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
            "{\"employeeNumber\":\"701984\",\"manager\":{\"value\":\"26118915\"}}}",
            0, NULL);
        s_group = json_loads("{\"displayName\":\"Tour Guides\",\"members\":[{\"value\":\"a\"},"
                             "{\"value\":\"b\",\"$ref\":\"../Users/b\"}]}", 0, NULL);
        if (!s_user || !s_group)
            abort();
    }
    char why[256] = "";
    scim_filter_t *filter = scim_filter_parse((const char *) data, size, why, sizeof why);
    if (filter) {
        (void) scim_filter_match(filter, s_user);
        (void) scim_filter_match(filter, s_group);
        scim_filter_destroy(&filter);
    }
    else if (why[0] == '\0' || strncmp(why, "filter: ", 8) != 0)
        abort(); /* every refusal says why */
    return 0;
}
