/* dir_json: errors, field readers, times and page tokens of the management API. */
#include "api/dir_json.h"
#include "sso_config.h"
#include "sso_crypto.h"
#include "sso_http.h"
#include "sso_test.h"
#include <stdarg.h>
#include <time.h>

void dir_error_set(dir_error_t *err, uint32_t status, const char *code, const char *fmt, ...)
{
    err->status = status;
    err->code = code;
    va_list args;
    va_start(args, fmt);
    vsnprintf(err->description, sizeof err->description, fmt, args);
    va_end(args);
}

zframe_t *dir_error_reply(const dir_error_t *err)
{
    return sso_http_error(err->status ? err->status : 500, err->code ? err->code : "server_error",
                          err->description);
}

static bool s_clean(const char *text, bool multiline)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if (*p == 0x7f)
            return false;
        if (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t')))
            return false;
    }
    return true;
}

/* What every reader does first: finds obj[key] and checks it has the wanted type (type_name
   says it in messages). 1 with *value, 0 when absent (or null with DIR_NULLABLE), -1 with err. */
static int s_field(const json_t *obj, const char *key, const char *label, int flags,
                   json_type type, const char *type_name, json_t **value, dir_error_t *err)
{
    *value = json_object_get(obj, key);
    if (!*value || (json_is_null(*value) && (flags & DIR_NULLABLE))) {
        if (flags & DIR_REQUIRED) {
            dir_bad_request(err, "%s is required", label);
            return -1;
        }
        return 0;
    }
    if (json_typeof(*value) != type) {
        dir_bad_request(err, "%s must be %s", label, type_name);
        return -1;
    }
    return 1;
}

int dir_json_string(const json_t *obj, const char *key, const char *label, int flags,
                    size_t max_len, const char **out, dir_error_t *err)
{
    *out = NULL;
    json_t *value;
    int found = s_field(obj, key, label, flags, JSON_STRING, "a string", &value, err);
    if (found <= 0)
        return found;
    const char *text = json_string_value(value);
    size_t len = json_string_length(value);
    if (len > max_len) {
        dir_bad_request(err, "%s is too long (at most %zu bytes)", label, max_len);
        return -1;
    }
    if (!s_clean(text, flags & DIR_MULTILINE)) {
        dir_bad_request(err, "%s must not contain control characters", label);
        return -1;
    }
    if ((flags & DIR_NONEMPTY) && strspn(text, " \t\r\n") == len) {
        dir_bad_request(err, "%s must not be empty", label);
        return -1;
    }
    *out = text;
    return 1;
}

int dir_json_object(const json_t *obj, const char *key, const char *label, int flags,
                    json_t **out, dir_error_t *err)
{
    json_t *value;
    int found = s_field(obj, key, label, flags, JSON_OBJECT, "an object", &value, err);
    *out = found > 0 ? value : NULL;
    return found;
}

int dir_json_strings(const json_t *obj, const char *key, const char *label, int flags,
                     size_t max_items, size_t max_len, json_t **out, dir_error_t *err)
{
    *out = NULL;
    json_t *value;
    int found = s_field(obj, key, label, flags, JSON_ARRAY, "an array of strings", &value, err);
    if (found <= 0)
        return found;
    if (json_array_size(value) > max_items) {
        dir_bad_request(err, "%s has too many items (at most %zu)", label, max_items);
        return -1;
    }
    size_t index;
    json_t *item;
    json_array_foreach(value, index, item) {
        char item_label[96];
        snprintf(item_label, sizeof item_label, "%s[%zu]", label, index);
        json_t *wrapper = json_pack("{s:O}", "v", item);
        const char *text;
        int rc = dir_json_string(wrapper, "v", item_label, flags | DIR_REQUIRED, max_len, &text,
                                 err);
        json_decref(wrapper);
        if (rc < 0)
            return -1;
    }
    *out = value;
    return 1;
}

int64_t dir_now(void)
{
    return (int64_t) time(NULL);
}

