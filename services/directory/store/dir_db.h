/* dir_db: the directory's database, behind a small engine interface (store/dir_db_engine.h)
   so that a second engine can be added without touching the handlers: they see only
   dir_db_t, the opaque dir_db_stmt_t and the functions below, never the engine's own API.
   dir_db_open uses the SQLite engine (store/dir_db_sqlite.c): $SSO_DATA_DIR/sso.db in WAL mode
   with foreign keys on and a busy timeout (several directory instances may share the file),
   its log checkpointed on a thread of its own (store/dir_checkpoint.h). The schema is brought
   up to date with versioned migrations (store/migrations, one file each). Every statement is
   prepared and bound: SQL text never contains input.

   dir_db_open_url uses the PostgreSQL engine (store/dir_db_pg.c, SSO_DATABASE_URL), which
   runs the same SQL and migrations translated by store/dir_db_dialect.c. The SQL is written in
   SQLite's dialect, preferring forms both engines read alike (`INSERT … ON CONFLICT`, an alias
   on every subquery in FROM, `?N = 1` rather than a bare integer as a condition,
   `CAST(?N AS TEXT) IS NULL` where a parameter's first use is a NULL test, which PostgreSQL
   cannot type).

   What an engine must provide (store/dir_db_engine.h): positional parameters written `?` in
   the SQL text (an engine whose server wants $1.. rewrites them); the SQL the migrations and
   handlers use; SAVEPOINT / RELEASE / ROLLBACK TO for the batch; a failed statement inside a
   transaction undoing only itself; a constraint failure reported apart from other errors
   (DIR_DB_CONFLICT); a count of rows changed; a schema version kept in the database;
   statements still usable after their connection is closed, until released. */
#ifndef DIR_DB_H
#define DIR_DB_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dir_db_t dir_db_t;
/* A prepared, bound statement and, once stepped, its current row. */
typedef struct dir_db_stmt_t dir_db_stmt_t;

/* Results of dir_db_run, dir_db_step and dir_db_release. */
#define DIR_DB_OK 0
#define DIR_DB_ERROR -1
#define DIR_DB_CONFLICT -2 /* a UNIQUE / PRIMARY KEY / CHECK / FOREIGN KEY constraint failed */
#define DIR_DB_ROW 1       /* dir_db_step: a row is there to read */
#define DIR_DB_DONE 2      /* dir_db_step: no more rows */

/* Opens (creating if needed) path and migrates it. NULL with a message in why on failure. */
dir_db_t *dir_db_open(const char *path, char *why, size_t why_size);
/* The same on PostgreSQL (store/dir_db_pg.h): url is SSO_DATABASE_URL's postgres://… */
dir_db_t *dir_db_open_url(const char *url, char *why, size_t why_size);
void dir_db_destroy(dir_db_t **self_p);
/* The schema version this binary migrates to. */
int dir_db_schema_version(void);

/* Prepares sql and binds its parameters from types, one character per parameter:
   's' const char * (NULL binds NULL), 'i' int64_t, 'b' const void *, size_t (a blob; NULL
   binds NULL). NULL on failure (logged). Give the statement back with dir_db_release.
   Statements come from a bounded cache keyed by the SQL text, prepared once (persistent) after
   the migrations: a cached statement is handed to one caller at a time, and a query whose
   cached statement is still out (a caller iterating it while running the same SQL again) gets
   a fresh statement of its own. Either way the caller sees a newly bound statement, every
   parameter not bound by types being NULL. (The cache is the SQLite engine's.) */
dir_db_stmt_t *dir_db_query(dir_db_t *self, const char *sql, const char *types, ...);
/* The same with the arguments in a va_list, for helpers that take a query of their caller's. */
dir_db_stmt_t *dir_db_vquery(dir_db_t *self, const char *sql, const char *types, va_list args);
/* Gives back a statement from dir_db_query / dir_db_vquery: a cached one is reset, its
   bindings cleared, and kept for the next query of the same SQL; any other statement (also one
   whose database was destroyed since) is finalized. NULL is a no-op. Returns the result of the
   statement's last step if it failed (DIR_DB_CONFLICT, DIR_DB_ERROR), else DIR_DB_OK. */
int dir_db_release(dir_db_stmt_t *stmt);
/* The next row: DIR_DB_ROW, DIR_DB_DONE, DIR_DB_CONFLICT or DIR_DB_ERROR. */
int dir_db_step(dir_db_stmt_t *stmt);
/* Binds parameter index (1-based; the last ones of a query a helper completes, as a page's
   bounds) after dir_db_query bound the others. 0 or -1 (logged). */
