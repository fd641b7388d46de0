/* dir_db: SQLite open, pragmas, migrations and statement helpers. */
#include "dir_db.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_DB_BUSY_MS 5000

struct dir_db_t {
    sqlite3 *handle;
};

/* Migration n (1-based) is s_migrations[n - 1]. Append only: never edit a shipped one. */
static const char *s_migrations[] = {
    /* 1: every table of the directory. Times are Unix seconds (UTC). Ids are TEXT with a
       type prefix; seq gives a stable order for keyset pagination. */
    "CREATE TABLE meta ("
    "  name TEXT PRIMARY KEY,"
    "  value BLOB NOT NULL);"

    "CREATE TABLE organizations ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  display_name TEXT NOT NULL,"
    "  external_id TEXT UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"

    "CREATE TABLE domains ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  domain TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX domains_org ON domains(organization_id);"

    "CREATE TABLE connections ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL CHECK (type IN ('saml', 'oidc')),"
    "  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'inactive')),"
    "  name TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    /* SAML: the IdP's settings, and this SP's own key pair (the key sealed). */
    "  saml_idp_entity_id TEXT,"
    "  saml_idp_sso_url TEXT,"
    "  saml_idp_certificates TEXT," /* JSON array of PEM strings */
    "  saml_idp_metadata_url TEXT,"
    "  saml_sp_certificate TEXT,"
    "  saml_sp_key_sealed BLOB,"    /* AAD 'connection:<id>:sp_key' */
    "  attribute_mapping TEXT NOT NULL DEFAULT '{}',"
    /* OIDC: the upstream IdP and our client registration there (secret sealed). */
    "  oidc_issuer TEXT,"
    "  oidc_client_id TEXT,"
    "  oidc_client_secret_sealed BLOB," /* AAD 'connection:<id>:oidc_client_secret' */
    "  oidc_scopes TEXT);"
    "CREATE INDEX connections_org ON connections(organization_id);"

    "CREATE TABLE clients ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE," /* the OAuth client_id */
    "  name TEXT NOT NULL,"
    "  secret_hash TEXT NOT NULL," /* sso_secret_hash */
    "  is_admin INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"

    "CREATE TABLE client_redirect_uris ("
    "  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  uri TEXT NOT NULL,"
    "  PRIMARY KEY (client_id, uri));"

    "CREATE TABLE portal_links ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE," /* sha256 hex of the token in the URL */
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX portal_links_org ON portal_links(organization_id);"

    /* One login in flight: what the client asked for at /oauth/authorize and what we sent
       upstream. Single-use; expires quickly. */
    "CREATE TABLE login_transactions ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,"
    "  redirect_uri TEXT NOT NULL,"
    "  state TEXT,"
    "  nonce TEXT,"
    "  scope TEXT NOT NULL,"
    "  code_challenge TEXT,"
    "  code_challenge_method TEXT,"
    "  login_hint TEXT,"
    "  prompt TEXT,"
    "  max_age INTEGER,"
    "  organization_id TEXT REFERENCES organizations(id) ON DELETE CASCADE,"
    "  connection_id TEXT REFERENCES connections(id) ON DELETE CASCADE,"
    "  upstream_request_id TEXT UNIQUE," /* SAML AuthnRequest ID or OIDC state */
    "  upstream_nonce TEXT,"
    "  upstream_code_verifier_sealed BLOB,"
    "  csrf_token_hash TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  completed_at INTEGER);"
    "CREATE INDEX login_transactions_expiry ON login_transactions(expires_at);"

    /* Codes handed to the client; only their hash is kept. Single-use (used_at). */
    "CREATE TABLE authorization_codes ("
    "  code_hash TEXT PRIMARY KEY,"
    "  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,"
    "  redirect_uri TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  nonce TEXT,"
    "  code_challenge TEXT,"
    "  code_challenge_method TEXT,"
    "  organization_id TEXT,"
    "  connection_id TEXT,"
    "  claims_json TEXT NOT NULL," /* the normalized identity for the ID token */
    "  auth_time INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER);"
    "CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);"

    /* Replay caches: SAML assertion IDs (kind 'saml_assertion'), per connection. */
    "CREATE TABLE replay_cache ("
    "  kind TEXT NOT NULL,"
    "  connection_id TEXT NOT NULL,"
    "  item_id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, connection_id, item_id));"
    "CREATE INDEX replay_cache_expiry ON replay_cache(expires_at);"

    /* The login log. No foreign keys: history outlives deleted organizations. */
    "CREATE TABLE login_events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  organization_id TEXT,"
    "  connection_id TEXT,"
    "  client_id TEXT,"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  subject TEXT,"
    "  email TEXT,"
    "  request_id TEXT);"
    "CREATE INDEX login_events_org ON login_events(organization_id, seq);"
    "CREATE INDEX login_events_conn ON login_events(connection_id, seq);"

    "CREATE TABLE signing_keys ("
    "  kid TEXT PRIMARY KEY,"
    "  private_key_sealed BLOB NOT NULL," /* AAD 'signing_key:<kid>' */
    "  public_jwk_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  active_from INTEGER NOT NULL,"
    "  retire_after INTEGER NOT NULL DEFAULT 0);"

    "CREATE TABLE access_tokens ("
    "  token_hash TEXT PRIMARY KEY," /* sha256 hex of the opaque token */
    "  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,"
    "  scope TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);",

    /* 2: the login flow (proto/directory.proto). Organizations may accept any email domain;
       transactions keep what the OIDC upstream needs; codes keep their connection type and
       whether they were presented twice; access tokens keep their identity claims and the
       code they came from (a reused code revokes them); events name their transaction. */
    "ALTER TABLE organizations ADD COLUMN allow_any_domain INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE login_transactions ADD COLUMN force_login INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE login_transactions ADD COLUMN oidc_state TEXT;"
    "CREATE UNIQUE INDEX login_transactions_oidc_state ON login_transactions(oidc_state);"
    "ALTER TABLE authorization_codes ADD COLUMN connection_type TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE authorization_codes ADD COLUMN reused INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE access_tokens ADD COLUMN claims_json TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE access_tokens ADD COLUMN code_hash TEXT;"
    "CREATE INDEX access_tokens_code ON access_tokens(code_hash);"
    "ALTER TABLE login_events ADD COLUMN txn_id TEXT;",
};

