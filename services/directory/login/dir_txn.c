/* dir_txn: login transactions, login_complete and login_fail. */
#include "login/dir_txn.h"
#include "login/dir_codes.h"
#include "login/dir_events.h"
#include "login/dir_last_login.h"
#include "login/dir_login.h"
#include "login/dir_replay.h"
#include "login/dir_tests.h"
#include "scim/dir_scim_users.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_rpc.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <strings.h>

#define S_ID_MIN 16
#define S_ID_MAX 80   /* the SAML RelayState limit */
#define S_REF_MAX 128 /* client, connection and organization ids */
#define S_URI_MAX 2048
#define S_STATE_MAX 8192
#define S_NONCE_MAX 1024
#define S_SCOPE_MAX 1024
#define S_HINT_MAX 320
#define S_UPSTREAM_MAX 512
#define S_SKEW 60

#define S_COLUMNS                                                                              \
    "id, client_id, redirect_uri, state, nonce, scope, code_challenge, login_hint, max_age, "  \
    "organization_id, connection_id, upstream_request_id, upstream_nonce, "                   \
    "upstream_code_verifier_sealed, created_at, expires_at, completed_at, force_login, "       \
    "oidc_state, browser_binding_hash"

enum {
    T_ID, T_CLIENT, T_REDIRECT, T_STATE, T_NONCE, T_SCOPE, T_CHALLENGE, T_HINT, T_MAX_AGE, T_ORG,
    T_CONN, T_SAML_ID, T_OIDC_NONCE, T_VERIFIER, T_CREATED, T_EXPIRES, T_COMPLETED, T_FORCE,
    T_OIDC_STATE, T_BINDING
};

static void s_verifier_aad(char *out, size_t size, const char *id)
{
    snprintf(out, size, "login_transaction:%s:oidc_code_verifier", id);
}

/* Loads transaction id: 1 with *out (heap) and *consumed, 0 when there is none, -1 on error. */
static int s_load(dir_t *dir, const char *id, Sso__Transaction **out, bool *consumed)
{
    *out = NULL;
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT " S_COLUMNS " FROM login_transactions "
                                                "WHERE id = ?", "s", id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    Sso__Transaction *txn = step == DIR_DB_ROW ? malloc(sizeof *txn) : NULL;
    if (txn) {
        sso__transaction__init(txn);
        txn->id = dir_rpc_dup(dir_db_text(stmt, T_ID));
        txn->client_id = dir_rpc_dup(dir_db_text(stmt, T_CLIENT));
        txn->redirect_uri = dir_rpc_dup(dir_db_text(stmt, T_REDIRECT));
        txn->state = dir_rpc_dup(dir_db_text(stmt, T_STATE));
        txn->nonce = dir_rpc_dup(dir_db_text(stmt, T_NONCE));
        txn->code_challenge = dir_rpc_dup(dir_db_text(stmt, T_CHALLENGE));
        txn->scope = dir_rpc_dup(dir_db_text(stmt, T_SCOPE));
        txn->connection_id = dir_rpc_dup(dir_db_text(stmt, T_CONN));
        txn->organization_id = dir_rpc_dup(dir_db_text(stmt, T_ORG));
        txn->created_at = dir_db_int64(stmt, T_CREATED);
        txn->expires_at = dir_db_int64(stmt, T_EXPIRES);
        txn->force_login = dir_db_int64(stmt, T_FORCE) != 0;
        txn->max_age = dir_db_is_null(stmt, T_MAX_AGE)
                           ? -1
                           : dir_db_int64(stmt, T_MAX_AGE);
        txn->login_hint = dir_rpc_dup(dir_db_text(stmt, T_HINT));
        txn->saml_request_id = dir_rpc_dup(dir_db_text(stmt, T_SAML_ID));
        txn->oidc_state = dir_rpc_dup(dir_db_text(stmt, T_OIDC_STATE));
        txn->oidc_nonce = dir_rpc_dup(dir_db_text(stmt, T_OIDC_NONCE));
        txn->browser_binding_hash = dir_rpc_dup(dir_db_text(stmt, T_BINDING));
        if (!dir_db_is_null(stmt, T_VERIFIER)) {
            char aad[160];
            s_verifier_aad(aad, sizeof aad, id);
            size_t sealed_len;
            const void *sealed = dir_db_blob(stmt, T_VERIFIER, &sealed_len);
            char *verifier = dir_keys_open(dir->keys, sealed, sealed_len, aad, NULL);
            if (verifier)
                txn->oidc_code_verifier = verifier;
            else
                sso_error("the code verifier of login transaction %s does not open", id);
        }
        *consumed = !dir_db_is_null(stmt, T_COMPLETED);
    }
    dir_db_release(stmt);
    *out = txn;
    if (step == DIR_DB_DONE)
        return 0;
    return txn ? 1 : -1;
}

/* Takes the write lock, then loads transaction id as s_load does ("" is none); -1 also when
   the lock cannot be taken. */
static int s_lock_load(dir_t *dir, const char *id, Sso__Transaction **txn, bool *consumed)
{
    *txn = NULL;
    *consumed = false;
    if (dir_db_begin(dir->db) != 0)
        return -1;
    return *id ? s_load(dir, id, txn, consumed) : 0;
}

/* not_found / consumed / expired for a transaction that cannot be used; 0 when it can. */
static int s_usable(const char *id, int found, const Sso__Transaction *txn, bool consumed,
                    dir_error_t *err)
{
    if (found < 0)
        dir_server_error(err);
    else if (found == 0)
        dir_rpc_error(err, "not_found", "no login transaction %.*s; start the login again",
                      S_ID_MAX, id);
    else if (consumed)
        dir_rpc_error(err, "consumed", "login transaction %s was already used; start the login "
                                       "again", txn->id);
    else if (txn->expires_at <= dir_now())
        dir_rpc_error(err, "expired", "login transaction %s expired (logins must finish within "
                                      "%d minutes); start the login again", txn->id,
                      DIR_TXN_TTL_MAX / 60);
    else
        return 0;
    return -1;
}

static bool s_id_ok(const char *id)
{
    size_t len = strlen(id);
    return len >= S_ID_MIN && len <= S_ID_MAX
           && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
                  == len;
}

static int s_check_id(const char *id, dir_error_t *err)
{
    if (s_id_ok(id))
        return 0;
    dir_rpc_error(err, "invalid_request", "the transaction id must be %d to %d characters of "
                                          "[A-Za-z0-9-._~]", S_ID_MIN, S_ID_MAX);
    return -1;
}

