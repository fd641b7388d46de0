#include "saml_codec.h"
#include "sso_test.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* One deflate state per thread, kept: deflateInit2 allocates the window, hash chains and pending
   buffer (256 KB at zlib's defaults) and deflateEnd gives it back to the system, which for a
   1 KB AuthnRequest cost far more than compressing it (brk, page faults, TLB flushes).
   deflateReset starts a fresh stream over the same state, so every call makes the same output
   a new stream would. memLevel 5 instead of 8: the hash table deflateReset clears shrinks from
   64 KB to 8 KB, and a block still holds 2047 symbols (more than an AuthnRequest has). memLevel
   is the encoder's own memory, not part of the format: the 32 KB window (-15) the IdP inflates
   with is unchanged. */
static _Thread_local z_stream s_deflater;
static _Thread_local bool s_deflater_ready;

static z_stream *s_deflater_get(void)
{
    if (s_deflater_ready && deflateReset(&s_deflater) == Z_OK)
        return &s_deflater;
    if (s_deflater_ready)
        deflateEnd(&s_deflater);
    memset(&s_deflater, 0, sizeof s_deflater);
    /* Negative window bits: raw DEFLATE, no zlib header, as the binding requires. */
    s_deflater_ready = deflateInit2(&s_deflater, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 5,
                                    Z_DEFAULT_STRATEGY) == Z_OK;
    return s_deflater_ready ? &s_deflater : NULL;
}

int saml_deflate(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream *stream = len <= UINT32_MAX ? s_deflater_get() : NULL;
    if (!stream)
        return -1;
    uLong bound = deflateBound(stream, (uLong) len);
    uint8_t *buffer = malloc(bound ? bound : 1);
    int rc = -1;
    if (buffer) {
        stream->next_in = (Bytef *) data;
        stream->avail_in = (uInt) len;
        stream->next_out = buffer;
        stream->avail_out = (uInt) bound;
        if (deflate(stream, Z_FINISH) == Z_STREAM_END) {
            *out = buffer;
            *out_len = stream->total_out;
            buffer = NULL;
            rc = 0;
        }
    }
    free(buffer);
    /* The kept state must not point into buffers the caller is about to free. */
    stream->next_in = stream->next_out = NULL;
    stream->avail_in = stream->avail_out = 0;
    return rc;
}

size_t saml_inflate_into(const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (inflateInit2(&stream, -15) != Z_OK)
        return 0;
    stream.next_in = (Bytef *) data;
    stream.avail_in = (uInt) len;
    stream.next_out = out;
    stream.avail_out = (uInt) cap;
    int rc = inflate(&stream, Z_FINISH);
    size_t total = rc == Z_STREAM_END ? stream.total_out : 0;
    inflateEnd(&stream);
    return total;
}

void saml_codec_test(bool verbose)
{
    (void) verbose;
    const char *text = "<samlp:AuthnRequest ID=\"_1\"/><samlp:AuthnRequest ID=\"_1\"/>";
    uint8_t *z = NULL;
    size_t z_len = 0;
    uint8_t back[256];
    SSO_CHECK(saml_deflate((const uint8_t *) text, strlen(text), &z, &z_len) == 0 && z_len > 0);
    SSO_CHECK(z && saml_inflate_into(z, z_len, back, sizeof back) == strlen(text)
              && memcmp(back, text, strlen(text)) == 0);
    /* Output larger than the cap is refused, not truncated. */
    SSO_CHECK(z && saml_inflate_into(z, z_len, back, 10) == 0);
    SSO_CHECK(saml_inflate_into((const uint8_t *) "not deflate", 11, back, sizeof back) == 0);

    /* The kept stream starts afresh each call: nothing of the previous input is referred to,
       so the same input gives the same bytes whatever came before. */
    enum { big = 100000 };
    uint8_t *large = malloc(big), *large_back = malloc(big), *z2 = NULL, *z3 = NULL;
    size_t z2_len = 0, z3_len = 0;
    for (size_t i = 0; large && i < big; i++)
        large[i] = (uint8_t) "AuthnRequest urn:oasis:names:tc:SAML:2.0 "[(i * 7 + i / 1000) % 41];
    SSO_CHECK(large && large_back && saml_deflate(large, big, &z2, &z2_len) == 0);
    SSO_CHECK(z2 && saml_inflate_into(z2, z2_len, large_back, big) == big
              && memcmp(large, large_back, big) == 0);
    SSO_CHECK(saml_deflate((const uint8_t *) text, strlen(text), &z3, &z3_len) == 0
              && z3_len == z_len && memcmp(z, z3, z_len) == 0);
    uint8_t *empty = NULL;
    size_t empty_len = 0;
    SSO_CHECK(saml_deflate((const uint8_t *) "", 0, &empty, &empty_len) == 0 && empty_len > 0);
    free(empty);
    free(z);
    free(z2);
    free(z3);
    free(large);
    free(large_back);
}
