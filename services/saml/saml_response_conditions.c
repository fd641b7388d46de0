/* saml_response_conditions: Status, Issuer, Destination, InResponseTo, the bearer subject,
   Audience, the time window, the AuthnStatement and the attributes. */
#include "saml_response_conditions.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define S_CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define S_NAMEID_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

/* Reads a required or optional time attribute; *present tells which. */
static saml_error_t s_time_attr(saml_result_t *result, xmlNodePtr node, const char *name,
                                const char *where, bool required, time_t *out, bool *present)
{
    char *text = sso_xml_attr(node, name);
    *present = text != NULL;
    saml_error_t rc = SAML_OK;
    if (!text && required)
        rc = saml_fail(result, SAML_ERR_STRUCTURE, "structure: %s has no %s", where, name);
    else if (text && saml_time_parse(text, out) != 0)
        rc = saml_fail(result, SAML_ERR_STRUCTURE, "structure: %s/@%s \"%.64s\" is not a UTC "
                    "xs:dateTime", where, name, text);
    free(text);
    return rc;
}

static saml_error_t s_not_expired(const saml_response_conditions_t *self, saml_result_t *result,
                                  const char *where, time_t until)
{
    if (self->now - self->skew < until)
        return SAML_OK;
    char a[32], b[32];
    saml_time_format(until, a, sizeof a);
    saml_time_format(self->now, b, sizeof b);
    return saml_fail(result, SAML_ERR_EXPIRED, "expired: %s NotOnOrAfter %s is before now %s "
                  "(skew %ds)", where, a, b, self->skew);
}

static saml_error_t s_not_before(const saml_response_conditions_t *self, saml_result_t *result,
                                 const char *where, time_t from)
{
    if (from <= self->now + self->skew)
        return SAML_OK;
    char a[32], b[32];
    saml_time_format(from, a, sizeof a);
    saml_time_format(self->now, b, sizeof b);
    return saml_fail(result, SAML_ERR_NOT_YET_VALID, "not yet valid: %s NotBefore %s is after now "
                  "%s (skew %ds)", where, a, b, self->skew);
}

static saml_error_t s_issuer(const saml_response_conditions_t *self, saml_result_t *result,
                             xmlNodePtr parent, const char *what, bool required)
{
    size_t count = sso_xml_count_children(parent, SAML_NS_ASSERTION, "Issuer");
    if (count == 0 && !required)
        return SAML_OK;
    if (count != 1)
        return saml_fail(result, SAML_ERR_ISSUER, "issuer: the %s must have one Issuer, found %zu",
                      what, count);
    xmlNodePtr issuer = sso_xml_child(parent, SAML_NS_ASSERTION, "Issuer");
    char *format = sso_xml_attr(issuer, "Format"), *value = NULL;
    saml_error_t rc = SAML_OK;
    if (format && strcmp(format, S_NAMEID_ENTITY) != 0)
        rc = saml_fail(result, SAML_ERR_ISSUER,
                       "issuer: the %s's Issuer Format is %.200s; expected "
                       "%s",
                       what, format, S_NAMEID_ENTITY);
    else if (sso_xml_text(issuer, &value) != 0)
        rc = saml_fail(result, SAML_ERR_ISSUER, "issuer: the %s's Issuer is not plain text", what);
    else if (strcmp(value, self->idp_entity_id) != 0)
        rc = saml_fail(result, SAML_ERR_ISSUER, "issuer: expected %s, got %.300s",
                       self->idp_entity_id, value);
    free(format);
    free(value);
    return rc;
}

saml_error_t saml_response_conditions_status(saml_result_t *result, xmlNodePtr root)
{
    xmlNodePtr status = sso_xml_child(root, SAML_NS_PROTOCOL, "Status");
    xmlNodePtr code = sso_xml_child(status, SAML_NS_PROTOCOL, "StatusCode");
    char *value = sso_xml_attr(code, "Value");
    saml_error_t rc = SAML_OK;
    if (!value)
        rc = saml_fail(result, SAML_ERR_STATUS, "status: the Response has no Status/StatusCode");
    else if (strcmp(value, S_STATUS_SUCCESS) != 0) {
        /* The second-level code and message say why (AuthnFailed, RequestDenied...). */
        char *sub = sso_xml_attr(sso_xml_child(code, SAML_NS_PROTOCOL, "StatusCode"), "Value");
        char *message = NULL;
        xmlNodePtr msg = sso_xml_child(status, SAML_NS_PROTOCOL, "StatusMessage");
        if (msg && sso_xml_text(msg, &message) != 0)
            message = NULL;
        rc = saml_fail(result, SAML_ERR_STATUS, "status: %.200s%s%.200s%s%.200s", value,
                    sub ? " / " : "", sub ? sub : "", message && *message ? ": " : "",
                    message ? message : "");
        free(sub);
        free(message);
    }
    free(value);
    return rc;
}

