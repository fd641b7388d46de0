/* dir_db: the engine-neutral front of the directory's database: migrations, transactions,
   group commit and the write count, over the functions of an engine (store/dir_db_engine.h). */
#include "store/dir_db.h"
#include "store/dir_db_engine.h"
#include "store/dir_db_pg.h"
#include "store/dir_db_sqlite.h"
#include "store/dir_migrations.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct dir_db_t {
    const dir_db_engine_t *engine;
    dir_db_conn_t *conn;
    bool batch; /* between dir_db_batch_begin and dir_db_batch_end */
    int depth;  /* savepoints open inside the batch (dir_db_begin without its commit yet) */
    /* Write transactions (dir_db_writes_take): rows changed on the connection when the
       outermost transaction began, commits since the last take, and the last commit's. */
    int64_t changes_at_begin;
    uint64_t writes;
    bool last_commit_wrote;
    int64_t reconnects; /* the engine's count when dir_db_reconnect last looked */
};

/* The migrations, compiled in from the files under store/migrations (store/dir_migrations.h).
   Append only: never edit a shipped one. */
#define DIR_DB_VERSION ((int) dir_migrations_count)

int dir_db_schema_version(void)
{
    return DIR_DB_VERSION;
}

uint32_t dir_db_sql_hash(const char *sql, size_t *len_out)
{
    uint32_t hash = 2166136261u;
    const unsigned char *p = (const unsigned char *) sql;
    for (; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    *len_out = (size_t) (p - (const unsigned char *) sql);
    return hash;
}

dir_db_conn_t *dir_db_conn(dir_db_t *self)
{
    return self->conn;
}

static int s_bind(const dir_db_engine_t *engine, dir_db_stmt_t *stmt, const char *types,
                  va_list args, bool copy)
{
    int index = 1;
    for (const char *t = types ? types : ""; *t; t++, index++) {
        int rc;
        if (*t == 's') {
            const char *text = va_arg(args, const char *);
            rc = text ? engine->bind_text(stmt, index, text, copy)
                      : engine->bind_null(stmt, index);
        }
        else if (*t == 'i')
            rc = engine->bind_int64(stmt, index, va_arg(args, int64_t));
        else if (*t == 'b') {
            const void *data = va_arg(args, const void *);
            size_t len = va_arg(args, size_t);
            rc = data ? engine->bind_blob(stmt, index, data, len, copy)
                      : engine->bind_null(stmt, index);
        }
        else {
            sso_error("db: unknown bind type '%c'", *t);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A statement of the engine's for sql, dispatching through self's table. */
static dir_db_stmt_t *s_prepare(dir_db_t *self, const char *sql)
{
    dir_db_stmt_t *stmt = self->engine->prepare(self->conn, sql);
    if (stmt)
        stmt->engine = self->engine;
    return stmt;
}

int dir_db_release(dir_db_stmt_t *stmt)
{
    return stmt ? stmt->engine->release(stmt) : DIR_DB_OK;
}

int dir_db_step(dir_db_stmt_t *stmt)
{
    return stmt->engine->step(stmt);
}

int dir_db_bind_int64(dir_db_stmt_t *stmt, int index, int64_t value)
{
    return stmt->engine->bind_int64(stmt, index, value);
}

int dir_db_param_count(dir_db_stmt_t *stmt)
{
    return stmt->engine->param_count(stmt);
}

int dir_db_column_count(dir_db_stmt_t *stmt)
{
    return stmt->engine->column_count(stmt);
}

const char *dir_db_text(dir_db_stmt_t *stmt, int column)
{
    const char *text = stmt->engine->text(stmt, column);
    return text ? text : "";
}

int64_t dir_db_int64(dir_db_stmt_t *stmt, int column)
{
    return stmt->engine->int64(stmt, column);
}

bool dir_db_is_null(dir_db_stmt_t *stmt, int column)
{
    return stmt->engine->is_null(stmt, column);
}

const void *dir_db_blob(dir_db_stmt_t *stmt, int column, size_t *len)
{
    return stmt->engine->blob(stmt, column, len);
}

/* In a batch whose transaction the engine has rolled back (an I/O error, a full disk), a
   statement or a savepoint would run on its own and commit at once: outside the batch that
   every caller will be told was lost. So nothing runs until the batch ends. */
static bool s_batch_lost(dir_db_t *self)
{
    if (!self->batch || self->engine->in_transaction(self->conn))
        return false;
    sso_error("db: the batch's transaction was rolled back; nothing more runs in it");
    return true;
}

static dir_db_stmt_t *s_query(dir_db_t *self, const char *sql, const char *types, va_list args,
                              bool copy)
{
    if (s_batch_lost(self))
        return NULL;
    dir_db_stmt_t *stmt = s_prepare(self, sql);
    if (stmt && s_bind(self->engine, stmt, types, args, copy) != 0) {
        dir_db_release(stmt);
        return NULL;
    }
    return stmt;
}

dir_db_stmt_t *dir_db_vquery(dir_db_t *self, const char *sql, const char *types, va_list args)
{
    return s_query(self, sql, types, args, true);
}

dir_db_stmt_t *dir_db_query(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = dir_db_vquery(self, sql, types, args);
    va_end(args);
    return stmt;
}

/* dir_db_run and dir_db_int are done with their arguments before they return, so the engine
   need not copy them; dir_db_release clears the bindings. */
int dir_db_run(dir_db_t *self, int *changes, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = s_query(self, sql, types, args, false);
    va_end(args);
    if (changes)
        *changes = 0;
    if (!stmt)
        return DIR_DB_ERROR;
    const dir_db_engine_t *engine = self->engine;
    int64_t before = engine->total_changes(self->conn);
    int rc = engine->step(stmt);
    while (rc == DIR_DB_ROW)
        rc = engine->step(stmt);
    /* Outside any transaction the statement was one of its own, committed now. */
    if (!engine->in_transaction(self->conn) && engine->total_changes(self->conn) != before)
        self->writes++;
    int result = DIR_DB_OK;
    if (rc == DIR_DB_CONFLICT)
        result = DIR_DB_CONFLICT;
    else if (rc != DIR_DB_DONE) {
        sso_error("db: step failed: %s", engine->errmsg(self->conn));
        result = DIR_DB_ERROR;
    }
    else if (changes)
        *changes = (int) engine->changes(self->conn);
    dir_db_release(stmt);
    return result;
}

int64_t dir_db_int(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    dir_db_stmt_t *stmt = s_query(self, sql, types, args, false);
    va_end(args);
    int64_t value = -1;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW)
        value = dir_db_int64(stmt, 0);
    dir_db_release(stmt);
    return value;
}

/* One statement without parameters, run through the engine's cache (BEGIN, COMMIT and
   ROLLBACK come with every write); failures are logged when log. 0 or -1. */
static int s_step(dir_db_t *self, const char *sql, bool log)
{
    dir_db_stmt_t *stmt = s_prepare(self, sql);
    if (!stmt)
        return -1;
    int rc = dir_db_step(stmt);
    while (rc == DIR_DB_ROW)
        rc = dir_db_step(stmt);
    if (rc != DIR_DB_DONE && log)
        sso_error("db: %s", self->engine->errmsg(self->conn));
    dir_db_release(stmt);
    return rc == DIR_DB_DONE ? 0 : -1;
}

/* Inside a batch a transaction is a savepoint of the batch's own. */
static int s_savepoint(dir_db_t *self)
{
    if (s_batch_lost(self) || s_step(self, "SAVEPOINT dir_txn", true) != 0)
        return -1;
    self->depth++;
    return 0;
}

int dir_db_begin(dir_db_t *self)
{
    if (self->batch)
        return s_savepoint(self);
    self->changes_at_begin = self->engine->total_changes(self->conn);
    return s_step(self, self->engine->begin_write_sql, true);
}

int dir_db_begin_read(dir_db_t *self)
{
    if (self->batch)
        return s_savepoint(self);
    self->changes_at_begin = self->engine->total_changes(self->conn);
    return s_step(self, self->engine->begin_read_sql, true);
}

int dir_db_lock(dir_db_t *self, const char *name)
{
    char key[96];
    if (snprintf(key, sizeof key, "lock:%s", name) >= (int) sizeof key)
        return -1;
    return dir_db_run(self, NULL, "INSERT INTO meta (name, value) VALUES (?, '') ON CONFLICT "
                                  "(name) DO UPDATE SET value = excluded.value",
                      "s", key) == DIR_DB_OK
               ? 0
               : -1;
}

int dir_db_commit(dir_db_t *self)
{
    if (self->batch) {
        if (self->depth == 0) {
            sso_error("db: commit without a transaction");
            return -1;
        }
        if (s_step(self, "RELEASE dir_txn", true) != 0) {
            dir_db_rollback(self);
            return -1;
        }
        self->depth--;
        return 0;
    }
    if (s_step(self, "COMMIT", true) != 0) {
        dir_db_rollback(self);
        return -1;
    }
    self->last_commit_wrote = self->engine->total_changes(self->conn) != self->changes_at_begin;
    if (self->last_commit_wrote)
        self->writes++;
    return 0;
}

uint64_t dir_db_writes_take(dir_db_t *self)
{
    uint64_t writes = self->writes;
    self->writes = 0;
    return writes;
}

bool dir_db_last_commit_wrote(const dir_db_t *self)
{
    return self->last_commit_wrote;
}

void dir_db_rollback(dir_db_t *self)
{
    if (self->batch) {
        /* Only the caller's savepoint: the other requests' work in the batch stays. Without
           one open (a failed dir_db_begin), there is nothing of the caller's to undo. */
        if (self->depth == 0)
            return;
        s_step(self, "ROLLBACK TO dir_txn", false);
        s_step(self, "RELEASE dir_txn", false);
        self->depth--;
        return;
    }
    if (self->engine->in_transaction(self->conn))
        s_step(self, "ROLLBACK", false);
}

int dir_db_batch_begin(dir_db_t *self)
{
    if (self->batch) {
        sso_error("db: a batch cannot start inside a batch");
        return -1;
    }
    /* A transaction left over from a batch whose COMMIT and ROLLBACK both failed: end it, or
       every later batch would be refused and requests would run inside it. */
    if (self->engine->in_transaction(self->conn)) {
        sso_error("db: a transaction was still open before a batch; rolled back");
        s_step(self, "ROLLBACK", false);
        if (self->engine->in_transaction(self->conn))
            return -1;
    }
    /* Only when the write lock is free now: held by another instance, waiting for it (up to
       the busy timeout) would hold up reads that need no lock, and the heartbeats. The loop
       then serves the request on its own, as before batches. */
    self->engine->wait_for_locks(self->conn, false);
    self->changes_at_begin = self->engine->total_changes(self->conn);
    int rc = s_step(self, self->engine->begin_write_sql, false);
    self->engine->wait_for_locks(self->conn, true);
    if (rc != 0)
        return -1;
    self->batch = true;
    self->depth = 0;
    return 0;
}

int dir_db_reconnect(dir_db_t *self)
{
    if (!self->engine->reconnect)
        return 0;
    int64_t count = self->engine->reconnect(self->conn);
    if (count < 0)
        return -1;
    bool again = count != self->reconnects;
    self->reconnects = count;
    return again ? 1 : 0;
}

bool dir_db_batch_intact(dir_db_t *self)
{
    return self->batch && self->depth == 0 && self->engine->in_transaction(self->conn);
}

int dir_db_batch_end(dir_db_t *self)
{
    if (!self->batch)
        return -1;
    self->batch = false;
    if (self->depth > 0) {
        /* A handler that returned with its transaction open has answered as if it were done;
           keeping the rest while dropping its work would make that answer a lie. */
        sso_error("db: a request left %d transaction(s) open; the batch is rolled back",
                  self->depth);
        self->depth = 0;
        dir_db_rollback(self);
        return -1;
    }
    if (!self->engine->in_transaction(self->conn)) {
        sso_error("db: the batch's transaction was rolled back before its commit");
        return -1;
    }
    /* Outside the batch now: the real COMMIT, rolled back when it fails. */
    return dir_db_commit(self);
}

static int s_migrate(dir_db_t *self, char *why, size_t why_size)
{
    const dir_db_engine_t *engine = self->engine;
    for (;;) {
        /* Re-read the version under the write lock: another instance may have migrated. */
        if (dir_db_begin(self) != 0) {
            snprintf(why, why_size, "cannot lock the database: %s", engine->errmsg(self->conn));
            return -1;
        }
        int version = engine->schema_version(self->conn);
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
        if (engine->exec(self->conn, dir_migrations[version]) != 0
            || engine->set_schema_version(self->conn, version + 1) != 0
            || dir_db_commit(self) != 0) {
            dir_db_rollback(self);
            snprintf(why, why_size, "migration %d failed", version + 1);
            return -1;
        }
        sso_info("database migrated to schema version %d", version + 1);
    }
}

dir_db_t *dir_db_open_with(const dir_db_engine_t *engine, const char *target, char *why,
                           size_t why_size)
{
    dir_db_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    self->engine = engine;
    self->conn = engine->open(target, why, why_size);
    if (!self->conn || s_migrate(self, why, why_size) != 0) {
        dir_db_destroy(&self);
        return NULL;
    }
    engine->ready(self->conn);
    return self;
}

dir_db_t *dir_db_open(const char *path, char *why, size_t why_size)
{
    return dir_db_open_with(&dir_db_sqlite_engine, path, why, why_size);
}

dir_db_t *dir_db_open_url(const char *url, char *why, size_t why_size)
{
    return dir_db_open_with(&dir_db_pg_engine, url, why, why_size);
}

void dir_db_destroy(dir_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_db_t *self = *self_p;
    if (self->conn)
        self->engine->close(&self->conn);
    free(self);
    *self_p = NULL;
}

/* Group commit: savepoints inside the batch, nothing visible to another connection before the
   batch's commit, and a batch whose transaction SQLite dropped reports the loss. */
static int s_add_org(dir_db_t *db, const char *id)
{
    return dir_db_run(db, NULL, "INSERT INTO organizations (id, display_name, created_at, "
                                "updated_at) VALUES (?, ?, 1, 1)", "ss", id, id);
}

/* Write transactions are counted once per commit that changed rows, a batch's included,
   whatever it served; reads and lost work are not. */
static void s_test_writes(const char *path)
{
    char why[256] = "";
    dir_db_t *db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db != NULL);
    if (!db)
        return;
    dir_db_writes_take(db); /* the migrations' */
    SSO_CHECK(dir_db_writes_take(db) == 0);
    /* A batch of two requests that each write: one. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_add_org(db, "w1") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_add_org(db, "w2") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_writes_take(db) == 0); /* not before its commit */
    SSO_CHECK(dir_db_batch_end(db) == 0 && dir_db_last_commit_wrote(db));
    SSO_CHECK(dir_db_writes_take(db) == 1 && dir_db_writes_take(db) == 0);
    /* A batch that only reads (it holds the write lock all the same): none. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin_read(db) == 0
              && dir_db_int(db, "SELECT count(*) FROM organizations WHERE id LIKE 'w%'", NULL) == 2
              && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_batch_end(db) == 0 && !dir_db_last_commit_wrote(db));
    SSO_CHECK(dir_db_writes_take(db) == 0);
    /* Outside a batch: a write transaction, a read one, a statement on its own that writes,
       one that reads after it, one that is refused. */
    SSO_CHECK(dir_db_begin(db) == 0 && s_add_org(db, "w3") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_last_commit_wrote(db));
    SSO_CHECK(dir_db_begin_read(db) == 0 && dir_db_commit(db) == 0 && !dir_db_last_commit_wrote(db));
    SSO_CHECK(s_add_org(db, "w4") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "SELECT count(*) FROM organizations", NULL) == DIR_DB_OK);
    SSO_CHECK(s_add_org(db, "w4") == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_writes_take(db) == 2);
    /* Work rolled back, in a batch that is lost: none. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_add_org(db, "w5") == DIR_DB_OK); /* left open */
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_begin(db) == 0 && s_add_org(db, "w6") == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_writes_take(db) == 0);
    dir_db_destroy(&db);
}

