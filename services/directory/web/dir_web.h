/* dir_web: what the directory's browser apps (the admin portal, portal/, and the developer
   dashboard, dashboard/) share: a session kept in an HttpOnly cookie (a random secret of which
   only the SHA-256 is stored) with idle and absolute lifetimes, its CSRF token derived from
   the secret (bound to the session, no storage), the Set-Cookie, the same-origin check of a
   browser's POST, and the pages: the shell an app's scripts build on and the error page. */
#ifndef DIR_WEB_H
#define DIR_WEB_H
#include "dir.h"
#include "sso_cookie.h"
#include "sso_http.h"

/* The CSRF token's length: hex of half a SHA-256. */
#define DIR_WEB_CSRF_LEN 32

/* An app's shells: their scripts and styles only from /static, which may call the app's API
   and nothing else. */
#define DIR_WEB_APP_CSP                                                                       \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "          \
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* One app's sessions. Its table has the columns id, session_hash, created_at, last_seen,
   expires_at and the owner's. */
typedef struct {
    const char *name;        /* "portal": logs, and the CSRF token's domain */
    const char *table;       /* "portal_sessions" */
    const char *cookie;      /* the cookie's base name ("__Host-<name>" over https) */
    const char *cookie_path; /* its path over plain http */
    int64_t idle;            /* seconds without a request that end a session */
} dir_web_app_t;

typedef struct {
    char id[64];
    int64_t created_at;
    int64_t last_seen;
    int64_t expires_at; /* the absolute end */
    char secret[SSO_COOKIE_TOKEN_LEN + 1]; /* the cookie's value: never stored or logged */
} dir_web_session_t;

/* A new session's id (prefix + random), secret and times; its secret's SHA-256 (hex) into
   hash, for the caller's INSERT. 0 or -1. */
int dir_web_session_new(dir_web_session_t *session, const char *prefix, int64_t now,
                        int64_t expires_at, char hash[65]);

typedef enum {
    DIR_WEB_SESSION_OK,       /* live; last_seen was moved to now */
    DIR_WEB_SESSION_NONE,     /* no cookie, a malformed one, or no such session (ended) */
    DIR_WEB_SESSION_IDLE_OUT, /* app->idle passed without a request: ended */
    DIR_WEB_SESSION_EXPIRED,  /* its absolute end passed: ended */
    DIR_WEB_SESSION_ERROR,
} dir_web_state_t;

/* Reads the owner's columns (from column first on) of a session row into arg. */
typedef void (dir_web_owner_fn)(dir_db_stmt_t *stmt, int first, void *arg);
/* The session of the request's cookie: the row whose hash it is, joined as from_where says
   ("s JOIN dashboard_admins a ON ... WHERE a.status = 'active' AND", or "s WHERE"; the table
   is s), its owner's columns (columns, "s.organization_id, s.link_id") through owner. A
   session found idle or expired is deleted. */
dir_web_state_t dir_web_session_find(dir_t *dir, const dir_web_app_t *app,
                                     const Sso__HttpRequest *request, const char *columns,
                                     const char *from_where, dir_web_owner_fn *owner,
                                     void *arg, dir_web_session_t *session);
/* Deletes the app's sessions that have ended (idle or past their end) by now, whether or
   not their browsers come back: housekeeping's part. The number deleted, or -1. */
int dir_web_sessions_prune(dir_t *dir, const dir_web_app_t *app, int64_t now);
/* Deletes the session id (sign-out). 0 or -1. */
int dir_web_session_end(dir_t *dir, const dir_web_app_t *app, const char *id, const char *why);

/* The session's CSRF token (DIR_WEB_CSRF_LEN hex characters). */
void dir_web_csrf(const dir_web_app_t *app, const char *secret, char out[DIR_WEB_CSRF_LEN + 1]);
/* True when the request's X-CSRF-Token header is the session's token (constant time). */
bool dir_web_csrf_ok(const dir_web_app_t *app, const char *secret,
                     const Sso__HttpRequest *request);
/* The Set-Cookie that gives the browser the session until expires_at (secret NULL or "": one
   that clears it): HttpOnly, SameSite=Lax, Secure and host-only over https. 0 or -1. */
int dir_web_cookie(const dir_t *dir, const dir_web_app_t *app, const char *secret,
                   int64_t expires_at, char *out, size_t size);

/* True when a browser's POST came from the broker's own pages (Origin and Sec-Fetch-Site). */
bool dir_web_same_origin(const dir_t *dir, const Sso__HttpRequest *request);

/* The shell of a page an app's scripts build (id "<app>-app", class app): the stylesheet, a
   heading until they run, the module script. Nothing in it comes from the request. */
zframe_t *dir_web_shell(const char *app, const char *title, const char *testid,
                        const char *stylesheet, const char *script);
/* A page that says why nothing opened, and advice (NULL for none). */
zframe_t *dir_web_page(uint32_t status, const char *title, const char *message,
                       const char *advice);

void dir_web_test(bool verbose);
#endif
