/* Fuzz target: form and query parsing (every browser and client parameter goes through it). */
#include "sso_http.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zhashx_t *form = sso_form_parse((const char *) data, size);
    if (form) {
        for (const char *value = zhashx_first(form); value; value = zhashx_next(form)) {
            char *encoded = sso_url_encode(value);
            char *decoded = encoded ? sso_url_decode(encoded, strlen(encoded)) : NULL;
            if (decoded && strcmp(decoded, value) != 0)
                abort(); /* encode then decode must round-trip */
            free(encoded);
            free(decoded);
        }
        zhashx_destroy(&form);
    }
    free(sso_url_decode((const char *) data, size));
    return 0;
}
