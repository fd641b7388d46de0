/* dir_admin: the bootstrap management client. With SSO_ADMIN_CLIENT_ID and
   SSO_ADMIN_CLIENT_SECRET set, makes sure exactly that admin client exists (re-hashing the
   secret when it changed); otherwise generates one on first start. Either way the
   credentials the CLI and supervisor need are in <data dir>/admin-credentials (0600). */
#ifndef DIR_ADMIN_H
#define DIR_ADMIN_H
#include "dir.h"

#define DIR_ADMIN_FILE "admin-credentials"

/* Writes text to <data_dir>/name (0600) through a temporary file renamed over the old one,
   so readers never see a half-written file. 0, or -1 with why. */
int dir_admin_write_file(const char *data_dir, const char *name, const char *text, char *why,
                         size_t why_size);

/* env_id/env_secret: the environment values (NULL or "" when unset). 0, or -1 with why. */
int dir_admin_bootstrap(dir_t *dir, const char *env_id, const char *env_secret, char *why,
                        size_t why_size);

void dir_admin_test(bool verbose);
#endif
