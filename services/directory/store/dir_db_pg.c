/* dir_db_pg: the PostgreSQL engine of dir_db (see store/dir_db_pg.h for what it keeps of
   SQLite's behaviour and why). */
#include "store/dir_db_pg.h"
#include "store/dir_db_dialect.h"
#include "store/dir_db_engine.h"
#include "sso_config.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S_STATEMENT_TIMEOUT_MS 10000
#define S_CONNECT_TIMEOUT_S "10"
/* How long one reconnection may block the directory's loop (its heartbeats wait meanwhile). */
#define S_RECONNECT_MS 1000
/* Translations kept per connection; when full they all go (the directory's hot statements
   are far fewer, so that happens only to a process that runs many one-off texts), and so do
   their prepared statements on the server. */
#define S_CACHE_SIZE 256
/* Prepared statements per translation: one per vector of parameter types bound. */
#define S_VARIANTS 4
/* Savepoint commands held back to go with the next statement's round trip, and their length
   (dir_db's own: "SAVEPOINT dir_txn" and the like). */
#define S_PENDING 8
#define S_PENDING_LEN 64
/* Runs of a statement on its own after a serialization failure or a deadlock. */
#define S_RETRIES 3
/* pg_advisory_xact_lock's key for the migrations ("ssomigr"). */
#define S_MIGRATION_LOCK "31899834632710770"
/* The type OIDs of PostgreSQL's catalog (pg_type.h is the server's header). */
#define S_BOOLOID 16
#define S_BYTEAOID 17
#define S_INT8OID 20

/* A translation prepared on the server for one vector of parameter types. The server types
   a prepared statement's parameters once, at its prepare: a text bound where an int8 was
   prepared would be read as an int8, and a NULL (untyped, so the server infers it) where one
   was typed is a different statement too. So the key is the types as bound, which makes each
   variant exactly the statement PQexecParams would run with those binds. */
typedef struct {
    Oid *types;          /* as bound (0: untyped); NULL for a statement without parameters */
    uint64_t name;       /* the server's name is "dir_<name>"; 0 until first prepared */
    uint64_t generation; /* the connection's when prepared: prepared while they are equal */
    unsigned runs;       /* a text's first run is not prepared, so one-off texts never are */
} s_variant_t;

typedef struct {
    char *sql; /* SQLite's text: the key */
    size_t len;
    uint32_t hash;
    char *pg; /* PostgreSQL's */
    int params;
    bool write;
    bool guard;      /* run under a savepoint of its own inside a transaction (s_pipeline) */
    bool preparable; /* a query or a DML statement, not a utility statement */
    bool deferrable; /* SAVEPOINT, RELEASE or ROLLBACK TO: may wait for the next round trip */
    s_variant_t variants[S_VARIANTS];
    int variant_count;
} s_entry_t;

struct dir_db_conn_t {
    PGconn *pg; /* NULL once closed */
    int refs;   /* the open connection's one, and one per statement out */
    int64_t total_changes, changes;
    s_entry_t cache[S_CACHE_SIZE];
    size_t count;
    uint64_t flushes;    /* of the cache: a statement's entry index holds while it is unchanged */
    uint64_t generation; /* of the server's prepared statements: a reset or a flush moves it */
    uint64_t names;      /* the last prepared statement name given */
    bool deallocate_all; /* the server holds prepared statements no variant names any more:
                            DEALLOCATE ALL before the next prepare */
    bool ready;          /* after the migrations: statements may be prepared (s_ready) */
    /* Savepoint commands not sent yet, in order (s_execute says when). */
    char pending[S_PENDING][S_PENDING_LEN];
    int pending_count;
    char error[512];     /* the last failure, for errmsg */
    uint64_t resets;     /* for the self-test */
    bool unset;          /* connected, but its settings (s_setup) not made: not usable yet */
    bool down;           /* the last reconnection failed (said once, not at every try) */
    uint64_t prepares;   /* for the self-test */
    uint64_t trips;      /* round trips to the server, for the self-test */
};

typedef struct {
    dir_db_stmt_t head;
    dir_db_conn_t *conn;
    char *sql;
    bool write, guard, deferrable;
    size_t entry;     /* conn->cache's, while conn->flushes is still flushes */
    uint64_t flushes;
    int params;
    const char **values; /* NULL: SQL NULL */
    int *lengths, *formats;
    Oid *types;
    char **owned;  /* copies made by a bind, freed with the statement */
    char (*ints)[24];
    PGresult *result;
    int row, rows, columns;
    bool executed;
    int failed; /* DIR_DB_OK, or the error of the execution */
    /* Decoded bytea (and boolean) values of the current row, per column: NUL-terminated. */
    char **decoded;
    size_t *decoded_len;
} s_stmt_t;

static void s_notice(void *arg, const char *message)
{
    (void) arg;
    sso_debug("db: %s", message);
}

/* Remembers why for errmsg on one line (libpq's messages span several). */
static void s_set_error(dir_db_conn_t *conn, const char *why)
{
    snprintf(conn->error, sizeof conn->error, "%s", why && *why ? why : "unknown error");
    for (char *c = conn->error; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    size_t len = strlen(conn->error);
    while (len && conn->error[len - 1] == ' ')
        conn->error[--len] = '\0';
}

/* A held-back savepoint command failed (its savepoint was missing, say): its transaction is
   rolled back whole, so that no commit keeps a request's work its caller saw fail, or drops
   one it saw succeed; dir_db then finds the transaction gone. */
static void s_pending_failed(dir_db_conn_t *conn)
{
    sso_error("db: %s; the transaction is rolled back", conn->error);
    PGresult *result = PQexec(conn->pg, "ROLLBACK");
    conn->trips++;
    PQclear(result);
}

/* Sends the held-back savepoint commands now, in one round trip; 0 or -1. */
static int s_send_pending(dir_db_conn_t *conn)
{
    if (!conn->pending_count)
        return 0;
    char script[S_PENDING * (S_PENDING_LEN + 2)] = "";
    size_t used = 0;
    for (int i = 0; i < conn->pending_count; i++)
        used += (size_t) snprintf(script + used, sizeof script - used, "%s; ", conn->pending[i]);
    conn->pending_count = 0;
    PGresult *result = PQexec(conn->pg, script);
    conn->trips++;
    int rc = PQresultStatus(result) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0) {
        s_set_error(conn, PQresultErrorMessage(result));
        s_pending_failed(conn);
    }
    PQclear(result);
    return rc;
}

/* A statement without parameters (the connection's own: savepoints, settings); 0 or -1. */
static int s_simple(dir_db_conn_t *conn, const char *sql)
{
    if (!conn->pg || s_send_pending(conn) != 0)
        return -1;
    PGresult *result = PQexec(conn->pg, sql);
    conn->trips++;
    ExecStatusType status = PQresultStatus(result);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        s_set_error(conn, PQresultErrorMessage(result));
    PQclear(result);
    return rc;
}

/* What every connection (a reset one too) is given. */
static int s_setup(dir_db_conn_t *conn)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", S_STATEMENT_TIMEOUT_MS);
    return s_simple(conn, sql);
}

