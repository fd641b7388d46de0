/* dir_fake: the real directory on a thread behind a real broker, for other services' tests. */
#include "dir_fake.h"
#include "dashboard/dir_dash_try.h"
#include "dir_rpc.h"
#include "dir_seed.h"
#include "dir_service.h"
#include "dir_testkit.h"
#include "login/dir_codes.h"
#include "login/dir_tests.h"
#include "login/dir_txn.h"
#include "vault/dir_signing.h"
#include "sso_broker.h"
#include "sso_cookie.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_oidc_discovery.h"
#include "sso_service.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include "sso_oidc_test_idp.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* What the test's thread asks of the directory's: run fn (then say so, unless quiet), or stop
   (fn NULL). */
typedef struct {
    dir_fake_fn *fn;
    void *arg;
    bool quiet;
} s_command_t;

struct dir_fake_inner_t {
    dir_testkit_t kit;
    sso_config_t config;         /* the directory service's (deadlines) */
    sso_service_t service;
    char endpoint[160];
    sso_bus_keys_t *keys;
    sso_broker_t *broker;
    pthread_t thread;
    bool serving;
    int answers_next;            /* dir_fake_stop_after's, for the thread to take */
    int answers_left;            /* when it reaches 0, the thread leaves the bus; -1: never */
    _Atomic bool left;           /* the thread left by itself (answers_left) */
    int commands[2];             /* a pipe of s_command_t */
    int done[2];                 /* one byte per command run */
};

/* ---- the directory's thread ------------------------------------------------------------ */

/* What sso_service answers a caller the service does not serve; the router refuses roles per
   operation on top. */
static zframe_t *s_refusal(const Sso__Meta *meta)
{
    char description[160];
    snprintf(description, sizeof description, "the directory service serves no request of "
                                              "that kind from %.32s",
             meta->caller && *meta->caller ? meta->caller : "an unidentified caller");
    return sso_rpc_error_frame(&sso__rpc_refusal__descriptor, SSO__RPC_ERROR__ACCESS_DENIED,
                               description, 0);
}

/* One request through the directory's own definition: its callers, its router, its batch. */
static void s_handle(dir_fake_inner_t *inner, sso_worker_t *worker, sso_job_t *job)
{
    const sso_service_def_t *def = &directory_service;
    sso_service_t *service = &inner->service;
    zframe_t *reply = NULL;
    if (!sso_service_serves(def, job->meta) || job->meta->kind != SSO__META__KIND__RPC)
        reply = s_refusal(job->meta);
    else {
        bool grouped = def->batch->begin(service) == 0;
        reply = def->rpc(service, job->meta->rpc, job->payload, job->meta);
        if (grouped && def->batch->end(service, 1) != 0) {
            zframe_destroy(&reply);
            reply = def->batch->failed(service, job);
        }
    }
    sso_worker_reply(worker, job, &reply);
}

/* Runs the command waiting on the pipe, if any: false when it says to stop. */
static bool s_command(dir_fake_inner_t *inner)
{
    struct pollfd item = {inner->commands[0], POLLIN, 0};
    s_command_t command;
    if (poll(&item, 1, 0) != 1
        || read(inner->commands[0], &command, sizeof command) != sizeof command)
        return true;
    if (command.fn)
        command.fn(inner->kit.dir, command.arg);
    return (command.quiet || write(inner->done[1], "", 1) == 1) && command.fn;
}

static void *s_serve(void *arg)
{
    dir_fake_inner_t *inner = arg;
    sso_worker_t *worker = sso_worker_new(inner->endpoint, inner->keys, "directory", 1);
    /* Commands first: a hold sent before a request is in force when the request comes. */
    while (worker && s_command(inner)) {
        sso_job_t job;
        int got = sso_worker_try_recv(worker, &job);
        if (got == -1)
            break;
        if (got == 1) {
            /* Again: a command written before this request was sent is in force for it. */
            bool go_on = s_command(inner);
            s_handle(inner, worker, &job);
            if (!go_on || (inner->answers_left > 0 && --inner->answers_left == 0))
                break;
            continue;
        }
        struct pollfd items[2] = {{sso_worker_fd(worker), POLLIN, 0},
                                  {inner->commands[0], POLLIN, 0}};
        long wait = (long) (sso_worker_wake_at(worker) - sso_now_ms());
        if (poll(items, 2, wait < 0 ? 0 : (int) (wait > 1000 ? 1000 : wait)) == -1
            && errno != EINTR)
            break;
    }
    /* Left before the worker says DISCONNECT: a caller that sees the directory gone (a 503)
       then sees left, and does not send a command no one will read. */
    atomic_store(&inner->left, true);
    sso_worker_destroy(&worker);
    return NULL;
}

