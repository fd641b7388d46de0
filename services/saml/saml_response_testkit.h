/* saml_response_testkit: for the self-tests of saml_response and its steps only: a SAML
   Response built from a few knobs (issuer, audience, times...) and signed on request, so
   each test states only what it changes. */
#ifndef SAML_RESPONSE_TESTKIT_H
#define SAML_RESPONSE_TESTKIT_H
#include <libxml/tree.h>
#include <stdbool.h>

#define SAML_TEST_IDP "https://idp.test/metadata"
#define SAML_TEST_SP "https://sso.test/sso/saml/conn_1"
#define SAML_TEST_ACS SAML_TEST_SP "/acs"
#define SAML_TEST_NOW 1767323045L /* 2026-01-02T03:04:05Z */

/* NULL fields take the values that validate against SAML_TEST_IDP/SP/ACS and "_req1". */
typedef struct {
    const char *issuer, *audience, *destination, *recipient, *in_response_to, *status, *name_id;
    const char *extra_response;   /* raw XML inserted after the Response's Status */
    const char *assertion_id;     /* NULL: "_assert1" */
    long not_on_or_after;         /* offset from now */
    long not_before;
    long authn_instant;           /* offset from now; 0: 5 s before now */
    long issue_instant;           /* the Assertion's, offset from now */
    bool sign_response, sign_assertion, no_authn, no_authn_instant;
} saml_test_case_t;

/* The Response as base64 (malloc'd), signed with key/cert (PEM) as the case asks; NULL on
   failure. The assertion's ID is c->assertion_id ("_assert1" when NULL), the Response's
   "_resp1". */
char *saml_test_response(const saml_test_case_t *c, const char *key, const char *cert);
/* A test Response (base64, may be NULL) parsed as a plain document; NULL when it is not one. */
xmlDocPtr saml_test_response_doc(const char *b64);
#endif
