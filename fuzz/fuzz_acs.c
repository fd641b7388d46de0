/* Fuzz target: the ACS input path, base64 -> XML -> validation, with a fixed connection
   configuration. Inputs starting with '<' are taken as XML and base64-encoded first, so the
   fuzzer reaches the XML and signature checks as well as the base64 decoder. */
#include "saml_response.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *s_key, *s_cert;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (sso_xmlsec_init() != 0 || sso_xmldsig_test_keypair("fuzz idp", &s_key, &s_cert) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b64;
    if (size && data[0] == '<')
        b64 = sso_base64_encode(data, size);
    else {
        b64 = malloc(size + 1);
        if (b64) {
            memcpy(b64, data, size);
            b64[size] = '\0';
        }
    }
    if (!b64)
        return 0;
    /* A connection as the directory gives it, through the ACS's own mapping. */
    char *certs[] = {s_cert};
    Sso__Connection connection = SSO__CONNECTION__INIT;
    connection.idp_entity_id = "https://idp.test/metadata";
    connection.idp_certificates = certs;
    connection.n_idp_certificates = 1;
    connection.sp_entity_id = "https://sso.test/sso/saml/conn_1";
    connection.sp_acs_url = "https://sso.test/sso/saml/conn_1/acs";
    connection.sp_private_key_pem = s_key;
    connection.saml_clock_skew_s = SAML_DEFAULT_CLOCK_SKEW; /* the directory fills it */
    saml_response_config_t config;
    saml_response_config_from_connection(&config, &connection, "_req1");
    config.now = 1767323045;
    saml_response_t *validator = saml_response_new(&config);
    if (validator) {
        saml_error_t rc = saml_response_validate(validator, b64);
        /* Nobody but the test key's holder can make a valid response. */
        if (rc == SAML_OK)
            abort();
        (void) saml_response_reason(validator);
        saml_response_destroy(&validator);
    }
    free(b64);
    return 0;
}