static int s_send(dir_fake_inner_t *inner, dir_fake_fn *fn, void *arg, bool quiet)
{
    s_command_t command = {fn, arg, quiet};
    if (write(inner->commands[1], &command, sizeof command) != sizeof command)
        return -1;
    if (quiet)
        return 0;
    char byte;
    struct pollfd item = {inner->done[0], POLLIN, 0};
    /* Bounded: a broken test fails, it does not hang. */
    return poll(&item, 1, 30000) == 1 && read(inner->done[0], &byte, 1) == 1 ? 0 : -1;
}

int dir_fake_start(dir_fake_t *self)
{
    dir_fake_inner_t *inner = self->inner;
    if (inner->serving)
        return 0;
    inner->answers_left = -1;
    atomic_store(&inner->left, false);
    if (pthread_create(&inner->thread, NULL, s_serve, inner) != 0)
        return -1;
    inner->serving = true;
    /* Bounded polls, long enough for a loaded machine (a dead peer is seen within 4 heartbeats). */
    for (int i = 0; i < 1000 && sso_broker_instances(inner->broker, "directory") == 0; i++)
        zclock_sleep(10);
    return sso_broker_instances(inner->broker, "directory") == 1 ? 0 : -1;
}

int dir_fake_stop(dir_fake_t *self)
{
    dir_fake_inner_t *inner = self->inner;
    if (!inner->serving)
        return 0;
    int rc = atomic_load(&inner->left) ? 0 : s_send(inner, NULL, NULL, false);
    pthread_join(inner->thread, NULL);
    inner->serving = false;
    /* The worker said DISCONNECT; the broker forgets it before the next call is made. */
    for (int i = 0; i < 1000 && sso_broker_instances(inner->broker, "directory") != 0; i++)
        zclock_sleep(10);
    return rc == 0 && sso_broker_instances(inner->broker, "directory") == 0 ? 0 : -1;
}

static void s_sleep(void *dir, void *arg)
{
    (void) dir;
    zclock_sleep((int) (intptr_t) arg);
}

static void s_answers(void *dir, void *arg)
{
    (void) dir;
    dir_fake_inner_t *inner = arg;
    inner->answers_left = inner->answers_next;
}

int dir_fake_stop_after(dir_fake_t *self, int answers)
{
    if (!self->inner->serving || answers < 1)
        return -1;
    self->inner->answers_next = answers;
    return s_send(self->inner, s_answers, self->inner, false);
}

void dir_fake_hold(dir_fake_t *self, int ms)
{
    if (self->inner->serving)
        s_send(self->inner, s_sleep, (void *) (intptr_t) ms, true);
}

int dir_fake_run(dir_fake_t *self, dir_fake_fn *fn, void *arg)
{
    if (!fn)
        return -1;
    if (self->inner->serving)
        return s_send(self->inner, fn, arg, false);
    fn(self->inner->kit.dir, arg);
    return 0;
}

/* ---- reading the directory's state ----------------------------------------------------- */

typedef struct {
    dir_testkit_t *kit;
    const char *id;
    Sso__Transaction *txn;
} s_txn_read_t;

static void s_txn_read(void *dir, void *arg)
{
    (void) dir;
    s_txn_read_t *read = arg;
    dir_error_t err = {0};
    read->txn = dir_txn_get(read->kit->dir, read->id, &err);
}

Sso__Transaction *dir_fake_txn(dir_fake_t *self, const char *id)
{
    s_txn_read_t read = {&self->inner->kit, id, NULL};
    if (!id || dir_fake_run(self, s_txn_read, &read) != 0)
        return NULL;
    return read.txn;
}

typedef struct {
    const char *text;
    int64_t count;
} s_events_read_t;

static void s_events_read(void *dir, void *arg)
{
    s_events_read_t *read = arg;
    read->count = dir_db_int(((dir_t *) dir)->db,
                             "SELECT count(*) FROM login_events WHERE instr(reason, ?) > 0", "s",
                             read->text);
}

int dir_fake_events(dir_fake_t *self, const char *text)
{
    s_events_read_t read = {text, -1};
    if (dir_fake_run(self, s_events_read, &read) != 0)
        return -1;
    return (int) read.count;
}

static void s_txns_read(void *dir, void *arg)
{
    *(int64_t *) arg = dir_db_int(((dir_t *) dir)->db, "SELECT count(*) FROM login_transactions",
                                  NULL);
}

int dir_fake_txns(dir_fake_t *self)
{
    int64_t count = -1;
    if (dir_fake_run(self, s_txns_read, &count) != 0)
        return -1;
    return (int) count;
}

typedef struct {
    const char *org, *conn, *binder;
    char *handle, *test_id, *txn_id;
    int rc;
} s_test_login_t;

