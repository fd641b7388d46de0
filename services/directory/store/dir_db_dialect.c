/* dir_db_dialect: SQLite's SQL as the directory writes it, rewritten for PostgreSQL (see the
   header for the list). A small scanner, not a parser: it knows literals, quoted names,
   comments, words, parentheses and the top-level commas of a call, which is all the rewrites
   need. */
#include "store/dir_db_dialect.h"
#include "sso_test.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Calls rewritten inside calls rewritten (json_extract of a min of …) nest at most this deep. */
#define S_DEPTH_MAX 16
/* Arguments of one rewritten call. */
#define S_ARGS_MAX 16

typedef struct {
    const char *sql;
    char *out;
    size_t len, cap;
    bool failed;
    char *why;
    size_t why_size;
    int max_param;       /* the highest parameter number so far */
    bool ignore_pending; /* an INSERT OR IGNORE whose statement has not ended yet */
    int depth;
} s_out_t;

static void s_fail(s_out_t *o, const char *format, ...)
{
    if (o->failed)
        return;
    o->failed = true;
    va_list args;
    va_start(args, format);
    vsnprintf(o->why, o->why_size, format, args);
    va_end(args);
}

static void s_put(s_out_t *o, const char *text, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        if (cap > DIR_DB_DIALECT_MAX + 1)
            cap = DIR_DB_DIALECT_MAX + 1;
        if (o->len + n + 1 > cap) {
            s_fail(o, "the statement would grow past %d bytes", DIR_DB_DIALECT_MAX);
            return;
        }
        char *grown = realloc(o->out, cap);
        if (!grown) {
            s_fail(o, "out of memory");
            return;
        }
        o->out = grown;
        o->cap = cap;
    }
    memcpy(o->out + o->len, text, n);
    o->len += n;
    o->out[o->len] = '\0';
}

static void s_puts(s_out_t *o, const char *text)
{
    s_put(o, text, strlen(text));
}

static bool s_word_char(char c)
{
    return isalnum((unsigned char) c) || c == '_';
}

/* Whether sql[i .. i + n) is word, ignoring case. */
static bool s_is(const char *sql, size_t i, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(sql + i, word, n) == 0;
}

static size_t s_word_end(const char *sql, size_t i, size_t end)
{
    while (i < end && s_word_char(sql[i]))
        i++;
    return i;
}

/* The index just past the literal or quoted name opening at i (its quote doubled inside is
   itself); end when it is not closed. */
static size_t s_quoted_end(const char *sql, size_t i, size_t end)
{
    char quote = sql[i];
    for (i++; i < end; i++)
        if (sql[i] == quote) {
            if (i + 1 < end && sql[i + 1] == quote)
                i++;
            else
                return i + 1;
        }
    return end;
}

/* The index past the comment opening at i, or i when none opens there. */
static size_t s_comment_end(const char *sql, size_t i, size_t end)
{
    if (i + 1 < end && sql[i] == '-' && sql[i + 1] == '-') {
        while (i < end && sql[i] != '\n')
            i++;
        return i;
    }
    if (i + 1 < end && sql[i] == '/' && sql[i + 1] == '*') {
        const char *close = NULL;
        for (size_t j = i + 2; j + 1 < end; j++)
            if (sql[j] == '*' && sql[j + 1] == '/') {
                close = sql + j;
                break;
            }
        return close ? (size_t) (close - sql) + 2 : end;
    }
    return i;
}

/* Past whitespace and comments. */
static size_t s_skip_space(const char *sql, size_t i, size_t end)
{
    for (;;) {
        while (i < end && isspace((unsigned char) sql[i]))
            i++;
        size_t past = s_comment_end(sql, i, end);
        if (past == i)
            return i;
        i = past;
    }
}

