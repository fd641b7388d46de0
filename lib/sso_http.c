#include "sso_http.h"
#include "sso_bus.h"
#include "sso_test.h"
#include <arpa/inet.h>
#include <strings.h>

#define SSO_RESPONSE_MAX_HEADERS 16

struct sso_response_t {
    Sso__HttpResponse message;
    Sso__Header headers[SSO_RESPONSE_MAX_HEADERS];
    Sso__Header *header_ptrs[SSO_RESPONSE_MAX_HEADERS];
    char *strings[SSO_RESPONSE_MAX_HEADERS * 2];
    uint8_t *body;
};

const char *sso_http_header(const Sso__HttpRequest *request, const char *name)
{
    for (size_t i = 0; i < request->n_headers; i++)
        if (strcasecmp(request->headers[i]->name, name) == 0)
            return request->headers[i]->value;
    return NULL;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *sso_url_decode(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            int high = s_hex(text[i + 1]), low = s_hex(text[i + 2]);
            if (high < 0 || low < 0) {
                free(out);
                return NULL;
            }
            c = (char) (high << 4 | low);
            i += 2;
        }
        if (c == '\0') {
            free(out);
            return NULL;
        }
        out[j++] = c;
    }
    out[j] = '\0';
    return out;
}

char *sso_url_encode(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(text);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
            || c == '.' || c == '_' || c == '~')
            out[j++] = (char) c;
        else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

char *sso_url_with_params(const char *base, size_t count, const char *const *names,
                          const char *const *values)
{
    size_t size = strlen(base) + 1;
    char **encoded = calloc(count ? count : 1, sizeof *encoded);
    if (!encoded)
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (values[i] && *values[i]) {
            encoded[i] = sso_url_encode(values[i]);
            size += strlen(names[i]) + (encoded[i] ? strlen(encoded[i]) : 0) + 2;
        }
    char *url = malloc(size);
    if (url) {
        size_t len = (size_t) snprintf(url, size, "%s", base);
        /* A base that already ends its query ("…?" or "…&") needs no separator before the
           first pair. */
        char last = len ? base[len - 1] : '\0';
        const char *separator = last == '?' || last == '&' ? ""
                              : strchr(base, '?') ? "&" : "?";
        for (size_t i = 0; i < count; i++)
            if (encoded[i]) {
                len += (size_t) snprintf(url + len, size - len, "%s%s=%s", separator, names[i],
                                         encoded[i]);
                separator = "&";
            }
    }
    for (size_t i = 0; i < count; i++)
        free(encoded[i]);
    free(encoded);
    return url;
}

zframe_t *sso_http_redirect(const char *location)
{
    sso_response_t *response = sso_response_new(302);
    sso_response_header(response, "Location", location);
    sso_response_header(response, "Cache-Control", "no-store");
    return sso_response_pack(&response);
}

static void s_free_string(void **item)
{
    free(*item);
    *item = NULL;
}