static void s_test_login(void *dir, void *arg)
{
    s_test_login_t *t = arg;
    dir_error_t err = {0};
    char *id = NULL, *handle = NULL;
    t->rc = dir_tests_create(dir, t->org, t->conn, t->binder, &id, &handle, &err);
    dir_db_stmt_t *stmt = t->rc == 0 ? dir_db_query(((dir_t *) dir)->db, "SELECT txn_id FROM "
                                                    "login_tests WHERE id = ?", "s", id)
                                     : NULL;
    if (stmt && dir_db_step(stmt) == DIR_DB_ROW) {
        snprintf(t->handle, 64, "%s", handle);
        snprintf(t->test_id, 64, "%s", id);
        snprintf(t->txn_id, 80, "%s", dir_db_text(stmt, 0));
    }
    else {
        fprintf(stderr, "dir_tests_create: %s\n", err.description);
        t->rc = -1;
    }
    dir_db_release(stmt);
    free(id);
    free(handle);
}

int dir_fake_test_login(dir_fake_t *self, const char *organization_id,
                        const char *connection_id, const char *binder, char handle[64],
                        char test_id[64], char txn_id[80])
{
    s_test_login_t t = {organization_id, connection_id, binder, handle, test_id, txn_id, -1};
    if (dir_fake_run(self, s_test_login, &t) != 0)
        return -1;
    return t.rc;
}

typedef struct {
    const char *org, *id;
    char *text;
} s_test_result_t;

static void s_test_result(void *dir, void *arg)
{
    s_test_result_t *r = arg;
    dir_error_t err = {0};
    json_t *json = dir_tests_result(dir, r->org, r->id, &err);
    r->text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
}

char *dir_fake_test_result(dir_fake_t *self, const char *organization_id, const char *test_id)
{
    s_test_result_t r = {organization_id, test_id, NULL};
    if (dir_fake_run(self, s_test_result, &r) != 0)
        return NULL;
    return r.text;
}

typedef struct {
    const char *id, *status;
    int rc;
} s_status_t;

static void s_status(void *dir, void *arg)
{
    s_status_t *s = arg;
    int changes = 0;
    s->rc = dir_db_run(((dir_t *) dir)->db, &changes, "UPDATE connections SET status = ? WHERE "
                                                      "id = ?", "ss", s->status, s->id)
                        == DIR_DB_OK
                    && changes == 1
                ? 0
                : -1;
}

int dir_fake_connection_status(dir_fake_t *self, const char *connection_id, const char *status)
{
    s_status_t s = {connection_id, status, -1};
    if (dir_fake_run(self, s_status, &s) != 0)
        return -1;
    return s.rc;
}

static void s_keys_read(void *dir, void *arg)
{
    *(Sso__KeysListReply **) arg = dir_signing_list(dir, true);
}

Sso__KeysListReply *dir_fake_signing_keys(dir_fake_t *self)
{
    Sso__KeysListReply *keys = NULL;
    if (dir_fake_run(self, s_keys_read, &keys) != 0)
        return NULL;
    return keys;
}

typedef struct {
    const Sso__SigningKey *key;
    int rc;
} s_key_write_t;

static void s_key_write(void *dir, void *arg)
{
    s_key_write_t *write = arg;
    dir_error_t err;
    write->rc = dir_signing_put(dir, write->key, false, &err); /* a write of its own */
}

int dir_fake_signing_key_put(dir_fake_t *self, const Sso__SigningKey *key)
{
    s_key_write_t write = {key, -1};
    return dir_fake_run(self, s_key_write, &write) == 0 ? write.rc : -1;
}

static void s_rotation_delay(void *dir, void *arg)
{
    ((dir_t *) dir)->key_rotation_delay_s = *(int64_t *) arg;
}

int dir_fake_key_rotation_delay(dir_fake_t *self, int64_t seconds)
{
    return dir_fake_run(self, s_rotation_delay, &seconds);
}

typedef struct {
    const char *client_id;
    const char *address;
    int64_t wait_ms;
} s_lock_read_t;

static void s_lock_read(void *dir, void *arg)
{
    s_lock_read_t *read = arg;
    char key[DIR_AUTH_LIMIT_KEY_MAX];
    if (dir_auth_limit_client_key(read->client_id, read->address, key) == 0)
        read->wait_ms = dir_auth_limit_wait_ms(((dir_t *) dir)->auth_limit, key, sso_now_ms());
}

int64_t dir_fake_lockout_ms(dir_fake_t *self, const char *client_id, const char *address)
{
    s_lock_read_t read = {client_id, address, -1};
    return dir_fake_run(self, s_lock_read, &read) == 0 ? read.wait_ms : -1;
}

typedef struct {
    dir_code_t code;
    char *value;
} s_code_make_t;

/* Inside a write of its own, as the login that issues a code would be. */
static void s_code_make(void *dir, void *arg)
{
    s_code_make_t *make = arg;
    dir_db_t *db = ((dir_t *) dir)->db;
    if (dir_db_begin(db) != 0)
        return;
    if (dir_codes_issue(dir, &make->code, &make->value) != 0 || dir_db_commit(db) != 0) {
        dir_db_rollback(db);
        free(make->value);
        make->value = NULL;
    }
}