/* The next word after i (whitespace and comments skipped) is word: the index past it, else 0. */
static size_t s_next_is(const char *sql, size_t i, size_t end, const char *word)
{
    size_t start = s_skip_space(sql, i, end);
    size_t stop = s_word_end(sql, start, end);
    return stop > start && s_is(sql, start, stop - start, word) ? stop : 0;
}

/* The arguments of the call whose '(' is at open: their ranges, their count (0 for "()"), and
   the index past the ')' in *after; -1 when it is not closed or has too many arguments. */
static int s_args(const char *sql, size_t open, size_t end, size_t starts[], size_t stops[],
                  size_t *after)
{
    int count = 0, depth = 0;
    size_t start = open + 1;
    for (size_t i = open + 1; i < end;) {
        char c = sql[i];
        size_t past = s_comment_end(sql, i, end);
        if (past != i) {
            i = past;
            continue;
        }
        if (c == '\'' || c == '"') {
            i = s_quoted_end(sql, i, end);
            continue;
        }
        if (c == '(')
            depth++;
        else if ((c == ')' && depth == 0) || (c == ',' && depth == 0)) {
            if (count == S_ARGS_MAX)
                return -1;
            starts[count] = start;
            stops[count] = i;
            count++;
            start = i + 1;
            if (c == ')') {
                *after = i + 1;
                if (count == 1 && s_skip_space(sql, starts[0], stops[0]) == stops[0])
                    return 0;
                return count;
            }
        }
        else if (c == ')')
            depth--;
        i++;
    }
    return -1;
}

static void s_translate(s_out_t *o, size_t i, size_t end);

/* The translation of one argument, as it stands. */
static void s_arg(s_out_t *o, size_t start, size_t stop)
{
    s_translate(o, start, stop);
}

/* json_extract(x, '$.a.b[0]') -> ((x)::jsonb #>> '{a,b,0}'). */
static void s_json_extract(s_out_t *o, const size_t starts[], const size_t stops[], int count)
{
    const char *sql = o->sql;
    if (count != 2) {
        s_fail(o, "json_extract takes a value and one path here");
        return;
    }
    size_t p = s_skip_space(sql, starts[1], stops[1]);
    size_t q = p < stops[1] && sql[p] == '\'' ? s_quoted_end(sql, p, stops[1]) : p;
    if (q == p || s_skip_space(sql, q, stops[1]) != stops[1] || q - p < 3 || sql[p + 1] != '$') {
        s_fail(o, "json_extract's path must be one literal starting with '$'");
        return;
    }
    s_puts(o, "((");
    s_arg(o, starts[0], stops[0]);
    s_puts(o, ")::jsonb #>> '{");
    bool first = true;
    for (size_t i = p + 2; i < q - 1;) {
        char c = sql[i];
        if (c == '.' || c == '[') {
            size_t stop = i + 1;
            while (stop < q - 1 && s_word_char(sql[stop]))
                stop++;
            bool ok = stop > i + 1;
            if (c == '[') {
                for (size_t k = i + 1; k < stop; k++)
                    ok = ok && isdigit((unsigned char) sql[k]);
                ok = ok && stop < q - 1 && sql[stop] == ']';
            }
            if (!ok) {
                s_fail(o, "json_extract's path %.*s is not one of names and [n]",
                       (int) (q - p), sql + p);
                return;
            }
            if (!first)
                s_puts(o, ",");
            s_put(o, sql + i + 1, stop - i - 1);
            first = false;
            i = c == '[' ? stop + 1 : stop;
        }
        else {
            s_fail(o, "json_extract's path %.*s is not one of names and [n]", (int) (q - p),
                   sql + p);
            return;
        }
    }
    s_puts(o, "}')");
}

/* group_concat(a[, sep]) -> string_agg((a)::text, sep). */
static void s_group_concat(s_out_t *o, const size_t starts[], const size_t stops[], int count)
{
    if (count != 1 && count != 2) {
        s_fail(o, "group_concat takes one or two arguments");
        return;
    }
    s_puts(o, "string_agg((");
    s_arg(o, starts[0], stops[0]);
    s_puts(o, ")::text,");
    if (count == 2)
        s_arg(o, starts[1], stops[1]);
    else
        s_puts(o, " ','");
    s_puts(o, ")");
}

