/* saml_result: error classes and reasons of the ACS validation steps. */
#include "saml_result.h"
#include "sso_test.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *saml_error_name(saml_error_t code)
{
    static const char *const names[] = {
        "ok", "config", "input", "xml", "structure", "status", "signature", "decryption",
        "issuer", "destination", "in_response_to", "subject", "recipient", "audience",
        "expired", "not_yet_valid", "authn_statement", "attributes", "internal"};
    return (unsigned) code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}

saml_error_t saml_fail(saml_result_t *result, saml_error_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->reason, sizeof result->reason, fmt, ap);
    va_end(ap);
    for (char *p = result->reason; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    result->error = code;
    return code;
}

void saml_result_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(strcmp(saml_error_name(SAML_ERR_AUDIENCE), "audience") == 0);
    SSO_CHECK(strcmp(saml_error_name(SAML_ERR_INTERNAL), "internal") == 0);
    SSO_CHECK(strcmp(saml_error_name((saml_error_t) 99), "unknown") == 0);
    saml_result_t result = {0};
    SSO_CHECK(
        saml_fail(&result, SAML_ERR_STATUS, "status: %s", "urn:x\ny\x7f\tz") == SAML_ERR_STATUS
        && result.error == SAML_ERR_STATUS && strcmp(result.reason, "status: urn:x?y??z") == 0);
    /* Cut, never overrun. */
    char long_text[2 * SAML_REASON_MAX];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    saml_fail(&result, SAML_ERR_XML, "xml: %s", long_text);
    SSO_CHECK(strlen(result.reason) == SAML_REASON_MAX - 1);
}
