#include "store/dir_checkpoint.h"
#include "dir_testkit.h"
#include "sso_log.h"
#include "sso_test.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct dir_checkpoint_t {
    sqlite3 *writer;        /* the request thread's connection (its hook is ours) */
    sqlite3 *db;            /* ours */
    int pages, backstop, look_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool due, stop;         /* under lock */
    /* One checkpoint at a time in this process: a second one would get SQLITE_BUSY at once
       (no busy handler runs for it), so the backstop waits for the thread's instead. */
    pthread_mutex_t checkpointing;
    atomic_int backfilled;  /* log frames already copied, as of the last checkpoint */
    atomic_uint_fast64_t checkpoints;
};

/* Runs on the request thread after each commit, with the write lock already released. */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    dir_checkpoint_t *self = arg;
    if (pages >= self->backstop) {
        /* Nothing writes while this runs, so it copies the whole log and the next write
           starts it over. */
        pthread_mutex_lock(&self->checkpointing);
        int log = 0, copied = 0;
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            == SQLITE_OK)
            atomic_store(&self->backfilled, copied);
        pthread_mutex_unlock(&self->checkpointing);
        return SQLITE_OK;
    }
    /* pages counts the whole log since it last started over; what matters is how much of it
       is not copied yet (a log shorter than what was copied has started over). */
    int backfilled = atomic_load(&self->backfilled);
    int waiting = pages >= backfilled ? pages - backfilled : pages;
    if (waiting >= self->pages) {
        pthread_mutex_lock(&self->lock);
        if (!self->due) {
            self->due = true;
            pthread_cond_signal(&self->wake);
        }
        pthread_mutex_unlock(&self->lock);
    }
    return SQLITE_OK;
}

static void *s_run(void *arg)
{
    dir_checkpoint_t *self = arg;
    int last_rc = SQLITE_OK;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        if (!self->due) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            long ns = until.tv_nsec + (long) (self->look_ms % 1000) * 1000000L;
            until.tv_sec += self->look_ms / 1000 + ns / 1000000000L;
            until.tv_nsec = ns % 1000000000L;
            /* Woken, stopped, or the time to look has come; nothing else (a spurious wakeup
               is not a reason). */
            while (!self->due && !self->stop
                   && pthread_cond_timedwait(&self->wake, &self->lock, &until) != ETIMEDOUT)
                ;
            if (self->stop)
                break;
        }
        self->due = false;
        pthread_mutex_unlock(&self->lock);
        int log = 0, copied = 0;
        pthread_mutex_lock(&self->checkpointing);
        int rc = sqlite3_wal_checkpoint_v2(self->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &copied);
        int before = atomic_exchange(&self->backfilled, rc == SQLITE_OK ? copied : 0);
        pthread_mutex_unlock(&self->checkpointing);
        if (rc == SQLITE_OK && copied > 0 && copied != before)
            atomic_fetch_add(&self->checkpoints, 1);
        else if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != last_rc)
            sso_warn("db: checkpoint failed: %s", sqlite3_errmsg(self->db)); /* once per kind */
        last_rc = rc;
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

dir_checkpoint_t *dir_checkpoint_new(sqlite3 *writer, const char *path, int pages, int backstop,
                                     int look_ms)
{
    if (!writer || !path || pages < 1 || backstop < 1 || look_ms < 1)
        return NULL;
    dir_checkpoint_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->writer = writer;
    self->pages = pages;
    self->backstop = backstop;
    self->look_ms = look_ms;
    pthread_mutex_init(&self->lock, NULL);
    pthread_mutex_init(&self->checkpointing, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* a clock set back delays no look */
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    /* A first read puts the connection in WAL mode; until then a checkpoint does nothing. */
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK
        || sqlite3_exec(self->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL)
               != SQLITE_OK
        || pthread_create(&self->thread, NULL, s_run, self) != 0) {
        sso_warn("db: no checkpoint thread (%s); checkpoints stay on the request thread",
                 self->db ? sqlite3_errmsg(self->db) : "out of memory");
        sqlite3_close_v2(self->db);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->checkpointing);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    sqlite3_wal_hook(writer, s_wal_hook, self);
    return self;
}

void dir_checkpoint_destroy(dir_checkpoint_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_checkpoint_t *self = *self_p;
    /* SQLite's own again: a commit after this must not call into freed memory. */
    sqlite3_wal_autocheckpoint(self->writer, 1000); /* SQLite's default */
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    sqlite3_close_v2(self->db);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->checkpointing);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

uint64_t dir_checkpoint_count(dir_checkpoint_t *self)
{
    return self ? atomic_load(&self->checkpoints) : 0;
}

/* ---- self-test ------------------------------------------------------------------------- */

