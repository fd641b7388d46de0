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
#include "sso_cookie.h"

#define DIR_PORTAL_SESSION_IDLE (30 * 60)
#define DIR_PORTAL_SESSION_MAX (8 * 3600)
/* The cookie's base name ("__Host-sso_portal" over https) and path over plain http. */
#define DIR_PORTAL_COOKIE "sso_portal"
#define DIR_PORTAL_COOKIE_PATH "/portal/"
/* The CSRF token's length: hex of half a SHA-256. */
#define DIR_PORTAL_CSRF_LEN 32

typedef struct {
    char id[64];              /* ps_…: names the session in logs */
    char organization_id[160];/* the one organization the session may read and change */
    char link_id[64];         /* the link it was made from */
    int64_t created_at;
    int64_t last_seen;
    int64_t expires_at;       /* the absolute end */
    char secret[SSO_COOKIE_TOKEN_LEN + 1]; /* the cookie's value: set by an exchange, and by a
                                              lookup (the request's); never stored or logged */
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
typedef enum {
    DIR_PORTAL_SESSION_OK,     /* live; last_seen was moved to now */
    DIR_PORTAL_SESSION_NONE,   /* no cookie, a malformed one, or no such session (ended) */
    DIR_PORTAL_SESSION_IDLE_OUT, /* DIR_PORTAL_SESSION_IDLE passed without a request: ended */
    DIR_PORTAL_SESSION_EXPIRED,  /* its absolute end passed: ended */
    DIR_PORTAL_SESSION_ERROR,
} dir_portal_state_t;

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
