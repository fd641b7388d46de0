/* saml_response_decode: the ACS input up to a document whose shape may be trusted: strict
   base64 within the size cap, the hardened parse (sso_xml_read_safe: no DTD, no entities, no
   network, bounded depth), a samlp:Response of version 2.0, unique IDs, exactly one assertion
   as a direct child of the Response, and no URI to dereference under an EncryptedAssertion. */
#ifndef SAML_RESPONSE_DECODE_H
#define SAML_RESPONSE_DECODE_H
#include "saml_result.h"
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decoded size cap for a SAMLResponse (the encoded form may be a third larger). */
#define SAML_RESPONSE_MAX_BYTES (1024 * 1024)

/* The form value to bytes: the standard alphabet and line-wrapping blanks only, canonical
   padding, at most SAML_RESPONSE_MAX_BYTES. *out (NUL-terminated, malloc'd) on SAML_OK. */
saml_error_t saml_response_decode_base64(saml_result_t *result, const char *b64, uint8_t **out,
                                         size_t *len);
/* The form value to a parsed document (base64, then the hardened parse); *doc on SAML_OK. */
saml_error_t saml_response_decode(saml_result_t *result, const char *b64, xmlDocPtr *doc);
/* The root is a samlp:Response of version 2.0. */
saml_error_t saml_response_decode_check_root(saml_result_t *result, xmlNodePtr root);
/* Every ID in the document unique; exactly one Assertion or EncryptedAssertion anywhere, and
   that one a direct child of root. Run again after decryption (the plaintext is new). */
saml_error_t saml_response_decode_check_structure(saml_result_t *result, xmlNodePtr root);
/* Refuses, before any decryption, anything under node (an EncryptedAssertion) that would have
   a URI dereferenced: CipherReference, RetrievalMethod, XInclude, xml:base, xlink:href and
   any URI that is not "#id". The refusals are SAML_ERR_DECRYPTION. */
saml_error_t saml_response_decode_refuse_fetches(saml_result_t *result, xmlNodePtr node);

void saml_response_decode_test(bool verbose);
#endif