/* An S256 code challenge: 43 characters of base64url. */
static bool s_challenge_ok(const char *challenge)
{
    return strlen(challenge) == 43
           && strspn(challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_") == 43;
}

/* The upstream fields of a new transaction. */
static int s_check_upstream(const char *saml_request_id, const char *oidc_state,
                            const char *oidc_nonce, const char *verifier, dir_error_t *err)
{
    if (!dir_rpc_text(saml_request_id, 0, 256) || !dir_rpc_text(oidc_state, 0, S_UPSTREAM_MAX)
        || !dir_rpc_text(oidc_nonce, 0, S_UPSTREAM_MAX)) {
        dir_rpc_error(err, "invalid_request", "saml_request_id, oidc_state and oidc_nonce are "
                                              "text of at most 256, %d and %d bytes",
                      S_UPSTREAM_MAX, S_UPSTREAM_MAX);
        return -1;
    }
    if (*verifier && !dir_codes_verifier_ok(verifier)) {
        dir_rpc_error(err, "invalid_request", "oidc_code_verifier must be 43 to 128 characters "
                                              "of [A-Za-z0-9-._~]");
        return -1;
    }
    return 0;
}

/* A test's transaction (test) has no client and no redirect_uri; every other one has both. */
static int s_check_create(dir_t *dir, const Sso__Transaction *t, bool test, dir_error_t *err)
{
    int64_t now = dir_now();
    if (s_check_id(t->id, err) != 0)
        return -1;
    const char *problem = NULL;
    if (test && (*t->client_id || *t->redirect_uri))
        problem = "a test login has no client_id and no redirect_uri";
    else if (!test && !dir_rpc_text(t->client_id, 1, S_REF_MAX))
        problem = "client_id is required";
    else if (!test && !dir_rpc_text(t->redirect_uri, 1, S_URI_MAX))
        problem = "redirect_uri is required";
    else if (!dir_rpc_text(t->scope, 1, S_SCOPE_MAX))
        problem = "scope is required";
    else if (strlen(t->state) > S_STATE_MAX)
        problem = "state is longer than 8192 bytes";
    else if (!dir_rpc_text(t->nonce, 0, S_NONCE_MAX))
        problem = "nonce is malformed or longer than 1024 bytes";
    else if (*t->code_challenge && !s_challenge_ok(t->code_challenge))
        problem = "code_challenge must be an S256 challenge (43 characters of base64url)";
    else if (!dir_rpc_text(t->connection_id, 1, S_REF_MAX)
             || !dir_rpc_text(t->organization_id, 1, S_REF_MAX))
        problem = "connection_id and organization_id are required";
    else if (t->max_age < -1)
        problem = "max_age must be -1 (absent) or a number of seconds";
    else if (!dir_rpc_text(t->login_hint, 0, S_HINT_MAX))
        problem = "login_hint is malformed or longer than 320 bytes";
    else if (t->created_at <= 0 || t->created_at > now + S_SKEW)
        problem = "created_at must be the current time (Unix seconds)";
    else if (t->expires_at <= t->created_at || t->expires_at > t->created_at + DIR_TXN_TTL_MAX)
        problem = "expires_at must be after created_at, by at most 600 seconds";
    if (problem) {
        dir_rpc_error(err, "invalid_request", "%s", problem);
        return -1;
    }
    if (s_check_upstream(t->saml_request_id, t->oidc_state, t->oidc_nonce, t->oidc_code_verifier,
                         err) != 0)
        return -1;
    /* What /oauth/authorize checked, checked again where it is stored. */
    int64_t registered = test ? 1 : dir_db_int(dir->db, "SELECT count(*) FROM client_redirect_uris WHERE "
                                             "client_id = ? AND uri = ?", "ss", t->client_id,
                                    t->redirect_uri);
    if (registered < 0) {
        dir_server_error(err);
        return -1;
    }
    if (registered == 0) {
        if (dir_db_int(dir->db, "SELECT count(*) FROM clients WHERE id = ?", "s", t->client_id)
            != 1)
            dir_rpc_error(err, "invalid_request", "unknown client_id %s", t->client_id);
        else
            dir_rpc_error(err, "invalid_request", "redirect_uri is not registered for client %s",
                          t->client_id);
        return -1;
    }
    if (dir_db_int(dir->db, "SELECT count(*) FROM connections WHERE id = ? AND "
                            "organization_id = ?", "ss", t->connection_id, t->organization_id)
        != 1) {
        dir_rpc_error(err, "invalid_request", "no connection %s in organization %s",
                      t->connection_id, t->organization_id);
        return -1;
    }
    return 0;
}

/* Seals a code verifier for transaction id; *sealed NULL for "". -1 with a server error. */
static int s_seal_verifier(dir_t *dir, const char *id, const char *verifier, uint8_t **sealed,
                           size_t *len, dir_error_t *err)
{
    *sealed = NULL;
    *len = 0;
    if (!*verifier)
        return 0;
    char aad[160];
    s_verifier_aad(aad, sizeof aad, id);
    if (dir_keys_seal(dir->keys, verifier, strlen(verifier), aad, sealed, len) == 0)
        return 0;
    dir_server_error(err);
    return -1;
}

/* The common end of every write below: undoes what was not committed and frees the
   transaction (may be NULL). */
static void s_end(dir_t *dir, Sso__Transaction *txn)
{
    dir_db_rollback(dir->db);
    if (txn)
        sso__transaction__free_unpacked(txn, NULL);
}

int dir_txn_challenge_only(Sso__Transaction *t)
{
    if (!*t->oidc_code_verifier)
        return 0;
    uint8_t digest[32];
    sso_sha256(t->oidc_code_verifier, strlen(t->oidc_code_verifier), digest);
    t->oidc_code_challenge = sso_base64url_encode(digest, sizeof digest);
    OPENSSL_cleanse(t->oidc_code_verifier, strlen(t->oidc_code_verifier));
    free(t->oidc_code_verifier);
    t->oidc_code_verifier = dir_rpc_dup("");
    return t->oidc_code_challenge && t->oidc_code_verifier ? 0 : -1;
}

Sso__Transaction *dir_txn_get(dir_t *dir, const char *id, dir_error_t *err)
{
    if (s_check_id(id, err) != 0)
        return NULL;
    Sso__Transaction *txn = NULL;
    bool consumed = false;
    int found = s_load(dir, id, &txn, &consumed);
    if (s_usable(id, found, txn, consumed, err) != 0) {
        if (txn)
            sso__transaction__free_unpacked(txn, NULL);
        return NULL;
    }
    return txn;
}

Sso__Transaction *dir_txn_get_by_oidc_state(dir_t *dir, const char *state, dir_error_t *err)
{
    if (!dir_rpc_text(state, 1, S_UPSTREAM_MAX)) {
        dir_rpc_error(err, "invalid_request", "the OIDC state must be text of 1 to %d bytes",
                      S_UPSTREAM_MAX);
        return NULL;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT id FROM login_transactions WHERE "
                                                "oidc_state = ?", "s", state);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    char id[S_ID_MAX + 1] = "";
    if (step == DIR_DB_ROW)
        snprintf(id, sizeof id, "%s", dir_db_text(stmt, 0));
    dir_db_release(stmt);
    if (step == DIR_DB_DONE) {
        dir_rpc_error(err, "not_found", "no login transaction has this OIDC state; start the "
                                        "login again");
        return NULL;
    }
    if (step != DIR_DB_ROW) {
        dir_server_error(err);
        return NULL;
    }
    return dir_txn_get(dir, id, err);
}

static Sso__Transaction *s_create(dir_t *dir, const Sso__Transaction *t, bool test,
                                  dir_error_t *err)
{
    if (s_check_create(dir, t, test, err) != 0)
        return NULL;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (s_seal_verifier(dir, t->id, t->oidc_code_verifier, &sealed, &sealed_len, err) != 0)
        return NULL;
    Sso__Transaction *stored = NULL;
    if (dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    int64_t exists = dir_db_int(dir->db, "SELECT count(*) FROM login_transactions WHERE id = ?",
                                "s", t->id);
    if (exists != 0) {
        if (exists > 0)
            dir_rpc_error(err, "invalid_request", "a login transaction with this id exists");
        else
            dir_server_error(err);
        goto done;
    }
    int run = dir_db_run(
        dir->db, NULL,
        "INSERT INTO login_transactions (id, client_id, redirect_uri, state, nonce, scope, "
        "code_challenge, code_challenge_method, login_hint, max_age, organization_id, "
        "connection_id, upstream_request_id, upstream_nonce, upstream_code_verifier_sealed, "
        "created_at, expires_at, force_login, oidc_state, browser_binding_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, -1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "sssssssssissssbiiiss", t->id, dir_rpc_or_null(t->client_id), t->redirect_uri, t->state, t->nonce,
        t->scope, dir_rpc_or_null(t->code_challenge), *t->code_challenge ? "S256" : NULL,
        dir_rpc_or_null(t->login_hint), t->max_age, t->organization_id, t->connection_id,
        dir_rpc_or_null(t->saml_request_id), dir_rpc_or_null(t->oidc_nonce), sealed, sealed_len,
        t->created_at, t->expires_at, (int64_t) t->force_login, dir_rpc_or_null(t->oidc_state),
        dir_rpc_or_null(t->browser_binding_hash));
    if (run == DIR_DB_CONFLICT)
        dir_rpc_error(err, "invalid_request", "saml_request_id or oidc_state is already used by "
                                              "another login transaction");
    else if (run != DIR_DB_OK || dir_db_commit(dir->db) != 0)
        dir_server_error(err);
    else
        stored = dir_txn_get(dir, t->id, err);
done:
    dir_db_rollback(dir->db);
    free(sealed);
    return stored;
}

Sso__Transaction *dir_txn_create(dir_t *dir, const Sso__Transaction *t, dir_error_t *err)
{
    return s_create(dir, t, false, err);
}

Sso__Transaction *dir_txn_create_test(dir_t *dir, const Sso__Transaction *t, dir_error_t *err)
{
    return s_create(dir, t, true, err);
}

static int s_check_profile(const Sso__Profile *p, dir_error_t *err)
{
    const char *problem = NULL;
    if (!p)
        problem = "profile is required";
    else if (!dir_rpc_text(p->subject, 1, 1024))
        problem = "profile.subject is required (at most 1024 bytes, no control characters)";
    else if (!dir_rpc_text(p->email, 0, 320))
        problem = "profile.email is malformed or longer than 320 bytes";
    else if (!dir_rpc_text(p->name, 0, 512) || !dir_rpc_text(p->given_name, 0, 512)
             || !dir_rpc_text(p->family_name, 0, 512))
        problem = "profile names are text of at most 512 bytes";
    else if (p->n_groups > 256)
        problem = "profile.groups has more than 256 entries";
    for (size_t i = 0; !problem && i < p->n_groups; i++)
        if (!dir_rpc_text(p->groups[i], 1, 512))
            problem = "profile.groups entries are text of 1 to 512 bytes";
    if (problem) {
        dir_rpc_error(err, "invalid_request", "%s", problem);
        return -1;
    }
    return 0;
}

/* Marks a live transaction used (inside the caller's transaction); 0, or -1 when it was not
   live any more or the write failed. */
static int s_consume(dir_t *dir, const Sso__Transaction *txn)
{
    int changes = 0;
    return dir_db_run(dir->db, &changes, "UPDATE login_transactions SET completed_at = ? WHERE "
                                         "id = ? AND completed_at IS NULL", "is", dir_now(),
                      txn->id) == DIR_DB_OK && changes == 1
               ? 0
               : -1;
}

/* Where the client is sent back: its redirect_uri and state, into out. */
static void s_redirect(const Sso__Transaction *txn, Sso__LoginRedirectReply *out)
{
    out->redirect_uri = dir_rpc_dup(txn->redirect_uri);
    out->state = dir_rpc_dup(txn->state);
}

/* Whether the transaction's connection changed since the caller read it at version (""
   when the caller does not say): -1 with STALE (or a server error) when it did, else 0. */
static int s_stale(dir_t *dir, const Sso__Transaction *txn, const char *version,
                   dir_error_t *err)
{
    char now[65];
    if (*version
        && (dir_login_connection_version(dir, txn->connection_id, now, err) != 0
            || strcmp(now, version) != 0)) {
        if (!err->code)
            dir_rpc_error(err, "stale", "connection %.128s changed since it was read; read it "
                                        "again", txn->connection_id);
        return -1;
    }
    return 0;
}

/* What the caller validated against: the transaction's connection, its upstream request,
   its max_age, the connection as it is now. 0, or -1 with MISMATCH / STALE (nothing is consumed). */
static int s_caller_view(dir_t *dir, const Sso__LoginCompleteRequest *r,
                         const Sso__Transaction *txn, dir_error_t *err)
{
    if (*r->connection_id && strcmp(r->connection_id, txn->connection_id) != 0) {
        dir_rpc_error(err, "mismatch", "acs: connection: expected %.128s, got %.128s",
                      txn->connection_id, r->connection_id);
        return -1;
    }
    if (*r->in_response_to && strcmp(r->in_response_to, txn->saml_request_id) != 0) {
        dir_rpc_error(err, "mismatch", "in_response_to: expected %.128s, got %.200s",
                      txn->saml_request_id, r->in_response_to);
        return -1;
    }
    if (r->max_age_checked && r->max_age != txn->max_age) {
        dir_rpc_error(err, "stale", "max_age: the login asks %lld, the response was checked "
                                    "against %lld; read the transaction again",
                      (long long) txn->max_age, (long long) r->max_age);
        return -1;
    }
    return s_stale(dir, txn, r->connection_version, err);
}

/* The raw attributes or claims: "" or a JSON object of at most DIR_TESTS_RAW_MAX. */
static int s_check_raw(const char *raw, dir_error_t *err)
{
    if (!*raw)
        return 0;
    json_t *json = strlen(raw) <= DIR_TESTS_RAW_MAX ? json_loads(raw, 0, NULL) : NULL;
    bool ok = json_is_object(json);
    json_decref(json);
    if (!ok)
        dir_rpc_error(err, "invalid_request", "raw_json must be a JSON object of at most %d "
                                              "bytes", DIR_TESTS_RAW_MAX);
    return ok ? 0 : -1;
}

/* A test's transaction (no client): whatever the connection's status, no code; the result
   and an event marked as a test's are written, and the browser goes to the result page. */
static int s_complete_test(dir_t *dir, const Sso__LoginCompleteRequest *r,
                           const Sso__Transaction *txn, const char *test_id,
                           Sso__LoginRedirectReply *out, dir_error_t *err)
{
    dir_event_t event = {.organization_id = txn->organization_id,
                         .connection_id = txn->connection_id,
                         .success = true,
                         .test = true,
                         .reason = r->warning,
                         .subject = r->profile->subject,
                         .email = dir_rpc_or_null(r->profile->email),
                         .txn_id = txn->id};
    char *url = dir_tests_result_url(dir, test_id);
    if (!url || s_consume(dir, txn) != 0
        || dir_tests_finish(dir, test_id, r->profile, r->raw_json, NULL) != 0
        || dir_events_add(dir, &event, NULL) != 0 || dir_db_commit(dir->db) != 0) {
        free(url);
        dir_server_error(err);
        return -1;
    }
    out->redirect_uri = url;
    out->state = dir_rpc_dup("");
    sso_info("test login %s through %s completed", test_id, txn->connection_id);
    return 0;
}

/* The profile's groups, then the SCIM directory's that it lacks (compared ignoring ASCII
   case), into groups (room for both lists) and profile. */
static void s_merge_groups(const Sso__Profile *from, const dir_scim_login_t *scim,
                           char **groups, Sso__Profile *profile)
{
    size_t n = 0;
    for (size_t i = 0; i < from->n_groups && n < 256; i++)
        groups[n++] = from->groups[i];
    size_t own = n;
    for (size_t i = 0; i < scim->n_groups; i++) {
        bool known = false;
        for (size_t j = 0; j < own && !known; j++)
            known = !strcasecmp(groups[j], scim->groups[i]);
        if (!known)
            groups[n++] = scim->groups[i];
    }
    profile->groups = groups;
    profile->n_groups = n;
}

/* The login of a person the organization's SCIM directory marks inactive: consumed (the
   caller has begun the write), a failure event with the reason, the client told
   access_denied. 0, or -1 with err. */
static int s_refuse_inactive(dir_t *dir, const Sso__Transaction *txn,
                             const Sso__Profile *profile, dir_scim_login_t *scim,
                             Sso__LoginRedirectReply *out, dir_error_t *err)
{
    char reason[600];
    snprintf(reason, sizeof reason, "scim: %.256s is deactivated in the organization's directory "
             "%.100s (user %.100s): expected an active user", profile->email,
             scim->directory_id, scim->id);
    dir_event_t event = {.organization_id = txn->organization_id,
                         .connection_id = txn->connection_id,
                         .client_id = txn->client_id,
                         .success = false,
                         .reason = reason,
                         .subject = profile->subject,
                         .email = dir_rpc_or_null(profile->email),
                         .txn_id = txn->id};
    dir_scim_users_login_clear(scim);
    if (dir_events_add(dir, &event, NULL) != 0 || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        return -1;
    }
    s_redirect(txn, out);
    out->redirect_error = dir_rpc_dup("access_denied");
    out->redirect_error_description = dir_rpc_dup("your account is deactivated in your "
                                                  "organization's directory");
    sso_info("login to %s through %s refused: %s", txn->organization_id, txn->connection_id,
             reason);
    return 0;
}

DIR_RPC_FN(dir_txn_login_complete, Sso__LoginCompleteRequest, Sso__LoginRedirectReply)
{
    const Sso__LoginCompleteRequest *r = in;
    int64_t now = dir_now();
    if (s_check_id(r->txn_id, err) != 0 || s_check_profile(r->profile, err) != 0
        || s_check_raw(r->raw_json, err) != 0)
        return -1;
    if (!dir_rpc_text(r->warning, 0, 1024)) {
        dir_rpc_error(err, "invalid_request", "warning must be text of at most 1024 bytes");
        return -1;
    }
    if (r->auth_time < 0 || r->auth_time > now + S_SKEW) {
        dir_rpc_error(err, "invalid_request", "auth_time must be the time of the login (Unix "
                                              "seconds) or 0 for now");
        return -1;
    }
    int rc = -1;
    Sso__Transaction *txn = NULL;
    char *code = NULL;
    bool consumed = false;
    int found = s_lock_load(dir, r->txn_id, &txn, &consumed);
    if (s_usable(r->txn_id, found, txn, consumed, err) != 0
        || s_caller_view(dir, r, txn, err) != 0)
        goto done;
    /* The assertion is recorded against replay in the same write: no code without it. */
    if (r->replay && dir_replay_note(dir, r->replay, err) != 0)
        goto done;
    char test_id[64];
    int test = dir_tests_of_txn(dir, txn->id, test_id);
    if (test < 0) {
        dir_server_error(err);
        goto done;
    }
    if (test == 1) {
        rc = s_complete_test(dir, r, txn, test_id, out, err);
        goto done;
    }
    char type[8];
    bool active = false;
    if (dir_login_connection_type(dir, txn->connection_id, type, &active) != 0) {
        dir_server_error(err);
        goto done;
    }
    /* Checked in the write that issues the code: a connection disabled while the response was
       being validated issues none. The caller fails the login (login_fail) with this reason. */
    if (!active) {
        dir_rpc_error(err, "inactive", "connection %s is not active", txn->connection_id);
        goto done;
    }
    /* The organization's SCIM directory (issue 22), read in the write that issues the code:
       a person it marks inactive signs in no more; a provisioned one's SCIM id and groups
       join the profile. */
    dir_scim_login_t scim;
    if (dir_scim_users_login(dir, txn->organization_id, r->profile->email, &scim) != 0
        || s_consume(dir, txn) != 0) {
        dir_server_error(err);
        goto done;
    }
    if (scim.found && !scim.active) {
        rc = s_refuse_inactive(dir, txn, r->profile, &scim, out, err);
        goto done;
    }
    char *groups[256 + DIR_SCIM_LOGIN_GROUPS_MAX];
    Sso__Profile profile = *r->profile;
    s_merge_groups(r->profile, &scim, groups, &profile);
    profile.scim_user_id = scim.found ? scim.id : "";
    dir_code_t spec = {.client_id = txn->client_id,
                       .redirect_uri = txn->redirect_uri,
                       .scope = txn->scope,
                       .nonce = txn->nonce,
                       .code_challenge = txn->code_challenge,
                       .organization_id = txn->organization_id,
                       .connection_id = txn->connection_id,
                       .connection_type = type,
                       .profile = &profile,
                       .auth_time = r->auth_time ? r->auth_time : now};
    dir_event_t event = {.organization_id = txn->organization_id,
                         .connection_id = txn->connection_id,
                         .client_id = txn->client_id,
                         .success = true,
                         .reason = r->warning, /* "" unless the login goes on with one */
                         .subject = r->profile->subject,
                         .email = dir_rpc_or_null(r->profile->email),
                         .txn_id = txn->id};
    /* The connection's last login (raw attributes included) goes in the same write. */
    int issued = dir_codes_issue(dir, &spec, &code);
    dir_scim_users_login_clear(&scim);
    if (issued != 0 || dir_events_add(dir, &event, NULL) != 0
        || dir_last_login_note(dir, txn->connection_id, r->profile->subject, r->raw_json, now)
               != 0
        || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    s_redirect(txn, out);
    out->code = code;
    code = NULL;
    rc = 0;
    sso_info("login to %s through %s completed for client %s", txn->organization_id,
             txn->connection_id, txn->client_id);
done:
    s_end(dir, txn);
    if (code) {
        OPENSSL_cleanse(code, strlen(code));
        free(code);
    }
    return rc;
}

static int s_check_fail(const Sso__LoginFailRequest *r, dir_error_t *err)
{
    size_t error_len = strlen(r->error);
    if (*r->txn_id && !s_id_ok(r->txn_id))
        return s_check_id(r->txn_id, err);
    if (error_len == 0 || error_len > 64 || strspn(r->error, "abcdefghijklmnopqrstuvwxyz_")
                                                != error_len) {
        dir_rpc_error(err, "invalid_request", "error must be an OAuth error code such as "
                                              "access_denied");
        return -1;
    }
    if (!dir_rpc_text(r->error_description, 0, 1024) || !dir_rpc_text(r->reason, 0, 64 * 1024)) {
        dir_rpc_error(err, "invalid_request", "error_description (at most 1024 bytes) and "
                                              "reason must be text without control characters");
        return -1;
    }
    return 0;
}

DIR_RPC_FN(dir_txn_login_fail, Sso__LoginFailRequest, Sso__LoginRedirectReply)
{
    const Sso__LoginFailRequest *r = in;
    if (s_check_fail(r, err) != 0)
        return -1;
    int rc = -1;
    Sso__Transaction *txn = NULL;
    char *reason = NULL;
    bool consumed = false;
    int found = s_lock_load(dir, r->txn_id, &txn, &consumed);
    bool usable = s_usable(r->txn_id, found, txn, consumed, err) == 0;
    if (found < 0 || (!usable && r->only_if_open))
        goto done; /* err says why; with only_if_open nothing is recorded */
    /* Refused with a connection that changed since (new IdP certificates): the caller
       validates again with the connection as it is now; nothing is recorded meanwhile. */
    if (usable && s_stale(dir, txn, r->connection_version, err) != 0)
        goto done;
    const char *given = *r->reason ? r->reason : *r->error_description ? r->error_description
                                                                       : r->error;
    /* The log says when the failure could not be tied to a live transaction. */
    const char *context = usable ? "" : found == 0 ? " (the login transaction was unknown)"
                                    : consumed     ? " (the login transaction was already used)"
                                                   : " (the login transaction had expired)";
    size_t len = strlen(given) + strlen(context) + 1;
    if (!(reason = malloc(len))) {
        dir_server_error(err);
        goto done;
    }
    snprintf(reason, len, "%s%s", given, context);
    if (usable && s_consume(dir, txn) != 0) {
        dir_server_error(err);
        goto done;
    }
    /* A test's failure is its result: the reason, expected against received. */
    char test_id[64];
    int test = txn ? dir_tests_of_txn(dir, txn->id, test_id) : 0;
    if (test < 0 || (test == 1 && usable
                     && dir_tests_finish(dir, test_id, NULL, "", reason) != 0)) {
        dir_server_error(err);
        goto done;
    }
    dir_event_t event = {.organization_id = txn ? txn->organization_id : NULL,
                         .connection_id = txn ? txn->connection_id : NULL,
                         .client_id = txn ? dir_rpc_or_null(txn->client_id) : NULL,
                         .success = false,
                         .test = test == 1,
                         .reason = reason,
                         .txn_id = dir_rpc_or_null(r->txn_id)};
    if (dir_events_add(dir, &event, NULL) != 0 || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    if (!usable)
        goto done; /* err says why; the event is recorded */
    if (test == 1) {
        /* The browser goes to the test's result page, which reads the reason itself. */
        if (!(out->redirect_uri = dir_tests_result_url(dir, test_id))) {
            dir_server_error(err);
            goto done;
        }
        out->state = dir_rpc_dup("");
    }
    else
        s_redirect(txn, out);
    out->redirect_error = dir_rpc_dup(r->error);
    out->redirect_error_description = dir_rpc_dup(r->error_description);
    rc = 0;
    sso_info("login to %s through %s failed: %s", txn->organization_id, txn->connection_id,
             reason);
done:
    s_end(dir, txn);
    free(reason);
    return rc;
}

/* ---- self-test ------------------------------------------------------------------------- */

#define S_REDIRECT "https://app.test/login/callback"
#define S_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define S_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define S_COMPLETE "UpstreamWrites.LoginComplete"
#define S_FAIL "UpstreamWrites.LoginFail"
#define S_REDEEM "TokenWrites.CodeRedeem"

static char s_client[64];
static char s_client_secret[128];

static void s_txn(Sso__Transaction *t, const char *id)
{
    sso__transaction__init(t);
    t->id = (char *) id;
    t->client_id = s_client;
    t->redirect_uri = S_REDIRECT;
    t->state = "st&=1";
    t->nonce = "nonce-1";
    t->code_challenge = S_CHALLENGE;
    t->scope = "openid profile";
    t->connection_id = "conn_simulator";
    t->organization_id = "org_test";
    t->created_at = dir_now();
    t->expires_at = t->created_at + 600;
    t->max_age = -1;
    t->login_hint = "ada@example.com";
}

/* err names code (a sso.RpcError) and says says (when given); otherwise prints what it got. */
static bool s_err_is(const char *op, const dir_error_t *err, Sso__RpcError code,
                     const char *says)
{
    bool ok = err->code && sso_rpc_error_of(err->code) == code && *err->description
              && (!says || strstr(err->description, says));
    if (!ok)
        fprintf(stderr, "%s: expected %s (%s), got %s (%s)\n", op, sso_rpc_error_name(code),
                says ? says : "", err->code ? err->code : "no error", err->description);
    return ok;
}

/* dir_txn_create: true when t was stored. */
static bool s_created(dir_testkit_t *kit, const Sso__Transaction *t)
{
    dir_error_t err = {0};
    Sso__Transaction *stored = dir_txn_create(kit->dir, t, &err);
    bool ok = stored && !strcmp(stored->id, t->id);
    if (!ok)
        fprintf(stderr, "dir_txn_create: %s %s\n", err.code ? err.code : "-", err.description);
    if (stored)
        sso__transaction__free_unpacked(stored, NULL);
    return ok;
}

/* s_txn, then dir_txn_create: true when it was stored. */
static bool s_new(dir_testkit_t *kit, Sso__Transaction *t, const char *id)
{
    s_txn(t, id);
    return s_created(kit, t);
}

/* True when dir_txn_create refuses t with code, saying says (when given), and stores
   nothing. */
static bool s_create_refused(dir_testkit_t *kit, const Sso__Transaction *t, Sso__RpcError code,
                             const char *says)
{
    dir_error_t err = {0};
    Sso__Transaction *stored = dir_txn_create(kit->dir, t, &err);
    if (stored) {
        fprintf(stderr, "dir_txn_create: %s stored, expected a refusal\n", t->id);
        sso__transaction__free_unpacked(stored, NULL);
        return false;
    }
    return s_err_is("dir_txn_create", &err, code, says);
}

/* True when dir_txn_get refuses id with code, saying says (when given). */
static bool s_get_refused(dir_testkit_t *kit, const char *id, Sso__RpcError code,
                          const char *says)
{
    dir_error_t err = {0};
    Sso__Transaction *got = dir_txn_get(kit->dir, id, &err);
    if (got) {
        fprintf(stderr, "dir_txn_get: %s found, expected a refusal\n", id);
        sso__transaction__free_unpacked(got, NULL);
        return false;
    }
    return s_err_is("dir_txn_get", &err, code, says);
}

static void s_complete_request(Sso__LoginCompleteRequest *complete, Sso__Profile *profile,
                               const char *id)
{
    sso__login_complete_request__init(complete);
    sso__profile__init(profile);
    profile->subject = "00u1";
    profile->email = "ada@example.com";
    profile->email_verified = true;
    profile->name = "Ada Lovelace";
    complete->txn_id = (char *) id;
    complete->profile = profile;
    complete->auth_time = dir_now() - 5;
}

static void s_fail_request(Sso__LoginFailRequest *fail, const char *id)
{
    sso__login_fail_request__init(fail);
    fail->txn_id = (char *) id;
    fail->error = "access_denied";
    fail->error_description = "the identity provider's answer failed validation";
    fail->reason = "Audience: expected https://sso.test/sso/saml/conn_simulator, received "
                   "https://other";
}

static int64_t s_count(dir_testkit_t *kit, const char *table)
{
    char sql[100];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return dir_db_int(kit->dir->db, sql, NULL);
}

static void s_test_create(dir_testkit_t *kit)
{
    Sso__Transaction t;
    s_txn(&t, "txn-create-0000000001");
    t.force_login = true;
    t.max_age = 30;
    dir_error_t err = {0};
    Sso__Transaction *got = dir_txn_create(kit->dir, &t, &err);
    SSO_CHECK(got && !err.code && !strcmp(got->client_id, s_client)
              && !strcmp(got->redirect_uri, S_REDIRECT) && !strcmp(got->state, "st&=1")
              && !strcmp(got->nonce, "nonce-1") && !strcmp(got->code_challenge, S_CHALLENGE)
              && !strcmp(got->scope, "openid profile") && got->force_login && got->max_age == 30
              && !strcmp(got->login_hint, "ada@example.com") && got->expires_at == t.expires_at
              && !*got->saml_request_id && !*got->oidc_code_verifier);
    if (got)
        sso__transaction__free_unpacked(got, NULL);
    /* The same id again, and every kind of bad input: refused, nothing written. */
    int64_t before = s_count(kit, "login_transactions");
    t.max_age = -1;
    SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, "exists"));
    /* Each case sets one field of a fresh transaction (the field addresses stay put). */
    struct {
        char **field;
        const char *value;
        const char *says;
    } bad[] = {
        {&t.id, "short", "transaction id"},
        {&t.id, "txn with spaces 0000001", "transaction id"},
        {&t.client_id, "cli_unknown", "unknown client_id"},
        {&t.redirect_uri, "https://app.test/login/callback/", "not registered"},
        {&t.redirect_uri, "", "redirect_uri"},
        {&t.scope, "", "scope"},
        {&t.code_challenge, "plain-challenge", "S256"},
        {&t.connection_id, "conn_none", "no connection"},
        {&t.organization_id, "org_other", "no connection"},
        {&t.organization_id, "", "organization_id"},
        {&t.oidc_code_verifier, "short", "oidc_code_verifier"},
        {&t.login_hint, "a\nb", "login_hint"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_txn(&t, "txn-create-bad-0000001");
        *bad[i].field = (char *) bad[i].value;
        SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, bad[i].says));
    }
    s_txn(&t, "txn-create-bad-0000001");
    t.expires_at = t.created_at + 601;
    SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, "600"));
    t.expires_at = t.created_at;
    SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, "expires_at"));
    t.created_at = dir_now() + 3600;
    t.expires_at = t.created_at + 60;
    SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, "created_at"));
    s_txn(&t, "txn-create-bad-0000001");
    t.max_age = -2;
    SSO_CHECK(s_create_refused(kit, &t, SSO__RPC_ERROR__INVALID_REQUEST, "max_age"));
    SSO_CHECK(s_count(kit, "login_transactions") == before);
}

