/* ssoctl_table: aligned text tables for humans, and the JSON-to-cell rendering behind them. */
#ifndef SSOCTL_TABLE_H
#define SSOCTL_TABLE_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SSOCTL_TABLE_MAX_COLS 12

typedef struct ssoctl_table ssoctl_table_t;

/* headers may be NULL for a table without a header line (key/value views). */
int ssoctl_table_new(size_t ncols, const char *const *headers, ssoctl_table_t **out);
void ssoctl_table_free(ssoctl_table_t **table);
/* Copies ncols cells; a NULL or empty cell shows as "-". */
int ssoctl_table_add(ssoctl_table_t *table, const char *const *cells);
/* Renders with two spaces between columns and no trailing blanks; control characters from the
   server are shown as '?' so a hostile name cannot drive the terminal. Caller frees *out. */
int ssoctl_table_render(const ssoctl_table_t *table, char **out);
int ssoctl_table_print(const ssoctl_table_t *table, FILE *stream);

/* A column: its header and the JSON field it shows. `fields` is a dotted path ("sp.acs_url"),
   or several separated by '|', the first present wins ("created_at|time"). A path that goes
   on through an array shows what each element holds there ("saml.certs.not_after"). */
typedef struct {
    const char *header;
    const char *fields;
} ssoctl_column_t;

/* The value at fields as display text (strings as is, numbers, booleans, arrays joined with
   ", ", objects as "key=value, key=value" and "" when empty); *out is NULL when absent or
   null. Caller frees. 0, or -1 on allocation failure. */
int ssoctl_json_cell(const json_t *object, const char *fields, char **out);

/* Prints one row per element of array under a header line. */
int ssoctl_print_list(FILE *stream, const ssoctl_column_t *columns, size_t ncols,
                      const json_t *array);
/* Prints one object as "LABEL  value" lines, skipping fields it does not have. */
int ssoctl_print_object(FILE *stream, const ssoctl_column_t *rows, size_t nrows,
                        const json_t *object);

void ssoctl_table_test(bool verbose);
#endif