static void s_test_batch(const char *path)
{
    char why[256] = "";
    dir_db_t *db = dir_db_open(path, why, sizeof why);
    /* Another instance on the same file. */
    dir_db_t *other = db ? dir_db_open(path, why, sizeof why) : NULL;
    SSO_CHECK(db && other);
    if (!db || !other) {
        dir_db_destroy(&db);
        dir_db_destroy(&other);
        return;
    }
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1); /* no batch */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_batch_begin(db) == -1); /* not twice */
    SSO_CHECK(dir_db_batch_intact(db));
    /* Request 1 commits its transaction, request 2 rolls its own back, request 3 writes
       without one (a failing statement undoes only itself) and then calls rollback and commit
       with no transaction of its own: none of that touches the others' work. */
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(!dir_db_batch_intact(db)); /* a transaction is open */
    SSO_CHECK(s_add_org(db, "org_b1") == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b2") == DIR_DB_OK);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == 2);
    dir_db_rollback(db);
    SSO_CHECK(s_add_org(db, "org_b3") == DIR_DB_OK);
    SSO_CHECK(s_add_org(db, "org_b3") == DIR_DB_CONFLICT); /* only the statement fails */
    dir_db_rollback(db);
    SSO_CHECK(dir_db_commit(db) == -1); /* commit without a transaction */
    SSO_CHECK(dir_db_begin_read(db) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == 2);
    SSO_CHECK(dir_db_commit(db) == 0);
    /* The batch sees its own work; another connection sees none of it before the commit. */
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 0);
    SSO_CHECK(dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 2);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations WHERE id IN "
                             "('org_b1', 'org_b3')", NULL) == 2);
    /* Outside a batch, transactions are real ones again. */
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b4") == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 3);

    /* A request that leaves its transaction open: the batch takes no more, and since that
       request has answered as if done, the whole batch is rolled back and reported lost. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b5") == DIR_DB_OK);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b6") == DIR_DB_OK);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 3);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations WHERE id IN "
                             "('org_b5', 'org_b6')", NULL) == 0);
    SSO_CHECK(!db->engine->in_transaction(db->conn));

    /* The write lock held elsewhere: no batch (the request is served alone), and reads go on. */
    SSO_CHECK(dir_db_begin(other) == 0);
    SSO_CHECK(dir_db_batch_begin(db) == -1);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin_read(db) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == 3);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_commit(other) == 0);

    /* SQLite dropped the batch's transaction (as after an I/O error): no new transaction
       starts inside it, and the end reports the batch lost. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b7") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "ROLLBACK", NULL) == DIR_DB_OK);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin(db) == -1);
    SSO_CHECK(s_add_org(db, "org_b10") == DIR_DB_ERROR); /* would commit on its own */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == -1);
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 3);
    /* The same with a request's savepoint open when it happens. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b9") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "ROLLBACK", NULL) == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 3);
    /* A transaction left open (as when COMMIT and ROLLBACK both failed) does not block the
       next batch forever. */
    SSO_CHECK(dir_db_run(db, NULL, "BEGIN", NULL) == DIR_DB_OK);
    /* And the next batch works. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b8") == DIR_DB_OK);
    SSO_CHECK(dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations", NULL) == 4);
    dir_db_destroy(&other);
    dir_db_destroy(&db);
}

/* The compiled-in migrations are the files, and the shipped ones are as they shipped: a
   database made by an older binary ran exactly these texts under these numbers. */
