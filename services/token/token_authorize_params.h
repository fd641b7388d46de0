/* token_authorize_params: reads and checks an /oauth/authorize request's parameters (query
   string, then a form body) without the bus or the clock: the client and redirect_uri as given
   (present, once, decoded, not too long), then response_type, response_mode, scope, PKCE, nonce,
   prompt, max_age, login_hint and the connection selectors, with the first error as an OAuth
   error code and description (DESIGN 3 and 8). */
#ifndef TOKEN_AUTHORIZE_PARAMS_H
#define TOKEN_AUTHORIZE_PARAMS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest state echoed back intact; a longer one is refused. */
#define TOKEN_STATE_MAX 8192
#define TOKEN_AUTHORIZE_PARAMS_MAX 64   /* more parameters than this is not a real request */
#define TOKEN_LOGIN_HINT_MAX 320

typedef struct {
    char *name;
    char *value;        /* the first one's; NULL when it did not decode */
    int count;
} token_param_t;

/* An authorize request's parameters, read and checked without the bus: everything that can
   be said about the request before the directory is asked anything. */
typedef struct {
    token_param_t items[TOKEN_AUTHORIZE_PARAMS_MAX];
    size_t n;
    bool malformed;           /* a name that does not decode, or too many */
    /* client_id and redirect_uri: both set, or client_message says why not (an HTML page,
       never a redirect). */
    const char *client_id;
    const char *redirect_uri;
    char client_message[160];
    /* The rest, checked only once the client is known: error is NULL when the request is
       fine, else the code and description to redirect with. */
    const char *error;
    char error_description[200];
    const char *state;        /* NULL when absent, empty or not echoable */
    char scope[32];           /* the granted scope: "openid" and the known values asked */
    const char *nonce;
    const char *code_challenge;
    bool force_login;         /* prompt=login or any max_age */
    int64_t max_age;          /* -1 when absent */
    const char *login_hint;
    bool hint_email;          /* login_hint is a plausible email: email and email_domain */
    char email[TOKEN_LOGIN_HINT_MAX + 1];      /* with its domain lower-cased */
    char email_domain[256];
    const char *connection_id, *organization_id, *domain;
    /* The strongest selector given (connection_id > organization_id > domain > login_hint's
       email domain, which counts as "domain") and its value; NULL when there is none. */
    const char *selector;
    const char *selector_value;
} token_authorize_req_t;

/* Reads the query string and then a form body (either may be NULL) into req and checks them.
   Pure: no bus, no clock. Free with token_authorize_req_free even when it found errors. */
void token_authorize_parse(token_authorize_req_t *req, const char *query, size_t query_len,
                           const char *body, size_t body_len);
void token_authorize_req_free(token_authorize_req_t *req);
/* The value of a parameter given once and well-formed; NULL when absent, empty or not. */
const char *token_authorize_param(const token_authorize_req_t *req, const char *name);
/* The parameter named so however it was given (repeated, empty, undecodable); NULL when
   absent. */
const token_param_t *token_authorize_param_find(const token_authorize_req_t *req,
                                                const char *name);

void token_authorize_params_test(bool verbose);
#endif
