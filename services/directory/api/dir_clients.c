/* dir_clients: client registration and authentication. */
#include "api/dir_clients.h"
#include "dir_seed.h"
#include "dir_testkit.h"
#include "api/dir_valid.h"
#include "sso_bus.h"
#include "sso_crypto.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>

#define DIR_CLIENT_NAME_MAX 200
#define DIR_REDIRECT_URIS_MAX 50
#define DIR_REDIRECT_URI_MAX 2048
#define DIR_SECRET_MAX 512
/* rotate_secret: how long the previous secret keeps working when the body does not say. */
#define DIR_ROTATE_OVERLAP_DEFAULT (24 * 3600)
#define DIR_ROTATE_OVERLAP_MAX (30 * 24 * 3600)

/* The redirect URIs of a client, in registration order (new reference). */
static json_t *s_redirect_uris(dir_t *dir, const char *id)
{
    return dir_api_column(dir, "SELECT uri FROM client_redirect_uris WHERE client_id = ? "
                               "ORDER BY position", "s", id);
}

#define S_COLUMNS "id, name, is_admin, created_at, updated_at, initiate_login_uri"

/* The dashboard's Try it client is the broker's own (dir_seed keeps its one redirect URI on
   the public URL, and it has no secret): nothing through the API may change it. */
static bool s_is_try(const char *id)
{
    return strcmp(id, DIR_SEED_TRY_CLIENT_ID) == 0;
}

static zframe_t *s_try_refused(void)
{
    return sso_http_error(409, "conflict", DIR_SEED_TRY_CLIENT_ID " is the developer dashboard's "
                                           "built-in Try it client: the broker keeps it, with no "
                                           "secret and its one redirect URI on SSO_PUBLIC_URL");
}

static json_t *s_row_json(dir_t *dir, dir_db_stmt_t *stmt)
{
    const char *id = dir_db_text(stmt, 0);
    bool admin = dir_db_int64(stmt, 2) != 0;
    const char *initiate = dir_db_text(stmt, 5);
    return json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:o, s:o, s:o}", "id", id, "client_id", id,
                     "name", dir_db_text(stmt, 1), "redirect_uris", s_redirect_uris(dir, id),
                     "is_admin", admin, "built_in", admin || s_is_try(id), "created_at",
                     dir_json_time(dir_db_int64(stmt, 3)), "updated_at",
                     dir_json_time(dir_db_int64(stmt, 4)), "initiate_login_uri",
                     *initiate ? json_string(initiate) : json_null());
}

/* The client as JSON, or NULL when there is none. */
static json_t *s_get(dir_t *dir, const char *id)
{
    return dir_api_row(dir, s_row_json, "SELECT " S_COLUMNS " FROM clients WHERE id = ?", "s", id);
}

/* Validates redirect_uris (if present) into a de-duplicated array (new reference) in
   *out; 0 when absent (out NULL), 1 when present, -1 with err. */
static int s_read_uris(json_t *body, json_t **out, dir_error_t *err)
{
    *out = NULL;
    json_t *list = NULL;
    int rc = dir_json_strings(body, "redirect_uris", "redirect_uris", 0, DIR_REDIRECT_URIS_MAX,
                              DIR_REDIRECT_URI_MAX, &list, err);
    if (rc <= 0)
        return rc;
    json_t *clean = json_array();
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item) {
        const char *uri = json_string_value(item);
        char why[160];
        if (dir_redirect_uri_check(uri, why, sizeof why) != 0) {
            dir_bad_request(err, "redirect_uris[%zu] %s", index, why);
            json_decref(clean);
            return -1;
        }
        bool seen = false;
        for (size_t j = 0; j < json_array_size(clean); j++)
            seen |= strcmp(json_string_value(json_array_get(clean, j)), uri) == 0;
        if (!seen)
            json_array_append(clean, item);
    }
    *out = clean;
    return 1;
}

/* initiate_login_uri (if present) into *out: NULL when absent, "" when null or "" (none, on
   PATCH: removed), else the URI, checked as a redirect URI is. 0, or -1 with err. */
static int s_read_initiate(json_t *body, const char **out, dir_error_t *err)
{
    *out = NULL;
    json_t *value = json_object_get(body, "initiate_login_uri");
    if (!value)
        return 0;
    if (json_is_null(value)) {
        *out = "";
        return 0;
    }
    const char *uri = NULL;
    if (dir_json_string(body, "initiate_login_uri", "initiate_login_uri", 0, DIR_REDIRECT_URI_MAX,
                        &uri, err) < 0)
        return -1;
    char why[160];
    if (*uri && dir_redirect_uri_check(uri, why, sizeof why) != 0) {
        dir_bad_request(err, "initiate_login_uri %s", why);
        return -1;
    }
    *out = uri;
    return 0;
}