static void s_test_migrations(const char *path)
{
    /* sha256 of each shipped migration's SQL; a new file ships with its line added here. */
    static const char *shipped[] = {
        "f8b9460dae676740d8dce33eb391b307d4462d7063ecffd09024754b5453123d", /* 0001_tables */
        "e4c3c443fb76723114bbf795b4fe7f6a518222605335ffee00468c5604d816ca", /* 0002_login_flow */
        "f63ef793c4aa465949270087e28da62a722aa6a36fc9a4dd5dbe7afc1e7f90ee", /* 0003_browser_binding */
        "c13e305da690aa0109e67e5a1bd16fe8705f6815e9d157a450d113a00f04cd56", /* 0004_connection_options */
        "c11197b4a84257b19226046fb65c318d3a4f95f530a9910c4236686783073749", /* 0005_oidc_client_key */
        "2675f77a8f93951ecb2c85451561b640d162fd41e4ec495b6bcf4f8609c089ea", /* 0006_portal_sessions */
        "5c7c50ad95c5c15fee5fab031a97ce5857d2fa9ea9137a10e000843e8f584004", /* 0007_login_tests */
        "8af73e36224d9f66fea987a1c3729bc39a189719d4986819a3f5f3100dc600ed", /* 0008_client_secret_rotation */
        [8] = "6fc27ee0a535699a952ff4077618acb45c160914d6739d211abe71ce6fbbe572", /* 0009_dashboard */
        [9] = "44ac28456f910dae5a968515e0d98d047aa796acf1026c0e86e6543edca32021", /* 0010_dashboard_tries */
        [10] = "4faf8b2502b3cc95aabf72d66dfde1b26af281518620a0d41a37ffb74a75ffd1", /* 0011_signin_failures */
        [11] = "50d319c72a312f15709c73f836b14b036bd6b777009bf5212c33ed5d0dda25e2", /* 0012_saml_metadata_refresh */
        [12] = "c8c6814e645cedfaa33f2f56df2ae1273e99ede8f2a9a8178105dcfa27666494", /* 0013_client_initiate_login_uri */
        [13] = "3547cd98b12a577409cee2bb9a0307a671d787ef5831647e7009bffa9ad20370", /* 0014_saml_sp_key_rollover */
        [14] = "a1508e91933423e11ec335f95348f65019f22dbedd1866bfc51c83428beb1fb1", /* 0015_connection_last_login */
        [15] = "2e106ff258ba62a3dd6d5dc9a1de283bf10fcb519f99f87ac7136faf0ec5bc60", /* 0016_saml_metadata_signing_certificate */
        [16] = "d4105bbeb13a6b9e086c5975b40f5941f16021c55b5f61fa50f1fe4c93ec1362", /* 0017_scim_directories */
        [17] = "3bc63012162b923ffee97c38b063c2d701edc52efbb2487f68c0f9fd50083d8a", /* 0018_webhooks */
        [18] = "e3e8ed13841e41b17d6a52ff31f5623ff7499887bf4dc7295b6c9715843caab5", /* 0019_scim_groups_retention */
        [19] = "439ffd45e903169bd692319e66f8e5baf2cf6bf3925f1559b7fabddba214afcd", /* 0020_webhook_secret_overlap */
    };
    size_t count = sizeof shipped / sizeof shipped[0];
    SSO_CHECK(dir_migrations_count >= count && DIR_DB_VERSION == (int) dir_migrations_count);
    for (size_t i = 0; i < dir_migrations_count; i++) {
        char number[32];
        snprintf(number, sizeof number, "%04zu_", i + 1);
        SSO_CHECK(strncmp(dir_migration_files[i], number, 5) == 0);
        char hex[65];
        sso_sha256_hex(dir_migrations[i], strlen(dir_migrations[i]), hex);
        /* An entry left NULL is a migration another branch ships (pinned there). */
        SSO_CHECK(i >= count || !shipped[i] || strcmp(hex, shipped[i]) == 0);
    }
    SSO_CHECK(strcmp(dir_migration_files[0], "0001_tables.sql") == 0);
    SSO_CHECK(strncmp(dir_migrations[0], "CREATE TABLE meta (  name TEXT PRIMARY KEY,", 43) == 0);

    /* A database left at schema 1 by an older binary is brought up to date, and the tables
       the first migration made keep their text. */
    char why[256] = "";
    dir_db_conn_t *old = dir_db_sqlite_engine.open(path, why, sizeof why);
    SSO_CHECK(old && dir_db_sqlite_engine.schema_version(old) == 0);
    SSO_CHECK(old && dir_db_sqlite_engine.exec(old, dir_migrations[0]) == 0);
    SSO_CHECK(old && dir_db_sqlite_engine.set_schema_version(old, 1) == 0);
    SSO_CHECK(old && dir_db_sqlite_engine.schema_version(old) == 1);
    if (old)
        dir_db_sqlite_engine.close(&old);
    dir_db_t *db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db && dir_db_int(db, "PRAGMA user_version", NULL) == DIR_DB_VERSION);
    dir_db_stmt_t *stmt = db ? dir_db_query(db, "SELECT sql FROM sqlite_master WHERE name = ?",
                                            "s", "meta")
                             : NULL;
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW
              && strcmp(dir_db_text(stmt, 0), "CREATE TABLE meta (  name TEXT PRIMARY KEY,  "
                                              "value BLOB NOT NULL)") == 0);
    dir_db_release(stmt);
    SSO_CHECK(db && dir_db_int(db, "SELECT count(*) FROM pragma_table_info('organizations') "
                                   "WHERE name = 'allow_any_domain'", NULL) == 1);
    dir_db_destroy(&db);
}

