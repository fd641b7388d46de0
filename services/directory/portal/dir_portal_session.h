/* dir_portal_session: portal sessions, what a portal link is exchanged for. A link works once
   (a link found later in a mailbox or a chat history opens nothing); its exchange makes a
   session: a random secret in an HttpOnly cookie (only its SHA-256 is stored), bound to the
   link's organization, ended by DIR_PORTAL_SESSION_IDLE without a request, by
   DIR_PORTAL_SESSION_MAX after it began or by the link's expiry (whichever comes first), by
   the link's revocation or by logging out. Its CSRF token is derived from the secret, so it
   is bound to the session and needs no storage. */
#ifndef DIR_PORTAL_SESSION_H
#define DIR_PORTAL_SESSION_H
#include "dir.h"
#include "web/dir_web.h"

#define DIR_PORTAL_SESSION_IDLE (30 * 60)
#define DIR_PORTAL_SESSION_MAX (8 * 3600)
/* The cookie's base name ("__Host-sso_portal" over https) and path over plain http. */
#define DIR_PORTAL_COOKIE "sso_portal"
#define DIR_PORTAL_COOKIE_PATH "/portal/"
/* The CSRF token's length: hex of half a SHA-256. */
#define DIR_PORTAL_CSRF_LEN DIR_WEB_CSRF_LEN
/* The portal's sessions, as dir_web keeps them. */
extern const dir_web_app_t dir_portal_app;

typedef struct {
    dir_web_session_t web;    /* id ps_…, times, the cookie's secret (set by an exchange and by
                                 a lookup: the request's; never stored or logged) */
    char organization_id[160];/* the one organization the session may read and change */
    char link_id[64];         /* the link it was made from */
} dir_portal_session_t;

/* What an exchange found. */
typedef enum {
    DIR_PORTAL_LINK_OK,      /* a session was made */
    DIR_PORTAL_LINK_UNKNOWN, /* malformed, or no link has this token (or its organization is gone) */
    DIR_PORTAL_LINK_EXPIRED,
    DIR_PORTAL_LINK_REVOKED,
    DIR_PORTAL_LINK_USED,    /* already exchanged once */
    DIR_PORTAL_LINK_ERROR,   /* the database failed */
} dir_portal_link_t;

/* Exchanges a link's token for a new session (the link is used from then on). On OK the
   session is filled, its secret included. On EXPIRED, REVOKED and USED session->link_id and
   ->organization_id name the link and *when is its expiry or first use (for the page). Logs
   the outcome, naming the link, never the token. */
dir_portal_link_t dir_portal_session_start(dir_t *dir, const char *token,
                                           dir_portal_session_t *session, int64_t *when);

/* What a lookup found. */
typedef dir_web_state_t dir_portal_state_t;
#define DIR_PORTAL_SESSION_OK DIR_WEB_SESSION_OK
#define DIR_PORTAL_SESSION_NONE DIR_WEB_SESSION_NONE
#define DIR_PORTAL_SESSION_IDLE_OUT DIR_WEB_SESSION_IDLE_OUT
#define DIR_PORTAL_SESSION_EXPIRED DIR_WEB_SESSION_EXPIRED
#define DIR_PORTAL_SESSION_ERROR DIR_WEB_SESSION_ERROR

/* The session of the request's cookie. A session found idle or expired is deleted. */
dir_portal_state_t dir_portal_session_find(dir_t *dir, const Sso__HttpRequest *request,
                                           dir_portal_session_t *session);
/* Deletes the session (logout). 0 or -1. */
int dir_portal_session_end(dir_t *dir, const dir_portal_session_t *session);
/* The session's CSRF token (DIR_PORTAL_CSRF_LEN hex characters). */
void dir_portal_session_csrf(const dir_portal_session_t *session,
                             char out[DIR_PORTAL_CSRF_LEN + 1]);
/* True when the request's X-CSRF-Token header is the session's token (constant time). */
bool dir_portal_session_csrf_ok(const dir_portal_session_t *session,
                                const Sso__HttpRequest *request);
/* The Set-Cookie that gives the browser the session (secret NULL: one that clears it). */
int dir_portal_session_cookie(const dir_t *dir, const dir_portal_session_t *session,
                              char *out, size_t size);

void dir_portal_session_test(bool verbose);
#endif
