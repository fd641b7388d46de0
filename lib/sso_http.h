/* sso_http: reading the HttpRequest a service receives and building the HttpResponse it sends
   back. Form and query parsing is strict: a malformed percent-escape is an error. */
#ifndef SSO_HTTP_H
#define SSO_HTTP_H
#include "bus.pb-c.h"
#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>

/* Header value by lower-case name, or NULL. Lent. */
const char *sso_http_header(const Sso__HttpRequest *request, const char *name);

/* Percent-decoding ('+' is a space in forms); NULL on a bad escape or an embedded NUL. */
char *sso_url_decode(const char *text, size_t len);
/* Percent-encodes everything but unreserved characters. */
char *sso_url_encode(const char *text);

/* base + "?" or "&" + name=value pairs, each percent-encoded; pairs with a NULL or empty value
   are skipped. names/values hold count entries. Caller frees; NULL when out of memory. */
char *sso_url_with_params(const char *base, size_t count, const char *const *names,
                          const char *const *values);
/* A 302 to location with Cache-Control: no-store. */
zframe_t *sso_http_redirect(const char *location);

/* Parses application/x-www-form-urlencoded (or a query string) into name -> value, both
   decoded. Returns NULL when malformed or when a name repeats (OAuth forbids repeats). */
zhashx_t *sso_form_parse(const char *data, size_t len);
/* The one splitter of application/x-www-form-urlencoded text: calls fn with each pair's
   percent-decoded name and value (fn owns both; either is NULL when it does not decode; a pair
   with no '=' has the value ""). fn returns 0 to go on or -1 to stop; 0, or -1 when fn
   stopped. Empty pairs ("a=1&&b=2") are skipped. */
typedef int(sso_form_pair_fn)(void *arg, char *name, char *value);
int sso_form_each(const char *data, size_t len, sso_form_pair_fn *fn, void *arg);

/* The request's parameters: the query string, plus the body when it is a form. NULL as for
   sso_form_parse, or when a name appears in both. */
zhashx_t *sso_http_params(const Sso__HttpRequest *request);

/* Parses the body as a JSON object; NULL with *why set when it is not one. */
json_t *sso_http_json_body(const Sso__HttpRequest *request, const char **why);

/* Bearer token from the Authorization header, or NULL. Lent (points into the request). */
const char *sso_http_bearer(const Sso__HttpRequest *request);

/* Response building. Each returns a packed HttpResponse frame ready for sso_worker_reply. */
typedef struct sso_response_t sso_response_t;
sso_response_t *sso_response_new(uint32_t status);
void sso_response_header(sso_response_t *self, const char *name, const char *value);
/* Sets the value of the header name (the first of that name, any case), or adds it. */
void sso_response_header_set(sso_response_t *self, const char *name, const char *value);
void sso_response_body(sso_response_t *self, const void *data, size_t len,
                       const char *content_type);
/* Takes a reference to json. */
void sso_response_json(sso_response_t *self, json_t *json);
zframe_t *sso_response_pack(sso_response_t **self_p);

/* Shortcuts: a JSON body (reference taken) with Cache-Control: no-store, and the API error
   shape {"error", "error_description"}. */
zframe_t *sso_http_json(uint32_t status, json_t *json);
zframe_t *sso_http_error(uint32_t status, const char *error, const char *description);
/* 405 with the Allow header RFC 9110 requires, e.g. allow = "GET, HEAD". */
zframe_t *sso_http_method_not_allowed(const char *allow);

/* Counters a service reports to the gateway's /metrics (HttpResponse.counters): what it
   refuses without storing anything, say. A name is 1..SSO_COUNTER_NAME_MAX bytes of
   [a-z0-9_]. */
#define SSO_COUNTER_NAME_MAX 48
bool sso_http_counter_name_ok(const char *name);
/* Adds one increment of name to a packed HttpResponse frame. 0, or -1 (frame unchanged) when
   name is not a counter name or the frame is not an HttpResponse. */
int sso_http_count(zframe_t *frame, const char *name);

/* The group a client address is limited as: a.b.c.d for IPv4 and IPv4-mapped IPv6
   (::ffff:a.b.c.d), the /64 for other IPv6 ("2001:db8:1:2::/64": a host usually holds a whole
   /64, so one key for it, not 2^64), anything else (a socket path, a test's name) as given.
   0, or -1 when address is absent or empty or the group does not fit in size. */
int sso_http_address_group(const char *address, char *out, size_t size);

/* The path as a log may show it when its segments may carry a secret (a token pasted into a
   path): every segment that is not a plain name (at most SSO_HTTP_PLAIN_SEGMENT_MAX characters
   of [a-z0-9._-]: page names and ids) becomes "~". Always writes a NUL-terminated out. */
#define SSO_HTTP_PLAIN_SEGMENT_MAX 32
void sso_http_masked_path(const char *path, char *out, size_t size);

void sso_http_test(bool verbose);
#endif
