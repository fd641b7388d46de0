#include "sso_log.h"
#include "sso_test.h"
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char s_process[32] = "sso";
static bool s_json = false;
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *s_level_names[] = {"debug", "info", "warn", "error"};
static sso_log_level_t s_min_level = SSO_LOG_INFO;

int sso_log_level_parse(const char *name, sso_log_level_t *level)
{
    for (int i = 0; name && i < (int) (sizeof s_level_names / sizeof *s_level_names); i++)
        if (strcmp(name, s_level_names[i]) == 0) {
            *level = (sso_log_level_t) i;
            return 0;
        }
    return -1;
}

void sso_log_init(const char *process, const char *format, const char *wanted, bool debug)
{
    snprintf(s_process, sizeof s_process, "%s", process ? process : "sso");
    s_json = format && strcmp(format, "json") == 0;
    /* SSO_DEBUG=1 is the old spelling of SSO_LOG_LEVEL=debug; an unknown level is said once
       and ignored, never fatal: logging must not stop a service. */
    s_min_level = debug ? SSO_LOG_DEBUG : SSO_LOG_INFO;
    if (wanted && *wanted && sso_log_level_parse(wanted, &s_min_level) != 0)
        sso_log(SSO_LOG_WARN, "SSO_LOG_LEVEL=%.40s is not debug, info, warn or error; using %s",
                wanted, s_level_names[s_min_level]);
}

bool sso_log_json(void) { return s_json; }

static void s_timestamp(char *out, size_t size)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%.20s.%03dZ", base, (int) (tv.tv_usec / 1000) % 1000);
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629 section 4), or 0. */
static size_t s_utf8_sequence(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4                           ? 4
                                                                    : 0;
    /* The second byte's range excludes overlong forms, surrogates and code points past
       U+10FFFF. */
    unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    for (size_t i = 1; i < len; i++)
        if (p[i] < (i == 1 ? low : 0x80) || p[i] > (i == 1 ? high : 0xbf))
            return 0;
    return len;
}

void sso_log_scrub_utf8(char *text)
{
    unsigned char *p = (unsigned char *) text;
    while (p && *p) {
        size_t len = s_utf8_sequence(p);
        if (len == 0)
            *p++ = '?';
        else
            p += len;
    }
}