static void s_test_get(dir_testkit_t *kit)
{
    Sso__Transaction t;
    s_txn(&t, "txn-get-0000000000001");
    t.code_challenge = "";
    SSO_CHECK(s_created(kit, &t));
    dir_error_t err = {0};
    Sso__Transaction *got = dir_txn_get(kit->dir, t.id, &err);
    SSO_CHECK(got && !err.code && !strcmp(got->connection_id, "conn_simulator")
              && !strcmp(got->organization_id, "org_test") && got->max_age == -1
              && !got->force_login && !*got->code_challenge);
    if (got)
        sso__transaction__free_unpacked(got, NULL);
    SSO_CHECK(s_get_refused(kit, "txn-unknown-000000001", SSO__RPC_ERROR__NOT_FOUND,
                            "txn-unknown-000000001"));
    SSO_CHECK(s_get_refused(kit, "bad id", SSO__RPC_ERROR__INVALID_REQUEST, NULL));
    SSO_CHECK(s_get_refused(kit, "", SSO__RPC_ERROR__INVALID_REQUEST, NULL));
}

/* The upstream fields are stored as given, the code verifier sealed at rest; an upstream
   request id or state another transaction has is refused and stores nothing. */
static void s_test_upstream(dir_testkit_t *kit)
{
    Sso__Transaction t;
    s_txn(&t, "txn-upstream-000000001");
    t.saml_request_id = "_a1b2c3";
    t.oidc_state = "ostate";
    t.oidc_nonce = "onoce";
    t.oidc_code_verifier = S_VERIFIER;
    dir_error_t err = {0};
    Sso__Transaction *got = dir_txn_create(kit->dir, &t, &err);
    SSO_CHECK(got && !err.code && !strcmp(got->saml_request_id, "_a1b2c3")
              && !strcmp(got->oidc_state, "ostate") && !strcmp(got->oidc_nonce, "onoce")
              && !strcmp(got->oidc_code_verifier, S_VERIFIER));
    if (got)
        sso__transaction__free_unpacked(got, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE id = ? "
                                       "AND upstream_code_verifier_sealed IS NOT NULL", "s", t.id)
              == 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT instr(upstream_code_verifier_sealed, ?) FROM "
                                       "login_transactions WHERE id = ?", "ss", S_VERIFIER, t.id)
              == 0);
    got = dir_txn_get(kit->dir, t.id, &err);
    SSO_CHECK(got && !strcmp(got->oidc_code_verifier, S_VERIFIER)
              && !strcmp(got->saml_request_id, "_a1b2c3") && !strcmp(got->oidc_state, "ostate")
              && !strcmp(got->oidc_nonce, "onoce"));
    if (got)
        sso__transaction__free_unpacked(got, NULL);
    /* Another transaction with the same saml_request_id, or oidc_state: refused. */
    int64_t before = s_count(kit, "login_transactions");
    Sso__Transaction other;
    s_txn(&other, "txn-upstream-000000002");
    other.saml_request_id = "_a1b2c3";
    SSO_CHECK(s_create_refused(kit, &other, SSO__RPC_ERROR__INVALID_REQUEST, "already used"));
    s_txn(&other, "txn-upstream-000000002");
    other.oidc_state = "ostate";
    SSO_CHECK(s_create_refused(kit, &other, SSO__RPC_ERROR__INVALID_REQUEST, "already used"));
    SSO_CHECK(s_count(kit, "login_transactions") == before);
    SSO_CHECK(s_get_refused(kit, other.id, SSO__RPC_ERROR__NOT_FOUND, NULL));
    /* Without them, stored empty. */
    SSO_CHECK(s_new(kit, &other, "txn-upstream-000000002"));
    got = dir_txn_get(kit->dir, other.id, &err);
    SSO_CHECK(got && !*got->saml_request_id && !*got->oidc_state && !*got->oidc_nonce
              && !*got->oidc_code_verifier);
    if (got)
        sso__transaction__free_unpacked(got, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE id = ? "
                                       "AND upstream_code_verifier_sealed IS NULL", "s", other.id)
              == 1);
}

