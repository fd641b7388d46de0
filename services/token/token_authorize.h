/* token_authorize: /oauth/authorize, the start of a login (DESIGN 3 and 8). Checks the client
   and its redirect_uri first (an HTML page, never a redirect, when either is wrong), then the
   request (errors redirect to the client with error, error_description and state), picks the
   connection (connection_id > organization_id > domain > login_hint's email domain, or the
   hosted "Sign in with SSO" page that asks for an email), records the login transaction with
   the directory and sends the browser to the saml or oidc service's upstream request. */
#ifndef TOKEN_AUTHORIZE_H
#define TOKEN_AUTHORIZE_H
#include "sso_service.h"

/* Longest state echoed back intact; a longer one is refused. */
#define TOKEN_STATE_MAX 8192
/* How long a login transaction lives. */
#define TOKEN_TXN_TTL 600

/* Handles GET, HEAD and POST /oauth/authorize. Always returns a response frame. */
zframe_t *token_authorize_http(sso_service_t *service, const Sso__HttpRequest *request);

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

void token_authorize_test(bool verbose);
#endif