/* The engine-neutral API goes through the engine's table, whatever the table: a table that
   counts its calls before handing them to SQLite's sees every one of them. */
enum { C_OPEN, C_READY, C_CLOSE, C_PREPARE, C_RELEASE, C_STEP, C_BIND, C_COLUMN, C_TXN, C_COUNT };
static unsigned s_calls[C_COUNT];

static dir_db_conn_t *s_count_open(const char *target, char *why, size_t why_size)
{
    s_calls[C_OPEN]++;
    return dir_db_sqlite_engine.open(target, why, why_size);
}
static void s_count_ready(dir_db_conn_t *conn)
{
    s_calls[C_READY]++;
    dir_db_sqlite_engine.ready(conn);
}
static void s_count_close(dir_db_conn_t **conn_p)
{
    s_calls[C_CLOSE]++;
    dir_db_sqlite_engine.close(conn_p);
}
static dir_db_stmt_t *s_count_prepare(dir_db_conn_t *conn, const char *sql)
{
    s_calls[C_PREPARE]++;
    return dir_db_sqlite_engine.prepare(conn, sql);
}
static int s_count_release(dir_db_stmt_t *stmt)
{
    s_calls[C_RELEASE]++;
    return dir_db_sqlite_engine.release(stmt);
}
static int s_count_step(dir_db_stmt_t *stmt)
{
    s_calls[C_STEP]++;
    return dir_db_sqlite_engine.step(stmt);
}
static int s_count_bind_text(dir_db_stmt_t *stmt, int index, const char *text, bool copy)
{
    s_calls[C_BIND]++;
    return dir_db_sqlite_engine.bind_text(stmt, index, text, copy);
}
static int s_count_bind_int64(dir_db_stmt_t *stmt, int index, int64_t value)
{
    s_calls[C_BIND]++;
    return dir_db_sqlite_engine.bind_int64(stmt, index, value);
}
static int s_count_bind_blob(dir_db_stmt_t *stmt, int index, const void *data, size_t len,
                             bool copy)
{
    s_calls[C_BIND]++;
    return dir_db_sqlite_engine.bind_blob(stmt, index, data, len, copy);
}
static int s_count_bind_null(dir_db_stmt_t *stmt, int index)
{
    s_calls[C_BIND]++;
    return dir_db_sqlite_engine.bind_null(stmt, index);
}
static const char *s_count_text(dir_db_stmt_t *stmt, int column)
{
    s_calls[C_COLUMN]++;
    return dir_db_sqlite_engine.text(stmt, column);
}
static int64_t s_count_int64(dir_db_stmt_t *stmt, int column)
{
    s_calls[C_COLUMN]++;
    return dir_db_sqlite_engine.int64(stmt, column);
}
static bool s_count_is_null(dir_db_stmt_t *stmt, int column)
{
    s_calls[C_COLUMN]++;
    return dir_db_sqlite_engine.is_null(stmt, column);
}
static const void *s_count_blob(dir_db_stmt_t *stmt, int column, size_t *len)
{
    s_calls[C_COLUMN]++;
    return dir_db_sqlite_engine.blob(stmt, column, len);
}
static bool s_count_in_transaction(dir_db_conn_t *conn)
{
    s_calls[C_TXN]++;
    return dir_db_sqlite_engine.in_transaction(conn);
}