static void s_test_complete(dir_testkit_t *kit)
{
    Sso__Transaction t;
    SSO_CHECK(s_new(kit, &t, "txn-complete-000000001"));
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    s_complete_request(&complete, &profile, t.id);
    /* A bad profile is refused and does not consume the transaction. */
    profile.subject = "";
    int64_t events = s_count(kit, "login_events");
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "invalid_request",
                                    "subject"));
    complete.profile = NULL;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "invalid_request",
                                    "profile"));
    complete.profile = &profile;
    profile.subject = "00u1";
    complete.auth_time = dir_now() + 3600;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "invalid_request",
                                    "auth_time"));
    complete.auth_time = dir_now() - 5;
    /* A warning is text: a control character (a forged log line) is refused. */
    complete.warning = "groups: overage\nforged line";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "invalid_request",
                                    "warning must be text of at most 1024 bytes"));
    complete.warning = "groups: the IdP sent Entra ID's group overage claim";
    SSO_CHECK(s_count(kit, "login_events") == events && s_count(kit, "authorization_codes") == 0);
    /* A connection disabled while the response was validated: no code, the transaction is
       left for login_fail, and the same login completes once it is active again. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_simulator/disable", NULL,
                               NULL) == 200);
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "inactive",
                                    "connection conn_simulator is not active"));
    SSO_CHECK(s_count(kit, "authorization_codes") == 0);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/connections/conn_simulator/enable", NULL,
                               NULL) == 200);

    Sso__LoginRedirectReply *r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && !strcmp(r->redirect_uri, S_REDIRECT)
              && !strcmp(r->state, "st&=1") && strlen(r->code) >= 43 && !*r->redirect_error);
    char *code = r ? strdup(r->code) : NULL;
    sso__login_redirect_reply__free_unpacked(r, NULL);
    /* Single use. */
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "consumed", NULL));
    SSO_CHECK(s_get_refused(kit, t.id, SSO__RPC_ERROR__CONSUMED, NULL));
    SSO_CHECK(s_count(kit, "authorization_codes") == 1);
    /* The success event. */
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events?connection_id=conn_simulator", NULL,
                               &body) == 200);
    json_t *event = json_array_get(json_object_get(body, "data"), 0);
    SSO_CHECK(!strcmp(dir_testkit_str(event, "outcome"), "success")
              && !strcmp(dir_testkit_str(event, "organization_id"), "org_test")
              && !strcmp(dir_testkit_str(event, "client_id"), s_client)
              && !strcmp(dir_testkit_str(event, "subject"), "00u1")
              && !strcmp(dir_testkit_str(event, "email"), "ada@example.com")
              && !strcmp(dir_testkit_str(event, "reason"),
                         "groups: the IdP sent Entra ID's group overage claim"));
    json_decref(body);
    /* The code is bound to the transaction's client, redirect_uri and PKCE challenge. */
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = code ? code : "";
    redeem.client_id = s_client;
    redeem.client_secret = s_client_secret;
    redeem.redirect_uri = S_REDIRECT;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_REDEEM, &redeem.base, "invalid_grant", "PKCE"));
    redeem.code_verifier = S_VERIFIER;
    Sso__CodeRedeemReply *redeemed = dir_testkit_rpc(kit, S_REDEEM, &redeem.base);
    SSO_CHECK(redeemed && !redeemed->error && redeemed->grant
              && !strcmp(redeemed->grant->nonce, "nonce-1")
              && !strcmp(redeemed->grant->connection_type, "saml")
              && redeemed->grant->auth_time == complete.auth_time
              && !strcmp(redeemed->grant->profile->name, "Ada Lovelace"));
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    free(code);

    /* auth_time 0 means now; unknown transaction. */
    SSO_CHECK(s_new(kit, &t, "txn-complete-000000002"));
    s_complete_request(&complete, &profile, t.id);
    complete.auth_time = 0;
    r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && *r->code);
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM authorization_codes WHERE "
                                       "auth_time > ?", "i", dir_now() - 4) == 1);
    complete.txn_id = "txn-unknown-000000001";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "not_found", NULL));
}