char *dir_fake_code(dir_fake_t *self, const char *nonce, const char *code_challenge,
                    const Sso__Profile *profile)
{
    s_code_make_t make = {.code = {.client_id = self->client_id,
                                   .redirect_uri = "https://app.test/callback",
                                   .scope = "openid profile",
                                   .nonce = nonce,
                                   .code_challenge = code_challenge,
                                   .organization_id = self->org_saml,
                                   .connection_id = self->conn_saml,
                                   .connection_type = "saml",
                                   .profile = profile,
                                   .auth_time = 1700000000}};
    if (dir_fake_run(self, s_code_make, &make) != 0) {
        free(make.value);
        return NULL;
    }
    return make.value;
}

typedef struct {
    dir_testkit_t *kit;
    const char *rpc;
    const ProtobufCMessage *request;
    ProtobufCMessage *reply;
} s_rpc_t;

static void s_rpc(void *dir, void *arg)
{
    (void) dir;
    s_rpc_t *rpc = arg;
    rpc->reply = dir_testkit_rpc(rpc->kit, rpc->rpc, rpc->request);
}

/* request through the directory's router on its thread, as operation rpc from a role that may
   send it; the reply if it has no error, else NULL. */
static void *s_call(dir_fake_t *self, const char *rpc, const ProtobufCMessage *request)
{
    s_rpc_t call = {&self->inner->kit, rpc, request, NULL};
    if (dir_fake_run(self, s_rpc, &call) != 0 || (call.reply && *dir_testkit_error(call.reply))) {
        if (call.reply)
            fprintf(stderr, "dir_fake: %s (%s)\n", dir_testkit_error(call.reply),
                    dir_testkit_error_description(call.reply));
        protobuf_c_message_free_unpacked(call.reply, NULL);
        return NULL;
    }
    return call.reply;
}

typedef struct {
    dir_testkit_t *kit;
    const Sso__Transaction *txn;
    Sso__Transaction *stored;
} s_txn_make_t;

static void s_txn_make(void *dir, void *arg)
{
    (void) dir;
    s_txn_make_t *make = arg;
    dir_error_t err = {0};
    make->stored = dir_txn_create(make->kit->dir, make->txn, &err);
    if (!make->stored)
        fprintf(stderr, "dir_fake: %s (%s)\n", err.code ? err.code : "?", err.description);
}

/* A login of the client at connection (of organization), open for five minutes. */
static Sso__Transaction s_txn_of(dir_fake_t *self, const char *id, const char *connection,
                                 const char *organization)
{
    int64_t now = sso_now_ms() / 1000;
    Sso__Transaction txn = SSO__TRANSACTION__INIT;
    txn.id = (char *) id;
    txn.client_id = self->client_id;
    txn.redirect_uri = "https://app.test/callback";
    txn.state = "s1";
    txn.scope = "openid";
    txn.connection_id = (char *) connection;
    txn.organization_id = (char *) organization;
    txn.created_at = now;
    txn.expires_at = now + 300;
    txn.max_age = -1;
    return txn;
}

int dir_fake_login(dir_fake_t *self, char *txn_id, size_t size)
{
    return dir_fake_login_max_age(self, -1, txn_id, size);
}

int dir_fake_login_max_age(dir_fake_t *self, int64_t max_age, char *txn_id, size_t size)
{
    char *id = sso_random_token(24);
    Sso__Transaction txn = s_txn_of(self, id, self->conn_saml, self->org_saml);
    txn.max_age = max_age;
    txn.force_login = max_age >= 0;
    char request_id[64] = "";
    snprintf(request_id, sizeof request_id, "_%s", id ? id : "");
    txn.saml_request_id = request_id;
    s_txn_make_t make = {&self->inner->kit, &txn, NULL};
    bool made = id && dir_fake_run(self, s_txn_make, &make) == 0 && make.stored;
    snprintf(txn_id, size, "%s", made ? id : "");
    sso__transaction__free_unpacked(make.stored, NULL);
    free(id);
    return *txn_id ? 0 : -1;
}

int dir_fake_oidc_login(dir_fake_t *self, char *state, size_t state_size, char *binder,
                        size_t binder_size)
{
    char *id = sso_random_token(24), *handle = sso_random_token(24);
    /* The browser's binder when it has one (its next login reuses it), else a new one. */
    char *cookie = sso_cookie_token_ok(binder) ? strdup(binder)
                                               : sso_random_token(SSO_COOKIE_TOKEN_BYTES);
    char *verifier = sso_random_token(32);
    char hash[65] = "";
    Sso__Transaction txn = s_txn_of(self, id, self->conn_oidc, self->org_oidc);
    txn.oidc_state = handle;
    txn.oidc_nonce = "n-oidc";
    txn.oidc_code_verifier = verifier;
    if (cookie)
        sso_sha256_hex(cookie, strlen(cookie), hash);
    txn.browser_binding_hash = hash;
    s_txn_make_t make = {&self->inner->kit, &txn, NULL};
    bool made = id && handle && cookie && verifier && dir_fake_run(self, s_txn_make, &make) == 0
                && make.stored;
    snprintf(state, state_size, "%s", made ? handle : "");
    snprintf(binder, binder_size, "%s", made ? cookie : "");
    sso__transaction__free_unpacked(make.stored, NULL);
    free(id);
    free(handle);
    free(cookie);
    free(verifier);
    return made ? 0 : -1;
}

