/* dir_dash_session: the developer dashboard's sessions (web/dir_web): made by a sign-in, a
   random secret in an HttpOnly cookie ("__Host-sso_dashboard" over https, "sso_dashboard"
   with Path=<base>/dashboard/ over http) of which only the SHA-256 is stored, ended by
   DIR_DASH_SESSION_IDLE without a request, DIR_DASH_SESSION_MAX after the sign-in, by
   signing out, and by the account's disabling, deletion or new password. */
#ifndef DIR_DASH_SESSION_H
#define DIR_DASH_SESSION_H
#include "dashboard/dir_dash_admins.h"
#include "web/dir_web.h"

#define DIR_DASH_SESSION_IDLE (30 * 60)
#define DIR_DASH_SESSION_MAX (12 * 3600)

extern const dir_web_app_t dir_dash_app;

typedef struct {
    dir_web_session_t web;
    dir_dash_admin_t admin;
} dir_dash_session_t;

/* A new session of admin (stored). 0 or -1. */
int dir_dash_session_start(dir_t *dir, const dir_dash_admin_t *admin,
                           dir_dash_session_t *session);
/* The session of the request's cookie, of an active account. */
dir_web_state_t dir_dash_session_find(dir_t *dir, const Sso__HttpRequest *request,
                                      dir_dash_session_t *session);

void dir_dash_session_test(bool verbose);
#endif
