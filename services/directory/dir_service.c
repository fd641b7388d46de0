/* dir_service: the directory's state and its definition on the bus. */
#include "dir_service.h"
#include "dir_admin.h"
#include "api/dir_api.h"
#include "login/dir_events.h"
#include "api/dir_json.h"
#include "dir_rpc.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_saml_metadata.h"
#include "sso_test.h"
#include <errno.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
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
    sqlite3_stmt *stmt = dir_db_query(self->db, "SELECT value FROM meta WHERE name = "
                                                "'master_key_check'", NULL);
    if (!stmt) {
        snprintf(why, why_size, "cannot read the database");
        return -1;
    }
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        char *plain = dir_keys_open(self->keys, sqlite3_column_blob(stmt, 0),
                                    (size_t) sqlite3_column_bytes(stmt, 0), "meta:master_key_check",
                                    NULL);
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
    long days = 0, base_ms = 0;
    if (s_setting("SSO_EVENT_RETENTION_DAYS", config->event_retention_days,
                  DIR_EVENT_RETENTION_DAYS, 1, DIR_EVENT_RETENTION_MAX_DAYS, &days, why, why_size)
            != 0
        || s_setting("SSO_CLIENT_AUTH_LOCKOUT_BASE_MS", config->client_auth_lockout_base_ms,
                     DIR_AUTH_LIMIT_BASE_MS, 100, 3600000, &base_ms, why, why_size) != 0)
        return -1;
    self->event_retention_days = (int) days;
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
        || !(self->db = dir_db_open(path, why, why_size)) || s_check_key(self, why, why_size) != 0
        || dir_admin_bootstrap(self, config->admin_client_id, config->admin_client_secret, why,
                               why_size) != 0
        || dir_seed_ensure(self, why, why_size) != 0)
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

static int s_init(sso_service_t *service)
{
    char why[512] = "";
    dir_t *dir = dir_new(service->config, why, sizeof why);
    if (!dir) {
        sso_error("%s", why);
        return -1;
    }
    service->state = dir;
    sso_info("database %s/sso.db ready (schema %d)", dir->data_dir, dir_db_schema_version());
    return 0;
}

static void s_fini(sso_service_t *service)
{
    dir_t *dir = service->state;
    dir_destroy(&dir);
    service->state = NULL;
}

static zframe_t *s_http(sso_service_t *service, const Sso__HttpRequest *request,
                        const Sso__Meta *meta)
{
    (void) meta;
    return dir_api_handle(service->state, request);
}

static zframe_t *s_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                       const Sso__Meta *meta)
{
    return dir_rpc_handle(service->state, meta ? meta->caller : NULL, rpc, payload);
}

/* Group commit (see dir_db_batch_begin): the requests waiting together share one write
   transaction. Under load most commits then carry several requests' rows, so the pages they
   share (a table's last leaf, an index's) go to the log once per batch, not once per request. */
static int s_batch_begin(sso_service_t *service)
{
    dir_t *dir = service->state;
    return dir_db_batch_begin(dir->db);
}

static bool s_batch_intact(sso_service_t *service)
{
    dir_t *dir = service->state;
    return dir_db_batch_intact(dir->db);
}

static int s_batch_end(sso_service_t *service)
{
    dir_t *dir = service->state;
    return dir_db_batch_end(dir->db);
}

static zframe_t *s_batch_failed(sso_service_t *service, const sso_job_t *job)
{
    (void) service;
    const char *what = "the directory could not save its changes (see its log); try again";
    if (job->meta && job->meta->kind == SSO__META__KIND__RPC)
        return dir_rpc_error_frame("server_error", what);
    return sso_http_error(503, "temporarily_unavailable", what);
}

static const sso_batch_def_t s_batch = {
    .begin = s_batch_begin,
    .intact = s_batch_intact,
    .end = s_batch_end,
    .failed = s_batch_failed,
};

/* Every service that keeps or reads login state calls the directory; the gateway only sends
   it HTTP (the management API, the portal). Which role may call which RPC: dir_rpc. */
static const char *const s_rpc_callers[] = {"token", "saml", "oidc", NULL};