/* Monotonic milliseconds (poll deadlines). */
static int64_t s_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* PQreset without blocking past ms (PQreset itself may wait connect_timeout per address, and
   the loop's heartbeats with it): true when connected. On false the connection is left
   half-made or bad, and the next s_reconnect_now starts over. */
static bool s_reset(PGconn *pg, int ms)
{
    if (!PQresetStart(pg))
        return false;
    int64_t until = s_now_ms() + ms;
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    for (;;) {
        int64_t left = until - s_now_ms();
        if (left <= 0 || PQsocket(pg) < 0)
            return false;
        struct pollfd item = {.fd = PQsocket(pg),
                              .events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (poll(&item, 1, (int) left) < 0 && errno != EINTR)
            return false;
        status = PQresetPoll(pg);
        if (status == PGRES_POLLING_OK)
            return true;
        if (status == PGRES_POLLING_FAILED)
            return false;
    }
}

/* A new session in place of the connection's: what the old one held (prepared statements,
   held-back commands, its transaction) is gone. Bounded by S_RECONNECT_MS. */
static void s_reconnect_now(dir_db_conn_t *conn)
{
    if (!conn->down)
        sso_warn("db: the connection to PostgreSQL was lost (%s); connecting again",
                 conn->error);
    bool up = s_reset(conn->pg, S_RECONNECT_MS);
    conn->resets++;
    conn->generation++;
    conn->deallocate_all = false;
    conn->pending_count = 0; /* their transaction is gone */
    conn->unset = !up || s_setup(conn) != 0;
    if (conn->unset) {
        if (!conn->down)
            sso_error("db: PostgreSQL is still unreachable: %s", PQerrorMessage(conn->pg));
        conn->down = true;
        return;
    }
    sso_info("db: connected to PostgreSQL again");
    conn->down = false;
}

/* The connection is gone (the server restarted, the network failed) or was left unusable by a
   reconnection that did not finish: one reconnection. The statement that found out fails all
   the same, with its transaction. */
static void s_check_connection(dir_db_conn_t *conn)
{
    if (!conn->pg || (PQstatus(conn->pg) == CONNECTION_OK && !conn->unset))
        return;
    if (PQstatus(conn->pg) == CONNECTION_OK) { /* connected; its settings failed before */
        conn->unset = s_setup(conn) != 0;
        return;
    }
    s_reconnect_now(conn);
}

/* Forgets every translation (and with them their prepared statements). */
static void s_cache_clear(dir_db_conn_t *conn)
{
    for (size_t i = 0; i < conn->count; i++) {
        s_entry_t *entry = &conn->cache[i];
        free(entry->sql);
        free(entry->pg);
        for (int v = 0; v < entry->variant_count; v++)
            free(entry->variants[v].types);
    }
    conn->count = 0;
    conn->flushes++;
}

static void s_conn_unref(dir_db_conn_t *conn)
{
    if (--conn->refs > 0)
        return;
    s_cache_clear(conn);
    free(conn);
}

static void s_close(dir_db_conn_t **conn_p)
{
    if (!conn_p || !*conn_p)
        return;
    dir_db_conn_t *conn = *conn_p;
    if (conn->pg)
        PQfinish(conn->pg);
    conn->pg = NULL;
    s_conn_unref(conn); /* statements still out keep the rest until released */
    *conn_p = NULL;
}

static dir_db_conn_t *s_open(const char *url, char *why, size_t why_size)
{
    if (!url || !*url) {
        snprintf(why, why_size, "no database URL");
        return NULL;
    }
    dir_db_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    conn->refs = 1;
    conn->generation = 1; /* a variant's 0 is never prepared */
    /* The URL's own settings (sslmode and the rest) win over these defaults. */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *values[] = {S_CONNECT_TIMEOUT_S, "sso-directory", url, NULL};
    conn->pg = PQconnectdbParams(keys, values, 1);
    if (!conn->pg || PQstatus(conn->pg) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, never the password. */
        snprintf(why, why_size, "cannot connect to PostgreSQL: %s",
                 conn->pg ? PQerrorMessage(conn->pg) : "out of memory");
        size_t len = strlen(why);
        while (len && why[len - 1] == '\n')
            why[--len] = '\0';
        s_close(&conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn->pg, s_notice, NULL);
    if (s_setup(conn) != 0) {
        snprintf(why, why_size, "cannot set up the PostgreSQL connection: %s", conn->error);
        s_close(&conn);
        return NULL;
    }
    return conn;
}

static void s_ready(dir_db_conn_t *conn)
{
    /* Translations are cached from the start (they do not depend on the schema); statements
       are prepared only from here on: the migrations are DDL and run once. */
    conn->ready = true;
}

static const char *s_errmsg(dir_db_conn_t *conn)
{
    if (*conn->error)
        return conn->error;
    return conn->pg ? PQerrorMessage(conn->pg) : "the connection is closed";
}

static int s_exec(dir_db_conn_t *conn, const char *script)
{
    char why[256] = "";
    char *pg = dir_db_dialect_pg(script, NULL, why, sizeof why);
    if (!pg) {
        sso_error("db: %s", why);
        return -1;
    }
    int rc = s_simple(conn, pg);
    free(pg);
    if (rc != 0) {
        sso_error("db: %s", conn->error);
        s_check_connection(conn);
    }
    return rc;
}

/* One integer from a statement without parameters, or from text: -1 on error, 0 for none. */
static int64_t s_simple_int(dir_db_conn_t *conn, const char *sql, int64_t none)
{
    if (!conn->pg || s_send_pending(conn) != 0)
        return -1;
    PGresult *result = PQexec(conn->pg, sql);
    conn->trips++;
    int64_t value = -1;
    if (PQresultStatus(result) != PGRES_TUPLES_OK)
        s_set_error(conn, PQresultErrorMessage(result));
    else if (PQntuples(result) == 0 || PQgetisnull(result, 0, 0))
        value = none;
    else {
        const char *text = PQgetvalue(result, 0, 0);
        char *end = NULL;
        errno = 0;
        long long parsed = strtoll(text, &end, 10);
        if (!strcmp(text, "t"))
            value = 1;
        else if (!strcmp(text, "f"))
            value = 0;
        else if (errno == 0 && end != text && *end == '\0')
            value = parsed;
        else
            s_set_error(conn, "not an integer");
    }
    PQclear(result);
    return value;
}

static int s_schema_version(dir_db_conn_t *conn)
{
    /* Held until the migration's transaction ends: a directory starting at the same time
       waits here, then reads the version the first one left. */
    if (s_simple(conn, "SELECT pg_advisory_xact_lock(" S_MIGRATION_LOCK ")") != 0) {
        sso_error("db: %s", conn->error);
        return -1;
    }
    int64_t has_meta = s_simple_int(conn, "SELECT to_regclass('meta') IS NOT NULL", 0);
    if (has_meta <= 0)
        return (int) has_meta;
    int64_t version = s_simple_int(conn, "SELECT convert_from(value, 'UTF8')::bigint FROM meta "
                                         "WHERE name = 'schema_version'", 0);
    return version < 0 || version > INT_MAX ? -1 : (int) version;
}

static int s_set_schema_version(dir_db_conn_t *conn, int version)
{
    char sql[192];
    /* The number is dir_db's own, never input. */
    snprintf(sql, sizeof sql, "INSERT INTO meta (name, value) VALUES ('schema_version', "
                              "convert_to('%d', 'UTF8')) ON CONFLICT (name) DO UPDATE SET "
                              "value = excluded.value", version);
    int rc = s_simple(conn, sql);
    if (rc != 0)
        sso_error("db: %s", conn->error);
    return rc;
}

static void s_wait_for_locks(dir_db_conn_t *conn, bool wait)
{
    /* BEGIN takes no lock here; waits for rows are bounded by the statement timeout. */
    (void) conn;
    (void) wait;
}

static bool s_in_transaction(dir_db_conn_t *conn)
{
    if (!conn->pg)
        return false;
    PGTransactionStatusType status = PQtransactionStatus(conn->pg);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

static int64_t s_total_changes(dir_db_conn_t *conn)
{
    return conn->total_changes;
}

static int64_t s_changes(dir_db_conn_t *conn)
{
    return conn->changes;
}

/* Whether sql's first word is word (case ignored). */
static bool s_starts_with(const char *sql, const char *word)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
        sql++;
    size_t n = strlen(word);
    return strncasecmp(sql, word, n) == 0 && (sql[n] == '\0' || sql[n] == ' ' || sql[n] == '\n'
                                              || sql[n] == '\t' || sql[n] == ';');
}

/* The cached translation of sql, made now if it is not there yet; NULL when it has none. */
static s_entry_t *s_translation(dir_db_conn_t *conn, const char *sql)
{
    size_t len;
    uint32_t hash = dir_db_sql_hash(sql, &len);
    for (size_t i = 0; i < conn->count; i++) {
        s_entry_t *entry = &conn->cache[i];
        if (entry->hash == hash && entry->len == len && memcmp(entry->sql, sql, len) == 0)
            return entry;
    }
    char why[256] = "";
    int params = 0;
    char *pg = dir_db_dialect_pg(sql, &params, why, sizeof why);
    char *key = pg ? strdup(sql) : NULL;
    if (!key) {
        sso_error("db: %s: %.200s", pg ? "out of memory" : why, sql);
        s_set_error(conn, pg ? "out of memory" : why);
        free(pg);
        return NULL;
    }
    if (conn->count == S_CACHE_SIZE) {
        s_cache_clear(conn);
        /* The server keeps them until told: DEALLOCATE ALL before the next prepare (not now:
           an aborted transaction refuses it). */
        conn->deallocate_all = true;
    }
    s_entry_t *entry = &conn->cache[conn->count++];
    bool write = s_starts_with(pg, "INSERT") || s_starts_with(pg, "UPDATE")
                 || s_starts_with(pg, "DELETE");
    /* No savepoint for what cannot meet a conflict, the one failure callers handle and go
       on after: an INSERT … ON CONFLICT, a DELETE (every foreign key cascades). Anything else
       failing there fails the transaction, which its caller then rolls back; and a savepoint
       per row of a 10,000-member change costs more than the rows. */
    bool guard = write && !s_starts_with(pg, "DELETE") && !strcasestr(pg, "ON CONFLICT");
    bool preparable = write || s_starts_with(pg, "SELECT") || s_starts_with(pg, "WITH")
                      || s_starts_with(pg, "VALUES");
    bool deferrable = params == 0 && strlen(pg) < S_PENDING_LEN
                      && (s_starts_with(pg, "SAVEPOINT") || s_starts_with(pg, "RELEASE")
                          || (s_starts_with(pg, "ROLLBACK") && strcasestr(pg, " TO ")));
    *entry = (s_entry_t) {.sql = key, .len = len, .hash = hash, .pg = pg, .params = params,
                          .write = write, .guard = guard, .preparable = preparable,
                          .deferrable = deferrable};
    return entry;
}

static void s_clear_row(s_stmt_t *stmt)
{
    for (int i = 0; stmt->decoded && i < stmt->columns; i++) {
        free(stmt->decoded[i]);
        stmt->decoded[i] = NULL;
    }
}

static void s_free(s_stmt_t *stmt)
{
    s_clear_row(stmt);
    PQclear(stmt->result);
    for (int i = 0; stmt->owned && i < stmt->params; i++)
        free(stmt->owned[i]);
    free(stmt->owned);
    free(stmt->values);
    free(stmt->lengths);
    free(stmt->formats);
    free(stmt->types);
    free(stmt->ints);
    free(stmt->decoded);
    free(stmt->decoded_len);
    free(stmt->sql);
    free(stmt);
}

static dir_db_stmt_t *s_prepare(dir_db_conn_t *conn, const char *sql)
{
    s_entry_t *entry = s_translation(conn, sql);
    if (!entry)
        return NULL;
    s_stmt_t *stmt = calloc(1, sizeof *stmt);
    if (!stmt) {
        sso_error("db: out of memory");
        return NULL;
    }
    size_t n = entry->params ? (size_t) entry->params : 1;
    stmt->params = entry->params;
    stmt->write = entry->write;
    stmt->guard = entry->guard;
    stmt->deferrable = entry->deferrable;
    stmt->entry = (size_t) (entry - conn->cache);
    stmt->flushes = conn->flushes;
    stmt->sql = strdup(entry->pg);
    stmt->values = calloc(n, sizeof *stmt->values);
    stmt->lengths = calloc(n, sizeof *stmt->lengths);
    stmt->formats = calloc(n, sizeof *stmt->formats);
    stmt->types = calloc(n, sizeof *stmt->types);
    stmt->owned = calloc(n, sizeof *stmt->owned);
    stmt->ints = calloc(n, sizeof *stmt->ints);
    if (!stmt->sql || !stmt->values || !stmt->lengths || !stmt->formats || !stmt->types
        || !stmt->owned || !stmt->ints) {
        sso_error("db: out of memory");
        s_free(stmt);
        return NULL;
    }
    stmt->conn = conn;
    conn->refs++;
    return (dir_db_stmt_t *) stmt;
}

static int s_release(dir_db_stmt_t *head)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    int rc = stmt->failed;
    dir_db_conn_t *conn = stmt->conn;
    s_free(stmt);
    s_conn_unref(conn);
    return rc;
}

/* Parameter index (1-based) ready to take a new value: its slot, or -1 (logged). */
static int s_slot(s_stmt_t *stmt, int index)
{
    if (index < 1 || index > stmt->params || stmt->executed) {
        sso_error("db: bind %d: %s", index, stmt->executed ? "the statement already ran"
                                                            : "no such parameter");
        return -1;
    }
    int slot = index - 1;
    free(stmt->owned[slot]);
    stmt->owned[slot] = NULL;
    stmt->values[slot] = NULL;
    stmt->lengths[slot] = 0;
    stmt->formats[slot] = 0;
    stmt->types[slot] = 0;
    return slot;
}

static int s_bind_null(dir_db_stmt_t *head, int index)
{
    return s_slot((s_stmt_t *) head, index) < 0 ? -1 : 0;
}

static int s_bind_text(dir_db_stmt_t *head, int index, const char *text, bool copy)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    int slot = s_slot(stmt, index);
    if (slot < 0)
        return -1;
    if (copy && !(stmt->owned[slot] = strdup(text))) {
        sso_error("db: out of memory");
        return -1;
    }
    /* Untyped: the server gives it the type its place asks for, as SQLite converts by
       affinity. */
    stmt->values[slot] = copy ? stmt->owned[slot] : text;
    return 0;
}

static int s_bind_int64(dir_db_stmt_t *head, int index, int64_t value)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    int slot = s_slot(stmt, index);
    if (slot < 0)
        return -1;
    snprintf(stmt->ints[slot], sizeof stmt->ints[slot], "%" PRId64, value);
    stmt->values[slot] = stmt->ints[slot];
    stmt->types[slot] = S_INT8OID;
    return 0;
}

