/* dir_testkit: what the directory's self-tests share: a directory on a fresh temporary data
   dir with a management token, and calling the HTTP handler with hand-built requests. */
#ifndef DIR_TESTKIT_H
#define DIR_TESTKIT_H
#include "dir_service.h"
#include <jansson.h>

typedef struct {
    char data_dir[64];
    sso_config_t config;
    dir_t *dir;
    char admin_id[256];
    char *token;                 /* a management bearer token; tests may swap it */
    char www_authenticate[256];  /* of the last response, "" when none */
} dir_testkit_t;

/* A new temporary data dir (SSO_PUBLIC_URL https://sso.test), the directory on it and a
   management token. 0 or -1. */
int dir_testkit_open(dir_testkit_t *kit);
/* Closes and reopens the directory on the same data dir (a restart). 0 or -1. */
int dir_testkit_reopen(dir_testkit_t *kit);
/* Closes the directory and deletes the data dir. */
void dir_testkit_close(dir_testkit_t *kit);

/* Sends method target (path with optional ?query) with body (may be NULL) and the kit's token
   to the management API. Returns the HTTP status; *json (may be NULL) is the parsed body or
   NULL when it is empty or not JSON. */
int dir_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                     const char *body, json_t **json);
/* The string member key of json, or "" (for terse checks). */
const char *dir_testkit_str(const json_t *json, const char *key);
#endif
