/* Fuzz target: SCIM PATCH bodies (RFC 7644 3.5.2) applied to a fixed User and a fixed Group:
   every refusal is a SCIM error with a status, a scimType for a 400 and a detail, and leaves
   the resource as it was; every success gives a resource, and for the Group its member
   delta. */
#include "scim_patch.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_user, *s_group, *s_user_copy, *s_group_copy;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_user) {
        s_user = json_loads(
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
            "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],\"id\":\"u1\","
            "\"userName\":\"bjensen\",\"active\":true,\"name\":{\"familyName\":\"Jensen\"},"
            "\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\",\"primary\":true},"
            "{\"value\":\"b@jensen.org\",\"type\":\"home\"},{\"Type\":\"WORK\"},\"loose\"],"
            "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
            "{\"manager\":{\"value\":\"26118915\"}},\"meta\":{\"resourceType\":\"User\"}}",
            0, NULL);
        s_group = json_loads(
            "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"id\":\"g1\","
            "\"displayName\":\"G\",\"members\":[{\"value\":\"a\"},{\"value\":\"b\"},"
            "{\"value\":\"A\"},7,{\"display\":\"no value\"}]}", 0, NULL);
        s_user_copy = json_deep_copy(s_user);
        s_group_copy = json_deep_copy(s_group);
        if (!s_user || !s_group || !s_user_copy || !s_group_copy)
            abort();
    }
    scim_error_t error;
    scim_patch_t *patch = scim_patch_parse((const char *) data, size, &error);
    if (!patch) {
        if (error.status != 400 && error.status != 413)
            abort();
        if ((error.status == 400 && !error.scim_type[0]) || !error.detail[0])
            abort(); /* every refusal says why */
        return 0;
    }
    const json_t *resources[] = {s_user, s_group}, *copies[] = {s_user_copy, s_group_copy};
    for (int kind = SCIM_PATCH_USER; kind <= SCIM_PATCH_GROUP; kind++) {
        scim_patch_result_t result;
        int rc = scim_patch_apply(patch, (scim_patch_kind_t) kind, resources[kind],
                                  kind == SCIM_PATCH_GROUP ? SCIM_PATCH_MEMBERS_APART : 0,
                                  &result, &error);
        if (!json_equal(resources[kind], copies[kind]))
            abort(); /* the resource given is never changed */
        if (rc != 0) {
            if (result.resource || error.status != 400 || !error.scim_type[0]
                || !error.detail[0])
                abort();
            continue;
        }
        if (!json_is_object(result.resource)
            || (kind == SCIM_PATCH_GROUP
                && (!json_is_array(result.added) || !json_is_array(result.removed)
                    || json_object_get(result.resource, "members"))))
            abort();
        scim_patch_result_clear(&result);
    }
    scim_patch_destroy(&patch);
    return 0;
}
