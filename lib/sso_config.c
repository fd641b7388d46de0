#include "sso_config.h"
#include "sso_test.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_env(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

static int s_copy(char *dest, size_t size, const char *name, const char *fallback)
{
    const char *value = s_env(name, fallback);
    if (strlen(value) >= size) {
        fprintf(stderr, "config: %s is too long (at most %zu bytes)\n", name, size - 1);
        return -1;
    }
    snprintf(dest, size, "%s", value);
    return 0;
}

int sso_parse_int(const char *text, long min, long max, long *out)
{
    /* Digits, with a minus sign at most: strtol alone would also take leading blanks and '+'. */
    if (!text || !*text || !(isdigit((unsigned char) *text)
                             || (*text == '-' && isdigit((unsigned char) text[1]))))
        return -1;
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

int sso_mkdirs(const char *path, unsigned mode)
{
    char buf[1024];
    if (!path || !*path || snprintf(buf, sizeof buf, "%s", path) >= (int) sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, (mode_t) mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, (mode_t) mode) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(buf, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int s_int(const char *name, long fallback, long min, long max, int *out)
{
    const char *text = getenv(name);
    long value = fallback;
    if (text && *text && sso_parse_int(text, min, max, &value) != 0) {
        fprintf(stderr, "config: %s must be an integer from %ld to %ld\n", name, min, max);
        return -1;
    }
    *out = (int) value;
    return 0;
}

/* One broker a service connects to: tcp://HOST:PORT (a name, an IPv4 address or a bracketed
   IPv6 one; PORT 1..65535; no wildcard: a service connects, it does not bind) or ipc://PATH.
   No blanks or control bytes anywhere: a stray space around a comma is a mistake, not a name.
   0, or -1 with the reason in why. */
static int s_endpoint_check(const char *endpoint, char *why, size_t why_size)
{
    size_t len = strlen(endpoint);
    if (len >= SSO_ENDPOINT_MAX) {
        snprintf(why, why_size, "an endpoint is too long (at most %d bytes)",
                 SSO_ENDPOINT_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) endpoint[i] <= ' ' || endpoint[i] == 0x7f) {
            snprintf(why, why_size, "an endpoint has a blank or control character");
            return -1;
        }
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        if (len == 6) {
            snprintf(why, why_size, "\"%s\" names no socket path", endpoint);
            return -1;
        }
        return 0;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0) {
        snprintf(why, why_size, "\"%s\" is neither tcp://HOST:PORT nor ipc://PATH", endpoint);
        return -1;
    }
    const char *host = endpoint + 6;
    const char *colon = strrchr(host, ':');
    long port = 0;
    if (!colon || sso_parse_int(colon + 1, 1, 65535, &port) != 0) {
        snprintf(why, why_size, "\"%s\" needs a port from 1 to 65535 (tcp://HOST:PORT)",
                 endpoint);
        return -1;
    }
    size_t host_len = (size_t) (colon - host);
    bool bracketed = host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']';
    const char *allowed = bracketed ? "0123456789abcdefABCDEF:." : "abcdefghijklmnopqrstuvwxyz"
                                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                  "0123456789.-";
    size_t from = bracketed ? 1 : 0, to = bracketed ? host_len - 1 : host_len;
    bool ok = to > from;
    for (size_t i = from; ok && i < to; i++)
        ok = strchr(allowed, host[i]) != NULL;
    if (!ok) {
        snprintf(why, why_size, "\"%s\" does not name a host a service can connect to",
                 endpoint);
        return -1;
    }
    return 0;
}

/* Splits SSO_BROKER_ENDPOINTS: comma-separated, each item checked, none empty, none twice,
   at most SSO_BROKERS_MAX. 0 with config's list filled, or -1 with the reason in why. */
static int s_parse_endpoints(const char *text, sso_config_t *config, char *why, size_t why_size)
{
    config->n_broker_endpoints = 0;
    for (const char *item = text;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t) (comma - item) : strlen(item);
        if (len == 0) {
            snprintf(why, why_size, "an item is empty");
            return -1;
        }
        if (config->n_broker_endpoints == SSO_BROKERS_MAX) {
            snprintf(why, why_size, "more than %d brokers", SSO_BROKERS_MAX);
            return -1;
        }
        char *endpoint = config->broker_endpoints[config->n_broker_endpoints];
        if (len >= SSO_ENDPOINT_MAX) {
            snprintf(why, why_size, "an endpoint is too long (at most %d bytes)",
                     SSO_ENDPOINT_MAX - 1);
            return -1;
        }
        memcpy(endpoint, item, len);
        endpoint[len] = '\0';
        if (s_endpoint_check(endpoint, why, why_size) != 0)
            return -1;
        for (int i = 0; i < config->n_broker_endpoints; i++)
            if (strcmp(config->broker_endpoints[i], endpoint) == 0) {
                snprintf(why, why_size, "\"%s\" is listed twice", endpoint);
                return -1;
            }
        config->n_broker_endpoints++;
        if (!comma)
            return 0;
        item = comma + 1;
    }
}

void sso_config_load_settings(sso_config_t *config)
{
    config->log_level = getenv("SSO_LOG_LEVEL");
    config->log_debug = getenv("SSO_DEBUG") != NULL;
    const char *access_log = getenv("SSO_ACCESS_LOG");
    config->access_log = !access_log || strcmp(access_log, "0") != 0;
    config->web_dir = getenv("SSO_WEB_DIR");
    config->gateway_threads = getenv("SSO_GATEWAY_THREADS");
    config->key_rotation_delay_s = getenv("SSO_KEY_ROTATION_DELAY_S");
    config->event_retention_days = getenv("SSO_EVENT_RETENTION_DAYS");
    config->client_auth_lockout_base_ms = getenv("SSO_CLIENT_AUTH_LOCKOUT_BASE_MS");
    config->master_key = getenv("SSO_MASTER_KEY");
    config->admin_client_id = getenv("SSO_ADMIN_CLIENT_ID");
    config->admin_client_secret = getenv("SSO_ADMIN_CLIENT_SECRET");
    config->dashboard_admin_email = getenv("SSO_DASHBOARD_ADMIN_EMAIL");
    config->saml_metadata_refresh_s = getenv("SSO_SAML_METADATA_REFRESH_S");
    config->webhook_first_retry_ms = getenv("SSO_WEBHOOK_FIRST_RETRY_MS");
    config->scim_retention_days = getenv("SSO_SCIM_RETENTION_DAYS");
    config->database_url = getenv("SSO_DATABASE_URL");
    config->test_database_url = getenv("SSO_TEST_DATABASE_URL");
}

int sso_config_load(sso_config_t *config)
{
    memset(config, 0, sizeof *config);
    sso_config_load_settings(config);
    if (s_copy(config->public_url, sizeof config->public_url, "SSO_PUBLIC_URL",
               "http://localhost:8080")
        || s_copy(config->http_addr, sizeof config->http_addr, "SSO_HTTP_ADDR", "127.0.0.1:8080")
        || s_copy(config->broker_endpoint, sizeof config->broker_endpoint, "SSO_BROKER_ENDPOINT",
                  "tcp://127.0.0.1:5555")
        || s_copy(config->data_dir, sizeof config->data_dir, "SSO_DATA_DIR", "./var")
        || s_copy(config->bus_keys_dir, sizeof config->bus_keys_dir, "SSO_BUS_KEYS_DIR", "")
        || s_copy(config->log_format, sizeof config->log_format, "SSO_LOG_FORMAT", "text")
        || s_copy(config->tls_cert, sizeof config->tls_cert, "SSO_TLS_CERT", "")
        || s_copy(config->tls_key, sizeof config->tls_key, "SSO_TLS_KEY", ""))
        return -1;
    /* Unset (or empty, as every variable here): the one broker of SSO_BROKER_ENDPOINT, as
       before several gateways existed, and not checked here, since the gateway binds it. */
    const char *brokers = s_env("SSO_BROKER_ENDPOINTS", NULL);
    char why[SSO_ENDPOINT_MAX + 128];
    if (brokers && s_parse_endpoints(brokers, config, why, sizeof why) != 0) {
        fprintf(stderr, "config: SSO_BROKER_ENDPOINTS: %s (a comma-separated list of at most "
                        "%d brokers, each tcp://HOST:PORT or ipc://PATH)\n",
                why, SSO_BROKERS_MAX);
        return -1;
    }
    if (!brokers) {
        snprintf(config->broker_endpoints[0], SSO_ENDPOINT_MAX, "%s", config->broker_endpoint);
        config->n_broker_endpoints = 1;
    }
    if (!*config->bus_keys_dir
        && snprintf(config->bus_keys_dir, sizeof config->bus_keys_dir, "%s/bus", config->data_dir)
               >= (int) sizeof config->bus_keys_dir) {
        fprintf(stderr, "config: SSO_DATA_DIR is too long for the bus keys dir under it\n");
        return -1;
    }
    size_t len = strlen(config->public_url);
    while (len > 0 && config->public_url[len - 1] == '/')
        config->public_url[--len] = '\0';
    if (strncmp(config->public_url, "http://", 7) != 0
        && strncmp(config->public_url, "https://", 8) != 0) {
        fprintf(stderr, "config: SSO_PUBLIC_URL must start with http:// or https://\n");
        return -1;
    }
    if (strcmp(config->log_format, "text") != 0 && strcmp(config->log_format, "json") != 0) {
        fprintf(stderr, "config: SSO_LOG_FORMAT must be text or json\n");
        return -1;
    }
    config->allow_private_upstreams = strcmp(s_env("SSO_ALLOW_PRIVATE_UPSTREAMS", "0"), "1") == 0;
    if (s_int("SSO_REQUEST_TIMEOUT_MS", 10000, 100, 600000, &config->request_timeout_ms)
        || s_int("SSO_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024,
                 &config->max_body_bytes)
        || s_int("SSO_WORKER_CREDIT", 32, 1, 64, &config->worker_credit))
        return -1;
    if (s_copy(config->ops_addr, sizeof config->ops_addr, "SSO_OPS_ADDR", "")
        || s_copy(config->trusted_proxies, sizeof config->trusted_proxies,
                  "SSO_TRUSTED_PROXIES", "")
        || s_int("SSO_MAX_CONNECTIONS_PER_IP", 64, 1, 4000, &config->max_connections_per_ip)
        || s_int("SSO_REQUEST_READ_TIMEOUT_MS", 10000, 100, 600000,
                 &config->request_read_timeout_ms)
        || s_int("SSO_MAX_BODY_BYTES_IN_FLIGHT", 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024,
                 &config->max_body_bytes_in_flight))
        return -1;
    if (config->max_body_bytes_in_flight < config->max_body_bytes) {
        fprintf(stderr, "config: SSO_MAX_BODY_BYTES_IN_FLIGHT must be at least SSO_MAX_BODY_BYTES\n");
        return -1;
    }
    if ((*config->tls_cert != '\0') != (*config->tls_key != '\0')) {
        fprintf(stderr, "config: set both SSO_TLS_CERT and SSO_TLS_KEY, or neither\n");
        return -1;
    }
    /* Production unless told otherwise: a binary started by hand must not sign test logins
       for anyone. make run says development. */
    const char *environment = s_env("SSO_ENVIRONMENT", "production");
    if (strcmp(environment, "production") != 0 && strcmp(environment, "development") != 0) {
        fprintf(stderr, "config: SSO_ENVIRONMENT must be development or production\n");
        return -1;
    }
    config->production = strcmp(environment, "production") == 0;
    const char *simulator = s_env("SSO_SIMULATOR", config->production ? "0" : "1");
    if (strcmp(simulator, "0") != 0 && strcmp(simulator, "1") != 0) {
        fprintf(stderr, "config: SSO_SIMULATOR must be 0 or 1\n");
        return -1;
    }
    config->simulator = simulator[0] == '1';
    return 0;
}

/* SSO_BROKER_ENDPOINTS: the list as given, or SSO_BROKER_ENDPOINT alone; every bad list
   refused whole (absent, empty, too many, empty items, blanks, overlong, duplicates,
   hostile or malformed endpoints). */
static void s_test_broker_endpoints(void)
{
    sso_config_t config;
    unsetenv("SSO_BROKER_ENDPOINTS");
    setenv("SSO_BROKER_ENDPOINT", "tcp://*:5555", 1); /* the gateway's: bound, not checked */
    SSO_CHECK(sso_config_load(&config) == 0 && config.n_broker_endpoints == 1
              && !strcmp(config.broker_endpoints[0], "tcp://*:5555"));
    setenv("SSO_BROKER_ENDPOINTS", "", 1); /* empty is unset, as for every variable */
    SSO_CHECK(sso_config_load(&config) == 0 && config.n_broker_endpoints == 1);
    unsetenv("SSO_BROKER_ENDPOINT");
    setenv("SSO_BROKER_ENDPOINTS", "tcp://gw-a.internal:5555,tcp://10.0.0.2:5555,"
                                   "tcp://[::1]:6000,ipc:///run/sso/bus.sock", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && config.n_broker_endpoints == 4
              && !strcmp(config.broker_endpoints[0], "tcp://gw-a.internal:5555")
              && !strcmp(config.broker_endpoints[2], "tcp://[::1]:6000")
              && !strcmp(config.broker_endpoints[3], "ipc:///run/sso/bus.sock")
              && !strcmp(config.broker_endpoint, "tcp://127.0.0.1:5555"));
    char list[SSO_BROKERS_MAX * 24 + 64] = "";
    size_t used = 0;
    for (int i = 1; i <= SSO_BROKERS_MAX; i++)
        used += (size_t) snprintf(list + used, sizeof list - used, "%stcp://h%d:5555",
                                  i > 1 ? "," : "", i);
    setenv("SSO_BROKER_ENDPOINTS", list, 1);
    SSO_CHECK(sso_config_load(&config) == 0 && config.n_broker_endpoints == SSO_BROKERS_MAX);
    snprintf(list + used, sizeof list - used, ",tcp://h9:5555"); /* one too many */
    setenv("SSO_BROKER_ENDPOINTS", list, 1);
    SSO_CHECK(sso_config_load(&config) == -1);
    char overlong[SSO_ENDPOINT_MAX + 16] = "ipc:///";
    memset(overlong + 7, 'x', SSO_ENDPOINT_MAX - 7);
    overlong[SSO_ENDPOINT_MAX] = '\0'; /* one byte past the longest */
    char fits[SSO_ENDPOINT_MAX] = "ipc:///";
    memset(fits + 7, 'x', SSO_ENDPOINT_MAX - 8);
    fits[SSO_ENDPOINT_MAX - 1] = '\0';
    setenv("SSO_BROKER_ENDPOINTS", fits, 1);
    SSO_CHECK(sso_config_load(&config) == 0 && !strcmp(config.broker_endpoints[0], fits));
    const char *bad[] = {
        ",", "tcp://a:1,,", "tcp://a:1,", ",tcp://a:1", "tcp://a:1,,tcp://b:1",
        " tcp://a:1", "tcp://a:1, tcp://b:1", "tcp://a:1 ", "tcp://a :1", "tcp://a:1\t",
        "tcp://a:1\n,tcp://b:1", "tcp://a:1,tcp://a:1", "ipc:///x,tcp://a:1,ipc:///x",
        overlong, "tcp://a:0", "tcp://a:65536", "tcp://a:", "tcp://a", "tcp://:5555",
        "tcp://*:5555", "tcp://a:5555x", "tcp://a:+5", "tcp://a:-5", "tcp://[]:5",
        "tcp://[::1:5", "tcp://a/b:5", "tcp://a;b:5", "tcp://user@a:5", "ipc://",
        "inproc://bus", "udp://a:1", "TCP://a:1", "a:1", "tcp://a:1,udp://b:2",
        "tcp://a:1,tcp://b:2,ipc://"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("SSO_BROKER_ENDPOINTS", bad[i], 1);
        config.n_broker_endpoints = -1;
        bool refused = sso_config_load(&config) == -1;
        SSO_CHECK(refused);
        if (!refused)
            fprintf(stderr, "  accepted SSO_BROKER_ENDPOINTS=\"%s\"\n", bad[i]);
    }
    unsetenv("SSO_BROKER_ENDPOINTS");
}

void sso_config_test(bool verbose)
{
    (void) verbose;
    long value = 0;
    SSO_CHECK(sso_parse_int("42", 0, 100, &value) == 0 && value == 42);
    SSO_CHECK(sso_parse_int("42x", 0, 100, &value) == -1);
    SSO_CHECK(sso_parse_int("", 0, 100, &value) == -1);
    SSO_CHECK(sso_parse_int("101", 0, 100, &value) == -1);
    SSO_CHECK(sso_parse_int("-1", 0, 100, &value) == -1);
    SSO_CHECK(sso_parse_int(" 9", 0, 100, &value) == -1 && sso_parse_int("+9", 0, 100, &value) == -1
              && sso_parse_int("\t9", 0, 100, &value) == -1 && sso_parse_int("-", -5, 5, &value) == -1
              && sso_parse_int(NULL, 0, 100, &value) == -1);
    SSO_CHECK(sso_parse_int("-3", -5, 5, &value) == 0 && value == -3);
    setenv("SSO_PUBLIC_URL", "https://sso.example.com//", 1);
    sso_config_t config;
    SSO_CHECK(sso_config_load(&config) == 0);
    SSO_CHECK(strcmp(config.public_url, "https://sso.example.com") == 0);
    setenv("SSO_PUBLIC_URL", "ftp://x", 1);
    SSO_CHECK(sso_config_load(&config) == -1);
    unsetenv("SSO_PUBLIC_URL");
    setenv("SSO_REQUEST_TIMEOUT_MS", "abc", 1);
    SSO_CHECK(sso_config_load(&config) == -1);
    unsetenv("SSO_REQUEST_TIMEOUT_MS");
    SSO_CHECK(sso_config_load(&config) == 0 && config.request_timeout_ms == 10000);
    /* SSO_ENVIRONMENT: production and no simulator unless said; anything else refused. */
    unsetenv("SSO_ENVIRONMENT");
    unsetenv("SSO_SIMULATOR");
    SSO_CHECK(sso_config_load(&config) == 0 && config.production && !config.simulator);
    setenv("SSO_SIMULATOR", "1", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && config.production && config.simulator);
    setenv("SSO_ENVIRONMENT", "development", 1);
    setenv("SSO_SIMULATOR", "0", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && !config.production && !config.simulator);
    unsetenv("SSO_SIMULATOR");
    SSO_CHECK(sso_config_load(&config) == 0 && !config.production && config.simulator);
    const char *bad_environments[] = {"Production", "dev", "production ", "staging"};
    for (size_t i = 0; i < sizeof bad_environments / sizeof *bad_environments; i++) {
        setenv("SSO_ENVIRONMENT", bad_environments[i], 1);
        SSO_CHECK(sso_config_load(&config) == -1);
    }
    setenv("SSO_ENVIRONMENT", "production", 1);
    const char *bad_switches[] = {"yes", "true", "2", " 1"};
    for (size_t i = 0; i < sizeof bad_switches / sizeof *bad_switches; i++) {
        setenv("SSO_SIMULATOR", bad_switches[i], 1);
        SSO_CHECK(sso_config_load(&config) == -1);
    }
    unsetenv("SSO_ENVIRONMENT");
    unsetenv("SSO_SIMULATOR");
    SSO_CHECK(config.max_connections_per_ip == 64 && config.request_read_timeout_ms == 10000
              && config.max_body_bytes_in_flight == 64 * 1024 * 1024 && !*config.ops_addr);
    setenv("SSO_MAX_CONNECTIONS_PER_IP", "0", 1);
    SSO_CHECK(sso_config_load(&config) == -1);
    unsetenv("SSO_MAX_CONNECTIONS_PER_IP");
    setenv("SSO_MAX_BODY_BYTES_IN_FLIGHT", "2048", 1); /* below SSO_MAX_BODY_BYTES */
    SSO_CHECK(sso_config_load(&config) == -1);
    unsetenv("SSO_MAX_BODY_BYTES_IN_FLIGHT");
    /* The bus keys live under the data dir unless SSO_BUS_KEYS_DIR says otherwise. */
    setenv("SSO_DATA_DIR", "/srv/sso", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && !strcmp(config.bus_keys_dir, "/srv/sso/bus"));
    setenv("SSO_BUS_KEYS_DIR", "/run/secrets/bus", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && !strcmp(config.bus_keys_dir, "/run/secrets/bus"));
    unsetenv("SSO_BUS_KEYS_DIR");
    unsetenv("SSO_DATA_DIR");
    /* The settings modules check themselves: the environment's text as it is, NULL unset. */
    const char *settings[] = {"SSO_LOG_LEVEL", "SSO_WEB_DIR", "SSO_GATEWAY_THREADS",
                              "SSO_KEY_ROTATION_DELAY_S", "SSO_EVENT_RETENTION_DAYS",
                              "SSO_CLIENT_AUTH_LOCKOUT_BASE_MS", "SSO_MASTER_KEY",
                              "SSO_ADMIN_CLIENT_ID", "SSO_ADMIN_CLIENT_SECRET", "SSO_DEBUG",
                              "SSO_ACCESS_LOG", "SSO_DASHBOARD_ADMIN_EMAIL"};
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        unsetenv(settings[i]);
    SSO_CHECK(sso_config_load(&config) == 0 && !config.log_level && !config.log_debug
              && config.access_log && !config.web_dir && !config.gateway_threads
              && !config.key_rotation_delay_s && !config.event_retention_days
              && !config.client_auth_lockout_base_ms && !config.master_key
              && !config.admin_client_id && !config.admin_client_secret
              && !config.dashboard_admin_email);
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        setenv(settings[i], i == 10 ? "0" : "not checked here", 1);
    SSO_CHECK(sso_config_load(&config) == 0 && !strcmp(config.log_level, "not checked here")
              && config.log_debug && !config.access_log
              && !strcmp(config.web_dir, "not checked here")
              && !strcmp(config.gateway_threads, "not checked here")
              && !strcmp(config.key_rotation_delay_s, "not checked here")
              && !strcmp(config.event_retention_days, "not checked here")
              && !strcmp(config.client_auth_lockout_base_ms, "not checked here")
              && !strcmp(config.master_key, "not checked here")
              && !strcmp(config.admin_client_id, "not checked here")
              && !strcmp(config.admin_client_secret, "not checked here"));
    setenv("SSO_ACCESS_LOG", "1", 1);
    setenv("SSO_DEBUG", "", 1); /* set, even empty, means debug, as before */
    SSO_CHECK(sso_config_load(&config) == 0 && config.access_log && config.log_debug);
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        unsetenv(settings[i]);
    s_test_broker_endpoints();
    /* mkdir -p: parents made, an existing dir is fine, a file in the way or "" is not. */
    char dir[] = "/tmp/sso-config-test-XXXXXX";
    SSO_CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    SSO_CHECK(sso_mkdirs(path, 0700) == 0 && sso_mkdirs(path, 0700) == 0);
    struct stat st;
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *file = fopen(path, "w");
    SSO_CHECK(file != NULL);
    if (file)
        fclose(file);
    SSO_CHECK(sso_mkdirs(path, 0700) == -1 && sso_mkdirs("", 0700) == -1);
    unlink(path);
    const char *made[] = {"a/b/c", "a/b", "a"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, made[i]);
        rmdir(path);
    }
    SSO_CHECK(rmdir(dir) == 0);
}
