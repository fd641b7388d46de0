/* token_authorize_page: the hosted "Sign in with SSO" page of /oauth/authorize, shown when a
   request names no connection: it asks for a work email and posts every original parameter
   back with it as login_hint. CSRF: double submit of a random token (an HttpOnly cookie and a
   hidden field must match, lib/sso_cookie). The domain typed last is remembered in a cookie
   to pre-fill the field. */
#ifndef TOKEN_AUTHORIZE_PAGE_H
#define TOKEN_AUTHORIZE_PAGE_H
#include "sso_service.h"
#include "token_authorize_params.h"

/* The page, with status, an error message (NULL for none) and the email to pre-fill (NULL: the
   remembered domain, if any). Carries req's parameters but login_hint along, and sets the CSRF
   cookie. Always returns a response frame. */
zframe_t *token_authorize_page(sso_service_t *service, const Sso__HttpRequest *request,
                               const token_authorize_req_t *req, uint32_t status,
                               const char *message, const char *email);

/* True when the request is the page's form posted back (a POST carrying the CSRF field). */
bool token_authorize_page_posted(const Sso__HttpRequest *request,
                                 const token_authorize_req_t *req);

/* Checks a posted form: the page again when its CSRF token does not match the cookie (403) or
   login_hint is not an email (400). NULL when the login may go on; then *remember is the
   Set-Cookie value that remembers the email's domain (NULL when it does not fit: it is just not
   remembered), for the caller to send and free. */
zframe_t *token_authorize_page_check_form(sso_service_t *service,
                                          const Sso__HttpRequest *request,
                                          const token_authorize_req_t *req, char **remember);

void token_authorize_page_test(bool verbose);
#endif
