#include "ssoctl_table.h"
#include "ssoctl_util.h"
#include "sso_test.h"
#include <stdlib.h>
#include <string.h>

struct ssoctl_table {
    size_t ncols;
    bool has_header;
    char **cells; /* row-major, header first when has_header */
    size_t nrows;
    size_t cap_rows;
};

int ssoctl_table_new(size_t ncols, const char *const *headers, ssoctl_table_t **out)
{
    *out = NULL;
    if (ncols == 0 || ncols > SSOCTL_TABLE_MAX_COLS)
        return -1;
    ssoctl_table_t *table = calloc(1, sizeof *table);
    if (!table)
        return -1;
    table->ncols = ncols;
    if (headers) {
        if (ssoctl_table_add(table, headers) != 0) {
            ssoctl_table_free(&table);
            return -1;
        }
        table->has_header = true;
    }
    *out = table;
    return 0;
}

void ssoctl_table_free(ssoctl_table_t **table)
{
    if (!*table)
        return;
    for (size_t i = 0; i < (*table)->nrows * (*table)->ncols; i++)
        free((*table)->cells[i]);
    free((*table)->cells);
    free(*table);
    *table = NULL;
}

/* Copies a cell, replacing C0/C1 control characters and DEL with '?'. */
static char *s_clean(const char *text)
{
    if (!text || !*text)
        text = "-";
    size_t len = strlen(text);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if (c < 0x20 || c == 0x7f)
            out[i] = '?';
        else if (c == 0xc2 && i + 1 < len && (unsigned char) text[i + 1] >= 0x80
                 && (unsigned char) text[i + 1] <= 0x9f) {
            /* U+0080..U+009F encoded in UTF-8: keep the byte count, blank both bytes. */
            out[i] = '?';
            out[++i] = '?';
        }
        else
            out[i] = (char) c;
    }
    out[len] = '\0';
    return out;
}

int ssoctl_table_add(ssoctl_table_t *table, const char *const *cells)
{
    if (table->nrows == table->cap_rows) {
        size_t cap = table->cap_rows ? table->cap_rows * 2 : 16;
        char **grown = realloc(table->cells, cap * table->ncols * sizeof *grown);
        if (!grown)
            return -1;
        table->cells = grown;
        table->cap_rows = cap;
    }
    char **row = table->cells + table->nrows * table->ncols;
    for (size_t i = 0; i < table->ncols; i++) {
        row[i] = s_clean(cells[i]);
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            return -1;
        }
    }
    table->nrows++;
    return 0;
}

/* Display width as code points: right for the ASCII and Latin text tables hold; wide CJK
   glyphs would be off by one column each, which only costs alignment. */
static size_t s_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xc0) != 0x80)
            width++;
    return width;
}

int ssoctl_table_render(const ssoctl_table_t *table, char **out)
{
    *out = NULL;
    size_t widths[SSOCTL_TABLE_MAX_COLS] = {0};
    for (size_t r = 0; r < table->nrows; r++)
        for (size_t c = 0; c < table->ncols; c++) {
            size_t w = s_width(table->cells[r * table->ncols + c]);
            if (w > widths[c])
                widths[c] = w;
        }
    ssoctl_buf_t buf = {0};
    for (size_t r = 0; r < table->nrows; r++) {
        for (size_t c = 0; c < table->ncols; c++) {
            const char *cell = table->cells[r * table->ncols + c];
            ssoctl_buf_puts(&buf, cell);
            if (c + 1 < table->ncols)
                ssoctl_buf_repeat(&buf, ' ', widths[c] - s_width(cell) + 2);
        }
        ssoctl_buf_puts(&buf, "\n");
    }
    *out = ssoctl_buf_take(&buf);
    return *out ? 0 : -1;
}

int ssoctl_table_print(const ssoctl_table_t *table, FILE *stream)
{
    char *text = NULL;
    if (ssoctl_table_render(table, &text) != 0)
        return -1;
    int rc = fputs(text, stream) < 0 ? -1 : 0;
    free(text);
    return rc;
}

