/* sso_html: HTML pages of every service. Markup comes only from template literals in the
   code; every value goes through the escaper, so no value can add markup. */
#ifndef SSO_HTML_H
#define SSO_HTML_H
#include "sso_http.h"

typedef struct sso_html_t sso_html_t;

sso_html_t *sso_html_new(void);
void sso_html_destroy(sso_html_t **self_p);

/* Appends template with each "{}" replaced by the next argument (const char *, NULL-terminated
   list added by the macro), HTML-escaped. 0, or -1 on out of memory or when the count of "{}"
   and of arguments differ. Errors are sticky: sso_html_response refuses a failed page, so a
   page builder may also check once at the end. */
int sso_html_add_(sso_html_t *self, const char *template, ...);
#define sso_html_add(self, ...) sso_html_add_((self), __VA_ARGS__, (const char *) NULL)
/* <input type="hidden" name=.. value=..>, both escaped. */
int sso_html_hidden(sso_html_t *self, const char *name, const char *value);
/* The common head (title escaped) and tail of every page. */
int sso_html_begin(sso_html_t *self, const char *title);
/* The same head with a second stylesheet (a path under /static/, escaped) after sso.css, for
   pages with more to style than the sign-in pages. */
int sso_html_begin_styled(sso_html_t *self, const char *title, const char *stylesheet);
int sso_html_end(sso_html_t *self);

/* The escaped form of text; caller frees. NULL when out of memory. */
char *sso_html_escape(const char *text);

/* Makes a response of the page with the headers every page gets (CSP, X-Frame-Options, no
   caching, nosniff, no referrer), destroying the builder. The caller may add headers (cookies)
   and packs it. NULL when the builder failed or memory ran out. */
sso_response_t *sso_html_response(sso_html_t **self_p, uint32_t status);
/* The same with a page-specific Content-Security-Policy, for the rare page whose form must
   lead elsewhere (a SAML HTTP-POST page: the ACS redirects the browser on to the client, and
   browsers apply form-action to the redirects that follow a form submission). */
sso_response_t *sso_html_response_csp(sso_html_t **self_p, uint32_t status, const char *csp);

/* The page that carries a message to another site by HTTP-POST (a SAML binding): a form of
   hidden fields names[i] = values[i] to action, submitted at once by /static/autopost.js (the
   CSP allows no inline script) or, without scripts, by its Continue button. NULL when out of
   memory or action is no http(s) URL. */
#define SSO_HTML_AUTOPOST_SCRIPT "/static/autopost.js"
sso_response_t *sso_html_autopost(const char *action, const char *const *names,
                                  const char *const *values, size_t n);

/* A whole page that says what went wrong, with no link anywhere (for errors that must not
   redirect). Always returns a frame. */
zframe_t *sso_html_error_page(uint32_t status, const char *title, const char *message);

void sso_html_test(bool verbose);
#endif