static int s_store_uris(dir_t *dir, const char *id, json_t *uris)
{
    if (dir_db_run(dir->db, NULL, "DELETE FROM client_redirect_uris WHERE client_id = ?", "s", id)
        != DIR_DB_OK)
        return -1;
    size_t index;
    json_t *item;
    json_array_foreach(uris, index, item) {
        if (dir_db_run(dir->db, NULL, "INSERT INTO client_redirect_uris (client_id, position, "
                                      "uri) VALUES (?, ?, ?)", "sis", id, (int64_t) index,
                       json_string_value(item)) != DIR_DB_OK)
            return -1;
    }
    return 0;
}

static zframe_t *s_create(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err), *uris = NULL;
    const char *name = NULL, *initiate = NULL;
    zframe_t *reply = NULL;
    char *id = NULL, *secret = NULL, *hash = NULL;
    if (!body
        || dir_json_string(body, "name", "name", DIR_REQUIRED | DIR_NONEMPTY, DIR_CLIENT_NAME_MAX,
                           &name, &err) < 0
        || s_read_uris(body, &uris, &err) < 0 || s_read_initiate(body, &initiate, &err) < 0)
        goto done;
    if (!uris)
        uris = json_array();
    id = sso_random_id("cli_", 10);
    secret = sso_random_token(32);
    hash = secret ? sso_secret_hash(secret) : NULL;
    int64_t now = dir_now();
    if (!id || !hash || dir_db_begin(req->dir->db) != 0) {
        dir_server_error(&err);
        goto done;
    }
    if (dir_db_run(req->dir->db, NULL, "INSERT INTO clients (id, name, secret_hash, is_admin, "
                                       "created_at, updated_at, initiate_login_uri) VALUES "
                                       "(?, ?, ?, 0, ?, ?, nullif(?, ''))",
                   "sssiis", id, name, hash, now, now, initiate ? initiate : "") != DIR_DB_OK
        || s_store_uris(req->dir, id, uris) != 0 || dir_db_commit(req->dir->db) != 0) {
        dir_db_rollback(req->dir->db);
        dir_server_error(&err);
        goto done;
    }
    json_t *json = s_get(req->dir, id);
    if (!json) {
        dir_server_error(&err);
        goto done;
    }
    /* The only time the secret leaves the directory. */
    json_object_set_new(json, "client_secret", json_string(secret));
    reply = sso_http_json(201, json);
    sso_info("client %s created", id);
done:
    json_decref(body);
    json_decref(uris);
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    free(hash);
    free(id);
    return reply ? reply : dir_error_reply(&err);
}

static zframe_t *s_list(dir_api_req_t *req, const char *unused)
{
    (void) unused;
    return dir_api_list(req, NULL, NULL, s_row_json,
                        "SELECT " S_COLUMNS ", seq FROM clients WHERE seq > ? ORDER BY seq LIMIT ?",
                        NULL);
}

static zframe_t *s_show(dir_api_req_t *req, const char *id)
{
    return dir_api_found(s_get(req->dir, id), "client", id);
}

static zframe_t *s_patch(dir_api_req_t *req, const char *id)
{
    if (s_is_try(id))
        return s_try_refused();
    dir_error_t err = {0};
    json_t *body = dir_api_body(req, &err), *uris = NULL;
    const char *name = NULL, *initiate = NULL;
    zframe_t *reply = NULL;
    if (!body
        || dir_json_string(body, "name", "name", DIR_NONEMPTY, DIR_CLIENT_NAME_MAX, &name, &err)
               < 0
        || s_read_uris(body, &uris, &err) < 0 || s_read_initiate(body, &initiate, &err) < 0)
        goto done;
    if (dir_db_begin(req->dir->db) != 0) {
        dir_server_error(&err);
        goto done;
    }
    int changes = 0;
    /* initiate_login_uri: absent keeps it, null or "" removes it. */
    if (dir_db_run(req->dir->db, &changes, "UPDATE clients SET name = coalesce(?, name), "
                                           "initiate_login_uri = CASE WHEN ? = 1 THEN nullif(?, '') "
                                           "ELSE initiate_login_uri END, updated_at = ? "
                                           "WHERE id = ?",
                   "sisis", name, (int64_t) (initiate != NULL), initiate ? initiate : "",
                   dir_now(), id) != DIR_DB_OK
        || (changes == 1 && uris && s_store_uris(req->dir, id, uris) != 0)) {
        dir_db_rollback(req->dir->db);
        dir_server_error(&err);
        goto done;
    }
    if (changes == 0) {
        dir_db_rollback(req->dir->db);
        dir_not_found(&err, "no client %s", id);
        goto done;
    }
    if (dir_db_commit(req->dir->db) != 0) {
        dir_server_error(&err);
        goto done;
    }
    json_t *json = s_get(req->dir, id);
    reply = json ? sso_http_json(200, json) : NULL;
    if (!json)
        dir_server_error(&err);
done:
    json_decref(body);
    json_decref(uris);
    return reply ? reply : dir_error_reply(&err);
}

