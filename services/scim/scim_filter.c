#include "scim_filter.h"
#include "sso_test.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { S_COMPARE, S_PRESENT, S_AND, S_OR, S_NOT, S_VALUE_PATH } s_kind_t;
typedef enum { S_EQ, S_NE, S_CO, S_SW, S_EW, S_GT, S_GE, S_LT, S_LE } s_op_t;

static const char *const s_op_names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};

typedef struct s_node {
    s_kind_t kind;
    scim_attr_t attr;     /* S_COMPARE, S_PRESENT, S_VALUE_PATH */
    s_op_t op;            /* S_COMPARE */
    json_t *value;        /* S_COMPARE: a string, number, true, false or null */
    struct s_node *child; /* S_AND, S_OR: the first operand; S_NOT: the negated; S_VALUE_PATH:
                             the bracket's filter */
    struct s_node *next;  /* the next operand of the S_AND or S_OR above */
    struct s_node *then;  /* S_VALUE_PATH: the test after "].sub", on the same element */
    struct s_node *all;   /* every node of a filter, so freeing needs no recursion */
} s_node_t;

struct _scim_filter_t {
    s_node_t *root;
    s_node_t *all;
    size_t nodes;
};

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    int depth;
    bool in_bracket;
    const char *what; /* "filter" or "path": the reasons' prefix */
    scim_filter_t *filter;
    char *why;
    size_t why_size;
} s_parser_t;

/* ---- reasons ----------------------------------------------------------------------------- */

