/* ssoctl_env: the environment the CLI reads, read once and only here: the defaults of --url
   and --data-dir and the admin credentials. ssoctl does not use sso_config, which checks every
   service setting: an operator's command must not fail on a setting it does not use. */
#ifndef SSOCTL_ENV_H
#define SSOCTL_ENV_H
#include <stdbool.h>

typedef struct {
    const char *public_url;          /* SSO_PUBLIC_URL; NULL when unset */
    const char *data_dir;            /* SSO_DATA_DIR */
    const char *admin_client_id;     /* SSO_ADMIN_CLIENT_ID */
    const char *admin_client_secret; /* SSO_ADMIN_CLIENT_SECRET */
} ssoctl_env_t;

/* Fills env with the environment's own text (pointers into it, NULL when unset). */
void ssoctl_env_read(ssoctl_env_t *env);

void ssoctl_env_test(bool verbose);
#endif