/* Sets one column of connection id (and bumps its version). */
typedef struct {
    const char *id, *sql, *value;
    int rc;
} s_connection_set_t;

static void s_connection_set(void *dir, void *arg)
{
    s_connection_set_t *set = arg;
    int changes = 0;
    set->rc = dir_db_run(((dir_t *) dir)->db, &changes, set->sql, "ss", set->value, set->id)
                          == DIR_DB_OK
                      && changes == 1
                  ? 0
                  : -1;
}

int dir_fake_connection_options(dir_fake_t *self, const char *id, const char *options)
{
    s_connection_set_t set = {id, "UPDATE connections SET options = ?, updated_at = "
                                  "updated_at + 1 WHERE id = ?", options, -1};
    return dir_fake_run(self, s_connection_set, &set) == 0 ? set.rc : -1;
}

int dir_fake_client_initiate_login_uri(dir_fake_t *self, const char *id, const char *uri)
{
    s_connection_set_t set = {id, "UPDATE clients SET initiate_login_uri = ? WHERE id = ?", uri,
                              -1};
    return dir_fake_run(self, s_connection_set, &set) == 0 ? set.rc : -1;
}

int dir_fake_rename_connection(dir_fake_t *self, const char *id, const char *name)
{
    s_connection_set_t set = {id, "UPDATE connections SET name = ?, updated_at = updated_at + 1 "
                                  "WHERE id = ?", name, -1};
    return dir_fake_run(self, s_connection_set, &set) == 0 ? set.rc : -1;
}

int dir_fake_connection_certificates(dir_fake_t *self, const char *id, const char *certs)
{
    s_connection_set_t set = {id, "UPDATE connections SET saml_idp_certificates = ?, "
                                  "updated_at = updated_at + 1 WHERE id = ?", certs, -1};
    return dir_fake_run(self, s_connection_set, &set) == 0 ? set.rc : -1;
}

int dir_fake_simulator_key(dir_fake_t *self, char **key_pem, char **cert_pem)
{
    Sso__SimulatorKeyRequest get = SSO__SIMULATOR_KEY_REQUEST__INIT;
    Sso__SimulatorKeyReply *reply = s_call(self, "SimulatorReads.SimulatorKey", &get.base);
    *key_pem = reply ? strdup(reply->private_key_pem) : NULL;
    *cert_pem = reply ? strdup(reply->certificate_pem) : NULL;
    sso__simulator_key_reply__free_unpacked(reply, NULL);
    return *key_pem && *cert_pem ? 0 : -1;
}

typedef struct {
    char hash[65];
    Sso__CodeGrant *grant;
} s_grant_read_t;

static void s_grant_read(void *dir, void *arg)
{
    s_grant_read_t *read = arg;
    read->grant = dir_codes_grant(dir, read->hash);
}

Sso__CodeGrant *dir_fake_code_grant(dir_fake_t *self, const char *code)
{
    s_grant_read_t read = {.grant = NULL};
    if (!code)
        return NULL;
    sso_sha256_hex(code, strlen(code), read.hash);
    return dir_fake_run(self, s_grant_read, &read) == 0 ? read.grant : NULL;
}

/* ---- setting up ------------------------------------------------------------------------ */

/* POSTs body to target through the management API; the id of what was made into id. */
static int s_make(dir_fake_t *self, const char *target, const char *body, char *id, size_t size)
{
    char made[DIR_FAKE_ID_MAX] = "";
    int status = dir_testkit_field(&self->inner->kit, "POST", target, body, "id", made,
                                   sizeof made);
    if (id)
        snprintf(id, size, "%s", made);
    if (status != 201)
        fprintf(stderr, "dir_fake: POST %s: %d\n", target, status);
    return status == 201 && *made ? 0 : -1;
}

/* An organization with a domain (none when NULL). */
static int s_org(dir_fake_t *self, const char *name, const char *domain, char *id, size_t size)
{
    char body[200], target[200];
    snprintf(body, sizeof body, "{\"display_name\":\"%s\"}", name);
    if (s_make(self, "/api/v1/organizations", body, id, size) != 0)
        return -1;
    if (!domain)
        return 0;
    snprintf(target, sizeof target, "/api/v1/organizations/%s/domains", id);
    snprintf(body, sizeof body, "{\"domain\":\"%s\"}", domain);
    return s_make(self, target, body, NULL, 0);
}

/* A connection of org from body, then given status (the API's own activation would check the
   IdP on the network). */
