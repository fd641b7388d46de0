/* dir_signing: signing key storage. */
#include "vault/dir_signing.h"
#include "vault/dir_pki.h"
#include "dir_testkit.h"
#include "sso_crypto.h"
#include "sso_jose.h"
#include "sso_log.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define DIR_KID_MAX 128
#define DIR_KEY_PEM_MAX 16384
#define DIR_JWK_MAX 8192
#define DIR_KEYS_MAX 64

static void s_aad(char *out, size_t size, const char *kid)
{
    snprintf(out, size, "signing_key:%s", kid);
}

Sso__KeysListReply *dir_signing_list(dir_t *dir, bool with_private)
{
    Sso__KeysListReply *reply = malloc(sizeof *reply);
    Sso__SigningKey **keys = calloc(DIR_KEYS_MAX, sizeof *keys);
    if (!reply || !keys) {
        free(reply);
        free(keys);
        return NULL;
    }
    sso__keys_list_reply__init(reply);
    reply->keys = keys;
    dir_db_stmt_t *stmt = dir_db_query(dir->db,
                                       "SELECT kid, private_key_sealed, public_jwk_json, "
                                       "created_at, active_from, retire_after FROM signing_keys "
                                       "WHERE retire_after = 0 OR retire_after > ? "
                                       "ORDER BY active_from DESC, created_at DESC, kid LIMIT ?",
                                       "ii", dir_now(), (int64_t) DIR_KEYS_MAX);
    if (!stmt) {
        sso__keys_list_reply__free_unpacked(reply, NULL);
        return NULL;
    }
    bool failed = false;
    int rc;
    while (!failed && (rc = dir_db_step(stmt)) == DIR_DB_ROW) {
        const char *kid = dir_db_text(stmt, 0);
        char *private_pem = NULL;
        if (with_private) {
            char aad[DIR_KID_MAX + 16];
            s_aad(aad, sizeof aad, kid);
            size_t sealed_len;
            const void *sealed = dir_db_blob(stmt, 1, &sealed_len);
            private_pem = dir_keys_open(dir->keys, sealed, sealed_len, aad, NULL);
            if (!private_pem) {
                sso_warn("signing key %s does not decrypt with this master key; skipped", kid);
                continue;
            }
        }
        Sso__SigningKey *key = malloc(sizeof *key);
        if (!key) {
            free(private_pem);
            failed = true;
            break;
        }
        sso__signing_key__init(key);
        key->kid = strdup(kid);
        key->public_jwk_json = strdup(dir_db_text(stmt, 2));
        if (private_pem)
            key->private_key_pem = private_pem;
        key->created_at = dir_db_int64(stmt, 3);
        key->active_from = dir_db_int64(stmt, 4);
        key->retire_after = dir_db_int64(stmt, 5);
        reply->keys[reply->n_keys++] = key;
        failed = !key->kid || !key->public_jwk_json;
    }
    dir_db_release(stmt);
    if (failed) {
        sso__keys_list_reply__free_unpacked(reply, NULL);
        return NULL;
    }
    return reply;
}

static int s_validate_kid(const Sso__SigningKey *key, dir_error_t *err)
{
    if (!key) {
        dir_bad_request(err, "key is required");
        return -1;
    }
    size_t kid_len = strlen(key->kid);
    if (kid_len == 0 || kid_len > DIR_KID_MAX) {
        dir_bad_request(err, "key.kid must be 1 to %d characters", DIR_KID_MAX);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *) key->kid; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f) {
            dir_bad_request(err, "key.kid must be printable ASCII");
            return -1;
        }
    if (key->created_at < 0 || key->active_from < 0 || key->retire_after < 0) {
        dir_bad_request(err, "key times must not be negative");
        return -1;
    }
    return 0;
}

