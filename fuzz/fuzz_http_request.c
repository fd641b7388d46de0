/* Fuzz target: what a service does with a bus body: unpack the HttpRequest, then read its
   parameters, JSON body and bearer token. */
#include "sso_http.h"
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Sso__HttpRequest *request = sso__http_request__unpack(NULL, size, data);
    if (!request)
        return 0;
    zhashx_t *params = sso_http_params(request);
    zhashx_destroy(&params);
    const char *why = NULL;
    json_t *json = sso_http_json_body(request, &why);
    json_decref(json);
    (void) sso_http_bearer(request);
    (void) sso_http_header(request, "content-type");
    sso__http_request__free_unpacked(request, NULL);
    return 0;
}
