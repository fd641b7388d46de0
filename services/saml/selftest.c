/* test-saml: the SAML modules' self-tests (or only the MODULEs named). With --cases DIR it
   instead validates the corpus written by tests/saml/make_cases.py against the expectations in
   DIR/manifest.tsv. */
#include "saml_attributes.h"
#include "saml_authn_request.h"
#include "saml_cases.h"
#include "saml_codec.h"
#include "saml_conncache.h"
#include "saml_keycache.h"
#include "saml_login.h"
#include "saml_idp_initiated.h"
#include "saml_service.h"
#include "saml_simulator.h"
#include "saml_response.h"
#include "saml_response_conditions.h"
#include "saml_response_decode.h"
#include "saml_response_decrypt.h"
#include "saml_response_signature.h"
#include "saml_result.h"
#include "saml_sp_metadata.h"
#include "saml_xml.h"
#include "sso_test.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    bool verbose = false;
    const char *cases = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
            cases = argv[++i];
        else if (argv[i][0] == '-' || sso_test_select(argv[i]) != 0) {
            fprintf(stderr, "usage: %s [-v] [--cases DIR | MODULE...]\n", argv[0]);
            return 2;
        }
    }
    if (cases) {
        if (saml_cases_run(cases, verbose) != 0)
            sso_test_failed++;
        return sso_test_summary();
    }
    SSO_RUN(saml_xml_test, verbose);
    SSO_RUN(saml_codec_test, verbose);
    SSO_RUN(saml_keycache_test, verbose);
    SSO_RUN(saml_conncache_test, verbose);
    SSO_RUN(saml_attributes_test, verbose);
    SSO_RUN(saml_result_test, verbose);
    SSO_RUN(saml_response_decode_test, verbose);
    SSO_RUN(saml_response_signature_test, verbose);
    SSO_RUN(saml_response_decrypt_test, verbose);
    SSO_RUN(saml_response_conditions_test, verbose);
    SSO_RUN(saml_response_test, verbose);
    SSO_RUN(saml_authn_request_test, verbose);
    SSO_RUN(saml_sp_metadata_test, verbose);
    SSO_RUN(saml_simulator_test, verbose);
    SSO_RUN(saml_login_test, verbose);
    SSO_RUN(saml_idp_initiated_test, verbose);
    SSO_RUN(saml_service_test, verbose);
    return sso_test_summary();
}