static int s_validate_material(const Sso__SigningKey *key, dir_error_t *err)
{
    size_t pem_len = strlen(key->private_key_pem);
    BIO *bio = pem_len && pem_len <= DIR_KEY_PEM_MAX ? BIO_new_mem_buf(key->private_key_pem, -1)
                                                     : NULL;
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    bool pem_ok = pkey != NULL;
    EVP_PKEY_free(pkey);
    if (!pem_ok) {
        dir_bad_request(err, "key.private_key_pem is not a PEM private key");
        return -1;
    }
    json_t *jwk = strlen(key->public_jwk_json) <= DIR_JWK_MAX
                      ? json_loads(key->public_jwk_json, JSON_REJECT_DUPLICATES, NULL)
                      : NULL;
    bool jwk_ok = json_is_object(jwk);
    json_decref(jwk);
    if (!jwk_ok) {
        dir_bad_request(err, "key.public_jwk_json is not a JSON object");
        return -1;
    }
    return 0;
}

/* A key sent again under its kid: only retire_after changes, and only when whatever key
   material came with it is the stored one. Inside the caller's transaction. */
static int s_update_existing(dir_t *dir, const Sso__SigningKey *key, dir_db_stmt_t *stored,
                             const char *aad, dir_error_t *err)
{
    bool same = !*key->public_jwk_json
                || strcmp(key->public_jwk_json, dir_db_text(stored, 1)) == 0;
    if (same && *key->private_key_pem) {
        size_t sealed_len;
        const void *sealed = dir_db_blob(stored, 0, &sealed_len);
        char *pem = dir_keys_open(dir->keys, sealed, sealed_len, aad, NULL);
        same = pem && sso_secure_equals(pem, key->private_key_pem);
        if (pem) {
            OPENSSL_cleanse(pem, strlen(pem));
            free(pem);
        }
    }
    if (!same) {
        dir_bad_request(err, "a different signing key with kid %s exists", key->kid);
        return -1;
    }
    if (dir_db_run(dir->db, NULL, "UPDATE signing_keys SET retire_after = ? WHERE kid = ?", "is",
                   key->retire_after, key->kid) != DIR_DB_OK) {
        dir_server_error(err);
        return -1;
    }
    if (key->retire_after)
        sso_info("signing key %s is published until %lld", key->kid,
                 (long long) key->retire_after);
    return 0;
}

/* Inserts key with its sealed private half; inside the caller's transaction. 0 or -1. */
static int s_insert(dir_t *dir, const Sso__SigningKey *key, const uint8_t *sealed,
                    size_t sealed_len, int64_t created, int64_t active)
{
    int run = dir_db_run(dir->db, NULL,
                         "INSERT INTO signing_keys (kid, private_key_sealed, public_jwk_json, "
                         "created_at, active_from, retire_after) VALUES (?, ?, ?, ?, ?, ?)",
                         "sbsiii", key->kid, sealed, sealed_len, key->public_jwk_json, created,
                         active, key->retire_after);
    return run == DIR_DB_OK ? 0 : -1;
}