int sso_form_each(const char *data, size_t len, sso_form_pair_fn *fn, void *arg)
{
    if (!data) /* an empty body unpacks as NULL; it has no pairs */
        return 0;
    const char *end = data + len;
    for (const char *p = data; p < end;) {
        const char *amp = memchr(p, '&', (size_t) (end - p));
        const char *pair_end = amp ? amp : end;
        if (pair_end > p) {
            const char *eq = memchr(p, '=', (size_t) (pair_end - p));
            const char *name_end = eq ? eq : pair_end;
            char *name = sso_url_decode(p, (size_t) (name_end - p));
            char *value = eq ? sso_url_decode(eq + 1, (size_t) (pair_end - eq - 1)) : strdup("");
            if (fn(arg, name, value) != 0)
                return -1;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return 0;
}

/* sso_form_parse's rule: every pair decodes and no name repeats. */
static int s_form_pair(void *arg, char *name, char *value)
{
    zhashx_t *hash = arg;
    if (!name || !value || !*name || zhashx_lookup(hash, name)) {
        free(name);
        free(value);
        return -1;
    }
    zhashx_insert(hash, name, value);
    free(name);
    return 0;
}

zhashx_t *sso_form_parse(const char *data, size_t len)
{
    zhashx_t *hash = zhashx_new();
    zhashx_set_destructor(hash, s_free_string);
    if (data && sso_form_each(data, len, s_form_pair, hash) != 0)
        zhashx_destroy(&hash);
    return hash;
}

zhashx_t *sso_http_params(const Sso__HttpRequest *request)
{
    zhashx_t *hash = sso_form_parse(request->query, strlen(request->query));
    const char *type = sso_http_header(request, "content-type");
    if (hash && type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0
        && sso_form_each((const char *) request->body.data, request->body.len, s_form_pair,
                         hash) != 0)
        zhashx_destroy(&hash);
    return hash;
}

json_t *sso_http_json_body(const Sso__HttpRequest *request, const char **why)
{
    json_error_t error;
    json_t *json = json_loadb((const char *) request->body.data, request->body.len,
                              JSON_REJECT_DUPLICATES, &error);
    if (!json) {
        *why = "the body is not valid JSON";
        return NULL;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        *why = "the body must be a JSON object";
        return NULL;
    }
    return json;
}

const char *sso_http_bearer(const Sso__HttpRequest *request)
{
    const char *auth = sso_http_header(request, "authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return *auth ? auth : NULL;
}

sso_response_t *sso_response_new(uint32_t status)
{
    sso_response_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    sso__http_response__init(&self->message);
    self->message.status = status;
    self->message.headers = self->header_ptrs;
    return self;
}

void sso_response_header_set(sso_response_t *self, const char *name, const char *value)
{
    for (size_t i = 0; i < self->message.n_headers; i++)
        if (self->headers[i].name && !strcasecmp(self->headers[i].name, name)) {
            char *copy = strdup(value);
            if (!copy)
                return;
            free(self->strings[2 * i + 1]);
            self->strings[2 * i + 1] = copy;
            self->headers[i].value = copy;
            return;
        }
    sso_response_header(self, name, value);
}

void sso_response_header(sso_response_t *self, const char *name, const char *value)
{
    size_t n = self->message.n_headers;
    if (n >= SSO_RESPONSE_MAX_HEADERS)
        return;
    sso__header__init(&self->headers[n]);
    self->strings[2 * n] = strdup(name);
    self->strings[2 * n + 1] = strdup(value);
    self->headers[n].name = self->strings[2 * n];
    self->headers[n].value = self->strings[2 * n + 1];
    self->header_ptrs[n] = &self->headers[n];
    self->message.n_headers = n + 1;
}

void sso_response_body(sso_response_t *self, const void *data, size_t len,
                       const char *content_type)
{
    free(self->body);
    self->body = malloc(len ? len : 1);
    memcpy(self->body, data, len);
    self->message.body.data = self->body;
    self->message.body.len = len;
    if (content_type)
        sso_response_header(self, "Content-Type", content_type);
}

void sso_response_json(sso_response_t *self, json_t *json)
{
    char *text = json_dumps(json, JSON_COMPACT);
    if (text) {
        sso_response_body(self, text, strlen(text), "application/json");
        free(text);
    }
    json_decref(json);
}

zframe_t *sso_response_pack(sso_response_t **self_p)
{
    sso_response_t *self = *self_p;
    zframe_t *frame = sso_frame_pack(&self->message.base);
    for (size_t i = 0; i < self->message.n_headers * 2; i++)
        free(self->strings[i]);
    free(self->body);
    free(self);
    *self_p = NULL;
    return frame;
}

zframe_t *sso_http_json(uint32_t status, json_t *json)
{
    sso_response_t *response = sso_response_new(status);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_json(response, json);
    return sso_response_pack(&response);
}

zframe_t *sso_http_error(uint32_t status, const char *error, const char *description)
{
    return sso_http_json(status, json_pack("{s:s, s:s}", "error", error, "error_description",
                                           description ? description : ""));
}

zframe_t *sso_http_method_not_allowed(const char *allow)
{
    char description[96];
    snprintf(description, sizeof description, "this path takes %s", allow);
    sso_response_t *response = sso_response_new(405);
    sso_response_header(response, "Allow", allow);
    sso_response_header(response, "Cache-Control", "no-store");
    sso_response_json(response, json_pack("{s:s, s:s}", "error", "method_not_allowed",
                                           "error_description", description));
    return sso_response_pack(&response);
}

bool sso_http_counter_name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    return len >= 1 && len <= SSO_COUNTER_NAME_MAX
           && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

/* frame's HttpResponse with one more header (header_name: header_value) and/or one more
   counter, packed again into frame. 0, or -1 (frame unchanged). */
static int s_repack_with(zframe_t *frame, const char *counter)
{
    Sso__HttpResponse *response =
        frame ? sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame)) : NULL;
    if (!response)
        return -1;
    char **counters = calloc(response->n_counters + 1, sizeof *counters);
    zframe_t *packed = NULL;
    if (counters) {
        /* The unpacked message keeps its own array; this one only lends its entries. */
        char **own_counters = response->counters;
        size_t n_counters = response->n_counters;
        if (n_counters)
            memcpy(counters, own_counters, n_counters * sizeof *counters);
        counters[response->n_counters++] = (char *) counter;
        response->counters = counters;
        packed = sso_frame_pack(&response->base);
        response->counters = own_counters;
        response->n_counters = n_counters;
    }
    free(counters);
    sso__http_response__free_unpacked(response, NULL);
    if (!packed)
        return -1;
    zframe_reset(frame, zframe_data(packed), zframe_size(packed));
    zframe_destroy(&packed);
    return 0;
}

int sso_http_count(zframe_t *frame, const char *name)
{
    return sso_http_counter_name_ok(name) ? s_repack_with(frame, name) : -1;
}

int sso_http_address_group(const char *address, char *out, size_t size)
{
    struct in6_addr v6;
    struct in_addr v4;
    char text[INET6_ADDRSTRLEN + 4];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!address || !*address)
        return -1;
    if (inet_pton(AF_INET6, address, &v6) == 1) {
        if (memcmp(v6.s6_addr, mapped, sizeof mapped) == 0) {
            memcpy(&v4, v6.s6_addr + 12, 4);
            if (!inet_ntop(AF_INET, &v4, text, sizeof text))
                return -1;
        }
        else {
            memset(v6.s6_addr + 8, 0, 8);
            if (!inet_ntop(AF_INET6, &v6, text, sizeof text - 3))
                return -1;
            strncat(text, "/64", sizeof text - strlen(text) - 1);
        }
        address = text;
    }
    else if (inet_pton(AF_INET, address, &v4) == 1 && inet_ntop(AF_INET, &v4, text, sizeof text))
        address = text;
    int n = snprintf(out, size, "%s", address);
    return n > 0 && (size_t) n < size ? 0 : -1;
}

