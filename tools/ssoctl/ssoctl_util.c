#include "ssoctl_util.h"
#include "sso_http.h"
#include "sso_test.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ssoctl_buf_append(ssoctl_buf_t *buf, const char *data, size_t len)
{
    if (buf->failed)
        return -1;
    if (len >= (size_t) -1 / 2 - buf->len) {
        buf->failed = true;
        return -1;
    }
    if (buf->len + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + len + 1)
            cap *= 2;
        char *data_new = realloc(buf->data, cap);
        if (!data_new) {
            buf->failed = true;
            return -1;
        }
        buf->data = data_new;
        buf->cap = cap;
    }
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int ssoctl_buf_puts(ssoctl_buf_t *buf, const char *text)
{
    return ssoctl_buf_append(buf, text, strlen(text));
}

int ssoctl_buf_repeat(ssoctl_buf_t *buf, char c, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (ssoctl_buf_append(buf, &c, 1) != 0)
            return -1;
    return 0;
}

int ssoctl_buf_encoded(ssoctl_buf_t *buf, const char *text)
{
    char *encoded = sso_url_encode(text);
    if (!encoded) {
        buf->failed = true;
        return -1;
    }
    int rc = ssoctl_buf_puts(buf, encoded);
    free(encoded);
    return rc;
}

char *ssoctl_buf_take(ssoctl_buf_t *buf)
{
    if (buf->failed || ssoctl_buf_append(buf, "", 0) != 0) {
        ssoctl_buf_free(buf);
        return NULL;
    }
    char *data = buf->data;
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return data;
}

void ssoctl_buf_free(ssoctl_buf_t *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->failed = false;
}

int ssoctl_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                     size_t errlen)
{
    *out = NULL;
    *len = 0;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *file = is_stdin ? stdin : fopen(path, "rb");
    if (!file) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    ssoctl_buf_t buf = {0};
    char chunk[8192];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) {
        /* Stop as soon as the cap is passed: a wrong path (a device, a huge log) must not
           be slurped whole. */
        if (buf.len + got > max) {
            snprintf(err, errlen, "%s is larger than %zu bytes", path, max);
            rc = -1;
            break;
        }
        if (ssoctl_buf_append(&buf, chunk, got) != 0) {
            snprintf(err, errlen, "out of memory reading %s", path);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(file)) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (!is_stdin)
        fclose(file);
    if (rc != 0) {
        ssoctl_buf_free(&buf);
        return -1;
    }
    *len = buf.len;
    *out = ssoctl_buf_take(&buf);
    if (!*out) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    return 0;
}

void ssoctl_util_test(bool verbose)
{
    (void) verbose;
    ssoctl_buf_t buf = {0};
    SSO_CHECK(ssoctl_buf_puts(&buf, "/organizations/") == 0);
    SSO_CHECK(ssoctl_buf_encoded(&buf, "../x?y=1&z") == 0);
    SSO_CHECK(ssoctl_buf_repeat(&buf, '-', 3) == 0);
    char *text = ssoctl_buf_take(&buf);
    SSO_CHECK(text && !strcmp(text, "/organizations/..%2Fx%3Fy%3D1%26z---"));
    free(text);
    ssoctl_buf_t empty = {0};
    text = ssoctl_buf_take(&empty);
    SSO_CHECK(text && !strcmp(text, ""));
    free(text);

    char err[256];
    char *data = NULL;
    size_t len = 0;
    SSO_CHECK(ssoctl_read_file("/nonexistent/ssoctl", 10, &data, &len, err, sizeof err) == -1);
    SSO_CHECK(strstr(err, "/nonexistent/ssoctl") != NULL && data == NULL);
    char path[] = "/tmp/ssoctl-test-XXXXXX";
    int fd = mkstemp(path);
    SSO_CHECK(fd >= 0);
    if (fd >= 0) {
        FILE *file = fdopen(fd, "w");
        if (file) {
            fputs("0123456789", file);
            fclose(file);
        }
        else
            close(fd);
        SSO_CHECK(ssoctl_read_file(path, 10, &data, &len, err, sizeof err) == 0);
        SSO_CHECK(data && len == 10 && !strcmp(data, "0123456789"));
        free(data);
        SSO_CHECK(ssoctl_read_file(path, 9, &data, &len, err, sizeof err) == -1);
        SSO_CHECK(strstr(err, "larger than 9") != NULL);
        remove(path);
    }
}