static zframe_t *s_delete(dir_api_req_t *req, const char *id)
{
    if (s_is_try(id))
        return s_try_refused();
    int64_t admin = dir_db_int(req->dir->db, "SELECT is_admin FROM clients WHERE id = ?", "s", id);
    if (admin < 0)
        return dir_api_not_found("client", id);
    if (admin == 1)
        return sso_http_error(409, "conflict", "the bootstrap admin client cannot be deleted; "
                                               "change SSO_ADMIN_CLIENT_ID instead");
    /* Its redirect URIs, tokens and pending logins go with it (ON DELETE CASCADE). */
    return dir_api_delete(req->dir, "DELETE FROM clients WHERE id = ? AND is_admin = 0", "client",
                          id, "");
}

/* POST /clients/{id}/rotate_secret: a new secret, shown once; the one it replaces keeps
   working for overlap_seconds (so the app can switch without downtime), and the one before
   that, if any, stops now: at most two secrets authenticate a client. */
static zframe_t *s_rotate(dir_api_req_t *req, const char *id)
{
    if (s_is_try(id))
        return s_try_refused();
    dir_error_t err = {0};
    int64_t overlap = 0;
    if (dir_api_overlap(req, DIR_ROTATE_OVERLAP_DEFAULT, DIR_ROTATE_OVERLAP_MAX, "secret",
                        "30 days", &overlap, &err) != 0)
        return dir_error_reply(&err);
    int64_t admin = dir_db_int(req->dir->db, "SELECT is_admin FROM clients WHERE id = ?", "s", id);
    if (admin < 0)
        return dir_api_not_found("client", id);
    if (admin == 1)
        return sso_http_error(409, "conflict", "the bootstrap admin client's secret comes from "
                                               "SSO_ADMIN_CLIENT_SECRET or the admin-credentials "
                                               "file; change it there");
    char *secret = sso_random_token(32);
    char *hash = secret ? sso_secret_hash(secret) : NULL;
    int64_t now = dir_now();
    int64_t expires_at = now + overlap;
    int changes = 0;
    zframe_t *reply = NULL;
    if (!hash || dir_db_run(req->dir->db, &changes,
                            "UPDATE clients SET previous_secret_hash = CASE WHEN ?1 > 0 THEN "
                            "secret_hash END, previous_secret_expires_at = CASE WHEN ?1 > 0 THEN "
                            "?2 END, secret_hash = ?3, updated_at = ?4 WHERE id = ?5 AND "
                            "is_admin = 0",
                            "iisis", overlap, expires_at, hash, now, id) != DIR_DB_OK)
        reply = dir_api_db_error();
    else if (changes == 0)
        reply = dir_api_not_found("client", id); /* deleted meanwhile */
    else {
        /* The only time the new secret leaves the directory. */
        json_t *json = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "client_id", id,
                                 "client_secret", secret, "previous_secret_expires_at",
                                 overlap > 0 ? dir_json_time(expires_at) : json_null());
        reply = json ? sso_http_json(200, json) : dir_api_db_error();
        sso_info("client %s: secret rotated; the previous one %s", id,
                 overlap > 0 ? "works for an overlap" : "stopped at once");
    }
    if (secret) {
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    free(hash);
    return reply;
}

zframe_t *dir_clients_http(dir_api_req_t *req)
{
    static const dir_api_methods_t collection = {.get = s_list, .post = s_create};
    static const dir_api_methods_t item = {.get = s_show, .patch = s_patch, .del = s_delete};
    static const dir_api_methods_t rotate = {.post = s_rotate};
    if (req->n_segments == 1)
        return dir_api_dispatch(req, &collection, NULL);
    if (req->n_segments == 2)
        return dir_api_dispatch(req, &item, req->segments[1]);
    if (strcmp(req->segments[2], "rotate_secret") == 0)
        return dir_api_dispatch(req, &rotate, req->segments[1]);
    return sso_http_error(404, "not_found", "no such path under /api/v1");
}

void dir_clients_limited(dir_error_t *err, int64_t retry_after)
{
    dir_rpc_error(err, "too_many_requests",
                  "too many failed client authentications; retry after %lld s",
                  (long long) retry_after);
    err->retry_after = retry_after;
}

/* The longest wait of the keys that apply, in whole seconds rounded up; 0 when none waits. */
static int64_t s_wait_s(const dir_auth_limit_t *limit, const char *client_key,
                        const char *address_key, int64_t now_ms)
{
    int64_t client_ms = *client_key ? dir_auth_limit_wait_ms(limit, client_key, now_ms) : 0;
    int64_t address_ms = *address_key ? dir_auth_limit_wait_ms(limit, address_key, now_ms) : 0;
    int64_t ms = client_ms > address_ms ? client_ms : address_ms;
    return (ms + 999) / 1000;
}

