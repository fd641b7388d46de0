/* Fuzz target: SCIM PATCH paths (Okta's and Entra's PATCH operations): parsed under the
   filter's limits, and each path that parses selected in a User and a Group, every target
   read back. */
#include "scim_path.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *s_user, *s_group;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_user) {
        s_user = json_loads(
            "{\"userName\":\"bjensen\",\"name\":{\"familyName\":\"Jensen\"},"
            "\"emails\":[{\"value\":\"b@example.com\",\"type\":\"work\"},"
            "{\"value\":\"b@jensen.org\",\"type\":\"home\"},{\"Type\":\"WORK\"},\"loose\"],"
            "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
            "{\"manager\":{\"value\":\"26118915\"}}}", 0, NULL);
        s_group = json_loads("{\"members\":[{\"value\":\"a\"},{\"value\":\"b\"},7]}", 0, NULL);
        if (!s_user || !s_group)
            abort();
    }
    char why[256] = "";
    scim_path_t *path = scim_path_parse((const char *) data, size, why, sizeof why);
    if (!path) {
        if (why[0] == '\0' || strncmp(why, "path: ", 6) != 0)
            abort(); /* every refusal says why */
        return 0;
    }
    json_t *resources[] = {s_user, s_group};
    for (size_t r = 0; r < 2; r++) {
        scim_path_targets_t targets;
        if (scim_path_select(path, resources[r], &targets) != 0)
            continue;
        for (size_t i = 0; i < targets.count; i++) {
            scim_path_target_t *t = &targets.items[i];
            /* a target is an object's member or an array's element, as it says */
            if (t->key ? t->owner && !json_is_object(t->owner)
                       : !json_is_array(t->owner) || json_array_get(t->owner, t->index) != t->value)
                abort();
        }
        scim_path_targets_free(&targets);
    }
    scim_path_destroy(&path);
    return 0;
}
