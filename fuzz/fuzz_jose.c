/* Fuzz target: the JWKS parser and the JWS verifier (lib/sso_jose), the path an IdP's keys and
   ID tokens take. The input is a JWKS document, a line break, then a compact JWS (the last line
   break splits them, so the JWKS may hold line breaks; a JWS cannot). */
#include "sso_jose.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                     "PS512", "ES256", "ES384", "ES512", "none",
                                     "HS256", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *split = size ? memrchr(data, '\n', size) : NULL;
    size_t jwks_len = split ? (size_t) (split - data) : size;
    char *jws = NULL;
    if (split) {
        size_t jws_len = size - jwks_len - 1;
        if (!(jws = malloc(jws_len + 1)))
            return 0;
        memcpy(jws, split + 1, jws_len);
        jws[jws_len] = '\0';
    }
    char why[SSO_JOSE_WHY_SIZE];
    sso_jose_keys_t *keys = NULL;
    if (sso_jose_keys_parse((const char *) data, jwks_len, &keys, why, sizeof why) == 0) {
        const char *first = NULL;
        size_t skipped = sso_jose_keys_skipped(keys, &first);
        if (!keys || (skipped > 0) != (first != NULL)
            || sso_jose_keys_count(keys) + skipped > SSO_JOSE_MAX_KEYS)
            abort();
    }
    else if (keys)
        abort(); /* a refused set is no set */
    json_t *header = NULL, *claims = NULL;
    sso_jose_status_t status = sso_jose_verify(jws, keys, s_algs, &header, &claims, why,
                                               sizeof why);
    if (status == SSO_JOSE_OK) {
        /* Whatever verifies is an object under an alg that is not none or HMAC. */
        const char *alg = json_string_value(json_object_get(header, "alg"));
        if (!json_is_object(claims) || !alg || alg[0] == 'n' || alg[0] == 'H')
            abort();
        sso_jose_check_dates(claims, 1700000000, 60, why, sizeof why);
    }
    else if (claims || header || !memchr(why, '\0', sizeof why))
        abort();
    /* A reason is one printable line. */
    for (const char *c = why; status != SSO_JOSE_OK && *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            abort();
    json_decref(header);
    json_decref(claims);
    sso_jose_keys_destroy(&keys);
    free(jws);
    return 0;
}
