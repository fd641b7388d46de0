/* dir_db_pg: the PostgreSQL engine of dir_db (store/dir_db_engine.h), through libpq, chosen by
   SSO_DATABASE_URL=postgres://… (dir_db_open_url). Every statement is translated from SQLite's
   dialect once (store/dir_db_dialect.h; the translations are cached per connection) and run
   with its parameters typed by their binds (text, int8, bytea sent as bytes, NULL); rows come
   back as text, bytea decoded, booleans as 1 and 0.

   What it keeps of SQLite's behaviour, which the directory's code relies on:
   - a failed INSERT or UPDATE inside a transaction undoes only itself (PostgreSQL would abort
     the whole transaction): it runs under a savepoint of its own, sent with it in one round
     trip; not an INSERT … ON CONFLICT or a DELETE, which meet no conflict (every foreign key
     cascades), so their other failures fail the transaction;
   - a UNIQUE, FOREIGN KEY, CHECK or NOT NULL failure is DIR_DB_CONFLICT; a COMMIT that
     PostgreSQL turned into a ROLLBACK (the transaction had failed) is a failure;
   - the schema version is kept in the database, in `meta` (name 'schema_version'), and the
     migrations run under an advisory lock, so directories that start together migrate once.
   Isolation: write transactions are READ COMMITTED. The single-use writes are guarded
   (`UPDATE … WHERE … used_at IS NULL` and a check of the rows changed; a replay record is one
   `INSERT … ON CONFLICT … DO UPDATE … WHERE` expired); PostgreSQL makes a second writer of the
   same row wait for the first and then re-checks the WHERE on the row as committed, so exactly
   one wins and nothing has to be retried. What reads then writes from what it read takes a row
   lock first (the signing keys' rotation). A read transaction is REPEATABLE READ: one
   snapshot, as SQLite's read transaction gives. Lock waits are bounded by the statement
   timeout (S_STATEMENT_TIMEOUT_MS): there is no database-wide write lock to try.
   Round trips: a text's second run prepares it on the server, one prepared statement per
   vector of parameter types bound (a reset, the cache's flush and a plan the schema changed
   under forget them; an aborted transaction never prepares); the savepoint commands of a
   sound transaction go with the next statement's round trip, and one of them failing rolls
   the whole transaction back.
   A statement that finds the connection dead resets it once: that statement (and the
   transaction it was in) fails, the next one runs on the new connection. A statement on its
   own (no transaction) that meets a serialization failure or a deadlock is run again, up to
   S_RETRIES times. */
#ifndef DIR_DB_PG_H
#define DIR_DB_PG_H
#include "store/dir_db.h"
#include <stdbool.h>

/* The engine's table (store/dir_db_engine.h); the self-tests' helpers below need no more. */
typedef struct dir_db_engine_t dir_db_engine_t;
extern const dir_db_engine_t dir_db_pg_engine;

/* url with its database name replaced by name, in out (size bytes): 0, or -1 when url is not
   a postgres:// or postgresql:// URL or out is too small. */
int dir_db_pg_url_with_database(const char *url, const char *name, char *out, size_t size);

/* For self-tests on a server (url: SSO_TEST_DATABASE_URL): a new database, its name in name
   and its URL in out, 0 or -1; and its removal, 0 or -1. */
int dir_db_pg_test_database(const char *url, char *name, size_t name_size, char *out,
                            size_t size);
int dir_db_pg_test_drop(const char *url, const char *name);

/* Runs against a real server when SSO_TEST_DATABASE_URL names one (a database it may create
   others on); says it skipped otherwise. */
void dir_db_pg_test(bool verbose);
#endif