static int s_bind_blob(dir_db_stmt_t *head, int index, const void *data, size_t len, bool copy)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    int slot = s_slot(stmt, index);
    if (slot < 0)
        return -1;
    if (len > INT_MAX) {
        sso_error("db: bind %d: a blob of %zu bytes is too long", index, len);
        return -1;
    }
    if (copy || len == 0) {
        if (!(stmt->owned[slot] = malloc(len ? len : 1))) {
            sso_error("db: out of memory");
            return -1;
        }
        if (len)
            memcpy(stmt->owned[slot], data, len);
    }
    stmt->values[slot] = stmt->owned[slot] ? stmt->owned[slot] : (const char *) data;
    stmt->lengths[slot] = (int) len;
    stmt->formats[slot] = 1; /* the bytes as they are */
    stmt->types[slot] = S_BYTEAOID;
    return 0;
}

static int s_param_count(dir_db_stmt_t *head)
{
    return ((s_stmt_t *) head)->params;
}

/* The result of an execution as dir_db's, with the changes counted and the error kept. */
static int s_outcome(dir_db_conn_t *conn, s_stmt_t *stmt, PGresult *result)
{
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        if (stmt->write) {
            const char *tuples = PQcmdTuples(result);
            conn->changes = *tuples ? strtoll(tuples, NULL, 10) : 0;
            conn->total_changes += conn->changes;
        }
        /* PostgreSQL answers COMMIT in a failed transaction with a ROLLBACK, not an error. */
        if (s_starts_with(stmt->sql, "COMMIT") && strcmp(PQcmdStatus(result), "ROLLBACK") == 0) {
            s_set_error(conn, "the transaction had failed and was rolled back");
            return DIR_DB_ERROR;
        }
        return DIR_DB_OK;
    }
    const char *message = PQresultErrorMessage(result);
    s_set_error(conn, message && *message ? message : PQerrorMessage(conn->pg));
    const char *state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    /* Class 23: integrity constraint violation (unique, foreign key, check, not null). */
    if (state && strncmp(state, "23", 2) == 0)
        return DIR_DB_CONFLICT;
    return DIR_DB_ERROR;
}

/* Whether result failed with SQLSTATE state. */
static bool s_state(PGresult *result, const char *state)
{
    const char *got = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    return got && strcmp(got, state) == 0;
}

/* Whether result failed in a way a statement on its own may simply be run again for. */
static bool s_retryable(PGresult *result)
{
    return s_state(result, "40001") || s_state(result, "40P01");
}

/* The prepared variant of stmt's translation for the types bound (made now if there is room),
   or NULL when stmt is not to run prepared: before the migrations end, a utility statement,
   an entry flushed since stmt was made, or more type vectors than S_VARIANTS. */
static s_variant_t *s_variant(s_stmt_t *stmt)
{
    dir_db_conn_t *conn = stmt->conn;
    if (!conn->ready || stmt->flushes != conn->flushes)
        return NULL;
    s_entry_t *entry = &conn->cache[stmt->entry];
    if (!entry->preparable)
        return NULL;
    size_t size = (size_t) stmt->params * sizeof *stmt->types;
    for (int v = 0; v < entry->variant_count; v++) {
        s_variant_t *variant = &entry->variants[v];
        if (!size || !memcmp(variant->types, stmt->types, size))
            return variant;
    }
    if (entry->variant_count == S_VARIANTS)
        return NULL;
    Oid *types = NULL;
    if (size && !(types = malloc(size)))
        return NULL; /* run unprepared */
    if (size)
        memcpy(types, stmt->types, size);
    s_variant_t *variant = &entry->variants[entry->variant_count++];
    *variant = (s_variant_t) {.types = types};
    return variant;
}

/* Sends stmt's execution: the prepared name when name, else its text. 1 if sent. */
static int s_send(PGconn *pg, s_stmt_t *stmt, const char *name)
{
    if (name)
        return PQsendQueryPrepared(pg, name, stmt->params, stmt->values, stmt->lengths,
                                   stmt->formats, 0);
    return PQsendQueryParams(pg, stmt->sql, stmt->params, stmt->types, stmt->values,
                             stmt->lengths, stmt->formats, 0);
}

