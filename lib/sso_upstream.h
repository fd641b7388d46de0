/* sso_upstream: what the services share about an upstream login: the browser's redirect back
   to the client from the directory's LoginRedirectReply, the email domain guard (the user's
   email must be in one of the organization's domains unless it allows any), and the cookie
   that binds an OIDC login to the browser that started it (the token service sets it with the
   redirect to the provider, the oidc service's callback requires it). */
#ifndef SSO_UPSTREAM_H
#define SSO_UPSTREAM_H
#include "directory.pb-c.h"
#include "saml.pb-c.h"
#include "sso_http.h"
#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A test login's (the admin portal's test button, the directory's login/dir_tests): its
   transaction id starts with SSO_UPSTREAM_TEST_PREFIX, so that the upstream services know,
   from the RelayState or the transaction, to let a connection that is not active be tried.
   The directory says what is a test by its own records, never by the prefix: a client's login
   never gets an id with it. Every login passes on the raw attributes or claims
   (LoginCompleteRequest.raw_json: a test's result, or the connection's last login), at most
   SSO_UPSTREAM_RAW_MAX bytes. */
#define SSO_UPSTREAM_TEST_PREFIX "test."
#define SSO_UPSTREAM_RAW_MAX (64 * 1024)
bool sso_upstream_is_test(const char *txn_id);

/* The attribute_mapping value that takes a SAML profile field from the assertion's NameID
   instead of an attribute. Every mapping name starting with '$' is reserved (the directory
   refuses the others), so no attribute an IdP sends is ever read as the NameID, whatever it is
   called. */
#define SSO_UPSTREAM_NAMEID_SOURCE "$nameid"
/* raw (JSON) as a login's raw_json, compact (caller frees): {"truncated":true} in its place
   when it would pass SSO_UPSTREAM_RAW_MAX, so the directory never refuses the result for its
   size. NULL when out of memory. */
char *sso_upstream_raw_json(const json_t *raw);

/* Whether rpc is the bus name of UpstreamStart.Start (proto/saml.proto's one operation, which
   the saml and oidc services serve under their own names). */
bool sso_upstream_is_start(const char *rpc);
/* The packed UpstreamStartReply with error (OK: none), description and redirect URL (each may
   be NULL). */
zframe_t *sso_upstream_start_reply(Sso__RpcError error, const char *description,
                                   const char *url);

/* The packed UpstreamStartReply of an HTTP-POST start: the browser posts fields names[i] =
   values[i] to url. */
zframe_t *sso_upstream_start_post_reply(const char *url, const char *const *names,
                                        const char *const *values, size_t n);
/* Whether a start reply says where the browser goes (redirect_url or post_url), with no
   error. */
bool sso_upstream_started(const Sso__UpstreamStartReply *reply);
/* The page for reply's post_url and post_fields (sso_html_autopost); NULL when reply has no
   post_url, or out of memory. */
sso_response_t *sso_upstream_post_page(const Sso__UpstreamStartReply *reply);

/* A 302 to r's redirect_uri with code or error, error_description and state. */
zframe_t *sso_upstream_redirect(const Sso__LoginRedirectReply *r);

/* 0 when email's domain is one of connection's organization's (case-insensitively), or the
   organization allows any; else -1 with description (for the client: "email domain X is not
   one of the organization's domains") and why (for the event log, with the email). An
   address with a second '@' or a malformed domain has no domain, so it matches none. */
int sso_upstream_domain_check(const Sso__Connection *connection, const char *email,
                              char *description, size_t description_size, char *why,
                              size_t why_size);

/* The token service's sub is "<connection_id>;<subject at the IdP>", at most
   SSO_UPSTREAM_SUB_MAX printable ASCII characters (DESIGN 3): the one rule for it, checked by
   the services that take a subject from an IdP, before they complete the login, and by the
   token service before it mints. 0 when connection_id and subject make such a sub; else
   SSO_UPSTREAM_SUB_TOO_LONG with why ("sub: at most N characters for this connection, got
   M") or SSO_UPSTREAM_SUB_NOT_ASCII with why ("sub: expected printable ASCII, got the byte
   0xc3 at position 3"); an empty subject or connection_id is SSO_UPSTREAM_SUB_NOT_ASCII too
   (no sub can be made). Printable ASCII is 0x20..0x7e, the space included. */
#define SSO_UPSTREAM_SUB_MAX 255
#define SSO_UPSTREAM_SUB_TOO_LONG (-1)
#define SSO_UPSTREAM_SUB_NOT_ASCII (-2)
int sso_upstream_subject_check(const char *connection_id, const char *subject, char *why,
                               size_t why_size);

/* The cookie that binds OIDC logins to the browser that started them: one per browser, with a
   fixed name, so that however many logins a browser starts (tabs, or a hostile provider
   bouncing it back to /oauth/authorize) it holds one such cookie. Its value, the browser's
   binder, is an sso_cookie token; each login stores its SHA-256 and its callback requires it.
   Over https it is "__Host-sso_browser" (Secure, Path=/, no Domain: a sibling subdomain can
   neither set nor shadow it); over plain http (development) "sso_browser", for the public
   URL's own path (it must reach /oauth/authorize, to be reused, and the callback). */
const char *sso_upstream_binding_name(const char *public_url);
/* The binder the request's binding cookie holds when it is well formed (exact length and
   alphabet), else NULL (absent, sent twice or malformed: a new one is drawn); caller frees. */
char *sso_upstream_binder(const Sso__HttpRequest *request, const char *public_url);
/* The Set-Cookie value that sets the binding cookie to binder for max_age seconds. 0, or -1
   when binder is not well formed or it does not fit in size. */
int sso_upstream_binding_cookie(const char *public_url, const char *binder, long max_age,
                                char *out, size_t size);

typedef enum {
    SSO_UPSTREAM_BINDING_OK,     /* the cookie is there and its SHA-256 is the stored hash */
    SSO_UPSTREAM_BINDING_ABSENT, /* no such cookie (or it was sent twice, or empty) */
    SSO_UPSTREAM_BINDING_WRONG,  /* another value: not the browser that started the login */
} sso_upstream_binding_t;
/* Whether request brings the binding cookie and its SHA-256 (hex) is binding_hash (the
   login's), compared in constant time. A missing hash is never OK. */
sso_upstream_binding_t sso_upstream_binding_check(const Sso__HttpRequest *request,
                                                  const char *public_url,
                                                  const char *binding_hash);

void sso_upstream_test(bool verbose);
#endif