static void s_test_fail(dir_testkit_t *kit)
{
    Sso__Transaction t;
    SSO_CHECK(s_new(kit, &t, "txn-fail-00000000000001"));
    Sso__LoginFailRequest fail;
    s_fail_request(&fail, t.id);
    int64_t codes = s_count(kit, "authorization_codes");
    /* Bad input writes nothing. */
    int64_t events = s_count(kit, "login_events");
    fail.error = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "invalid_request", "error"));
    fail.error = "Access Denied";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "invalid_request", "error"));
    fail.error = "access_denied";
    fail.txn_id = "bad id";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "invalid_request", NULL));
    fail.txn_id = (char *) t.id;
    SSO_CHECK(s_count(kit, "login_events") == events);

    Sso__LoginRedirectReply *r = dir_testkit_rpc(kit, S_FAIL, &fail.base);
    SSO_CHECK(r && !r->error && !strcmp(r->redirect_uri, S_REDIRECT)
              && !strcmp(r->state, "st&=1") && !*r->code
              && !strcmp(r->redirect_error, "access_denied")
              && !strcmp(r->redirect_error_description, fail.error_description));
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE outcome = "
                                       "'failure' AND reason = ? AND organization_id = "
                                       "'org_test' AND connection_id = 'conn_simulator' AND "
                                       "client_id = ? AND txn_id = ?", "sss", fail.reason,
                         s_client, t.id) == 1);
    /* Consumed: a second failure, or a late success, is refused; the second is still logged. */
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "consumed", NULL));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE reason LIKE "
                                       "'%already used%' AND organization_id = 'org_test'",
                         NULL) == 1);
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    s_complete_request(&complete, &profile, t.id);
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "consumed", NULL));
    SSO_CHECK(s_count(kit, "authorization_codes") == codes);
    /* Unknown: recorded with what is known. */
    fail.txn_id = "txn-unknown-000000001";
    fail.reason = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "not_found", NULL));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE txn_id = "
                                       "'txn-unknown-000000001' AND organization_id IS NULL AND "
                                       "reason LIKE 'the identity provider''s answer failed "
                                       "validation (the login transaction was unknown)'", NULL)
              == 1);
    fail.txn_id = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "not_found", NULL));
}

