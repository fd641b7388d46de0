/* dir_db: SQLite open, pragmas, migrations, the statement cache and statement helpers. */
#include "store/dir_db.h"
#include "store/dir_checkpoint.h"
#include "store/dir_migrations.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_DB_BUSY_MS 5000
/* Distinct SQL texts kept prepared per database (least recently used goes first); the
   directory has fewer hot statements than this. */
#define DIR_DB_CACHE_SIZE 128
/* Cached statements out with callers at once, over every database of the process; more than
   this (never seen: callers nest two or three) get fresh statements. */
#define DIR_DB_LENT_MAX 32

/* One cached statement: its SQL (the key, our own copy), and whether a caller has it. */
typedef struct {
    char *sql;
    size_t len;
    uint32_t hash;
    sqlite3_stmt *stmt;
    uint64_t used; /* self->tick at its last hand-out */
    bool lent;
} s_entry_t;

struct dir_db_t {
    sqlite3 *handle;
    dir_checkpoint_t *checkpoint; /* the log copied back off the request thread */
    bool caching; /* on once the schema is migrated */
    bool batch;   /* between dir_db_batch_begin and dir_db_batch_end */
    int depth;    /* savepoints open inside the batch (dir_db_begin without its commit yet) */
    /* Write transactions (dir_db_writes_take): rows changed on the connection when the
       outermost transaction began, commits since the last take, and the last commit's. */
    sqlite3_int64 changes_at_begin;
    uint64_t writes;
    bool last_commit_wrote;
    s_entry_t cache[DIR_DB_CACHE_SIZE];
    size_t count; /* cache[0 .. count - 1] are in use */
    uint64_t tick;
    /* For the self-test. */
    uint64_t hits, misses, fresh, evictions;
};

/* The cached statements out with callers. dir_db_release gets a bare statement, so this
   process-wide table (small: callers nest a few at most) says which statements go back to a
   cache and which are finalized. */
static struct {
    sqlite3_stmt *stmt;
    s_entry_t *entry;
    const dir_db_t *owner;
} s_lent[DIR_DB_LENT_MAX];
static size_t s_lent_count;
static pthread_mutex_t s_lent_lock = PTHREAD_MUTEX_INITIALIZER;

/* The migrations, compiled in from the files under store/migrations (store/dir_migrations.h).
   Append only: never edit a shipped one. */
#define DIR_DB_VERSION ((int) dir_migrations_count)

int dir_db_schema_version(void)
{
    return DIR_DB_VERSION;
}

sqlite3 *dir_db_handle(dir_db_t *self)
{
    return self->handle;
}