Sso__ClientAuthReply *dir_clients_auth(dir_t *dir, const char *client_id, const char *secret,
                                       const char *client_address, int64_t *retry_after)
{
    *retry_after = 0;
    Sso__ClientAuthReply *reply = malloc(sizeof *reply);
    if (!reply)
        return NULL;
    sso__client_auth_reply__init(reply);
    if (!client_id || !secret || !*client_id || !*secret || strlen(client_id) > DIR_API_ID_MAX
        || strlen(secret) > DIR_SECRET_MAX)
        return reply;
    int64_t now = dir_now();
    /* The previous secret only while its overlap lasts: checked here, before the cache, so a
       verification cached during the overlap cannot outlive it. */
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT secret_hash, is_admin, name, CASE WHEN "
                                                "previous_secret_expires_at > ?2 THEN "
                                                "previous_secret_hash END FROM clients WHERE "
                                                "id = ?1", "si", client_id, now);
    if (!stmt) {
        free(reply);
        return NULL;
    }
    int step = dir_db_step(stmt);
    if (step != DIR_DB_ROW && step != DIR_DB_DONE) {
        /* The database failed (a restart): a server error, never "unknown client", which
           would refuse a good secret and count a failure against the client. */
        dir_db_release(stmt);
        free(reply);
        return NULL;
    }
    bool known = step == DIR_DB_ROW;
    /* Failures count per address, and per client id only for a registered client: random
       ids take no entries of their own. */
    char client_key[DIR_AUTH_LIMIT_KEY_MAX] = "", address_key[DIR_AUTH_LIMIT_KEY_MAX] = "";
    if (known && dir_auth_limit_client_key(client_id, client_address, client_key) != 0)
        *client_key = '\0';
    if (dir_auth_limit_address_key(client_address, address_key) != 0)
        *address_key = '\0';
    int64_t now_ms = sso_now_ms();
    /* A secret verified a moment ago passes without PBKDF2, lockout or not: a guesser cannot
       lock the client out of what it already proved. Anything else waits out a lockout
       before any hashing. */
    const char *previous = known && !dir_db_is_null(stmt, 3) ? dir_db_text(stmt, 3) : NULL;
    bool ok = known && (dir_secret_cache_known(dir->secret_cache, client_id, dir_db_text(stmt, 0),
                                               secret, now)
                        || (previous && dir_secret_cache_known(dir->secret_cache, client_id,
                                                               previous, secret, now)));
    if (!ok && (*retry_after = s_wait_s(dir->auth_limit, client_key, address_key, now_ms)) > 0) {
        dir_db_release(stmt);
        return reply;
    }
    /* An unknown client costs the same hash as a known one, so timing does not tell them
       apart. */
    static char *dummy;
    if (!dummy)
        dummy = sso_secret_hash("dummy secret for unknown clients");
    /* A known client goes through the cache: the same secret against the same stored hash
       verified less than DIR_SECRET_CACHE_TTL ago skips PBKDF2 (a rotated secret misses).
       During a rotation's overlap the previous secret is tried second (a wrong secret then
       costs two hashes). */
    if (!ok)
        ok = known ? dir_secret_cache_verify(dir->secret_cache, client_id, dir_db_text(stmt, 0),
                                             secret, now)
                         || (previous && dir_secret_cache_verify(dir->secret_cache, client_id,
                                                                 previous, secret, now))
                   : (sso_secret_verify(secret, dummy ? dummy : ""), false);
    if (!ok) {
        dir_auth_limit_failure(dir->auth_limit, client_key, now_ms);
        dir_auth_limit_failure(dir->auth_limit, address_key, now_ms);
    }
    else {
        dir_auth_limit_success(dir->auth_limit, client_key);
        reply->ok = true;
        reply->is_admin = dir_db_int64(stmt, 1) != 0;
        reply->client_id = strdup(client_id);
        reply->name = strdup(dir_db_text(stmt, 2));
        json_t *uris = s_redirect_uris(dir, client_id);
        reply->redirect_uris = calloc(json_array_size(uris) + 1, sizeof(char *));
        for (size_t i = 0; reply->redirect_uris && i < json_array_size(uris); i++)
            reply->redirect_uris[reply->n_redirect_uris++] =
                strdup(json_string_value(json_array_get(uris, i)));
        json_decref(uris);
        if (!reply->client_id || !reply->name || !reply->redirect_uris) {
            dir_db_release(stmt);
            sso__client_auth_reply__free_unpacked(reply, NULL);
            return NULL;
        }
    }
    dir_db_release(stmt);
    return reply;
}

Sso__ClientInfo *dir_clients_info(dir_t *dir, const char *id, dir_error_t *err)
{
    if (!dir_rpc_text(id, 1, DIR_API_ID_MAX)) {
        dir_rpc_error(err, "invalid_client", "client_id is missing or malformed");
        return NULL;
    }
    dir_db_stmt_t *stmt = dir_db_query(dir->db, "SELECT name FROM clients WHERE id = ?", "s", id);
    int step = stmt ? dir_db_step(stmt) : DIR_DB_ERROR;
    Sso__ClientInfo *client = step == DIR_DB_ROW ? malloc(sizeof *client) : NULL;
    if (client) {
        sso__client_info__init(client);
        client->client_id = dir_rpc_dup(id);
        client->name = dir_rpc_dup(dir_db_text(stmt, 0));
        json_t *uris = s_redirect_uris(dir, id);
        client->redirect_uris = dir_rpc_strings(uris, &client->n_redirect_uris);
        json_decref(uris);
    }
    dir_db_release(stmt);
    if (!client) {
        if (step == DIR_DB_DONE)
            dir_rpc_error(err, "invalid_client", "client_id %s is not a registered client", id);
        else
            dir_server_error(err);
    }
    return client;
}