saml_error_t saml_response_conditions_response(const saml_response_conditions_t *self,
                                               saml_result_t *result, xmlNodePtr root,
                                               bool signed_response)
{
    saml_error_t rc = s_issuer(self, result, root, "Response", false);
    if (rc)
        return rc;
    char *destination = sso_xml_attr(root, "Destination");
    if (!destination && signed_response)
        rc = saml_fail(result, SAML_ERR_DESTINATION, "destination: the signed Response has no "
                    "Destination; expected %s", self->acs_url);
    else if (destination && strcmp(destination, self->acs_url) != 0)
        rc = saml_fail(result, SAML_ERR_DESTINATION, "destination: expected %s, got %.300s",
                    self->acs_url, destination);
    free(destination);
    if (rc)
        return rc;
    char *irt = sso_xml_attr(root, "InResponseTo");
    if (irt && strcmp(irt, self->in_response_to) != 0)
        rc = saml_fail(result, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected %s, got %.200s",
                    *self->in_response_to ? self->in_response_to : "none (IdP-initiated)", irt);
    free(irt);
    return rc;
}

/* One bearer SubjectConfirmationData: Recipient, NotOnOrAfter, NotBefore, InResponseTo. */
static saml_error_t s_bearer(const saml_response_conditions_t *self, saml_result_t *result,
                             xmlNodePtr data, time_t *until)
{
    if (!data)
        return saml_fail(result, SAML_ERR_SUBJECT, "subject: the bearer SubjectConfirmation has no "
                      "SubjectConfirmationData");
    char *recipient = sso_xml_attr(data, "Recipient");
    saml_error_t rc = SAML_OK;
    if (!recipient || strcmp(recipient, self->acs_url) != 0)
        rc = saml_fail(result, SAML_ERR_RECIPIENT, "recipient: expected %s, got %.300s",
                       self->acs_url, recipient ? recipient : "none");
    free(recipient);
    bool present = false;
    time_t t = 0;
    if (rc == SAML_OK)
        rc = s_time_attr(result, data, "NotOnOrAfter", "SubjectConfirmationData", true, until,
                         &present);
    if (rc == SAML_OK)
        rc = s_not_expired(self, result, "SubjectConfirmationData", *until);
    if (rc == SAML_OK)
        rc = s_time_attr(result, data, "NotBefore", "SubjectConfirmationData", false, &t, &present);
    if (rc == SAML_OK && present)
        rc = s_not_before(self, result, "SubjectConfirmationData", t);
    if (rc)
        return rc;
    char *irt = sso_xml_attr(data, "InResponseTo");
    if (*self->in_response_to && (!irt || strcmp(irt, self->in_response_to) != 0))
        rc = saml_fail(result, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected %s, got %.200s",
                    self->in_response_to, irt ? irt : "none (an unsolicited response)");
    else if (!*self->in_response_to && irt)
        rc = saml_fail(result, SAML_ERR_IN_RESPONSE_TO, "in_response_to: expected none "
                    "(IdP-initiated), got %.200s", irt);
    free(irt);
    return rc;
}

