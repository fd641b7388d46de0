/* sso_cookie: the cookies of the broker's own HTML pages: reading one from a request, a
   Set-Cookie scoped to one path under SSO_PUBLIC_URL, and the double-submit CSRF token of their
   forms (a random token in an HttpOnly cookie and the same value in a hidden field: a post is
   the page's own only when both are there and equal, which another site cannot arrange). */
#ifndef SSO_COOKIE_H
#define SSO_COOKIE_H
#include "sso_http.h"

/* The value of cookie name in the request's Cookie header, or NULL when it is absent or sent
   more than once (an ambiguous cookie is not trusted); caller frees. */
char *sso_cookie_get(const Sso__HttpRequest *request, const char *name);

/* Writes a Set-Cookie value for name=value into out: Path is path under the public URL's own
   path, HttpOnly, SameSite=Lax, Max-Age max_age, and Secure when public_url is https. 0, or -1
   when it does not fit. */
int sso_cookie_header(char *out, size_t size, const char *public_url, const char *path,
                      const char *name, const char *value, long max_age);

/* The name of a cookie only the broker's own host may set: over https "__Host-<name>" (which
   browsers accept only with Secure, Path=/ and no Domain, so a sibling subdomain can neither
   set nor shadow it), over plain http (development) name itself. 0, or -1 when it does not
   fit. */
int sso_cookie_host_name(const char *public_url, const char *name, char *out, size_t size);
/* The Set-Cookie of such a cookie (name as given to sso_cookie_host_name): over https with
   the prefix and Path=/, over http as sso_cookie_header makes it for path. 0, or -1. */
int sso_cookie_host_header(char *out, size_t size, const char *public_url, const char *path,
                           const char *name, const char *value, long max_age);

/* The random tokens the broker keeps in cookies (the CSRF token, the OIDC browser binder):
   SSO_COOKIE_TOKEN_BYTES random bytes as SSO_COOKIE_TOKEN_LEN base64url characters. */
#define SSO_COOKIE_TOKEN_BYTES 24
#define SSO_COOKIE_TOKEN_LEN 32
/* True when token is such a token: exactly SSO_COOKIE_TOKEN_LEN base64url characters. */
bool sso_cookie_token_ok(const char *token);
/* The request's cookie name when it holds such a token, else NULL (absent, sent twice or
   malformed: all the same); caller frees. */
char *sso_cookie_token(const Sso__HttpRequest *request, const char *name);

/* The CSRF token for a form: the request's own cookie_name token when it is well formed (so a
   second tab does not invalidate the first), else a new random one; caller frees, NULL when
   out of memory. */
char *sso_cookie_csrf_token(const Sso__HttpRequest *request, const char *cookie_name);

/* True when the request carries cookie cookie_name and it equals field (the form's hidden
   value), compared in constant time; false when either is absent or empty. */
bool sso_cookie_csrf_matches(const Sso__HttpRequest *request, const char *cookie_name,
                             const char *field);

void sso_cookie_test(bool verbose);
#endif