const sso_service_def_t directory_service = {
    .name = "directory",
    .summary = "The directory of the SSO broker: the only writer of state (SQLite in\n"
               "SSO_DATA_DIR: organizations, domains, connections, clients, keys, login\n"
               "state and events, secrets sealed with the master key), the management API\n"
               "/api/v1 and the directory RPCs. A bus worker that connects to\n"
               "SSO_BROKER_ENDPOINT.",
    .init = s_init,
    .fini = s_fini,
    .http = s_http,
    .rpc = s_rpc,
    .rpc_callers = s_rpc_callers,
    .batch = &s_batch,
};

static void s_test(dir_testkit_t *kit)
{
    /* The data dir was created 0700, with the key, database and credentials in it. */
    struct stat st;
    SSO_CHECK(stat(kit->data_dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    char path[1100];
    snprintf(path, sizeof path, "%s/master.key", kit->data_dir);
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char key_before[128] = "", key_after[128] = "";
    FILE *file = fopen(path, "r");
    if (file) {
        SSO_CHECK(fgets(key_before, sizeof key_before, file) != NULL);
        fclose(file);
    }
    snprintf(path, sizeof path, "%s/admin-credentials", kit->data_dir);
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* Once the directory runs, no XML reaches a file (nor, the same way, the network). */
    char xml_path[1100], file_url[1200];
    snprintf(xml_path, sizeof xml_path, "%s/probe.xml", kit->data_dir);
    snprintf(file_url, sizeof file_url, "file://%s", xml_path);
    file = fopen(xml_path, "w");
    SSO_CHECK(file && fputs("<a>on disk</a>", file) >= 0);
    if (file)
        fclose(file);
    xmlDocPtr doc = xmlReadFile(xml_path, NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    SSO_CHECK(doc == NULL);
    xmlFreeDoc(doc);
    SSO_CHECK((doc = xmlReadFile(file_url, NULL, XML_PARSE_NOERROR | XML_PARSE_NOWARNING))
              == NULL);
    xmlFreeDoc(doc);
    unlink(xml_path);

    /* A restart reuses the key file (and the token issued before it still works). */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations",
                               "{\"display_name\":\"Persisted\"}", NULL) == 201);
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    snprintf(path, sizeof path, "%s/master.key", kit->data_dir);
    file = fopen(path, "r");
    if (file) {
        SSO_CHECK(fgets(key_after, sizeof key_after, file) != NULL);
        fclose(file);
    }
    SSO_CHECK(*key_before && strcmp(key_before, key_after) == 0);
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/organizations", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1);
    json_decref(body);

    /* A different master key for the same database is a startup error; a malformed one too. */
    dir_destroy(&kit->dir);
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
    kit->config.event_retention_days = "36501";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(!other && strstr(why, "SSO_EVENT_RETENTION_DAYS"));
    dir_destroy(&other);
    kit->config.event_retention_days = "7";
    other = dir_new(&kit->config, why, sizeof why);
    SSO_CHECK(other && other->event_retention_days == 7);
    dir_destroy(&other);
    kit->config.event_retention_days = NULL;
    SSO_CHECK(dir_testkit_reopen(kit) == 0);
    SSO_CHECK(kit->dir->event_retention_days == DIR_EVENT_RETENTION_DAYS);

    /* The service definition. */
    SSO_CHECK(!strcmp(directory_service.name, "directory") && directory_service.http
              && directory_service.rpc && directory_service.init && directory_service.fini);
}

/* What each request of a lost batch is told: a DirReply error on the bus, a 503 over HTTP. */
static void s_batch_failed_test(void)
{
    Sso__Meta meta = SSO__META__INIT;
    sso_job_t job = {.meta = &meta};
    meta.kind = SSO__META__KIND__RPC;
    zframe_t *frame = s_batch_failed(NULL, &job);
    Sso__DirReply *reply =
        frame ? sso__dir_reply__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(reply && strcmp(reply->error, "server_error") == 0
              && strstr(reply->error_description, "could not save"));
    sso__dir_reply__free_unpacked(reply, NULL);
    zframe_destroy(&frame);
    meta.kind = SSO__META__KIND__HTTP;
    frame = s_batch_failed(NULL, &job);
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    SSO_CHECK(response && response->status == 503);
    sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
}

void dir_service_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    s_batch_failed_test();
}
