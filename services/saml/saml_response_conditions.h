/* saml_response_conditions: what the IdP says, checked against the connection and the login.
   The Status is read before any signature (it decides nothing about identity); everything
   else only from nodes a verified signature covers: on the Response its Issuer, Destination
   and InResponseTo; on the Assertion its Version, ID, IssueInstant, Issuer, the bearer
   Subject (Recipient, time window, InResponseTo), Conditions (time window, every
   AudienceRestriction naming this SP), the AuthnStatement and the attributes. */
#ifndef SAML_RESPONSE_CONDITIONS_H
#define SAML_RESPONSE_CONDITIONS_H
#include "saml_attributes.h"
#include "saml_result.h"
#include <libxml/tree.h>
#include <stdbool.h>
#include <time.h>

/* What the conditions are checked against (borrowed strings, never NULL). */
typedef struct {
    const char *idp_entity_id, *sp_entity_id, *acs_url;
    const char *in_response_to;               /* "" = IdP-initiated */
    time_t now;
    int skew;                                 /* seconds */
    /* The client's max_age (seconds; -1: none): the AuthnInstant must be at most this old
       (plus skew). */
    long long max_age;
    const saml_attribute_map_t *attribute_map; /* NULL = defaults */
    bool keep_raw;                            /* the profile's raw_json too (LoginComplete) */
} saml_response_conditions_t;

/* Status/StatusCode is Success; otherwise the reason carries the IdP's codes and message. */
saml_error_t saml_response_conditions_status(saml_result_t *result, xmlNodePtr response);
/* Issuer (optional), Destination (required when the Response is signed), InResponseTo. */
saml_error_t saml_response_conditions_response(const saml_response_conditions_t *self,
                                               saml_result_t *result, xmlNodePtr response,
                                               bool signed_response);
/* Everything read from the assertion; on SAML_OK *profile is the caller's and *replay_until
   is when the replay cache may forget the assertion id (NotOnOrAfter + skew). */
saml_error_t saml_response_conditions_assertion(const saml_response_conditions_t *self,
                                                saml_result_t *result, xmlNodePtr assertion,
                                                saml_profile_t **profile, time_t *replay_until);

void saml_response_conditions_test(bool verbose);
#endif