static saml_error_t s_subject(const saml_response_conditions_t *self, saml_result_t *result,
                              xmlNodePtr assertion, saml_profile_t *p, time_t *until)
{
    if (sso_xml_count_children(assertion, SAML_NS_ASSERTION, "Subject") != 1)
        return saml_fail(result, SAML_ERR_SUBJECT, "subject: the Assertion must have one Subject");
    xmlNodePtr subject = sso_xml_child(assertion, SAML_NS_ASSERTION, "Subject");
    if (sso_xml_child(subject, SAML_NS_ASSERTION, "EncryptedID"))
        return saml_fail(result, SAML_ERR_SUBJECT, "subject: EncryptedID is not supported; send a "
                      "NameID (the assertion itself may be encrypted)");
    if (sso_xml_count_children(subject, SAML_NS_ASSERTION, "NameID") != 1)
        return saml_fail(result, SAML_ERR_SUBJECT, "subject: the Subject must have one NameID");
    xmlNodePtr name_id = sso_xml_child(subject, SAML_NS_ASSERTION, "NameID");
    if (sso_xml_text(name_id, &p->subject) != 0 || !*p->subject)
        return saml_fail(result, SAML_ERR_SUBJECT,
                         "subject: the NameID must be non-empty text of at "
                         "most %d bytes",
                         SSO_XML_MAX_VALUE);
    p->name_id_format = sso_xml_attr(name_id, "Format");
    /* Any bearer confirmation that passes is enough; otherwise the first one's failure. */
    saml_error_t first = SAML_OK;
    char first_reason[SAML_REASON_MAX] = "";
    bool any = false;
    for (xmlNodePtr c = subject->children; c; c = c->next) {
        if (!sso_xml_is(c, SAML_NS_ASSERTION, "SubjectConfirmation"))
            continue;
        char *method = sso_xml_attr(c, "Method");
        bool bearer = method && strcmp(method, S_CM_BEARER) == 0;
        free(method);
        if (!bearer)
            continue;
        any = true;
        saml_error_t rc = s_bearer(
            self, result, sso_xml_child(c, SAML_NS_ASSERTION, "SubjectConfirmationData"), until);
        if (rc == SAML_OK)
            return SAML_OK;
        if (first == SAML_OK) {
            first = rc;
            snprintf(first_reason, sizeof first_reason, "%s", result->reason);
        }
    }
    if (!any)
        return saml_fail(result, SAML_ERR_SUBJECT, "subject: no SubjectConfirmation with Method %s",
                      S_CM_BEARER);
    return saml_fail(result, first, "%s", first_reason);
}

static saml_error_t s_conditions(const saml_response_conditions_t *self, saml_result_t *result,
                                 xmlNodePtr assertion, time_t *until)
{
    if (sso_xml_count_children(assertion, SAML_NS_ASSERTION, "Conditions") != 1)
        return saml_fail(result, SAML_ERR_AUDIENCE,
                         "audience: the Assertion must have one Conditions "
                         "with an AudienceRestriction for %s",
                         self->sp_entity_id);
    xmlNodePtr cond = sso_xml_child(assertion, SAML_NS_ASSERTION, "Conditions");
    bool present = false;
    time_t t = 0;
    saml_error_t rc = s_time_attr(result, cond, "NotBefore", "Conditions", false, &t, &present);
    if (rc == SAML_OK && present)
        rc = s_not_before(self, result, "Conditions", t);
    if (rc == SAML_OK)
        rc = s_time_attr(result, cond, "NotOnOrAfter", "Conditions", false, &t, &present);
    if (rc == SAML_OK && present) {
        rc = s_not_expired(self, result, "Conditions", t);
        if (t < *until)
            *until = t;
    }
    if (rc)
        return rc;
    /* Every AudienceRestriction must name this SP (SAML core 2.5.1.4). */
    size_t restrictions = 0;
    for (xmlNodePtr r = cond->children; r; r = r->next) {
        if (!sso_xml_is(r, SAML_NS_ASSERTION, "AudienceRestriction"))
            continue;
        restrictions++;
        bool match = false;
        char got[512] = "";
        for (xmlNodePtr a = r->children; a; a = a->next) {
            char *value = NULL;
            if (!sso_xml_is(a, SAML_NS_ASSERTION, "Audience") || sso_xml_text(a, &value) != 0)
                continue;
            match |= strcmp(value, self->sp_entity_id) == 0;
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s", used ? ", " : "", value);
            free(value);
        }
        if (!match)
            return saml_fail(result, SAML_ERR_AUDIENCE, "audience: expected %s, got %s",
                          self->sp_entity_id, got[0] ? got : "none");
    }
    if (restrictions == 0)
        return saml_fail(result, SAML_ERR_AUDIENCE, "audience: expected %s, got no "
                      "AudienceRestriction", self->sp_entity_id);
    return SAML_OK;
}

