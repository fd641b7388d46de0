/* dir_service: the directory service: its state (the database, the master key and the bits of
   configuration the handlers need) and its definition on the bus. */
#ifndef DIR_SERVICE_H
#define DIR_SERVICE_H
#include "login/dir_auth_limit.h"
#include "store/dir_db.h"
#include "vault/dir_keys.h"
#include "login/dir_secret_cache.h"
#include "sso_service.h"

typedef struct {
    dir_db_t *db;
    dir_keys_t *keys;
    char public_url[512];          /* SSO_PUBLIC_URL, no trailing slash */
    char data_dir[1024];
    bool allow_private_upstreams;  /* SSO_ALLOW_PRIVATE_UPSTREAMS */
    bool simulator;                /* the IdP simulator is on (SSO_ENVIRONMENT, SSO_SIMULATOR) */
    int64_t housekeeping_at;       /* when expired login state was last purged */
    dir_secret_cache_t *secret_cache; /* recent client_auth successes (skips PBKDF2) */
    dir_auth_limit_t *auth_limit;  /* failed client authentications (SSO_CLIENT_AUTH_*) */
    int event_retention_days;      /* SSO_EVENT_RETENTION_DAYS */
    bool events_backlog;           /* the last prune was a full batch: more may be due */
} dir_t;

/* Creates the data dir (0700) if missing, loads or makes the master key, opens and migrates
   the database, checks the key matches it and bootstraps the admin client. Reads
   SSO_MASTER_KEY, SSO_ADMIN_CLIENT_ID/SECRET, SSO_EVENT_RETENTION_DAYS and
   SSO_CLIENT_AUTH_LOCKOUT_BASE_MS from the environment (a bad value is an error), and seeds
   the Test Organization once, or switches its connection off when the simulator is off
   (dir_seed). NULL with a message. */
dir_t *dir_new(const sso_config_t *config, char *why, size_t why_size);
void dir_destroy(dir_t **self_p);

extern const sso_service_def_t directory_service;

void dir_service_test(bool verbose);
#endif
