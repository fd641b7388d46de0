/* Fuzz target: what a browser brings back to /sso/oidc/callback (oidc_callback_parse), in the
   query of a GET or the form body of a POST, hostile from the first byte. The first byte picks
   the method and the content type; the rest is the query, or the body after a first '\n'. */
#include "oidc_callback.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const char *rest = (const char *) data + 1;
    size_t len = size - 1;
    const char *newline = memchr(rest, '\n', len);
    size_t query_len = newline ? (size_t) (newline - rest) : len;
    char *query = strndup(rest, query_len);
    if (!query)
        return 0;
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header type = SSO__HEADER__INIT;
    Sso__Header *headers[] = {&type};
    type.name = "content-type";
    type.value = mode & 2 ? "application/x-www-form-urlencoded; charset=utf-8" : "text/plain";
    request.method = mode & 1 ? "POST" : "GET";
    request.path = "/sso/oidc/callback/conn_fuzz";
    request.query = query;
    request.headers = headers;
    request.n_headers = 1;
    if (newline) {
        request.body.data = (uint8_t *) newline + 1;
        request.body.len = len - query_len - 1;
    }
    oidc_callback_t out;
    char why[400];
    int rc = oidc_callback_parse(&request, &out, why, sizeof why);
    /* A parsed answer names its login and carries a code or the provider's error; a
       malformed one still names its login, to be failed. */
    if ((rc == 0 && (!out.state || !*out.state || !out.code == !out.error))
        || (rc == -1 && (!out.state || !*out.state)) || rc < -1 || rc > 1)
        abort();
    oidc_callback_free(&out);
    free(query);
    return 0;
}
