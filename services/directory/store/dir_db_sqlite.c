/* dir_db_sqlite: the SQLite engine of dir_db (store/dir_db_engine.h): the connection in WAL
   mode with its pragmas and busy timeout, the bounded statement cache, PRAGMA user_version as
   the schema version, and the checkpoint thread (store/dir_checkpoint.h). */
#include "store/dir_db_sqlite.h"
#include "store/dir_checkpoint.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_BUSY_MS 5000
/* Distinct SQL texts kept prepared per database (least recently used goes first); the
   directory has fewer hot statements than this. */
#define S_CACHE_SIZE 128
/* Cached statements out with callers at once, over every database of the process; more than
   this (never seen: callers nest two or three) get fresh statements. */
#define S_LENT_MAX 32

/* A statement as dir_db sees it: the engine's head, then SQLite's. */
typedef struct {
    dir_db_stmt_t head;
    sqlite3_stmt *stmt;
} s_stmt_t;

/* One cached statement: its SQL (the key, our own copy), and whether a caller has it. */
typedef struct {
    char *sql;
    size_t len;
    uint32_t hash;
    s_stmt_t *stmt;
    uint64_t used; /* conn->tick at its last hand-out */
    bool lent;
} s_entry_t;

struct dir_db_conn_t {
    sqlite3 *handle;
    char *path;
    dir_checkpoint_t *checkpoint; /* the log copied back off the request thread */
    bool caching;                 /* on once the schema is migrated (ready) */
    s_entry_t cache[S_CACHE_SIZE];
    size_t count; /* cache[0 .. count - 1] are in use */
    uint64_t tick;
    /* For the self-test. */
    uint64_t hits, misses, fresh, evictions;
};

/* The cached statements out with callers. A released statement does not say which connection
   it came from (that may be closed since), so this process-wide table (small: callers nest a
   few at most) says which statements go back to a cache and which are finalized. */
static struct {
    s_stmt_t *stmt;
    s_entry_t *entry;
    const dir_db_conn_t *owner;
} s_lent[S_LENT_MAX];
static size_t s_lent_count;
static pthread_mutex_t s_lent_lock = PTHREAD_MUTEX_INITIALIZER;

static sqlite3_stmt *s_raw(dir_db_stmt_t *stmt)
{
    return ((s_stmt_t *) stmt)->stmt;
}

/* SQLite's result of a step or a finalize as dir_db's. */
static int s_result(int rc)
{
    if (rc == SQLITE_ROW)
        return DIR_DB_ROW;
    if (rc == SQLITE_DONE)
        return DIR_DB_DONE;
    if (rc == SQLITE_OK)
        return DIR_DB_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return DIR_DB_CONFLICT;
    return DIR_DB_ERROR;
}

/* Records entry as out with a caller; false when the table is full. */
static bool s_lend(const dir_db_conn_t *conn, s_entry_t *entry)
{
    bool ok = false;
    pthread_mutex_lock(&s_lent_lock);
    if (s_lent_count < S_LENT_MAX) {
        s_lent[s_lent_count].stmt = entry->stmt;
        s_lent[s_lent_count].entry = entry;
        s_lent[s_lent_count].owner = conn;
        s_lent_count++;
        entry->lent = true;
        ok = true;
    }
    pthread_mutex_unlock(&s_lent_lock);
    return ok;
}

static void s_finalize(s_stmt_t *stmt)
{
    sqlite3_finalize(stmt->stmt);
    free(stmt);
}

/* A slot for a new entry: an unused one, else the least recently used statement not out with a
   caller, finalized. NULL when every one is out. */
static s_entry_t *s_free_slot(dir_db_conn_t *conn)
{
    if (conn->count < S_CACHE_SIZE)
        return &conn->cache[conn->count++];
    s_entry_t *oldest = NULL;
    for (size_t i = 0; i < conn->count; i++) {
        s_entry_t *entry = &conn->cache[i];
        if (!entry->lent && (!oldest || entry->used < oldest->used))
            oldest = entry;
    }
    if (oldest) {
        s_finalize(oldest->stmt);
        free(oldest->sql);
        memset(oldest, 0, sizeof *oldest);
        conn->evictions++;
    }
    return oldest;
}

