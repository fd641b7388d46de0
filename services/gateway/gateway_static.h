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

void gateway_static_test(bool verbose);
#endif
