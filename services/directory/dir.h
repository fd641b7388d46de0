/* dir: the directory's state: the database, the master key, the caches and limits, and the
   bits of configuration the handlers need. Every handler takes it; it knows none of them. */
#ifndef DIR_H
#define DIR_H
#include "login/dir_auth_limit.h"
#include "login/dir_secret_cache.h"
#include "store/dir_db.h"
#include "vault/dir_keys.h"
#include "sso_config.h"

/* SSO_EVENT_RETENTION_DAYS: 1..DIR_EVENT_RETENTION_MAX_DAYS, 90 by default. */
#define DIR_EVENT_RETENTION_DAYS 90
/* How long a deleted SCIM user or group is kept (marked) before it is purged. */
#define DIR_SCIM_RETENTION_DAYS 30
#define DIR_EVENT_RETENTION_MAX_DAYS 36500
/* SSO_KEY_ROTATION_DELAY_S: 0..30 days, an hour by default. */
#define DIR_KEY_ROTATION_DELAY_S 3600
#define DIR_KEY_ROTATION_DELAY_MAX_S (30L * 86400)
/* SSO_SAML_METADATA_REFRESH_S: 60 s..7 days, 12 hours by default (api/dir_conn_refresh). */
#define DIR_METADATA_REFRESH_S 43200
#define DIR_METADATA_REFRESH_MIN_S 60
#define DIR_METADATA_REFRESH_MAX_S (7L * 86400)
/* SSO_WEBHOOK_FIRST_RETRY_MS: a webhook's first retry delay, 10 ms..60 s, 5 s by default; the
   later ones keep their ratio to it (webhooks/dir_webhook_sender.h). */
#define DIR_WEBHOOK_FIRST_RETRY_MS 5000
#define DIR_WEBHOOK_FIRST_RETRY_MIN_MS 10
#define DIR_WEBHOOK_FIRST_RETRY_MAX_MS 60000

typedef struct _dir_conn_refresh_t dir_conn_refresh_t;
typedef struct _dir_webhook_sender_t dir_webhook_sender_t;

typedef struct {
    dir_db_t *db;
    dir_keys_t *keys;
    char public_url[512];          /* SSO_PUBLIC_URL, no trailing slash */
    char data_dir[1024];
    bool allow_private_upstreams;  /* SSO_ALLOW_PRIVATE_UPSTREAMS */
    bool simulator;                /* the IdP simulator is on (SSO_ENVIRONMENT, SSO_SIMULATOR) */
    bool production;               /* SSO_ENVIRONMENT is production */
    int64_t housekeeping_at;       /* when expired login state was last purged */
    dir_secret_cache_t *secret_cache; /* recent client_auth successes (skips PBKDF2) */
    dir_auth_limit_t *auth_limit;  /* failed client authentications (SSO_CLIENT_AUTH_*) */
    int event_retention_days;      /* SSO_EVENT_RETENTION_DAYS */
    int scim_retention_days;       /* SSO_SCIM_RETENTION_DAYS */
    bool events_backlog;           /* the last prune was a full batch: more may be due */
    int64_t key_rotation_delay_s;  /* SSO_KEY_ROTATION_DELAY_S: a rotated-in key signs this late */
    int64_t metadata_refresh_s;    /* SSO_SAML_METADATA_REFRESH_S: IdP metadata URLs' period */
    dir_conn_refresh_t *conn_refresh; /* its fetches in flight (dir_conn_refresh_stop frees) */
    int64_t webhook_first_retry_ms; /* SSO_WEBHOOK_FIRST_RETRY_MS */
    dir_webhook_sender_t *webhook_sender; /* deliveries in flight (dir_webhook_sender_stop frees) */
} dir_t;

/* Creates the data dir (0700) if missing, loads or makes the master key, opens and migrates
   the database and checks the key matches it. Takes SSO_MASTER_KEY, SSO_EVENT_RETENTION_DAYS,
   SSO_CLIENT_AUTH_LOCKOUT_BASE_MS, SSO_KEY_ROTATION_DELAY_S, SSO_SAML_METADATA_REFRESH_S and
   SSO_WEBHOOK_FIRST_RETRY_MS
   from config (a bad value is an error). The admin client
   and the seed come after (dir_service_open). NULL with a message. */
dir_t *dir_new(const sso_config_t *config, char *why, size_t why_size);
void dir_destroy(dir_t **self_p);

void dir_test(bool verbose);
#endif
