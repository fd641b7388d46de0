/* ssoctl_util: a growable string, bounded file reading, id encoding for URL paths, and the
   durations and times given as options. */
#ifndef SSOCTL_UTIL_H
#define SSOCTL_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A string builder that remembers a failed allocation, so callers check once at the end. */
typedef struct {
    char *data; /* NUL-terminated when not failed */
    size_t len;
    size_t cap;
    bool failed;
} ssoctl_buf_t;

int ssoctl_buf_append(ssoctl_buf_t *buf, const char *data, size_t len);
int ssoctl_buf_puts(ssoctl_buf_t *buf, const char *text);
int ssoctl_buf_repeat(ssoctl_buf_t *buf, char c, size_t count);
/* Appends text percent-encoded (RFC 3986 unreserved kept), for ids in paths and query values:
   an id can never turn into "../" or a second query parameter. */
int ssoctl_buf_encoded(ssoctl_buf_t *buf, const char *text);
/* Hands over the string (caller frees) or NULL when any append failed. */
char *ssoctl_buf_take(ssoctl_buf_t *buf);
void ssoctl_buf_free(ssoctl_buf_t *buf);

/* Reads a whole file ("-" is stdin) of at most max bytes; *out is NUL-terminated, caller
   frees. 0, or -1 with a message naming the path in err. */
int ssoctl_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                     size_t errlen);

/* A duration: digits, then one unit of s, m, h or d (none means seconds, unless
   unit_required), of at most max seconds. 0 with *seconds, or -1. */
int ssoctl_duration(const char *text, bool unit_required, long max, long *seconds);

/* WHEN, a time on the command line: a duration back from now ("30m", "24h", "7d", a unit
   required) or an RFC 3339 UTC time ("2026-12-06T21:00:00Z", to the second), as Unix seconds
   from 1970 on. 0 with *out, or -1. */
int ssoctl_when(const char *text, int64_t now, int64_t *out);

void ssoctl_util_test(bool verbose);
#endif