/* stmt in one round trip (libpq's pipeline mode): after the held-back savepoint commands,
   under a savepoint of its own when guard (SAVEPOINT, the statement, RELEASE), after its
   prepare as name when prepare. The statement's result, or the failure of what ran before it
   (a held-back command, the savepoint, the prepare); NULL when nothing came back. *prepared
   says the prepare succeeded (it stays on the server whatever follows: prepared statements
   are not undone by a rollback). When it failed under guard, the RELEASE did not run and the
   caller rolls back to the savepoint. */
static PGresult *s_pipeline(dir_db_conn_t *conn, s_stmt_t *stmt, const char *name, bool prepare,
                            bool guard, bool *prepared)
{
    PGconn *pg = conn->pg;
    *prepared = false;
    if (PQenterPipelineMode(pg) != 1)
        return NULL;
    conn->trips++;
    enum { S_HELD, S_SAVEPOINT, S_PREPARE, S_RUN, S_RELEASE, S_COMMANDS };
    const bool wanted[S_COMMANDS] = {false, guard, prepare, true, guard};
    int kinds[S_PENDING + S_COMMANDS], commands = 0;
    bool sent = true;
    for (int i = 0; i < conn->pending_count && sent; i++) {
        sent = PQsendQueryParams(pg, conn->pending[i], 0, NULL, NULL, NULL, NULL, 0) == 1;
        kinds[commands++] = S_HELD;
    }
    conn->pending_count = 0;
    for (int kind = 0; kind < S_COMMANDS && sent; kind++) {
        if (!wanted[kind])
            continue;
        if (kind == S_PREPARE)
            sent = PQsendPrepare(pg, name, stmt->sql, stmt->params, stmt->types) == 1;
        else if (kind == S_RUN)
            sent = s_send(pg, stmt, name) == 1;
        else
            sent = PQsendQueryParams(pg, kind == S_SAVEPOINT ? "SAVEPOINT dir_stmt"
                                                             : "RELEASE SAVEPOINT dir_stmt",
                                     0, NULL, NULL, NULL, NULL, 0) == 1;
        kinds[commands++] = kind;
    }
    sent = sent && PQpipelineSync(pg) == 1;
    PGresult *mine = NULL, *before = NULL;
    bool held_failed = false;
    for (int i = 0; i < commands && sent; i++) {
        /* Each command's results end with a NULL; a lost connection gives NULLs at once. */
        for (PGresult *result; (result = PQgetResult(pg));) {
            ExecStatusType status = PQresultStatus(result);
            if (kinds[i] == S_PREPARE && status == PGRES_COMMAND_OK)
                *prepared = true;
            if (kinds[i] == S_RUN && !mine)
                mine = result;
            else if (kinds[i] < S_RUN && !before && status != PGRES_COMMAND_OK) {
                held_failed = kinds[i] == S_HELD;
                before = result;
            }
            else
                PQclear(result);
        }
    }
    PGresult *sync = sent ? PQgetResult(pg) : NULL; /* PGRES_PIPELINE_SYNC */
    PQclear(sync);
    if (PQexitPipelineMode(pg) != 1)
        sso_warn("db: %s", PQerrorMessage(pg)); /* a lost connection: the reset clears it */
    if (PQstatus(pg) == CONNECTION_OK && PQpipelineStatus(pg) != PQ_PIPELINE_OFF) {
        /* A send failed part-way (no sync went): commands wait unread in the pipeline, which
           would answer the next statement with their results. Only a new session is clean. */
        s_set_error(conn, "a pipeline could not be sent whole; the session is replaced");
        sso_error("db: %s", conn->error);
        s_reconnect_now(conn);
        PQclear(mine);
        PQclear(before);
        return NULL;
    }
    if (before) {
        PQclear(mine); /* aborted with the pipeline */
        if (held_failed) {
            s_set_error(conn, PQresultErrorMessage(before));
            s_pending_failed(conn);
        }
        return before;
    }
    return mine;
}

/* Runs stmt once, prepared when its variant is ready or due. */
static PGresult *s_run(s_stmt_t *stmt, bool guard)
{
    dir_db_conn_t *conn = stmt->conn;
    PGTransactionStatusType status = PQtransactionStatus(conn->pg);
    /* Nothing is prepared in an aborted transaction: the server refuses everything there but
       its end, and the statement fails as it would unprepared. */
    s_variant_t *variant = status == PQTRANS_INERROR ? NULL : s_variant(stmt);
    if (variant && conn->deallocate_all) {
        if (s_simple(conn, "DEALLOCATE ALL") == 0)
            conn->deallocate_all = false;
        else if (status == PQTRANS_INTRANS && PQtransactionStatus(conn->pg) != PQTRANS_INTRANS)
            return NULL; /* a held-back command failed first and rolled the transaction back:
                            the statement must not now run on its own, outside it */
        else
            variant = NULL;
    }
    bool prepared = variant && variant->generation == conn->generation;
    bool prepare = variant && !prepared && ++variant->runs >= 2;
    char name[32] = "";
    if (prepared || prepare) {
        if (!variant->name)
            variant->name = ++conn->names;
        snprintf(name, sizeof name, "dir_%" PRIu64, variant->name);
    }
    bool made = false;
    PGresult *result;
    if (guard || prepare || conn->pending_count)
        result = s_pipeline(conn, stmt, *name ? name : NULL, prepare, guard, &made);
    else {
        conn->trips++;
        result = prepared ? PQexecPrepared(conn->pg, name, stmt->params, stmt->values,
                                           stmt->lengths, stmt->formats, 0)
                          : PQexecParams(conn->pg, stmt->sql, stmt->params, stmt->types,
                                         stmt->values, stmt->lengths, stmt->formats, 0);
    }
    if (made) {
        variant->generation = conn->generation;
        conn->prepares++;
    }
    /* A plan the schema changed under (another directory's migration altered a table it
       reads): "cached plan must not change result type". A migration changes several tables:
       every statement is prepared again, after a DEALLOCATE ALL. */
    if ((prepared || made) && s_state(result, "0A000")) {
        conn->generation++;
        conn->deallocate_all = true;
    }
    return result;
}

static int s_execute(s_stmt_t *stmt)
{
    dir_db_conn_t *conn = stmt->conn;
    stmt->executed = true;
    if (!conn->pg) {
        s_set_error(conn, "the connection is closed");
        return DIR_DB_ERROR;
    }
    /* A session whose settings failed after a reconnection (statement_timeout bounds every
       lock wait) runs nothing until they are made. */
    if (conn->unset && PQstatus(conn->pg) == CONNECTION_OK)
        conn->unset = s_setup(conn) != 0;
    if (conn->unset) {
        s_set_error(conn, "the PostgreSQL session is not set up (reconnecting)");
        s_check_connection(conn);
        return DIR_DB_ERROR;
    }
    /* COMMIT with no transaction (a reset connection lost it) is a failure, as in SQLite. */
    if (s_starts_with(stmt->sql, "COMMIT") && PQtransactionStatus(conn->pg) == PQTRANS_IDLE) {
        s_set_error(conn, "no transaction to commit");
        return DIR_DB_ERROR;
    }
    /* A savepoint command in a sound transaction cannot fail but for a missing savepoint
       (which s_pending_failed makes the transaction's failure): it goes with the next round
       trip, and the batch's savepoint per request costs none of its own. Not in a failed
       transaction, whose status only the server's answer changes. */
    if (stmt->deferrable && PQtransactionStatus(conn->pg) == PQTRANS_INTRANS
        && conn->pending_count < S_PENDING) {
        snprintf(conn->pending[conn->pending_count++], S_PENDING_LEN, "%s", stmt->sql);
        return DIR_DB_OK;
    }
    /* A write inside a transaction under a savepoint of its own, so that its failure (a
       conflict the caller expects and handles) leaves the transaction going, as in SQLite. */
    bool guard = stmt->guard && PQtransactionStatus(conn->pg) == PQTRANS_INTRANS;
    bool replanned = false;
    for (int attempt = 0;; attempt++) {
        PGresult *result = s_run(stmt, guard);
        int rc = s_outcome(conn, stmt, result);
        /* (Not when a held-back command's failure has rolled the transaction back.) */
        if (guard && rc != DIR_DB_OK && PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
            s_simple(conn, "ROLLBACK TO SAVEPOINT dir_stmt; RELEASE SAVEPOINT dir_stmt");
        bool alone = PQtransactionStatus(conn->pg) == PQTRANS_IDLE;
        /* A stale plan fails before the statement does anything: on its own or under its
           savepoint it runs again, prepared anew; in a transaction the transaction has failed
           (its caller rolls it back) and the next run prepares anew. */
        if (rc == DIR_DB_ERROR && !replanned && s_state(result, "0A000") && (guard || alone)) {
            replanned = true;
            PQclear(result);
            continue;
        }
        if (rc == DIR_DB_ERROR && !guard && attempt < S_RETRIES && s_retryable(result) && alone) {
            PQclear(result);
            continue;
        }
        if (rc != DIR_DB_OK) {
            PQclear(result);
            s_check_connection(conn);
            return rc;
        }
        stmt->result = result;
        stmt->rows = PQntuples(result);
        stmt->columns = PQnfields(result);
        stmt->row = -1;
        if (stmt->columns > 0) {
            stmt->decoded = calloc((size_t) stmt->columns, sizeof *stmt->decoded);
            stmt->decoded_len = calloc((size_t) stmt->columns, sizeof *stmt->decoded_len);
            if (!stmt->decoded || !stmt->decoded_len) {
                s_set_error(conn, "out of memory");
                return DIR_DB_ERROR;
            }
        }
        return DIR_DB_OK;
    }
}

static int s_step(dir_db_stmt_t *head)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    if (stmt->failed)
        return stmt->failed;
    if (!stmt->executed) {
        int rc = s_execute(stmt);
        if (rc != DIR_DB_OK) {
            stmt->failed = rc;
            return rc;
        }
    }
    if (!stmt->result)
        return DIR_DB_DONE;
    s_clear_row(stmt);
    if (stmt->row < stmt->rows)
        stmt->row++;
    return stmt->row < stmt->rows ? DIR_DB_ROW : DIR_DB_DONE;
}

