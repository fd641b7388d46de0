/* saml_response: ACS validation, run in this order: decode (base64, the hardened parse, the
   root), status, structure (ids, exactly one assertion at its place), signatures (Response,
   then decryption, then Assertion), then every condition, read only from the verified nodes.
   The steps live in saml_response_decode, _signature, _decrypt and _conditions; this module
   owns the configuration and the result. */
#include "saml_response.h"
#include "saml_response_conditions.h"
#include "saml_response_decode.h"
#include "saml_response_decrypt.h"
#include "saml_response_signature.h"
#include "saml_response_testkit.h"
#include "saml_xml.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct saml_response_t {
    /* configuration (owned copies) */
    char *idp_entity_id, *sp_entity_id, *acs_url, *in_response_to;
    bool allow_idp_initiated, require_encryption;
    saml_response_conditions_t conditions; /* views of the copies above */
    saml_response_signature_t *signature;
    saml_response_decrypt_t *decrypt;      /* NULL: no SP key, encrypted responses refused */
    saml_attribute_map_t *attribute_map;   /* from config->attribute_mapping; NULL: none */
    char config_error[SAML_REASON_MAX];
    /* result of the last validate */
    saml_result_t result;
    bool authenticated;           /* it got past every signature and the decryption */
    saml_profile_t *profile;
    time_t replay_until;
};

void saml_response_config_init(saml_response_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->clock_skew = SAML_DEFAULT_CLOCK_SKEW;
    config->max_age = -1;
    config->now = time(NULL);
}

/* A proto3 string field: NULL when empty. */
static const char *s_or_null(const char *text)
{
    return text && *text ? text : NULL;
}

void saml_response_config_from_connection(saml_response_config_t *config,
                                          const Sso__Connection *connection,
                                          const char *in_response_to)
{
    saml_response_config_init(config);
    config->idp_entity_id = connection->idp_entity_id;
    config->idp_certificates = (const char *const *) connection->idp_certificates;
    config->n_idp_certificates = connection->n_idp_certificates;
    config->sp_entity_id = connection->sp_entity_id;
    config->acs_url = connection->sp_acs_url;
    config->in_response_to = in_response_to;
    /* The directory fills it for every SAML connection (its option clock_skew_s). */
    config->clock_skew = connection->saml_clock_skew_s;
    config->sp_private_key_pem = s_or_null(connection->sp_private_key_pem);
    config->sp_certificate_pem = s_or_null(connection->sp_certificate_pem);
    config->sp_previous_private_key_pem = s_or_null(connection->sp_previous_private_key_pem);
    config->sp_previous_certificate_pem = s_or_null(connection->sp_previous_certificate_pem);
    config->require_encryption = connection->saml_require_encryption;
    config->allow_3des = connection->saml_allow_3des;
    config->attribute_mapping = connection->attribute_mapping;
    config->n_attribute_mapping = connection->n_attribute_mapping;
}

/* The map of config's attribute_mapping into *out (NULL when it has no entries). A field
   name the profile does not have is skipped: the directory checked them when they were
   written. 0, or -1 when out of memory or a name is refused. */
static int s_mapping(const saml_response_config_t *config, saml_attribute_map_t **out)
{
    *out = NULL;
    if (!config->n_attribute_mapping)
        return 0;
    saml_attribute_map_t *map = saml_attribute_map_new();
    for (size_t i = 0; map && i < config->n_attribute_mapping; i++) {
        const Sso__AttributeMapping *entry = config->attribute_mapping[i];
        saml_field_t field;
        if (entry && saml_field_of(entry->field, &field) == 0
            && saml_attribute_map_set(map, field, entry->name) != 0)
            saml_attribute_map_destroy(&map);
    }
    *out = map;
    return map ? 0 : -1;
}

static char *s_dup(const char *s)
{
    return strdup(s ? s : "");
}