static void s_fail(s_parser_t *p, size_t at, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void s_fail(s_parser_t *p, size_t at, const char *format, ...)
{
    char message[200];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    snprintf(p->why, p->why_size, "%s: at %zu: %s", p->what, at + 1, message);
}

static bool s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Where a word shown in a reason ends: at a space, a bracket, a quote or the end. */
static bool s_is_delimiter(char c)
{
    return s_is_space(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"';
}

const char *scim_filter_got(const char *text, size_t len, size_t at, const char *what,
                            char *buffer, size_t size)
{
    if (at >= len)
        return strcmp(what, "path") == 0 ? "the end of the path" : "the end of the filter";
    size_t end = at + 1; /* a delimiter alone is shown alone */
    if (!s_is_delimiter(text[at]))
        while (end < len && !s_is_delimiter(text[end]))
            end++;
    size_t shown = end - at > 32 ? 32 : end - at;
    size_t n = 0;
    buffer[n++] = '\'';
    for (size_t i = 0; i < shown && n + 5 < size; i++) {
        unsigned char c = (unsigned char) text[at + i];
        buffer[n++] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    if (end - at > shown && n + 5 < size) {
        memcpy(buffer + n, "...", 3);
        n += 3;
    }
    buffer[n++] = '\'';
    buffer[n] = '\0';
    return buffer;
}

static void s_fail_got(s_parser_t *p, size_t at, const char *expected)
{
    char got[48];
    s_fail(p, at, "expected %s, got %s", expected,
           scim_filter_got(p->text, p->len, at, p->what, got, sizeof got));
}

/* ---- nodes ------------------------------------------------------------------------------- */

void scim_attr_free(scim_attr_t *attr)
{
    free(attr->urn);
    free(attr->name);
    free(attr->sub);
    memset(attr, 0, sizeof *attr);
}

/* A node for the expression that starts at `at` (where a refusal points). */
static s_node_t *s_node_new(s_parser_t *p, s_kind_t kind, size_t at)
{
    if (p->filter->nodes >= SCIM_FILTER_NODES_MAX) {
        s_fail(p, at, "more than %d expressions", SCIM_FILTER_NODES_MAX);
        return NULL;
    }
    s_node_t *node = calloc(1, sizeof *node);
    if (!node) {
        s_fail(p, at, "out of memory");
        return NULL;
    }
    node->kind = kind;
    node->all = p->filter->all;
    p->filter->all = node;
    p->filter->nodes++;
    return node;
}

void scim_filter_destroy(scim_filter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scim_filter_t *self = *self_p;
    for (s_node_t *node = self->all, *next; node; node = next) {
        next = node->all;
        scim_attr_free(&node->attr);
        json_decref(node->value);
        free(node);
    }
    free(self);
    *self_p = NULL;
}

/* ---- attribute paths --------------------------------------------------------------------- */

static bool s_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The characters an attribute path (URN included) is made of. */
static bool s_is_path_char(char c)
{
    return s_is_alpha(c) || s_is_digit(c) || c == '-' || c == '_' || c == '$' || c == ':'
           || c == '.';
}

bool scim_attr_name_valid(const char *text, size_t len)
{
    if (len == 4 && strncmp(text, "$ref", 4) == 0)
        return true;
    if (len == 0 || !s_is_alpha(text[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!s_is_alpha(text[i]) && !s_is_digit(text[i]) && text[i] != '-' && text[i] != '_')
            return false;
    return true;
}

int scim_attr_parse(const char *text, size_t start, size_t end, const char *what,
                    scim_attr_t *attr, char *why, size_t why_size)
{
    memset(attr, 0, sizeof *attr);
    s_parser_t p = {.text = text, .len = end, .what = what, .why = why, .why_size = why_size};
    size_t name = start;
    if (end - start > 4 && strncasecmp(text + start, "urn:", 4) == 0) {
        size_t colon = end;
        while (colon > start && text[colon - 1] != ':')
            colon--;
        name = colon; /* the URN is everything before the last ':' ("2.0" has a dot) */
        if (name == end) {
            s_fail(&p, start, "expected an attribute name after the schema URN '%.*s'",
                   (int) (end - start > 80 ? 80 : end - start), text + start);
            return -1;
        }
    }
    else {
        for (size_t i = start; i < end; i++)
            if (text[i] == ':') {
                s_fail(&p, start, "'%.*s' is not an attribute path (a schema URN starts with "
                       "'urn:')", (int) (end - start > 80 ? 80 : end - start), text + start);
                return -1;
            }
    }
    size_t dot = name;
    while (dot < end && text[dot] != '.')
        dot++;
    bool sub = dot < end;
    if (!scim_attr_name_valid(text + name, dot - name)
        || (sub && !scim_attr_name_valid(text + dot + 1, end - dot - 1))) {
        s_fail(&p, start, "'%.*s' is not an attribute path (name, name.sub or a schema URN "
               "then ':name')", (int) (end - start > 80 ? 80 : end - start), text + start);
        return -1;
    }
    attr->urn = name > start ? strndup(text + start, name - 1 - start) : NULL;
    attr->name = strndup(text + name, dot - name);
    attr->sub = sub ? strndup(text + dot + 1, end - dot - 1) : NULL;
    if ((name > start && !attr->urn) || !attr->name || (sub && !attr->sub)) {
        scim_attr_free(attr);
        s_fail(&p, start, "out of memory");
        return -1;
    }
    return 0;
}

#define S_CORE_URN "urn:ietf:params:scim:schemas:core:2.0:"

json_t *scim_json_get(const json_t *object, const char *key, const char **found_key)
{
    const char *name;
    json_t *value;
    if (!json_is_object(object))
        return NULL;
    json_object_foreach((json_t *) object, name, value)
        if (strcasecmp(name, key) == 0) {
            if (found_key)
                *found_key = name;
            return value;
        }
    return NULL;
}

json_t *scim_attr_container(const scim_attr_t *attr, const json_t *resource)
{
    if (!attr->urn || strncasecmp(attr->urn, S_CORE_URN, strlen(S_CORE_URN)) == 0)
        return json_is_object(resource) ? (json_t *) resource : NULL;
    json_t *extension = scim_json_get(resource, attr->urn, NULL);
    return json_is_object(extension) ? extension : NULL;
}

/* ---- the parser -------------------------------------------------------------------------- */

static void s_skip_space(s_parser_t *p)
{
    while (p->pos < p->len && s_is_space(p->text[p->pos]))
        p->pos++;
}

/* Whether the keyword (lower case) stands at pos as a whole word; case-insensitive. */
static bool s_at_keyword(const s_parser_t *p, const char *keyword)
{
    size_t n = strlen(keyword);
    return p->len - p->pos >= n && strncasecmp(p->text + p->pos, keyword, n) == 0
           && (p->pos + n == p->len || s_is_delimiter(p->text[p->pos + n]));
}

static bool s_enter(s_parser_t *p)
{
    if (p->depth >= SCIM_FILTER_DEPTH_MAX) {
        s_fail(p, p->pos, "nested deeper than %d levels", SCIM_FILTER_DEPTH_MAX);
        return false;
    }
    p->depth++;
    return true;
}

static s_node_t *s_or(s_parser_t *p);

/* A JSON string from the '"' at pos; the decoded text must be UTF-8 without NUL. */
static json_t *s_string(s_parser_t *p)
{
    size_t start = p->pos++;
    char *out = malloc(p->len - start);
    if (!out) {
        s_fail(p, start, "out of memory");
        return NULL;
    }
    size_t n = 0;
    while (true) {
        if (p->pos >= p->len) {
            s_fail(p, start, "unterminated string");
            free(out);
            return NULL;
        }
        unsigned char c = (unsigned char) p->text[p->pos];
        if (c == '"')
            break;
        if (c < 0x20) {
            s_fail(p, p->pos, "a control character in a string (escape it)");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            out[n++] = (char) c;
            p->pos++;
            continue;
        }
        size_t escape = p->pos;
        if (escape + 1 >= p->len) {
            s_fail(p, start, "unterminated string");
            free(out);
            return NULL;
        }
        char e = p->text[escape + 1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            out[n++] = decoded[simple - "\"\\/bfnrt"];
            p->pos += 2;
            continue;
        }
        unsigned long code = 0;
        bool ok = e == 'u' && escape + 6 <= p->len;
        for (size_t i = escape + 2; ok && i < escape + 6; i++) {
            char h = p->text[i];
            int v = s_is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                          : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
            ok = v >= 0;
            code = code * 16 + (unsigned long) (v < 0 ? 0 : v);
        }
        if (!ok) {
            s_fail(p, escape, "bad escape '\\%c' in a string (\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                   "or \\u and 4 hex digits)", e >= 0x20 && e < 0x7f ? e : '?');
            free(out);
            return NULL;
        }
        p->pos += 6;
        if (code >= 0xD800 && code <= 0xDBFF) { /* a high surrogate: its low one must follow */
            unsigned long low = 0;
            ok = p->pos + 6 <= p->len && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u';
            for (size_t i = p->pos + 2; ok && i < p->pos + 6; i++) {
                char h = p->text[i];
                int v = s_is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                                              : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                ok = v >= 0;
                low = low * 16 + (unsigned long) (v < 0 ? 0 : v);
            }
            if (!ok || low < 0xDC00 || low > 0xDFFF) {
                s_fail(p, escape, "bad escape: a lone surrogate '\\u%04lX' in a string", code);
                free(out);
                return NULL;
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            p->pos += 6;
        }
        else if (code >= 0xDC00 && code <= 0xDFFF) {
            s_fail(p, escape, "bad escape: a lone surrogate '\\u%04lX' in a string", code);
            free(out);
            return NULL;
        }
        if (code == 0) {
            s_fail(p, escape, "\\u0000 is not allowed in a string");
            free(out);
            return NULL;
        }
        /* UTF-8; 6 escaped bytes (12 for a pair) always make room for 4 */
        if (code < 0x80)
            out[n++] = (char) code;
        else if (code < 0x800) {
            out[n++] = (char) (0xC0 | (code >> 6));
            out[n++] = (char) (0x80 | (code & 0x3F));
        }
        else if (code < 0x10000) {
            out[n++] = (char) (0xE0 | (code >> 12));
            out[n++] = (char) (0x80 | ((code >> 6) & 0x3F));
            out[n++] = (char) (0x80 | (code & 0x3F));
        }
        else {
            out[n++] = (char) (0xF0 | (code >> 18));
            out[n++] = (char) (0x80 | ((code >> 12) & 0x3F));
            out[n++] = (char) (0x80 | ((code >> 6) & 0x3F));
            out[n++] = (char) (0x80 | (code & 0x3F));
        }
    }
    p->pos++; /* the closing quote */
    json_t *value = json_stringn(out, n);
    free(out);
    if (!value)
        s_fail(p, start, "the string is not UTF-8");
    return value;
}

/* A JSON number at pos: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, then a delimiter. */
static json_t *s_number(s_parser_t *p)
{
    size_t start = p->pos, i = p->pos;
    bool integer = true;
    if (i < p->len && p->text[i] == '-')
        i++;
    bool ok = i < p->len && s_is_digit(p->text[i]);
    if (ok && p->text[i] == '0')
        i++;
    else
        while (i < p->len && s_is_digit(p->text[i]))
            i++;
    if (ok && i < p->len && p->text[i] == '.') {
        integer = false;
        ok = ++i < p->len && s_is_digit(p->text[i]);
        while (i < p->len && s_is_digit(p->text[i]))
            i++;
    }
    if (ok && i < p->len && (p->text[i] == 'e' || p->text[i] == 'E')) {
        integer = false;
        i++;
        if (i < p->len && (p->text[i] == '+' || p->text[i] == '-'))
            i++;
        ok = i < p->len && s_is_digit(p->text[i]);
        while (i < p->len && s_is_digit(p->text[i]))
            i++;
    }
    if (!ok || (i < p->len && !s_is_delimiter(p->text[i]))) {
        s_fail_got(p, start, "a number");
        return NULL;
    }
    char digits[64];
    if (i - start >= sizeof digits) {
        s_fail(p, start, "a number longer than %zu characters", sizeof digits - 1);
        return NULL;
    }
    memcpy(digits, p->text + start, i - start);
    digits[i - start] = '\0';
    p->pos = i;
    errno = 0;
    if (integer) {
        long long v = strtoll(digits, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    errno = 0;
    double d = strtod(digits, NULL);
    if (errno != 0 || !isfinite(d)) {
        s_fail(p, start, "the number %s is out of range", digits);
        return NULL;
    }
    return json_real(d);
}

/* compValue after the operator: a JSON string, number, true, false or null. */
static json_t *s_value(s_parser_t *p, s_op_t op)
{
    char expected[80];
    snprintf(expected, sizeof expected,
             "a value after '%s' (a \"string\", a number, true, false or null)", s_op_names[op]);
    if (p->pos >= p->len) {
        s_fail_got(p, p->pos, expected);
        return NULL;
    }
    char c = p->text[p->pos];
    size_t at = p->pos;
    json_t *value = NULL;
    if (c == '"')
        value = s_string(p);
    else if (c == '-' || s_is_digit(c))
        value = s_number(p);
    else {
        static const char *const words[] = {"true", "false", "null"};
        for (size_t i = 0; i < 3 && !value; i++) {
            size_t n = strlen(words[i]);
            if (p->len - p->pos >= n && strncmp(p->text + p->pos, words[i], n) == 0
                && (p->pos + n == p->len || s_is_delimiter(p->text[p->pos + n]))) {
                value = i == 0 ? json_true() : i == 1 ? json_false() : json_null();
                p->pos += n;
            }
        }
        if (!value)
            s_fail_got(p, p->pos, expected);
    }
    if (!value)
        return NULL;
    /* RFC 7644 3.4.2.2: co, sw, ew are substring tests; gt, ge, lt, le order strings, numbers
       and dates and refuse booleans (and null, which has no order) */
    bool substring = op == S_CO || op == S_SW || op == S_EW;
    bool ordering = op == S_GT || op == S_GE || op == S_LT || op == S_LE;
    if ((substring && !json_is_string(value)) || (ordering && !json_is_string(value)
                                                  && !json_is_number(value))) {
        s_fail(p, at, "'%s' compares %s, not %.*s", s_op_names[op],
               substring ? "strings" : "strings, numbers and dates",
               (int) (p->pos - at > 40 ? 40 : p->pos - at), p->text + at);
        json_decref(value);
        return NULL;
    }
    return value;
}

/* After an attribute path (attr, its text from start to pos): "pr", or an operator and a
   value. */
static s_node_t *s_comparison(s_parser_t *p, scim_attr_t *attr, size_t start)
{
    size_t before = p->pos;
    s_skip_space(p);
    size_t at = p->pos;
    size_t end = at;
    while (end < p->len && s_is_alpha(p->text[end]))
        end++;
    bool word = end > at && (end == p->len || s_is_delimiter(p->text[end]));
    int op = -1;
    bool present = word && end - at == 2 && strncasecmp(p->text + at, "pr", 2) == 0;
    for (int i = 0; word && i < (int) (sizeof s_op_names / sizeof *s_op_names); i++)
        if (end - at == 2 && strncasecmp(p->text + at, s_op_names[i], 2) == 0)
            op = i;
    if ((!present && op < 0) || at == before) {
        s_fail_got(p, at, "a comparison operator (eq ne co sw ew gt ge lt le pr)");
        return NULL;
    }
    p->pos = end;
    s_node_t *node = s_node_new(p, present ? S_PRESENT : S_COMPARE, start);
    if (!node)
        return NULL;
    node->attr = *attr;
    memset(attr, 0, sizeof *attr);
    if (present)
        return node;
    node->op = (s_op_t) op;
    s_skip_space(p);
    node->value = s_value(p, node->op);
    return node->value ? node : NULL;
}

/* An attribute expression or a value path, from the attribute path at pos. */
static s_node_t *s_attribute(s_parser_t *p)
{
    size_t start = p->pos, end = p->pos;
    while (end < p->len && s_is_path_char(p->text[end]))
        end++;
    if (end == start) {
        s_fail_got(p, start, "an attribute, '(' or 'not ('");
        return NULL;
    }
    scim_attr_t attr;
    if (scim_attr_parse(p->text, start, end, p->what, &attr, p->why, p->why_size) != 0)
        return NULL;
    p->pos = end;
    if (p->pos >= p->len || p->text[p->pos] != '[') {
        s_node_t *node = s_comparison(p, &attr, start);
        scim_attr_free(&attr); /* emptied when the node took it */
        return node;
    }
    /* valuePath: attr[valFilter], then maybe .sub op value on the same element */
    if (p->in_bracket) {
        scim_attr_free(&attr);
        s_fail(p, p->pos, "a value filter cannot hold another '['");
        return NULL;
    }
    if (attr.sub) {
        scim_attr_free(&attr);
        s_fail(p, p->pos, "a value filter follows an attribute, not a sub-attribute");
        return NULL;
    }
    s_node_t *node = s_node_new(p, S_VALUE_PATH, start);
    if (!node) {
        scim_attr_free(&attr);
        return NULL;
    }
    node->attr = attr;
    if (!s_enter(p))
        return NULL;
    p->pos++;
    p->in_bracket = true;
    node->child = s_or(p);
    if (!node->child)
        return NULL;
    s_skip_space(p);
    if (p->pos >= p->len || p->text[p->pos] != ']') {
        s_fail_got(p, p->pos, "'and', 'or' or ']'");
        return NULL;
    }
    p->pos++;
    p->in_bracket = false;
    p->depth--;
    if (p->pos < p->len && p->text[p->pos] == '.') {
        size_t sub = ++p->pos, sub_end = sub;
        while (sub_end < p->len && s_is_path_char(p->text[sub_end]))
            sub_end++;
        if (!scim_attr_name_valid(p->text + sub, sub_end - sub)) {
            s_fail_got(p, sub, "a sub-attribute name after '].'");
            return NULL;
        }
        scim_attr_t inner = {.name = strndup(p->text + sub, sub_end - sub)};
        if (!inner.name) {
            s_fail(p, sub, "out of memory");
            return NULL;
        }
        p->pos = sub_end;
        p->in_bracket = true; /* the test is on the element, like the bracket's */
        node->then = s_comparison(p, &inner, sub);
        p->in_bracket = false;
        scim_attr_free(&inner);
        if (!node->then)
            return NULL;
    }
    return node;
}

/* not ( filter ), ( filter ), or an attribute expression. */
static s_node_t *s_unary(s_parser_t *p)
{
    s_skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == '(') {
        if (!s_enter(p))
            return NULL;
        p->pos++;
        s_node_t *inner = s_or(p);
        if (!inner)
            return NULL;
        s_skip_space(p);
        if (p->pos >= p->len || p->text[p->pos] != ')') {
            s_fail_got(p, p->pos, "'and', 'or' or ')'");
            return NULL;
        }
        p->pos++;
        p->depth--;
        return inner;
    }
    if (s_at_keyword(p, "not")) {
        size_t at = p->pos;
        p->pos += 3;
        s_skip_space(p);
        if (p->pos >= p->len || p->text[p->pos] != '(') {
            s_fail_got(p, p->pos, "'(' after 'not'");
            return NULL;
        }
        s_node_t *node = s_node_new(p, S_NOT, at);
        if (!node)
            return NULL;
        node->child = s_unary(p);
        return node->child ? node : NULL;
    }
    return s_attribute(p);
}

/* Whether the keyword "and" or "or" follows (after spaces), as an operator may: after a space,
   or right after ')', ']' or a string's '"'. */
static bool s_at_logical(s_parser_t *p, const char *keyword)
{
    size_t before = p->pos;
    s_skip_space(p);
    char previous = p->pos > 0 ? p->text[p->pos - 1] : ' ';
    bool separated = p->pos > before || previous == ')' || previous == ']' || previous == '"';
    if (separated && s_at_keyword(p, keyword)) {
        p->pos += strlen(keyword);
        return true;
    }
    p->pos = before;
    return false;
}

/* One operand, or several joined by `keyword` (and, or) into one node with a sibling list:
   a long chain stays one level deep. */
static s_node_t *s_chain(s_parser_t *p, const char *keyword, s_kind_t kind,
                         s_node_t *(*operand)(s_parser_t *))
{
    s_skip_space(p);
    size_t at = p->pos;
    s_node_t *first = operand(p);
    if (!first || !s_at_logical(p, keyword))
        return first;
    s_node_t *node = s_node_new(p, kind, at);
    if (!node)
        return NULL;
    node->child = first;
    s_node_t *last = first;
    do {
        last->next = operand(p);
        if (!last->next)
            return NULL;
        last = last->next;
    } while (s_at_logical(p, keyword));
    return node;
}

static s_node_t *s_and(s_parser_t *p)
{
    return s_chain(p, "and", S_AND, s_unary);
}

static s_node_t *s_or(s_parser_t *p)
{
    return s_chain(p, "or", S_OR, s_and);
}

static scim_filter_t *s_parse(s_parser_t *p, bool bracket)
{
    p->filter = calloc(1, sizeof *p->filter);
    if (!p->filter) {
        snprintf(p->why, p->why_size, "%s: out of memory", p->what);
        return NULL;
    }
    p->filter->root = s_or(p);
    if (p->filter->root) {
        s_skip_space(p);
        if (bracket) {
            if (p->pos >= p->len || p->text[p->pos] != ']')
                s_fail_got(p, p->pos, "'and', 'or' or ']'");
            else {
                p->pos++;
                return p->filter;
            }
        }
        else if (p->pos < p->len)
            s_fail_got(p, p->pos, "'and', 'or' or the end of the filter");
        else
            return p->filter;
    }
    scim_filter_destroy(&p->filter);
    return NULL;
}

scim_filter_t *scim_filter_parse(const char *text, size_t len, char *why, size_t why_size)
{
    size_t first = 0;
    while (text && first < len && s_is_space(text[first]))
        first++;
    if (!text || first == len) {
        snprintf(why, why_size, "filter: the filter is empty");
        return NULL;
    }
    if (len > SCIM_FILTER_TEXT_MAX) {
        snprintf(why, why_size, "filter: the filter is longer than %d bytes",
                 SCIM_FILTER_TEXT_MAX);
        return NULL;
    }
    s_parser_t p = {.text = text, .len = len, .what = "filter", .why = why,
                    .why_size = why_size};
    return s_parse(&p, false);
}

scim_filter_t *scim_filter_parse_bracket(const char *text, size_t len, size_t *pos,
                                         char *why, size_t why_size)
{
    s_parser_t p = {.text = text, .len = len, .pos = *pos, .depth = 1, .in_bracket = true,
                    .what = "path", .why = why, .why_size = why_size};
    scim_filter_t *filter = s_parse(&p, true);
    if (filter)
        *pos = p.pos;
    return filter;
}

/* ---- dates ------------------------------------------------------------------------------- */

static bool s_digits(const char *text, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(text[i]))
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static long long s_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int scim_datetime_parse(const char *text, long long *seconds, long *nanos)
{
    /* YYYY-MM-DDThh:mm:ss[.f+][Z|(+|-)hh:mm]; no zone reads as UTC */
    size_t len = text ? strlen(text) : 0;
    int y, mo, d, h, mi, s;
    if (len < 19 || !s_digits(text, 4, &y) || text[4] != '-' || !s_digits(text + 5, 2, &mo)
        || text[7] != '-' || !s_digits(text + 8, 2, &d) || (text[10] != 'T' && text[10] != 't')
        || !s_digits(text + 11, 2, &h) || text[13] != ':' || !s_digits(text + 14, 2, &mi)
        || text[16] != ':' || !s_digits(text + 17, 2, &s))
        return -1;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || (mo == 2 && d == 29 && !leap)
        || h > 23 || mi > 59 || s > 60)
        return -1;
    size_t i = 19;
    long fraction = 0;
    if (i < len && text[i] == '.') {
        size_t digits = 0;
        for (i++; i < len && s_is_digit(text[i]); i++, digits++)
            if (digits < 9)
                fraction = fraction * 10 + (text[i] - '0');
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            fraction *= 10;
    }
    int offset = 0;
    if (i < len && (text[i] == 'Z' || text[i] == 'z'))
        i++;
    else if (i < len && (text[i] == '+' || text[i] == '-')) {
        int oh, om;
        if (len - i != 6 || !s_digits(text + i + 1, 2, &oh) || text[i + 3] != ':'
            || !s_digits(text + i + 4, 2, &om) || oh > 14 || om > 59)
            return -1;
        offset = (text[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        i += 6;
    }
    if (i != len)
        return -1;
    *seconds = s_days_from_civil(y, mo, d) * 86400LL + h * 3600 + mi * 60 + s - offset;
    *nanos = fraction;
    return 0;
}

/* ---- matching ---------------------------------------------------------------------------- */

/* RFC 7643 (3.1 and 8.7): the attributes of User, Group and the enterprise extension whose
   strings are caseExact or dateTimes; everything else compares case-insensitively as text. */
static const struct {
    const char *attr, *sub; /* sub NULL: a top-level attribute */
    bool case_exact, date_time;
} s_rules[] = {
    {"id", NULL, true, false},
    {"externalId", NULL, true, false},
    {"meta", "resourceType", true, false},
    {"meta", "version", true, false},
    {"meta", "created", false, true},
    {"meta", "lastModified", false, true},
};

typedef struct {
    bool case_exact, date_time;
} s_rule_t;

/* The rule of the attribute tested: attr in element context under parent ("emails"). */
static s_rule_t s_rule(const scim_attr_t *attr, const char *parent)
{
    s_rule_t rule = {false, false};
    if (attr->urn && strncasecmp(attr->urn, S_CORE_URN, strlen(S_CORE_URN)) != 0)
        return rule; /* an extension's attribute: none is caseExact or a dateTime */
    const char *outer = parent ? parent : attr->name;
    const char *inner = parent ? attr->name : attr->sub;
    for (size_t i = 0; i < sizeof s_rules / sizeof *s_rules; i++)
        if (strcasecmp(s_rules[i].attr, outer) == 0
            && (s_rules[i].sub ? inner && strcasecmp(s_rules[i].sub, inner) == 0 : !inner)) {
            rule.case_exact = s_rules[i].case_exact;
            rule.date_time = s_rules[i].date_time;
        }
    return rule;
}

/* Calls test on each value attr names in container (a multi-valued attribute's each element,
   a sub-attribute of each element) until it says true; whether one did. */
typedef bool (*s_value_test_t)(const s_node_t *node, s_rule_t rule, const json_t *value);

static bool s_any_value(const s_node_t *node, s_rule_t rule, const json_t *value,
                        s_value_test_t test)
{
    if (!json_is_array(value))
        return value && test(node, rule, value);
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item)
        if (test(node, rule, item))
            return true;
    return false;
}

static bool s_each_value(const s_node_t *node, const json_t *container, const char *parent,
                         s_value_test_t test)
{
    s_rule_t rule = s_rule(&node->attr, parent);
    json_t *value = scim_json_get(container, node->attr.name, NULL);
    if (!node->attr.sub)
        return s_any_value(node, rule, value, test);
    if (json_is_object(value))
        return s_any_value(node, rule, scim_json_get(value, node->attr.sub, NULL), test);
    size_t i;
    json_t *item;
    json_array_foreach(value, i, item)
        if (s_any_value(node, rule, scim_json_get(item, node->attr.sub, NULL), test))
            return true;
    return false;
}

static bool s_present(const s_node_t *node, s_rule_t rule, const json_t *value)
{
    (void) node;
    (void) rule;
    return !json_is_null(value) && !(json_is_string(value) && json_string_length(value) == 0)
           && !(json_is_array(value) && json_array_size(value) == 0);
}

/* a ci-substring of s: ci at the start (sw), the end (ew) or anywhere (co) */
static bool s_contains(const char *s, const char *part, s_op_t op, bool case_exact)
{
    size_t n = strlen(s), k = strlen(part);
    if (k > n)
        return false;
    int (*compare)(const char *, const char *, size_t) = case_exact ? strncmp : strncasecmp;
    if (op == S_SW)
        return compare(s, part, k) == 0;
    if (op == S_EW)
        return compare(s + n - k, part, k) == 0;
    for (size_t i = 0; i + k <= n; i++)
        if (compare(s + i, part, k) == 0)
            return true;
    return false;
}

static bool s_ordered(s_op_t op, int sign)
{
    switch (op) {
    case S_EQ: return sign == 0;
    case S_NE: return sign != 0;
    case S_GT: return sign > 0;
    case S_GE: return sign >= 0;
    case S_LT: return sign < 0;
    case S_LE: return sign <= 0;
    default: return false;
    }
}

static bool s_compare(const s_node_t *node, s_rule_t rule, const json_t *value)
{
    const json_t *want = node->value;
    if (json_is_object(value)) /* a complex value without a sub-attribute: its "value" */
        value = scim_json_get(value, "value", NULL);
    if (!value)
        return false;
    if (json_is_string(want)) {
        if (!json_is_string(value))
            return node->op == S_NE;
        const char *s = json_string_value(value), *w = json_string_value(want);
        if (node->op == S_CO || node->op == S_SW || node->op == S_EW)
            return s_contains(s, w, node->op, rule.case_exact);
        long long s_seconds, w_seconds;
        long s_nanos, w_nanos;
        if (rule.date_time && scim_datetime_parse(s, &s_seconds, &s_nanos) == 0
            && scim_datetime_parse(w, &w_seconds, &w_nanos) == 0) {
            int sign = s_seconds != w_seconds ? (s_seconds < w_seconds ? -1 : 1)
                       : s_nanos != w_nanos   ? (s_nanos < w_nanos ? -1 : 1)
                                              : 0;
            return s_ordered(node->op, sign);
        }
        int sign = rule.case_exact ? strcmp(s, w) : strcasecmp(s, w);
        return s_ordered(node->op, sign);
    }
    if (json_is_number(want)) {
        if (!json_is_number(value))
            return node->op == S_NE;
        int sign;
        if (json_is_integer(want) && json_is_integer(value)) {
            json_int_t a = json_integer_value(value), b = json_integer_value(want);
            sign = a < b ? -1 : a > b;
        }
        else {
            double a = json_number_value(value), b = json_number_value(want);
            sign = a < b ? -1 : a > b;
        }
        return s_ordered(node->op, sign);
    }
    /* true or false: eq and ne only (the parser refused the rest) */
    bool same = json_is_boolean(value) && json_is_true(value) == json_is_true(want);
    return node->op == S_EQ ? same : !same;
}

static bool s_not_null(const s_node_t *node, s_rule_t rule, const json_t *value)
{
    (void) node;
    (void) rule;
    return !json_is_null(value);
}

/* obj: the resource (parent NULL) or an element of the multi-valued attribute parent. */
static bool s_match(const s_node_t *node, const json_t *obj, const char *parent)
{
    const json_t *container = parent ? obj : scim_attr_container(&node->attr, obj);
    switch (node->kind) {
    case S_AND:
        for (const s_node_t *c = node->child; c; c = c->next)
            if (!s_match(c, obj, parent))
                return false;
        return true;
    case S_OR:
        for (const s_node_t *c = node->child; c; c = c->next)
            if (s_match(c, obj, parent))
                return true;
        return false;
    case S_NOT:
        return !s_match(node->child, obj, parent);
    case S_PRESENT:
        return s_each_value(node, container, parent, s_present);
    case S_COMPARE:
        if (json_is_null(node->value)) { /* null is unassigned (RFC 7643 2.5) */
            bool assigned = s_each_value(node, container, parent, s_not_null);
            return node->op == S_EQ ? !assigned : assigned;
        }
        return s_each_value(node, container, parent, s_compare);
    case S_VALUE_PATH: {
        json_t *value = scim_json_get(container, node->attr.name, NULL);
        const char *name = node->attr.name;
        if (json_is_object(value))
            return s_match(node->child, value, name)
                   && (!node->then || s_match(node->then, value, name));
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
            if (s_match(node->child, item, name)
                && (!node->then || s_match(node->then, item, name)))
                return true;
        return false;
    }
    }
    return false;
}

bool scim_filter_match(const scim_filter_t *self, const json_t *resource)
{
    return self && json_is_object(resource) && s_match(self->root, resource, NULL);
}

bool scim_filter_match_element(const scim_filter_t *self, const char *attr,
                               const json_t *element)
{
    return self && json_is_object(element) && s_match(self->root, element, attr);
}

/* One `name eq value` of a template, set in element; false when node is not one. */
static bool s_template_put(const s_node_t *node, json_t *element)
{
    if (node->kind != S_COMPARE || node->op != S_EQ || node->attr.urn || node->attr.sub
        || json_is_null(node->value) || scim_json_get(element, node->attr.name, NULL))
        return false;
    return json_object_set(element, node->attr.name, node->value) == 0;
}

json_t *scim_filter_template(const scim_filter_t *self)
{
    json_t *element = self ? json_object() : NULL;
    if (!element)
        return NULL;
    const s_node_t *root = self->root;
    bool exact = root->kind == S_AND;
    for (const s_node_t *node = exact ? root->child : root; node; node = exact ? node->next : NULL)
        if (!s_template_put(node, element)) {
            json_decref(element);
            return NULL;
        }
    return element;
}

/* Whether node's attribute is name[.sub] of the core schema (no URN, or a core one). */
static bool s_names(const scim_attr_t *attr, const char *name, const char *sub)
{
    static const char core[] = "urn:ietf:params:scim:schemas:core:2.0:";
    if (attr->urn && strncasecmp(attr->urn, core, sizeof core - 1) != 0)
        return false;
    return !strcasecmp(attr->name, name)
           && (sub ? attr->sub && !strcasecmp(attr->sub, sub) : !attr->sub);
}

/* Whether node is `sub eq "..."` (a string), sub a simple name. */
static bool s_eq_on(const s_node_t *node, const char *sub)
{
    return node && node->kind == S_COMPARE && node->op == S_EQ && json_is_string(node->value)
           && !strcasecmp(node->attr.name, sub) && !node->attr.sub && !node->attr.urn;
}

/* The string of an `eq` on name[.sub] at node (a comparison, a value path whose "].sub eq"
   is on sub, or one without "].sub" whose bracket is exactly `sub eq`: a Group's
   members[value eq "..."]), or NULL. */
static const char *s_eq_at(const s_node_t *node, const char *name, const char *sub)
{
    if (node->kind == S_COMPARE && node->op == S_EQ && json_is_string(node->value)
        && s_names(&node->attr, name, sub))
        return json_string_value(node->value);
    if (node->kind != S_VALUE_PATH || !sub || !s_names(&node->attr, name, NULL))
        return NULL;
    if (node->then)
        return s_eq_on(node->then, sub) ? json_string_value(node->then->value) : NULL;
    return s_eq_on(node->child, sub) ? json_string_value(node->child->value) : NULL;
}

const char *scim_filter_eq_value(const scim_filter_t *self, const char *name, const char *sub)
{
    if (!self || !name)
        return NULL;
    const s_node_t *root = self->root;
    if (root->kind != S_AND)
        return s_eq_at(root, name, sub);
    for (const s_node_t *c = root->child; c; c = c->next) {
        const char *value = s_eq_at(c, name, sub);
        if (value)
            return value;
    }
    return NULL;
}

/* ---- self-test --------------------------------------------------------------------------- */

/* Whether text parses (verbose: the reason when not). */
static bool s_parses(const char *text, bool verbose)
{
    char why[256] = "";
    scim_filter_t *filter = scim_filter_parse(text, strlen(text), why, sizeof why);
    if (verbose && !filter)
        printf("  %s -> %s\n", text, why);
    bool parsed = filter != NULL;
    scim_filter_destroy(&filter);
    return parsed;
}

#define S_LEN ((size_t) -1) /* the text's strlen */

/* Whether text (len bytes, or S_LEN) is refused with exactly reason. */
static bool s_refused(const char *text, size_t len, const char *reason)
{
    char why[256] = "";
    if (len == S_LEN)
        len = strlen(text);
    scim_filter_t *filter = scim_filter_parse(text, len, why, sizeof why);
    bool refused = !filter && strcmp(why, reason) == 0;
    if (!refused)
        fprintf(stderr, "  %.60s: want \"%s\", got \"%s\"\n", text ? text : "(null)", reason,
                filter ? "(parsed)" : why);
    scim_filter_destroy(&filter);
    return refused;
}

/* 1 when text matches resource, 0 when not, -1 when it does not parse. */
static int s_matches(const char *text, const json_t *resource)
{
    char why[256];
    scim_filter_t *filter = scim_filter_parse(text, strlen(text), why, sizeof why);
    if (!filter) {
        fprintf(stderr, "  %s: %s\n", text, why);
        return -1;
    }
    int matched = scim_filter_match(filter, resource);
    scim_filter_destroy(&filter);
    return matched;
}

/* The template of a filter as compact JSON ("-" when none) against want. */
static bool s_template_is(const char *text, const char *want)
{
    char why[256];
    scim_filter_t *filter = scim_filter_parse(text, strlen(text), why, sizeof why);
    json_t *template = scim_filter_template(filter);
    char *got = template ? json_dumps(template, JSON_COMPACT) : NULL;
    bool ok = filter && !strcmp(got ? got : "-", want);
    if (!ok)
        fprintf(stderr, "  template of %s: want %s, got %s\n", text, want, got ? got : "-");
    free(got);
    json_decref(template);
    scim_filter_destroy(&filter);
    return ok;
}

static void s_test_eq_value(void)
{
    static const struct {
        const char *filter, *name, *sub, *value; /* value NULL: no required equality */
    } cases[] = {
        {"userName eq \"Bjensen\"", "username", NULL, "Bjensen"},
        {"urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\"", "userName", NULL, "a"},
        {"externalId eq \"x\" and active eq true", "externalId", NULL, "x"},
        {"active eq true and displayName eq \"D\"", "displayName", NULL, "D"},
        {"emails[type eq \"work\"].value eq \"j@x\"", "emails", "value", "j@x"},
        {"emails.value eq \"j@x\"", "emails", "value", "j@x"},
        {"userName eq \"a\" or userName eq \"b\"", "userName", NULL, NULL},
        {"not (userName eq \"a\")", "userName", NULL, NULL},
        {"userName ne \"a\"", "userName", NULL, NULL},
        {"userName co \"a\"", "userName", NULL, NULL},
        {"userName eq 1", "userName", NULL, NULL},
        {"userName eq \"a\"", "externalId", NULL, NULL},
        {"emails eq \"j@x\"", "emails", "value", NULL},
        {"emails[type eq \"work\"]", "emails", "value", NULL},
        {"members[value eq \"u1\"]", "members", "value", "u1"},
        {"members[VALUE eq \"u1\"] and displayName eq \"g\"", "members", "value", "u1"},
        {"members[value ne \"u1\"]", "members", "value", NULL},
        {"members[value eq \"u1\" or value eq \"u2\"]", "members", "value", NULL},
        {"members[display eq \"u1\"]", "members", "value", NULL},
        {"members[value eq \"u1\"].display eq \"d\"", "members", "value", NULL},
        {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq \"a\"",
         "userName", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char why[256];
        scim_filter_t *filter = scim_filter_parse(cases[i].filter, strlen(cases[i].filter), why,
                                                  sizeof why);
        const char *value = scim_filter_eq_value(filter, cases[i].name, cases[i].sub);
        bool ok = filter && (cases[i].value ? value && !strcmp(value, cases[i].value) : !value);
        if (!ok)
            fprintf(stderr, "eq_value case %zu: %s\n", i, cases[i].filter);
        SSO_CHECK(ok);
        scim_filter_destroy(&filter);
    }
    SSO_CHECK(scim_filter_eq_value(NULL, "userName", NULL) == NULL);
}

void scim_filter_test(bool verbose)
{
    /* the element an exact filter names, for the PATCH engine */
    SSO_CHECK(s_template_is("value eq \"2819c223\"", "{\"value\":\"2819c223\"}"));
    SSO_CHECK(s_template_is("type eq \"work\" and primary eq true",
                            "{\"type\":\"work\",\"primary\":true}"));
    SSO_CHECK(s_template_is("type eq \"work\" or type eq \"home\"", "-"));
    SSO_CHECK(s_template_is("type eq \"a\" and TYPE eq \"b\"", "-"));
    SSO_CHECK(s_template_is("type ne \"work\"", "-"));
    SSO_CHECK(s_template_is("type pr", "-"));
    SSO_CHECK(s_template_is("type eq null", "-"));
    SSO_CHECK(s_template_is("name.givenName eq \"a\"", "-"));
    SSO_CHECK(s_template_is("urn:x:y:type eq \"a\"", "-"));
    SSO_CHECK(s_template_is("not (type eq \"a\")", "-"));
    SSO_CHECK(!scim_filter_template(NULL));
    s_test_eq_value();
    json_t *user = json_loads(
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\","
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"],"
        "\"id\":\"2819c223-7f76-453a-919d-413861904646\",\"externalId\":\"BJensen\","
        "\"userName\":\"bjensen@example.com\",\"displayName\":\"Babs Jensen\",\"title\":\"\","
        "\"nickName\":null,\"active\":true,\"phoneNumbers\":[],\"age\":41,\"score\":7.5,"
        "\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},"
        "\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\",\"primary\":true},"
        "{\"value\":\"babs@jensen.org\",\"type\":\"home\"}],"
        "\"meta\":{\"resourceType\":\"User\",\"created\":\"2026-01-02T03:04:05Z\","
        "\"lastModified\":\"2026-01-02T04:04:05.5+01:00\",\"version\":\"W/\\\"a330bc54f\\\"\"},"
        "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\":"
        "{\"employeeNumber\":\"701984\",\"manager\":{\"value\":\"26118915\"}}}",
        0, NULL);
    json_t *group = json_loads(
        "{\"id\":\"e9e30dba\",\"displayName\":\"Tour Guides\",\"members\":["
        "{\"value\":\"2819c223\",\"display\":\"Babs Jensen\"},{\"value\":\"902c246b\"}]}",
        0, NULL);
    SSO_CHECK(user && group);

    /* every operator, true and false */
    SSO_CHECK(s_matches("userName eq \"bjensen@example.com\"", user) == 1);
    SSO_CHECK(s_matches("userName eq \"bjensen@example.org\"", user) == 0);
    SSO_CHECK(s_matches("userName ne \"x\"", user) == 1);
    SSO_CHECK(s_matches("userName ne \"BJENSEN@example.com\"", user) == 0);
    SSO_CHECK(s_matches("displayName co \"s J\"", user) == 1);
    SSO_CHECK(s_matches("displayName co \"sj\"", user) == 0);
    SSO_CHECK(s_matches("displayName sw \"babs\"", user) == 1);
    SSO_CHECK(s_matches("displayName sw \"Jensen\"", user) == 0);
    SSO_CHECK(s_matches("displayName ew \"JENSEN\"", user) == 1);
    SSO_CHECK(s_matches("displayName ew \"Babs\"", user) == 0);
    SSO_CHECK(s_matches("userName gt \"a\"", user) == 1);
    SSO_CHECK(s_matches("userName gt \"C\"", user) == 0); /* case-insensitive order */
    SSO_CHECK(s_matches("userName ge \"BJENSEN@EXAMPLE.COM\"", user) == 1);
    SSO_CHECK(s_matches("userName lt \"c\"", user) == 1);
    SSO_CHECK(s_matches("userName le \"a\"", user) == 0);
    SSO_CHECK(s_matches("age gt 40", user) == 1);
    SSO_CHECK(s_matches("age ge 41.5", user) == 0);
    SSO_CHECK(s_matches("age le 41", user) == 1);
    SSO_CHECK(s_matches("score lt 7.6", user) == 1);
    SSO_CHECK(s_matches("score eq 7.5", user) == 1);
    SSO_CHECK(s_matches("age eq 4.1e1", user) == 1);
    SSO_CHECK(s_matches("age eq \"41\"", user) == 0); /* a string is not a number */
    SSO_CHECK(s_matches("active eq true", user) == 1);
    SSO_CHECK(s_matches("active eq false", user) == 0);
    SSO_CHECK(s_matches("active ne false", user) == 1);
    /* operators, keywords and attribute names are case-insensitive */
    SSO_CHECK(s_matches("USERNAME EQ \"bjensen@example.com\" AND Active Eq true", user) == 1);
    SSO_CHECK(s_matches("name.FAMILYNAME Sw \"jen\"", user) == 1);

    /* pr: not null, not "", not [] */
    SSO_CHECK(s_matches("userName pr", user) == 1);
    SSO_CHECK(s_matches("title pr", user) == 0);
    SSO_CHECK(s_matches("nickName pr", user) == 0);
    SSO_CHECK(s_matches("phoneNumbers pr", user) == 0);
    SSO_CHECK(s_matches("nosuch pr", user) == 0);
    SSO_CHECK(s_matches("emails pr", user) == 1);
    SSO_CHECK(s_matches("name.middleName pr", user) == 0);
    /* null is unassigned; ne on an absent attribute is false like every other operator */
    SSO_CHECK(s_matches("nickName eq null", user) == 1);
    SSO_CHECK(s_matches("nosuch eq null", user) == 1);
    SSO_CHECK(s_matches("phoneNumbers eq null", user) == 1);
    SSO_CHECK(s_matches("userName eq null", user) == 0);
    SSO_CHECK(s_matches("userName ne null", user) == 1);
    SSO_CHECK(s_matches("nosuch ne \"x\"", user) == 0);

    /* precedence: and binds tighter than or; grouping and not */
    SSO_CHECK(s_matches("userName eq \"x\" and active eq true or age eq 41", user) == 1);
    SSO_CHECK(s_matches("age eq 41 or userName eq \"x\" and active eq false", user) == 1);
    SSO_CHECK(s_matches("(age eq 41 or userName eq \"x\") and active eq false", user) == 0);
    SSO_CHECK(s_matches("not (active eq true)", user) == 0);
    SSO_CHECK(s_matches("not(active eq false) and not (title pr)", user) == 1);
    SSO_CHECK(s_matches("not (not (age eq 41))", user) == 1);
    SSO_CHECK(s_matches("((((userName pr))))", user) == 1);
    SSO_CHECK(s_matches("title pr or nickName pr or age lt 0 or name.givenName eq \"barbara\"",
                        user) == 1);

    /* multi-valued: any value matches; a complex value without sub-attribute: its "value" */
    SSO_CHECK(s_matches("emails.value eq \"babs@jensen.org\"", user) == 1);
    SSO_CHECK(s_matches("emails.value ew \".net\"", user) == 0);
    SSO_CHECK(s_matches("emails.type eq \"home\"", user) == 1);
    SSO_CHECK(s_matches("emails co \"jensen.org\"", user) == 1);
    SSO_CHECK(s_matches("emails.value ne \"babs@jensen.org\"", user) == 1); /* the other one */
    SSO_CHECK(s_matches("members.value eq \"902c246b\"", group) == 1);
    SSO_CHECK(s_matches("members.value eq \"902c246c\"", group) == 0);

    /* valuePath: the same element must match the bracket (and the sub-attribute after it) */
    SSO_CHECK(s_matches("emails[type eq \"work\" and value co \"@example.com\"]", user) == 1);
    SSO_CHECK(s_matches("emails[type eq \"home\" and value co \"@example.com\"]", user) == 0);
    SSO_CHECK(s_matches("emails[type eq \"work\"].value eq \"bjensen@example.com\"", user) == 1);
    SSO_CHECK(s_matches("emails[type eq \"work\"].value eq \"babs@jensen.org\"", user) == 0);
    SSO_CHECK(s_matches("emails[type eq \"home\"].primary pr", user) == 0);
    SSO_CHECK(s_matches("emails[not (type eq \"work\")]", user) == 1);
    SSO_CHECK(s_matches("emails[primary eq true]", user) == 1);
    SSO_CHECK(s_matches("members[value eq \"2819c223\"]", group) == 1);
    SSO_CHECK(s_matches("members[value eq \"2819c224\"]", group) == 0);
    SSO_CHECK(s_matches("name[givenName sw \"bar\"]", user) == 1); /* a single complex one */
    SSO_CHECK(s_matches("nosuch[value pr]", user) == 0);

    /* schema URNs: the core one names a top-level attribute, an extension's its object */
    SSO_CHECK(s_matches("urn:ietf:params:scim:schemas:core:2.0:User:userName "
                        "eq \"bjensen@example.com\"", user) == 1);
    SSO_CHECK(s_matches("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName "
                        "eq \"jensen\"", user) == 1);
    SSO_CHECK(s_matches("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                        "employeeNumber eq \"701984\"", user) == 1);
    SSO_CHECK(s_matches("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:"
                        "manager.value eq \"26118915\"", user) == 1);
    SSO_CHECK(s_matches("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
                        "userName pr", user) == 0); /* not under the extension */
    SSO_CHECK(s_matches("urn:example:other:employeeNumber pr", user) == 0);

    /* case rules (RFC 7643): id, externalId, meta.version are caseExact */
    SSO_CHECK(s_matches("externalId eq \"BJensen\"", user) == 1);
    SSO_CHECK(s_matches("externalId eq \"bjensen\"", user) == 0);
    SSO_CHECK(s_matches("externalId sw \"bj\"", user) == 0);
    SSO_CHECK(s_matches("id eq \"2819C223-7F76-453A-919D-413861904646\"", user) == 0);
    SSO_CHECK(s_matches("meta.resourceType eq \"user\"", user) == 0);
    SSO_CHECK(s_matches("meta.version eq \"W/\\\"A330BC54F\\\"\"", user) == 0);
    SSO_CHECK(s_matches("meta.version eq \"W/\\\"a330bc54f\\\"\"", user) == 1);
    SSO_CHECK(s_matches("displayName eq \"BABS JENSEN\"", user) == 1);

    /* dateTime: instants, not text (04:04:05.5+01:00 is 03:04:05.5Z) */
    SSO_CHECK(s_matches("meta.created eq \"2026-01-02T04:04:05+01:00\"", user) == 1);
    SSO_CHECK(s_matches("meta.created gt \"2026-01-02T03:04:04Z\"", user) == 1);
    SSO_CHECK(s_matches("meta.created gt \"2026-01-02T03:30:00+01:00\"", user) == 1);
    SSO_CHECK(s_matches("meta.created lt \"2026-01-02T03:30:00+01:00\"", user) == 0);
    SSO_CHECK(s_matches("meta.lastModified gt \"2026-01-02T03:04:05Z\"", user) == 1);
    SSO_CHECK(s_matches("meta.lastModified le \"2026-01-02T03:04:05.4Z\"", user) == 0);
    SSO_CHECK(s_matches("meta.lastModified ge \"2026-01-01T23:00:00-05:00\"", user) == 0);
    SSO_CHECK(s_matches("meta.lastModified lt \"2026-01-01T23:00:00-05:00\"", user) == 1);
    long long seconds;
    long nanos;
    SSO_CHECK(scim_datetime_parse("1970-01-01T00:00:00Z", &seconds, &nanos) == 0
              && seconds == 0 && nanos == 0);
    SSO_CHECK(scim_datetime_parse("2024-02-29T12:00:00.123-00:30", &seconds, &nanos) == 0
              && seconds == 1709209800 && nanos == 123000000);
    SSO_CHECK(scim_datetime_parse("2023-02-29T12:00:00Z", &seconds, &nanos) == -1);
    SSO_CHECK(scim_datetime_parse("2026-01-02 03:04:05Z", &seconds, &nanos) == -1);
    SSO_CHECK(scim_datetime_parse("2026-01-02T03:04:05+1:00", &seconds, &nanos) == -1);
    SSO_CHECK(scim_datetime_parse("2026-01-02T03:04:05.Z", &seconds, &nanos) == -1);
    SSO_CHECK(scim_datetime_parse("", &seconds, &nanos) == -1);

    /* strings: escapes decoded */
    json_t *escaped = json_pack("{s:s}", "displayName", "Zo\xc3\xab \"Q\" \\ \xf0\x9f\x98\x80");
    SSO_CHECK(s_matches("displayName eq \"Zo\\u00eb \\\"Q\\\" \\\\ \\ud83d\\ude00\"", escaped)
              == 1);
    SSO_CHECK(s_matches("displayName eq \"Zo\xc3\xab \\\"Q\\\" \\\\ \xf0\x9f\x98\x80\"", escaped)
              == 1);
    json_decref(escaped);
    SSO_CHECK(s_parses("a eq \"\\/\\b\\f\\n\\r\\t\"", verbose));
    SSO_CHECK(s_parses("a eq -0.5e-3 or b eq 0 or c eq -7", verbose));

    /* refusals, each with its reason */
    SSO_CHECK(s_refused("", S_LEN, "filter: the filter is empty"));
    SSO_CHECK(s_refused(" \t ", S_LEN, "filter: the filter is empty"));
    SSO_CHECK(s_refused(NULL, 0, "filter: the filter is empty"));
    SSO_CHECK(s_refused("userName eq \"bjensen", S_LEN, "filter: at 13: unterminated string"));
    SSO_CHECK(s_refused("userName eq \"a\\", S_LEN, "filter: at 13: unterminated string"));
    SSO_CHECK(s_refused("userName eq \"a\\q\"", S_LEN,
                        "filter: at 15: bad escape '\\q' in a string (\\\" \\\\ \\/ \\b \\f \\n "
                        "\\r \\t or \\u and 4 hex digits)"));
    SSO_CHECK(s_refused("userName eq \"\\u12g4\"", S_LEN,
                        "filter: at 14: bad escape '\\u' in a string (\\\" \\\\ \\/ \\b \\f \\n "
                        "\\r \\t or \\u and 4 hex digits)"));
    SSO_CHECK(s_refused("a eq \"\\ud83d\"", S_LEN,
                        "filter: at 7: bad escape: a lone surrogate '\\uD83D' in a string"));
    SSO_CHECK(s_refused("a eq \"\\ude00\"", S_LEN,
                        "filter: at 7: bad escape: a lone surrogate '\\uDE00' in a string"));
    SSO_CHECK(s_refused("a eq \"\\u0000\"", S_LEN, "filter: at 7: \\u0000 is not allowed in a string"));
    SSO_CHECK(s_refused("a eq \"\xff\"", S_LEN, "filter: at 6: the string is not UTF-8"));
    SSO_CHECK(s_refused("a eq \"x\ny\"", S_LEN,
                        "filter: at 8: a control character in a string (escape it)"));
    SSO_CHECK(s_refused("emails.value eqq \"x\"", S_LEN,
                        "filter: at 14: expected a comparison operator (eq ne co sw ew gt ge lt "
                        "le pr), got 'eqq'"));
    SSO_CHECK(s_refused("userName", S_LEN,
                        "filter: at 9: expected a comparison operator (eq ne co sw ew gt ge lt "
                        "le pr), got the end of the filter"));
    SSO_CHECK(s_refused("userName\"x\"", S_LEN,
                        "filter: at 9: expected a comparison operator (eq ne co sw ew gt ge lt "
                        "le pr), got '\"'"));
    SSO_CHECK(s_refused("userName eq", S_LEN,
                        "filter: at 12: expected a value after 'eq' (a \"string\", a number, true, "
                        "false or null), got the end of the filter"));
    SSO_CHECK(s_refused("userName eq bjensen", S_LEN,
                        "filter: at 13: expected a value after 'eq' (a \"string\", a number, true, "
                        "false or null), got 'bjensen'"));
    SSO_CHECK(s_refused("a eq True", S_LEN,
                        "filter: at 6: expected a value after 'eq' (a \"string\", a number, true, "
                        "false or null), got 'True'"));
    SSO_CHECK(s_refused("userName eq \"x\" and", S_LEN,
                        "filter: at 20: expected an attribute, '(' or 'not (', got the end of the "
                        "filter"));
    SSO_CHECK(s_refused("and userName pr", S_LEN,
                        "filter: at 5: expected a comparison operator (eq ne co sw ew gt ge lt le "
                        "pr), got 'userName'"));
    SSO_CHECK(s_refused("userName eq \"x\" junk", S_LEN,
                        "filter: at 17: expected 'and', 'or' or the end of the filter, got 'junk'"));
    SSO_CHECK(s_refused("userName pr)", S_LEN,
                        "filter: at 12: expected 'and', 'or' or the end of the filter, got ')'"));
    SSO_CHECK(s_refused("(userName pr", S_LEN,
                        "filter: at 13: expected 'and', 'or' or ')', got the end of the filter"));
    SSO_CHECK(s_refused("not userName pr", S_LEN,
                        "filter: at 5: expected '(' after 'not', got 'userName'"));
    SSO_CHECK(s_refused("emails[type eq \"work\"", S_LEN,
                        "filter: at 22: expected 'and', 'or' or ']', got the end of the filter"));
    SSO_CHECK(s_refused("emails[value[x pr]]", S_LEN,
                        "filter: at 13: a value filter cannot hold another '['"));
    SSO_CHECK(s_refused("emails.value[type pr]", S_LEN,
                        "filter: at 13: a value filter follows an attribute, not a sub-attribute"));
    SSO_CHECK(s_refused("emails[type pr].", S_LEN,
                        "filter: at 17: expected a sub-attribute name after '].', got the end of "
                        "the filter"));
    SSO_CHECK(s_refused("a.b.c eq 1", S_LEN,
                        "filter: at 1: 'a.b.c' is not an attribute path (name, name.sub or a "
                        "schema URN then ':name')"));
    SSO_CHECK(s_refused("1abc pr", S_LEN,
                        "filter: at 1: '1abc' is not an attribute path (name, name.sub or a schema "
                        "URN then ':name')"));
    SSO_CHECK(s_refused("x:y pr", S_LEN,
                        "filter: at 1: 'x:y' is not an attribute path (a schema URN starts with "
                        "'urn:')"));
    SSO_CHECK(s_refused("urn:ietf:params:scim:schemas:core:2.0:User: pr", S_LEN,
                        "filter: at 1: expected an attribute name after the schema URN "
                        "'urn:ietf:params:scim:schemas:core:2.0:User:'"));
    SSO_CHECK(s_refused("active gt true", S_LEN,
                        "filter: at 11: 'gt' compares strings, numbers and dates, not true"));
    SSO_CHECK(s_refused("title co null", S_LEN, "filter: at 10: 'co' compares strings, not null"));
    SSO_CHECK(s_refused("age sw 4", S_LEN, "filter: at 8: 'sw' compares strings, not 4"));
    SSO_CHECK(s_refused("age eq 01", S_LEN, "filter: at 8: expected a number, got '01'"));
    SSO_CHECK(s_refused("age eq 1and b pr", S_LEN, "filter: at 8: expected a number, got '1and'"));
    SSO_CHECK(s_refused("age eq 1.", S_LEN, "filter: at 8: expected a number, got '1.'"));
    SSO_CHECK(s_refused("age eq 1e999", S_LEN, "filter: at 8: the number 1e999 is out of range"));
    SSO_CHECK(s_parses("a eq \"x\"and(b pr)", verbose));
    SSO_CHECK(s_refused("a pr andb pr", S_LEN, "filter: at 6: expected 'and', 'or' or the end of "
                        "the filter, got 'andb'"));

    /* hostile sizes: 1,000 nested parentheses (refused at the 33rd, no deep recursion), a 1 MB
       filter, too many expressions */
    size_t deep = 1000;
    char *nested = malloc(5 * deep + 16);
    SSO_CHECK(nested != NULL);
    if (nested) {
        memset(nested, '(', deep);
        memcpy(nested + deep, "a pr", 4);
        memset(nested + deep + 4, ')', deep);
        SSO_CHECK(s_refused(nested, 2 * deep + 4, "filter: at 33: nested deeper than 32 levels"));
        for (size_t i = 0; i < deep; i++)
            memcpy(nested + 5 * i, "not (", 5); /* 800 of them fit in 4,000 bytes */
        SSO_CHECK(s_refused(nested, 4000, "filter: at 165: nested deeper than 32 levels"));
        free(nested);
    }
    char ok32[160] = "";
    for (int i = 0; i < 32; i++)
        ok32[i] = '(';
    memcpy(ok32 + 32, "a pr", 4);
    for (int i = 0; i < 32; i++)
        ok32[36 + i] = ')';
    SSO_CHECK(s_parses(ok32, verbose)); /* 32 is the limit, not past it */
    SSO_CHECK(s_refused("emails[((((((((((((((((((((((((((((((((a pr))))))))))))))))))))))))))))))))]", S_LEN, "filter: at 39: nested deeper than 32 levels"));
    size_t huge = 1 << 20;
    char *big = malloc(huge);
    SSO_CHECK(big != NULL);
    if (big) {
        memset(big, ' ', huge);
        memcpy(big, "userName eq \"", 13);
        big[huge - 1] = '"';
        SSO_CHECK(s_refused(big, huge, "filter: the filter is longer than 4096 bytes"));
        /* 4096 bytes is still read */
        memcpy(big + 4095, "\"", 1);
        char why[256];
        scim_filter_t *edge = scim_filter_parse(big, 4096, why, sizeof why);
        SSO_CHECK(edge != NULL);
        scim_filter_destroy(&edge);
        SSO_CHECK(s_refused(big, 4097, "filter: the filter is longer than 4096 bytes"));
        /* 300 "a pr or ..." expressions: the node cap, not the length */
        size_t n = 0;
        for (int i = 0; i < 300; i++)
            n += (size_t) snprintf(big + n, huge - n, "%sa pr", i ? " or " : "");
        SSO_CHECK(n <= 4096);
        char want[64];
        snprintf(want, sizeof want, "filter: at %d: more than 256 expressions", 255 * 8 + 1);
        SSO_CHECK(s_refused(big, n, want));
        free(big);
    }
    /* a long or-chain is one node, not a deep tree: 255 operands fit */
    char chain[4096];
    size_t n = 0;
    for (int i = 0; i < 255; i++)
        n += (size_t) snprintf(chain + n, sizeof chain - n, "%sage eq %d", i ? " or " : "", i);
    SSO_CHECK(s_matches(chain, user) == 1);

    /* the bracket entry scim_path uses: positions count from the whole text */
    char why[256];
    size_t pos = 7;
    const char *path = "emails[type eq \"work\"].value";
    scim_filter_t *bracket = scim_filter_parse_bracket(path, strlen(path), &pos, why, sizeof why);
    SSO_CHECK(bracket && pos == 22);
    json_t *emails = json_object_get(user, "emails");
    SSO_CHECK(scim_filter_match_element(bracket, "emails", json_array_get(emails, 0)));
    SSO_CHECK(!scim_filter_match_element(bracket, "emails", json_array_get(emails, 1)));
    scim_filter_destroy(&bracket);
    scim_filter_destroy(&bracket); /* twice is harmless */
    pos = 7;
    bracket = scim_filter_parse_bracket("emails[type eqq 1]", 18, &pos, why, sizeof why);
    SSO_CHECK(!bracket && strcmp(why, "path: at 13: expected a comparison operator (eq ne co sw "
                                      "ew gt ge lt le pr), got 'eqq'") == 0);
    SSO_CHECK(!scim_filter_match(NULL, user));
    json_decref(user);
    json_decref(group);
}