static saml_error_t s_authn(const saml_response_conditions_t *self, saml_result_t *result,
                            xmlNodePtr assertion, saml_profile_t *p)
{
    xmlNodePtr authn = sso_xml_child(assertion, SAML_NS_ASSERTION, "AuthnStatement");
    if (!authn)
        return saml_fail(result, SAML_ERR_AUTHN_STATEMENT, "authn_statement: the Assertion has no "
                      "AuthnStatement");
    bool present = false;
    time_t until = 0;
    saml_error_t rc = s_time_attr(result, authn, "AuthnInstant", "AuthnStatement", true,
                                  &p->authn_instant, &present);
    /* max_age at /oauth/authorize: the IdP's authentication must be that recent. Subtracted
       from now, so an AuthnInstant near the end of time cannot overflow. */
    if (rc == SAML_OK && self->max_age >= 0
        && (long long) p->authn_instant < (long long) self->now - self->max_age - self->skew) {
        char expected[32], got[32];
        saml_time_format((time_t) ((long long) self->now - self->max_age), expected,
                         sizeof expected);
        saml_time_format(p->authn_instant, got, sizeof got);
        rc = saml_fail(result, SAML_ERR_AUTHN_STATEMENT, "authn_instant: expected %s or later "
                       "(max_age %llds, skew %ds), got %s", expected, self->max_age, self->skew,
                       got);
    }
    if (rc == SAML_OK)
        rc = s_time_attr(result, authn, "SessionNotOnOrAfter", "AuthnStatement", false, &until,
                         &present);
    if (rc == SAML_OK && present)
        rc = s_not_expired(self, result, "AuthnStatement Session", until);
    if (rc == SAML_OK)
        p->session_index = sso_xml_attr(authn, "SessionIndex");
    return rc;
}

/* Everything read from the assertion, which is the node a verified signature covers. */
saml_error_t saml_response_conditions_assertion(const saml_response_conditions_t *self,
                                                saml_result_t *result, xmlNodePtr assertion,
                                                saml_profile_t **profile, time_t *replay_until)
{
    saml_profile_t *p = saml_profile_new();
    if (!p)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: out of memory");
    char *version = sso_xml_attr(assertion, "Version");
    bool present = false;
    time_t until = 0;
    saml_error_t rc = SAML_OK;
    if (!version || strcmp(version, "2.0") != 0)
        rc = saml_fail(result, SAML_ERR_STRUCTURE,
                       "structure: Assertion Version %.20s; expected 2.0",
                       version ? version : "(none)");
    free(version);
    if (rc == SAML_OK && !(p->assertion_id = sso_xml_attr(assertion, "ID")))
        rc = saml_fail(result, SAML_ERR_STRUCTURE, "structure: the Assertion has no ID");
    /* The replay cache keys on this ID: it must be one it can hold (when only the Response is
       signed, s_verify has not bounded it). */
    if (rc == SAML_OK && (!*p->assertion_id || strlen(p->assertion_id) > SAML_MAX_ASSERTION_ID))
        rc = saml_fail(result, SAML_ERR_STRUCTURE, "structure: the Assertion ID is empty or longer "
                    "than %d bytes (%zu)", SAML_MAX_ASSERTION_ID, strlen(p->assertion_id));
    if (rc == SAML_OK)
        rc = s_time_attr(result, assertion, "IssueInstant", "Assertion", true, &p->issue_instant,
                         &present);
    if (rc == SAML_OK && p->issue_instant > self->now + self->skew) {
        char a[32], b[32];
        saml_time_format(p->issue_instant, a, sizeof a);
        saml_time_format(self->now, b, sizeof b);
        rc = saml_fail(result, SAML_ERR_NOT_YET_VALID, "not yet valid: Assertion IssueInstant "
                       "%s is after now %s (skew %ds)", a, b, self->skew);
    }
    if (rc == SAML_OK)
        rc = s_issuer(self, result, assertion, "Assertion", true);
    if (rc == SAML_OK)
        rc = s_subject(self, result, assertion, p, &until);
    if (rc == SAML_OK)
        rc = s_conditions(self, result, assertion, &until);
    if (rc == SAML_OK)
        rc = s_authn(self, result, assertion, p);
    char why[256];
    if (rc == SAML_OK
        && saml_attributes_apply(self->attribute_map, assertion, p, why, sizeof why) != 0)
        rc = saml_fail(result, SAML_ERR_ATTRIBUTES, "%s", why);
    if (rc == SAML_OK && self->keep_raw && saml_attributes_raw(assertion, p) != 0)
        rc = saml_fail(result, SAML_ERR_ATTRIBUTES, "out of memory reading attributes");
    if (rc == SAML_OK) {
        p->not_on_or_after = until;
        *replay_until = until + self->skew;
        *profile = p;
    }
    else
        saml_profile_destroy(&p);
    return rc;
}

/* -------------------------------------------------------------------------- self-test */

/* Every check of a test Response (unsigned: signatures are another module's job) in
   saml_response's order: Status, the Response, the Assertion. */