#define DIR_DB_VERSION ((int) (sizeof s_migrations / sizeof s_migrations[0]))

int dir_db_schema_version(void)
{
    return DIR_DB_VERSION;
}

sqlite3 *dir_db_handle(dir_db_t *self)
{
    return self->handle;
}

static int s_bind(sqlite3 *db, sqlite3_stmt *stmt, const char *types, va_list args)
{
    int index = 1;
    for (const char *t = types ? types : ""; *t; t++, index++) {
        int rc;
        if (*t == 's') {
            const char *text = va_arg(args, const char *);
            rc = text ? sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(stmt, index);
        }
        else if (*t == 'i')
            rc = sqlite3_bind_int64(stmt, index, va_arg(args, int64_t));
        else if (*t == 'b') {
            const void *data = va_arg(args, const void *);
            size_t len = va_arg(args, size_t);
            rc = data ? sqlite3_bind_blob64(stmt, index, data, len, SQLITE_TRANSIENT)
                      : sqlite3_bind_null(stmt, index);
        }
        else {
            sso_error("db: unknown bind type '%c'", *t);
            return -1;
        }
        if (rc != SQLITE_OK) {
            sso_error("db: bind %d: %s", index, sqlite3_errmsg(db));
            return -1;
        }
    }
    return 0;
}