void dir_time_format(int64_t unix_seconds, char out[32])
{
    time_t t = (time_t) unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

json_t *dir_json_time(int64_t unix_seconds)
{
    char text[32];
    dir_time_format(unix_seconds, text);
    return json_string(text);
}

/* Page tokens are base64url("p1:<position>"): opaque to clients, versioned for us. */
char *dir_page_token(int64_t position)
{
    char text[40];
    int len = snprintf(text, sizeof text, "p1:%lld", (long long) position);
    return sso_base64url_encode((const uint8_t *) text, (size_t) len);
}

static int s_page_token_parse(const char *token, int64_t *position)
{
    if (strlen(token) > 40)
        return -1;
    size_t len = 0;
    uint8_t *raw = sso_base64_decode(token, &len, false);
    if (!raw)
        return -1;
    long value = 0;
    int rc = -1;
    if (len > 3 && strlen((char *) raw) == len && strncmp((char *) raw, "p1:", 3) == 0
        && sso_parse_int((char *) raw + 3, 0, 0x7fffffffffffffffL, &value) == 0) {
        *position = value;
        rc = 0;
    }
    free(raw);
    return rc;
}

int dir_page_params(zhashx_t *query, long *page_size, int64_t *after, dir_error_t *err)
{
    *page_size = DIR_PAGE_DEFAULT;
    *after = -1;
    const char *size = query ? zhashx_lookup(query, "page_size") : NULL;
    /* Present means a number: "page_size=" is a mistake worth reporting, not a default. */
    if (size && sso_parse_int(size, 1, DIR_PAGE_MAX, page_size) != 0) {
        dir_bad_request(err, "page_size must be an integer from 1 to %d", DIR_PAGE_MAX);
        return -1;
    }
    const char *token = query ? zhashx_lookup(query, "page_token") : NULL;
    if (token && *token && s_page_token_parse(token, after) != 0) {
        dir_bad_request(err, "page_token is not one this API returned");
        return -1;
    }
    return 0;
}

json_t *dir_page_envelope(json_t *data, int64_t next_position)
{
    char *token = next_position >= 0 ? dir_page_token(next_position) : NULL;
    json_t *out = json_pack("{s:o, s:s}", "data", data, "next_page_token", token ? token : "");
    free(token);
    return out;
}

void dir_json_test(bool verbose)
{
    (void) verbose;
    char text[32];
    dir_time_format(1795906752, text);
    SSO_CHECK(strcmp(text, "2026-11-28T22:59:12Z") == 0);

    dir_error_t err = {0};
    json_t *obj = json_pack("{s:s, s:i, s:n, s:s, s:[s, i], s:s}", "name", "Acme", "num", 3,
                            "nothing", "ctl", "a\x01z", "list", "a", 2, "blank", "  ");
    const char *out = NULL;
    SSO_CHECK(dir_json_string(obj, "name", "name", DIR_REQUIRED, 10, &out, &err) == 1
              && strcmp(out, "Acme") == 0);
    SSO_CHECK(dir_json_string(obj, "num", "num", 0, 10, &out, &err) == -1 && err.status == 400
              && strstr(err.description, "num must be a string"));
    SSO_CHECK(dir_json_string(obj, "missing", "missing", 0, 10, &out, &err) == 0 && !out);
    SSO_CHECK(dir_json_string(obj, "missing", "x.missing", DIR_REQUIRED, 10, &out, &err) == -1
              && strstr(err.description, "x.missing is required"));
    SSO_CHECK(dir_json_string(obj, "nothing", "nothing", DIR_NULLABLE, 10, &out, &err) == 0);
    SSO_CHECK(dir_json_string(obj, "nothing", "nothing", 0, 10, &out, &err) == -1);
    SSO_CHECK(dir_json_string(obj, "name", "name", 0, 3, &out, &err) == -1);
    SSO_CHECK(dir_json_string(obj, "ctl", "ctl", DIR_MULTILINE, 10, &out, &err) == -1);
    SSO_CHECK(dir_json_string(obj, "blank", "blank", DIR_NONEMPTY, 10, &out, &err) == -1);
    json_t *list = NULL;
    SSO_CHECK(dir_json_strings(obj, "list", "list", 0, 5, 10, &list, &err) == -1
              && strstr(err.description, "list[1]"));
    SSO_CHECK(dir_json_strings(obj, "name", "name", 0, 5, 10, &list, &err) == -1);
    json_t *sub = NULL;
    SSO_CHECK(dir_json_object(obj, "name", "name", 0, &sub, &err) == -1);
    json_decref(obj);

    char *token = dir_page_token(42);
    zhashx_t *query = zhashx_new();
    zhashx_insert(query, "page_token", token);
    zhashx_insert(query, "page_size", "7");
    long size = 0;
    int64_t after = 0;
    SSO_CHECK(dir_page_params(query, &size, &after, &err) == 0 && size == 7 && after == 42);
    zhashx_update(query, "page_size", "201");
    SSO_CHECK(dir_page_params(query, &size, &after, &err) == -1);
    zhashx_update(query, "page_size", "");
    SSO_CHECK(dir_page_params(query, &size, &after, &err) == -1);
    zhashx_update(query, "page_size", "1");
    zhashx_update(query, "page_token", "garbage!");
    SSO_CHECK(dir_page_params(query, &size, &after, &err) == -1);
    zhashx_destroy(&query);
    SSO_CHECK(dir_page_params(NULL, &size, &after, &err) == 0 && size == 50 && after == -1);
    free(token);
}
