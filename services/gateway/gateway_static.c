#include "gateway_static.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATIC_MAX_BYTES (4 * 1024 * 1024)

bool gateway_static_path_ok(const char *path)
{
    if (strncmp(path, "/static/", 8) != 0 || strlen(path) > 256 || path[8] == '\0')
        return false;
    for (const char *p = path + 8; *p; p++) {
        char c = *p;
        bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                       || c == '.' || c == '-' || c == '_' || c == '/';
        if (!allowed)
            return false;
        /* No segment may start with a dot: that rules out "..", "." and hidden files. */
        if (c == '.' && p[-1] == '/')
            return false;
        if (c == '/' && p[-1] == '/')
            return false;
    }
    return path[strlen(path) - 1] != '/';
}

const char *gateway_static_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (!strcmp(dot, ".svg")) return "image/svg+xml";
    if (!strcmp(dot, ".png")) return "image/png";
    if (!strcmp(dot, ".ico")) return "image/x-icon";
    if (!strcmp(dot, ".json")) return "application/json";
    if (!strcmp(dot, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

int gateway_static_read(const char *web_dir, const char *path, char **data, size_t *len)
{
    if (!gateway_static_path_ok(path))
        return -1;
    char full[2048];
    if ((size_t) snprintf(full, sizeof full, "%s/%s", web_dir, path + 8) >= sizeof full)
        return -1;
    FILE *file = fopen(full, "rb");
    if (!file)
        return -1;
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES) {
        fclose(file);
        return -1;
    }
    char *buffer = malloc((size_t) st.st_size + 1);
    size_t got = buffer ? fread(buffer, 1, (size_t) st.st_size, file) : 0;
    fclose(file);
    if (!buffer || got != (size_t) st.st_size) {
        free(buffer);
        return -1;
    }
    *data = buffer;
    *len = got;
    return 0;
}

void gateway_static_etag(const char *data, size_t len, char etag[GATEWAY_STATIC_ETAG_LEN + 1])
{
    char hex[65];
    sso_sha256_hex(data, len, hex);
    snprintf(etag, GATEWAY_STATIC_ETAG_LEN + 1, "\"%.32s\"", hex);
}

bool gateway_static_not_modified(const char *if_none_match, const char *etag)
{
    if (!if_none_match)
        return false;
    /* A list of entity tags (RFC 9110 13.1.2); weak ones compare by their opaque part. */
    for (const char *p = if_none_match; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == strlen(etag) && !strncmp(p, etag, n))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

void gateway_static_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(gateway_static_path_ok("/static/app.css"));
    SSO_CHECK(gateway_static_path_ok("/static/img/logo.svg"));
    SSO_CHECK(!gateway_static_path_ok("/static/../etc/passwd"));
    SSO_CHECK(!gateway_static_path_ok("/static/.hidden"));
    SSO_CHECK(!gateway_static_path_ok("/static/a/../../x"));
    SSO_CHECK(!gateway_static_path_ok("/static/a//b"));
    SSO_CHECK(!gateway_static_path_ok("/static/"));
    SSO_CHECK(!gateway_static_path_ok("/static/dir/"));
    SSO_CHECK(!gateway_static_path_ok("/static/a b"));
    SSO_CHECK(!gateway_static_path_ok("/static/a%2e"));
    SSO_CHECK(strcmp(gateway_static_type("/static/a.css"), "text/css; charset=utf-8") == 0);
    char *data = NULL;
    size_t len = 0;
    SSO_CHECK(gateway_static_read("/nonexistent", "/static/a.css", &data, &len) == -1);
    SSO_CHECK(gateway_static_read("/etc", "/static/../passwd", &data, &len) == -1);

    /* Revalidation: the ETag of the bytes, and If-None-Match lists, "*" and weak tags. */
    char etag[GATEWAY_STATIC_ETAG_LEN + 1], other[GATEWAY_STATIC_ETAG_LEN + 1];
    gateway_static_etag("body{}", 6, etag);
    gateway_static_etag("body{ }", 7, other);
    SSO_CHECK(strlen(etag) == GATEWAY_STATIC_ETAG_LEN && etag[0] == '"' && strcmp(etag, other));
    char list[120];
    snprintf(list, sizeof list, "%s, W/%s", other, etag);
    SSO_CHECK(gateway_static_not_modified(etag, etag) && gateway_static_not_modified("*", etag)
              && gateway_static_not_modified(list, etag)
              && !gateway_static_not_modified(other, etag)
              && !gateway_static_not_modified(NULL, etag)
              && !gateway_static_not_modified("", etag)
              && !gateway_static_not_modified("\"", etag));
}
