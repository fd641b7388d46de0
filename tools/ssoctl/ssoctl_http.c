#include "ssoctl_http.h"
#include "ssoctl_util.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 60L
#define TOKEN_MAX 4096

struct ssoctl_http {
    CURL *curl;
    char base[1024];
    ssoctl_creds_t creds;
    char *token;
};

typedef struct {
    ssoctl_buf_t buf;
    bool too_large;
} sink_t;

static size_t s_write(char *data, size_t size, size_t count, void *user)
{
    sink_t *sink = user;
    size_t len = size * count;
    if (len > SSOCTL_HTTP_MAX_RESPONSE - sink->buf.len) {
        sink->too_large = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (ssoctl_buf_append(&sink->buf, data, len) != 0)
        return 0;
    return len;
}

int ssoctl_http_check_url(const char *url, char *err, size_t errlen)
{
    const char *host;
    if (strncasecmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        host = url + 8;
    else {
        snprintf(err, errlen, "broker URL '%s' must start with http:// or https://", url);
        return -1;
    }
    size_t host_len = strcspn(host, "/");
    if (host_len == 0) {
        snprintf(err, errlen, "broker URL '%s' has no host", url);
        return -1;
    }
    for (const char *p = url; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
            snprintf(err, errlen, "broker URL must be a plain base URL (no spaces, query or "
                                  "fragment)");
            return -1;
        }
    }
    /* Credentials belong in the admin-credentials file, not in a URL that shows up in
       shell history and error messages. */
    if (memchr(host, '@', host_len)) {
        snprintf(err, errlen, "broker URL must not contain user:password@");
        return -1;
    }
    if (strlen(url) >= 1024) {
        snprintf(err, errlen, "broker URL is too long");
        return -1;
    }
    return 0;
}

int ssoctl_http_new(const char *base_url, ssoctl_creds_t *creds, ssoctl_http_t **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    if (ssoctl_http_check_url(base_url, err, errlen) != 0)
        return -1;
    ssoctl_http_t *http = calloc(1, sizeof *http);
    if (!http) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(http->base, sizeof http->base, "%s", base_url);
    size_t len = strlen(http->base);
    while (len > 0 && http->base[len - 1] == '/')
        http->base[--len] = '\0';
    http->curl = curl_easy_init();
    if (!http->curl) {
        free(http);
        snprintf(err, errlen, "cannot initialise libcurl");
        return -1;
    }
    http->creds = *creds;
    memset(creds, 0, sizeof *creds);
    *out = http;
    return 0;
}

void ssoctl_http_free(ssoctl_http_t **http)
{
    if (!*http)
        return;
    curl_easy_cleanup((*http)->curl);
    ssoctl_creds_free(&(*http)->creds);
    if ((*http)->token) {
        OPENSSL_cleanse((*http)->token, strlen((*http)->token));
        free((*http)->token);
    }
    free(*http);
    *http = NULL;
}

void ssoctl_response_clear(ssoctl_response_t *resp)
{
    json_decref(resp->json);
    memset(resp, 0, sizeof *resp);
}

/* One request. Whatever the status, a response that arrived is SSOCTL_HTTP_OK; a 2xx body
   that is not JSON is SSOCTL_HTTP_BAD_RESPONSE. */
static ssoctl_http_rc_t s_perform(ssoctl_http_t *http, const char *method, const char *url,
                                  struct curl_slist *headers, const char *body, size_t body_len,
                                  ssoctl_response_t *resp)
{
    CURL *curl = http->curl;
    char curl_err[CURL_ERROR_SIZE] = "";
    sink_t sink = {0};
    snprintf(resp->url, sizeof resp->url, "%s", url);
    /* reset clears the last request's options but keeps the connection cache. */
    curl_easy_reset(curl);
    CURLcode setup = CURLE_OK;
    setup |= curl_easy_setopt(curl, CURLOPT_URL, url);
    setup |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    /* Never follow redirects: the bearer token must only go where the user pointed us. */
    setup |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    setup |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    setup |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    setup |= curl_easy_setopt(curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
    setup |= curl_easy_setopt(curl, CURLOPT_USERAGENT, "ssoctl/1");
    setup |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    setup |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_write);
    setup |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    setup |= curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                              (curl_off_t) SSOCTL_HTTP_MAX_RESPONSE);
    setup |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "GET") == 0)
        setup |= curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    else {
        setup |= curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "POST") == 0) {
            setup |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
            setup |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
        }
    }
    if (setup != CURLE_OK) {
        snprintf(resp->error, sizeof resp->error, "cannot set up the request to %s", url);
        return SSOCTL_HTTP_INTERNAL;
    }
    CURLcode code = curl_easy_perform(curl);
    /* The options point at our stack; do not leave them behind in the handle. */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
        ssoctl_buf_free(&sink.buf);
        snprintf(resp->error, sizeof resp->error, "the response from %s is larger than %u bytes",
                 url, SSOCTL_HTTP_MAX_RESPONSE);
        return SSOCTL_HTTP_TOO_LARGE;
    }
    if (code != CURLE_OK) {
        bool oom = sink.buf.failed;
        ssoctl_buf_free(&sink.buf);
        if (oom) {
            snprintf(resp->error, sizeof resp->error, "out of memory reading %s", url);
            return SSOCTL_HTTP_INTERNAL;
        }
        snprintf(resp->error, sizeof resp->error, "cannot reach %s: %s", url,
                 *curl_err ? curl_err : curl_easy_strerror(code));
        return SSOCTL_HTTP_UNREACHABLE;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (sink.buf.len > 0) {
        json_error_t jerr;
        resp->json = json_loadb(sink.buf.data, sink.buf.len, 0, &jerr);
    }
    bool empty = sink.buf.len == 0;
    ssoctl_buf_free(&sink.buf);
    if (resp->status >= 200 && resp->status < 300 && !empty && !resp->json) {
        snprintf(resp->error, sizeof resp->error, "%ld response from %s is not JSON",
                 resp->status, url);
        return SSOCTL_HTTP_BAD_RESPONSE;
    }
    return SSOCTL_HTTP_OK;
}

