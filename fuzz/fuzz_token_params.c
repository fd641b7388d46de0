/* Fuzz target: the token endpoint's input handling: the form body and the Authorization
   header (first line of the input) as client credentials, then the authorization_code
   grant's own parameter checks (token_code_check_params). */
#include "sso_http.h"
#include "token_client_auth.h"
#include "token_code.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    size_t header_len = newline ? (size_t) (newline - data) : size;
    char *header = strndup((const char *) data, header_len);
    const uint8_t *body = newline ? newline + 1 : data + size;
    size_t body_len = size - (size_t) (body - data);
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header authorization = SSO__HEADER__INIT, type = SSO__HEADER__INIT;
    authorization.name = "authorization";
    authorization.value = header;
    type.name = "content-type";
    type.value = "application/x-www-form-urlencoded";
    Sso__Header *headers[] = {&authorization, &type};
    request.headers = headers;
    request.n_headers = 2;
    request.body.data = (uint8_t *) body;
    request.body.len = body_len;
    zhashx_t *params = sso_http_params(&request);
    client_auth_t auth;
    token_client_auth_read(&request, params, &auth);
    if (auth.method == CLIENT_AUTH_BASIC || auth.method == CLIENT_AUTH_POST)
        if (!auth.client_id || !auth.client_secret)
            abort();
    if (params) {
        const char *description = NULL;
        const char *error = token_code_check_params(params, auth.client_id, &description);
        const char *code = zhashx_lookup(params, "code");
        const char *verifier = zhashx_lookup(params, "code_verifier");
        if (error ? !description || !*description
                        || (strcmp(error, "invalid_request") && strcmp(error, "invalid_grant"))
                  : description || !code || !*code || strlen(code) > 512
                        || !zhashx_lookup(params, "redirect_uri")
                        || (verifier && !token_code_pkce_ok(verifier)))
            abort();
    }
    token_client_auth_free(&auth);
    zhashx_destroy(&params);
    free(header);
    return 0;
}
