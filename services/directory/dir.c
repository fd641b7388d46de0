/* dir: the directory's state; opening it and its refusals. */
#include "dir.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_KEY_CHECK "sso-directory master key check"

/* mkdir -p with mode 0700 for what it creates. */
static int s_mkdirs(const char *path, char *why, size_t why_size)
{
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            snprintf(why, why_size, "cannot create %s: %s", copy, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_size, "cannot create %s: %s", copy, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, why_size, "%s is not a directory", copy);
        return -1;
    }
    return 0;
}

/* The database remembers a value sealed with the first master key it saw, so starting with a
   different key fails at once with a clear message instead of failing later, per secret. */
static int s_check_key(dir_t *self, char *why, size_t why_size)
{
    dir_db_stmt_t *stmt = dir_db_query(self->db, "SELECT value FROM meta WHERE name = "
                                                 "'master_key_check'", NULL);
    if (!stmt) {
        snprintf(why, why_size, "cannot read the database");
        return -1;
    }
    int step = dir_db_step(stmt);
    if (step == DIR_DB_ROW) {
        size_t sealed_len;
        const void *sealed = dir_db_blob(stmt, 0, &sealed_len);
        char *plain = dir_keys_open(self->keys, sealed, sealed_len, "meta:master_key_check", NULL);
        dir_db_release(stmt);
        bool ok = plain && strcmp(plain, DIR_KEY_CHECK) == 0;
        free(plain);
        if (!ok)
            snprintf(why, why_size, "the master key (SSO_MASTER_KEY or master.key) is not the "
                                    "one this database was created with");
        return ok ? 0 : -1;
    }
    dir_db_release(stmt);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (dir_keys_seal(self->keys, DIR_KEY_CHECK, strlen(DIR_KEY_CHECK), "meta:master_key_check",
                      &sealed, &sealed_len) != 0) {
        snprintf(why, why_size, "cannot seal with the master key");
        return -1;
    }
    /* OR IGNORE: another instance may have written its check first; re-check it then. */
    int rc = dir_db_run(self->db, NULL, "INSERT OR IGNORE INTO meta (name, value) VALUES "
                                        "('master_key_check', ?)", "b", sealed, sealed_len);
    free(sealed);
    if (rc != DIR_DB_OK) {
        snprintf(why, why_size, "cannot write to the database");
        return -1;
    }
    return dir_db_int(self->db, "SELECT count(*) FROM meta WHERE name = 'master_key_check'", NULL)
                   == 1
               ? 0
               : -1;
}

/* An integer setting, text as the environment gave it (NULL when unset): fallback when unset
   or empty, else a whole number in [min, max]; -1 with why naming it otherwise. */
static int s_setting(const char *name, const char *text, long fallback, long min, long max,
                     long *out, char *why, size_t why_size)
{
    *out = fallback;
    if (text && *text && sso_parse_int(text, min, max, out) != 0) {
        snprintf(why, why_size, "%s must be a whole number from %ld to %ld (got \"%.40s\")",
                 name, min, max, text);
        return -1;
    }
    return 0;
}