static s_stmt_t *s_prepare(dir_db_conn_t *conn, const char *sql, int len, unsigned flags)
{
    s_stmt_t *stmt = calloc(1, sizeof *stmt);
    if (!stmt) {
        sso_error("db: out of memory");
        return NULL;
    }
    if (sqlite3_prepare_v3(conn->handle, sql, len, flags, &stmt->stmt, NULL) != SQLITE_OK) {
        sso_error("db: prepare failed: %s", sqlite3_errmsg(conn->handle));
        s_finalize(stmt);
        return NULL;
    }
    return stmt;
}

/* The cached statement for sql when it is not out with a caller, else a fresh one that release
   finalizes. */
static dir_db_stmt_t *s_acquire(dir_db_conn_t *conn, const char *sql)
{
    if (!conn->caching)
        return (dir_db_stmt_t *) s_prepare(conn, sql, -1, 0);
    size_t len;
    uint32_t hash = dir_db_sql_hash(sql, &len);
    if (len >= INT_MAX)
        return (dir_db_stmt_t *) s_prepare(conn, sql, -1, 0); /* SQLite would refuse it */
    for (size_t i = 0; i < conn->count; i++) {
        s_entry_t *entry = &conn->cache[i];
        if (entry->hash == hash && entry->len == len && memcmp(entry->sql, sql, len) == 0) {
            if (!entry->lent && s_lend(conn, entry)) {
                entry->used = ++conn->tick;
                conn->hits++;
                return (dir_db_stmt_t *) entry->stmt;
            }
            conn->fresh++; /* out with another caller: this one gets its own */
            return (dir_db_stmt_t *) s_prepare(conn, sql, (int) len + 1, 0);
        }
    }
    /* Passing the length with its NUL spares SQLite a copy of the text. */
    s_stmt_t *stmt = s_prepare(conn, sql, (int) len + 1, SQLITE_PREPARE_PERSISTENT);
    if (!stmt)
        return NULL;
    char *copy = malloc(len + 1);
    s_entry_t *entry = copy ? s_free_slot(conn) : NULL;
    if (!entry) {
        free(copy);
        conn->fresh++;
        return (dir_db_stmt_t *) stmt; /* not cached: finalized on release */
    }
    memcpy(copy, sql, len + 1);
    *entry = (s_entry_t) {.sql = copy, .len = len, .hash = hash, .stmt = stmt};
    conn->misses++;
    if (s_lend(conn, entry)) {
        entry->used = ++conn->tick;
        return (dir_db_stmt_t *) stmt;
    }
    /* Too many statements out at once: it stays cached for later; this caller gets its own. */
    conn->fresh++;
    return (dir_db_stmt_t *) s_prepare(conn, sql, (int) len + 1, 0);
}

static int s_release(dir_db_stmt_t *head)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    s_entry_t *entry = NULL;
    pthread_mutex_lock(&s_lent_lock);
    for (size_t i = 0; i < s_lent_count; i++)
        if (s_lent[i].stmt == stmt) {
            entry = s_lent[i].entry;
            s_lent[i] = s_lent[--s_lent_count];
            break;
        }
    pthread_mutex_unlock(&s_lent_lock);
    if (!entry) {
        int rc = sqlite3_finalize(stmt->stmt);
        free(stmt);
        return s_result(rc);
    }
    int rc = sqlite3_reset(stmt->stmt);
    sqlite3_clear_bindings(stmt->stmt);
    entry->lent = false;
    return s_result(rc);
}

static int s_bound(sqlite3_stmt *stmt, int index, int rc)
{
    if (rc == SQLITE_OK)
        return 0;
    sso_error("db: bind %d: %s", index, sqlite3_errmsg(sqlite3_db_handle(stmt)));
    return -1;
}

