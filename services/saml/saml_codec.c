#include "saml_codec.h"
#include "sso_test.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int saml_deflate(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    /* Negative window bits: raw DEFLATE, no zlib header, as the binding requires. */
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&stream, (uLong) len);
    uint8_t *buffer = malloc(bound ? bound : 1);
    int rc = -1;
    if (buffer) {
        stream.next_in = (Bytef *) data;
        stream.avail_in = (uInt) len;
        stream.next_out = buffer;
        stream.avail_out = (uInt) bound;
        if (deflate(&stream, Z_FINISH) == Z_STREAM_END) {
            *out = buffer;
            *out_len = stream.total_out;
            buffer = NULL;
            rc = 0;
        }
    }
    free(buffer);
    deflateEnd(&stream);
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
    free(z);
    SSO_CHECK(saml_inflate_into((const uint8_t *) "not deflate", 11, back, sizeof back) == 0);
}