int dir_signing_put(dir_t *dir, const Sso__SigningKey *key, bool only_if_none, dir_error_t *err)
{
    if (s_validate_kid(key, err) != 0)
        return -1;
    bool material = *key->private_key_pem || *key->public_jwk_json;
    if (material && s_validate_material(key, err) != 0)
        return -1;
    char aad[DIR_KID_MAX + 16];
    s_aad(aad, sizeof aad, key->kid);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (material && dir_keys_seal(dir->keys, key->private_key_pem, strlen(key->private_key_pem),
                                  aad, &sealed, &sealed_len) != 0) {
        dir_server_error(err);
        return -1;
    }
    int64_t now = dir_now();
    int64_t created = key->created_at ? key->created_at : now;
    int64_t active = key->active_from ? key->active_from : created;
    int rc = -1;
    dir_db_stmt_t *stored = NULL;
    /* The keys' lock, as a rotation takes it: "only if none" is true for one instance only. */
    if (dir_db_begin(dir->db) != 0 || dir_db_lock(dir->db, "signing_keys") != 0) {
        dir_server_error(err);
        goto done;
    }
    int64_t existing = dir_db_int(dir->db, "SELECT count(*) FROM signing_keys", NULL);
    if (existing < 0) {
        dir_server_error(err);
        goto done;
    }
    if (only_if_none && existing > 0) {
        rc = 0; /* another instance won the race; its key stands */
        goto done;
    }
    stored = dir_db_query(dir->db, "SELECT private_key_sealed, public_jwk_json FROM "
                                   "signing_keys WHERE kid = ?", "s", key->kid);
    int step = stored ? dir_db_step(stored) : DIR_DB_ERROR;
    if (step == DIR_DB_ROW) {
        if (s_update_existing(dir, key, stored, aad, err) != 0)
            goto done;
    }
    else if (step != DIR_DB_DONE) {
        dir_server_error(err);
        goto done;
    }
    else if (!material) {
        dir_bad_request(err, "no signing key with kid %s; a new key needs private_key_pem and "
                             "public_jwk_json", key->kid);
        goto done;
    }
    else {
        if (s_insert(dir, key, sealed, sealed_len, created, active) != 0) {
            dir_server_error(err);
            goto done;
        }
    }
    dir_db_release(stored);
    stored = NULL;
    if (dir_db_commit(dir->db) != 0)
        dir_server_error(err);
    else
        rc = 0;
done:
    dir_db_release(stored);
    dir_db_rollback(dir->db);
    if (sealed)
        OPENSSL_cleanse(sealed, sealed_len);
    free(sealed);
    return rc;
}

