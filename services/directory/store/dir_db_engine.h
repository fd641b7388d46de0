/* dir_db_engine: the table of functions a storage engine gives dir_db (store/dir_db.h), and
   the head every engine's statement starts with. Only dir_db.c and the engines include it; the
   rest of the directory sees dir_db.h alone. An engine is one more table: dir_db_sqlite and
   dir_db_pg; what an engine must provide is said in dir_db.h. */
#ifndef DIR_DB_ENGINE_H
#define DIR_DB_ENGINE_H
#include "store/dir_db.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An engine's connection, opaque to dir_db. */
typedef struct dir_db_conn_t dir_db_conn_t;
typedef struct dir_db_engine_t dir_db_engine_t;

/* An engine's statement begins with this. dir_db sets engine to the table the statement was
   prepared through, and the column helpers dispatch on it. */
struct dir_db_stmt_t {
    const dir_db_engine_t *engine;
};

/* Unless said otherwise, a function returns 0 or -1 and logs its own failures. */
struct dir_db_engine_t {
    const char *name;
    /* Connects to target (for SQLite a file, created 0600) and sets the connection up; NULL
       with a message in why on failure. */
    dir_db_conn_t *(*open)(const char *target, char *why, size_t why_size);
    /* After the migrations: statements may be kept prepared from here on, and background
       work (SQLite's checkpoint thread) starts. */
    void (*ready)(dir_db_conn_t *conn);
    /* Closes conn; statements still out stay usable until released. Nulls *conn_p. */
    void (*close)(dir_db_conn_t **conn_p);
    /* The connection's last error, for messages. */
    const char *(*errmsg)(dir_db_conn_t *conn);
    /* Runs a script of statements without parameters (a migration). */
    int (*exec)(dir_db_conn_t *conn, const char *script);
    /* The schema version recorded in the database (0 for a new one; -1 on error), and its
       update, inside the migration's write transaction. */
    int (*schema_version)(dir_db_conn_t *conn);
    int (*set_schema_version)(dir_db_conn_t *conn, int version);
    /* The statements that open a write transaction holding the write lock from its start, and
       a read transaction (one snapshot). The savepoint statements are standard SQL. */
    const char *begin_write_sql;
    const char *begin_read_sql;
    /* wait false: lock requests fail at once when another connection holds the lock; true:
       they wait up to the engine's busy timeout. */
    void (*wait_for_locks)(dir_db_conn_t *conn, bool wait);
    /* Whether a transaction is open on conn (it may have been rolled back by the engine). */
    bool (*in_transaction)(dir_db_conn_t *conn);
    /* Rows inserted, updated or deleted on conn since it opened, and by its last statement. */
    int64_t (*total_changes)(dir_db_conn_t *conn);
    int64_t (*changes)(dir_db_conn_t *conn);
    /* A statement for sql with no parameter bound (cached or not: the engine's choice), or NULL
       (logged). */
    dir_db_stmt_t *(*prepare)(dir_db_conn_t *conn, const char *sql);
    /* Gives stmt back: DIR_DB_OK, or the error of its last step (DIR_DB_CONFLICT or
       DIR_DB_ERROR). Works after the connection was closed. */
    int (*release)(dir_db_stmt_t *stmt);
    /* Binds parameter index (1-based). copy false: the value outlives the statement's use
       (it is released before the caller's arguments go). */
    int (*bind_null)(dir_db_stmt_t *stmt, int index);
    int (*bind_text)(dir_db_stmt_t *stmt, int index, const char *text, bool copy);
    int (*bind_int64)(dir_db_stmt_t *stmt, int index, int64_t value);
    int (*bind_blob)(dir_db_stmt_t *stmt, int index, const void *data, size_t len, bool copy);
    int (*param_count)(dir_db_stmt_t *stmt);
    /* DIR_DB_ROW, DIR_DB_DONE, DIR_DB_CONFLICT (a constraint failed) or DIR_DB_ERROR. */
    int (*step)(dir_db_stmt_t *stmt);
    int (*column_count)(dir_db_stmt_t *stmt);
    bool (*is_null)(dir_db_stmt_t *stmt, int column);
    int64_t (*int64)(dir_db_stmt_t *stmt, int column);
    /* NULL for SQL NULL. */
    const char *(*text)(dir_db_stmt_t *stmt, int column);
    /* *len bytes (NULL when there are none or for SQL NULL). */
    const void *(*blob)(dir_db_stmt_t *stmt, int column, size_t *len);
    /* A connection the server dropped, connected again: how many times that was done so far
       (it never decreases), or -1 while the server cannot be reached. NULL for an engine
       whose connection cannot be lost (SQLite's file). */
    int64_t (*reconnect)(dir_db_conn_t *conn);
};

/* The key engines cache a statement's SQL text under (FNV-1a); *len_out is its length. */
uint32_t dir_db_sql_hash(const char *sql, size_t *len_out);

/* Opens target with engine (dir_db_open is this with the SQLite engine, dir_db_open_url with
   PostgreSQL's). */
dir_db_t *dir_db_open_with(const dir_db_engine_t *engine, const char *target, char *why,
                           size_t why_size);
/* The engine's connection under self (for an engine's own self-test). */
dir_db_conn_t *dir_db_conn(dir_db_t *self);
#endif