static int s_column_count(dir_db_stmt_t *head)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    /* Known once the statement ran (its parameters are bound by then: callers ask just before
       the first step); its first step then reads the rows this brought. */
    if (!stmt->executed && !stmt->failed) {
        int rc = s_execute(stmt);
        if (rc != DIR_DB_OK)
            stmt->failed = rc;
    }
    return stmt->result ? stmt->columns : 0;
}

/* Whether the current row has column. */
static bool s_has(const s_stmt_t *stmt, int column)
{
    return stmt->result && stmt->row >= 0 && stmt->row < stmt->rows && column >= 0
           && column < stmt->columns;
}

static bool s_is_null(dir_db_stmt_t *head, int column)
{
    s_stmt_t *stmt = (s_stmt_t *) head;
    return !s_has(stmt, column) || PQgetisnull(stmt->result, stmt->row, column);
}

/* The column's value as SQLite would give it: bytea's bytes, a boolean as "1" or "0", the
   rest as PostgreSQL writes it. NULL for SQL NULL. */
static const char *s_value(s_stmt_t *stmt, int column, size_t *len)
{
    *len = 0;
    if (s_is_null((dir_db_stmt_t *) stmt, column))
        return NULL;
    const char *text = PQgetvalue(stmt->result, stmt->row, column);
    Oid type = PQftype(stmt->result, column);
    if (type != S_BYTEAOID && type != S_BOOLOID) {
        *len = (size_t) PQgetlength(stmt->result, stmt->row, column);
        return text;
    }
    if (!stmt->decoded[column]) {
        size_t n = 0;
        unsigned char *bytes = NULL;
        if (type == S_BYTEAOID && !(bytes = PQunescapeBytea((const unsigned char *) text, &n)))
            return NULL;
        char *copy = malloc(n + 2);
        if (copy && type == S_BYTEAOID)
            memcpy(copy, bytes, n);
        else if (copy) {
            copy[0] = text[0] == 't' ? '1' : '0';
            n = 1;
        }
        PQfreemem(bytes);
        if (!copy)
            return NULL;
        copy[n] = '\0';
        stmt->decoded[column] = copy;
        stmt->decoded_len[column] = n;
    }
    *len = stmt->decoded_len[column];
    return stmt->decoded[column];
}

static int64_t s_int64(dir_db_stmt_t *head, int column)
{
    size_t len;
    const char *text = s_value((s_stmt_t *) head, column, &len);
    if (!text)
        return 0;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end && *end == '.') /* numeric, as sum() gives: its integer part, as SQLite casts */
        return (int64_t) strtod(text, NULL);
    return value;
}

static const char *s_text(dir_db_stmt_t *head, int column)
{
    size_t len;
    return s_value((s_stmt_t *) head, column, &len);
}

static const void *s_blob(dir_db_stmt_t *head, int column, size_t *len)
{
    const char *value = s_value((s_stmt_t *) head, column, len);
    if (!value || *len == 0) {
        *len = 0;
        return NULL;
    }
    return value;
}

static int64_t s_reconnect(dir_db_conn_t *conn)
{
    s_check_connection(conn);
    return conn->pg && PQstatus(conn->pg) == CONNECTION_OK && !conn->unset
               ? (int64_t) conn->resets
               : -1;
}

const dir_db_engine_t dir_db_pg_engine = {
    .name = "postgresql",
    .open = s_open,
    .ready = s_ready,
    .close = s_close,
    .errmsg = s_errmsg,
    .exec = s_exec,
    .schema_version = s_schema_version,
    .set_schema_version = s_set_schema_version,
    .begin_write_sql = "BEGIN ISOLATION LEVEL READ COMMITTED",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ",
    .wait_for_locks = s_wait_for_locks,
    .in_transaction = s_in_transaction,
    .total_changes = s_total_changes,
    .changes = s_changes,
    .prepare = s_prepare,
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
    .reconnect = s_reconnect,
};

int dir_db_pg_url_with_database(const char *url, const char *name, char *out, size_t size)
{
    const char *rest = NULL;
    if (!url || !name || !*name)
        return -1;
    if (strncmp(url, "postgres://", 11) == 0)
        rest = url + 11;
    else if (strncmp(url, "postgresql://", 13) == 0)
        rest = url + 13;
    if (!rest)
        return -1;
    size_t authority = strcspn(rest, "/?");
    const char *query = strchr(rest + authority, '?');
    int n = snprintf(out, size, "%.*s/%s%s", (int) (rest - url + authority), url, name,
                     query ? query : "");
    return n < 0 || (size_t) n >= size ? -1 : 0;
}

/* ---- self-test: against a real server, a database of its own --------------------------- */

/* One statement on server url (its own connection); 0 or -1 (printed). */
static int s_admin(const char *url, const char *sql)
{
    PGconn *admin = PQconnectdb(url);
    PGresult *result = PQexec(admin, sql);
    int rc = PQresultStatus(result) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(admin));
    PQclear(result);
    PQfinish(admin);
    return rc;
}

int dir_db_pg_test_database(const char *url, char *name, size_t name_size, char *out,
                            size_t size)
{
    static unsigned made;
    snprintf(name, name_size, "sso_selftest_%ld_%ld_%u", (long) getpid(), (long) time(NULL),
             made++);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    return dir_db_pg_url_with_database(url, name, out, size) == 0 && s_admin(url, sql) == 0
               ? 0
               : -1;
}

int dir_db_pg_test_drop(const char *url, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", name);
    return s_admin(url, sql);
}

static int s_org(dir_db_t *db, const char *id)
{
    return dir_db_run(db, NULL, "INSERT INTO organizations (id, display_name, created_at, "
                                "updated_at) VALUES (?, ?, 1, 1)", "ss", id, id);
}

typedef struct {
    const char *url;
    dir_db_t *db;
    char why[256];
    int changes;
    int rc;
} s_job_t;

static void *s_open_job(void *arg)
{
    s_job_t *job = arg;
    job->db = dir_db_open_url(job->url, job->why, sizeof job->why);
    return NULL;
}

/* The second writer of a single-use row: waits for the first, then finds it used. */
static void *s_use_job(void *arg)
{
    s_job_t *job = arg;
    job->rc = -1;
    if (dir_db_begin(job->db) == 0
        && dir_db_run(job->db, &job->changes, "UPDATE once SET used = 1 WHERE id = 1 AND "
                                              "used = 0", NULL) == DIR_DB_OK
        && dir_db_commit(job->db) == 0)
        job->rc = 0;
    dir_db_rollback(job->db);
    return NULL;
}

