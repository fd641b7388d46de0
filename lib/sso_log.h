/* sso_log: one line per event, plain text or one JSON object per line (SSO_LOG_FORMAT=json). */
#ifndef SSO_LOG_H
#define SSO_LOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { SSO_LOG_DEBUG, SSO_LOG_INFO, SSO_LOG_WARN, SSO_LOG_ERROR } sso_log_level_t;

/* Sets the process name printed on every line, the format ("text" or "json") and the
   threshold: level names it (debug, info, warn, error: SSO_LOG_LEVEL), else it is debug when
   debug (SSO_DEBUG is set), info otherwise; an unknown level is logged once and ignored. Lines
   below the threshold are not written. */
void sso_log_init(const char *process, const char *format, const char *level, bool debug);
/* "debug".."error" to a level: 0, or -1 (level unchanged) for anything else. */
int sso_log_level_parse(const char *name, sso_log_level_t *level);
bool sso_log_json(void);
void sso_log(sso_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replaces, in place, every byte of text that is not part of a well-formed UTF-8 sequence
   with '?'. A message cut at a byte count, or quoting a peer's bytes, then stays text that
   JSON can carry: jansson refuses anything else, and a line or an event it refused would
   vanish. Every line sso_log writes goes through it. */
void sso_log_scrub_utf8(char *text);
/* A peer's words made safe for one log line and an event: text copied into out (at most
   size - 1 bytes, always terminated) with control characters and anything not printable
   ASCII replaced by '?', so that an IdP's "\n" cannot forge a line of a text log. */
void sso_log_printable(const char *text, char *out, size_t size);
/* Writes a prepared line verbatim (access logs that build their own JSON). */
void sso_log_raw(const char *line);

#define sso_debug(...) sso_log(SSO_LOG_DEBUG, __VA_ARGS__)
#define sso_info(...) sso_log(SSO_LOG_INFO, __VA_ARGS__)
#define sso_warn(...) sso_log(SSO_LOG_WARN, __VA_ARGS__)
#define sso_error(...) sso_log(SSO_LOG_ERROR, __VA_ARGS__)

/* A line anyone may provoke again and again (a refusal): written at most once per interval.
   One per call site, used from one thread. */
typedef struct {
    int64_t logged_at_ms;       /* 0: never */
    unsigned long long skipped; /* lines not written since */
} sso_log_limit_t;

/* true when the line may be written at now_ms, with *skipped_out how many were not since the
   last one (the count starts over); false, counted, when it came too soon. */
bool sso_log_limit_due(sso_log_limit_t *limit, int64_t now_ms, int64_t interval_ms,
                       unsigned long long *skipped_out);

void sso_log_test(bool verbose);
#endif
