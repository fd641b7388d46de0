/* token_client_auth: reads client credentials from a token request, by client_secret_basic
   (RFC 6749 2.3.1: id and secret form-encoded, then Basic) or client_secret_post. */
#ifndef TOKEN_CLIENT_AUTH_H
#define TOKEN_CLIENT_AUTH_H
#include "sso_service.h"

typedef enum {
    CLIENT_AUTH_NONE,     /* no credentials at all */
    CLIENT_AUTH_BASIC,
    CLIENT_AUTH_POST,
    CLIENT_AUTH_INVALID,  /* malformed, or both methods at once */
} client_auth_method_t;

typedef struct {
    client_auth_method_t method;
    char *client_id;
    char *client_secret;
    const char *client_address;  /* the request's remote_addr (lent): the directory limits
                                    failed authentications per address too */
} client_auth_t;

/* Fills auth from the request and its parsed params. Always succeeds; look at method. */
void token_client_auth_read(const Sso__HttpRequest *request, zhashx_t *params,
                            client_auth_t *auth);
void token_client_auth_free(client_auth_t *auth);

/* True when auth holds a non-empty client id and a non-empty secret: an empty secret
   (client_secret= in the form, "id:" by Basic) is no authentication at all. */
bool token_client_auth_has_secret(const client_auth_t *auth);
/* Checks auth's credentials with the directory (client_auth). 0 when they are right, with
   *is_admin set; 401 when they are wrong; 429 with *retry_after (seconds) when the directory
   refuses to check them after too many failures; or the bus status (503, 504, 502). */
int token_client_auth_check(sso_service_t *service, const client_auth_t *auth, bool *is_admin,
                            int64_t *retry_after);
/* token_client_auth_check as a response: NULL when the credentials are right (with
   *is_admin set), else the 401 invalid_client, the 429 or the bus error to send. */
zframe_t *token_client_auth_require(sso_service_t *service, const client_auth_t *auth,
                                    bool *is_admin);
/* Logs a refused client authentication (never its credentials). */
void token_client_auth_log_failure(const client_auth_t *auth, bool limited);
/* 401 invalid_client (RFC 6749 5.2), with WWW-Authenticate: Basic. */
zframe_t *token_client_auth_error(const client_auth_t *auth, const char *description);
/* The directory's too_many_requests (DirReply.retry_after): 429 with Retry-After and
   invalid_client, "too many failed client authentications; retry after N s". */
zframe_t *token_client_auth_too_many(int64_t retry_after);

void token_client_auth_test(bool verbose);
#endif