int dir_db_bind_int64(dir_db_stmt_t *stmt, int index, int64_t value);
/* The number of parameters of the statement, and of columns of its rows. */
int dir_db_param_count(dir_db_stmt_t *stmt);
int dir_db_column_count(dir_db_stmt_t *stmt);
/* Columns of the current row, 0-based. Text as a C string ("" for NULL); an integer (0 for
   NULL); a blob's bytes and length (NULL and 0 for NULL or an empty blob). Pointers are good
   until the next step or the release. */
const char *dir_db_text(dir_db_stmt_t *stmt, int column);
int64_t dir_db_int64(dir_db_stmt_t *stmt, int column);
bool dir_db_is_null(dir_db_stmt_t *stmt, int column);
const void *dir_db_blob(dir_db_stmt_t *stmt, int column, size_t *len);

/* Prepares, binds as above and steps to completion: DIR_DB_OK, DIR_DB_CONFLICT or
   DIR_DB_ERROR. *changes (may be NULL) is the number of rows changed. */
int dir_db_run(dir_db_t *self, int *changes, const char *sql, const char *types, ...);
/* One integer from a single-row query (count(*) and friends); -1 on error. */
int64_t dir_db_int(dir_db_t *self, const char *sql, const char *types, ...);

/* Write transactions take the write lock at BEGIN (SQLite: BEGIN IMMEDIATE) so two instances
   never deadlock upgrading read locks. Each returns 0 or -1. */
int dir_db_begin(dir_db_t *self);
/* A read transaction (BEGIN DEFERRED): its queries share one snapshot and one read lock. */
int dir_db_begin_read(dir_db_t *self);
int dir_db_commit(dir_db_t *self);
/* Inside a write transaction: takes the lock called name (a row of meta), so that writers of
   one kind on several directory instances take turns where each writes from what it read
   (bootstrap, signing keys). SQLite's write lock already serializes every writer; PostgreSQL
   makes the next one wait here, then read what the first committed. 0 or -1. */
int dir_db_lock(dir_db_t *self, const char *name);
/* Safe to call after a failed statement or commit; never fails from the caller's view. */
void dir_db_rollback(dir_db_t *self);

/* Group commit: the work of several requests in one write transaction, so their changes to
   the same pages reach the log once (the request loop takes the requests already waiting
   together and answers them after the batch's commit). Between dir_db_batch_begin and
   dir_db_batch_end, dir_db_begin and dir_db_begin_read open a savepoint, dir_db_commit
   releases it and dir_db_rollback undoes only it; statements outside them join the batch.
   Once the engine has rolled the batch's transaction back (I/O error, full disk), every new
   statement and savepoint is refused until dir_db_batch_end, so nothing commits on its own.
   batch_begin takes the write lock (BEGIN IMMEDIATE) only if it is free now: 0, or -1 (also
   when another instance holds it; serve the request alone then). batch_intact says the batch
   can take another request: its transaction is still there and no savepoint was left open.
   batch_end commits: 0, or -1 when nothing of the batch was kept (commit failed, the engine
   had already rolled the transaction back, or a request left its savepoint open).
   A dir_db_rollback after a successful dir_db_commit does nothing at the outermost level, in a
   batch or not; nested inside another transaction it would undo the outer one's work, so
   handlers that are called from inside one must not do that. */
int dir_db_batch_begin(dir_db_t *self);
bool dir_db_batch_intact(dir_db_t *self);
int dir_db_batch_end(dir_db_t *self);

/* After a failure: whether the database can be used. 1 when its connection had been lost and
   is back (what failed may be tried again: the server rolled back the transaction it was in),
   0 when nothing was lost (the failure was of another kind), -1 while the server cannot be
   reached. Always 0 on SQLite. */
int dir_db_reconnect(dir_db_t *self);

/* Write transactions, for the gateway's /metrics: how many committed since the last call (the
   count then starts over). One is an outermost commit (a batch's is one, whatever it
   served) of a transaction that changed rows (the engine's total of rows inserted, updated
   or deleted, also in a savepoint rolled back since), or a dir_db_run statement that changed
   rows outside any transaction. */
uint64_t dir_db_writes_take(dir_db_t *self);
/* Whether the last outermost commit (dir_db_batch_end's, say) was of one that changed rows. */
bool dir_db_last_commit_wrote(const dir_db_t *self);

void dir_db_test(bool verbose);
#endif