static void s_test_expiry(dir_testkit_t *kit)
{
    Sso__Transaction t;
    SSO_CHECK(s_new(kit, &t, "txn-expired-0000000001"));
    int64_t codes = s_count(kit, "authorization_codes");
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE login_transactions SET expires_at = ? "
                                             "WHERE id = ?", "is", dir_now(), t.id)
              == DIR_DB_OK);
    SSO_CHECK(s_get_refused(kit, t.id, SSO__RPC_ERROR__EXPIRED, "expired"));
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    s_complete_request(&complete, &profile, t.id);
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "expired", NULL));
    SSO_CHECK(s_count(kit, "authorization_codes") == codes);
    Sso__LoginFailRequest fail;
    s_fail_request(&fail, t.id);
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "expired", NULL));
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_events WHERE txn_id = ? AND "
                                       "organization_id = 'org_test' AND reason LIKE "
                                       "'%had expired%'", "s", t.id) == 1);
}

/* login_complete with the assertion id: recorded in the same write; a replay completes
   nothing and leaves the transaction for login_fail. */
static void s_test_complete_replay(dir_testkit_t *kit)
{
    Sso__Transaction t;
    s_txn(&t, "txn-replay-000000000001");
    SSO_CHECK(s_created(kit, &t));
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    s_complete_request(&complete, &profile, t.id);
    Sso__ReplayRecord replay = SSO__REPLAY_RECORD__INIT;
    replay.connection_id = "conn_simulator";
    replay.assertion_id = "_assertion-replay-1";
    replay.expires_at = dir_now() + 300;
    complete.replay = &replay;
    int64_t codes = s_count(kit, "authorization_codes");
    Sso__LoginRedirectReply *r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && *r->code);
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM replay_cache WHERE item_id = ?",
                         "s", replay.assertion_id) == 1);
    /* The same assertion for another transaction: replayed, no code, transaction still live. */
    s_txn(&t, "txn-replay-000000000002");
    SSO_CHECK(s_created(kit, &t));
    complete.txn_id = t.id;
    r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && r->error == SSO__RPC_ERROR__REPLAYED && !*r->code
              && strstr(r->error_description, "_assertion-replay-1"));
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(s_count(kit, "authorization_codes") == codes + 1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM login_transactions WHERE id = ? AND "
                                       "completed_at IS NULL", "s", t.id) == 1);
    /* A bad replay record refuses the whole completion. */
    replay.assertion_id = "";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "invalid_request",
                                    "assertion_id"));
    SSO_CHECK(s_count(kit, "authorization_codes") == codes + 1);
}

