/* dir_json: the management API's common shapes: the error value every handler fills, typed
   field readers that name the offending field, RFC 3339 times and opaque page tokens. */
#ifndef DIR_JSON_H
#define DIR_JSON_H
#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint32_t status;      /* HTTP status */
    const char *code;     /* "invalid_request", "not_found", "conflict", ... */
    char description[320];
    int64_t retry_after;  /* seconds, with code "too_many_requests" (DirReply.retry_after) */
} dir_error_t;

void dir_error_set(dir_error_t *err, uint32_t status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Shortcuts for the common cases. */
#define dir_bad_request(err, ...) dir_error_set(err, 400, "invalid_request", __VA_ARGS__)
#define dir_not_found(err, ...) dir_error_set(err, 404, "not_found", __VA_ARGS__)
#define dir_conflict(err, ...) dir_error_set(err, 409, "conflict", __VA_ARGS__)
#define dir_server_error(err) dir_error_set(err, 500, "server_error", "internal error; see the directory log")
/* The {"error", "error_description"} response. */
zframe_t *dir_error_reply(const dir_error_t *err);

/* Field reader flags. */
#define DIR_REQUIRED 1  /* absent (or null) is an error */
#define DIR_NULLABLE 2  /* null is accepted and reported as absent */
#define DIR_MULTILINE 4 /* newlines and tabs allowed (PEM, XML); other control characters never */
#define DIR_NONEMPTY 8  /* "" (after trimming nothing) is an error */

/* Reads obj[key] as a string. label names it in messages ("saml.idp_sso_url"). Returns 1 with
   *out lent when present, 0 when absent (or null with DIR_NULLABLE), -1 with err set when
   the type, length or content is wrong. */
int dir_json_string(const json_t *obj, const char *key, const char *label, int flags,
                    size_t max_len, const char **out, dir_error_t *err);
/* Reads obj[key] as an object; same return convention. */
int dir_json_object(const json_t *obj, const char *key, const char *label, int flags,
                    json_t **out, dir_error_t *err);
/* Reads obj[key] as an array of strings, each checked as by dir_json_string; same returns. */
int dir_json_strings(const json_t *obj, const char *key, const char *label, int flags,
                     size_t max_items, size_t max_len, json_t **out, dir_error_t *err);

/* Unix seconds now. */
int64_t dir_now(void);
/* RFC 3339 UTC, e.g. 2026-11-28T22:59:12Z. */
void dir_time_format(int64_t unix_seconds, char out[32]);
/* A JSON string of the time (new reference). */
json_t *dir_json_time(int64_t unix_seconds);

/* Pagination: page_size (default 50, 1..200) and page_token from the query. *after is the
   position the token encodes, or -1 when there is none. 0, or -1 with err. */
#define DIR_PAGE_DEFAULT 50
#define DIR_PAGE_MAX 200
int dir_page_params(zhashx_t *query, long *page_size, int64_t *after, dir_error_t *err);
/* The opaque token for "continue after position"; caller frees. */
char *dir_page_token(int64_t position);
/* The list envelope {"data": data, "next_page_token": token or ""}; takes data. */
json_t *dir_page_envelope(json_t *data, int64_t next_position);

void dir_json_test(bool verbose);
#endif