static int s_connection(dir_fake_t *self, const char *org, const char *body, const char *status,
                        char *id, size_t size)
{
    char target[200];
    snprintf(target, sizeof target, "/api/v1/organizations/%s/connections", org);
    if (s_make(self, target, body, id, size) != 0)
        return -1;
    return dir_db_run(self->inner->kit.dir->db, NULL,
                      "UPDATE connections SET status = ? WHERE id = ?", "ss", status, id)
                   == DIR_DB_OK
               ? 0
               : -1;
}

/* A client with the fake's redirect URIs: its id, and its secret when secret is given. */
static int s_client(dir_fake_t *self, char *id, char *secret, size_t secret_size)
{
    json_t *json = NULL;
    int status = dir_testkit_call(&self->inner->kit, "POST", "/api/v1/clients",
                                  "{\"name\":\"App\",\"redirect_uris\":["
                                  "\"https://app.test/callback\",\"https://app.test/cb?x=1\"]}",
                                  &json);
    snprintf(id, DIR_FAKE_ID_MAX, "%s", dir_testkit_str(json, "client_id"));
    if (secret)
        snprintf(secret, secret_size, "%s", dir_testkit_str(json, "client_secret"));
    json_decref(json);
    return status == 201 && *id ? 0 : -1;
}

/* The bootstrap admin client's secret, from the credentials file the directory wrote. */
static int s_admin(dir_fake_t *self)
{
    dir_testkit_t *kit = &self->inner->kit;
    char path[sizeof kit->data_dir + 32], line[256];
    snprintf(path, sizeof path, "%s/admin-credentials", kit->data_dir);
    snprintf(self->admin_id, sizeof self->admin_id, "%s", kit->admin_id);
    snprintf(self->mgmt_token, sizeof self->mgmt_token, "%s", kit->token);
    FILE *file = fopen(path, "r");
    while (file && fgets(line, sizeof line, file))
        if (!strncmp(line, "SSO_ADMIN_CLIENT_SECRET=", 24))
            snprintf(self->admin_secret, sizeof self->admin_secret, "%.*s",
                     (int) strcspn(line + 24, "\n"), line + 24);
    if (file)
        fclose(file);
    return *self->admin_secret && *self->admin_id && *self->mgmt_token ? 0 : -1;
}

static int s_seed(dir_fake_t *self)
{
    snprintf(self->org_saml, sizeof self->org_saml, "%s", DIR_SEED_ORG_ID);
    snprintf(self->conn_saml, sizeof self->conn_saml, "%s", DIR_SEED_CONN_ID);
    if (s_admin(self) != 0
        || s_client(self, self->client_id, self->client_secret, sizeof self->client_secret) != 0
        || s_client(self, self->locked_id, NULL, 0) != 0)
        return -1;
    /* The connections made here are OIDC ones: they need no key pair of their own (a SAML
       one makes an RSA key, which would make every test that opens a fake slow). Their
       discovery, checked when they are made, comes from a stand-in provider on loopback. */
    sso_oidc_test_idp_t *idp = sso_oidc_test_idp_new();
    char issuer[128], oidc_body[300];
    if (!idp || sso_oidc_test_idp_provider(idp, "/idp", issuer, sizeof issuer) != 0) {
        sso_oidc_test_idp_destroy(&idp);
        return -1;
    }
    snprintf(oidc_body, sizeof oidc_body, "{\"type\":\"oidc\",\"oidc\":{\"issuer\":\"%s\","
                                          "\"client_id\":\"c\",\"client_secret\":\"s\"}}", issuer);
    self->inner->kit.dir->allow_private_upstreams = true;
    char unused[DIR_FAKE_ID_MAX];
    int rc = s_org(self, "Two", NULL, self->org_two, sizeof self->org_two) == 0
                     && s_connection(self, self->org_two, oidc_body, "active", unused,
                                     sizeof unused) == 0
                     && s_connection(self, self->org_two, oidc_body, "active", unused,
                                     sizeof unused) == 0
                     && s_org(self, "OIDC", "oidc.example", self->org_oidc,
                              sizeof self->org_oidc) == 0
                     && s_connection(self, self->org_oidc, oidc_body, "active", self->conn_oidc,
                                     sizeof self->conn_oidc) == 0
                     && s_org(self, "Off", "inactive.example", self->org_off,
                              sizeof self->org_off) == 0
                     && s_connection(self, self->org_off, oidc_body, "inactive", self->conn_off,
                                     sizeof self->conn_off) == 0
                 ? 0
                 : -1;
    self->inner->kit.dir->allow_private_upstreams = false;
    sso_oidc_test_idp_destroy(&idp);
    return rc;
}

