/* saml_response_decrypt: the EncryptedAssertion, decrypted in place with the connection's SP
   key (during a key rollover, with the current or the previous one: the one whose certificate
   the EncryptedKey's X509Data names, else the current then the previous, two tries at most; a
   named certificate that is neither is refused as retired or unknown). Before anything is decrypted: nothing to fetch (saml_response_decode_refuse_fetches),
   one EncryptedData, one EncryptedKey (in its KeyInfo or beside it), the data cipher
   AES-128/256-GCM or -CBC (3DES-CBC only when the connection allows it), the key transport
   RSA-OAEP only (xmlenc#rsa-oaep-mgf1p, xmlenc11#rsa-oaep with its DigestMethod SHA-1/256/
   384/512 and MGF1 with SHA-1/224/256/384/512, and OAEPparams; PKCS#1 v1.5 is refused:
   padding oracle). Both are decrypted with OpenSSL, the key's length checked against the
   cipher. The plaintext is parsed with the document's rules and must be one saml:Assertion. */
#ifndef SAML_RESPONSE_DECRYPT_H
#define SAML_RESPONSE_DECRYPT_H
#include "saml_result.h"
#include <libxml/tree.h>
#include <stdbool.h>

typedef struct saml_response_decrypt_t saml_response_decrypt_t;

/* NULL when sp_private_key_pem is not a PEM private key (or out of memory). allow_3des: the
   connection's option of that name. */
saml_response_decrypt_t *saml_response_decrypt_new(const char *sp_private_key_pem,
                                                   bool allow_3des);
/* The certificates of the SP keys (for the EncryptedKey's X509Data and the reasons): that of
   the key given to new (NULL: not known), and during a rollover the previous key pair
   (previous_key_pem NULL: none; previous_cert_pem NULL: not known). 0, or -1 when one does
   not parse. */
int saml_response_decrypt_keys(saml_response_decrypt_t *self, const char *current_cert_pem,
                               const char *previous_key_pem, const char *previous_cert_pem);
void saml_response_decrypt_destroy(saml_response_decrypt_t **self_p);
/* Replaces enc_assertion, a direct child of root, by the Assertion it carries. self NULL
   means the connection has no SP key: an encrypted response is refused (after the fetch
   check, so the refusal reads the same whether a key is configured or not). */
saml_error_t saml_response_decrypt_assertion(saml_response_decrypt_t *self, saml_result_t *result,
                                             xmlNodePtr root, xmlNodePtr enc_assertion);

void saml_response_decrypt_test(bool verbose);
#endif