/* What the caller validated against, checked in the write that completes: another
   connection's ACS, another request's response and a connection changed since the caller
   read it are each refused without consuming anything; the right view completes. A failure
   only_if_open records nothing for a transaction that is not open. */
static void s_test_caller_view(dir_testkit_t *kit)
{
    Sso__Transaction t;
    SSO_CHECK(s_new(kit, &t, "txn-view-00000000001"));
    t.saml_request_id = "_request-view-0000000001"; /* s_txn's is empty: store one */
    t.id = "txn-view-00000000002";
    SSO_CHECK(s_created(kit, &t));
    dir_error_t err = {0};
    char version[65] = "";
    SSO_CHECK(dir_login_connection_version(kit->dir, "conn_simulator", version, &err) == 0
              && strlen(version) == 64);
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    s_complete_request(&complete, &profile, t.id);
    complete.connection_id = "conn_other";
    int64_t events = s_count(kit, "login_events"), codes = s_count(kit, "authorization_codes");
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "mismatch",
                                    "acs: connection: expected conn_simulator, got conn_other"));
    complete.connection_id = "conn_simulator";
    complete.in_response_to = "_request-view-other";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "mismatch",
                                    "in_response_to: expected _request-view-0000000001, got "
                                    "_request-view-other"));
    complete.in_response_to = "_request-view-0000000001";
    /* Checked against another max_age than the login's: read the transaction again. */
    complete.max_age_checked = true;
    complete.max_age = 0;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "stale",
                                    "max_age: the login asks -1, the response was checked "
                                    "against 0; read the transaction again"));
    complete.max_age = -1;
    complete.connection_version = "00000000000000000000000000000000"
                                  "00000000000000000000000000000000";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "stale",
                                    "connection conn_simulator changed"));
    SSO_CHECK(s_count(kit, "login_events") == events
              && s_count(kit, "authorization_codes") == codes);
    /* A change of the connection's organization (a domain) changes its version too. */
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_test/domains",
                               "{\"domain\":\"view.example\"}", NULL) == 201);
    char changed[65] = "";
    SSO_CHECK(dir_login_connection_version(kit->dir, "conn_simulator", changed, &err) == 0
              && strcmp(changed, version) != 0);
    complete.connection_version = version;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "stale", NULL));
    complete.connection_version = changed;
    Sso__LoginRedirectReply *r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && *r->code);
    sso__login_redirect_reply__free_unpacked(r, NULL);
    /* The version read with and without the secrets is the same. */
    Sso__ConnectionGetRequest get = SSO__CONNECTION_GET_REQUEST__INIT;
    get.connection_id = "conn_simulator";
    kit->caller = "saml";
    for (int with = 0; with < 2; with++) {
        get.with_secrets = with;
        Sso__ConnectionReply *c = dir_testkit_rpc(kit, "UpstreamReads.ConnectionGet", &get.base);
        SSO_CHECK(c && c->connection && !strcmp(c->connection->version, changed));
        sso__connection_reply__free_unpacked(c, NULL);
    }
    kit->caller = NULL;

    /* only_if_open: nothing recorded for the used, the unknown; the open one is failed. */
    Sso__LoginFailRequest fail;
    s_fail_request(&fail, t.id);
    fail.only_if_open = true;
    events = s_count(kit, "login_events");
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "consumed", NULL));
    fail.txn_id = "txn-unknown-view-00001";
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "not_found", NULL));
    SSO_CHECK(s_count(kit, "login_events") == events);
    fail.txn_id = "txn-view-00000000001";
    /* Refused against a connection that changed since: stale, nothing recorded or consumed;
       against the connection as it is, recorded. */
    fail.connection_version = version;
    SSO_CHECK(dir_testkit_rpc_error(kit, S_FAIL, &fail.base, "stale",
                                    "connection conn_simulator changed"));
    SSO_CHECK(s_count(kit, "login_events") == events);
    fail.connection_version = changed;
    r = dir_testkit_rpc(kit, S_FAIL, &fail.base);
    SSO_CHECK(r && !r->error && !strcmp(r->redirect_error, "access_denied"));
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(s_count(kit, "login_events") == events + 1);
}