void sso_log_raw(const char *line)
{
    pthread_mutex_lock(&s_lock);
    fputs(line, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    pthread_mutex_unlock(&s_lock);
}

void sso_log(sso_log_level_t level, const char *fmt, ...)
{
    if (level < s_min_level)
        return;
    char message[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    sso_log_scrub_utf8(message);
    char ts[40];
    s_timestamp(ts, sizeof ts);
    if (s_json) {
        json_t *obj = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", s_level_names[level],
                                "process", s_process, "msg", message);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        if (text)
            sso_log_raw(text);
        free(text);
        json_decref(obj);
    }
    else {
        char line[2200];
        snprintf(line, sizeof line, "%s %-5s %s: %s", ts, s_level_names[level], s_process, message);
        sso_log_raw(line);
    }
}

bool sso_log_limit_due(sso_log_limit_t *limit, int64_t now_ms, int64_t interval_ms,
                       unsigned long long *skipped_out)
{
    if (limit->logged_at_ms && now_ms - limit->logged_at_ms < interval_ms) {
        limit->skipped++;
        return false;
    }
    *skipped_out = limit->skipped;
    limit->logged_at_ms = now_ms ? now_ms : 1;
    limit->skipped = 0;
    return true;
}

void sso_log_printable(const char *text, char *out, size_t size)
{
    size_t i = 0;
    for (; text && text[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char) text[i];
        out[i] = c < 0x20 || c > 0x7e ? '?' : (char) c;
    }
    if (size)
        out[i] = '\0';
}

void sso_log_test(bool verbose)
{
    (void) verbose;
    char safe[8];
    sso_log_printable("a\nb\x1b\xc3\xa9long", safe, sizeof safe);
    SSO_CHECK(!strcmp(safe, "a?b???l"));
    sso_log_printable(NULL, safe, sizeof safe);
    SSO_CHECK(!strcmp(safe, ""));
    sso_log_init("selftest", "json", NULL, false);
    SSO_CHECK(sso_log_json());
    sso_log_init("selftest", "text", NULL, false);
    SSO_CHECK(!sso_log_json());
    char ts[40];
    s_timestamp(ts, sizeof ts);
    SSO_CHECK(strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z');
    sso_log_level_t level = SSO_LOG_DEBUG;
    SSO_CHECK(sso_log_level_parse("warn", &level) == 0 && level == SSO_LOG_WARN);
    SSO_CHECK(sso_log_level_parse("error", &level) == 0 && level == SSO_LOG_ERROR);
    SSO_CHECK(sso_log_level_parse("WARN", &level) == -1 && level == SSO_LOG_ERROR);
    SSO_CHECK(sso_log_level_parse("verbose", &level) == -1);
    SSO_CHECK(sso_log_level_parse(NULL, &level) == -1);
    /* The threshold is set at init: the level named, else debug or info; a bad name is
       ignored. */
    sso_log_init("selftest", "text", "error", false);
    SSO_CHECK(s_min_level == SSO_LOG_ERROR);
    sso_log_init("selftest", "text", "error", true);
    SSO_CHECK(s_min_level == SSO_LOG_ERROR);
    sso_log_init("selftest", "text", NULL, false);
    SSO_CHECK(s_min_level == SSO_LOG_INFO);
    sso_log_init("selftest", "text", "", true);
    SSO_CHECK(s_min_level == SSO_LOG_DEBUG);
    sso_log_init("selftest", "text", "loud", false);
    SSO_CHECK(s_min_level == SSO_LOG_INFO);
    sso_log_init("selftest", "text", "loud", true);
    SSO_CHECK(s_min_level == SSO_LOG_DEBUG);
    sso_log_init("selftest", "text", NULL, false);

    /* Only well-formed UTF-8 stays; every other byte becomes '?'. */
    struct {
        const char *in, *out;
    } texts[] = {
        {"plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"},
        {"cut \xc3", "cut ?"},                    /* a sequence cut at a byte count */
        {"cut \xe2\x82", "cut ??"},
        {"\xff\xfe", "??"},
        {"\xc0\xaf", "??"},                      /* overlong "/" */
        {"\xe0\x80\xaf", "???"},                /* overlong */
        {"\xed\xa0\x80", "???"},                /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "????"},          /* past U+10FFFF */
        {"\x80x", "?x"},                         /* a continuation byte alone */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char buffer[32];
        snprintf(buffer, sizeof buffer, "%s", texts[i].in);
        sso_log_scrub_utf8(buffer);
        SSO_CHECK(!strcmp(buffer, texts[i].out));
    }
    sso_log_scrub_utf8(NULL);

    /* A JSON line whose message was cut inside a character (or quotes a peer's bytes) is
       still written, not dropped because jansson refused the string. */
    int pipe_fds[2], saved = -1;
    fflush(stderr);
    if (pipe(pipe_fds) == 0 && (saved = dup(2)) >= 0 && dup2(pipe_fds[1], 2) == 2) {
        close(pipe_fds[1]);
        sso_log_init("selftest", "json", NULL, false);
        sso_info("refused: %s", "status: aaa\xc3");
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        char line[512] = "";
        ssize_t got = read(pipe_fds[0], line, sizeof line - 1);
        line[got > 0 ? got : 0] = '\0';
        close(pipe_fds[0]);
        SSO_CHECK(strstr(line, "\"msg\":\"refused: status: aaa?\""));
    }
    else
        SSO_CHECK(!"stderr could not be captured");
    sso_log_init("selftest", "text", NULL, false);
    /* The limit: the first line, none within the interval (counted), then one with the count. */
    sso_log_limit_t limit = {0};
    unsigned long long skipped = 99;
    SSO_CHECK(sso_log_limit_due(&limit, 5000, 1000, &skipped) && skipped == 0);
    SSO_CHECK(!sso_log_limit_due(&limit, 5000, 1000, &skipped));
    SSO_CHECK(!sso_log_limit_due(&limit, 5999, 1000, &skipped));
    SSO_CHECK(sso_log_limit_due(&limit, 6000, 1000, &skipped) && skipped == 2);
    SSO_CHECK(!sso_log_limit_due(&limit, 6001, 1000, &skipped) && limit.skipped == 1);
}