sqlite3_stmt *dir_db_vquery(dir_db_t *self, const char *sql, const char *types, va_list args)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(self->handle, sql, -1, &stmt, NULL) != SQLITE_OK) {
        sso_error("db: prepare failed: %s", sqlite3_errmsg(self->handle));
        return NULL;
    }
    if (s_bind(self->handle, stmt, types, args) != 0) {
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *dir_db_query(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = dir_db_vquery(self, sql, types, args);
    va_end(args);
    return stmt;
}

int dir_db_run(dir_db_t *self, int *changes, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = dir_db_vquery(self, sql, types, args);
    va_end(args);
    if (changes)
        *changes = 0;
    if (!stmt)
        return DIR_DB_ERROR;
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    int result = DIR_DB_OK;
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        result = DIR_DB_CONFLICT;
    else if (rc != SQLITE_DONE) {
        sso_error("db: step failed: %s", sqlite3_errmsg(self->handle));
        result = DIR_DB_ERROR;
    }
    else if (changes)
        *changes = sqlite3_changes(self->handle);
    sqlite3_finalize(stmt);
    return result;
}

int64_t dir_db_int(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = dir_db_vquery(self, sql, types, args);
    va_end(args);
    int64_t value = -1;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

const char *dir_db_text(sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return text ? (const char *) text : "";
}

static int s_exec(dir_db_t *self, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec(self->handle, sql, NULL, NULL, &message) != SQLITE_OK) {
        sso_error("db: %s", message ? message : sqlite3_errmsg(self->handle));
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

int dir_db_begin(dir_db_t *self)
{
    return s_exec(self, "BEGIN IMMEDIATE");
}

int dir_db_commit(dir_db_t *self)
{
    if (s_exec(self, "COMMIT") != 0) {
        dir_db_rollback(self);
        return -1;
    }
    return 0;
}

void dir_db_rollback(dir_db_t *self)
{
    if (!sqlite3_get_autocommit(self->handle))
        sqlite3_exec(self->handle, "ROLLBACK", NULL, NULL, NULL);
}

static int s_migrate(dir_db_t *self, char *why, size_t why_size)
{
    for (;;) {
        /* Re-read the version under the write lock: another instance may have migrated. */
        if (dir_db_begin(self) != 0) {
            snprintf(why, why_size, "cannot lock the database: %s", sqlite3_errmsg(self->handle));
            return -1;
        }
        int version = (int) dir_db_int(self, "PRAGMA user_version", NULL);
        if (version < 0 || version > DIR_DB_VERSION) {
            dir_db_rollback(self);
            snprintf(why, why_size,
                     "the database schema version %d is newer than this binary's (%d)", version,
                     DIR_DB_VERSION);
            return -1;
        }
        if (version == DIR_DB_VERSION) {
            dir_db_rollback(self);
            return 0;
        }
        /* PRAGMA takes no bound parameters; the number comes from our own table. */
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        if (s_exec(self, s_migrations[version]) != 0 || s_exec(self, pragma) != 0
            || dir_db_commit(self) != 0) {
            dir_db_rollback(self);
            snprintf(why, why_size, "migration %d failed", version + 1);
            return -1;
        }
        sso_info("database migrated to schema version %d", version + 1);
    }
}

dir_db_t *dir_db_open(const char *path, char *why, size_t why_size)
{
    /* Create the file ourselves so it is 0600 from the start; SQLite gives its -wal and
       -shm files the same mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    close(fd);
    dir_db_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &self->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
        snprintf(why, why_size, "cannot open %s: %s", path,
                 self->handle ? sqlite3_errmsg(self->handle) : "out of memory");
        dir_db_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->handle, DIR_DB_BUSY_MS);
    sqlite3_stmt *stmt = dir_db_query(self, "PRAGMA journal_mode = WAL", NULL);
    bool wal = stmt && sqlite3_step(stmt) == SQLITE_ROW
               && strcmp(dir_db_text(stmt, 0), "wal") == 0;
    sqlite3_finalize(stmt);
    if (!wal || s_exec(self, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;") != 0) {
        snprintf(why, why_size, "cannot set up %s (WAL mode, foreign keys)", path);
        dir_db_destroy(&self);
        return NULL;
    }
    if (s_migrate(self, why, why_size) != 0) {
        dir_db_destroy(&self);
        return NULL;
    }
    return self;
}

void dir_db_destroy(dir_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sqlite3_close_v2((*self_p)->handle);
    free(*self_p);
    *self_p = NULL;
}

void dir_db_test(bool verbose)
{
    (void) verbose;
    char dir[] = "/tmp/dir-db-test-XXXXXX";
    SSO_CHECK(mkdtemp(dir) != NULL);
    char path[256], why[256] = "";
    snprintf(path, sizeof path, "%s/sso.db", dir);

    dir_db_t *db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db != NULL);
    if (!db)
        return;
    SSO_CHECK(dir_db_int(db, "PRAGMA user_version", NULL) == DIR_DB_VERSION);
    SSO_CHECK(dir_db_int(db, "PRAGMA foreign_keys", NULL) == 1);
    sqlite3_stmt *stmt = dir_db_query(db, "PRAGMA journal_mode", NULL);
    SSO_CHECK(stmt && sqlite3_step(stmt) == SQLITE_ROW && !strcmp(dir_db_text(stmt, 0), "wal"));
    sqlite3_finalize(stmt);
    struct stat st;
    SSO_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

    /* Every table of the design exists. */
    const char *tables[] = {"organizations", "domains", "connections", "clients",
                            "client_redirect_uris", "portal_links", "login_transactions",
                            "authorization_codes", "replay_cache", "login_events",
                            "signing_keys", "access_tokens", "meta"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                 "AND name = ?", "s", tables[i]) == 1);

    /* Binding, conflicts, cascades, rollback. */
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO organizations (id, display_name, created_at, "
                                   "updated_at) VALUES (?, ?, ?, ?)", "ssii", "org_1",
                         "Robert'); DROP TABLE organizations;--", (int64_t) 1, (int64_t) 1)
              == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO organizations (id, display_name, created_at, "
                                   "updated_at) VALUES (?, ?, ?, ?)", "ssii", "org_1", "dup",
                         (int64_t) 1, (int64_t) 1) == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO domains (id, organization_id, domain, "
                                   "created_at) VALUES ('dom_1', 'org_1', 'a.com', 1)", NULL)
              == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO domains (id, organization_id, domain, "
                                   "created_at) VALUES ('dom_2', 'org_nope', 'b.com', 1)", NULL)
              == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(dir_db_run(db, NULL, "DELETE FROM organizations", NULL) == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM domains", NULL) == 1);
    int changes = 0;
    SSO_CHECK(dir_db_run(db, &changes, "DELETE FROM organizations WHERE id = ?", "s", "org_1")
              == DIR_DB_OK && changes == 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM domains", NULL) == 0);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO meta (name, value) VALUES ('x', ?)", "b",
                         "\x00\x01", (size_t) 2) == DIR_DB_OK);
    dir_db_destroy(&db);
    SSO_CHECK(db == NULL);

    /* Reopening keeps the data and does not migrate again. */
    db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db && dir_db_int(db, "SELECT length(value) FROM meta WHERE name = 'x'", NULL) == 2);
    /* A database from the future is refused. */
    SSO_CHECK(db && dir_db_run(db, NULL, "PRAGMA user_version = 999", NULL) == DIR_DB_OK);
    dir_db_destroy(&db);
    db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db == NULL && strstr(why, "newer"));

    char file[300];
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
}