/* The limits of SSO_EVENT_RETENTION_DAYS and SSO_CLIENT_AUTH_LOCKOUT_BASE_MS. */
static int s_limits(dir_t *self, const sso_config_t *config, char *why, size_t why_size)
{
    long days = 0, base_ms = 0, delay_s = 0, refresh_s = 0, retry_ms = 0, scim_days = 0;
    if (s_setting("SSO_EVENT_RETENTION_DAYS", config->event_retention_days,
                  DIR_EVENT_RETENTION_DAYS, 1, DIR_EVENT_RETENTION_MAX_DAYS, &days, why, why_size)
            != 0
        || s_setting("SSO_CLIENT_AUTH_LOCKOUT_BASE_MS", config->client_auth_lockout_base_ms,
                     DIR_AUTH_LIMIT_BASE_MS, 100, 3600000, &base_ms, why, why_size) != 0
        || s_setting("SSO_KEY_ROTATION_DELAY_S", config->key_rotation_delay_s,
                     DIR_KEY_ROTATION_DELAY_S, 0, DIR_KEY_ROTATION_DELAY_MAX_S, &delay_s, why,
                     why_size) != 0
        || s_setting("SSO_SAML_METADATA_REFRESH_S", config->saml_metadata_refresh_s,
                     DIR_METADATA_REFRESH_S, DIR_METADATA_REFRESH_MIN_S,
                     DIR_METADATA_REFRESH_MAX_S, &refresh_s, why, why_size) != 0
        || s_setting("SSO_WEBHOOK_FIRST_RETRY_MS", config->webhook_first_retry_ms,
                     DIR_WEBHOOK_FIRST_RETRY_MS, DIR_WEBHOOK_FIRST_RETRY_MIN_MS,
                     DIR_WEBHOOK_FIRST_RETRY_MAX_MS, &retry_ms, why, why_size) != 0
        || s_setting("SSO_SCIM_RETENTION_DAYS", config->scim_retention_days,
                     DIR_SCIM_RETENTION_DAYS, 1, DIR_EVENT_RETENTION_MAX_DAYS, &scim_days, why,
                     why_size) != 0)
        return -1;
    self->scim_retention_days = (int) scim_days;
    self->webhook_first_retry_ms = retry_ms;
    self->metadata_refresh_s = refresh_s;
    self->event_retention_days = (int) days;
    self->key_rotation_delay_s = delay_s;
    self->auth_limit = dir_auth_limit_new(DIR_AUTH_LIMIT_SIZE, DIR_AUTH_LIMIT_FAILURES, base_ms);
    if (!self->auth_limit) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    return 0;
}

/* The directory parses IdP metadata that administrators upload or name by URL: like the saml
   service, no XML it reads may reach a file or the network. */
static int s_xml_no_io(char *why, size_t why_size)
{
    if (sso_xml_forbid_io() == 0)
        return 0;
    snprintf(why, why_size, "could not take libxml2's file and network I/O out of the process");
    return -1;
}

dir_t *dir_new(const sso_config_t *config, char *why, size_t why_size)
{
    dir_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    snprintf(self->public_url, sizeof self->public_url, "%s", config->public_url);
    snprintf(self->data_dir, sizeof self->data_dir, "%s", config->data_dir);
    self->allow_private_upstreams = config->allow_private_upstreams;
    self->simulator = config->simulator;
    self->production = config->production;
    char path[1100];
    snprintf(path, sizeof path, "%s/sso.db", self->data_dir);
    self->secret_cache = dir_secret_cache_new(DIR_SECRET_CACHE_SIZE, DIR_SECRET_CACHE_TTL);
    if (!self->secret_cache) {
        snprintf(why, why_size, "out of memory");
        dir_destroy(&self);
    }
    else if (s_xml_no_io(why, why_size) != 0 || s_limits(self, config, why, why_size) != 0
        || s_mkdirs(self->data_dir, why, why_size) != 0
        || !(self->keys = dir_keys_new(config->master_key, self->data_dir, why, why_size))
        || !(self->db = config->database_url && *config->database_url
                            ? dir_db_open_url(config->database_url, why, why_size)
                            : dir_db_open(path, why, why_size))
        || s_check_key(self, why, why_size) != 0)
        dir_destroy(&self);
    return self;
}

void dir_destroy(dir_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_db_destroy(&(*self_p)->db);
    dir_keys_destroy(&(*self_p)->keys);
    dir_secret_cache_destroy(&(*self_p)->secret_cache);
    dir_auth_limit_destroy(&(*self_p)->auth_limit);
    free(*self_p);
    *self_p = NULL;
}

/* A master key or setting the directory cannot use stops it at start, with a message naming
   it. */
/* Whether dir_new refuses *setting = value, naming name; the setting is unset after. */
static bool s_setting_refused(dir_testkit_t *kit, const char **setting, const char *value,
                              const char *name)
{
    char why[256] = "";
    *setting = value;
    dir_t *other = dir_new(&kit->config, why, sizeof why);
    *setting = NULL;
    bool refused = !other && strstr(why, name);
    dir_destroy(&other);
    return refused;
}

