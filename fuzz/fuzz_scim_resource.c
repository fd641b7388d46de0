/* Fuzz target: SCIM resource bodies (a POST's or PUT's User or Group) held to the schema
   /Schemas serves (scim_discovery_check): every refusal is invalidSyntax or invalidValue with
   a reason; what passes is an object whose every member the schema declares, and checking it
   again passes and changes nothing (the renames to the schema's spelling are done once). */
#include "scim_discovery.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const urns[] = {SCIM_USER_URN, SCIM_GROUP_URN};
    for (size_t u = 0; u < 2; u++) {
        json_t *resource = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(resource)) {
            json_decref(resource);
            return 0;
        }
        const char *scim_type = NULL;
        char why[256] = "";
        if (scim_discovery_check(urns[u], resource, &scim_type, why, sizeof why) != 0) {
            if (!scim_type || (strcmp(scim_type, "invalidSyntax") && strcmp(scim_type,
                                                                            "invalidValue"))
                || !why[0])
                abort(); /* every refusal says what and why */
        }
        else {
            json_t *once = json_deep_copy(resource);
            if (!once || scim_discovery_check(urns[u], resource, &scim_type, why, sizeof why) != 0
                || !json_equal(once, resource))
                abort(); /* what passed passes again, unchanged */
            json_decref(once);
        }
        json_decref(resource);
    }
    return 0;
}