/* Directories that start together migrate once; a database from the future is refused. */
static void s_test_open(const char *url)
{
    s_job_t jobs[3] = {{.url = url}, {.url = url}, {.url = url}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        SSO_CHECK(pthread_create(&threads[i], NULL, s_open_job, &jobs[i]) == 0);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 3; i++)
        SSO_CHECK(jobs[i].db != NULL);
    dir_db_t *db = jobs[0].db;
    SSO_CHECK(db && dir_db_int(db, "SELECT convert_from(value, 'UTF8')::bigint FROM meta WHERE "
                                   "name = 'schema_version'", NULL) == dir_db_schema_version());
    SSO_CHECK(db && dir_db_int(db, "SELECT count(*) FROM information_schema.tables WHERE "
                                   "table_name IN ('organizations', 'login_transactions', "
                                   "'scim_group_members', 'webhook_attempts')", NULL) == 4);
    /* The identity column numbers rows as AUTOINCREMENT did; the timeout is set. */
    SSO_CHECK(db && s_org(db, "org_a") == DIR_DB_OK && s_org(db, "org_b") == DIR_DB_OK);
    SSO_CHECK(db && dir_db_int(db, "SELECT max(seq) - min(seq) FROM organizations", NULL) == 1);
    dir_db_stmt_t *stmt = db ? dir_db_query(db, "SHOW statement_timeout", NULL) : NULL;
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && !strcmp(dir_db_text(stmt, 0), "10s"));
    dir_db_release(stmt);
    for (int i = 0; i < 3; i++)
        dir_db_destroy(&jobs[i].db);

    db = dir_db_open_url(url, jobs[0].why, sizeof jobs[0].why);
    SSO_CHECK(db && dir_db_run(db, NULL, "UPDATE meta SET value = convert_to('999', 'UTF8') "
                                         "WHERE name = 'schema_version'", NULL) == DIR_DB_OK);
    dir_db_destroy(&db);
    char why[256] = "";
    SSO_CHECK(dir_db_open_url(url, why, sizeof why) == NULL && strstr(why, "newer"));
}

/* Binds and columns of every type, conflicts, transactions, the batch. */
static void s_test_statements(dir_db_t *db, dir_db_t *other)
{
    SSO_CHECK(dir_db_run(db, NULL, "CREATE TABLE v (n INTEGER, s TEXT, b BLOB)", NULL)
              == DIR_DB_OK);
    const char hostile[] = "Robert'); DROP TABLE v;-- \\x00 ?1 $1";
    const unsigned char bytes[] = {0, '\\', 'x', 0xff, 0, '\'', 7};
    int64_t big = INT64_C(1) << 62;
    int changes = 0;
    SSO_CHECK(dir_db_run(db, &changes, "INSERT INTO v (n, s, b) VALUES (?, ?, ?), (?, ?, ?)",
                         "isbisb", big, hostile, bytes, sizeof bytes, (int64_t) -5, NULL, NULL,
                         (size_t) 0) == DIR_DB_OK && changes == 2);
    dir_db_stmt_t *stmt = dir_db_query(db, "SELECT n, s, b, n IS NULL, s IS NULL FROM v ORDER "
                                           "BY n DESC", NULL);
    size_t len = 0;
    SSO_CHECK(stmt && dir_db_column_count(stmt) == 5); /* before the first step, as a page asks */
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_column_count(stmt) == 5);
    const void *blob = stmt ? dir_db_blob(stmt, 2, &len) : NULL;
    SSO_CHECK(stmt && dir_db_int64(stmt, 0) == big && !strcmp(dir_db_text(stmt, 1), hostile)
              && blob && len == sizeof bytes && !memcmp(blob, bytes, len)
              && dir_db_int64(stmt, 3) == 0 && !strcmp(dir_db_text(stmt, 3), "0"));
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_int64(stmt, 0) == -5
              && dir_db_is_null(stmt, 1) && !strcmp(dir_db_text(stmt, 1), "")
              && dir_db_blob(stmt, 2, &len) == NULL && len == 0 && dir_db_int64(stmt, 4) == 1);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_DONE && dir_db_step(stmt) == DIR_DB_DONE);
    SSO_CHECK(dir_db_release(stmt) == DIR_DB_OK);
    /* An empty blob is one, not NULL; a parameter left unbound is NULL; too many binds and
       SQL the dialect refuses do not prepare. */
    SSO_CHECK(dir_db_int(db, "SELECT length(?)", "b", "", (size_t) 0) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM v WHERE s IS NOT DISTINCT FROM ?2 AND ?1 = 1",
                         "i", (int64_t) 1) == 1);
    SSO_CHECK(dir_db_query(db, "SELECT ?", "ss", "one", "two") == NULL);
    SSO_CHECK(dir_db_query(db, "INSERT OR REPLACE INTO v (n) VALUES (1)", NULL) == NULL);
    SSO_CHECK(dir_db_run(db, NULL, "SELECT nope FROM nowhere", NULL) == DIR_DB_ERROR);
    /* The dialect at work: SQLite's forms give SQLite's answers. */
    SSO_CHECK(dir_db_int(db, "SELECT min(?, 3) + max(1, 2) + instr('abc', 'c')", "i",
                         (int64_t) 7) == 8);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM v WHERE s LIKE 'robert%'", NULL) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT json_extract('{\"a\":{\"b\":42}}', '$.a.b') = '42'", NULL)
              == 1);
    stmt = dir_db_query(db, "SELECT group_concat(n, ';') FROM (SELECT n FROM v ORDER BY n) AS o",
                        NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && !strcmp(dir_db_text(stmt, 0),
                                                                 "-5;4611686018427387904"));
    dir_db_release(stmt);

    /* Conflicts: a duplicate, a missing parent; inside a transaction they undo only their
       own statement, as in SQLite. */
    SSO_CHECK(s_org(db, "org_1") == DIR_DB_OK && s_org(db, "org_1") == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO domains (id, organization_id, domain, "
                                   "created_at) VALUES ('d', 'org_none', 'x.com', 1)", NULL)
              == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_run(db, NULL, "INSERT OR IGNORE INTO organizations (id, display_name, "
                                   "created_at, updated_at) VALUES ('org_1', 'x', 1, 1)", NULL)
              == DIR_DB_OK);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_2") == DIR_DB_OK
              && s_org(db, "org_1") == DIR_DB_CONFLICT && s_org(db, "org_3") == DIR_DB_OK);
    stmt = dir_db_query(db, "INSERT INTO organizations (id, display_name, created_at, "
                            "updated_at) VALUES ('org_1', '', 1, 1)", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_release(stmt) == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id IN ('org_2', "
                                "'org_3')", NULL) == 0);
    SSO_CHECK(dir_db_commit(db) == 0 && dir_db_last_commit_wrote(db));
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id IN ('org_2', "
                                "'org_3')", NULL) == 2);
    /* A transaction PostgreSQL aborted (a read failed in it): its COMMIT is a failure. */
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_4") == DIR_DB_OK
              && dir_db_int(db, "SELECT nope FROM nowhere", NULL) == -1);
    SSO_CHECK(dir_db_commit(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id = 'org_4'", NULL)
              == 0);
    /* Rolled back; a read transaction's snapshot does not move. */
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_5") == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations WHERE id = 'org_5'", NULL) == 0);
    SSO_CHECK(dir_db_begin_read(db) == 0);
    int64_t before = dir_db_int(db, "SELECT count(*) FROM organizations", NULL);
    SSO_CHECK(s_org(other, "org_6") == DIR_DB_OK);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM organizations", NULL) == before);
    SSO_CHECK(dir_db_commit(db) == 0 && !dir_db_last_commit_wrote(db));

    /* The batch: requests' savepoints, nothing visible before its end, and the count of
       writes. */
    dir_db_writes_take(db);
    SSO_CHECK(dir_db_batch_begin(db) == 0 && dir_db_batch_intact(db));
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_b1") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_b2") == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(s_org(db, "org_b3") == DIR_DB_OK && s_org(db, "org_b3") == DIR_DB_CONFLICT);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id LIKE 'org_b%'",
                         NULL) == 0);
    SSO_CHECK(dir_db_batch_intact(db) && dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id LIKE 'org_b%'",
                         NULL) == 2);
    SSO_CHECK(dir_db_writes_take(db) == 1);
}

/* The statements db's session holds prepared on the server (this count's own excepted). */
static int64_t s_prepared_count(dir_db_t *db)
{
    return dir_db_int(db, "SELECT count(*) FROM pg_prepared_statements WHERE statement NOT LIKE "
                          "'%pg_prepared_statements%'", NULL);
}

/* n texts run once each (one-off texts: never prepared), numbered from base. 0 or -1. */
static int s_one_offs(dir_db_t *db, int base, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT %d + 0", base + i);
        if (dir_db_int(db, sql, NULL) != base + i)
            rc = -1;
    }
    return rc;
}

/* Server-side prepared statements: from a text's second run, one per vector of types bound;
   forgotten when the cache flushes (and deallocated), when the schema changes under them, in
   an aborted transaction never made. */