/* The value at the dotted path (len bytes) under node, as a new reference, or NULL when
   absent. Where the path goes on through an array it goes into each element: the result is
   the array of what each one holds there ("certs.not_after" over [{not_after}...]). */
static json_t *s_lookup(const json_t *node, const char *path, size_t len)
{
    while (len > 0 && json_is_object(node)) {
        const char *dot = memchr(path, '.', len);
        size_t part = dot ? (size_t) (dot - path) : len;
        node = json_object_getn(node, path, part);
        if (!dot)
            return json_incref((json_t *) node);
        path = dot + 1;
        len -= part + 1;
    }
    if (!json_is_array(node) || len == 0)
        return NULL;
    json_t *values = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach(node, i, item)
    {
        json_t *value = s_lookup(item, path, len);
        if (value && !json_is_null(value) && json_array_append(values, value) != 0) {
            json_decref(value);
            json_decref(values);
            return NULL;
        }
        json_decref(value);
    }
    return values;
}

static int s_scalar(ssoctl_buf_t *buf, const json_t *value)
{
    char number[64];
    switch (json_typeof(value)) {
    case JSON_STRING:
        return ssoctl_buf_append(buf, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        return ssoctl_buf_puts(buf, number);
    case JSON_REAL:
        snprintf(number, sizeof number, "%g", json_real_value(value));
        return ssoctl_buf_puts(buf, number);
    case JSON_TRUE:
        return ssoctl_buf_puts(buf, "true");
    case JSON_FALSE:
        return ssoctl_buf_puts(buf, "false");
    case JSON_NULL:
        return 0;
    default: {
        char *dumped = json_dumps(value, JSON_COMPACT);
        if (!dumped)
            return -1;
        int rc = ssoctl_buf_puts(buf, dumped);
        free(dumped);
        return rc;
    }
    }
}

int ssoctl_json_cell(const json_t *object, const char *fields, char **out)
{
    *out = NULL;
    json_t *value = NULL;
    const char *path = fields;
    while (!value || json_is_null(value)) {
        const char *bar = strchr(path, '|');
        size_t len = bar ? (size_t) (bar - path) : strlen(path);
        json_decref(value);
        value = s_lookup(object, path, len);
        if (!bar)
            break;
        path = bar + 1;
    }
    if (!value || json_is_null(value)) {
        json_decref(value);
        return 0;
    }
    ssoctl_buf_t buf = {0};
    if (json_is_array(value)) {
        size_t i;
        const json_t *item;
        json_array_foreach(value, i, item)
        {
            if (i > 0)
                ssoctl_buf_puts(&buf, ", ");
            s_scalar(&buf, item);
        }
    }
    else if (json_is_object(value)) {
        /* "key=value, key=value" (settings such as a connection's options); an empty object
           is an empty cell, which shows as "-". */
        const char *key;
        const json_t *item;
        bool first = true;
        json_object_foreach((json_t *) value, key, item)
        {
            if (!first)
                ssoctl_buf_puts(&buf, ", ");
            first = false;
            ssoctl_buf_puts(&buf, key);
            ssoctl_buf_puts(&buf, "=");
            s_scalar(&buf, item);
        }
    }
    else
        s_scalar(&buf, value);
    json_decref(value);
    *out = ssoctl_buf_take(&buf);
    return *out ? 0 : -1;
}

static int s_add_json_row(ssoctl_table_t *table, const ssoctl_column_t *columns, size_t ncols,
                          const json_t *object)
{
    char *cells[SSOCTL_TABLE_MAX_COLS] = {0};
    int rc = 0;
    for (size_t c = 0; c < ncols && rc == 0; c++)
        rc = ssoctl_json_cell(object, columns[c].fields, &cells[c]);
    if (rc == 0)
        rc = ssoctl_table_add(table, (const char *const *) cells);
    for (size_t c = 0; c < ncols; c++)
        free(cells[c]);
    return rc;
}

int ssoctl_print_list(FILE *stream, const ssoctl_column_t *columns, size_t ncols,
                      const json_t *array)
{
    const char *headers[SSOCTL_TABLE_MAX_COLS];
    if (ncols > SSOCTL_TABLE_MAX_COLS)
        return -1;
    for (size_t c = 0; c < ncols; c++)
        headers[c] = columns[c].header;
    ssoctl_table_t *table = NULL;
    if (ssoctl_table_new(ncols, headers, &table) != 0)
        return -1;
    int rc = 0;
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item)
    {
        if (rc == 0)
            rc = s_add_json_row(table, columns, ncols, item);
    }
    if (rc == 0)
        rc = ssoctl_table_print(table, stream);
    ssoctl_table_free(&table);
    return rc;
}