void sso_http_masked_path(const char *path, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = path ? path : ""; *p && used + 1 < size;) {
        size_t len = strcspn(p + 1, "/");
        size_t plain = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz0123456789._-");
        bool keep = plain == len && len <= SSO_HTTP_PLAIN_SEGMENT_MAX;
        /* An empty segment is plain: kept as it is. */
        int n = keep ? snprintf(out + used, size - used, "/%.*s", (int) len, p + 1)
                     : snprintf(out + used, size - used, "/~");
        if (n < 0 || (size_t) n >= size - used)
            break;
        used += (size_t) n;
        p += 1 + len;
    }
}

void sso_http_test(bool verbose)
{
    (void) verbose;
    /* Masked paths: plain names and ids kept, anything else "~", always terminated. */
    char masked[64];
    sso_http_masked_path("/a/Secret/b_1/x%41/", masked, sizeof masked);
    SSO_CHECK(!strcmp(masked, "/a/~/b_1/~/"));
    sso_http_masked_path(NULL, masked, sizeof masked);
    SSO_CHECK(!strcmp(masked, ""));
    sso_http_masked_path("/abcdef/ghij", masked, 8);
    SSO_CHECK(!strcmp(masked, "/abcdef"));
    /* A header set replaces the first of its name, whatever its case, or is added. */
    sso_response_t *built = sso_response_new(200);
    SSO_CHECK(built);
    if (built) {
        sso_response_header(built, "Referrer-Policy", "no-referrer");
        sso_response_header_set(built, "referrer-policy", "same-origin");
        sso_response_header_set(built, "X-New", "1");
        SSO_CHECK(built->message.n_headers == 2
                  && !strcmp(built->headers[0].value, "same-origin")
                  && !strcmp(built->headers[1].name, "X-New"));
        zframe_t *packed = sso_response_pack(&built);
        zframe_destroy(&packed);
    }
    char *decoded = sso_url_decode("a%20b+c%2F", 10);
    SSO_CHECK(decoded && strcmp(decoded, "a b c/") == 0);
    free(decoded);
    SSO_CHECK(sso_url_decode("bad%2", 5) == NULL);
    SSO_CHECK(sso_url_decode("bad%", 4) == NULL);
    SSO_CHECK(sso_url_decode("bad%zz", 6) == NULL);
    SSO_CHECK(sso_url_decode("nul%00", 6) == NULL);
    char *encoded = sso_url_encode("a b/é");
    SSO_CHECK(encoded && strcmp(encoded, "a%20b%2F%C3%A9") == 0);
    free(encoded);

    const char *names[] = {"code", "state", "empty"};
    const char *values[] = {"c 1", "s&t", ""};
    char *url = sso_url_with_params("https://app.test/cb", 3, names, values);
    SSO_CHECK(url && !strcmp(url, "https://app.test/cb?code=c%201&state=s%26t"));
    free(url);
    url = sso_url_with_params("https://app.test/cb?x=1", 1, names, values);
    SSO_CHECK(url && !strcmp(url, "https://app.test/cb?x=1&code=c%201"));
    free(url);
    url = sso_url_with_params("https://app.test/cb?", 2, names, values);
    SSO_CHECK(url && !strcmp(url, "https://app.test/cb?code=c%201&state=s%26t"));
    free(url);
    url = sso_url_with_params("https://app.test/cb?x=1&", 1, names, values);
    SSO_CHECK(url && !strcmp(url, "https://app.test/cb?x=1&code=c%201"));
    free(url);

    zhashx_t *form = sso_form_parse("a=1&b=x%20y&c=&d", 16);
    SSO_CHECK(form && strcmp(zhashx_lookup(form, "a"), "1") == 0);
    SSO_CHECK(form && strcmp(zhashx_lookup(form, "b"), "x y") == 0);
    SSO_CHECK(form && strcmp(zhashx_lookup(form, "c"), "") == 0);
    SSO_CHECK(form && strcmp(zhashx_lookup(form, "d"), "") == 0);
    zhashx_destroy(&form);
    SSO_CHECK(sso_form_parse("a=1&a=2", 7) == NULL);
    SSO_CHECK(sso_form_parse("a=%zz", 5) == NULL);
    form = sso_form_parse("", 0);
    SSO_CHECK(form && zhashx_size(form) == 0);
    zhashx_destroy(&form);
    /* An empty body unpacks as NULL; a trailing '&' ends the pairs. */
    form = zhashx_new();
    SSO_CHECK(sso_form_each(NULL, 0, s_form_pair, form) == 0 && zhashx_size(form) == 0);
    char trailing[4] = {'a', '=', '1', '&'}; /* not terminated: the length bounds the read */
    SSO_CHECK(sso_form_each(trailing, sizeof trailing, s_form_pair, form) == 0
              && zhashx_size(form) == 1);
    zhashx_set_destructor(form, s_free_string);
    zhashx_destroy(&form);

    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    Sso__Header h1 = SSO__HEADER__INIT, h2 = SSO__HEADER__INIT;
    h1.name = "authorization";
    h1.value = "Bearer abc";
    h2.name = "content-type";
    h2.value = "application/x-www-form-urlencoded";
    Sso__Header *headers[] = {&h1, &h2};
    request.headers = headers;
    request.n_headers = 2;
    request.query = "x=1";
    request.body.data = (uint8_t *) "y=2";
    request.body.len = 3;
    SSO_CHECK(strcmp(sso_http_bearer(&request), "abc") == 0);
    zhashx_t *params = sso_http_params(&request);
    SSO_CHECK(params && zhashx_size(params) == 2);
    zhashx_destroy(&params);
    request.body.data = (uint8_t *) "x=2";
    SSO_CHECK(sso_http_params(&request) == NULL);
    const char *why = NULL;
    request.body.data = (uint8_t *) "[1]";
    SSO_CHECK(sso_http_json_body(&request, &why) == NULL && why);
    request.body.data = (uint8_t *) "{\"a\":1,\"a\":2}";
    request.body.len = strlen((char *) request.body.data);
    SSO_CHECK(sso_http_json_body(&request, &why) == NULL);

    zframe_t *frame = sso_http_error(400, "invalid_request", "bad");
    Sso__HttpResponse *response = sso__http_response__unpack(NULL, zframe_size(frame),
                                                               zframe_data(frame));
    SSO_CHECK(response && response->status == 400 && response->n_headers == 2);
    SSO_CHECK(response && memmem(response->body.data, response->body.len, "invalid_request", 15));
    sso__http_response__free_unpacked(response, NULL);

    /* Counters: appended to the packed response, which keeps everything else. */
    SSO_CHECK(sso_http_count(frame, "acs_anonymous") == 0 && sso_http_count(frame, "x_1") == 0);
    const char *bad_names[] = {NULL, "", "Upper", "a-b", "a b", "a\"", "quote\n",
                               "name_of_forty_nine_bytes_aaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        SSO_CHECK(!sso_http_counter_name_ok(bad_names[i])
                  && sso_http_count(frame, bad_names[i]) == -1);
    SSO_CHECK(sso_http_counter_name_ok("name_of_forty_eight_bytes_aaaaaaaaaaaaaaaaaaaaaa"));
    response = sso__http_response__unpack(NULL, zframe_size(frame), zframe_data(frame));
    SSO_CHECK(response && response->status == 400 && response->n_headers == 2
              && response->n_counters == 2 && !strcmp(response->counters[0], "acs_anonymous")
              && !strcmp(response->counters[1], "x_1")
              && memmem(response->body.data, response->body.len, "invalid_request", 15));
    sso__http_response__free_unpacked(response, NULL);
    zframe_destroy(&frame);
    zframe_t *junk = zframe_new("\xff\xff", 2);
    SSO_CHECK(sso_http_count(junk, "x") == -1 && zframe_size(junk) == 2);
    zframe_destroy(&junk);
    SSO_CHECK(sso_http_count(NULL, "x") == -1);

    /* Address groups: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64, the rest as given. */
    char group[64], other[64];
    SSO_CHECK(sso_http_address_group("192.0.2.7", group, sizeof group) == 0
              && !strcmp(group, "192.0.2.7"));
    SSO_CHECK(sso_http_address_group("::ffff:192.0.2.7", other, sizeof other) == 0
              && !strcmp(group, other));
    SSO_CHECK(sso_http_address_group("2001:db8:1:2:aaaa::1", group, sizeof group) == 0
              && sso_http_address_group("2001:DB8:1:2:bbbb::9", other, sizeof other) == 0
              && !strcmp(group, other) && !strcmp(group, "2001:db8:1:2::/64"));
    SSO_CHECK(sso_http_address_group("2001:db8:1:3::1", other, sizeof other) == 0
              && strcmp(group, other));
    SSO_CHECK(sso_http_address_group("/run/sock", group, sizeof group) == 0
              && !strcmp(group, "/run/sock"));
    SSO_CHECK(sso_http_address_group(NULL, group, sizeof group) == -1
              && sso_http_address_group("", group, sizeof group) == -1
              && sso_http_address_group("2001:db8:1:2::1", group, 10) == -1);
}