int dir_signing_rotate(dir_t *dir, char **kid_p, int64_t *signs_from_p, dir_error_t *err)
{
    *kid_p = NULL;
    char *pem = NULL, *jwk = NULL, *kid = NULL;
    /* An RSA key takes a tenth of a second or so on this thread; rotations are rare. */
    if (sso_jose_signing_key_new(&pem, &jwk, &kid) != 0) {
        dir_server_error(err);
        return -1;
    }
    Sso__SigningKey key = SSO__SIGNING_KEY__INIT;
    key.kid = kid;
    key.private_key_pem = pem;
    key.public_jwk_json = jwk;
    char aad[DIR_KID_MAX + 16];
    s_aad(aad, sizeof aad, kid);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int rc = -1;
    if (dir_keys_seal(dir->keys, pem, strlen(pem), aad, &sealed, &sealed_len) != 0
        || dir_db_begin(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    /* A row lock first: a rotation writes from what it reads of the keys, so rotations on
       several directories at once must take turns (SQLite's write lock makes them; with
       PostgreSQL the next one waits here and then reads what the first committed). */
    if (dir_db_lock(dir->db, "signing_keys") != 0) {
        dir_server_error(err);
        goto done;
    }
    /* Made after every key there (a second later when one was made this second): the token
       instances order keys by creation, so the newest is the one that signs once active. */
    int64_t last = dir_db_int(dir->db, "SELECT coalesce(max(created_at), 0) FROM signing_keys",
                              NULL);
    if (last < 0) {
        dir_server_error(err);
        goto done;
    }
    int64_t now = dir_now();
    int64_t published = dir_db_int(dir->db, "SELECT count(*) FROM signing_keys WHERE "
                                            "retire_after = 0 OR retire_after > ?", "i", now);
    if (published < 0) {
        dir_server_error(err);
        goto done;
    }
    key.created_at = now > last ? now : last + 1;
    /* Published at once, signing only after the delay, so relying parties that cache the JWKS
       have fetched it by then; with no key published there is nothing to wait for, and a
       delay would leave nothing to sign with. */
    key.active_from = now + (published ? dir->key_rotation_delay_s : 0);
    int64_t retire_after = key.active_from + SSO_JOSE_TOKEN_LIFETIME_S;
    /* Every other key stays published until the tokens it signs before the new key takes over
       have expired, and no longer; one already retiring sooner keeps its time. One write, so
       rotations never interleave. */
    if (s_insert(dir, &key, sealed, sealed_len, key.created_at, key.active_from) != 0
        || dir_db_run(dir->db, NULL,
                      "UPDATE signing_keys SET retire_after = ? WHERE kid != ? "
                      "AND (retire_after = 0 OR retire_after > ?)",
                      "isi", retire_after, kid, retire_after) != DIR_DB_OK
        || dir_db_commit(dir->db) != 0) {
        dir_server_error(err);
        goto done;
    }
    sso_info("signing key %s stored; signs from %lld", kid, (long long) key.active_from);
    *kid_p = kid;
    kid = NULL;
    *signs_from_p = key.active_from;
    rc = 0;
done:
    dir_db_rollback(dir->db);
    if (sealed)
        OPENSSL_cleanse(sealed, sealed_len);
    free(sealed);
    OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
    free(jwk);
    free(kid);
    return rc;
}

json_t *dir_signing_states(dir_t *dir)
{
    Sso__KeysListReply *list = dir_signing_list(dir, false);
    if (!list)
        return NULL;
    int64_t now = dir_now();
    const Sso__SigningKey *signing = NULL;
    for (size_t i = 0; i < list->n_keys; i++) {
        const Sso__SigningKey *key = list->keys[i];
        if (key->active_from <= now
            && (!signing || sso_jose_key_signs_before(key->active_from, key->created_at,
                                                      key->kid, signing->active_from,
                                                      signing->created_at, signing->kid)))
            signing = key;
    }
    json_t *keys = json_array();
    for (size_t i = 0; keys && i < list->n_keys; i++) {
        const Sso__SigningKey *key = list->keys[i];
        json_t *jwk = json_loads(key->public_jwk_json, 0, NULL);
        const char *alg = json_string_value(json_object_get(jwk, "alg"));
        const char *state = key == signing ? "signing"
                            : key->active_from > now ? "next"
                                                     : "previous";
        json_t *item = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "kid", key->kid, "alg",
                                 alg ? alg : "RS256", "state", state, "created_at",
                                 dir_json_time(key->created_at), "signs_from",
                                 dir_json_time(key->active_from), "published_until",
                                 key->retire_after ? dir_json_time(key->retire_after)
                                                   : json_null());
        json_decref(jwk);
        if (!item || json_array_append_new(keys, item) != 0) {
            json_decref(keys);
            keys = NULL;
        }
    }
    sso__keys_list_reply__free_unpacked(list, NULL);
    return keys;
}

static void s_test(dir_testkit_t *kit)
{
    char *pem = NULL;
    Sso__SigningKey key;
    SSO_CHECK(dir_testkit_signing_key(&key, "k1", "{\"kty\":\"RSA\",\"kid\":\"k1\"}", &pem) == 0);
    key.created_at = 1000;
    dir_error_t err = {0};
    SSO_CHECK(dir_signing_put(kit->dir, &key, true, &err) == 0);
    /* only_if_none with a key present stores nothing. */
    key.kid = "k2";
    SSO_CHECK(dir_signing_put(kit->dir, &key, true, &err) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 1);
    /* The private key is sealed, bound to its kid. */
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT instr(private_key_sealed, 'PRIVATE') FROM "
                                       "signing_keys", NULL) == 0);
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == 0);
    /* k1 again: the same key is a no-op (a retried put); other key material is refused. */
    key.kid = "k1";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == 0);
    key.public_jwk_json = "{\"kty\":\"RSA\",\"kid\":\"x\"}";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == -1 && err.status == 400
              && strstr(err.description, "different"));
    char *other_pem = NULL;
    Sso__SigningKey other;
    SSO_CHECK(dir_testkit_signing_key(&other, "k1", "{\"kty\":\"RSA\",\"kid\":\"k1\"}",
                                      &other_pem) == 0);
    SSO_CHECK(dir_signing_put(kit->dir, &other, false, &err) == -1
              && strstr(err.description, "different"));
    free(other_pem);
    key.public_jwk_json = "{\"kty\":\"RSA\",\"kid\":\"k1\"}";
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = 'k1'",
                         NULL) == 0);
    key.private_key_pem = "nope";
    key.kid = "k3";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == -1
              && strstr(err.description, "private_key_pem"));
    key.private_key_pem = pem ? pem : "";
    key.public_jwk_json = "[1]";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == -1);
    key.kid = "";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == -1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 2);

    Sso__KeysListReply *list = dir_signing_list(kit->dir, true);
    SSO_CHECK(list && list->n_keys == 2 && pem && !strcmp(list->keys[0]->private_key_pem, pem));
    sso__keys_list_reply__free_unpacked(list, NULL);
    list = dir_signing_list(kit->dir, false);
    SSO_CHECK(list && list->n_keys == 2 && !*list->keys[0]->private_key_pem
              && strstr(list->keys[0]->public_jwk_json, "RSA"));
    sso__keys_list_reply__free_unpacked(list, NULL);

    /* Rotation: a key sent again under its kid (with its own material, or none) only sets
       retire_after, so the previous key stays published until its tokens expire. */
    Sso__SigningKey retire = SSO__SIGNING_KEY__INIT;
    retire.kid = "k2";
    retire.retire_after = dir_now() + 3600;
    SSO_CHECK(dir_signing_put(kit->dir, &retire, false, &err) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = 'k2'",
                         NULL) == retire.retire_after);
    list = dir_signing_list(kit->dir, false);
    SSO_CHECK(list && list->n_keys == 2);
    sso__keys_list_reply__free_unpacked(list, NULL);
    key.kid = "k2";
    key.public_jwk_json = "{\"kty\":\"RSA\",\"kid\":\"k1\"}";
    key.retire_after = 0;
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == 0);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = 'k2'",
                         NULL) == 0);
    key.public_jwk_json = "{\"kty\":\"RSA\",\"kid\":\"other\"}";
    SSO_CHECK(dir_signing_put(kit->dir, &key, false, &err) == -1);
    retire.kid = "k9";
    SSO_CHECK(dir_signing_put(kit->dir, &retire, false, &err) == -1
              && strstr(err.description, "no signing key"));
    retire.kid = "k2";
    retire.retire_after = -1;
    SSO_CHECK(dir_signing_put(kit->dir, &retire, false, &err) == -1);
    SSO_CHECK(dir_db_int(kit->dir->db, "SELECT count(*) FROM signing_keys", NULL) == 2);

    /* Retired keys are not listed; a value moved to another row does not open. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE signing_keys SET retire_after = 5 WHERE "
                                             "kid = 'k1'", NULL) == DIR_DB_OK);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE signing_keys SET private_key_sealed = "
                                             "(SELECT private_key_sealed FROM signing_keys WHERE "
                                             "kid = 'k1') WHERE kid = 'k2'", NULL) == DIR_DB_OK);
    list = dir_signing_list(kit->dir, true);
    SSO_CHECK(list && list->n_keys == 0);
    sso__keys_list_reply__free_unpacked(list, NULL);
    list = dir_signing_list(kit->dir, false);
    SSO_CHECK(list && list->n_keys == 1 && !strcmp(list->keys[0]->kid, "k2"));
    sso__keys_list_reply__free_unpacked(list, NULL);
    free(pem);
}

/* Rotations: the new key next, the one before it signing until then, then previous; each
   retires the keys before it at its signs_from + the token lifetime. */