static void s_load_config(saml_response_t *self, const saml_response_config_t *config)
{
    char *why = self->config_error;
    size_t why_size = sizeof self->config_error;
    if (sso_xmlsec_init() != 0) {
        snprintf(why, why_size, "internal: xmlsec could not be initialized");
        return;
    }
    if (!*self->idp_entity_id || !*self->sp_entity_id || !*self->acs_url) {
        snprintf(why, why_size, "config: the IdP entity id, SP entity id and ACS URL are required");
        return;
    }
    if (config->n_idp_certificates == 0 || config->n_idp_certificates > SAML_MAX_IDP_CERTIFICATES) {
        snprintf(why, why_size, "config: between 1 and %d IdP signing certificates are required, "
                 "got %zu", SAML_MAX_IDP_CERTIFICATES, config->n_idp_certificates);
        return;
    }
    if (config->clock_skew < 0 || config->clock_skew > 600) {
        snprintf(why, why_size, "config: the clock skew must be 0..600 seconds, got %d",
                 config->clock_skew);
        return;
    }
    if (!(self->signature = saml_response_signature_new(config->allow_sha1))) {
        snprintf(why, why_size, "internal: could not create a keys manager");
        return;
    }
    for (size_t i = 0; i < config->n_idp_certificates; i++)
        if (saml_response_signature_add_certificate(self->signature, config->idp_certificates[i],
                                                    why, why_size) != 0)
            return;
    if (config->sp_private_key_pem && *config->sp_private_key_pem
        && !(self->decrypt = saml_response_decrypt_new(config->sp_private_key_pem,
                                                                  config->allow_3des))) {
        snprintf(why, why_size, "config: the SP private key is not a PEM private key");
        return;
    }
    if (self->decrypt
        && saml_response_decrypt_keys(self->decrypt, config->sp_certificate_pem,
                                      config->sp_previous_private_key_pem,
                                      config->sp_previous_certificate_pem) != 0) {
        snprintf(why, why_size, "config: the SP certificate, or the previous SP key or "
                 "certificate of the key rollover, is not PEM");
        return;
    }
    ERR_clear_error();
}

saml_response_t *saml_response_new(const saml_response_config_t *config)
{
    saml_response_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->idp_entity_id = s_dup(config->idp_entity_id);
    self->sp_entity_id = s_dup(config->sp_entity_id);
    self->acs_url = s_dup(config->acs_url);
    self->in_response_to = s_dup(config->in_response_to);
    if (!self->idp_entity_id || !self->sp_entity_id || !self->acs_url || !self->in_response_to) {
        saml_response_destroy(&self);
        return NULL;
    }
    if (s_mapping(config, &self->attribute_map) != 0) {
        saml_response_destroy(&self);
        return NULL;
    }
    self->allow_idp_initiated = config->allow_idp_initiated;
    self->require_encryption = config->require_encryption;
    self->conditions = (saml_response_conditions_t) {
        .idp_entity_id = self->idp_entity_id,
        .sp_entity_id = self->sp_entity_id,
        .acs_url = self->acs_url,
        .in_response_to = self->in_response_to,
        .now = config->now,
        .skew = config->clock_skew,
        .max_age = config->max_age,
        .attribute_map = self->attribute_map ? self->attribute_map : config->attribute_map,
        .keep_raw = config->keep_raw,
    };
    s_load_config(self, config);
    return self;
}

void saml_response_destroy(saml_response_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_response_t *self = *self_p;
    free(self->idp_entity_id);
    free(self->sp_entity_id);
    free(self->acs_url);
    free(self->in_response_to);
    saml_response_signature_destroy(&self->signature);
    saml_response_decrypt_destroy(&self->decrypt);
    saml_attribute_map_destroy(&self->attribute_map);
    saml_profile_destroy(&self->profile);
    free(self);
    *self_p = NULL;
}

const saml_profile_t *saml_response_profile(const saml_response_t *self)
{
    return self->result.error == SAML_OK ? self->profile : NULL;
}

saml_profile_t *saml_response_take_profile(saml_response_t *self)
{
    saml_profile_t *profile = self->result.error == SAML_OK ? self->profile : NULL;
    if (profile)
        self->profile = NULL;
    return profile;
}

const char *saml_response_reason(const saml_response_t *self)
{
    return self->result.reason;
}

saml_error_t saml_response_error(const saml_response_t *self)
{
    return self->result.error;
}

bool saml_response_authenticated(const saml_response_t *self)
{
    return self->authenticated;
}

