/* saml_codec: the raw DEFLATE (RFC 1951) of the HTTP-Redirect binding, on zlib. */
#ifndef SAML_CODEC_H
#define SAML_CODEC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caller frees *out. 0, or -1 on failure. */
int saml_deflate(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len);
/* Inflates into out (at most cap bytes; more is an error: the binding's input is hostile and
   inflation is where a small request becomes a large one). Returns the length, 0 on error. */
size_t saml_inflate_into(const uint8_t *data, size_t len, uint8_t *out, size_t cap);

void saml_codec_test(bool verbose);
#endif
