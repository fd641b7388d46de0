/* gateway_static: files under the web directory, for /static/... Paths are checked before
   they touch the filesystem: no "..", no hidden files, a known set of characters. */
#ifndef GATEWAY_STATIC_H
#define GATEWAY_STATIC_H
#include <stdbool.h>
#include <stddef.h>

/* Whether a /static/ request path is one we may serve. */
bool gateway_static_path_ok(const char *path);
/* Content type by extension. */
const char *gateway_static_type(const char *path);
/* Reads the file for path (under web_dir) into a malloc'd buffer; -1 when missing or too big. */
int gateway_static_read(const char *web_dir, const char *path, char **data, size_t *len);
/* The strong ETag of a file's bytes: "\"<32 hex digits>\"" (of their SHA-256). */
#define GATEWAY_STATIC_ETAG_LEN 34
void gateway_static_etag(const char *data, size_t len, char etag[GATEWAY_STATIC_ETAG_LEN + 1]);
/* Whether an If-None-Match header (NULL: none) names etag, or is "*". */
bool gateway_static_not_modified(const char *if_none_match, const char *etag);

void gateway_static_test(bool verbose);
#endif