static int s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buffer[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buffer, 1, sizeof buffer, in)) > 0)
        rc = fwrite(buffer, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

static sqlite3 *s_test_writer(const char *path)
{
    sqlite3 *writer = NULL;
    SSO_CHECK(sqlite3_open(path, &writer) == SQLITE_OK);
    SSO_CHECK(sqlite3_exec(writer, "PRAGMA journal_mode = WAL; CREATE TABLE t (v BLOB);", NULL,
                           NULL, NULL) == SQLITE_OK);
    return writer;
}

/* count inserts of a 3,000-byte row: about a page of log each. */
static void s_test_insert(sqlite3 *writer, int count)
{
    for (int i = 0; i < count; i++)
        SSO_CHECK(sqlite3_exec(writer, "INSERT INTO t VALUES (randomblob(3000))", NULL, NULL,
                               NULL) == SQLITE_OK);
}

static bool s_test_wait_checkpoint(dir_checkpoint_t *checkpoint)
{
    for (int i = 0; i < 500 && dir_checkpoint_count(checkpoint) == 0; i++)
        usleep(10 * 1000);
    return dir_checkpoint_count(checkpoint) > 0;
}

/* One integer from a single-row query on a connection of the test's own: -1 on error. */
static int64_t s_test_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

static long s_test_file_size(const char *path, const char *suffix)
{
    char name[96];
    snprintf(name, sizeof name, "%s%s", path, suffix);
    FILE *file = fopen(name, "rb");
    long size = file && fseek(file, 0, SEEK_END) == 0 ? ftell(file) : -1;
    if (file)
        fclose(file);
    return size;
}

void dir_checkpoint_test(bool verbose)
{
    (void) verbose;
    char dir[] = "/tmp/dir-checkpoint-XXXXXX";
    SSO_CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/test.db", dir);
    sqlite3 *writer = s_test_writer(path);
    SSO_CHECK(dir_checkpoint_new(NULL, path, 8, 64, 1000) == NULL);
    SSO_CHECK(dir_checkpoint_new(writer, path, 0, 64, 1000) == NULL);
    SSO_CHECK(dir_checkpoint_new(writer, path, 8, 0, 1000) == NULL);
    SSO_CHECK(dir_checkpoint_new(writer, path, 8, 64, 0) == NULL);

    /* The commit hook wakes the thread: it would look only after a minute by itself. Below
       the threshold it is not woken. */
    dir_checkpoint_t *checkpoint = dir_checkpoint_new(writer, path, 8, 1 << 30, 60000);
    SSO_CHECK(checkpoint && dir_checkpoint_count(checkpoint) == 0);
    s_test_insert(writer, 2);
    usleep(200 * 1000);
    SSO_CHECK(dir_checkpoint_count(checkpoint) == 0);
    s_test_insert(writer, 198);
    SSO_CHECK(s_test_wait_checkpoint(checkpoint));
    /* Everything committed is there for the writer. */
    SSO_CHECK(s_test_int(writer, "SELECT count(*) FROM t") == 200);
    dir_checkpoint_destroy(&checkpoint);
    /* The database file itself (without its log, which the writer still has open) holds what
       the thread copied: a consistent database with the table and rows in it. */
    char copy[80];
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    SSO_CHECK(s_copy_file(path, copy) == 0);
    sqlite3 *copied = NULL;
    SSO_CHECK(sqlite3_open(copy, &copied) == SQLITE_OK);
    SSO_CHECK(s_test_int(copied, "SELECT count(*) FROM t") > 0);
    sqlite3_stmt *stmt = NULL;
    SSO_CHECK(sqlite3_prepare_v2(copied, "PRAGMA integrity_check", -1, &stmt, NULL) == SQLITE_OK
              && sqlite3_step(stmt) == SQLITE_ROW
              && !strcmp((const char *) sqlite3_column_text(stmt, 0), "ok"));
    sqlite3_finalize(stmt);
    sqlite3_close(copied);
    SSO_CHECK(checkpoint == NULL);
    dir_checkpoint_destroy(&checkpoint); /* NULL is a no-op */
    /* The writer has SQLite's auto-checkpoint back and goes on committing. */
    SSO_CHECK(sqlite3_exec(writer, "INSERT INTO t VALUES (1)", NULL, NULL, NULL) == SQLITE_OK);
    SSO_CHECK(sqlite3_close(writer) == SQLITE_OK);
    sqlite3 *reader = NULL;
    SSO_CHECK(sqlite3_open(path, &reader) == SQLITE_OK
              && s_test_int(reader, "SELECT count(*) FROM t") == 201);
    sqlite3_close(reader);

    /* Never woken (the threshold is out of reach), the thread still looks every look_ms. */
    snprintf(path, sizeof path, "%s/look.db", dir);
    writer = s_test_writer(path);
    checkpoint = dir_checkpoint_new(writer, path, 1 << 29, 1 << 30, 50);
    SSO_CHECK(checkpoint != NULL);
    s_test_insert(writer, 20);
    SSO_CHECK(s_test_wait_checkpoint(checkpoint));
    dir_checkpoint_destroy(&checkpoint);
    SSO_CHECK(sqlite3_close(writer) == SQLITE_OK);

    /* The backstop: the thread never runs here (not woken, looks after a minute), so only the
       request thread's own checkpoint at 16 pages keeps the log short. Without it, 200 pages
       of log would stay in the file (~800 KB; the hook replaced SQLite's auto-checkpoint). */
    snprintf(path, sizeof path, "%s/backstop.db", dir);
    writer = s_test_writer(path);
    checkpoint = dir_checkpoint_new(writer, path, 1 << 30, 16, 60000);
    SSO_CHECK(checkpoint != NULL);
    s_test_insert(writer, 200);
    long wal = s_test_file_size(path, "-wal");
    SSO_CHECK(wal > 0 && wal < 40 * (4096 + 24));
    SSO_CHECK(dir_checkpoint_count(checkpoint) == 0);
    SSO_CHECK(s_test_file_size(path, "") > 150 * 3000); /* the rows are in the file itself */
    SSO_CHECK(s_test_int(writer, "SELECT count(*) FROM t") == 200);
    dir_checkpoint_destroy(&checkpoint);
    SSO_CHECK(sqlite3_close(writer) == SQLITE_OK);
    dir_testkit_remove_dir(dir);
}