static int s_bind(sqlite3 *db, sqlite3_stmt *stmt, const char *types, va_list args,
                  sqlite3_destructor_type lifetime)
{
    int index = 1;
    for (const char *t = types ? types : ""; *t; t++, index++) {
        int rc;
        if (*t == 's') {
            const char *text = va_arg(args, const char *);
            rc = text ? sqlite3_bind_text(stmt, index, text, -1, lifetime)
                      : sqlite3_bind_null(stmt, index);
        }
        else if (*t == 'i')
            rc = sqlite3_bind_int64(stmt, index, va_arg(args, int64_t));
        else if (*t == 'b') {
            const void *data = va_arg(args, const void *);
            size_t len = va_arg(args, size_t);
            rc = data ? sqlite3_bind_blob64(stmt, index, data, len, lifetime)
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

/* FNV-1a over sql; *len_out is its length. */
static uint32_t s_hash(const char *sql, size_t *len_out)
{
    uint32_t hash = 2166136261u;
    const unsigned char *p = (const unsigned char *) sql;
    for (; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    *len_out = (size_t) (p - (const unsigned char *) sql);
    return hash;
}

/* Records entry as out with a caller; false when the table is full. */
static bool s_lend(const dir_db_t *self, s_entry_t *entry)
{
    bool ok = false;
    pthread_mutex_lock(&s_lent_lock);
    if (s_lent_count < DIR_DB_LENT_MAX) {
        s_lent[s_lent_count].stmt = entry->stmt;
        s_lent[s_lent_count].entry = entry;
        s_lent[s_lent_count].owner = self;
        s_lent_count++;
        entry->lent = true;
        ok = true;
    }
    pthread_mutex_unlock(&s_lent_lock);
    return ok;
}

/* A slot for a new entry: an unused one, else the least recently used statement not out with a
   caller, finalized. NULL when every one is out. */
static s_entry_t *s_free_slot(dir_db_t *self)
{
    if (self->count < DIR_DB_CACHE_SIZE)
        return &self->cache[self->count++];
    s_entry_t *oldest = NULL;
    for (size_t i = 0; i < self->count; i++) {
        s_entry_t *entry = &self->cache[i];
        if (!entry->lent && (!oldest || entry->used < oldest->used))
            oldest = entry;
    }
    if (oldest) {
        sqlite3_finalize(oldest->stmt);
        free(oldest->sql);
        memset(oldest, 0, sizeof *oldest);
        self->evictions++;
    }
    return oldest;
}

static sqlite3_stmt *s_prepare(dir_db_t *self, const char *sql, int len, unsigned flags)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(self->handle, sql, len, flags, &stmt, NULL) != SQLITE_OK) {
        sso_error("db: prepare failed: %s", sqlite3_errmsg(self->handle));
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* A statement for sql with no bindings: the cached one when it is not out with a caller, else
   a fresh one that dir_db_release finalizes. NULL on failure (logged). */
static sqlite3_stmt *s_acquire(dir_db_t *self, const char *sql)
{
    if (!self->caching)
        return s_prepare(self, sql, -1, 0);
    size_t len;
    uint32_t hash = s_hash(sql, &len);
    if (len >= INT_MAX)
        return s_prepare(self, sql, -1, 0); /* SQLite would refuse it anyway */
    for (size_t i = 0; i < self->count; i++) {
        s_entry_t *entry = &self->cache[i];
        if (entry->hash == hash && entry->len == len && memcmp(entry->sql, sql, len) == 0) {
            if (!entry->lent && s_lend(self, entry)) {
                entry->used = ++self->tick;
                self->hits++;
                return entry->stmt;
            }
            self->fresh++; /* out with another caller: this one gets its own */
            return s_prepare(self, sql, (int) len + 1, 0);
        }
    }
    /* Passing the length with its NUL spares SQLite a copy of the text. */
    sqlite3_stmt *stmt = s_prepare(self, sql, (int) len + 1, SQLITE_PREPARE_PERSISTENT);
    if (!stmt)
        return NULL;
    char *copy = malloc(len + 1);
    s_entry_t *entry = copy ? s_free_slot(self) : NULL;
    if (!entry) {
        free(copy);
        self->fresh++;
        return stmt; /* not cached: finalized on release */
    }
    memcpy(copy, sql, len + 1);
    *entry = (s_entry_t) {.sql = copy, .len = len, .hash = hash, .stmt = stmt};
    self->misses++;
    if (s_lend(self, entry)) {
        entry->used = ++self->tick;
        return stmt;
    }
    /* Too many statements out at once: it stays cached for later; this caller gets its own. */
    self->fresh++;
    return s_prepare(self, sql, (int) len + 1, 0);
}

int dir_db_release(sqlite3_stmt *stmt)
{
    if (!stmt)
        return SQLITE_OK;
    s_entry_t *entry = NULL;
    pthread_mutex_lock(&s_lent_lock);
    for (size_t i = 0; i < s_lent_count; i++)
        if (s_lent[i].stmt == stmt) {
            entry = s_lent[i].entry;
            s_lent[i] = s_lent[--s_lent_count];
            break;
        }
    pthread_mutex_unlock(&s_lent_lock);
    if (!entry)
        return sqlite3_finalize(stmt);
    int rc = sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    entry->lent = false;
    return rc;
}

/* In a batch whose transaction SQLite has rolled back (an I/O error, a full disk), a statement
   or a savepoint would run on its own and commit at once: outside the batch that every caller
   will be told was lost. So nothing runs until the batch ends. */
static bool s_batch_lost(dir_db_t *self)
{
    if (!self->batch || !sqlite3_get_autocommit(self->handle))
        return false;
    sso_error("db: the batch's transaction was rolled back; nothing more runs in it");
    return true;
}

static sqlite3_stmt *s_query(dir_db_t *self, const char *sql, const char *types, va_list args,
                             sqlite3_destructor_type lifetime)
{
    if (s_batch_lost(self))
        return NULL;
    sqlite3_stmt *stmt = s_acquire(self, sql);
    if (stmt && s_bind(self->handle, stmt, types, args, lifetime) != 0) {
        dir_db_release(stmt);
        return NULL;
    }
    return stmt;
}

sqlite3_stmt *dir_db_vquery(dir_db_t *self, const char *sql, const char *types, va_list args)
{
    return s_query(self, sql, types, args, SQLITE_TRANSIENT);
}

sqlite3_stmt *dir_db_query(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = dir_db_vquery(self, sql, types, args);
    va_end(args);
    return stmt;
}

/* dir_db_run and dir_db_int are done with their arguments before they return, so SQLite need
   not copy them (SQLITE_STATIC); dir_db_release clears the bindings. */
int dir_db_run(dir_db_t *self, int *changes, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = s_query(self, sql, types, args, SQLITE_STATIC);
    va_end(args);
    if (changes)
        *changes = 0;
    if (!stmt)
        return DIR_DB_ERROR;
    sqlite3_int64 before = sqlite3_total_changes64(self->handle);
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    /* Outside any transaction the statement was one of its own, committed now. */
    if (sqlite3_get_autocommit(self->handle) && sqlite3_total_changes64(self->handle) != before)
        self->writes++;
    int result = DIR_DB_OK;
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        result = DIR_DB_CONFLICT;
    else if (rc != SQLITE_DONE) {
        sso_error("db: step failed: %s", sqlite3_errmsg(self->handle));
        result = DIR_DB_ERROR;
    }
    else if (changes)
        *changes = sqlite3_changes(self->handle);
    dir_db_release(stmt);
    return result;
}

int64_t dir_db_int(dir_db_t *self, const char *sql, const char *types, ...)
{
    va_list args;
    va_start(args, types);
    sqlite3_stmt *stmt = s_query(self, sql, types, args, SQLITE_STATIC);
    va_end(args);
    int64_t value = -1;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    dir_db_release(stmt);
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

/* One statement without parameters, run through the cache (BEGIN, COMMIT and ROLLBACK come
   with every write); failures are logged when log. 0 or -1. */
static int s_step(dir_db_t *self, const char *sql, bool log)
{
    sqlite3_stmt *stmt = s_acquire(self, sql);
    if (!stmt)
        return -1;
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && log)
        sso_error("db: %s", sqlite3_errmsg(self->handle));
    dir_db_release(stmt);
    return rc == SQLITE_DONE ? 0 : -1;
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
    self->changes_at_begin = sqlite3_total_changes64(self->handle);
    return s_step(self, "BEGIN IMMEDIATE", true);
}

int dir_db_begin_read(dir_db_t *self)
{
    if (self->batch)
        return s_savepoint(self);
    self->changes_at_begin = sqlite3_total_changes64(self->handle);
    return s_step(self, "BEGIN", true);
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
    self->last_commit_wrote = sqlite3_total_changes64(self->handle) != self->changes_at_begin;
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
    if (!sqlite3_get_autocommit(self->handle))
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
    if (!sqlite3_get_autocommit(self->handle)) {
        sso_error("db: a transaction was still open before a batch; rolled back");
        s_step(self, "ROLLBACK", false);
        if (!sqlite3_get_autocommit(self->handle))
            return -1;
    }
    /* Only when the write lock is free now: held by another instance, waiting for it (up to
       the busy timeout) would hold up reads that need no lock, and the heartbeats. The loop
       then serves the request on its own, as before batches. */
    sqlite3_busy_timeout(self->handle, 0);
    self->changes_at_begin = sqlite3_total_changes64(self->handle);
    int rc = s_step(self, "BEGIN IMMEDIATE", false);
    sqlite3_busy_timeout(self->handle, DIR_DB_BUSY_MS);
    if (rc != 0)
        return -1;
    self->batch = true;
    self->depth = 0;
    return 0;
}

bool dir_db_batch_intact(dir_db_t *self)
{
    return self->batch && self->depth == 0 && !sqlite3_get_autocommit(self->handle);
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
    if (sqlite3_get_autocommit(self->handle)) {
        sso_error("db: the batch's transaction was rolled back before its commit");
        return -1;
    }
    /* Outside the batch now: the real COMMIT, rolled back when it fails. */
    return dir_db_commit(self);
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
        if (s_exec(self, dir_migrations[version]) != 0 || s_exec(self, pragma) != 0
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
    dir_db_release(stmt);
    /* Temporary b-trees (sorts, DISTINCT) in memory rather than in temporary files: it
       changes nothing stored nor when it is synced. cache_size and mmap_size keep their
       defaults: a login reads one or two pages from the file (the rest is cached), and a
       larger cache changed neither that nor the CPU per login, only the memory held. */
    if (!wal
        || s_exec(self, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
                        "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864;")
               != 0) {
        snprintf(why, why_size, "cannot set up %s (WAL mode, foreign keys)", path);
        dir_db_destroy(&self);
        return NULL;
    }
    if (s_migrate(self, why, why_size) != 0) {
        dir_db_destroy(&self);
        return NULL;
    }
    /* Statements are cached from here on, so none was prepared against an older schema (and
       SQLite re-prepares a cached one by itself if another instance changes the schema). */
    self->caching = true;
    self->checkpoint = dir_checkpoint_new(self->handle, path, DIR_CHECKPOINT_PAGES,
                                           DIR_CHECKPOINT_BACKSTOP, DIR_CHECKPOINT_LOOK_MS);
    return self;
}

void dir_db_destroy(dir_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_db_t *self = *self_p;
    dir_checkpoint_destroy(&self->checkpoint);
    /* Statements still out with callers are theirs now: sqlite3_close_v2 keeps the connection
       until they are finalized, which their release does once they are off the table. */
    pthread_mutex_lock(&s_lent_lock);
    for (size_t i = 0; i < s_lent_count;)
        if (s_lent[i].owner == self)
            s_lent[i] = s_lent[--s_lent_count];
        else
            i++;
    pthread_mutex_unlock(&s_lent_lock);
    for (size_t i = 0; i < self->count; i++) {
        if (!self->cache[i].lent)
            sqlite3_finalize(self->cache[i].stmt);
        free(self->cache[i].sql);
    }
    sqlite3_close_v2(self->handle);
    free(self);
    *self_p = NULL;
}

static size_t s_lent_now(void)
{
    pthread_mutex_lock(&s_lent_lock);
    size_t count = s_lent_count;
    pthread_mutex_unlock(&s_lent_lock);
    return count;
}

/* The statement cache: reuse, bindings cleared, nested use of one SQL text, eviction, a full
   lent table, schema changes, statements not from the cache, and release after destroy. */
static void s_test_cache(const char *path)
{
    char why[256] = "";
    dir_db_t *db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db != NULL);
    if (!db)
        return;
    SSO_CHECK(db->caching && s_lent_now() == 0);
    SSO_CHECK(dir_db_int(db, "PRAGMA temp_store", NULL) == 2);
    SSO_CHECK(dir_db_int(db, "PRAGMA synchronous", NULL) == 1); /* NORMAL */
    SSO_CHECK(dir_db_run(db, NULL, "CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT)", NULL)
              == DIR_DB_OK);
    for (int64_t n = 1; n <= 3; n++)
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO t (n, s) VALUES (?, ?)", "is", n, "x")
                  == DIR_DB_OK);

    /* The same SQL gets the same statement back, newly bound; a parameter that types does not
       bind is NULL, not what the previous caller bound. */
    const char *pair = "SELECT ?, ?";
    uint64_t hits = db->hits, misses = db->misses;
    sqlite3_stmt *a = dir_db_query(db, pair, "ss", "one", "two");
    SSO_CHECK(a && s_lent_now() == 1 && db->misses == misses + 1);
    SSO_CHECK(a && sqlite3_step(a) == SQLITE_ROW && !strcmp(dir_db_text(a, 1), "two"));
    SSO_CHECK(dir_db_release(a) == SQLITE_OK && s_lent_now() == 0);
    sqlite3_stmt *b = dir_db_query(db, pair, "s", "three");
    SSO_CHECK(b == a && db->hits == hits + 1);
    SSO_CHECK(b && sqlite3_step(b) == SQLITE_ROW && !strcmp(dir_db_text(b, 0), "three")
              && sqlite3_column_type(b, 1) == SQLITE_NULL);
    dir_db_release(b);
    /* dir_db_run and dir_db_int bind without copying; release clears those bindings too. */
    char scratch[8] = "temp";
    SSO_CHECK(dir_db_int(db, "SELECT length(?)", "s", scratch) == 4);
    sqlite3_stmt *c = dir_db_query(db, "SELECT length(?)", NULL);
    SSO_CHECK(c && sqlite3_step(c) == SQLITE_ROW && sqlite3_column_type(c, 0) == SQLITE_NULL);
    dir_db_release(c);

    /* A statement given back mid-iteration starts over for the next caller. */
    const char *rows = "SELECT n FROM t ORDER BY n";
    a = dir_db_query(db, rows, NULL);
    SSO_CHECK(a && sqlite3_step(a) == SQLITE_ROW && sqlite3_column_int64(a, 0) == 1);
    SSO_CHECK(a && sqlite3_step(a) == SQLITE_ROW && sqlite3_column_int64(a, 0) == 2);
    dir_db_release(a);
    b = dir_db_query(db, rows, NULL);
    SSO_CHECK(b == a && sqlite3_step(b) == SQLITE_ROW && sqlite3_column_int64(b, 0) == 1);

    /* Nested use of the same SQL: the inner query gets a fresh statement of its own, both
       iterate independently, and the fresh one is finalized on release. */
    uint64_t fresh = db->fresh;
    int64_t sum = 0;
    do {
        sqlite3_stmt *inner = dir_db_query(db, rows, NULL);
        SSO_CHECK(inner && inner != b);
        while (inner && sqlite3_step(inner) == SQLITE_ROW)
            sum += sqlite3_column_int64(inner, 0);
        SSO_CHECK(dir_db_release(inner) == SQLITE_OK);
        sum += 100 * sqlite3_column_int64(b, 0);
    } while (sqlite3_step(b) == SQLITE_ROW);
    SSO_CHECK(sum == 3 * 6 + 100 * 6 && db->fresh == fresh + 3 && s_lent_now() == 1);
    dir_db_release(b);
    SSO_CHECK(s_lent_now() == 0 && dir_db_query(db, rows, NULL) == b);
    dir_db_release(b);

    /* A failed step: release reports it as sqlite3_finalize would, and the statement works
       on the next use. Transactions run through the cache too. */
    const char *insert = "INSERT INTO t (n, s) VALUES (?, ?)";
    a = dir_db_query(db, insert, "is", (int64_t) 1, "dup");
    SSO_CHECK(a && sqlite3_step(a) == SQLITE_CONSTRAINT);
    SSO_CHECK((dir_db_release(a) & 0xff) == SQLITE_CONSTRAINT);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(dir_db_run(db, NULL, insert, "is", (int64_t) 4, "y") == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(dir_db_run(db, NULL, insert, "is", (int64_t) 5, "z") == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM t", NULL) == 4);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM t WHERE n = 4", NULL) == 0);

    /* A schema change under a cached statement: SQLite prepares it again by itself. */
    const char *star = "SELECT * FROM t";
    a = dir_db_query(db, star, NULL);
    SSO_CHECK(a && sqlite3_column_count(a) == 2);
    dir_db_release(a);
    SSO_CHECK(dir_db_run(db, NULL, "ALTER TABLE t ADD COLUMN extra INTEGER", NULL) == DIR_DB_OK);
    b = dir_db_query(db, star, NULL);
    SSO_CHECK(b == a && sqlite3_step(b) == SQLITE_ROW && sqlite3_column_count(b) == 3);
    dir_db_release(b);

    /* Statements not from the cache are finalized (ASan would see a leak otherwise). */
    sqlite3_stmt *own = NULL;
    SSO_CHECK(sqlite3_prepare_v2(dir_db_handle(db), "SELECT 1", -1, &own, NULL) == SQLITE_OK);
    SSO_CHECK(dir_db_release(own) == SQLITE_OK && dir_db_release(NULL) == SQLITE_OK);
    SSO_CHECK(dir_db_query(db, "SELECT nope FROM nowhere", NULL) == NULL);

    /* Bounded: past DIR_DB_CACHE_SIZE texts the least recently used go; results stay right. */
    uint64_t evictions = db->evictions;
    char sql[64];
    for (int i = 0; i < DIR_DB_CACHE_SIZE + 10; i++) {
        snprintf(sql, sizeof sql, "SELECT %d + ?", i);
        SSO_CHECK(dir_db_int(db, sql, "i", (int64_t) 1) == i + 1);
    }
    SSO_CHECK(db->count == DIR_DB_CACHE_SIZE && db->evictions > evictions);
    SSO_CHECK(dir_db_int(db, "SELECT 0 + ?", "i", (int64_t) 7) == 7);

    /* More statements out at once than the lent table holds: the rest are fresh. */
    sqlite3_stmt *out[DIR_DB_LENT_MAX + 2];
    fresh = db->fresh;
    for (int i = 0; i < DIR_DB_LENT_MAX + 2; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        out[i] = dir_db_query(db, sql, NULL);
        SSO_CHECK(out[i] && sqlite3_step(out[i]) == SQLITE_ROW
                  && sqlite3_column_int(out[i], 0) == i);
    }
    SSO_CHECK(s_lent_now() == DIR_DB_LENT_MAX && db->fresh == fresh + 2);
    for (int i = 0; i < DIR_DB_LENT_MAX + 2; i++)
        dir_db_release(out[i]);
    SSO_CHECK(s_lent_now() == 0);

    /* Destroying the database with statements still out: they stay usable until released,
       and release finalizes them (the connection closes with the last one). */
    a = dir_db_query(db, rows, NULL);
    b = dir_db_query(db, rows, NULL);
    SSO_CHECK(a && b && a != b && s_lent_now() == 1);
    dir_db_destroy(&db);
    SSO_CHECK(db == NULL && s_lent_now() == 0);
    SSO_CHECK(a && sqlite3_step(a) == SQLITE_ROW && sqlite3_column_int64(a, 0) == 1);
    SSO_CHECK(dir_db_release(a) == SQLITE_OK && dir_db_release(b) == SQLITE_OK);
    /* Reopened: a new cache, empty. */
    db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db && db->count == 0 && dir_db_int(db, "SELECT count(*) FROM t", NULL) == 4);
    dir_db_destroy(&db);
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
    sqlite3 *other = NULL;
    SSO_CHECK(db && sqlite3_open(path, &other) == SQLITE_OK);
    sqlite3_busy_timeout(other, DIR_DB_BUSY_MS);
    if (!db || !other) {
        dir_db_destroy(&db);
        sqlite3_close(other);
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
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 0);
    SSO_CHECK(dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 2);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations WHERE id IN "
                             "('org_b1', 'org_b3')", NULL) == 2);
    /* Outside a batch, transactions are real ones again. */
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b4") == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 3);

    /* A request that leaves its transaction open: the batch takes no more, and since that
       request has answered as if done, the whole batch is rolled back and reported lost. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b5") == DIR_DB_OK);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b6") == DIR_DB_OK);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 3);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations WHERE id IN "
                             "('org_b5', 'org_b6')", NULL) == 0);
    SSO_CHECK(sqlite3_get_autocommit(dir_db_handle(db)));

    /* The write lock held elsewhere: no batch (the request is served alone), and reads go on. */
    SSO_CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    SSO_CHECK(dir_db_batch_begin(db) == -1);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin_read(db) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == 3);
    SSO_CHECK(dir_db_commit(db) == 0);
    SSO_CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);

    /* SQLite dropped the batch's transaction (as after an I/O error): no new transaction
       starts inside it, and the end reports the batch lost. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b7") == DIR_DB_OK);
    SSO_CHECK(sqlite3_exec(dir_db_handle(db), "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin(db) == -1);
    SSO_CHECK(s_add_org(db, "org_b10") == DIR_DB_ERROR); /* would commit on its own */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == -1);
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 3);
    /* The same with a request's savepoint open when it happens. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b9") == DIR_DB_OK);
    SSO_CHECK(sqlite3_exec(dir_db_handle(db), "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    dir_db_rollback(db);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 3);
    /* A transaction left open (as when COMMIT and ROLLBACK both failed) does not block the
       next batch forever. */
    SSO_CHECK(sqlite3_exec(dir_db_handle(db), "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    /* And the next batch works. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(s_add_org(db, "org_b8") == DIR_DB_OK);
    SSO_CHECK(dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_testkit_int(other, "SELECT count(*) FROM organizations") == 4);
    sqlite3_close(other);
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
    };
    size_t count = sizeof shipped / sizeof shipped[0];
    SSO_CHECK(dir_migrations_count >= count && DIR_DB_VERSION == (int) dir_migrations_count);
    for (size_t i = 0; i < dir_migrations_count; i++) {
        char number[32];
        snprintf(number, sizeof number, "%04zu_", i + 1);
        SSO_CHECK(strncmp(dir_migration_files[i], number, 5) == 0);
        char hex[65];
        sso_sha256_hex(dir_migrations[i], strlen(dir_migrations[i]), hex);
        SSO_CHECK(i >= count || strcmp(hex, shipped[i]) == 0);
    }
    SSO_CHECK(strcmp(dir_migration_files[0], "0001_tables.sql") == 0);
    SSO_CHECK(strncmp(dir_migrations[0], "CREATE TABLE meta (  name TEXT PRIMARY KEY,", 43) == 0);

    /* A database left at schema 1 by an older binary is brought up to date, and the tables
       the first migration made keep their text. */
    sqlite3 *old = NULL;
    SSO_CHECK(sqlite3_open(path, &old) == SQLITE_OK);
    SSO_CHECK(sqlite3_exec(old, dir_migrations[0], NULL, NULL, NULL) == SQLITE_OK);
    SSO_CHECK(sqlite3_exec(old, "PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(old);
    char why[256] = "";
    dir_db_t *db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db && dir_db_int(db, "PRAGMA user_version", NULL) == DIR_DB_VERSION);
    sqlite3_stmt *stmt = db ? dir_db_query(db, "SELECT sql FROM sqlite_master WHERE name = ?",
                                           "s", "meta")
                            : NULL;
    SSO_CHECK(stmt && sqlite3_step(stmt) == SQLITE_ROW
              && strcmp(dir_db_text(stmt, 0), "CREATE TABLE meta (  name TEXT PRIMARY KEY,  "
                                              "value BLOB NOT NULL)") == 0);
    dir_db_release(stmt);
    SSO_CHECK(db && dir_db_int(db, "SELECT count(*) FROM pragma_table_info('organizations') "
                                   "WHERE name = 'allow_any_domain'", NULL) == 1);
    dir_db_destroy(&db);
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
    snprintf(path, sizeof path, "%s/cache.db", dir);
    s_test_cache(path);
    snprintf(path, sizeof path, "%s/batch.db", dir);
    s_test_batch(path);
    snprintf(path, sizeof path, "%s/writes.db", dir);
    s_test_writes(path);
    dir_testkit_remove_dir(dir);
}
