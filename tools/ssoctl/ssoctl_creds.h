/* ssoctl_creds: the admin client's credentials, from the environment or from the
   `<data dir>/admin-credentials` file the broker writes on first start. */
#ifndef SSOCTL_CREDS_H
#define SSOCTL_CREDS_H
#include "ssoctl_env.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *client_id;
    char *client_secret; /* never printed; wiped on free */
    char source[1100];   /* where they came from, for error messages */
} ssoctl_creds_t;

/* Parses the file's text: lines `SSO_ADMIN_CLIENT_ID=<id>` and `SSO_ADMIN_CLIENT_SECRET=<s>`;
   blank lines and `#` comments are skipped, CRLF tolerated, unknown keys ignored. Returns 0,
   or -1 with a message in err (which never contains the secret). */
int ssoctl_creds_parse(const char *text, size_t len, ssoctl_creds_t *creds, char *err,
                       size_t errlen);

/* Environment first (both variables, from env), else the file in data_dir. 0, or -1 with
   err. */
int ssoctl_creds_load(const ssoctl_env_t *env, const char *data_dir, ssoctl_creds_t *creds,
                      char *err, size_t errlen);

void ssoctl_creds_free(ssoctl_creds_t *creds);

void ssoctl_creds_test(bool verbose);
#endif
