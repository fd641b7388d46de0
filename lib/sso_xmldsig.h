/* sso_xmldsig: XML signatures, hardened, for every process that checks one: the saml service
   (Responses, Assertions, AuthnRequests in tests) and the directory (signed IdP metadata).
   xmlsec start-up takes libxml2's and xmlsec's file, HTTP and FTP handlers out of the process.
   A signature's shape is checked before any cryptography: one Reference to "#" + the ID of the
   element carrying the signature, enveloped + exclusive c14n only, RSA/ECDSA with SHA-2 (SHA-1
   only when allowed), no Object. Then xmlsec verifies with each configured key pinned in turn
   (KeyInfo is never used as a key), and the verified Reference must resolve to the very element
   the caller reads from. */
#ifndef SSO_XMLDSIG_H
#define SSO_XMLDSIG_H
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#define SSO_XMLDSIG_MAX_KEYS 16
/* The longest ID of a signed element accepted. */
#define SSO_XMLDSIG_MAX_ID 256

/* Initializes libxml2 + xmlsec (OpenSSL) once per process; 0 on success. It also removes
   every file, HTTP and FTP handler of libxml2 and xmlsec (and the external entity loader) from
   the process, so no XML code path in it can reach the disk or the network. */
int sso_xmlsec_init(void);
/* Only same-document references ("#id") resolve in this context, RetrievalMethod is never
   followed, manifests are ignored. For every signature context that reads a document from
   outside. */
void sso_xmlsec_restrict_dsig(xmlSecDSigCtxPtr ctx);
/* The last xmlsec error recorded on this thread (for reasons), "" if none; cleared by reset. */
const char *sso_xmlsec_last_error(void);
void sso_xmlsec_reset_error(void);

/* SHA-256 fingerprint "AB:CD:..." of a DER certificate (95 chars + NUL). */
void sso_xmldsig_fingerprint_der(const unsigned char *der, size_t len, char out[96]);
/* An xmlsec key holding a PEM certificate's public key (RSA of at least 2048 bits, or EC),
   with the certificate's fingerprint; NULL with a reason ("config: ...") in why. */
xmlSecKeyPtr sso_xmldsig_key_from_pem(const char *pem, char fingerprint[96], char *why,
                                      size_t why_size);

typedef enum {
    SSO_XMLDSIG_OK = 0,
    SSO_XMLDSIG_ERR_STRUCTURE,  /* no usable or no unique ID */
    SSO_XMLDSIG_ERR_SIGNATURE,  /* shape, algorithm, digest, key: not verified */
    SSO_XMLDSIG_ERR_INTERNAL
} sso_xmldsig_error_t;

typedef struct sso_xmldsig_t sso_xmldsig_t;

/* NULL when out of memory or when xmlsec cannot make a keys manager. */
sso_xmldsig_t *sso_xmldsig_new(bool allow_sha1);
void sso_xmldsig_destroy(sso_xmldsig_t **self_p);
/* Trusts one more key, up to SSO_XMLDSIG_MAX_KEYS; takes key in every case. 0, or -1 with the
   reason in why. */
int sso_xmldsig_add_key(sso_xmldsig_t *self, xmlSecKeyPtr key, const char *fingerprint,
                        char *why, size_t why_size);
/* sso_xmldsig_add_key with sso_xmldsig_key_from_pem(pem). */
int sso_xmldsig_add_certificate(sso_xmldsig_t *self, const char *pem, char *why,
                                size_t why_size);
/* The single ds:Signature child of node into *sig, NULL when node is unsigned; more than one
   is refused. what names node in reasons ("Response", "EntityDescriptor"). */
sso_xmldsig_error_t sso_xmldsig_signature_of(xmlNodePtr node, const char *what, xmlNodePtr *sig,
                                             char *why, size_t why_size);
/* Verifies sig, a direct child of node, and that it covers node (by its ID, registered as the
   document's only holder of that ID). Reasons start "signature: ", "structure: " or
   "internal: " and hold no control characters. */
sso_xmldsig_error_t sso_xmldsig_verify(const sso_xmldsig_t *self, xmlDocPtr doc, xmlNodePtr node,
                                       xmlNodePtr sig, const char *what, char *why,
                                       size_t why_size);

/* Signs node the way IdPs do: an enveloped, exclusive-c14n, RSA-SHA256 signature over "#" +
   its ID, placed right after its saml:Issuer child, or first when it has none (metadata),
   with the certificate in KeyInfo. For the IdP simulator, signed AuthnRequests and tests.
   0, or -1 on failure. */
int sso_xmldsig_sign(xmlDocPtr doc, xmlNodePtr node, const char *key_pem, const char *cert_pem);

/* Self-test helper: a fresh RSA-2048 key and a self-signed certificate (valid a day), PEM. */
int sso_xmldsig_test_keypair(const char *cn, char **key_pem, char **cert_pem);

void sso_xmldsig_test(bool verbose);
#endif