static void s_test_client_info(dir_testkit_t *kit)
{
    char id[64] = "";
    SSO_CHECK(dir_testkit_client(kit, "https://app.test/login/callback?x=1", id, sizeof id) == 0);
    dir_error_t err = {0};
    Sso__ClientInfo *client = dir_clients_info(kit->dir, id, &err);
    SSO_CHECK(client && !strcmp(client->client_id, id) && !strcmp(client->name, "app")
              && client->n_redirect_uris == 1
              && !strcmp(client->redirect_uris[0], "https://app.test/login/callback?x=1"));
    if (client)
        sso__client_info__free_unpacked(client, NULL);
    const char *unknown[] = {"cli_unknown", "", "bad\x01id", NULL};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        memset(&err, 0, sizeof err);
        SSO_CHECK(!dir_clients_info(kit->dir, unknown[i], &err) && err.code
                  && !strcmp(err.code, "invalid_client") && *err.description);
    }
    memset(&err, 0, sizeof err);
    SSO_CHECK(!dir_clients_info(kit->dir, "cli_unknown", &err)
              && strstr(err.description, "cli_unknown"));
}

static void s_test(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients",
                               "{\"name\":\"Auth0 tenant\",\"redirect_uris\":"
                               "[\"https://t.auth0.com/login/callback\","
                               "\"http://localhost:3000/cb\","
                               "\"https://t.auth0.com/login/callback\"],\"extra\":1}",
                               &body) == 201);
    char id[64] = "", secret[128] = "";
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(secret, sizeof secret, "%s", dir_testkit_str(body, "client_secret"));
    SSO_CHECK(!strncmp(id, "cli_", 4) && !strcmp(dir_testkit_str(body, "client_id"), id));
    SSO_CHECK(strlen(secret) >= 40 && !strcmp(dir_testkit_str(body, "name"), "Auth0 tenant"));
    SSO_CHECK(json_array_size(json_object_get(body, "redirect_uris")) == 2);
    SSO_CHECK(strlen(dir_testkit_str(body, "created_at")) == 20);
    json_decref(body);
    /* Stored hashed only. */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM clients WHERE secret_hash = ?", "s", secret)
              == 0);

    /* Authentication: right secret, wrong secret, unknown client. */
    int64_t retry_after = -1;
    Sso__ClientAuthReply *auth = dir_clients_auth(kit->dir, id, secret, "", &retry_after);
    SSO_CHECK(auth && auth->ok && !auth->is_admin && auth->n_redirect_uris == 2
              && !strcmp(auth->redirect_uris[0], "https://t.auth0.com/login/callback")
              && !strcmp(auth->name, "Auth0 tenant"));
    sso__client_auth_reply__free_unpacked(auth, NULL);
    SSO_CHECK(retry_after == 0);
    auth = dir_clients_auth(kit->dir, id, "wrong", "", &retry_after);
    SSO_CHECK(auth && !auth->ok && !*auth->name && auth->n_redirect_uris == 0 && retry_after == 0);
    sso__client_auth_reply__free_unpacked(auth, NULL);
    auth = dir_clients_auth(kit->dir, "cli_nobody", secret, "", &retry_after);
    SSO_CHECK(auth && !auth->ok);
    sso__client_auth_reply__free_unpacked(auth, NULL);

    /* Refused input changes nothing. */
    int64_t before = dir_db_int(db, "SELECT count(*) FROM clients", NULL);
    const char *bad[] = {
        "{\"redirect_uris\":[]}",
        "{\"name\":5}",
        "{\"name\":\"x\",\"redirect_uris\":\"https://a.example.com/cb\"}",
        "{\"name\":\"x\",\"redirect_uris\":[\"http://a.example.com/cb\"]}",
        "{\"name\":\"x\",\"redirect_uris\":[\"https://a.example.com/cb#f\"]}",
        "{\"name\":\"x\",\"redirect_uris\":[\"/cb\"]}",
        "{\"name\":\"x\",\"redirect_uris\":[7]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients", bad[i], &body) == 400);
        SSO_CHECK(!strcmp(dir_testkit_str(body, "error"), "invalid_request"));
        json_decref(body);
    }
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients", "{\"name\":5}", &body) == 400);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "name"));
    json_decref(body);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM clients", NULL) == before);

    char path[128];
    snprintf(path, sizeof path, "/api/v1/clients/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    SSO_CHECK(!json_object_get(body, "client_secret") && !json_object_get(body, "secret_hash"));
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path, "{\"redirect_uris\":[\"http://x.com/\"]}",
                               NULL) == 400);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", path,
                               "{\"name\":\"Renamed\",\"redirect_uris\":[\"https://n.example.com/cb\"]}",
                               &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "name"), "Renamed")
              && json_array_size(json_object_get(body, "redirect_uris")) == 1);
    json_decref(body);
    SSO_CHECK(dir_testkit_call(kit, "PATCH", "/api/v1/clients/cli_none", "{\"name\":\"a\"}",
                               NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", "/api/v1/clients?page_size=1", NULL, &body) == 200);
    SSO_CHECK(json_array_size(json_object_get(body, "data")) == 1
              && *dir_testkit_str(body, "next_page_token"));
    json_decref(body);

    /* The admin client cannot be deleted; others can, and then no longer authenticate. */
    char admin_path[400];
    snprintf(admin_path, sizeof admin_path, "/api/v1/clients/%s", kit->admin_id);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", admin_path, NULL, NULL) == 409);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 404);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 404);
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM client_redirect_uris WHERE client_id = ?", "s",
                         id) == 0);
    auth = dir_clients_auth(kit->dir, id, secret, "", &retry_after);
    SSO_CHECK(auth && !auth->ok);
    sso__client_auth_reply__free_unpacked(auth, NULL);
}