static saml_error_t s_check(const saml_response_conditions_t *self, const char *b64,
                            saml_result_t *result, saml_profile_t **profile, time_t *until)
{
    xmlDocPtr doc = saml_test_response_doc(b64);
    if (!doc)
        return saml_fail(result, SAML_ERR_INTERNAL, "internal: test response unreadable");
    xmlNodePtr root = xmlDocGetRootElement(doc);
    saml_error_t rc = saml_response_conditions_status(result, root);
    if (rc == SAML_OK)
        rc = saml_response_conditions_response(self, result, root, true);
    if (rc == SAML_OK)
        rc = saml_response_conditions_assertion(self, result,
                                                sso_xml_child(root, SAML_NS_ASSERTION,
                                                               "Assertion"), profile, until);
    xmlFreeDoc(doc);
    return rc;
}

/* The conditions of case c under self: SAML_OK, or the error with its reason in result. */
static saml_error_t s_case(const saml_response_conditions_t *self, const saml_test_case_t *c,
                           saml_result_t *result)
{
    char *b64 = saml_test_response(c, NULL, NULL);
    saml_profile_t *profile = NULL;
    time_t until = 0;
    saml_error_t rc = b64 ? s_check(self, b64, result, &profile, &until) : SAML_ERR_INTERNAL;
    saml_profile_destroy(&profile);
    free(b64);
    return rc;
}

/* The connection's skew and the client's max_age, each at its boundary: exactly the skew (or
   max_age + skew) passes, one second more is refused, with what was expected and what came. */
static void s_skew_test(saml_response_conditions_t *self)
{
    saml_result_t result = {0};
    for (int skew = 0; skew <= 600; skew += 300) {
        self->skew = skew;
        /* NotOnOrAfter (both of them) at now - skew: expired; one second later: fine. */
        saml_test_case_t c = {.not_on_or_after = -skew, .not_before = -skew - 60};
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_EXPIRED);
        c.not_on_or_after = -skew + 1;
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
        /* NotBefore at now + skew: fine; one second later: not yet valid. */
        c = (saml_test_case_t){.not_on_or_after = skew + 300, .not_before = skew};
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
        c.not_before = skew + 1;
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_NOT_YET_VALID
                  && strstr(result.reason, "NotBefore"));
        /* The Assertion's IssueInstant at now + skew: fine; one second later: refused. */
        c = (saml_test_case_t){.not_on_or_after = skew + 300, .issue_instant = skew};
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
        c.issue_instant = skew + 1;
        char reason[160];
        char at[32], now[32];
        saml_time_format(SAML_TEST_NOW + skew + 1, at, sizeof at);
        saml_time_format(SAML_TEST_NOW, now, sizeof now);
        snprintf(reason, sizeof reason, "not yet valid: Assertion IssueInstant %s is after now "
                 "%s (skew %ds)", at, now, skew);
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_NOT_YET_VALID
                  && !strcmp(result.reason, reason));
        /* max_age: an AuthnInstant exactly max_age + skew old passes, a second older is
           refused; without max_age any age passes. */
        self->max_age = 300;
        c = (saml_test_case_t){.not_on_or_after = 300, .authn_instant = -300 - skew};
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
        c.authn_instant = -300 - skew - 1;
        char expected[32], got[32];
        saml_time_format(SAML_TEST_NOW - 300, expected, sizeof expected);
        saml_time_format(SAML_TEST_NOW - 300 - skew - 1, got, sizeof got);
        snprintf(reason, sizeof reason, "authn_instant: expected %s or later (max_age 300s, "
                 "skew %ds), got %s", expected, skew, got);
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_AUTHN_STATEMENT
                  && !strcmp(result.reason, reason));
        if (strcmp(result.reason, reason) != 0)
            fprintf(stderr, "  expected %s\n  got %s\n", reason, result.reason);
        /* A short max_age: the same bounds. */
        self->max_age = 5;
        c.authn_instant = -5 - skew;
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
        c.authn_instant = -5 - skew - 1;
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_AUTHN_STATEMENT);
        /* No AuthnInstant, or no AuthnStatement, when max_age was asked: refused. */
        c.no_authn_instant = true;
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_STRUCTURE
                  && strstr(result.reason, "AuthnStatement has no AuthnInstant"));
        c.no_authn = true;
        SSO_CHECK(s_case(self, &c, &result) == SAML_ERR_AUTHN_STATEMENT);
        self->max_age = -1;
        c = (saml_test_case_t){.not_on_or_after = 300, .authn_instant = -86400 * 365};
        SSO_CHECK(s_case(self, &c, &result) == SAML_OK);
    }
    self->skew = 120;
}

