/* Fuzz target: base64 and base64url decoding (Basic credentials, SAML responses, JWTs). */
#include "sso_crypto.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (int space = 0; space < 2; space++) {
        size_t len = 0;
        uint8_t *decoded = sso_base64_decode(text, &len, space);
        if (decoded) {
            char *again = sso_base64url_encode(decoded, len);
            size_t len2 = 0;
            uint8_t *twice = again ? sso_base64_decode(again, &len2, false) : NULL;
            if (twice && (len2 != len || memcmp(twice, decoded, len) != 0))
                abort(); /* decode(encode(x)) must be x */
            free(twice);
            free(again);
            free(decoded);
        }
    }
    free(text);
    return 0;
}
