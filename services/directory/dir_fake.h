/* dir_fake: the real directory service inside another service's self-test. A temporary data
   dir and database (dir_testkit), the bus's CURVE keys for every role and a broker on an
   ipc:// endpoint in that dir, and the directory's own service definition (its RPC router
   with its callers' roles, group commit) serving on a thread of its own. The service under
   test joins the same bus with its role's keys (dir_fake_endpoint, dir_fake_keys) and calls
   the directory exactly as in production; tests read what the directory stored through the
   directory's own functions, on its thread (dir_fake_txn, dir_fake_run). The header names no
   directory type, so a test includes it without the directory's headers.

   Seeded through the management API (ids generated, so read from the struct):
   client         redirect URIs https://app.test/callback and https://app.test/cb?x=1;
                  locked: another client, for tests that lock it out; admin: the management
                  client (its secret), mgmt_token: a management bearer token
   org_saml       the seeded Test Organization: domains example.com and example.org, its one
                  active SAML connection conn_saml (the simulator's)
   org_two        two active connections: ambiguous_connection
   org_oidc       domain oidc.example, one active OIDC connection conn_oidc
   org_off        domain inactive.example, one inactive connection conn_off */
#ifndef DIR_FAKE_H
#define DIR_FAKE_H
#include "directory.pb-c.h"
#include "sso_bus_keys.h"
#include <stdbool.h>

#define DIR_FAKE_ID_MAX 64

typedef struct dir_fake_inner_t dir_fake_inner_t;

typedef struct {
    char client_id[DIR_FAKE_ID_MAX];
    char client_secret[128];
    char locked_id[DIR_FAKE_ID_MAX];
    char admin_id[256];
    char admin_secret[128];
    char mgmt_token[128];
    char org_saml[DIR_FAKE_ID_MAX], conn_saml[DIR_FAKE_ID_MAX];
    char org_two[DIR_FAKE_ID_MAX];
    char org_oidc[DIR_FAKE_ID_MAX], conn_oidc[DIR_FAKE_ID_MAX];
    char org_off[DIR_FAKE_ID_MAX], conn_off[DIR_FAKE_ID_MAX];
    dir_fake_inner_t *inner;
} dir_fake_t;

/* The data dir, keys, broker, seed and the directory's thread. NULL (counted as a failed
   check, with why on stderr) when any of it fails. */
dir_fake_t *dir_fake_new(void);
/* Stops the thread and the broker and removes the temporary dir. */
void dir_fake_destroy(dir_fake_t **self_p);

const char *dir_fake_endpoint(const dir_fake_t *self);
const sso_bus_keys_t *dir_fake_keys(const dir_fake_t *self);

/* Live instances of service on the fake's broker (the directory's, or a test's own workers). */
int dir_fake_instances(const dir_fake_t *self, const char *service);
/* Takes the directory off the bus (its calls get 503 from the broker) and puts it back. 0 or
   -1. */
int dir_fake_stop(dir_fake_t *self);
int dir_fake_start(dir_fake_t *self);
/* The directory leaves the bus by itself once it has answered that many more requests (a
   service that dies between two calls of one request). dir_fake_stop, then dir_fake_start,
   put it back. 0 or -1. */
int dir_fake_stop_after(dir_fake_t *self, int answers);
/* From any thread, without waiting: the directory's thread sleeps for ms before its next
   request (a request sent meanwhile passes its deadline: 504). */
void dir_fake_hold(dir_fake_t *self, int ms);

/* Runs fn(dir, arg) on the directory's thread between two requests (dir is the directory's
   dir_t), or here while it is stopped. 0, or -1 when it could not run. */
typedef void(dir_fake_fn)(void *dir, void *arg);
int dir_fake_run(dir_fake_t *self, dir_fake_fn *fn, void *arg);

/* The transaction the directory stores under id, or NULL (none, or it failed). Free with
   sso__transaction__free_unpacked. */
Sso__Transaction *dir_fake_txn(dir_fake_t *self, const char *id);
/* How many login transactions the directory holds. -1 on error. */
int dir_fake_txns(dir_fake_t *self);
/* A test login of connection_id for organization_id bound to binder, as the admin portal
   makes one (login/dir_tests): its start handle, id and transaction id (the RelayState)
   into the buffers. 0 or -1. */
int dir_fake_test_login(dir_fake_t *self, const char *organization_id,
                        const char *connection_id, const char *binder, char handle[64],
                        char test_id[64], char txn_id[80]);