static void s_test_engine_table(const char *path)
{
    dir_db_engine_t counting = dir_db_sqlite_engine;
    counting.name = "counting";
    counting.open = s_count_open;
    counting.ready = s_count_ready;
    counting.close = s_count_close;
    counting.prepare = s_count_prepare;
    counting.release = s_count_release;
    counting.step = s_count_step;
    counting.bind_text = s_count_bind_text;
    counting.bind_int64 = s_count_bind_int64;
    counting.bind_blob = s_count_bind_blob;
    counting.bind_null = s_count_bind_null;
    counting.text = s_count_text;
    counting.int64 = s_count_int64;
    counting.is_null = s_count_is_null;
    counting.blob = s_count_blob;
    counting.in_transaction = s_count_in_transaction;
    /* The front opens a read transaction with the table's statement: this one takes the write
       lock, which another instance sees. */
    counting.begin_read_sql = "BEGIN IMMEDIATE";
    memset(s_calls, 0, sizeof s_calls);

    char why[256] = "";
    dir_db_t *db = dir_db_open_with(&counting, path, why, sizeof why);
    SSO_CHECK(db && s_calls[C_OPEN] == 1 && s_calls[C_READY] == 1);
    dir_db_t *other = db ? dir_db_open(path, why, sizeof why) : NULL;
    SSO_CHECK(other != NULL);
    if (!db || !other) {
        dir_db_destroy(&db);
        dir_db_destroy(&other);
        return;
    }
    SSO_CHECK(s_calls[C_OPEN] == 1 && s_calls[C_READY] == 1); /* the other one is SQLite's */
    SSO_CHECK(dir_db_run(db, NULL, "CREATE TABLE e (n INTEGER, s TEXT, b BLOB)", NULL)
              == DIR_DB_OK);
    unsigned prepared = s_calls[C_PREPARE], released = s_calls[C_RELEASE];
    unsigned bound = s_calls[C_BIND], stepped = s_calls[C_STEP];
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO e (n, s, b) VALUES (?, ?, ?), (?, ?, ?)",
                         "isbisb", (int64_t) 7, "seven", "\x07\x00", (size_t) 2, (int64_t) 8,
                         NULL, NULL, (size_t) 0) == DIR_DB_OK);
    SSO_CHECK(s_calls[C_PREPARE] == prepared + 1 && s_calls[C_RELEASE] == released + 1
              && s_calls[C_BIND] == bound + 6 && s_calls[C_STEP] == stepped + 1);

    /* Every accessor of a row is the table's. */
    dir_db_stmt_t *stmt = dir_db_query(db, "SELECT n, s, b FROM e ORDER BY n", NULL);
    unsigned columns = s_calls[C_COLUMN];
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW);
    size_t len = 0;
    const unsigned char *blob = stmt ? dir_db_blob(stmt, 2, &len) : NULL;
    SSO_CHECK(stmt && dir_db_int64(stmt, 0) == 7 && !strcmp(dir_db_text(stmt, 1), "seven")
              && !dir_db_is_null(stmt, 1) && blob && len == 2 && blob[0] == 7 && blob[1] == 0);
    SSO_CHECK(stmt && dir_db_column_count(stmt) == 3 && dir_db_param_count(stmt) == 0);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_is_null(stmt, 1)
              && !strcmp(dir_db_text(stmt, 1), "") && dir_db_blob(stmt, 2, &len) == NULL
              && len == 0);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_DONE);
    SSO_CHECK(s_calls[C_COLUMN] == columns + 7);
    released = s_calls[C_RELEASE];
    SSO_CHECK(dir_db_release(stmt) == DIR_DB_OK && s_calls[C_RELEASE] == released + 1);
    /* A page's bounds bound after the query's own parameters. */
    stmt = dir_db_query(db, "SELECT count(*) FROM e WHERE s = ? OR n BETWEEN ? AND ?", "s",
                        "none");
    SSO_CHECK(stmt && dir_db_param_count(stmt) == 3 && dir_db_bind_int64(stmt, 2, 8) == 0
              && dir_db_bind_int64(stmt, 3, 9) == 0 && dir_db_step(stmt) == DIR_DB_ROW
              && dir_db_int64(stmt, 0) == 1);
    dir_db_release(stmt);
    /* The absent and the hostile: an unknown bind type, a parameter out of range, SQL that
       does not prepare; nothing is left out with a caller. */
    SSO_CHECK(dir_db_query(db, "SELECT ?", "x", "what") == NULL);
    SSO_CHECK(dir_db_query(db, "SELECT ?", "ss", "one", "two") == NULL);
    SSO_CHECK(dir_db_query(db, "SELECT FROM WHERE", NULL) == NULL);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO nowhere VALUES (1)", NULL) == DIR_DB_ERROR);
    SSO_CHECK(dir_db_release(NULL) == DIR_DB_OK);
    /* Only the two that did not prepare were not given back. */
    SSO_CHECK(s_calls[C_PREPARE] - s_calls[C_RELEASE] == 2);

    /* Transactions and batches ask the table whether one is open, and use its statements. */
    SSO_CHECK(dir_db_begin_read(db) == 0);
    SSO_CHECK(dir_db_batch_begin(other) == -1); /* the table's read took the write lock */
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_batch_begin(other) == 0 && dir_db_batch_end(other) == 0);
    unsigned asked = s_calls[C_TXN];
    SSO_CHECK(dir_db_batch_begin(db) == 0 && dir_db_batch_intact(db) && s_calls[C_TXN] > asked);
    SSO_CHECK(dir_db_begin(db) == 0 && dir_db_run(db, NULL, "DELETE FROM e", NULL) == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_begin(db) == 0
              && dir_db_run(db, NULL, "INSERT INTO e (n) VALUES (9)", NULL) == DIR_DB_OK
              && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM e", NULL) == 2); /* not yet */
    SSO_CHECK(dir_db_batch_end(db) == 0 && dir_db_last_commit_wrote(db));
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM e", NULL) == 3);
    dir_db_destroy(&other);
    dir_db_destroy(&db);
    SSO_CHECK(db == NULL && s_calls[C_CLOSE] == 1);
    /* Nothing to open: the table's open refuses, and the front gives its reason. */
    snprintf(why, sizeof why, "%s", "");
    SSO_CHECK(dir_db_open_with(&counting, "/nonexistent-dir/x.db", why, sizeof why) == NULL
              && s_calls[C_OPEN] == 2 && s_calls[C_CLOSE] == 1 && strstr(why, "cannot open"));
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
    dir_db_stmt_t *stmt = dir_db_query(db, "PRAGMA journal_mode", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && !strcmp(dir_db_text(stmt, 0), "wal"));
    dir_db_release(stmt);
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

    snprintf(path, sizeof path, "%s/old.db", dir);
    s_test_migrations(path);
    snprintf(path, sizeof path, "%s/engine.db", dir);
    s_test_engine_table(path);
    snprintf(path, sizeof path, "%s/batch.db", dir);
    s_test_batch(path);
    snprintf(path, sizeof path, "%s/writes.db", dir);
    s_test_writes(path);
    dir_testkit_remove_dir(dir);
}