static void s_test(dir_testkit_t *kit)
{
    dir_destroy(&kit->dir);
    /* A different master key for the same database is a startup error; a malformed one too. */
    char why[512];
    kit->config.master_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    dir_t *other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(!other && strstr(why, "master key"));
    dir_destroy(&other);
    kit->config.master_key = "too-short";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(!other && strstr(why, "SSO_MASTER_KEY"));
    dir_destroy(&other);
    kit->config.master_key = NULL;
    /* SSO_EVENT_RETENTION_DAYS and SSO_CLIENT_AUTH_LOCKOUT_BASE_MS: whole numbers in range. */
    const char *names[] = {"SSO_EVENT_RETENTION_DAYS", "SSO_CLIENT_AUTH_LOCKOUT_BASE_MS"};
    const char **settings[] = {&kit->config.event_retention_days,
                               &kit->config.client_auth_lockout_base_ms};
    const char *bad[] = {"0", "-1", "x", "7d", "1.5", "99999999999999999999"};
    for (size_t n = 0; n < 2; n++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            *settings[n] = bad[i];
            other = dir_new(&kit->config, why, sizeof why);
            SSO_CHECK(!other && strstr(why, names[n]));
            dir_destroy(&other);
        }
        *settings[n] = NULL;
    }
    SSO_CHECK(s_setting_refused(kit, &kit->config.event_retention_days, "36501",
                                "SSO_EVENT_RETENTION_DAYS"));
    /* SSO_SCIM_RETENTION_DAYS: 1 to 36500 days, 30 by default. */
    const char *bad_days[] = {"0", "-1", "x", "30d", "36501"};
    for (size_t i = 0; i < sizeof bad_days / sizeof bad_days[0]; i++)
        SSO_CHECK(s_setting_refused(kit, &kit->config.scim_retention_days, bad_days[i],
                                    "SSO_SCIM_RETENTION_DAYS"));
    kit->config.scim_retention_days = "2";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->scim_retention_days == 2);
    dir_destroy(&other);
    kit->config.scim_retention_days = NULL;
    kit->config.event_retention_days = "7";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->event_retention_days == 7);
    dir_destroy(&other);
    kit->config.event_retention_days = NULL;
    /* SSO_KEY_ROTATION_DELAY_S: 0 (sign at once) to 30 days. */
    const char *bad_delays[] = {"-1", "x", "1h", " 5", "2592001"};
    for (size_t i = 0; i < sizeof bad_delays / sizeof bad_delays[0]; i++)
        SSO_CHECK(s_setting_refused(kit, &kit->config.key_rotation_delay_s, bad_delays[i],
                                    "SSO_KEY_ROTATION_DELAY_S"));
    kit->config.key_rotation_delay_s = "0";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->key_rotation_delay_s == 0);
    dir_destroy(&other);
    kit->config.key_rotation_delay_s = NULL;
    /* SSO_SAML_METADATA_REFRESH_S: a minute to a week. */
    const char *bad_refresh[] = {"59", "0", "604801", "12h"};
    for (size_t i = 0; i < sizeof bad_refresh / sizeof bad_refresh[0]; i++)
        SSO_CHECK(s_setting_refused(kit, &kit->config.saml_metadata_refresh_s, bad_refresh[i],
                                    "SSO_SAML_METADATA_REFRESH_S"));
    kit->config.saml_metadata_refresh_s = "60";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->metadata_refresh_s == 60);
    dir_destroy(&other);
    kit->config.saml_metadata_refresh_s = NULL;
    /* SSO_WEBHOOK_FIRST_RETRY_MS: 10 ms to a minute. */
    const char *bad_retry[] = {"9", "0", "60001", "5s"};
    for (size_t i = 0; i < sizeof bad_retry / sizeof bad_retry[0]; i++)
        SSO_CHECK(s_setting_refused(kit, &kit->config.webhook_first_retry_ms, bad_retry[i],
                                    "SSO_WEBHOOK_FIRST_RETRY_MS"));
    kit->config.webhook_first_retry_ms = "10";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->webhook_first_retry_ms == 10);
    dir_destroy(&other);
    kit->config.webhook_first_retry_ms = NULL;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(kit->dir->webhook_first_retry_ms == DIR_WEBHOOK_FIRST_RETRY_MS);
    SSO_CHECK(kit->dir->metadata_refresh_s == DIR_METADATA_REFRESH_S);
    SSO_CHECK(kit->dir->event_retention_days == DIR_EVENT_RETENTION_DAYS);
    SSO_CHECK(kit->dir->key_rotation_delay_s == DIR_KEY_ROTATION_DELAY_S);
}

void dir_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
}
