/* dir_migrations: the schema migrations, built from store/migrations/NNNN_<what>.sql by
   scripts/gen_migrations.py into the generated dir_migrations.c (the Makefile's rule). Migration
   n (1-based) is dir_migrations[n - 1], run by dir_db and recorded in PRAGMA user_version. */
#ifndef DIR_MIGRATIONS_H
#define DIR_MIGRATIONS_H
#include <stddef.h>

extern const char *const dir_migrations[];
/* The file each came from ("0001_tables.sql"), for the self-test and the logs. */
extern const char *const dir_migration_files[];
extern const size_t dir_migrations_count;

#endif