static void s_test_prepared(dir_db_t *db, dir_db_t *other)
{
    dir_db_conn_t *conn = dir_db_conn(db);
    /* A one-off text is not prepared; the second run of one is, once. */
    uint64_t prepares = conn->prepares;
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM v WHERE n > ?", "i", (int64_t) 0) == 1);
    SSO_CHECK(conn->prepares == prepares);
    for (int i = 0; i < 3; i++)
        SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM v WHERE n > ?", "i", (int64_t) -9) == 2);
    SSO_CHECK(conn->prepares == prepares + 1);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM pg_prepared_statements WHERE statement = "
                             "'SELECT count(*) FROM v WHERE n > $1'", NULL) == 1);

    /* One text, three vectors of types: a blob (bytea), a text or NULL (untyped), an int8.
       Each run as it would be unprepared: "\x41" is four characters, not the byte 'A'. */
    const unsigned char bytes[] = {0, 1, 2, '\\', 'x', 0xff, 0};
    prepares = conn->prepares;
    for (int i = 0; i < 2; i++) {
        SSO_CHECK(dir_db_int(db, "SELECT coalesce(length(?), -7)", "b", bytes, sizeof bytes)
                  == (int64_t) sizeof bytes);
        SSO_CHECK(dir_db_int(db, "SELECT coalesce(length(?), -7)", "s", "\\x41") == 4);
        SSO_CHECK(dir_db_int(db, "SELECT coalesce(length(?), -7)", "s", NULL) == -7);
        SSO_CHECK(dir_db_int(db, "SELECT coalesce(length(?), -7)", "b", NULL, (size_t) 0) == -7);
    }
    SSO_CHECK(conn->prepares == prepares + 2);
    for (int i = 0; i < 2; i++) {
        dir_db_stmt_t *stmt = dir_db_query(db, "SELECT ?", "i", (int64_t) 42);
        SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && !strcmp(dir_db_text(stmt, 0), "42"));
        dir_db_release(stmt);
        stmt = dir_db_query(db, "SELECT ?", "s", "forty-two");
        SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW
                  && !strcmp(dir_db_text(stmt, 0), "forty-two"));
        dir_db_release(stmt);
        stmt = dir_db_query(db, "SELECT ?", "s", NULL);
        SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_is_null(stmt, 0));
        dir_db_release(stmt);
    }

    /* In an aborted transaction nothing is prepared and the connection stays sound: the text
       due its prepare fails there as any statement does, then runs (and is prepared) after. */
    prepares = conn->prepares;
    SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 1) == 12);
    SSO_CHECK(dir_db_begin(db) == 0 && dir_db_int(db, "SELECT nope FROM nowhere", NULL) == -1);
    SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 2) == -1);
    dir_db_rollback(db);
    SSO_CHECK(conn->prepares == prepares);
    SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 3) == 14);
    SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 4) == 15);
    SSO_CHECK(conn->prepares == prepares + 1);

    /* A guarded write prepared in the pipeline of a conflict: the rollback to its savepoint
       keeps the prepared statement (they are not transactional), and it goes on working. */
    SSO_CHECK(dir_db_begin(db) == 0);
    for (int i = 0; i < 3; i++)
        SSO_CHECK(s_org(db, "org_1") == DIR_DB_CONFLICT);
    SSO_CHECK(s_org(db, "org_p1") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id = 'org_p1'", NULL)
              == 1);

    /* The schema changes under a prepared statement (another directory's migration): on its
       own it is prepared again and runs; inside a transaction that one transaction fails, and
       the next run is prepared again. The others are prepared again too. */
    SSO_CHECK(dir_db_run(db, NULL, "CREATE TABLE w (a INTEGER)", NULL) == DIR_DB_OK
              && dir_db_run(db, NULL, "INSERT INTO w (a) VALUES (1)", NULL) == DIR_DB_OK);
    for (int i = 0; i < 3; i++) {
        dir_db_stmt_t *stmt = dir_db_query(db, "SELECT * FROM w", NULL);
        SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_column_count(stmt) == 1);
        dir_db_release(stmt);
    }
    SSO_CHECK(dir_db_run(other, NULL, "ALTER TABLE w ADD COLUMN b TEXT", NULL) == DIR_DB_OK);
    dir_db_stmt_t *stmt = dir_db_query(db, "SELECT * FROM w", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_column_count(stmt) == 2);
    dir_db_release(stmt);
    SSO_CHECK(dir_db_run(other, NULL, "ALTER TABLE w ADD COLUMN c TEXT", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_begin_read(db) == 0);
    stmt = dir_db_query(db, "SELECT * FROM w", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ERROR);
    dir_db_release(stmt);
    dir_db_rollback(db);
    stmt = dir_db_query(db, "SELECT * FROM w", NULL);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_column_count(stmt) == 3);
    dir_db_release(stmt);
    SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 5) == 16);

    /* The cache's flush: the translations go and the server's prepared statements with them,
       also when it comes in an aborted transaction; a statement out across it still runs. */
    SSO_CHECK(s_prepared_count(db) == 2); /* since the schema change: w, 11 + ? */
    stmt = dir_db_query(db, "SELECT 11 + ?", "i", (int64_t) 6);
    /* Up to a full cache, one more to flush it, then another text, prepared, in the place
       the statement out had: it must not run that one. */
    size_t index = stmt ? ((s_stmt_t *) stmt)->entry : 0;
    SSO_CHECK(index > 0);
    SSO_CHECK(s_one_offs(db, 1000, (int) (S_CACHE_SIZE - conn->count) + 1) == 0);
    SSO_CHECK(conn->count == 1 && s_one_offs(db, 2000, (int) index - 1) == 0);
    for (int i = 0; i < 2; i++)
        SSO_CHECK(dir_db_int(db, "SELECT 100 + ?", "i", (int64_t) 6) == 106);
    SSO_CHECK(stmt && dir_db_step(stmt) == DIR_DB_ROW && dir_db_int64(stmt, 0) == 17);
    dir_db_release(stmt);
    for (int i = 0; i < 2; i++)
        SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 7) == 18);
    SSO_CHECK(s_prepared_count(db) == 2); /* 100 + ?, 11 + ? */
    SSO_CHECK(dir_db_begin(db) == 0 && dir_db_int(db, "SELECT nope FROM nowhere", NULL) == -1);
    SSO_CHECK(s_one_offs(db, 3000, S_CACHE_SIZE) == -1);
    dir_db_rollback(db);
    for (int i = 0; i < 2; i++)
        SSO_CHECK(dir_db_int(db, "SELECT 11 + ?", "i", (int64_t) 8) == 19);
    SSO_CHECK(s_prepared_count(db) == 1);
}

/* The batch's savepoints go with the statements' round trips; a held-back one that fails
   fails its whole transaction. */
static void s_test_held_back(dir_db_t *db, dir_db_t *other)
{
    dir_db_conn_t *conn = dir_db_conn(db);
    for (int i = 0; i < 2; i++) /* prepared first, so that only the batch is counted */
        SSO_CHECK(s_org(db, "org_1") == DIR_DB_CONFLICT);
    uint64_t trips = conn->trips;
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h1") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h2") == DIR_DB_OK);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_1") == DIR_DB_CONFLICT
              && s_org(db, "org_h3") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && dir_db_commit(db) == 0); /* a request that wrote nothing */
    SSO_CHECK(dir_db_batch_intact(db) && dir_db_batch_end(db) == 0);
    /* BEGIN; each insert; the conflict and its rollback to its own savepoint; COMMIT. */
    SSO_CHECK(conn->trips - trips == 7);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id LIKE 'org_h%'",
                         NULL) == 2);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id = 'org_h2'", NULL)
              == 0);

    /* A savepoint that is not there: the statement it went with fails, and the transaction is
       rolled back whole, the work before it too. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h4") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "RELEASE SAVEPOINT nowhere", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == 0); /* its RELEASE held back behind the failing one */
    /* The next request's rollback to its savepoint must not find the first one's instead,
       undo that work and let the batch commit without it. */
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h5") == DIR_DB_ERROR);
    dir_db_rollback(db);
    SSO_CHECK(!dir_db_batch_intact(db));
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id IN ('org_h4', "
                                "'org_h5')", NULL) == 0);
    /* The same on its own in a transaction, before its COMMIT. */
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h6") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, "ROLLBACK TO SAVEPOINT nowhere", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_commit(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id = 'org_h6'", NULL)
              == 0);
    SSO_CHECK(s_org(db, "org_h7") == DIR_DB_OK);
    /* The same when the statement after the failing one first sends DEALLOCATE ALL (after a
       flush, or a plan another directory's migration made stale): the held command fails
       there and rolls the batch back; the statement must then fail, not run (and commit) on
       its own outside it. */
    SSO_CHECK(dir_db_batch_begin(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_h8") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_begin(db) == 0);
    SSO_CHECK(dir_db_run(db, NULL, "RELEASE SAVEPOINT nowhere", NULL) == DIR_DB_OK);
    conn->deallocate_all = true;
    int deleted = -1;
    SSO_CHECK(dir_db_run(db, &deleted, "DELETE FROM organizations WHERE id = ?", "s", "org_h7")
              == DIR_DB_ERROR);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_batch_end(db) == -1);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id IN ('org_h7', "
                                "'org_h8')", NULL) == 1);
}

