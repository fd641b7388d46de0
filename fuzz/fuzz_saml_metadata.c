/* Fuzz target: IdP metadata (sso_saml_metadata_parse), which the directory reads from an
   administrator's upload and from a metadata URL it fetches again on a schedule. */
#include "sso_saml_metadata.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        /* As the directory does before any XML: no file, network or entity loading. */
        if (sso_xml_forbid_io() != 0)
            abort();
        ready = 1;
    }
    char why[512];
    sso_saml_metadata_t *metadata = sso_saml_metadata_parse((const char *) data, size, NULL, why,
                                                            sizeof why);
    if (metadata) {
        /* What a parse promises: an entity id, an SSO URL and PEM certificates. */
        if (!metadata->entity_id || !*metadata->entity_id)
            abort();
        for (size_t i = 0; i < metadata->n_certificates; i++)
            if (strncmp(metadata->certificates[i], "-----BEGIN CERTIFICATE-----", 27) != 0)
                abort();
    }
    else if (!*why)
        abort(); /* a refusal always says why */
    sso_saml_metadata_destroy(&metadata);
    return 0;
}
