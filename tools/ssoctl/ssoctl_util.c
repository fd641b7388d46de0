#include "ssoctl_util.h"
#include "sso_http.h"
#include "sso_test.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

int ssoctl_duration(const char *text, bool unit_required, long max, long *seconds)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long number = strtol(text, &end, 10);
    long unit = 0;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case '\0': unit = unit_required ? 0 : 1; break;
    default: break;
    }
    if (errno || !unit || (*end && end[1]) || number > max / unit)
        return -1;
    *seconds = number * unit;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" as Unix seconds; a day the month does not have is refused, never
   carried into the next month as timegm would. */
static int s_utc_time(const char *text, int64_t *out)
{
    static const char shape[] = "0000-00-00T00:00:00Z";
    if (strlen(text) != sizeof shape - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == '0' ? text[i] < '0' || text[i] > '9' : text[i] != shape[i])
            return -1;
    /* Year, month, day, hour, minute, second: where each starts and its digits. */
    static const size_t at[6] = {0, 5, 8, 11, 14, 17}, digits[6] = {4, 2, 2, 2, 2, 2};
    int field[6] = {0};
    for (size_t f = 0; f < 6; f++)
        for (size_t i = at[f]; i < at[f] + digits[f]; i++)
            field[f] = field[f] * 10 + (text[i] - '0');
    int year = field[0], month = field[1], day = field[2];
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || month < 1 || month > 12 || day < 1
        || day > month_days[month - 1] + (month == 2 && leap) || field[3] > 23 || field[4] > 59
        || field[5] > 59)
        return -1;
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                    .tm_hour = field[3], .tm_min = field[4], .tm_sec = field[5]};
    time_t seconds = timegm(&tm);
    if (seconds == (time_t) -1)
        return -1;
    *out = (int64_t) seconds;
    return 0;
}

int ssoctl_when(const char *text, int64_t now, int64_t *out)
{
    if (!text)
        return -1;
    if (strchr(text, 'T'))
        return s_utc_time(text, out);
    long back = 0;
    if (now < 0 || ssoctl_duration(text, true, (long) now, &back) != 0)
        return -1;
    *out = now - back;
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

    /* Durations: digits and one unit (optional where unit_required is false), within max. */
    long seconds = -1;
    SSO_CHECK(ssoctl_duration("90m", true, 86400, &seconds) == 0 && seconds == 5400);
    SSO_CHECK(ssoctl_duration("7d", true, 7 * 86400, &seconds) == 0 && seconds == 604800);
    SSO_CHECK(ssoctl_duration("0s", true, 10, &seconds) == 0 && seconds == 0);
    SSO_CHECK(ssoctl_duration("60", false, 60, &seconds) == 0 && seconds == 60);
    const char *const durations_refused[] = {"60", "", "m", "-1m", "+1m", " 1m", "1m ", "1.5h",
                                             "1hh", "1w", "1M", "0x1m", "1e3s", "8d",
                                             "99999999999999999999s"};
    for (size_t i = 0; i < sizeof durations_refused / sizeof *durations_refused; i++) {
        seconds = -1;
        SSO_CHECK(ssoctl_duration(durations_refused[i], true, 7 * 86400, &seconds) == -1
                  && seconds == -1);
    }
    SSO_CHECK(ssoctl_duration(NULL, false, 1, &seconds) == -1);

    /* WHEN: a duration back from now, or an RFC 3339 UTC time to the second. */
    const int64_t now = 1800000000;
    int64_t when = -1;
    SSO_CHECK(ssoctl_when("30m", now, &when) == 0 && when == now - 1800);
    SSO_CHECK(ssoctl_when("24h", now, &when) == 0 && when == now - 86400);
    SSO_CHECK(ssoctl_when("7d", now, &when) == 0 && when == now - 604800);
    SSO_CHECK(ssoctl_when("0s", now, &when) == 0 && when == now);
    SSO_CHECK(ssoctl_when("1800000000s", now, &when) == 0 && when == 0);
    SSO_CHECK(ssoctl_when("2026-12-06T21:00:00Z", now, &when) == 0 && when == 1796590800);
    SSO_CHECK(ssoctl_when("1970-01-01T00:00:00Z", now, &when) == 0 && when == 0);
    SSO_CHECK(ssoctl_when("2024-02-29T23:59:59Z", now, &when) == 0 && when == 1709251199);
    SSO_CHECK(ssoctl_when("2000-02-29T00:00:00Z", now, &when) == 0 && when == 951782400);
    const char *const whens_refused[] = {
        "", "30", "1800000001s", "-30m", "30w", "now", "yesterday", "1e9", "1796590800",
        "2026-12-06", "2026-12-06T21:00Z", "2026-12-06T21:00:00", "2026-12-06 21:00:00Z",
        "2026-12-06t21:00:00z", "2026-12-06T21:00:00+01:00", "2026-12-06T21:00:00.5Z",
        "2026-12-06T21:00:00Z ", "2026-13-06T21:00:00Z", "2026-00-06T21:00:00Z",
        "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-12-00T00:00:00Z", "2026-12-06T24:00:00Z", "2026-12-06T21:60:00Z",
        "2026-12-06T21:00:60Z", "1969-12-31T23:59:59Z", "2026-1a-06T21:00:00Z",
        "<script>T"};
    for (size_t i = 0; i < sizeof whens_refused / sizeof *whens_refused; i++) {
        when = -1;
        SSO_CHECK(ssoctl_when(whens_refused[i], now, &when) == -1 && when == -1);
        if (when != -1)
            fprintf(stderr, "WHEN '%s' taken as %lld\n", whens_refused[i], (long long) when);
    }
    SSO_CHECK(ssoctl_when(NULL, now, &when) == -1);
}