/* dir_clients_auth once: ok, and *retry_after. */
static bool s_auth(dir_testkit_t *kit, const char *id, const char *secret, const char *address,
                   int64_t *retry_after)
{
    Sso__ClientAuthReply *auth = dir_clients_auth(kit->dir, id, secret, address, retry_after);
    SSO_CHECK(auth != NULL);
    bool ok = auth && auth->ok;
    if (auth)
        sso__client_auth_reply__free_unpacked(auth, NULL);
    return ok;
}

/* The limit on failures: a client id locked after DIR_AUTH_LIMIT_FAILURES, refused without
   hashing while locked (even with its secret), cleared by a success; an address locked after
   many unknown ids, which take no entries. Lockouts of 500 ms here. */
static void s_test_limit(dir_testkit_t *kit)
{
    const int base_ms = 500;
    dir_auth_limit_destroy(&kit->dir->auth_limit);
    kit->dir->auth_limit = dir_auth_limit_new(DIR_AUTH_LIMIT_SIZE, DIR_AUTH_LIMIT_FAILURES,
                                              base_ms);
    char id[64] = "", secret[128] = "", path[128];
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_call(kit, "POST", "/api/v1/clients", "{\"name\":\"limited\"}", &body)
              == 201);
    snprintf(id, sizeof id, "%s", dir_testkit_str(body, "id"));
    snprintf(secret, sizeof secret, "%s", dir_testkit_str(body, "client_secret"));
    json_decref(body);
    int64_t retry_after = -1;
    int64_t started = sso_now_ms();
    for (int i = 0; i < DIR_AUTH_LIMIT_FAILURES; i++)
        SSO_CHECK(!s_auth(kit, id, "wrong", "192.0.2.1", &retry_after) && retry_after == 0);
    int64_t hashing_ms = sso_now_ms() - started;
    /* Locked: from that address, with the right secret too, and with no PBKDF2: ten times the
       attempts take less time than the failures that ran it. */
    SSO_CHECK(!s_auth(kit, id, "wrong", "192.0.2.1", &retry_after) && retry_after == 1);
    started = sso_now_ms();
    for (int i = 0; i < 10 * DIR_AUTH_LIMIT_FAILURES; i++)
        SSO_CHECK(!s_auth(kit, id, secret, "192.0.2.1", &retry_after) && retry_after == 1);
    SSO_CHECK(sso_now_ms() - started < hashing_ms);
    /* Over the RPC: too_many_requests with retry_after. */
    Sso__ClientAuthRequest check = SSO__CLIENT_AUTH_REQUEST__INIT;
    check.client_id = id;
    check.client_secret = secret;
    check.client_address = "192.0.2.1";
    Sso__ClientAuthReply *reply = dir_testkit_rpc(kit, "TokenReads.ClientAuth", &check.base);
    SSO_CHECK(reply && reply->error == SSO__RPC_ERROR__TOO_MANY_REQUESTS && reply->retry_after == 1
              && strstr(reply->error_description, "retry after 1 s") && !reply->ok);
    sso__client_auth_reply__free_unpacked(reply, NULL);
    /* Client ids are public: the guesses at 192.0.2.1 do not lock the client out where it
       runs. */
    SSO_CHECK(s_auth(kit, id, secret, "192.0.2.3", &retry_after) && retry_after == 0);
    /* After the lockout the secret works, and the success clears the count: four more
       failures do not lock, the fifth does. */
    zclock_sleep(base_ms + 10);
    SSO_CHECK(s_auth(kit, id, secret, "192.0.2.1", &retry_after) && retry_after == 0);
    for (int i = 0; i < DIR_AUTH_LIMIT_FAILURES; i++)
        SSO_CHECK(!s_auth(kit, id, "wrong", "192.0.2.5", &retry_after) && retry_after == 0);
    SSO_CHECK(!s_auth(kit, id, "wrong", "192.0.2.5", &retry_after) && retry_after == 1);
    /* A secret verified a moment ago passes even while the client is locked. */
    SSO_CHECK(s_auth(kit, id, secret, "192.0.2.6", &retry_after) && retry_after == 0);

    /* Random client ids from one address: limited by the address (4 times the client limit),
       and none takes an entry of its own. */
    size_t entries = dir_auth_limit_size(kit->dir->auth_limit);
    for (int i = 0; i < 4 * DIR_AUTH_LIMIT_FAILURES; i++) {
        char random_id[32];
        snprintf(random_id, sizeof random_id, "cli_random%d", i);
        SSO_CHECK(!s_auth(kit, random_id, "guess", "2001:db8::1", &retry_after)
                  && retry_after == 0);
    }
    SSO_CHECK(dir_auth_limit_size(kit->dir->auth_limit) == entries + 1);
    SSO_CHECK(!s_auth(kit, "cli_random_next", "guess", "2001:db8::2", &retry_after)
              && retry_after == 1);
    /* The address's lock holds for a registered client from it too; not from elsewhere. */
    SSO_CHECK(!s_auth(kit, id, "wrong", "2001:db8::3", &retry_after) && retry_after == 1);
    SSO_CHECK(!s_auth(kit, id, "wrong", "198.51.100.1", &retry_after) && retry_after == 0);
    /* No address (an internal caller): nothing to count but a registered id. */
    SSO_CHECK(!s_auth(kit, "cli_random_x", "guess", "", &retry_after) && retry_after == 0);
    SSO_CHECK(dir_auth_limit_size(kit->dir->auth_limit) == entries + 3);
    snprintf(path, sizeof path, "/api/v1/clients/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "DELETE", path, NULL, NULL) == 204);
}

