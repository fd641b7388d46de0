/* Fuzz target: IdP metadata (sso_saml_metadata_parse), which the directory reads from an
   administrator's upload and from a metadata URL it fetches again on a schedule; each input is
   read twice: as is, and as for a connection that names a metadata signing certificate (the
   signature's shape, ID and reference checks of lib/sso_xmldsig). */
#include "sso_saml_metadata.h"
#include "sso_xmldsig.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static char *signer;
    if (!ready) {
        /* As the directory does before any XML: no file, network or entity loading. */
        char *key = NULL;
        if (sso_xmlsec_init() != 0 || sso_xmldsig_test_keypair("fuzz.test", &key, &signer) != 0)
            abort();
        free(key);
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
    /* A document no one signed with the fuzzer's fresh key cannot pass the signature check;
       whatever it is, the check refuses it with a reason and does not crash. */
    sso_saml_metadata_t *checked = sso_saml_metadata_parse((const char *) data, size, signer, why,
                                                           sizeof why);
    if (checked || !*why)
        abort();
    sso_saml_metadata_destroy(&metadata);
    return 0;
}