static int s_bind_null(dir_db_stmt_t *stmt, int index)
{
    return s_bound(s_raw(stmt), index, sqlite3_bind_null(s_raw(stmt), index));
}

static int s_bind_text(dir_db_stmt_t *stmt, int index, const char *text, bool copy)
{
    return s_bound(s_raw(stmt), index, sqlite3_bind_text(s_raw(stmt), index, text, -1,
                                                         copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int s_bind_int64(dir_db_stmt_t *stmt, int index, int64_t value)
{
    return s_bound(s_raw(stmt), index, sqlite3_bind_int64(s_raw(stmt), index, value));
}

static int s_bind_blob(dir_db_stmt_t *stmt, int index, const void *data, size_t len, bool copy)
{
    return s_bound(s_raw(stmt), index,
                   sqlite3_bind_blob64(s_raw(stmt), index, data, len,
                                       copy ? SQLITE_TRANSIENT : SQLITE_STATIC));
}

static int s_param_count(dir_db_stmt_t *stmt)
{
    return sqlite3_bind_parameter_count(s_raw(stmt));
}

static int s_step(dir_db_stmt_t *stmt)
{
    return s_result(sqlite3_step(s_raw(stmt)));
}

static int s_column_count(dir_db_stmt_t *stmt)
{
    return sqlite3_column_count(s_raw(stmt));
}

static bool s_is_null(dir_db_stmt_t *stmt, int column)
{
    return sqlite3_column_type(s_raw(stmt), column) == SQLITE_NULL;
}

static int64_t s_int64(dir_db_stmt_t *stmt, int column)
{
    return sqlite3_column_int64(s_raw(stmt), column);
}

static const char *s_text(dir_db_stmt_t *stmt, int column)
{
    return (const char *) sqlite3_column_text(s_raw(stmt), column);
}

static const void *s_blob(dir_db_stmt_t *stmt, int column, size_t *len)
{
    /* The pointer first: sqlite3_column_bytes after it gives the length of that form. */
    const void *data = sqlite3_column_blob(s_raw(stmt), column);
    *len = data ? (size_t) sqlite3_column_bytes(s_raw(stmt), column) : 0;
    return data;
}

static const char *s_errmsg(dir_db_conn_t *conn)
{
    return sqlite3_errmsg(conn->handle);
}

static int s_exec(dir_db_conn_t *conn, const char *script)
{
    char *message = NULL;
    if (sqlite3_exec(conn->handle, script, NULL, NULL, &message) != SQLITE_OK) {
        sso_error("db: %s", message ? message : sqlite3_errmsg(conn->handle));
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

/* One integer from a single-row statement without parameters; -1 on error. */
static int64_t s_int(dir_db_conn_t *conn, const char *sql)
{
    dir_db_stmt_t *stmt = s_acquire(conn, sql);
    int64_t value = stmt && s_step(stmt) == DIR_DB_ROW ? s_int64(stmt, 0) : -1;
    if (stmt)
        s_release(stmt);
    return value;
}

static int s_schema_version(dir_db_conn_t *conn)
{
    int64_t version = s_int(conn, "PRAGMA user_version");
    return version < 0 || version > INT_MAX ? -1 : (int) version;
}

static int s_set_schema_version(dir_db_conn_t *conn, int version)
{
    /* PRAGMA takes no bound parameters; the number is dir_db's own. */
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version);
    return s_exec(conn, pragma);
}

static void s_wait_for_locks(dir_db_conn_t *conn, bool wait)
{
    sqlite3_busy_timeout(conn->handle, wait ? S_BUSY_MS : 0);
}

static bool s_in_transaction(dir_db_conn_t *conn)
{
    return !sqlite3_get_autocommit(conn->handle);
}

static int64_t s_total_changes(dir_db_conn_t *conn)
{
    return sqlite3_total_changes64(conn->handle);
}

static int64_t s_changes(dir_db_conn_t *conn)
{
    return sqlite3_changes64(conn->handle);
}

static void s_close(dir_db_conn_t **conn_p)
{
    if (!conn_p || !*conn_p)
        return;
    dir_db_conn_t *conn = *conn_p;
    dir_checkpoint_destroy(&conn->checkpoint);
    /* Statements still out with callers are theirs now: sqlite3_close_v2 keeps the connection
       until they are finalized, which their release does once they are off the table. */
    pthread_mutex_lock(&s_lent_lock);
    for (size_t i = 0; i < s_lent_count;)
        if (s_lent[i].owner == conn)
            s_lent[i] = s_lent[--s_lent_count];
        else
            i++;
    pthread_mutex_unlock(&s_lent_lock);
    for (size_t i = 0; i < conn->count; i++) {
        if (!conn->cache[i].lent)
            s_finalize(conn->cache[i].stmt);
        free(conn->cache[i].sql);
    }
    sqlite3_close_v2(conn->handle);
    free(conn->path);
    free(conn);
    *conn_p = NULL;
}

static dir_db_conn_t *s_open(const char *path, char *why, size_t why_size)
{
    /* Create the file ourselves so it is 0600 from the start; SQLite gives its -wal and
       -shm files the same mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    close(fd);
    dir_db_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn || !(conn->path = strdup(path))) {
        free(conn);
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &conn->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
        snprintf(why, why_size, "cannot open %s: %s", path,
                 conn->handle ? sqlite3_errmsg(conn->handle) : "out of memory");
        s_close(&conn);
        return NULL;
    }
    sqlite3_busy_timeout(conn->handle, S_BUSY_MS);
    dir_db_stmt_t *stmt = s_acquire(conn, "PRAGMA journal_mode = WAL");
    bool wal = stmt && s_step(stmt) == DIR_DB_ROW && s_text(stmt, 0)
               && strcmp(s_text(stmt, 0), "wal") == 0;
    if (stmt)
        s_release(stmt);
    /* Temporary b-trees (sorts, DISTINCT) in memory rather than in temporary files: it
       changes nothing stored nor when it is synced. cache_size and mmap_size keep their
       defaults: a login reads one or two pages from the file (the rest is cached), and a
       larger cache changed neither that nor the CPU per login, only the memory held. */
    if (!wal
        || s_exec(conn, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; "
                        "PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864;")
               != 0) {
        snprintf(why, why_size, "cannot set up %s (WAL mode, foreign keys)", path);
        s_close(&conn);
        return NULL;
    }
    return conn;
}

static void s_ready(dir_db_conn_t *conn)
{
    /* Statements are cached from here on, so none was prepared against an older schema (and
       SQLite re-prepares a cached one by itself if another instance changes the schema). */
    conn->caching = true;
    conn->checkpoint = dir_checkpoint_new(conn->handle, conn->path, DIR_CHECKPOINT_PAGES,
                                          DIR_CHECKPOINT_BACKSTOP, DIR_CHECKPOINT_LOOK_MS);
}

const dir_db_engine_t dir_db_sqlite_engine = {
    .name = "sqlite",
    .open = s_open,
    .ready = s_ready,
    .close = s_close,
    .errmsg = s_errmsg,
    .exec = s_exec,
    .schema_version = s_schema_version,
    .set_schema_version = s_set_schema_version,
    /* IMMEDIATE: two instances never deadlock upgrading read locks. */
    .begin_write_sql = "BEGIN IMMEDIATE",
    .begin_read_sql = "BEGIN",
    .wait_for_locks = s_wait_for_locks,
    .in_transaction = s_in_transaction,
    .total_changes = s_total_changes,
    .changes = s_changes,
    .prepare = s_acquire,
    .release = s_release,
    .bind_null = s_bind_null,
    .bind_text = s_bind_text,
    .bind_int64 = s_bind_int64,
    .bind_blob = s_bind_blob,
    .param_count = s_param_count,
    .step = s_step,
    .column_count = s_column_count,
    .is_null = s_is_null,
    .int64 = s_int64,
    .text = s_text,
    .blob = s_blob,
};

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
    dir_db_conn_t *conn = dir_db_conn(db);
    SSO_CHECK(conn->caching && s_lent_now() == 0);
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
    uint64_t hits = conn->hits, misses = conn->misses;
    dir_db_stmt_t *a = dir_db_query(db, pair, "ss", "one", "two");
    SSO_CHECK(a && s_lent_now() == 1 && conn->misses == misses + 1);
    SSO_CHECK(a && dir_db_step(a) == DIR_DB_ROW && !strcmp(dir_db_text(a, 1), "two"));
    SSO_CHECK(dir_db_release(a) == DIR_DB_OK && s_lent_now() == 0);
    dir_db_stmt_t *b = dir_db_query(db, pair, "s", "three");
    SSO_CHECK(b == a && conn->hits == hits + 1);
    SSO_CHECK(b && dir_db_step(b) == DIR_DB_ROW && !strcmp(dir_db_text(b, 0), "three")
              && dir_db_is_null(b, 1));
    dir_db_release(b);
    /* dir_db_run and dir_db_int bind without copying; release clears those bindings too. */
    char scratch[8] = "temp";
    SSO_CHECK(dir_db_int(db, "SELECT length(?)", "s", scratch) == 4);
    dir_db_stmt_t *c = dir_db_query(db, "SELECT length(?)", NULL);
    SSO_CHECK(c && dir_db_step(c) == DIR_DB_ROW && dir_db_is_null(c, 0));
    dir_db_release(c);

    /* A statement given back mid-iteration starts over for the next caller. */
    const char *rows = "SELECT n FROM t ORDER BY n";
    a = dir_db_query(db, rows, NULL);
    SSO_CHECK(a && dir_db_step(a) == DIR_DB_ROW && dir_db_int64(a, 0) == 1);
    SSO_CHECK(a && dir_db_step(a) == DIR_DB_ROW && dir_db_int64(a, 0) == 2);
    dir_db_release(a);
    b = dir_db_query(db, rows, NULL);
    SSO_CHECK(b == a && dir_db_step(b) == DIR_DB_ROW && dir_db_int64(b, 0) == 1);

    /* Nested use of the same SQL: the inner query gets a fresh statement of its own, both
       iterate independently, and the fresh one is finalized on release. */
    uint64_t fresh = conn->fresh;
    int64_t sum = 0;
    do {
        dir_db_stmt_t *inner = dir_db_query(db, rows, NULL);
        SSO_CHECK(inner && inner != b);
        while (inner && dir_db_step(inner) == DIR_DB_ROW)
            sum += dir_db_int64(inner, 0);
        SSO_CHECK(dir_db_release(inner) == DIR_DB_OK);
        sum += 100 * dir_db_int64(b, 0);
    } while (dir_db_step(b) == DIR_DB_ROW);
    SSO_CHECK(sum == 3 * 6 + 100 * 6 && conn->fresh == fresh + 3 && s_lent_now() == 1);
    dir_db_release(b);
    SSO_CHECK(s_lent_now() == 0 && dir_db_query(db, rows, NULL) == b);
    dir_db_release(b);

    /* A failed step: release reports its error, and the statement works
       on the next use. Transactions run through the cache too. */
    const char *insert = "INSERT INTO t (n, s) VALUES (?, ?)";
    a = dir_db_query(db, insert, "is", (int64_t) 1, "dup");
    SSO_CHECK(a && dir_db_step(a) == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_release(a) == DIR_DB_CONFLICT);
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
    SSO_CHECK(a && dir_db_column_count(a) == 2);
    dir_db_release(a);
    SSO_CHECK(dir_db_run(db, NULL, "ALTER TABLE t ADD COLUMN extra INTEGER", NULL) == DIR_DB_OK);
    b = dir_db_query(db, star, NULL);
    SSO_CHECK(b == a && dir_db_step(b) == DIR_DB_ROW && dir_db_column_count(b) == 3);
    dir_db_release(b);

    /* Statements not from the cache (prepared before the migrations) are finalized (ASan
       would see a leak otherwise). */
    char why2[256] = "";
    dir_db_conn_t *plain = dir_db_sqlite_engine.open(path, why2, sizeof why2);
    dir_db_stmt_t *own = plain ? dir_db_sqlite_engine.prepare(plain, "SELECT 1") : NULL;
    SSO_CHECK(own && !plain->caching && plain->count == 0);
    SSO_CHECK(own && dir_db_sqlite_engine.step(own) == DIR_DB_ROW
              && dir_db_sqlite_engine.int64(own, 0) == 1);
    SSO_CHECK(own && dir_db_sqlite_engine.release(own) == DIR_DB_OK);
    dir_db_sqlite_engine.close(&plain);
    SSO_CHECK(plain == NULL && dir_db_release(NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_query(db, "SELECT nope FROM nowhere", NULL) == NULL);

    /* Bounded: past S_CACHE_SIZE texts the least recently used go; results stay right. */
    uint64_t evictions = conn->evictions;
    char sql[64];
    for (int i = 0; i < S_CACHE_SIZE + 10; i++) {
        snprintf(sql, sizeof sql, "SELECT %d + ?", i);
        SSO_CHECK(dir_db_int(db, sql, "i", (int64_t) 1) == i + 1);
    }
    SSO_CHECK(conn->count == S_CACHE_SIZE && conn->evictions > evictions);
    SSO_CHECK(dir_db_int(db, "SELECT 0 + ?", "i", (int64_t) 7) == 7);

    /* More statements out at once than the lent table holds: the rest are fresh. */
    dir_db_stmt_t *out[S_LENT_MAX + 2];
    fresh = conn->fresh;
    for (int i = 0; i < S_LENT_MAX + 2; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        out[i] = dir_db_query(db, sql, NULL);
        SSO_CHECK(out[i] && dir_db_step(out[i]) == DIR_DB_ROW
                  && dir_db_int64(out[i], 0) == i);
    }
    SSO_CHECK(s_lent_now() == S_LENT_MAX && conn->fresh == fresh + 2);
    for (int i = 0; i < S_LENT_MAX + 2; i++)
        dir_db_release(out[i]);
    SSO_CHECK(s_lent_now() == 0);

    /* Destroying the database with statements still out: they stay usable until released,
       and release finalizes them (the connection closes with the last one). */
    a = dir_db_query(db, rows, NULL);
    b = dir_db_query(db, rows, NULL);
    SSO_CHECK(a && b && a != b && s_lent_now() == 1);
    dir_db_destroy(&db);
    SSO_CHECK(db == NULL && s_lent_now() == 0);
    SSO_CHECK(a && dir_db_step(a) == DIR_DB_ROW && dir_db_int64(a, 0) == 1);
    SSO_CHECK(dir_db_release(a) == DIR_DB_OK && dir_db_release(b) == DIR_DB_OK);
    /* Reopened: a new cache, empty. */
    db = dir_db_open(path, why, sizeof why);
    SSO_CHECK(db && dir_db_conn(db)->count == 0
              && dir_db_int(db, "SELECT count(*) FROM t", NULL) == 4);
    dir_db_destroy(&db);
}

void dir_db_sqlite_test(bool verbose)
{
    (void) verbose;
    char dir[] = "/tmp/dir-db-sqlite-XXXXXX";
    SSO_CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/cache.db", dir);
    s_test_cache(path);
    /* A file that cannot be made: refused with the reason. */
    char why[256] = "";
    snprintf(path, sizeof path, "%s/no/such/dir.db", dir);
    SSO_CHECK(dir_db_sqlite_engine.open(path, why, sizeof why) == NULL
              && strstr(why, "cannot open"));
    dir_testkit_remove_dir(dir);
}