dir_fake_t *dir_fake_new(void)
{
    dir_fake_t *self = calloc(1, sizeof *self);
    dir_fake_inner_t *inner = self ? calloc(1, sizeof *inner) : NULL;
    if (!inner) {
        free(self);
        SSO_CHECK(!"dir_fake: out of memory");
        return NULL;
    }
    self->inner = inner;
    inner->commands[0] = inner->commands[1] = inner->done[0] = inner->done[1] = -1;
    if (dir_testkit_open_seeded(&inner->kit) != 0) {
        free(inner);
        free(self);
        return NULL;
    }
    inner->config = inner->kit.config;
    inner->config.request_timeout_ms = 2000;
    inner->service = (sso_service_t){.config = &inner->config, .instance = "dir_fake:1",
                                     .state = inner->kit.dir};
    /* The keys and the endpoint beside the data dir, in the temporary dir it removes. */
    char base[sizeof inner->kit.data_dir], dir[sizeof base + 8], why[600] = "";
    snprintf(base, sizeof base, "%s", inner->kit.data_dir);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    snprintf(dir, sizeof dir, "%s/bus", base);
    snprintf(inner->endpoint, sizeof inner->endpoint, "ipc://%s/bus.sock", base);
    bool ready = pipe2(inner->commands, O_CLOEXEC) == 0 && pipe2(inner->done, O_CLOEXEC) == 0
                 && s_seed(self) == 0
                 && (inner->keys = sso_bus_keys_make(dir, NULL, true, why, sizeof why)) != NULL
                 && (inner->broker = sso_broker_new(inner->endpoint, inner->keys)) != NULL
                 && sso_broker_start(inner->broker) == 0 && dir_fake_start(self) == 0;
    if (!ready) {
        fprintf(stderr, "dir_fake: could not start%s%s\n", *why ? ": " : "", why);
        SSO_CHECK(!"dir_fake");
        dir_fake_destroy(&self);
    }
    return self;
}

void dir_fake_destroy(dir_fake_t **self_p)
{
    dir_fake_t *self = *self_p;
    if (!self)
        return;
    dir_fake_inner_t *inner = self->inner;
    dir_fake_stop(self);
    sso_broker_destroy(&inner->broker);
    sso_bus_keys_destroy(&inner->keys);
    for (int i = 0; i < 2; i++) {
        if (inner->commands[i] != -1)
            close(inner->commands[i]);
        if (inner->done[i] != -1)
            close(inner->done[i]);
    }
    dir_testkit_close(&inner->kit);
    free(inner);
    free(self);
    *self_p = NULL;
}

const char *dir_fake_endpoint(const dir_fake_t *self)
{
    return self->inner->endpoint;
}

int dir_fake_instances(const dir_fake_t *self, const char *service)
{
    return sso_broker_instances(self->inner->broker, service);
}

const sso_bus_keys_t *dir_fake_keys(const dir_fake_t *self)
{
    return self->inner->keys;
}

/* ---- self-test ------------------------------------------------------------------------- */

/* A client of the bus as role; the directory's answer to LoginContext for an unknown
   transaction. */
static int s_test_call(dir_fake_t *fake, const char *role, Sso__LoginContextReply **reply_p)
{
    sso_client_t *client = sso_client_new(dir_fake_endpoint(fake), dir_fake_keys(fake), role,
                                          NULL);
    Sso__LoginContextRequest get = SSO__LOGIN_CONTEXT_REQUEST__INIT;
    get.txn_id = "txn-unknown-000000001";
    zframe_t *payload = sso_frame_pack(&get.base), *reply = NULL;
    int status = client ? (int) sso_client_call(client, "directory", "UpstreamReads.LoginContext",
                                                true, 1000, &payload, &reply)
                        : -1;
    zframe_destroy(&payload);
    *reply_p = reply ? sso__login_context_reply__unpack(NULL, zframe_size(reply),
                                                         zframe_data(reply))
                     : NULL;
    zframe_destroy(&reply);
    sso_client_destroy(&client);
    return status;
}

typedef struct {
    const char *email;
    char *cookie, *state, *code;
    int rc;
} s_try_t;

/* An admin signed in, a try started through the dashboard's own handler, and the code its
   login leaves, on the directory's thread. */
