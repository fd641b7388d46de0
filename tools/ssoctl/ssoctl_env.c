#include "ssoctl_env.h"
#include "sso_test.h"
#include <stdlib.h>
#include <string.h>

void ssoctl_env_read(ssoctl_env_t *env)
{
    env->public_url = getenv("SSO_PUBLIC_URL");
    env->data_dir = getenv("SSO_DATA_DIR");
    env->admin_client_id = getenv("SSO_ADMIN_CLIENT_ID");
    env->admin_client_secret = getenv("SSO_ADMIN_CLIENT_SECRET");
}

void ssoctl_env_test(bool verbose)
{
    (void) verbose;
    const char *names[] = {"SSO_PUBLIC_URL", "SSO_DATA_DIR", "SSO_ADMIN_CLIENT_ID",
                           "SSO_ADMIN_CLIENT_SECRET"};
    char *saved[4];
    for (size_t i = 0; i < 4; i++) {
        const char *value = getenv(names[i]);
        saved[i] = value ? strdup(value) : NULL;
        unsetenv(names[i]);
    }
    ssoctl_env_t env;
    ssoctl_env_read(&env);
    SSO_CHECK(!env.public_url && !env.data_dir && !env.admin_client_id
              && !env.admin_client_secret);
    for (size_t i = 0; i < 4; i++)
        setenv(names[i], names[i], 1);
    ssoctl_env_read(&env);
    SSO_CHECK(!strcmp(env.public_url, "SSO_PUBLIC_URL") && !strcmp(env.data_dir, "SSO_DATA_DIR")
              && !strcmp(env.admin_client_id, "SSO_ADMIN_CLIENT_ID")
              && !strcmp(env.admin_client_secret, "SSO_ADMIN_CLIENT_SECRET"));
    for (size_t i = 0; i < 4; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
}