/* A token goes into a header: anything but visible ASCII could smuggle a second header. */
static bool s_token_ok(const char *token)
{
    size_t len = strlen(token);
    if (len == 0 || len > TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) token[i];
        if (c < 0x21 || c > 0x7e)
            return false;
    }
    return true;
}

/* "Basic " + base64(urlencode(id) ":" urlencode(secret)), as RFC 6749 2.3.1 asks. */
static char *s_basic_header(const ssoctl_creds_t *creds)
{
    ssoctl_buf_t pair = {0};
    ssoctl_buf_encoded(&pair, creds->client_id);
    ssoctl_buf_puts(&pair, ":");
    ssoctl_buf_encoded(&pair, creds->client_secret);
    if (pair.failed) {
        if (pair.data)
            OPENSSL_cleanse(pair.data, pair.len);
        ssoctl_buf_free(&pair);
        return NULL;
    }
    char *b64 = sso_base64_encode((const uint8_t *) pair.data, pair.len);
    OPENSSL_cleanse(pair.data, pair.len);
    ssoctl_buf_free(&pair);
    if (!b64)
        return NULL;
    ssoctl_buf_t header = {0};
    ssoctl_buf_puts(&header, "Authorization: Basic ");
    ssoctl_buf_puts(&header, b64);
    OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    return ssoctl_buf_take(&header);
}

static void s_free_secret(char *text)
{
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
}

static ssoctl_http_rc_t s_fetch_token(ssoctl_http_t *http, ssoctl_response_t *resp)
{
    char url[1100];
    snprintf(url, sizeof url, "%s/oauth/token", http->base);
    resp->token_request = true;
    char *auth = s_basic_header(&http->creds);
    struct curl_slist *headers = NULL, *grown;
    const char *lines[] = {auth, "Content-Type: application/x-www-form-urlencoded",
                           "Accept: application/json"};
    for (size_t i = 0; auth && i < 3; i++) {
        grown = curl_slist_append(headers, lines[i]);
        if (!grown) {
            curl_slist_free_all(headers);
            headers = NULL;
            break;
        }
        headers = grown;
    }
    s_free_secret(auth);
    if (!headers) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        return SSOCTL_HTTP_INTERNAL;
    }
    static const char form[] = "grant_type=client_credentials";
    ssoctl_http_rc_t rc = s_perform(http, "POST", url, headers, form, sizeof form - 1, resp);
    curl_slist_free_all(headers);
    if (rc != SSOCTL_HTTP_OK || resp->status < 200 || resp->status >= 300)
        return rc;
    const char *token = json_string_value(json_object_get(resp->json, "access_token"));
    const char *type = json_string_value(json_object_get(resp->json, "token_type"));
    if (!token || !s_token_ok(token) || (type && strcasecmp(type, "Bearer") != 0)) {
        snprintf(resp->error, sizeof resp->error,
                 "the token response from %s has no usable bearer access_token", url);
        return SSOCTL_HTTP_BAD_RESPONSE;
    }
    http->token = strdup(token);
    if (!http->token) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        return SSOCTL_HTTP_INTERNAL;
    }
    ssoctl_response_clear(resp);
    return SSOCTL_HTTP_OK;
}

