/* dir_checkpoint: copies the write-ahead log back into the database file on a thread of its
   own, through a connection of its own, so the directory's request thread never stops for a
   checkpoint or its fsync. A commit on the request thread only reports the log's length
   (sqlite3_wal_hook); once `pages` of it are not copied yet, the thread is woken, and it
   also looks every `look_ms`. Its checkpoints are passive: they never block a writer, and a
   reader's snapshot is never copied over. The next write starts the log over once every
   frame is copied; under steady writes the thread's checkpoints rarely get there (frames keep
   coming while they run), so at `backstop` pages the request thread checkpoints itself,
   after the thread's checkpoint in progress if any (the thread has copied most pages by
   then, so little is left to do): nothing writes meanwhile, the whole log is copied, and the
   next write starts it over. The log file stays at most about that size (journal_size_limit,
   dir_db).
   Why not SQLite's auto-checkpoint (every 1,000 pages, on the committing connection): at a
   few pages per write that was a checkpoint every ~50 logins on the request thread, each
   rewriting pages that the next ones changed again. */
#ifndef DIR_CHECKPOINT_H
#define DIR_CHECKPOINT_H
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* What the directory uses. */
#define DIR_CHECKPOINT_PAGES 4096     /* 16 MiB of log at 4 KiB pages */
#define DIR_CHECKPOINT_BACKSTOP 16384 /* 64 MiB */
#define DIR_CHECKPOINT_LOOK_MS 1000

typedef struct dir_checkpoint_t dir_checkpoint_t;

/* Starts the thread with its own connection to path, and installs the commit hook on writer
   (a connection to the same file, in WAL mode, used by one thread). The thread is woken once
   `pages` of log are not copied yet and looks every `look_ms` anyway; at `backstop` pages
   of log the request thread checkpoints itself. NULL when a number is not positive or the
   connection or the thread cannot be made; writer then keeps SQLite's auto-checkpoint. */
dir_checkpoint_t *dir_checkpoint_new(sqlite3 *writer, const char *path, int pages, int backstop,
                                     int look_ms);
/* Stops the thread (after its checkpoint in progress) and closes its connection; writer goes
   back to SQLite's auto-checkpoint. Call before closing writer. */
void dir_checkpoint_destroy(dir_checkpoint_t **self_p);
/* Checkpoints the thread has run that copied pages (for tests and logs). */
uint64_t dir_checkpoint_count(dir_checkpoint_t *self);

void dir_checkpoint_test(bool verbose);
#endif