static const char *s_state_of(json_t *states, const char *kid, const char *field)
{
    size_t i;
    json_t *item;
    json_array_foreach(states, i, item)
        if (!strcmp(json_string_value(json_object_get(item, "kid")), kid))
            return field ? json_string_value(json_object_get(item, field))
                         : json_string_value(json_object_get(item, "state"));
    return NULL;
}

static void s_rotate_test(dir_testkit_t *kit)
{
    json_t *states = dir_signing_states(kit->dir);
    SSO_CHECK(states && json_array_size(states) == 0);
    json_decref(states);
    dir_error_t err = {0};
    char *first = NULL, *second = NULL, *third = NULL;
    int64_t first_from = 0, second_from = 0, third_from = 0;
    /* The first key signs at once, whatever the delay: there is no other. */
    kit->dir->key_rotation_delay_s = 600;
    SSO_CHECK(dir_signing_rotate(kit->dir, &first, &first_from, &err) == 0 && first);
    SSO_CHECK(first_from && first_from <= dir_now());
    SSO_CHECK(dir_signing_rotate(kit->dir, &second, &second_from, &err) == 0 && second);
    SSO_CHECK(second_from >= dir_now() + 599 && second_from <= dir_now() + 601);
    states = dir_signing_states(kit->dir);
    SSO_CHECK(states && json_array_size(states) == 2 && first && second);
    if (first && second) {
        SSO_CHECK(!strcmp(s_state_of(states, first, NULL), "signing"));
        SSO_CHECK(!strcmp(s_state_of(states, second, NULL), "next"));
        SSO_CHECK(!strcmp(s_state_of(states, second, "alg"), "RS256"));
        char when[32];
        dir_time_format(second_from + SSO_JOSE_TOKEN_LIFETIME_S, when);
        SSO_CHECK(!strcmp(s_state_of(states, first, "published_until"), when));
        SSO_CHECK(!s_state_of(states, second, "published_until"));
        dir_time_format(second_from, when);
        SSO_CHECK(!strcmp(s_state_of(states, second, "signs_from"), when));
    }
    /* Never a private part. */
    char *text = json_dumps(states, 0);
    SSO_CHECK(text && !strstr(text, "PRIVATE") && !strstr(text, "\"d\"")
              && !strstr(text, "private"));
    free(text);
    json_decref(states);
    /* The second key's time comes: it signs, the first is previous. Another rotation in the
       same second is made after it and retires it too. */
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE signing_keys SET active_from = ? "
                                             "WHERE kid = ?", "is", dir_now() - 100,
                         first ? first : "") == DIR_DB_OK);
    SSO_CHECK(dir_db_run(kit->dir->db, NULL, "UPDATE signing_keys SET active_from = ? "
                                             "WHERE kid = ?", "is", dir_now() - 1,
                         second ? second : "") == DIR_DB_OK);
    SSO_CHECK(dir_signing_rotate(kit->dir, &third, &third_from, &err) == 0 && third);
    states = dir_signing_states(kit->dir);
    SSO_CHECK(states && json_array_size(states) == 3 && third);
    if (first && second && third) {
        SSO_CHECK(!strcmp(s_state_of(states, first, NULL), "previous"));
        SSO_CHECK(!strcmp(s_state_of(states, second, NULL), "signing"));
        SSO_CHECK(!strcmp(s_state_of(states, third, NULL), "next"));
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = ?",
                             "s", second) == third_from + SSO_JOSE_TOKEN_LIFETIME_S);
        /* The first retires sooner already: it keeps its time. */
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = ?",
                             "s", first) == second_from + SSO_JOSE_TOKEN_LIFETIME_S);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT retire_after FROM signing_keys WHERE kid = ?",
                             "s", third) == 0);
        SSO_CHECK(dir_db_int(kit->dir->db, "SELECT created_at FROM signing_keys WHERE kid = ?",
                             "s", third)
                  > dir_db_int(kit->dir->db, "SELECT created_at FROM signing_keys WHERE kid = ?",
                               "s", second));
    }
    json_decref(states);
    /* The list the token service loads opens every rotated key with its private half. */
    Sso__KeysListReply *list = dir_signing_list(kit->dir, true);
    SSO_CHECK(list && list->n_keys == 3 && strstr(list->keys[0]->private_key_pem, "PRIVATE"));
    sso__keys_list_reply__free_unpacked(list, NULL);
    free(first);
    free(second);
    free(third);
}

void dir_signing_test(bool verbose)
{
    (void) verbose;
    dir_testkit_run(s_test);
    dir_testkit_run(s_rotate_test);
}
