/* saml_result: the outcome of one step of ACS validation, shared by saml_response and the
   modules it runs (decode, signature, decrypt, conditions): the error class and a reason
   that says what was expected and what was received. */
#ifndef SAML_RESULT_H
#define SAML_RESULT_H
#include <stdbool.h>

/* Reason texts are cut at this size. */
#define SAML_REASON_MAX 768
/* The longest assertion (or signed element) ID accepted: what the replay cache holds. */
#define SAML_MAX_ASSERTION_ID 256

typedef enum {
    SAML_OK = 0,
    SAML_ERR_CONFIG,          /* the connection's configuration is unusable */
    SAML_ERR_INPUT,           /* not strict base64, or too large */
    SAML_ERR_XML,             /* not well-formed, DOCTYPE, too deep */
    SAML_ERR_STRUCTURE,       /* not a Response, not exactly one assertion, duplicate IDs */
    SAML_ERR_STATUS,          /* the IdP answered something other than Success */
    SAML_ERR_SIGNATURE,
    SAML_ERR_DECRYPTION,
    SAML_ERR_ISSUER,
    SAML_ERR_DESTINATION,
    SAML_ERR_IN_RESPONSE_TO,
    SAML_ERR_SUBJECT,
    SAML_ERR_RECIPIENT,
    SAML_ERR_AUDIENCE,
    SAML_ERR_EXPIRED,
    SAML_ERR_NOT_YET_VALID,
    SAML_ERR_AUTHN_STATEMENT,
    SAML_ERR_ATTRIBUTES,
    SAML_ERR_INTERNAL
} saml_error_t;

/* A short stable name for the code ("audience", "signature", ...). */
const char *saml_error_name(saml_error_t code);

typedef struct {
    saml_error_t error;
    char reason[SAML_REASON_MAX];
} saml_result_t;

/* Records a failure in result and returns code, so a check can `return saml_fail(...)`.
   Control characters quoted from the document become '?': the event log refuses them, and a
   reason it refused would change the answer the browser gets. */
__attribute__((format(printf, 3, 4)))
saml_error_t saml_fail(saml_result_t *result, saml_error_t code, const char *fmt, ...);

void saml_result_test(bool verbose);
#endif
