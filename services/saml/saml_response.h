/* saml_response: validates the SAMLResponse of an ACS POST (HTTP-POST binding) under the
   rules of DESIGN.md sections 6 and 8, and reads the identity only from the assertion the
   verified signature covers. Pure: no bus, no clock of its own, no replay cache (the caller
   records profile->assertion_id until saml_response_replay_until()). */
#ifndef SAML_RESPONSE_H
#define SAML_RESPONSE_H
#include "directory.pb-c.h"
#include "saml_attributes.h"
#include "saml_response_decode.h" /* SAML_RESPONSE_MAX_BYTES */
#include "saml_result.h"        /* saml_error_t, saml_error_name */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SAML_DEFAULT_CLOCK_SKEW 120

typedef struct {
    const char *idp_entity_id;
    const char *const *idp_certificates; /* PEM; the only keys signatures are checked with */
    size_t n_idp_certificates;
    const char *sp_entity_id;            /* <public url>/sso/saml/<connection id> */
    const char *acs_url;                 /* sp_entity_id + "/acs" */
    const char *in_response_to;          /* the AuthnRequest ID; NULL or "" = IdP-initiated */
    bool allow_idp_initiated;
    time_t now;
    int clock_skew;                      /* seconds, 0..600 */
    long long max_age;                   /* the client's max_age, seconds; -1: none */
    bool allow_sha1;                     /* RSA-SHA1 / SHA-1 digests (off by default) */
    const char *sp_private_key_pem;      /* for EncryptedAssertion; NULL = none */
    const char *sp_certificate_pem;      /* its certificate; NULL = not known */
    /* During an SP key rollover, the previous key pair, which decrypts too; NULL = none. */
    const char *sp_previous_private_key_pem, *sp_previous_certificate_pem;
    bool require_encryption;             /* a plain (unencrypted) Assertion is refused */
    bool allow_3des;                     /* 3DES-CBC may encrypt the assertion */
    const saml_attribute_map_t *attribute_map; /* NULL = defaults */
    /* A connection's attribute_mapping (profile field -> attribute name); when it has
       entries it is used in place of attribute_map (the validator keeps its own copy). */
    Sso__AttributeMapping *const *attribute_mapping;
    size_t n_attribute_mapping;
    bool keep_raw; /* the profile's raw_json (saml_attributes_raw), for LoginComplete */
} saml_response_config_t;

/* Defaults: skew 120 s, no max_age, SHA-1 off, IdP-initiated off, now = time(NULL). */
void saml_response_config_init(saml_response_config_t *config);
/* The one mapping from a connection (as the directory gives it, with its SP key when it has
   one) to the rules its responses are validated under: the defaults, plus the connection's
   IdP, certificates, SP entity id, ACS URL, SP key, encryption options, clock skew and
   attribute mapping, and in_response_to (the pending
   AuthnRequest's ID; NULL or "" = IdP-initiated). config points into connection. */
void saml_response_config_from_connection(saml_response_config_t *config,
                                          const Sso__Connection *connection,
                                          const char *in_response_to);

typedef struct saml_response_t saml_response_t;

/* Copies what it needs from config and loads the keys. Never NULL except out of memory; a
   bad configuration makes every validate answer SAML_ERR_CONFIG with the reason. */
saml_response_t *saml_response_new(const saml_response_config_t *config);
void saml_response_destroy(saml_response_t **self_p);

/* Validates the base64 SAMLResponse form value. On SAML_OK the profile is available; on
   failure reason() says what was expected and what was received. May be called again (for
   another response under the same configuration); each call resets the result. */
saml_error_t saml_response_validate(saml_response_t *self, const char *saml_response_b64);
/* The result of the last validate: NULL unless it succeeded. */
const saml_profile_t *saml_response_profile(const saml_response_t *self);
/* Hands the profile over to the caller (who destroys it); NULL unless it succeeded. */
saml_profile_t *saml_response_take_profile(saml_response_t *self);
const char *saml_response_reason(const saml_response_t *self);
saml_error_t saml_response_error(const saml_response_t *self);
/* True when the last validate got past every signature check and the decryption, so a
   failure is about content the IdP vouched for (audience, time window, ...). A failure before
   that point (decoding, parsing, shape, decryption, signature) must look the same to the
   outside whatever its class: telling them apart would be a padding or signature oracle. */
bool saml_response_authenticated(const saml_response_t *self);
/* Until when the replay cache must remember the assertion id (NotOnOrAfter + skew). */
time_t saml_response_replay_until(const saml_response_t *self);

void saml_response_test(bool verbose);
#endif
