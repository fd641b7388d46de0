/* dir_testkit: what the directory's self-tests share: a directory on a fresh temporary data
   dir with a management token, and calling the HTTP handler with hand-built requests. */
#ifndef DIR_TESTKIT_H
#define DIR_TESTKIT_H
#include "dir.h"
#include "directory.pb-c.h"
#include <jansson.h>

typedef struct {
    char data_dir[64];
    sso_config_t config;
    dir_t *dir;
    char admin_id[256];
    char *token;                 /* a management bearer token; tests may swap it */
    char www_authenticate[256];  /* of the last response, "" when none */
    unsigned calls;              /* every other call runs inside a batch (dir_db_batch_begin) */
    const char *caller;          /* Meta.caller of dir_testkit_rpc's requests; NULL (as at
                                    open): a role the operation serves */
} dir_testkit_t;

/* A new temporary data dir (SSO_PUBLIC_URL https://sso.test), the directory on it and a
   management token. 0, or -1 counted as a failed check. */
int dir_testkit_open(dir_testkit_t *kit);
/* The same, keeping the seeded Test Organization (dir_testkit_open deletes it, so that tests
   start with no organization). */
int dir_testkit_open_seeded(dir_testkit_t *kit);
/* Runs test on a kit opened for it, then closes the kit (nothing runs when it does not open). */
void dir_testkit_run(void (*test)(dir_testkit_t *kit));
/* The same on a kit that keeps the seeded Test Organization. */
void dir_testkit_run_seeded(void (*test)(dir_testkit_t *kit));
/* Closes and reopens the directory on the same data dir (a restart). 0 or -1. */
int dir_testkit_reopen(dir_testkit_t *kit);
/* Closes the directory and deletes the data dir. */
void dir_testkit_close(dir_testkit_t *kit);
/* Deletes a test's temporary directory (made by mkdtemp under /tmp/dir-…) with everything in
   it, such as a database with its -wal and -shm files. Anything else is left alone. */
void dir_testkit_remove_dir(const char *dir);

/* request's method, path and query from method and target ("/path?query"); the path is
   copied into path (request points into it and into target). */
#define DIR_TESTKIT_PATH_MAX 1024
void dir_testkit_target(Sso__HttpRequest *request, const char *method, const char *target,
                        char path[DIR_TESTKIT_PATH_MAX]);
/* Sends method target (path with optional ?query) with body (may be NULL) and the kit's token
   to the management API. Returns the HTTP status; *json (may be NULL) is the parsed body or
   NULL when it is empty or not JSON. */
int dir_testkit_call(dir_testkit_t *kit, const char *method, const char *target,
                     const char *body, json_t **json);
/* The string member key of json, or "" (for terse checks). */
const char *dir_testkit_str(const json_t *json, const char *key);
/* Calls as dir_testkit_call and copies the string member key of the reply into value ("" when
   there is none). Returns the HTTP status. */
int dir_testkit_field(dir_testkit_t *kit, const char *method, const char *target,
                      const char *body, const char *key, char *value, size_t size);
/* True when an API reply (status, *body: taken) is a 400 invalid_request whose description
   has want. Otherwise prints what it got. */
bool dir_testkit_refused(int status, json_t **body, const char *want);
/* A signing key to store: kid, jwk and a fresh RSA private key, whose PEM is also in *pem
   (caller frees; the key holds "" when making one failed). 0 or -1. */
int dir_testkit_signing_key(Sso__SigningKey *key, const char *kid, const char *jwk, char **pem);
/* For walking a list: false on its last page, else true with target set to the page after
   json, as first (the first page's target, with a query) plus its page_token. */
bool dir_testkit_next_page(const json_t *json, const char *first, char *target, size_t size);
/* Packs request, hands it to dir_rpc_router_handle as operation rpc ("TokenWrites.CodeRedeem",
   as kit->caller or else a role the operation serves) and unpacks the reply as the
   operation's type (an sso.RpcRefusal for an unknown rpc); NULL when it does not unpack. Free
   with the type's free_unpacked (or protobuf_c_message_free_unpacked). */
void *dir_testkit_rpc(dir_testkit_t *kit, const char *rpc, const ProtobufCMessage *request);
/* A reply's error ("" for none, else its lower-case name) and description. */
const char *dir_testkit_error(const void *reply);
const char *dir_testkit_error_description(const void *reply);
/* True when rpc answers request with error code (a lower-case name) and a description that
   contains description (when given). Otherwise prints what it got. */
bool dir_testkit_rpc_error(dir_testkit_t *kit, const char *rpc, const ProtobufCMessage *request,
                           const char *code, const char *description);
/* SAML metadata of an IdP with entity_id, an HTTP-Redirect SSO URL and the signing
   certificate cert_pem, into out. 0, or -1 when it does not fit. */
int dir_testkit_saml_metadata(const char *entity_id, const char *sso_url, const char *cert_pem,
                              char *out, size_t size);
/* Registers a client with one redirect URI through the API; its id in client_id. 0 or -1. */
int dir_testkit_client(dir_testkit_t *kit, const char *redirect_uri, char *client_id,
                       size_t size);
/* As dir_testkit_client, with the client's secret (shown once) copied into secret. */
int dir_testkit_client_secret(dir_testkit_t *kit, const char *redirect_uri, char *client_id,
                              size_t size, char *secret, size_t secret_size);
#endif
