/* saml_response_decrypt: the EncryptedAssertion, decrypted in place with the connection's SP
   key. Before xmlsec runs: nothing to fetch (saml_response_decode_refuse_fetches), one
   EncryptedData, one EncryptedKey (also accepted beside EncryptedData), data ciphers
   AES-128/256-GCM and -CBC only, key transport RSA-OAEP only (PKCS#1 v1.5 is refused: padding
   oracle). The plaintext is parsed with the document's rules and must be one saml:Assertion. */
#ifndef SAML_RESPONSE_DECRYPT_H
#define SAML_RESPONSE_DECRYPT_H
#include "saml_result.h"
#include <libxml/tree.h>
#include <stdbool.h>

typedef struct saml_response_decrypt_t saml_response_decrypt_t;

/* NULL when sp_private_key_pem is not a PEM private key (or out of memory). */
saml_response_decrypt_t *saml_response_decrypt_new(const char *sp_private_key_pem);
void saml_response_decrypt_destroy(saml_response_decrypt_t **self_p);
/* Replaces enc_assertion, a direct child of root, by the Assertion it carries. self NULL
   means the connection has no SP key: an encrypted response is refused (after the fetch
   check, so the refusal reads the same whether a key is configured or not). */
saml_error_t saml_response_decrypt_assertion(saml_response_decrypt_t *self, saml_result_t *result,
                                             xmlNodePtr root, xmlNodePtr enc_assertion);

void saml_response_decrypt_test(bool verbose);
#endif
