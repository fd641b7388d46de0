/* dir_dash_testkit: for the self-tests only: dashboard accounts with their setup links, signed
   in sessions, and calls to /dashboard/ (through dir_portal_testkit_call). */
#ifndef DIR_DASH_TESTKIT_H
#define DIR_DASH_TESTKIT_H
#include "portal/dir_portal_testkit.h"

typedef dir_portal_testkit_reply_t dir_dash_testkit_reply_t;
#define dir_dash_testkit_reply_free dir_portal_testkit_reply_free

/* A signed-in admin. */
typedef struct {
    char id[64];
    char cookie[200]; /* the Cookie header ("name=value") */
    char csrf[64];
} dir_dash_testkit_t;

/* method target with the Cookie header cookie, Origin origin and a JSON body (each NULL for
   none). 0 with reply (free it), or -1. */
int dir_dash_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                          const char *cookie, const char *origin, const char *body,
                          dir_dash_testkit_reply_t *reply);
/* POST target with a form body. */
int dir_dash_testkit_form(dir_testkit_t *kit, const char *target, const char *body,
                          dir_dash_testkit_reply_t *reply);
/* method target as who (NULL: no cookie) with X-CSRF-Token csrf (NULL: none) and a JSON body:
   the status, or -1; the reply's JSON in *json when json is not NULL. */
int dir_dash_testkit_api(dir_testkit_t *kit, const char *method, const char *target,
                         const dir_dash_testkit_t *who, const char *csrf, const char *body,
                         json_t **json);
/* A new account of email through the management API; its setup token into token. 0 or -1. */
int dir_dash_testkit_admin(dir_testkit_t *kit, const char *email, char *token, size_t size);
/* A new account of email with password set and signed in. 0 or -1. */
int dir_dash_testkit_signin(dir_testkit_t *kit, const char *email, const char *password,
                            dir_dash_testkit_t *who);
#endif
