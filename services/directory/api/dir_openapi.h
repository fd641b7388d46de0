/* dir_openapi: GET /api/v1/openapi.json, the management API's OpenAPI 3.1 document. The
   document is written by hand in api/openapi.json and compiled in (scripts/gen_text.py, the
   Makefile's rule), so a binary serves the document of its own API. Public: it is the same
   contract for every deployment and carries nothing of this one. */
#ifndef DIR_OPENAPI_H
#define DIR_OPENAPI_H
#include "sso_http.h"
#include <stddef.h>

#define DIR_OPENAPI_PATH "/api/v1/openapi.json"

/* The document's bytes (also a C string), from the generated dir_openapi_doc.c. */
extern const char dir_openapi_doc[];
extern const size_t dir_openapi_doc_len;

/* Answers a request for DIR_OPENAPI_PATH: the document to GET and HEAD, 405 otherwise. */
zframe_t *dir_openapi_http(const Sso__HttpRequest *request);

void dir_openapi_test(bool verbose);
#endif
