/* dir_conn_options: a connection's "options" and "attribute_mapping": which keys apply to
   which connection type, their values, how a change merges into what is stored (RFC 7396:
   a key set to null goes back to its default), and their typed form in a Connection. */
#ifndef DIR_CONN_OPTIONS_H
#define DIR_CONN_OPTIONS_H
#include "api/dir_json.h"
#include "dir.h"
#include "directory.pb-c.h"

/* The longest attribute or claim name a mapping may name (SAML names are often URIs). */
#define DIR_CONN_MAPPING_NAME_MAX 256
/* A SAML connection's clock skew (seconds) when its options do not set clock_skew_s. */
#define DIR_CONN_CLOCK_SKEW_DEFAULT 120

/* Merges body's "options" and "attribute_mapping" (either may be absent) into *options and
   *mapping (JSON objects as stored; replaced by new references), checking each key against
   the connection type ("saml" or "oidc") and each value. 0, or -1 with err naming the field
   ("options.response_mode must be one of query, form_post"); nothing changes on -1. */
int dir_conn_options_merge(const json_t *body, const char *type, json_t **options,
                           json_t **mapping, dir_error_t *err);

/* Fills conn's option fields from the stored JSON texts (a text that does not parse, or a
   key no longer known, is skipped: the API checked them when they were written). 0, or -1
   when out of memory. */
int dir_conn_options_fill(Sso__Connection *conn, const char *options_text,
                          const char *mapping_text);

/* When options turn allow_idp_initiated on or name idp_initiated_client_id: both must be set,
   the client must exist, be no built-in one and have an initiate_login_uri. 0, or -1 with err
   (400 naming the option). */
int dir_conn_options_check_client(dir_t *dir, const json_t *options, dir_error_t *err);

void dir_conn_options_test(bool verbose);
#endif