int ssoctl_print_object(FILE *stream, const ssoctl_column_t *rows, size_t nrows,
                        const json_t *object)
{
    ssoctl_table_t *table = NULL;
    if (ssoctl_table_new(2, NULL, &table) != 0)
        return -1;
    int rc = 0;
    for (size_t r = 0; r < nrows && rc == 0; r++) {
        char *value = NULL;
        rc = ssoctl_json_cell(object, rows[r].fields, &value);
        if (rc == 0 && value) {
            const char *cells[2] = {rows[r].header, value};
            rc = ssoctl_table_add(table, cells);
        }
        free(value);
    }
    if (rc == 0)
        rc = ssoctl_table_print(table, stream);
    ssoctl_table_free(&table);
    return rc;
}

void ssoctl_table_test(bool verbose)
{
    (void) verbose;
    static const char *const headers[] = {"ID", "NAME", "CREATED"};
    ssoctl_table_t *table = NULL;
    SSO_CHECK(ssoctl_table_new(3, headers, &table) == 0);
    if (!table)
        return;
    const char *row1[] = {"org_1", "Acme", "2024-01-01T00:00:00Z"};
    const char *row2[] = {"org_22", NULL, ""};
    const char *row3[] = {"org_3", "Évil\x1b[31m\nco\xc2\x9b", "x"};
    SSO_CHECK(ssoctl_table_add(table, row1) == 0);
    SSO_CHECK(ssoctl_table_add(table, row2) == 0);
    SSO_CHECK(ssoctl_table_add(table, row3) == 0);
    char *text = NULL;
    SSO_CHECK(ssoctl_table_render(table, &text) == 0);
    const char *want = "ID      NAME            CREATED\n"
                       "org_1   Acme            2024-01-01T00:00:00Z\n"
                       "org_22  -               -\n"
                       "org_3   Évil?[31m?co??  x\n";
    SSO_CHECK(text && !strcmp(text, want));
    if (verbose && text)
        fputs(text, stdout);
    free(text);
    ssoctl_table_free(&table);
    SSO_CHECK(table == NULL);
    SSO_CHECK(ssoctl_table_new(0, NULL, &table) == -1);
    SSO_CHECK(ssoctl_table_new(SSOCTL_TABLE_MAX_COLS + 1, NULL, &table) == -1);

    /* Many rows force the row array to grow. */
    SSO_CHECK(ssoctl_table_new(1, NULL, &table) == 0);
    int rc = 0;
    for (int i = 0; i < 100 && table; i++) {
        const char *cell[] = {"x"};
        rc |= ssoctl_table_add(table, cell);
    }
    SSO_CHECK(rc == 0);
    ssoctl_table_free(&table);

    json_t *object = json_pack("{s:s, s:n, s:I, s:b, s:[s,s], s:{s:s}, s:s}", "id", "conn_1",
                               "external_id", "count", (json_int_t) 42, "ok", 1, "uris",
                               "https://a", "https://b", "sp", "acs_url", "https://acs", "time",
                               "t1");
    char *cell = NULL;
    SSO_CHECK(ssoctl_json_cell(object, "id", &cell) == 0 && cell && !strcmp(cell, "conn_1"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "external_id", &cell) == 0 && cell == NULL);
    SSO_CHECK(ssoctl_json_cell(object, "missing", &cell) == 0 && cell == NULL);
    SSO_CHECK(ssoctl_json_cell(object, "count", &cell) == 0 && cell && !strcmp(cell, "42"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "ok", &cell) == 0 && cell && !strcmp(cell, "true"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "uris", &cell) == 0 && cell
              && !strcmp(cell, "https://a, https://b"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "sp.acs_url", &cell) == 0 && cell
              && !strcmp(cell, "https://acs"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "sp.nope.deeper", &cell) == 0 && cell == NULL);
    SSO_CHECK(ssoctl_json_cell(object, "id.sub", &cell) == 0 && cell == NULL);
    SSO_CHECK(ssoctl_json_cell(object, "created_at|external_id|time", &cell) == 0 && cell
              && !strcmp(cell, "t1"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(object, "sp", &cell) == 0 && cell
              && !strcmp(cell, "acs_url=https://acs"));
    free(cell);
    /* A path through an array: what each element holds there, the elements without it
       left out; nothing there at all is an empty cell. */
    json_t *certs = json_pack("{s:{s:[{s:s}, {s:s}, {s:n}, s]}, s:{s:[]}}", "saml", "details",
                              "not_after", "2027-01-01T00:00:00Z", "not_after",
                              "2024-01-31T00:00:00Z", "not_after", "odd", "none", "details");
    SSO_CHECK(ssoctl_json_cell(certs, "saml.details.not_after", &cell) == 0 && cell
              && !strcmp(cell, "2027-01-01T00:00:00Z, 2024-01-31T00:00:00Z"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(certs, "none.details.not_after", &cell) == 0 && cell
              && !strcmp(cell, ""));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(certs, "saml.details.", &cell) == 0 && cell == NULL);
    SSO_CHECK(ssoctl_json_cell(certs, "oidc.details.not_after", &cell) == 0 && cell == NULL);
    json_decref(certs);
    /* Objects as key=value pairs in their order, values as other cells show them (a nested
       value as compact JSON); an empty object is an empty cell, shown as "-". */
    json_t *settings = json_pack("{s:{s:s, s:b, s:I, s:[s]}, s:{}}", "options", "mode",
                                 "form_post", "allow", 1, "n", (json_int_t) 3, "list", "a",
                                 "none");
    SSO_CHECK(ssoctl_json_cell(settings, "options", &cell) == 0 && cell
              && !strcmp(cell, "mode=form_post, allow=true, n=3, list=[\"a\"]"));
    free(cell);
    SSO_CHECK(ssoctl_json_cell(settings, "none", &cell) == 0 && cell && !strcmp(cell, ""));
    free(cell);
    static const ssoctl_column_t settings_rows[] = {{"NONE", "none"}, {"ABSENT", "absent"}};
    char *shown = NULL;
    size_t shown_len = 0;
    FILE *shown_stream = open_memstream(&shown, &shown_len);
    SSO_CHECK(shown_stream != NULL);
    if (shown_stream) {
        SSO_CHECK(ssoctl_print_object(shown_stream, settings_rows, 2, settings) == 0);
        fclose(shown_stream);
        SSO_CHECK(shown && !strcmp(shown, "NONE  -\n"));
    }
    free(shown);
    json_decref(settings);

    /* The list and object views, rendered through a memory stream. */
    static const ssoctl_column_t columns[] = {{"ID", "id"}, {"EXTERNAL ID", "external_id"},
                                              {"URIS", "uris"}};
    json_t *array = json_pack("[O, {s:s}]", object, "id", "conn_22");
    char *mem = NULL;
    size_t memlen = 0;
    FILE *stream = open_memstream(&mem, &memlen);
    SSO_CHECK(stream != NULL);
    if (stream && array) {
        SSO_CHECK(ssoctl_print_list(stream, columns, 3, array) == 0);
        SSO_CHECK(ssoctl_print_object(stream, columns, 3, object) == 0);
        fclose(stream);
        const char *expect = "ID       EXTERNAL ID  URIS\n"
                             "conn_1   -            https://a, https://b\n"
                             "conn_22  -            -\n"
                             "ID    conn_1\n"
                             "URIS  https://a, https://b\n";
        SSO_CHECK(mem && !strcmp(mem, expect));
    }
    free(mem);
    json_decref(array);
    json_decref(object);
}