/* Exactly one of two directories uses a single-use row, the second waiting for the first. */
static void s_test_exactly_once(dir_db_t *db, dir_db_t *other)
{
    SSO_CHECK(dir_db_run(db, NULL, "CREATE TABLE once (id INTEGER PRIMARY KEY, used INTEGER "
                                   "NOT NULL)", NULL) == DIR_DB_OK);
    for (int round = 0; round < 5; round++) {
        SSO_CHECK(dir_db_run(db, NULL, "INSERT INTO once (id, used) VALUES (1, 0) ON CONFLICT "
                                       "(id) DO UPDATE SET used = 0", NULL) == DIR_DB_OK);
        int first = 0;
        SSO_CHECK(dir_db_begin(db) == 0
                  && dir_db_run(db, &first, "UPDATE once SET used = 1 WHERE id = 1 AND used = 0",
                                NULL) == DIR_DB_OK && first == 1);
        s_job_t job = {.db = other, .changes = -1};
        pthread_t thread;
        SSO_CHECK(pthread_create(&thread, NULL, s_use_job, &job) == 0);
        usleep(50 * 1000); /* the other is waiting for the row now (or soon: either way) */
        SSO_CHECK(dir_db_commit(db) == 0);
        pthread_join(thread, NULL);
        SSO_CHECK(job.rc == 0 && job.changes == 0);
    }
}

/* A statement on a connection the server dropped fails; the next one works. Statements out
   when the database is destroyed stay readable. */
static void s_test_reconnect(dir_db_t *db, dir_db_t *other)
{
    int64_t pid = dir_db_int(db, "SELECT pg_backend_pid()", NULL);
    SSO_CHECK(pid > 0
              && dir_db_int(other, "SELECT pg_terminate_backend(?::int)::int", "i", pid) == 1);
    uint64_t resets = dir_db_conn(db)->resets;
    SSO_CHECK(dir_db_int(db, "SELECT 1", NULL) == -1);
    SSO_CHECK(dir_db_conn(db)->resets == resets + 1);
    SSO_CHECK(dir_db_int(db, "SELECT 2", NULL) == 2);
    SSO_CHECK(dir_db_int(db, "SELECT pg_backend_pid()", NULL) != pid);
    /* The new session holds none of the old one's prepared statements: prepared again. */
    uint64_t prepares = dir_db_conn(db)->prepares;
    for (int i = 0; i < 3; i++)
        SSO_CHECK(dir_db_int(db, "SELECT 30 + ?", "i", (int64_t) i) == 30 + i);
    SSO_CHECK(dir_db_conn(db)->prepares == prepares + 1);
    pid = dir_db_int(db, "SELECT pg_backend_pid()", NULL);
    SSO_CHECK(dir_db_int(other, "SELECT pg_terminate_backend(?::int)::int", "i", pid) == 1);
    SSO_CHECK(dir_db_int(db, "SELECT 1", NULL) == -1);
    SSO_CHECK(dir_db_int(db, "SELECT 30 + ?", "i", (int64_t) 5) == 35);
    SSO_CHECK(dir_db_int(db, "SELECT 30 + ?", "i", (int64_t) 6) == 36);
    SSO_CHECK(dir_db_conn(db)->prepares == prepares + 2);
    /* In a transaction: it fails with it, and the next transaction works. */
    pid = dir_db_int(db, "SELECT pg_backend_pid()", NULL);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_r1") == DIR_DB_OK);
    SSO_CHECK(dir_db_int(other, "SELECT pg_terminate_backend(?::int)::int", "i", pid) == 1);
    SSO_CHECK(s_org(db, "org_r2") == DIR_DB_ERROR);
    SSO_CHECK(dir_db_commit(db) == -1);
    dir_db_rollback(db);
    SSO_CHECK(dir_db_begin(db) == 0 && s_org(db, "org_r3") == DIR_DB_OK && dir_db_commit(db) == 0);
    SSO_CHECK(dir_db_int(other, "SELECT count(*) FROM organizations WHERE id LIKE 'org_r%'",
                         NULL) == 1);
    /* What the request loop asks when a batch does not begin: the connection was lost and
       is back (so begin again), once; a failure of another kind is not a lost connection. */
    dir_db_reconnect(db);
    SSO_CHECK(dir_db_reconnect(db) == 0);
    pid = dir_db_int(db, "SELECT pg_backend_pid()", NULL);
    SSO_CHECK(dir_db_int(other, "SELECT pg_terminate_backend(?::int)::int", "i", pid) == 1);
    SSO_CHECK(dir_db_batch_begin(db) == -1);
    SSO_CHECK(dir_db_reconnect(db) == 1 && dir_db_reconnect(db) == 0);
    SSO_CHECK(dir_db_batch_begin(db) == 0 && s_org(db, "org_r4") == DIR_DB_OK
              && dir_db_batch_end(db) == 0);
    SSO_CHECK(dir_db_int(db, "SELECT nosuchcolumn", NULL) == -1 && dir_db_reconnect(db) == 0);
}

void dir_db_pg_test(bool verbose)
{
    (void) verbose;
    char out[256];
    SSO_CHECK(dir_db_pg_url_with_database("postgres://u:p@h:5/db?sslmode=require", "x", out,
                                          sizeof out) == 0
              && !strcmp(out, "postgres://u:p@h:5/x?sslmode=require"));
    SSO_CHECK(dir_db_pg_url_with_database("postgresql://h", "x", out, sizeof out) == 0
              && !strcmp(out, "postgresql://h/x"));
    SSO_CHECK(dir_db_pg_url_with_database("mysql://h/db", "x", out, sizeof out) == -1);
    SSO_CHECK(dir_db_pg_url_with_database("postgres://h/db", "", out, sizeof out) == -1);
    SSO_CHECK(dir_db_pg_url_with_database("postgres://h/db", "long", out, 12) == -1);
    char why[256] = "";
    SSO_CHECK(dir_db_open_url("", why, sizeof why) == NULL && strstr(why, "no database URL"));
    SSO_CHECK(dir_db_open_url("postgres://127.0.0.1:1/none?connect_timeout=2", why, sizeof why)
              == NULL && strstr(why, "cannot connect"));

    sso_config_t config = {0};
    sso_config_load_settings(&config);
    const char *url = config.test_database_url;
    if (!url || !*url) {
        printf("skip dir_db_pg_test's server part: SSO_TEST_DATABASE_URL is not set "
               "(scripts/pg.sh start DIR prints one)\n");
        return;
    }
    char name[64], test_url[1024];
    bool made = dir_db_pg_test_database(url, name, sizeof name, test_url, sizeof test_url) == 0;
    SSO_CHECK(made);
    if (made) {
        s_test_open(test_url);
        /* Fresh again for the rest, the version put back. */
        dir_db_t *db = NULL, *other = NULL;
        PGconn *fix = PQconnectdb(test_url);
        PGresult *result = PQexec(fix, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        SSO_CHECK(PQresultStatus(result) == PGRES_COMMAND_OK);
        PQclear(result);
        PQfinish(fix);
        db = dir_db_open_url(test_url, why, sizeof why);
        other = db ? dir_db_open_url(test_url, why, sizeof why) : NULL;
        SSO_CHECK(db && other);
        if (db && other) {
            s_test_statements(db, other);
            s_test_prepared(db, other);
            s_test_held_back(db, other);
            s_test_exactly_once(db, other);
            s_test_reconnect(db, other);
            /* Destroyed with a statement out: its rows stay readable, a new one fails. */
            dir_db_stmt_t *read = dir_db_query(db, "SELECT n FROM (VALUES (1), (2)) AS t (n) "
                                                   "ORDER BY n", NULL);
            dir_db_stmt_t *unrun = dir_db_query(db, "SELECT 1", NULL);
            SSO_CHECK(read && dir_db_step(read) == DIR_DB_ROW && dir_db_int64(read, 0) == 1);
            dir_db_destroy(&db);
            SSO_CHECK(read && dir_db_step(read) == DIR_DB_ROW && dir_db_int64(read, 0) == 2);
            SSO_CHECK(unrun && dir_db_step(unrun) == DIR_DB_ERROR);
            SSO_CHECK(dir_db_release(read) == DIR_DB_OK && dir_db_release(unrun) == DIR_DB_ERROR);
        }
        dir_db_destroy(&db);
        dir_db_destroy(&other);
        SSO_CHECK(dir_db_pg_test_drop(url, name) == 0);
    }
}