ssoctl_http_rc_t ssoctl_http_api(ssoctl_http_t *http, const char *method, const char *path,
                                 const json_t *body, ssoctl_response_t *resp)
{
    memset(resp, 0, sizeof *resp);
    if (!http->token) {
        ssoctl_http_rc_t rc = s_fetch_token(http, resp);
        if (rc != SSOCTL_HTTP_OK || !http->token)
            return rc;
    }
    ssoctl_buf_t url = {0};
    ssoctl_buf_puts(&url, http->base);
    ssoctl_buf_puts(&url, "/api/v1");
    ssoctl_buf_puts(&url, path);
    ssoctl_buf_t auth = {0};
    ssoctl_buf_puts(&auth, "Authorization: Bearer ");
    ssoctl_buf_puts(&auth, http->token);
    char *url_text = ssoctl_buf_take(&url);
    char *auth_text = ssoctl_buf_take(&auth);
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *headers = NULL, *grown;
    const char *lines[] = {auth_text, "Accept: application/json",
                           body ? "Content-Type: application/json" : NULL};
    bool ok = url_text && auth_text && (!body || body_text);
    for (size_t i = 0; ok && i < 3 && lines[i]; i++) {
        grown = curl_slist_append(headers, lines[i]);
        ok = grown != NULL;
        if (ok)
            headers = grown;
    }
    s_free_secret(auth_text);
    ssoctl_http_rc_t rc;
    if (!ok) {
        snprintf(resp->error, sizeof resp->error, "out of memory");
        rc = SSOCTL_HTTP_INTERNAL;
    }
    else
        rc = s_perform(http, method, url_text, headers, body_text,
                       body_text ? strlen(body_text) : 0, resp);
    curl_slist_free_all(headers);
    free(url_text);
    s_free_secret(body_text); /* bodies can carry an upstream client secret */
    return rc;
}

void ssoctl_http_test(bool verbose)
{
    (void) verbose;
    char err[256];
    SSO_CHECK(ssoctl_http_check_url("http://localhost:8080", err, sizeof err) == 0);
    SSO_CHECK(ssoctl_http_check_url("HTTPS://sso.example.com/prefix/", err, sizeof err) == 0);
    SSO_CHECK(ssoctl_http_check_url("localhost:8080", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("ftp://x", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http://", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http:///path", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http://a b", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http://x/?q=1", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http://u:p@x", err, sizeof err) == -1);
    SSO_CHECK(ssoctl_http_check_url("http://x/a@b", err, sizeof err) == 0);

    SSO_CHECK(s_token_ok("abc.DEF-_~+/="));
    SSO_CHECK(!s_token_ok(""));
    SSO_CHECK(!s_token_ok("abc\r\nX-Evil: 1"));
    SSO_CHECK(!s_token_ok("a b"));

    ssoctl_creds_t creds = {0};
    creds.client_id = "a:b";
    creds.client_secret = "c%d";
    char *header = s_basic_header(&creds);
    /* base64("a%3Ab:c%25d") -- the server-side test decodes the same string. */
    SSO_CHECK(header && !strcmp(header, "Authorization: Basic YSUzQWI6YyUyNWQ="));
    s_free_secret(header);

    /* The base URL loses trailing slashes and the creds move into the client. */
    ssoctl_creds_t owned = {0};
    owned.client_id = strdup("id");
    owned.client_secret = strdup("secret");
    ssoctl_http_t *http = NULL;
    SSO_CHECK(ssoctl_http_new("http://127.0.0.1:9//", &owned, &http, err, sizeof err) == 0);
    SSO_CHECK(owned.client_id == NULL && owned.client_secret == NULL);
    SSO_CHECK(http && !strcmp(http->base, "http://127.0.0.1:9"));
    ssoctl_http_free(&http);
    SSO_CHECK(http == NULL);
    ssoctl_creds_free(&owned);
}