time_t saml_response_replay_until(const saml_response_t *self)
{
    return self->replay_until;
}

/* -------------------------------------------------------------------------- validate */

static saml_error_t s_validate_doc(saml_response_t *self, xmlDocPtr doc)
{
    saml_result_t *result = &self->result;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    saml_error_t rc = saml_response_decode_check_root(result, root);
    if (rc == SAML_OK)
        rc = saml_response_conditions_status(result, root);
    if (rc == SAML_OK)
        rc = saml_response_decode_check_structure(result, root);
    if (rc == SAML_OK && self->require_encryption
        && !sso_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion"))
        rc = saml_fail(result, SAML_ERR_DECRYPTION, "decryption: the connection requires an "
                       "encrypted assertion (option require_encryption), and the Response "
                       "carries a plain saml:Assertion");
    xmlNodePtr response_sig = NULL, assertion_sig = NULL;
    if (rc == SAML_OK)
        rc = saml_response_signature_of(result, root, "Response", &response_sig);
    if (rc == SAML_OK && response_sig)
        rc = saml_response_signature_verify(self->signature, result, doc, root, response_sig,
                                            "Response");
    if (rc)
        return rc;
    xmlNodePtr encrypted = sso_xml_child(root, SAML_NS_ASSERTION, "EncryptedAssertion");
    if (encrypted) {
        rc = saml_response_decrypt_assertion(self->decrypt, result, root, encrypted);
        /* The plaintext is new content: count assertions and IDs again. */
        if (rc == SAML_OK)
            rc = saml_response_decode_check_structure(result, root);
        if (rc)
            return rc;
    }
    xmlNodePtr assertion = sso_xml_child(root, SAML_NS_ASSERTION, "Assertion");
    if (!assertion)
        return saml_fail(result, SAML_ERR_STRUCTURE, "assertion: the Response has no Assertion");
    rc = saml_response_signature_of(result, assertion, "Assertion", &assertion_sig);
    if (rc == SAML_OK && assertion_sig)
        rc = saml_response_signature_verify(self->signature, result, doc, assertion,
                                            assertion_sig, "Assertion");
    if (rc == SAML_OK && !response_sig && !assertion_sig)
        rc = saml_fail(result, SAML_ERR_SIGNATURE, "signature: neither the Response nor the "
                       "Assertion is signed");
    /* From here on a failure is about content the IdP vouched for. */
    self->authenticated = rc == SAML_OK;
    if (rc == SAML_OK)
        rc = saml_response_conditions_response(&self->conditions, result, root,
                                               response_sig != NULL);
    if (rc == SAML_OK)
        rc = saml_response_conditions_assertion(&self->conditions, result, assertion,
                                                &self->profile, &self->replay_until);
    return rc;
}

saml_error_t saml_response_validate(saml_response_t *self, const char *saml_response_b64)
{
    saml_profile_destroy(&self->profile);
    self->result.reason[0] = '\0';
    self->result.error = SAML_OK;
    self->authenticated = false;
    self->replay_until = 0;
    if (self->config_error[0])
        return saml_fail(&self->result, strncmp(self->config_error, "internal", 8) == 0
                         ? SAML_ERR_INTERNAL : SAML_ERR_CONFIG, "%s", self->config_error);
    if (!*self->in_response_to && !self->allow_idp_initiated)
        return saml_fail(&self->result, SAML_ERR_IN_RESPONSE_TO, "in_response_to: no "
                         "AuthnRequest is pending and unsolicited (IdP-initiated) responses are "
                         "not allowed for this connection");
    xmlDocPtr doc = NULL;
    saml_error_t rc = saml_response_decode(&self->result, saml_response_b64, &doc);
    if (rc)
        return rc;
    rc = s_validate_doc(self, doc);
    xmlFreeDoc(doc);
    ERR_clear_error();
    return rc;
}

/* -------------------------------------------------------------------------- self-test */

static bool s_refused(saml_response_t *v, const char *b64, saml_error_t code, const char *text)
{
    saml_error_t rc = saml_response_validate(v, b64);
    bool ok = rc == code && strstr(saml_response_reason(v), text) != NULL;
    if (!ok)
        fprintf(stderr, "  expected %s/%s, got %s: %s\n", saml_error_name(code), text,
                saml_error_name(rc), saml_response_reason(v));
    return ok;
}

void saml_response_test(bool verbose)
{
    char *key = NULL, *cert = NULL, *other_key = NULL, *other_cert = NULL;
    SSO_CHECK(sso_xmlsec_init() == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("idp.test", &key, &cert) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("attacker.test", &other_key, &other_cert) == 0);
    if (!key || !other_key)
        goto done;
    const char *certs[] = {other_cert, cert};
    saml_response_config_t config;
    saml_response_config_init(&config);
    config.idp_entity_id = SAML_TEST_IDP;
    config.idp_certificates = certs;
    config.n_idp_certificates = 2; /* rollover: the right key is the second one */
    config.sp_entity_id = SAML_TEST_SP;
    config.acs_url = SAML_TEST_ACS;
    config.in_response_to = "_req1";
    config.now = SAML_TEST_NOW;
    saml_response_t *v = saml_response_new(&config);
    SSO_CHECK(v != NULL);
    if (!v)
        goto done;

    /* Happy paths: signed assertion, signed response, both. */
    for (int mode = 1; mode <= 3; mode++) {
        saml_test_case_t c = {.not_on_or_after = 300, .not_before = -60, .sign_assertion = mode & 1,
                      .sign_response = mode & 2};
        char *b64 = saml_test_response(&c, key, cert);
        SSO_CHECK(b64 != NULL);
        saml_error_t rc = b64 ? saml_response_validate(v, b64) : SAML_ERR_INTERNAL;
        SSO_CHECK(rc == SAML_OK && saml_response_authenticated(v));
        if (rc != SAML_OK)
            fprintf(stderr, "  mode %d: %s\n", mode, saml_response_reason(v));
        const saml_profile_t *p = saml_response_profile(v);
        SSO_CHECK(p && strcmp(p->subject, "ann@example.com") == 0
                  && strcmp(p->email, "ann@example.com") == 0 && strcmp(p->name, "Ann") == 0
                  && p->n_groups == 1 && strcmp(p->assertion_id, "_assert1") == 0
                  && strcmp(p->session_index, "_s1") == 0
                  && p->not_on_or_after == SAML_TEST_NOW + 300
                  && saml_response_replay_until(v) == SAML_TEST_NOW + 300 + 120);
        if (verbose && p) {
            char *summary = saml_profile_summary(p);
            printf("  %s\n", summary ? summary : "?");
            free(summary);
        }
        free(b64);
    }
    saml_profile_t *taken = saml_response_take_profile(v);
    SSO_CHECK(taken && saml_response_profile(v) == NULL);
    saml_profile_destroy(&taken);

    /* A connection's attribute_mapping: a mapped field from its attribute only (email from
       an attribute the response lacks: the emailAddress NameID, as DESIGN says, not a default
       attribute); given_name from groups; a name the profile does not have is skipped. */
    {
        Sso__AttributeMapping email = SSO__ATTRIBUTE_MAPPING__INIT,
                              given = SSO__ATTRIBUTE_MAPPING__INIT,
                              other = SSO__ATTRIBUTE_MAPPING__INIT;
        email.field = "email";
        email.name = "corpMail";
        given.field = "given_name";
        given.name = "groups";
        other.field = "subject";
        other.name = "uid";
        Sso__AttributeMapping *entries[] = {&email, &given, &other};
        saml_response_config_t mapped = config;
        mapped.attribute_mapping = entries;
        mapped.n_attribute_mapping = 3;
        saml_response_t *m = saml_response_new(&mapped);
        saml_test_case_t c = {.not_on_or_after = 300, .not_before = -60, .sign_assertion = true};
        char *b64 = saml_test_response(&c, key, cert);
        SSO_CHECK(m && b64 && saml_response_validate(m, b64) == SAML_OK);
        const saml_profile_t *p = m ? saml_response_profile(m) : NULL;
        SSO_CHECK(p && strcmp(p->subject, "ann@example.com") == 0 && p->email
                  && strcmp(p->email, "ann@example.com") == 0 && p->given_name
                  && strcmp(p->given_name, "admins") == 0);
        free(b64);
        saml_response_destroy(&m);
    }

    /* Encryption: an encrypted, signed assertion logs in; require_encryption refuses a plain
       one (before any signature is checked); 3DES only with allow_3des. */
    {
        char *sp_key = NULL, *sp_cert = NULL;
        SSO_CHECK(sso_xmldsig_test_keypair("sp.test", &sp_key, &sp_cert) == 0);
        saml_response_config_t enc_config = config;
        enc_config.sp_private_key_pem = sp_key;
        enc_config.require_encryption = true;
        saml_response_t *enc = saml_response_new(&enc_config);
        enc_config.allow_3des = true;
        saml_response_t *enc_3des = saml_response_new(&enc_config);
        saml_test_encryption_t e = {.sp_cert = sp_cert,
                                    .digest_uri = "http://www.w3.org/2001/04/xmlenc#sha256",
                                    .digest = EVP_sha256(),
                                    .mgf_uri = "http://www.w3.org/2009/xmlenc11#mgf1sha256",
                                    .mgf1 = EVP_sha256()};
        saml_test_case_t c = {.not_on_or_after = 300, .sign_assertion = true, .encrypt = &e};
        char *b64 = saml_test_response(&c, key, cert);
        SSO_CHECK(enc && b64 && saml_response_validate(enc, b64) == SAML_OK
                  && saml_response_authenticated(enc));
        free(b64);
        c.encrypt = NULL;
        b64 = saml_test_response(&c, key, cert);
        SSO_CHECK(enc && b64 && s_refused(enc, b64, SAML_ERR_DECRYPTION, "decryption: the "
                                          "connection requires an encrypted assertion (option "
                                          "require_encryption), and the Response carries a "
                                          "plain saml:Assertion")
                  && !saml_response_authenticated(enc));
        SSO_CHECK(saml_response_validate(v, b64) == SAML_OK); /* not required: accepted */
        free(b64);
        e.cipher_uri = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
        e.cipher = EVP_des_ede3_cbc();
        c.encrypt = &e;
        c.sign_response = true; /* the Response signed after the encryption */
        b64 = saml_test_response(&c, key, cert);
        SSO_CHECK(enc && b64 && s_refused(enc, b64, SAML_ERR_DECRYPTION, "is refused unless "
                                          "the connection's option allow_3des is true"));
        SSO_CHECK(enc_3des && b64 && saml_response_validate(enc_3des, b64) == SAML_OK);
        free(b64);
        saml_response_destroy(&enc);
        saml_response_destroy(&enc_3des);
        /* The connection's options reach the rules. */
        Sso__Connection conn = SSO__CONNECTION__INIT;
        conn.saml_require_encryption = true;
        conn.saml_allow_3des = true;
        saml_response_config_from_connection(&enc_config, &conn, "_req1");
        SSO_CHECK(enc_config.require_encryption && enc_config.allow_3des);
        conn.saml_require_encryption = conn.saml_allow_3des = false;
        saml_response_config_from_connection(&enc_config, &conn, "_req1");
        SSO_CHECK(!enc_config.require_encryption && !enc_config.allow_3des);
        free(sp_key);
        free(sp_cert);
    }

    /* Refusals with precise reasons. */
    struct {
        saml_test_case_t c;
        saml_error_t code;
        const char *text;
    } bad[] = {
        {{.not_on_or_after = 300, .audience = "urn:foo", .sign_assertion = true},
         SAML_ERR_AUDIENCE,
         "audience: expected " SAML_TEST_SP ", got urn:foo"},
        {{.not_on_or_after = 300, .issuer = "https://evil.test", .sign_assertion = true},
         SAML_ERR_ISSUER,
         "issuer: expected " SAML_TEST_IDP ", got https://evil.test"},
        {{.not_on_or_after = -200, .not_before = -400, .sign_assertion = true},
         SAML_ERR_EXPIRED,
         "expired: SubjectConfirmationData NotOnOrAfter 2026-01-02T03:00:45Z "
         "is before now 2026-01-02T03:04:05Z (skew 120s)"},
        {{.not_on_or_after = 900, .not_before = 600, .sign_assertion = true},
         SAML_ERR_NOT_YET_VALID,
         "not yet valid: Conditions NotBefore"},
        {{.not_on_or_after = 300, .destination = "https://other.test/acs", .sign_response = true},
         SAML_ERR_DESTINATION,
         "destination: expected " SAML_TEST_ACS ", got https://other.test/acs"},
        {{.not_on_or_after = 300, .recipient = "https://other.test/acs", .sign_assertion = true},
         SAML_ERR_RECIPIENT,
         "recipient: expected " SAML_TEST_ACS},
        {{.not_on_or_after = 300, .in_response_to = "_other", .sign_assertion = true},
         SAML_ERR_IN_RESPONSE_TO,
         "in_response_to: expected _req1, got _other"},
        {{.not_on_or_after = 300,
          .status = "urn:oasis:names:tc:SAML:2.0:status:Responder",
          .sign_response = true},
         SAML_ERR_STATUS,
         "status: urn:oasis:names:tc:SAML:2.0:status:Responder"},
        {{.not_on_or_after = 300, .no_authn = true, .sign_assertion = true},
         SAML_ERR_AUTHN_STATEMENT,
         "no AuthnStatement"},
        {{.not_on_or_after = 300}, SAML_ERR_SIGNATURE, "neither the Response nor the Assertion"},
        {{.not_on_or_after = 300,
          .sign_assertion = true,
          .extra_response = "<samlp:Extensions><saml:Assertion ID=\"_x\"/></samlp:Extensions>"},
         SAML_ERR_STRUCTURE,
         "found 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b64 = saml_test_response(&bad[i].c, key, cert);
        SSO_CHECK(b64 && s_refused(v, b64, bad[i].code, bad[i].text));
        SSO_CHECK(saml_response_profile(v) == NULL);
        /* Status and structure are read before any signature is checked. */
        bool before_signature = bad[i].code == SAML_ERR_SIGNATURE
                                || bad[i].code == SAML_ERR_STRUCTURE
                                || bad[i].code == SAML_ERR_STATUS;
        SSO_CHECK(saml_response_authenticated(v) == !before_signature);
        free(b64);
    }

    /* Signed by a key that is not configured (saml_response_signature tests the reasons). */
    saml_test_case_t good = {.not_on_or_after = 300, .sign_assertion = true};
    char *forged = saml_test_response(&good, other_key, other_cert);
    const char *only_real[] = {cert};
    config.idp_certificates = only_real;
    config.n_idp_certificates = 1;
    saml_response_t *strict = saml_response_new(&config);
    SSO_CHECK(strict && forged && s_refused(strict, forged, SAML_ERR_SIGNATURE, "configured: ")
              && !saml_response_authenticated(strict));
    free(forged);
    saml_response_destroy(&strict);

    /* Input handling. */
    /* Decoding and parsing refusals come before anything is authenticated (their reasons:
       saml_response_decode). */
    SSO_CHECK(s_refused(v, "", SAML_ERR_INPUT, "empty") && !saml_response_authenticated(v));
    SSO_CHECK(s_refused(v, "PGE+", SAML_ERR_XML, "xml: ") && !saml_response_authenticated(v));

    /* IdP-initiated: refused unless allowed. */
    config.in_response_to = NULL;
    config.idp_certificates = certs;
    config.n_idp_certificates = 2;
    saml_response_t *unsolicited = saml_response_new(&config);
    SSO_CHECK(unsolicited && s_refused(unsolicited, "PGE+", SAML_ERR_IN_RESPONSE_TO,
                                       "not allowed"));
    saml_response_destroy(&unsolicited);
    /* A bad configuration is reported on every call. */
    config.idp_certificates = (const char *const[]){"not a cert"};
    config.n_idp_certificates = 1;
    saml_response_t *broken = saml_response_new(&config);
    SSO_CHECK(broken && s_refused(broken, "PGE+", SAML_ERR_CONFIG, "not a PEM"));
    saml_response_destroy(&broken);
    SSO_CHECK(broken == NULL);
    SSO_CHECK(strcmp(saml_error_name(SAML_ERR_AUDIENCE), "audience") == 0);
    saml_response_destroy(&v);
done:
    free(key);
    free(cert);
    free(other_key);
    free(other_cert);
}