/* The stored secret hash of client id (caller frees), for checking that a refusal left it. */
static char *s_stored_hash(dir_testkit_t *kit, const char *id)
{
    dir_db_stmt_t *stmt = dir_db_query(kit->dir->db, "SELECT secret_hash FROM clients WHERE "
                                                     "id = ?", "s", id);
    char *hash = stmt && dir_db_step(stmt) == DIR_DB_ROW ? strdup(dir_db_text(stmt, 0)) : NULL;
    dir_db_release(stmt);
    return hash;
}

/* POST rotate_secret for id with body; the new secret into secret (when 200). */
static int s_rotate_call(dir_testkit_t *kit, const char *id, const char *body, char *secret,
                         size_t size, json_t **reply)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/clients/%s/rotate_secret", id);
    json_t *json = NULL;
    int status = dir_testkit_call(kit, "POST", path, body, &json);
    if (status == 200 && secret)
        snprintf(secret, size, "%s", dir_testkit_str(json, "client_secret"));
    if (reply)
        *reply = json;
    else
        json_decref(json);
    return status;
}

/* Rotation: the new secret and the previous one (for its overlap) authenticate, nothing
   older; the overlap's end and overlap 0 stop the previous one at once, cached or not. */
static void s_test_rotate(dir_testkit_t *kit)
{
    dir_db_t *db = kit->dir->db;
    char id[64] = "", s0[128] = "", s1[128] = "", s2[128] = "", s3[128] = "";
    json_t *body = NULL;
    SSO_CHECK(dir_testkit_client_secret(kit, "https://app.test/cb", id, sizeof id, s0, sizeof s0)
              == 0);
    int64_t retry_after = 0;
    SSO_CHECK(s_auth(kit, id, s0, "", &retry_after)); /* now in the cache */

    /* No body: the default overlap of 24 hours. */
    int64_t now = dir_now();
    SSO_CHECK(s_rotate_call(kit, id, NULL, s1, sizeof s1, &body) == 200);
    SSO_CHECK(!strcmp(dir_testkit_str(body, "id"), id)
              && !strcmp(dir_testkit_str(body, "client_id"), id) && strlen(s1) >= 40
              && strcmp(s1, s0) != 0 && json_object_size(body) == 4);
    SSO_CHECK(strlen(dir_testkit_str(body, "previous_secret_expires_at")) == 20);
    json_decref(body);
    int64_t lasts = dir_db_int(db, "SELECT previous_secret_expires_at FROM clients WHERE id = ?",
                               "s", id) - now;
    SSO_CHECK(lasts >= DIR_ROTATE_OVERLAP_DEFAULT && lasts <= DIR_ROTATE_OVERLAP_DEFAULT + 2);
    /* Stored hashed, both. */
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM clients WHERE secret_hash IN (?, ?) OR "
                             "previous_secret_hash IN (?, ?)", "ssss", s0, s1, s0, s1) == 0);
    SSO_CHECK(s_auth(kit, id, s1, "", &retry_after) && s_auth(kit, id, s0, "", &retry_after));
    SSO_CHECK(!s_auth(kit, id, "wrong", "", &retry_after));
    /* A GET never shows a secret or a hash. */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/clients/%s", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, &body) == 200);
    char *text = json_dumps(body, 0);
    SSO_CHECK(text && !strstr(text, "secret") && !strstr(text, s1));
    free(text);
    json_decref(body);

    /* A second rotation: s1 becomes the previous one, s0 stops (though cached). */
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":3600}", s2, sizeof s2, NULL) == 200);
    SSO_CHECK(s_auth(kit, id, s2, "", &retry_after) && s_auth(kit, id, s1, "", &retry_after));
    SSO_CHECK(!s_auth(kit, id, s0, "", &retry_after));
    /* The overlap's end: s1, verified (and cached) a moment ago, stops; a second before it
       still works. */
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE clients SET previous_secret_expires_at = ? WHERE "
                                   "id = ?", "is", dir_now() + 2, id) == DIR_DB_OK);
    SSO_CHECK(s_auth(kit, id, s1, "", &retry_after));
    SSO_CHECK(dir_db_run(db, NULL, "UPDATE clients SET previous_secret_expires_at = ? WHERE "
                                   "id = ?", "is", dir_now(), id) == DIR_DB_OK);
    SSO_CHECK(!s_auth(kit, id, s1, "", &retry_after) && s_auth(kit, id, s2, "", &retry_after));

    /* overlap 0: the previous secret (s2, cached) stops at once; nothing is kept. */
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":0}", s3, sizeof s3, &body) == 200);
    SSO_CHECK(json_is_null(json_object_get(body, "previous_secret_expires_at")));
    json_decref(body);
    SSO_CHECK(!s_auth(kit, id, s2, "", &retry_after) && s_auth(kit, id, s3, "", &retry_after));
    SSO_CHECK(dir_db_int(db, "SELECT count(*) FROM clients WHERE id = ? AND previous_secret_hash "
                             "IS NULL AND previous_secret_expires_at IS NULL", "s", id) == 1);
    /* The longest overlap is 30 days. */
    char s4[128] = "";
    SSO_CHECK(s_rotate_call(kit, id, "{\"overlap_seconds\":2592000}", s4, sizeof s4, NULL)
              == 200);
    SSO_CHECK(s_auth(kit, id, s3, "", &retry_after) && s_auth(kit, id, s4, "", &retry_after));

    /* Refused: every wrong value, each saying what is wanted, and nothing changes. */
    char *before = s_stored_hash(kit, id);
    const char *bad[] = {"{\"overlap_seconds\":null}",     "{\"overlap_seconds\":\"\"}",
                         "{\"overlap_seconds\":-1}",       "{\"overlap_seconds\":2592001}",
                         "{\"overlap_seconds\":1.5}",      "{\"overlap_seconds\":\"3600\"}",
                         "{\"overlap_seconds\":\"24h\"}",  "{\"overlap_seconds\":true}",
                         "{\"overlap_seconds\":[60]}",     "{\"overlap_seconds\":1e300}",
                         "{\"overlap_seconds\":-9223372036854775808}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SSO_CHECK(s_rotate_call(kit, id, bad[i], NULL, 0, &body) == 400);
        SSO_CHECK(dir_testkit_refused(400, &body, "overlap_seconds must be a whole number of "
                                                  "seconds from 0"));
    }
    SSO_CHECK(s_rotate_call(kit, id, "{", NULL, 0, NULL) == 400);
    SSO_CHECK(s_rotate_call(kit, id, "[0]", NULL, 0, NULL) == 400);
    char *after = s_stored_hash(kit, id);
    SSO_CHECK(before && after && !strcmp(before, after));
    free(before);
    free(after);
    SSO_CHECK(s_auth(kit, id, s3, "", &retry_after) && s_auth(kit, id, s4, "", &retry_after));

    /* Unknown clients, the admin client, other methods and paths. */
    SSO_CHECK(s_rotate_call(kit, "cli_none", "{}", NULL, 0, &body) == 404);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "cli_none"));
    json_decref(body);
    SSO_CHECK(s_rotate_call(kit, "cli_none", "{\"overlap_seconds\":\"x\"}", NULL, 0, NULL) == 400);
    char *admin_hash = s_stored_hash(kit, kit->admin_id);
    SSO_CHECK(s_rotate_call(kit, kit->admin_id, "{}", NULL, 0, &body) == 409);
    SSO_CHECK(strstr(dir_testkit_str(body, "error_description"), "SSO_ADMIN_CLIENT_SECRET"));
    json_decref(body);
    char *admin_after = s_stored_hash(kit, kit->admin_id);
    SSO_CHECK(admin_hash && admin_after && !strcmp(admin_hash, admin_after));
    free(admin_hash);
    free(admin_after);
    snprintf(path, sizeof path, "/api/v1/clients/%s/rotate_secret", id);
    SSO_CHECK(dir_testkit_call(kit, "GET", path, NULL, NULL) == 405);
    snprintf(path, sizeof path, "/api/v1/clients/%s/rotate", id);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{}", NULL) == 404);
    snprintf(path, sizeof path, "/api/v1/clients/%s/rotate_secret/x", id);
    SSO_CHECK(dir_testkit_call(kit, "POST", path, "{}", NULL) == 404);
    SSO_CHECK(s_auth(kit, id, s4, "", &retry_after));
}

void dir_clients_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_test_client_info);
    dir_testkit_run(s_test_limit);
    dir_testkit_run(s_test_rotate);
}