/* json_each(x), read as a table of an array's elements (value, and key from 0) ->
   (SELECT value, ordinality - 1 AS key FROM json_array_elements_text((x)::json) WITH
   ORDINALITY AS t(value, ordinality)); the caller names it, as every subquery in FROM. */
static void s_json_each(s_out_t *o, const size_t starts[], const size_t stops[], int count)
{
    if (count != 1) {
        s_fail(o, "json_each takes one array here");
        return;
    }
    s_puts(o, "(SELECT value, ordinality - 1 AS key FROM json_array_elements_text((");
    s_arg(o, starts[0], stops[0]);
    s_puts(o, ")::json) WITH ORDINALITY AS t(value, ordinality))");
}

/* A call whose name only changes (least, greatest), its arguments translated one by one. */
static void s_renamed_call(s_out_t *o, const char *name, const size_t starts[],
                           const size_t stops[], int count)
{
    s_puts(o, name);
    s_puts(o, "(");
    for (int k = 0; k < count; k++) {
        if (k)
            s_puts(o, ",");
        s_arg(o, starts[k], stops[k]);
    }
    s_puts(o, ")");
}

/* The word at [i, stop); returns the index to go on from. */
static size_t s_word(s_out_t *o, size_t i, size_t stop, size_t end)
{
    const char *sql = o->sql;
    size_t n = stop - i;
    size_t past;
    if (s_is(sql, i, n, "INSERT") && (past = s_next_is(sql, stop, end, "OR"))) {
        size_t what = s_skip_space(sql, past, end);
        size_t what_end = s_word_end(sql, what, end);
        if (!s_is(sql, what, what_end - what, "IGNORE")) {
            s_fail(o, "INSERT OR %.*s has no rewrite: write INSERT ... ON CONFLICT (key) DO "
                      "UPDATE", (int) (what_end - what), sql + what);
            return end;
        }
        s_put(o, sql + i, n);
        o->ignore_pending = true;
        return what_end;
    }
    if (s_is(sql, i, n, "INTEGER")) {
        size_t a = s_next_is(sql, stop, end, "PRIMARY");
        size_t b = a ? s_next_is(sql, a, end, "KEY") : 0;
        size_t c = b ? s_next_is(sql, b, end, "AUTOINCREMENT") : 0;
        if (c) {
            s_puts(o, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
            return c;
        }
        s_puts(o, "BIGINT");
        return stop;
    }
    if (s_is(sql, i, n, "WITHOUT") && (past = s_next_is(sql, stop, end, "ROWID")))
        return past;
    if (s_is(sql, i, n, "AUTOINCREMENT") || s_is(sql, i, n, "GLOB") || s_is(sql, i, n, "ROWID")) {
        s_fail(o, "%.*s has no rewrite here", (int) n, sql + i);
        return end;
    }
    /* SQLite's IS / IS NOT compare anything, NULL included: PostgreSQL's only NULL and the
       booleans, so any other operand needs IS [NOT] DISTINCT FROM. */
    if (s_is(sql, i, n, "IS")) {
        size_t not = s_next_is(sql, stop, end, "NOT");
        size_t after = not ? not : stop;
        if (s_next_is(sql, after, end, "NULL") || s_next_is(sql, after, end, "TRUE")
            || s_next_is(sql, after, end, "FALSE") || s_next_is(sql, after, end, "DISTINCT")
            || (!not && s_next_is(sql, after, end, "NOT"))) {
            s_put(o, sql + i, n);
            return stop;
        }
        s_puts(o, not ? "IS DISTINCT FROM" : "IS NOT DISTINCT FROM");
        return after;
    }
    if (s_is(sql, i, n, "BLOB")) {
        s_puts(o, "BYTEA");
        return stop;
    }
    if (s_is(sql, i, n, "LIKE")) {
        s_puts(o, "ILIKE");
        return stop;
    }
    size_t open = s_skip_space(sql, stop, end);
    if (open >= end || sql[open] != '(') {
        s_put(o, sql + i, n);
        return stop;
    }
    /* A call. */
    if (s_is(sql, i, n, "ifnull")) {
        s_puts(o, "coalesce");
        return stop;
    }
    if (s_is(sql, i, n, "instr")) {
        s_puts(o, "strpos");
        return stop;
    }
    if (s_is(sql, i, n, "json_object")) {
        s_puts(o, "json_build_object");
        return stop;
    }
    bool json = s_is(sql, i, n, "json_extract"), concat = s_is(sql, i, n, "group_concat");
    bool each = s_is(sql, i, n, "json_each");
    bool min = s_is(sql, i, n, "min"), max = s_is(sql, i, n, "max");
    if (!json && !concat && !each && !min && !max) {
        s_put(o, sql + i, n);
        return stop;
    }
    size_t starts[S_ARGS_MAX], stops[S_ARGS_MAX], after = end;
    int count = s_args(sql, open, end, starts, stops, &after);
    if (count < 0) {
        s_fail(o, "%.*s( is not closed or has too many arguments", (int) n, sql + i);
        return end;
    }
    if ((min || max) && count < 2) {
        s_put(o, sql + i, n); /* the aggregate: the same in both */
        return stop;
    }
    if (++o->depth > S_DEPTH_MAX) {
        s_fail(o, "calls nest too deep");
        return end;
    }
    if (json)
        s_json_extract(o, starts, stops, count);
    else if (each)
        s_json_each(o, starts, stops, count);
    else if (concat)
        s_group_concat(o, starts, stops, count);
    else
        s_renamed_call(o, min ? "least" : "greatest", starts, stops, count);
    o->depth--;
    return after;
}

static void s_end_statement(s_out_t *o)
{
    if (o->ignore_pending)
        s_puts(o, " ON CONFLICT DO NOTHING");
    o->ignore_pending = false;
}

/* Translates sql[i .. end) onto o. */
static void s_translate(s_out_t *o, size_t i, size_t end)
{
    const char *sql = o->sql;
    while (i < end && !o->failed) {
        char c = sql[i];
        size_t past = s_comment_end(sql, i, end);
        if (past != i) {
            s_put(o, sql + i, past - i);
            i = past;
        }
        else if (c == '\'' || c == '"') {
            past = s_quoted_end(sql, i, end);
            if (past == end && (past - i < 2 || sql[past - 1] != c)) {
                s_fail(o, "a literal or quoted name is not closed");
                return;
            }
            s_put(o, sql + i, past - i);
            i = past;
        }
        else if (c == '?') {
            long number = 0;
            size_t j = i + 1;
            while (j < end && isdigit((unsigned char) sql[j])
                   && number <= DIR_DB_DIALECT_PARAMS_MAX)
                number = number * 10 + (sql[j++] - '0');
            if (j == i + 1)
                number = o->max_param + 1;
            if (number < 1 || number > DIR_DB_DIALECT_PARAMS_MAX) {
                s_fail(o, "parameter ?%.*s is out of range", (int) (j - i - 1), sql + i + 1);
                return;
            }
            char text[16];
            snprintf(text, sizeof text, "$%ld", number);
            s_puts(o, text);
            if (number > o->max_param)
                o->max_param = (int) number;
            i = j;
        }
        else if (c == '=' && i + 1 < end && sql[i + 1] == '=') {
            s_puts(o, "=");
            i += 2;
        }
        else if (c == ';') {
            s_end_statement(o);
            s_put(o, ";", 1);
            i++;
        }
        else if ((isalpha((unsigned char) c) || c == '_')
                 && (i == 0 || (!s_word_char(sql[i - 1]) && sql[i - 1] != '.'
                                && sql[i - 1] != '$'))) {
            i = s_word(o, i, s_word_end(sql, i, end), end);
        }
        else if (s_word_char(c)) {
            size_t stop = s_word_end(sql, i, end); /* a number, or a name after a '.' */
            s_put(o, sql + i, stop - i);
            i = stop;
        }
        else {
            s_put(o, sql + i, 1);
            i++;
        }
    }
}

char *dir_db_dialect_pg(const char *sql, int *params, char *why, size_t why_size)
{
    s_out_t o = {.sql = sql, .why = why, .why_size = why_size};
    size_t len = sql ? strlen(sql) : 0;
    if (!sql)
        s_fail(&o, "no SQL");
    else if (len > DIR_DB_DIALECT_MAX)
        s_fail(&o, "the statement is longer than %d bytes", DIR_DB_DIALECT_MAX);
    s_put(&o, "", 0);
    s_translate(&o, 0, len);
    s_end_statement(&o);
    if (o.failed) {
        free(o.out);
        return NULL;
    }
    if (params)
        *params = o.max_param;
    return o.out;
}

/* The translation of sql is want (and its parameters number params), or it is refused with a
   reason containing want (params < 0). */
static bool s_case(const char *sql, const char *want, int params)
{
    char why[256] = "";
    int got = -1;
    char *out = dir_db_dialect_pg(sql, &got, why, sizeof why);
    bool ok = params < 0 ? !out && strstr(why, want) != NULL
                         : out && strcmp(out, want) == 0 && got == params;
    if (!ok)
        fprintf(stderr, "dialect: %s\n  gave: %s (%d) %s\n  want: %s (%d)\n", sql,
                out ? out : "NULL", got, why, want, params);
    free(out);
    return ok;
}

void dir_db_dialect_test(bool verbose)
{
    (void) verbose;
    /* Parameters: bare, numbered, mixed as SQLite numbers them; none inside literals, quoted
       names or comments. */
    SSO_CHECK(s_case("SELECT 1", "SELECT 1", 0));
    SSO_CHECK(s_case("", "", 0));
    SSO_CHECK(s_case("SELECT ?, ?", "SELECT $1, $2", 2));
    SSO_CHECK(s_case("UPDATE t SET a = ?2 WHERE b = ?1 AND c = ?1",
                     "UPDATE t SET a = $2 WHERE b = $1 AND c = $1", 2));
    SSO_CHECK(s_case("SELECT ?3, ?, ?1", "SELECT $3, $4, $1", 4));
    SSO_CHECK(s_case("SELECT '?', \"a?\", ? -- ?\n, ? /* ? */",
                     "SELECT '?', \"a?\", $1 -- ?\n, $2 /* ? */", 2));
    SSO_CHECK(s_case("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1));
    SSO_CHECK(s_case("SELECT ?0", "out of range", -1));
    SSO_CHECK(s_case("SELECT ?99999", "out of range", -1));
    SSO_CHECK(s_case("SELECT ?32766", "SELECT $32766", 32766));
    /* DDL. */
    SSO_CHECK(s_case("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, "
                     "b BLOB, s TEXT)",
                     "CREATE TABLE t (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                     "n BIGINT NOT NULL, b BYTEA, s TEXT)", 0));
    SSO_CHECK(s_case("CREATE TABLE t (a integer primary key autoincrement)",
                     "CREATE TABLE t (a BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)", 0));
    SSO_CHECK(s_case("CREATE TABLE m (a TEXT, PRIMARY KEY (a)) WITHOUT ROWID;",
                     "CREATE TABLE m (a TEXT, PRIMARY KEY (a)) ;", 0));
    SSO_CHECK(s_case("ALTER TABLE t ADD COLUMN blobby BLOB; ALTER TABLE t ADD COLUMN integers "
                     "INTEGER",
                     "ALTER TABLE t ADD COLUMN blobby BYTEA; ALTER TABLE t ADD COLUMN integers "
                     "BIGINT", 0));
    SSO_CHECK(s_case("SELECT CAST(x AS INTEGER) FROM t", "SELECT CAST(x AS BIGINT) FROM t", 0));
    /* A word is a whole word: t.blob, blob_id and x1like are names. */
    SSO_CHECK(s_case("SELECT t.blob, blob_id, x1like, min_a FROM t",
                     "SELECT t.blob, blob_id, x1like, min_a FROM t", 0));
    SSO_CHECK(s_case("CREATE TABLE t (a INTEGER AUTOINCREMENT)", "AUTOINCREMENT", -1));
    SSO_CHECK(s_case("SELECT rowid FROM t", "rowid", -1));
    SSO_CHECK(s_case("SELECT a FROM t WHERE a GLOB 'x*'", "GLOB", -1));
    /* INSERT OR IGNORE ends its statement with ON CONFLICT DO NOTHING; OR REPLACE is refused. */
    SSO_CHECK(s_case("INSERT OR IGNORE INTO t (a) VALUES (?)",
                     "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING", 1));
    SSO_CHECK(s_case("insert or ignore into t VALUES (1); INSERT INTO t VALUES (2);",
                     "insert into t VALUES (1) ON CONFLICT DO NOTHING; INSERT INTO t VALUES "
                     "(2);", 0));
    SSO_CHECK(s_case("INSERT OR REPLACE INTO t (a) VALUES (?)", "ON CONFLICT (key) DO UPDATE", -1));
    SSO_CHECK(s_case("INSERT OR ROLLBACK INTO t (a) VALUES (?)", "INSERT OR ROLLBACK", -1));
    SSO_CHECK(s_case("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING",
                     "INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING", 0));
    /* Functions. */
    SSO_CHECK(s_case("SELECT json_extract(payload, '$.data.user_id') = ?",
                     "SELECT ((payload)::jsonb #>> '{data,user_id}') = $1", 1));
    SSO_CHECK(s_case("SELECT JSON_EXTRACT(a || ?, '$.x[2].y'), json_extract(b, '$')",
                     "SELECT ((a || $1)::jsonb #>> '{x,2,y}'), ((b)::jsonb #>> '{}')", 1));
    SSO_CHECK(s_case("SELECT j.value FROM json_each(?2) AS j ORDER BY j.key",
                     "SELECT j.value FROM (SELECT value, ordinality - 1 AS key FROM "
                     "json_array_elements_text(($2)::json) WITH ORDINALITY AS t(value, "
                     "ordinality)) AS j ORDER BY j.key", 2));
    SSO_CHECK(s_case("SELECT json_each(a, '$.b')", "one array", -1));
    SSO_CHECK(s_case("SELECT json_object('id', ifnull(a, ?))",
                     "SELECT json_build_object('id', coalesce(a, $1))", 1));
    SSO_CHECK(s_case("SELECT json_extract(a)", "one path", -1));
    SSO_CHECK(s_case("SELECT json_extract(a, ?)", "one literal", -1));
    SSO_CHECK(s_case("SELECT json_extract(a, '$.x'' y')", "not one of names", -1));
    SSO_CHECK(s_case("SELECT json_extract(a, '$.x[y]')", "not one of names", -1));
    SSO_CHECK(s_case("SELECT json_extract(a, '$.')", "not one of names", -1));
    SSO_CHECK(s_case("SELECT json_extract(a, '$.x'", "not closed", -1));
    SSO_CHECK(s_case("SELECT group_concat(id, ',') FROM (SELECT id FROM t ORDER BY seq) AS ids",
                     "SELECT string_agg((id)::text, ',') FROM (SELECT id FROM t ORDER BY seq) "
                     "AS ids", 0));
    SSO_CHECK(s_case("SELECT group_concat(n)", "SELECT string_agg((n)::text, ',')", 0));
    SSO_CHECK(s_case("SELECT group_concat()", "one or two", -1));
    /* min and max: scalar with two or more arguments, the aggregate with one. */
    SSO_CHECK(s_case("UPDATE d SET next = min(?4, deadline), m = max(a, max(b), (c + 1)) "
                     "WHERE s = (SELECT min(s) FROM d)",
                     "UPDATE d SET next = least($4, deadline), m = greatest(a, max(b), (c + 1)) "
                     "WHERE s = (SELECT min(s) FROM d)", 4));
    SSO_CHECK(s_case("SELECT min(min(a, ?), ?)", "SELECT least(least(a, $1), $2)", 2));
    SSO_CHECK(s_case("SELECT max ( a , 'x,y' )", "SELECT greatest( a , 'x,y' )", 0));
    SSO_CHECK(s_case("SELECT coalesce(max(n), 0), max() FROM t",
                     "SELECT coalesce(max(n), 0), max() FROM t", 0));
    SSO_CHECK(s_case("SELECT instr(a, ?) > 0, ifnull(b, 'x'), instr FROM t",
                     "SELECT strpos(a, $1) > 0, coalesce(b, 'x'), instr FROM t", 1));
    SSO_CHECK(s_case("SELECT a IS NULL, a IS NOT NULL, a IS ?, b IS NOT 'x', c is not\n?2, d IS "
                     "TRUE, e IS NOT DISTINCT FROM f, g IS NOT FALSE",
                     "SELECT a IS NULL, a IS NOT NULL, a IS NOT DISTINCT FROM $1, b IS DISTINCT "
                     "FROM 'x', c IS DISTINCT FROM\n$2, d IS TRUE, e IS NOT DISTINCT FROM f, g IS "
                     "NOT FALSE", 2));
    SSO_CHECK(s_case("SELECT 1 WHERE a LIKE 'x%' AND b NOT like ? AND c == 2",
                     "SELECT 1 WHERE a ILIKE 'x%' AND b NOT ILIKE $1 AND c = 2", 1));
    /* Nesting is bounded. */
    char deep[512] = "SELECT ";
    for (int k = 0; k < S_DEPTH_MAX + 2; k++)
        strncat(deep, "min(1, ", sizeof deep - strlen(deep) - 1);
    strncat(deep, "2", sizeof deep - strlen(deep) - 1);
    for (int k = 0; k < S_DEPTH_MAX + 2; k++)
        strncat(deep, ")", sizeof deep - strlen(deep) - 1);
    SSO_CHECK(s_case(deep, "nest too deep", -1));
    /* The absent and the malformed. */
    SSO_CHECK(s_case("SELECT 'open", "not closed", -1));
    SSO_CHECK(s_case("SELECT \"open", "not closed", -1));
    SSO_CHECK(s_case("SELECT 'a' /* open", "SELECT 'a' /* open", 0));
    char why[64] = "";
    SSO_CHECK(dir_db_dialect_pg(NULL, NULL, why, sizeof why) == NULL && strstr(why, "no SQL"));
    /* Too long: refused, and a statement that would grow past the cap too (each
       "group_concat(a) " becomes "string_agg((a)::text, ',') "). */
    size_t size = DIR_DB_DIALECT_MAX + 2;
    char *text = malloc(size);
    SSO_CHECK(text != NULL);
    if (text) {
        memset(text, ' ', size - 1);
        text[size - 1] = '\0';
        SSO_CHECK(dir_db_dialect_pg(text, NULL, why, sizeof why) == NULL && strstr(why, "longer"));
        const char *piece = "group_concat(a) ";
        size_t n = strlen(piece), fill = DIR_DB_DIALECT_MAX / 10 * 7;
        for (size_t k = 0; k + n <= fill; k += n)
            memcpy(text + k, piece, n);
        text[fill] = '\0';
        SSO_CHECK(dir_db_dialect_pg(text, NULL, why, sizeof why) == NULL && strstr(why, "grow"));
        free(text);
    }
}