static void s_try(void *dir_arg, void *arg)
{
    dir_t *dir = dir_arg;
    s_try_t *t = arg;
    char admin_id[64];
    snprintf(admin_id, sizeof admin_id, "adm_%.40s", t->email);
    for (char *p = admin_id; *p; p++)
        if (!isalnum((unsigned char) *p) && *p != '_')
            *p = '_';
    dir_dash_admin_t admin;
    snprintf(admin.id, sizeof admin.id, "%s", admin_id);
    snprintf(admin.email, sizeof admin.email, "%s", t->email);
    dir_dash_session_t session;
    char name[64];
    if (dir_db_run(dir->db, NULL, "INSERT OR IGNORE INTO dashboard_admins (id, email, "
                                  "created_at) VALUES (?, ?, ?)", "ssi", admin_id, t->email,
                   dir_now()) != DIR_DB_OK
        || dir_dash_session_start(dir, &admin, &session) != 0
        || sso_cookie_host_name(dir->public_url, dir_dash_app.cookie, name, sizeof name) != 0)
        return;
    snprintf(t->cookie, 256, "%s=%s", name, session.web.secret);
    Sso__HttpRequest request = SSO__HTTP_REQUEST__INIT;
    request.method = "POST";
    request.path = "/dashboard/api/try";
    zframe_t *frame = dir_dash_try_http(dir, &request, &session);
    Sso__HttpResponse *response = frame ? sso__http_response__unpack(NULL, zframe_size(frame),
                                                                       zframe_data(frame))
                                        : NULL;
    zframe_destroy(&frame);
    json_t *json = response && response->status == 201
                       ? json_loadb((const char *) response->body.data, response->body.len, 0,
                                    NULL)
                       : NULL;
    sso__http_response__free_unpacked(response, NULL);
    const char *url = json_string_value(json_object_get(json, "authorize_url"));
    const char *query = url ? strchr(url, '?') : NULL;
    zhashx_t *params = query ? sso_form_parse(query + 1, strlen(query + 1)) : NULL;
    json_decref(json);
    const char *state = params ? zhashx_lookup(params, "state") : NULL;
    if (state) {
        Sso__Profile profile = SSO__PROFILE__INIT;
        profile.subject = "jane@example.com";
        profile.email = "jane@example.com";
        profile.email_verified = true;
        profile.name = "Jane <b>Doe</b>";
        char callback[600];
        snprintf(callback, sizeof callback, "%s" DIR_SEED_TRY_CALLBACK, dir->public_url);
        s_code_make_t make = {{.client_id = DIR_SEED_TRY_CLIENT_ID,
                               .redirect_uri = callback,
                               .scope = "openid email profile",
                               .nonce = zhashx_lookup(params, "nonce"),
                               .code_challenge = zhashx_lookup(params, "code_challenge"),
                               .organization_id = DIR_SEED_ORG_ID,
                               .connection_id = DIR_SEED_CONN_ID,
                               .connection_type = "saml",
                               .profile = &profile,
                               .auth_time = dir_now()},
                              NULL};
        s_code_make(dir, &make);
        if (make.value) {
            snprintf(t->state, 64, "%s", state);
            snprintf(t->code, 128, "%s", make.value);
            free(make.value);
            t->rc = 0;
        }
    }
    zhashx_destroy(&params);
}

int dir_fake_dashboard_try(dir_fake_t *self, const char *email, char cookie[256],
                           char state[64], char code[128])
{
    s_try_t t = {email, cookie, state, code, -1};
    if (dir_fake_run(self, s_try, &t) != 0)
        return -1;
    return t.rc;
}

void dir_fake_test(bool verbose)
{
    (void) verbose;
    dir_fake_t *fake = dir_fake_new();
    if (!fake)
        return;
    /* The broker stamps the caller's role: the router answers the saml service's LoginContext, and
       refuses the same request from the token service (it does not serve that role). */
    Sso__LoginContextReply *reply = NULL;
    SSO_CHECK(s_test_call(fake, "saml", &reply) == 0 && reply
              && reply->error == SSO__RPC_ERROR__NOT_FOUND);
    sso__login_context_reply__free_unpacked(reply, NULL);
    SSO_CHECK(s_test_call(fake, "token", &reply) == 0 && reply
              && reply->error == SSO__RPC_ERROR__ACCESS_DENIED);
    sso__login_context_reply__free_unpacked(reply, NULL);
    SSO_CHECK(dir_fake_txn(fake, "txn-unknown-000000001") == NULL);
    SSO_CHECK(*fake->client_id && *fake->conn_oidc && *fake->conn_off && *fake->org_two);
    /* Stopped, the directory is off the bus; started again, it serves again. */
    SSO_CHECK(dir_fake_stop(fake) == 0);
    SSO_CHECK(s_test_call(fake, "saml", &reply) == SSO_CALL_NO_SERVICE && !reply);
    SSO_CHECK(dir_fake_start(fake) == 0);
    SSO_CHECK(s_test_call(fake, "saml", &reply) == 0 && reply);
    sso__login_context_reply__free_unpacked(reply, NULL);
    /* Leaving after one more answer: that one is served, the next is not. */
    SSO_CHECK(dir_fake_stop_after(fake, 1) == 0);
    SSO_CHECK(s_test_call(fake, "saml", &reply) == 0 && reply);
    sso__login_context_reply__free_unpacked(reply, NULL);
    SSO_CHECK(s_test_call(fake, "saml", &reply) == SSO_CALL_NO_SERVICE && !reply);
    SSO_CHECK(dir_fake_stop(fake) == 0 && dir_fake_start(fake) == 0);
    /* Held past the deadline: 504. */
    dir_fake_hold(fake, 1300);
    SSO_CHECK(s_test_call(fake, "saml", &reply) == SSO_CALL_TIMEOUT && !reply);
    SSO_CHECK(dir_fake_events(fake, "no such reason anywhere") == 0);
    char data_dir[sizeof fake->inner->kit.data_dir];
    snprintf(data_dir, sizeof data_dir, "%s", fake->inner->kit.data_dir);
    dir_fake_destroy(&fake);
    SSO_CHECK(fake == NULL && access(data_dir, F_OK) != 0);
}
