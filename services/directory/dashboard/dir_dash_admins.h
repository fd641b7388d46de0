/* dir_dash_admins: the developer dashboard's accounts. An account is made with an email
   (lower-cased, unique) and no password; its one-time setup link
   (<public url>/dashboard/setup#<token>: only the token's SHA-256 is stored; 24 hours; a new
   link kills the old) is where the person sets one (hashed as the client secrets are,
   sso_secret_hash). Sign-in checks email and password and gives one answer, whatever failed
   (an unknown email costs the same hash), and locks an email after failures in a row,
   whether an account has it or not (dir_dash_lockout). Disabling or deleting an account ends its sessions. The management API's
   /api/v1/admins routes, and the first account from SSO_DASHBOARD_ADMIN_EMAIL. */
#ifndef DIR_DASH_ADMINS_H
#define DIR_DASH_ADMINS_H
#include "api/dir_api.h"
#include "dashboard/dir_dash_lockout.h"

#define DIR_DASH_SETUP_TTL (24 * 3600)
#define DIR_DASH_PASSWORD_MIN 12  /* characters (UTF-8 code points) */
#define DIR_DASH_PASSWORD_MAX 256
#define DIR_DASH_EMAIL_MAX 254
/* A setup link's token: 32 random bytes as base64url. */
#define DIR_DASH_SETUP_TOKEN_LEN 43
/* Where the first account's setup link is written (0600) in the data dir. */
#define DIR_DASH_SETUP_FILE "dashboard-setup-link"

/* An account as sign-in and sessions know it. */
typedef struct {
    char id[64];
    char email[DIR_DASH_EMAIL_MAX + 1];
} dir_dash_admin_t;

/* What a setup found. */
typedef enum {
    DIR_DASH_SETUP_OK,          /* the password is set; the link is used */
    DIR_DASH_SETUP_UNKNOWN,     /* malformed, or no link has this token */
    DIR_DASH_SETUP_EXPIRED,
    DIR_DASH_SETUP_USED,
    DIR_DASH_SETUP_BAD_PASSWORD,/* why says which rule it breaks; the link stays usable */
    DIR_DASH_SETUP_ERROR,
} dir_dash_setup_t;
/* Sets the password of the account of a setup link's token, once; ends the account's
   sessions. admin is filled when the link was found. why (at least 200 bytes) says what the
   person should know. */
dir_dash_setup_t dir_dash_admins_setup(dir_t *dir, const char *token, const char *password,
                                       const char *password_confirm, dir_dash_admin_t *admin,
                                       char *why, size_t why_size);

typedef enum {
    DIR_DASH_SIGNIN_OK,
    DIR_DASH_SIGNIN_REFUSED, /* unknown email, wrong password, no password yet, disabled */
    DIR_DASH_SIGNIN_LOCKED,  /* *retry_after seconds to wait (this attempt was not checked);
                                the same for an email without an account */
    DIR_DASH_SIGNIN_ERROR,
} dir_dash_signin_t;
/* Checks a sign-in. admin is filled when the email names an account (also when refused);
   *locked_now is true when this failure locked the email (an account's or not). */
dir_dash_signin_t dir_dash_admins_signin(dir_t *dir, const char *email, const char *password,
                                         dir_dash_admin_t *admin, int64_t *retry_after,
                                         bool *locked_now);

/* At a start with no account: creates email's, prints its setup link once on stderr and
   writes it to <data dir>/DIR_DASH_SETUP_FILE (0600). Nothing when email is NULL or "", or an
   account exists. 0, or -1 with why. */
int dir_dash_admins_bootstrap(dir_t *dir, const char *email, char *why, size_t why_size);

/* /api/v1/admins, /api/v1/admins/{id}, /api/v1/admins/{id}/{disable|enable|setup_link}. */
zframe_t *dir_dash_admins_http(dir_api_req_t *req);

void dir_dash_admins_test(bool verbose);
#endif
