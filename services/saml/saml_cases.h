/* saml_cases: runs a corpus of SAML responses written by tests/saml/make_cases.py against
   saml_response and checks each outcome and reason with its manifest line. Test tooling. */
#ifndef SAML_CASES_H
#define SAML_CASES_H
#include <stdbool.h>

/* Validates every case of dir/manifest.tsv; counts into sso_test_passed / sso_test_failed
   and prints one line per failure (every line when verbose). Returns 0 when the manifest
   could be read, -1 otherwise. */
int saml_cases_run(const char *dir, bool verbose);
#endif