/* A login's email provisioned by the organization's SCIM directory (issue 22): deactivated,
   refused with access_denied and the reason, no code; active, its SCIM id and groups in the
   code's profile (merged with the IdP's); deleted, or another organization's, nothing. */
static void s_test_complete_scim(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    json_t *made = NULL, *other = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations/org_test/directories", "{}",
                               &made) == 201);
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/organizations", "{\"display_name\":"
                               "\"Other\"}", &other) == 201);
    char path[160], dir_id[64] = "", other_dir[64] = "";
    snprintf(dir_id, sizeof dir_id, "%s", dir_testkit_str(made, "id"));
    snprintf(path, sizeof path, "/api/v1/organizations/%s/directories",
             dir_testkit_str(other, "id"));
    json_decref(made);
    json_decref(other);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{}", &made) == 201);
    snprintf(other_dir, sizeof other_dir, "%s", dir_testkit_str(made, "id"));
    json_decref(made);
    const char *insert = "INSERT INTO scim_users (id, directory_id, user_name, user_name_lower, "
                         "email_lower, active, resource_json, created_at, updated_at, "
                         "deleted_at) VALUES (?1, ?2, ?3, lower(?3), ?4, ?5, '{}', 1, 1, "
                         "nullif(?6, 0))";
    /* Another organization's directory knows the email too: it never counts. */
    SSO_CHECK(dir_db_run(db, NULL, insert, "ssssii", "usr_elsewhere", other_dir, "ada",
                         "ada@example.com", (int64_t) 0, (int64_t) 0) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(db, NULL, insert, "ssssii", "usr_ada", dir_id, "ada",
                         "ada@example.com", (int64_t) 0, (int64_t) 0) == DIR_DB_OK);

    /* Deactivated: access_denied, the reason in the event log, no code. */
    Sso__Transaction t;
    Sso__LoginCompleteRequest complete;
    Sso__Profile profile;
    SSO_CHECK(s_new(kit, &t, "txn-complete-scim00001"));
    s_complete_request(&complete, &profile, t.id);
    profile.email = "Ada@Example.com";
    int64_t codes = s_count(kit, "authorization_codes");
    Sso__LoginRedirectReply *r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && !*r->code && !strcmp(r->redirect_uri, S_REDIRECT)
              && !strcmp(r->redirect_error, "access_denied")
              && strstr(r->redirect_error_description, "deactivated"));
    sso__login_redirect_reply__free_unpacked(r, NULL);
    SSO_CHECK(s_count(kit, "authorization_codes") == codes);
    SSO_CHECK(dir_testkit_rpc_error(kit, S_COMPLETE, &complete.base, "consumed", NULL));
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/events?connection_id=conn_simulator", NULL,
                               &body) == 200);
    json_t *event = json_array_get(json_object_get(body, "data"), 0);
    char expect[256];
    snprintf(expect, sizeof expect, "scim: Ada@Example.com is deactivated in the organization's "
             "directory %s (user usr_ada): expected an active user", dir_id);
    SSO_CHECK(!strcmp(dir_testkit_str(event, "outcome"), "failure")
              && !strcmp(dir_testkit_str(event, "reason"), expect));
    json_decref(body);

    /* Active, in two groups (one also from the IdP, in another case; one deleted): the SCIM
       id and the groups merged. */
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE scim_users SET active = 1 WHERE id = 'usr_ada'",
                         NULL) == DIR_DB_OK);
    const char *group = "INSERT INTO scim_groups (id, directory_id, display_name, "
                        "display_name_lower, resource_json, created_at, updated_at, deleted_at) "
                        "VALUES (?1, ?2, ?3, lower(?3), '{}', 1, 1, nullif(?4, 0))";
    SSO_CHECK(dir_db_run(db, NULL, group, "sssi", "grp_1", dir_id, "Engineering", (int64_t) 0)
                  == DIR_DB_OK
              && dir_db_run(db, NULL, group, "sssi", "grp_2", dir_id, "Admins", (int64_t) 0)
                     == DIR_DB_OK
              && dir_db_run(db, NULL, group, "sssi", "grp_3", dir_id, "Gone", (int64_t) 9)
                     == DIR_DB_OK
              && dir_db_run(db, NULL, "INSERT INTO scim_group_members (group_id, user_id) "
                                      "VALUES ('grp_1', 'usr_ada'), ('grp_2', 'usr_ada'), "
                                      "('grp_3', 'usr_ada')", NULL) == DIR_DB_OK);
    char *idp_groups[] = {"admins", "staff"};
    SSO_CHECK(s_new(kit, &t, "txn-complete-scim00002"));
    s_complete_request(&complete, &profile, t.id);
    profile.groups = idp_groups;
    profile.n_groups = 2;
    profile.scim_user_id = "usr_forged"; /* the directory's to say, not the caller's */
    r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && *r->code && !*r->redirect_error);
    char *code = r && *r->code ? strdup(r->code) : NULL;
    sso__login_redirect_reply__free_unpacked(r, NULL);
    Sso__CodeRedeemRequest redeem = SSO__CODE_REDEEM_REQUEST__INIT;
    redeem.code = code ? code : "";
    redeem.client_id = s_client;
    redeem.client_secret = s_client_secret;
    redeem.redirect_uri = S_REDIRECT;
    redeem.code_verifier = S_VERIFIER;
    Sso__CodeRedeemReply *redeemed = dir_testkit_rpc(kit, S_REDEEM, &redeem.base);
    const Sso__Profile *got = redeemed && redeemed->grant ? redeemed->grant->profile : NULL;
    SSO_CHECK(got && !strcmp(got->scim_user_id, "usr_ada") && got->n_groups == 3
              && !strcmp(got->groups[0], "admins") && !strcmp(got->groups[1], "staff")
              && !strcmp(got->groups[2], "Engineering"));
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    free(code);

    /* Deleted: as if never provisioned (no SCIM id, the IdP's groups only, and signs in). */
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE scim_users SET active = 0, deleted_at = 5 WHERE id = "
                                   "'usr_ada'", NULL) == DIR_DB_OK);
    SSO_CHECK(s_new(kit, &t, "txn-complete-scim00003"));
    s_complete_request(&complete, &profile, t.id);
    profile.scim_user_id = "usr_forged";
    r = dir_testkit_rpc(kit, S_COMPLETE, &complete.base);
    SSO_CHECK(r && !r->error && *r->code);
    code = r && *r->code ? strdup(r->code) : NULL;
    sso__login_redirect_reply__free_unpacked(r, NULL);
    redeem.code = code ? code : "";
    redeemed = dir_testkit_rpc(kit, S_REDEEM, &redeem.base);
    got = redeemed && redeemed->grant ? redeemed->grant->profile : NULL;
    SSO_CHECK(got && !*got->scim_user_id && got->n_groups == 0);
    sso__code_redeem_reply__free_unpacked(redeemed, NULL);
    free(code);
}

static void s_test(dir_testkit_t *kit)
{
    SSO_CHECK(dir_testkit_client_secret(kit, S_REDIRECT, s_client, sizeof s_client,
                                        s_client_secret, sizeof s_client_secret) == 0);
    s_test_create(kit);
    s_test_get(kit);
    s_test_upstream(kit);
    s_test_complete(kit);
    s_test_complete_scim(kit);
    s_test_fail(kit);
    s_test_expiry(kit);
    s_test_complete_replay(kit);
    s_test_caller_view(kit);
}

void dir_txn_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run_seeded(s_test);
}
