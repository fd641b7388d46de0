/* dir_db_sqlite: the SQLite engine of dir_db, the one dir_db_open uses: a file in WAL mode,
   the bounded statement cache, PRAGMA user_version as the schema version, and the checkpoint
   thread (store/dir_checkpoint.h). The only module of the directory, with dir_checkpoint,
   that calls SQLite (scripts/checksrc.py enforces it). */
#ifndef DIR_DB_SQLITE_H
#define DIR_DB_SQLITE_H
#include "store/dir_db_engine.h"
#include <stdbool.h>

extern const dir_db_engine_t dir_db_sqlite_engine;

void dir_db_sqlite_test(bool verbose);
#endif
