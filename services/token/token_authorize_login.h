/* token_authorize_login: the login steps of /oauth/authorize, with the bus: AuthorizeBegin at
   the directory (the client, its exact redirect_uri, when a selector is given the connection
   and, when the request may go on, the transaction with its upstream request id: one round
   trip, one write), then UpstreamStart.Start at the saml or oidc service (it only builds the
   request to the IdP), and the browser sent on.
   Also the responses every step shares: the error redirect to the client (error,
   error_description, state) and the redirect itself (a 302, or a page after the hosted form). */
#ifndef TOKEN_AUTHORIZE_LOGIN_H
#define TOKEN_AUTHORIZE_LOGIN_H
#include "directory.pb-c.h"
#include "sso_service.h"
#include "token_authorize_params.h"

/* How long a login transaction lives. */
#define TOKEN_TXN_TTL 600

/* One authorize request being turned into a login. The caller fills service, request, req
   and from_form; the steps fill the rest. Release with token_authorize_login_clear. */
typedef struct {
    sso_service_t *service;
    const Sso__HttpRequest *request;
    token_authorize_req_t req;
    bool from_form;           /* posted by the hosted page */
    bool begin_txn;           /* check_client may make the transaction (nothing refused it) */
    char *last_domain;        /* a Set-Cookie for sso_last_domain to send, or NULL */
    char *binding;            /* an OIDC login's binding cookie to send, or NULL */
    Sso__AuthorizeBeginReply *begun; /* the client, the connection, the transaction */
} token_authorize_login_t;

/* Client and redirect_uri, before anything may redirect: an HTML page (never a redirect) when
   either is missing, unknown or not registered, or the directory cannot say. NULL when both are
   fine; then the connection the selector names (if any) has been looked up too, and, with
   begin_txn and no error in req, the transaction made. */
zframe_t *token_authorize_login_check_client(token_authorize_login_t *self);

/* The error redirect to the client's redirect_uri, with error, description and state. */
zframe_t *token_authorize_login_error(token_authorize_login_t *self, const char *error,
                                      const char *description);

/* After token_authorize_login_check_client with a selector: NULL when the directory resolved
   the connection; else the error code to redirect with, the description in out, and *typed set
   when an email a person typed names nothing (no organization, not found), which the hosted
   page lets them correct. */
const char *token_authorize_login_resolve_error(const token_authorize_login_t *self, char *out,
                                                size_t size, bool *typed);

/* The connection resolved: checks it is active and that the transaction was made, starts the
   upstream login and sends the browser to the IdP. Always returns a response frame. */
zframe_t *token_authorize_login_start(token_authorize_login_t *self);

/* Frees what the steps and token_authorize_parse allocated. */
void token_authorize_login_clear(token_authorize_login_t *self);

void token_authorize_login_test(bool verbose);
#endif
