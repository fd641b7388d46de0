/* sso_config: the environment of DESIGN.md section 4, read once at start. */
#ifndef SSO_CONFIG_H
#define SSO_CONFIG_H
#include <stdbool.h>
#include <stdint.h>

#define SSO_BROKERS_MAX 8          /* brokers a service may serve (SSO_BROKER_ENDPOINTS) */
#define SSO_ENDPOINT_MAX 256       /* bytes of one bus endpoint, its NUL included */

typedef struct {
    char public_url[512];       /* SSO_PUBLIC_URL, no trailing slash */
    char http_addr[128];        /* SSO_HTTP_ADDR */
    char broker_endpoint[SSO_ENDPOINT_MAX]; /* SSO_BROKER_ENDPOINT: the gateway binds it */
    /* SSO_BROKER_ENDPOINTS: every broker a service connects to (several gateways); when
       unset, SSO_BROKER_ENDPOINT alone. */
    char broker_endpoints[SSO_BROKERS_MAX][SSO_ENDPOINT_MAX];
    int n_broker_endpoints;
    char data_dir[1024];        /* SSO_DATA_DIR */
    char bus_keys_dir[1024];    /* SSO_BUS_KEYS_DIR: the bus's CURVE keys (<data dir>/bus) */
    char log_format[16];        /* SSO_LOG_FORMAT */
    bool allow_private_upstreams;
    char tls_cert[1024];        /* SSO_TLS_CERT, optional */
    char tls_key[1024];         /* SSO_TLS_KEY, optional */
    int request_timeout_ms;     /* SSO_REQUEST_TIMEOUT_MS: deadline put on every bus request */
    int max_body_bytes;         /* SSO_MAX_BODY_BYTES */
    int worker_credit;          /* SSO_WORKER_CREDIT: requests one instance takes at once */
    bool production;            /* SSO_ENVIRONMENT: production (the default) or development */
    bool simulator;             /* the IdP simulator and its Test Organization are on:
                                   SSO_SIMULATOR (0 or 1), by default on only in development */
    char ops_addr[128];         /* SSO_OPS_ADDR: /metrics, /healthz, /readyz apart; "" when unset */
    char trusted_proxies[1024]; /* SSO_TRUSTED_PROXIES: who may set X-Forwarded-For; "" none */
    int max_connections_per_ip; /* SSO_MAX_CONNECTIONS_PER_IP */
    int request_read_timeout_ms;    /* SSO_REQUEST_READ_TIMEOUT_MS: headers and body */
    int max_body_bytes_in_flight;   /* SSO_MAX_BODY_BYTES_IN_FLIGHT: all connections together */

    /* Settings one module checks itself, so that a bad value stops only the process that uses
       it, with that module's message. Read here like the rest; the environment's own text, NULL
       when unset (not copied, so no length cap is added; no process changes its environment
       after start). */
    const char *log_level;          /* SSO_LOG_LEVEL: sso_log_init */
    bool log_debug;                 /* SSO_DEBUG is set: the old spelling of SSO_LOG_LEVEL=debug */
    bool access_log;                /* SSO_ACCESS_LOG is not 0: the gateway's access log */
    const char *web_dir;            /* SSO_WEB_DIR: the gateway's static files */
    const char *gateway_threads;    /* SSO_GATEWAY_THREADS */
    const char *key_rotation_delay_s;           /* SSO_KEY_ROTATION_DELAY_S: directory */
    const char *event_retention_days;           /* SSO_EVENT_RETENTION_DAYS: directory */
    const char *client_auth_lockout_base_ms;    /* SSO_CLIENT_AUTH_LOCKOUT_BASE_MS: directory */
    const char *master_key;                     /* SSO_MASTER_KEY: directory */
    const char *admin_client_id;                /* SSO_ADMIN_CLIENT_ID: directory, supervisor */
    const char *admin_client_secret;            /* SSO_ADMIN_CLIENT_SECRET: directory */
    const char *dashboard_admin_email;          /* SSO_DASHBOARD_ADMIN_EMAIL: directory */
    const char *saml_metadata_refresh_s;        /* SSO_SAML_METADATA_REFRESH_S: directory */
    const char *webhook_first_retry_ms;         /* SSO_WEBHOOK_FIRST_RETRY_MS: directory */
    const char *scim_retention_days;            /* SSO_SCIM_RETENTION_DAYS: directory */
    const char *database_url;                   /* SSO_DATABASE_URL: directory (postgres://) */
    const char *test_database_url;              /* SSO_TEST_DATABASE_URL: dir_db_pg's self-test */
} sso_config_t;

/* Fills config from the environment; returns 0, or -1 with a message on stderr when a value
   is invalid. */
int sso_config_load(sso_config_t *config);

/* Fills only the settings modules check themselves (the last group above) from the
   environment; sso_config_load does it too. For a config made by hand (tests). */
void sso_config_load_settings(sso_config_t *config);

/* mkdir -p: creates path and its missing parents with mode. 0, or -1 (errno set) when one
   cannot be created or path is not a directory. */
int sso_mkdirs(const char *path, unsigned mode);

/* Reads a positive integer in [min, max] from a string; returns -1 when it is not one. */
int sso_parse_int(const char *text, long min, long max, long *out);

void sso_config_test(bool verbose);
#endif
