/* ssoctl_http: the admin token (client_credentials, client_secret_basic) and JSON requests to
   /api/v1 with it. One libcurl handle per process so requests reuse the connection. */
#ifndef SSOCTL_HTTP_H
#define SSOCTL_HTTP_H
#include "ssoctl_creds.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Responses larger than this are refused: a CLI never needs more, and a misconfigured URL
   (pointing at a file server, say) must not fill memory. */
#define SSOCTL_HTTP_MAX_RESPONSE (4u * 1024 * 1024)

typedef enum {
    SSOCTL_HTTP_OK = 0,         /* a response arrived; look at status */
    SSOCTL_HTTP_UNREACHABLE,    /* connect/DNS/TLS/timeout failure */
    SSOCTL_HTTP_TOO_LARGE,      /* over SSOCTL_HTTP_MAX_RESPONSE */
    SSOCTL_HTTP_BAD_RESPONSE,   /* 2xx that is not JSON, or a token response without a token */
    SSOCTL_HTTP_INTERNAL,       /* allocation or libcurl setup failure */
} ssoctl_http_rc_t;

typedef struct {
    long status;
    json_t *json;       /* parsed body, NULL when empty or not JSON */
    char url[1280];     /* what was requested, for messages */
    bool token_request; /* the failure happened while getting the token */
    char error[1536];   /* message for rc != OK */
} ssoctl_response_t;

typedef struct ssoctl_http ssoctl_http_t;

/* base_url must be http(s)://host[:port][/prefix]; trailing slashes are dropped. On success
   takes ownership of creds (zeroed in the caller's struct). 0, or -1 with err. */
int ssoctl_http_new(const char *base_url, ssoctl_creds_t *creds, ssoctl_http_t **out,
                    char *err, size_t errlen);
void ssoctl_http_free(ssoctl_http_t **http);

/* Checks a base URL (scheme http/https, a host, no query/fragment/userinfo). */
int ssoctl_http_check_url(const char *url, char *err, size_t errlen);

/* method + "/api/v1" + path with an optional JSON body, getting a token first when there is
   none. On a non-2xx token response, resp holds that response with token_request set. */
ssoctl_http_rc_t ssoctl_http_api(ssoctl_http_t *http, const char *method, const char *path,
                                 const json_t *body, ssoctl_response_t *resp);
void ssoctl_response_clear(ssoctl_response_t *resp);

void ssoctl_http_test(bool verbose);
#endif