/* The result of test_id as organization_id's portal reads it (JSON text, caller frees), or
   NULL (none, or another organization's). */
char *dir_fake_test_result(dir_fake_t *self, const char *organization_id, const char *test_id);
/* Sets connection_id's status ("active", "inactive"), as its enable / disable do. 0 or -1. */
int dir_fake_connection_status(dir_fake_t *self, const char *connection_id, const char *status);
/* The signing keys the directory holds, with their private keys, or NULL. Free with
   sso__keys_list_reply__free_unpacked. */
Sso__KeysListReply *dir_fake_signing_keys(dir_fake_t *self);
/* Stores key as the directory's key_put does (the state a running deployment is in). 0 or
   -1. */
int dir_fake_signing_key_put(dir_fake_t *self, const Sso__SigningKey *key);
/* Sets the directory's SSO_KEY_ROTATION_DELAY_S. 0 or -1. */
int dir_fake_key_rotation_delay(dir_fake_t *self, int64_t seconds);
/* How long (ms) the directory still locks client_id out when it authenticates from address:
   0 when it does not, -1 on error. */
int64_t dir_fake_lockout_ms(dir_fake_t *self, const char *client_id, const char *address);
/* A new code as a completed login leaves it, through the directory's own issuing: for the
   client and https://app.test/callback, scope "openid profile", conn_saml, auth_time
   1700000000, with nonce and code_challenge ("" for none) and profile. The code (caller
   frees) or NULL. */
char *dir_fake_code(dir_fake_t *self, const char *nonce, const char *code_challenge,
                    const Sso__Profile *profile);
/* A login started at conn_saml (the seeded simulator's connection) for the client, as
   AuthorizeBegin records one: its SAML AuthnRequest's ID is "_" and its id. Its id into
   txn_id. 0 or -1. */
int dir_fake_login(dir_fake_t *self, char *txn_id, size_t size);
/* The same with the client's max_age (seconds; -1: none). */
int dir_fake_login_max_age(dir_fake_t *self, int64_t max_age, char *txn_id, size_t size);
/* A login started at conn_oidc for the client, as AuthorizeBegin records one: its OIDC state
   into state. binder is the browser's binder (the binding cookie's value; the stored hash is
   its SHA-256): a well-formed one is reused, as AuthorizeBegin reuses the browser's, else a
   new one is drawn into it. 0 or -1. */
int dir_fake_oidc_login(dir_fake_t *self, char *state, size_t state_size, char *binder,
                        size_t binder_size);
/* Stores options (JSON object text, as dir_conn_options keeps it) as connection id's. 0 or
   -1. */
int dir_fake_connection_options(dir_fake_t *self, const char *id, const char *options);
/* Stores uri as client id's initiate_login_uri. 0 or -1. */
int dir_fake_client_initiate_login_uri(dir_fake_t *self, const char *id, const char *uri);
/* Renames connection id (which changes its version, Connection.version). 0 or -1. */
int dir_fake_rename_connection(dir_fake_t *self, const char *id, const char *name);
/* Stores certs (a JSON array of PEM strings) as SAML connection id's IdP certificates, as a
   metadata refresh does (which changes its version). 0 or -1. */
int dir_fake_connection_certificates(dir_fake_t *self, const char *id, const char *certs);
/* The IdP simulator's key and certificate, whose signatures conn_saml trusts (caller frees
   both). 0 or -1. */
int dir_fake_simulator_key(dir_fake_t *self, char **key_pem, char **cert_pem);
/* The grant the directory holds for code (used or not), or NULL. Free with
   sso__code_grant__free_unpacked. */
Sso__CodeGrant *dir_fake_code_grant(dir_fake_t *self, const char *code);
/* How many events the directory holds whose reason contains text. -1 on error. */
int dir_fake_events(dir_fake_t *self, const char *text);

/* The developer dashboard's Try it, up to its callback: an admin of email signed in (its
   Cookie header "name=value" into cookie), a try started by the dashboard's handler (its
   state into state), and the code its login through conn_saml leaves (jane@example.com, name
   "Jane <b>Doe</b>") into code. 0 or -1. */
int dir_fake_dashboard_try(dir_fake_t *self, const char *email, char cookie[256],
                           char state[64], char code[128]);
void dir_fake_test(bool verbose);
#endif
