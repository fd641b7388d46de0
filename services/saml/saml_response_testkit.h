/* saml_response_testkit: for the self-tests of saml_response and its steps only: a SAML
   Response built from a few knobs (issuer, audience, times...) and signed on request, so
   each test states only what it changes; the assertion is encrypted on request (with OpenSSL,
   every knob of XML Encryption the decryption reads). */
#ifndef SAML_RESPONSE_TESTKIT_H
#define SAML_RESPONSE_TESTKIT_H
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#define SAML_TEST_IDP "https://idp.test/metadata"
#define SAML_TEST_SP "https://sso.test/sso/saml/conn_1"
#define SAML_TEST_ACS SAML_TEST_SP "/acs"
#define SAML_TEST_NOW 1767323045L /* 2026-01-02T03:04:05Z */

/* How the (signed) assertion is encrypted: the data key wrapped with RSA-OAEP for sp_cert,
   the assertion encrypted with it. The URIs are written as given (NULL: the element is
   absent); digest, mgf1 and cipher are what is really used, whatever the URIs say. */
typedef struct {
    const char *sp_cert;         /* PEM */
    const char *transport;       /* EncryptedKey's Algorithm; NULL: xmlenc11#rsa-oaep */
    const char *digest_uri;      /* DigestMethod */
    const char *mgf_uri;         /* xenc11:MGF */
    const EVP_MD *digest, *mgf1; /* NULL: SHA-1 */
    const char *label;           /* OAEPparams (raw; base64 in the document); NULL: none */
    const char *cipher_uri;      /* EncryptedData's Algorithm; NULL: xmlenc11#aes256-gcm */
    const EVP_CIPHER *cipher;    /* NULL: AES-256-GCM */
    size_t key_len;              /* the wrapped key's length; 0: the cipher's */
    bool key_beside_data;        /* the EncryptedKey beside the EncryptedData (not in KeyInfo) */
    const char *key_info_cert;   /* PEM: named in the EncryptedKey's ds:KeyInfo/ds:X509Data */
} saml_test_encryption_t;

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
    const saml_test_encryption_t *encrypt; /* NULL: a plain Assertion */
    /* 1: no InResponseTo anywhere (an IdP-initiated Response); 2: none on the Response, the
       SubjectConfirmationData's kept (a hostile mix). */
    int unsolicited;
} saml_test_case_t;

/* The Response as base64 (malloc'd), signed with key/cert (PEM) as the case asks (the
   assertion before it is encrypted, the Response after); NULL on failure. The assertion's ID is c->assertion_id ("_assert1" when NULL), the Response's
   "_resp1". */
char *saml_test_response(const saml_test_case_t *c, const char *key, const char *cert);
/* The URLs of a connection's SP at https://sso.test, which a case points into. */
typedef struct {
    char sp[200];
    char acs[220];
} saml_test_sp_t;
/* A case valid now (not SAML_TEST_NOW) for connection_id's SP at https://sso.test (its URLs
   written into *sp, which must outlive the case), as the IdP simulator signs it: the
   assertion signed, NameID jane@example.com, no InResponseTo given yet. For self-tests that
   post to the ACS of the directory fake's connection. */
saml_test_case_t saml_test_case_now(const char *connection_id, saml_test_sp_t *sp);
/* A test Response (base64, may be NULL) parsed as a plain document; NULL when it is not one. */
xmlDocPtr saml_test_response_doc(const char *b64);
#endif