void saml_response_conditions_test(bool verbose)
{
    (void) verbose;
    saml_response_conditions_t self = {.idp_entity_id = SAML_TEST_IDP,
                                       .sp_entity_id = SAML_TEST_SP,
                                       .acs_url = SAML_TEST_ACS,
                                       .in_response_to = "_req1",
                                       .now = SAML_TEST_NOW,
                                       .skew = 120,
                                       .max_age = -1};
    saml_test_case_t good = {.not_on_or_after = 300, .not_before = -60};
    char *b64 = saml_test_response(&good, NULL, NULL);
    saml_result_t result = {0};
    saml_profile_t *profile = NULL;
    time_t until = 0;
    SSO_CHECK(b64 && s_check(&self, b64, &result, &profile, &until) == SAML_OK);
    SSO_CHECK(profile && strcmp(profile->subject, "ann@example.com") == 0
              && strcmp(profile->assertion_id, "_assert1") == 0
              && profile->not_on_or_after == SAML_TEST_NOW + 300
              && until == SAML_TEST_NOW + 300 + 120);
    saml_profile_destroy(&profile);
    free(b64);

    /* Refusals with precise reasons. */
    struct {
        saml_test_case_t c;
        saml_error_t code;
        const char *text;
    } bad[] = {
        {{.not_on_or_after = 300, .audience = "urn:foo"},
         SAML_ERR_AUDIENCE,
         "audience: expected " SAML_TEST_SP ", got urn:foo"},
        {{.not_on_or_after = 300, .issuer = "https://evil.test"},
         SAML_ERR_ISSUER,
         "issuer: expected " SAML_TEST_IDP ", got https://evil.test"},
        {{.not_on_or_after = -200, .not_before = -400},
         SAML_ERR_EXPIRED,
         "expired: SubjectConfirmationData NotOnOrAfter 2026-01-02T03:00:45Z "
         "is before now 2026-01-02T03:04:05Z (skew 120s)"},
        {{.not_on_or_after = 900, .not_before = 600},
         SAML_ERR_NOT_YET_VALID,
         "not yet valid: Conditions NotBefore"},
        {{.not_on_or_after = 300, .destination = "https://other.test/acs"},
         SAML_ERR_DESTINATION,
         "destination: expected " SAML_TEST_ACS ", got https://other.test/acs"},
        {{.not_on_or_after = 300, .recipient = "https://other.test/acs"},
         SAML_ERR_RECIPIENT,
         "recipient: expected " SAML_TEST_ACS},
        {{.not_on_or_after = 300, .in_response_to = "_other"},
         SAML_ERR_IN_RESPONSE_TO,
         "in_response_to: expected _req1, got _other"},
        {{.not_on_or_after = 300, .status = "urn:oasis:names:tc:SAML:2.0:status:Responder"},
         SAML_ERR_STATUS,
         "status: urn:oasis:names:tc:SAML:2.0:status:Responder"},
        {{.not_on_or_after = 300, .no_authn = true}, SAML_ERR_AUTHN_STATEMENT, "no AuthnStatement"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b64 = saml_test_response(&bad[i].c, NULL, NULL);
        saml_error_t rc = b64 ? s_check(&self, b64, &result, &profile, &until) : SAML_ERR_INTERNAL;
        bool ok = rc == bad[i].code && strstr(result.reason, bad[i].text) && !profile;
        SSO_CHECK(ok);
        if (!ok)
            fprintf(stderr, "  expected %s/%s, got %s: %s\n", saml_error_name(bad[i].code),
                    bad[i].text, saml_error_name(rc), result.reason);
        saml_profile_destroy(&profile);
        free(b64);
    }

    s_skew_test(&self);

    /* A control character from the document never reaches the reason (the event log refuses
       them, and the browser would get another answer). */
    const char *status = "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTOCOL "\" Version=\"2.0\">"
                         "<samlp:Status><samlp:StatusCode Value=\"urn:x&#10;y&#127;\"/>"
                         "</samlp:Status></samlp:Response>";
    xmlDocPtr doc = xmlReadMemory(status, (int) strlen(status), "t.xml", NULL, XML_PARSE_NONET);
    SSO_CHECK(doc && saml_response_conditions_status(&result, xmlDocGetRootElement(doc))
                         == SAML_ERR_STATUS
              && strstr(result.reason, "status: urn:x?y?"));
    xmlFreeDoc(doc);
}
