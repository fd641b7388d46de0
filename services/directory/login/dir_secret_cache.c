/* dir_secret_cache: a bounded, expiring cache of successful client-secret verifications. */
#include "login/dir_secret_cache.h"
#include "sso_crypto.h"
#include "sso_test.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t key[32];
    int64_t at; /* when the secret verified */
    bool used;
} s_entry_t;

struct _dir_secret_cache_t {
    uint8_t salt[32]; /* per process: a memory dump's digests match no precomputed table */
    int64_t ttl;
    size_t capacity;
    s_entry_t *entries;
};

dir_secret_cache_t *dir_secret_cache_new(size_t capacity, int64_t ttl_seconds)
{
    if (capacity == 0 || ttl_seconds < 1)
        return NULL;
    dir_secret_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = calloc(capacity, sizeof *self->entries);
    if (!self->entries || RAND_bytes(self->salt, sizeof self->salt) != 1) {
        free(self->entries);
        free(self);
        return NULL;
    }
    self->capacity = capacity;
    self->ttl = ttl_seconds;
    return self;
}

void dir_secret_cache_destroy(dir_secret_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_secret_cache_t *self = *self_p;
    OPENSSL_cleanse(self->entries, self->capacity * sizeof *self->entries);
    OPENSSL_cleanse(self->salt, sizeof self->salt);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* One field, length first, so ("ab", "c") and ("a", "bc") digest differently. */
static int s_update_field(EVP_MD_CTX *ctx, const char *text)
{
    uint64_t len = strlen(text);
    uint8_t prefix[8];
    for (int i = 0; i < 8; i++)
        prefix[i] = (uint8_t) (len >> (56 - 8 * i));
    return EVP_DigestUpdate(ctx, prefix, sizeof prefix) == 1
                   && EVP_DigestUpdate(ctx, text, (size_t) len) == 1
               ? 0
               : -1;
}

int dir_secret_cache_key(const dir_secret_cache_t *self, const char *client_id,
                         const char *stored_hash, const char *secret, uint8_t key[32])
{
    if (!self || !client_id || !stored_hash || !secret)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
                     && EVP_DigestUpdate(ctx, self->salt, sizeof self->salt) == 1
                     && s_update_field(ctx, client_id) == 0
                     && s_update_field(ctx, stored_hash) == 0
                     && s_update_field(ctx, secret) == 0
                     && EVP_DigestFinal_ex(ctx, key, &len) == 1 && len == 32
                 ? 0
                 : -1;
    /* EVP_MD_CTX_free cleanses the digest state, which has seen the secret. */
    EVP_MD_CTX_free(ctx);
    return rc;
}

static bool s_fresh(const dir_secret_cache_t *self, const s_entry_t *entry, int64_t now)
{
    /* A clock that went back counts as expired rather than as a very long life. */
    return entry->used && now >= entry->at && now - entry->at < self->ttl;
}

bool dir_secret_cache_hit(const dir_secret_cache_t *self, const uint8_t key[32], int64_t now)
{
    if (!self)
        return false;
    for (size_t i = 0; i < self->capacity; i++)
        if (s_fresh(self, &self->entries[i], now)
            && CRYPTO_memcmp(self->entries[i].key, key, 32) == 0)
            return true;
    return false;
}

void dir_secret_cache_add(dir_secret_cache_t *self, const uint8_t key[32], int64_t now)
{
    if (!self)
        return;
    s_entry_t *slot = NULL;
    for (size_t i = 0; i < self->capacity; i++) {
        s_entry_t *entry = &self->entries[i];
        if (entry->used && CRYPTO_memcmp(entry->key, key, 32) == 0) {
            slot = entry; /* the same key again: refresh it, never hold it twice */
            break;
        }
        if (!slot || (slot->used && (!entry->used || !s_fresh(self, entry, now)
                                     || (s_fresh(self, slot, now) && entry->at < slot->at))))
            slot = entry; /* free beats expired beats the oldest */
    }
    memcpy(slot->key, key, 32);
    slot->at = now;
    slot->used = true;
}

bool dir_secret_cache_known(const dir_secret_cache_t *self, const char *client_id,
                            const char *stored_hash, const char *secret, int64_t now)
{
    uint8_t key[32];
    bool known = self && dir_secret_cache_key(self, client_id, stored_hash, secret, key) == 0
                 && dir_secret_cache_hit(self, key, now);
    OPENSSL_cleanse(key, sizeof key);
    return known;
}

bool dir_secret_cache_verify(dir_secret_cache_t *self, const char *client_id,
                             const char *stored_hash, const char *secret, int64_t now)
{
    uint8_t key[32];
    bool keyed = self && dir_secret_cache_key(self, client_id, stored_hash, secret, key) == 0;
    bool ok = keyed && dir_secret_cache_hit(self, key, now);
    if (!ok) {
        ok = sso_secret_verify(secret, stored_hash);
        if (ok && keyed)
            dir_secret_cache_add(self, key, now);
    }
    OPENSSL_cleanse(key, sizeof key);
    return ok;
}

/* ---- self-test ------------------------------------------------------------------------- */

void dir_secret_cache_test(bool verbose)
{
    (void) verbose;
    const int64_t t0 = 1700000000;
    SSO_CHECK(dir_secret_cache_new(0, 300) == NULL);
    SSO_CHECK(dir_secret_cache_new(4, 0) == NULL);
    dir_secret_cache_t *cache = dir_secret_cache_new(3, 300);
    SSO_CHECK(cache);
    if (!cache)
        return;
    char *hash = sso_secret_hash("s3cret");
    char *rehash = sso_secret_hash("s3cret"); /* the same secret rotated in: a new salt */
    SSO_CHECK(hash && rehash && strcmp(hash, rehash) != 0);
    if (!hash || !rehash)
        goto done;

    /* Hit after a success; a wrong secret misses, fails, and is not remembered. */
    uint8_t key[32], wrong[32], moved[32], other[32];
    SSO_CHECK(dir_secret_cache_key(cache, "cli_a", hash, "s3cret", key) == 0);
    SSO_CHECK(dir_secret_cache_key(cache, "cli_a", hash, "s3cre", wrong) == 0);
    SSO_CHECK(dir_secret_cache_key(cache, "cli_a", rehash, "s3cret", moved) == 0);
    SSO_CHECK(dir_secret_cache_key(cache, "cli_b", hash, "s3cret", other) == 0);
    SSO_CHECK(!dir_secret_cache_hit(cache, key, t0));
    SSO_CHECK(dir_secret_cache_verify(cache, "cli_a", hash, "s3cret", t0));
    SSO_CHECK(dir_secret_cache_hit(cache, key, t0 + 1));
    SSO_CHECK(dir_secret_cache_known(cache, "cli_a", hash, "s3cret", t0 + 1)
              && !dir_secret_cache_known(cache, "cli_a", hash, "s3cre", t0 + 1)
              && !dir_secret_cache_known(cache, "cli_a", rehash, "s3cret", t0 + 1)
              && !dir_secret_cache_known(NULL, "cli_a", hash, "s3cret", t0 + 1));
    SSO_CHECK(!dir_secret_cache_verify(cache, "cli_a", hash, "s3cre", t0 + 1));
    SSO_CHECK(!dir_secret_cache_hit(cache, wrong, t0 + 1));
    /* The stored hash changed (rotation) or another client: misses. */
    SSO_CHECK(!dir_secret_cache_hit(cache, moved, t0 + 1));
    SSO_CHECK(!dir_secret_cache_hit(cache, other, t0 + 1));
    SSO_CHECK(!dir_secret_cache_verify(cache, "cli_a", rehash, "s3cre", t0 + 1));
    /* Field boundaries matter: ("cli_a", "x") and ("cli_ax", "") differ. */
    uint8_t a[32], b[32];
    SSO_CHECK(dir_secret_cache_key(cache, "cli_a", "x", "", a) == 0
              && dir_secret_cache_key(cache, "cli_ax", "", "", b) == 0 && memcmp(a, b, 32) != 0);

    /* A hit answers without PBKDF2: this stored "hash" could never verify. */
    uint8_t bogus[32];
    SSO_CHECK(dir_secret_cache_key(cache, "cli_c", "not-a-hash", "x", bogus) == 0);
    SSO_CHECK(!dir_secret_cache_verify(cache, "cli_c", "not-a-hash", "x", t0));
    dir_secret_cache_add(cache, bogus, t0);
    SSO_CHECK(dir_secret_cache_verify(cache, "cli_c", "not-a-hash", "x", t0));

    /* Expiry: ttl seconds after the verification, and a clock that went back. */
    SSO_CHECK(dir_secret_cache_hit(cache, key, t0 + 299));
    SSO_CHECK(!dir_secret_cache_hit(cache, key, t0 + 300));
    SSO_CHECK(!dir_secret_cache_hit(cache, key, t0 - 1));
    dir_secret_cache_destroy(&cache);
    SSO_CHECK(cache == NULL);

    /* Eviction: the oldest goes; a re-added key is refreshed, not held twice. */
    cache = dir_secret_cache_new(3, 300);
    SSO_CHECK(cache);
    if (!cache)
        goto done;
    uint8_t k[5][32];
    for (int i = 0; i < 5; i++) {
        char secret[16];
        snprintf(secret, sizeof secret, "secret-%d", i);
        SSO_CHECK(dir_secret_cache_key(cache, "cli_a", hash, secret, k[i]) == 0);
    }
    dir_secret_cache_add(cache, k[0], t0);
    dir_secret_cache_add(cache, k[1], t0 + 1);
    dir_secret_cache_add(cache, k[2], t0 + 2);
    dir_secret_cache_add(cache, k[0], t0 + 3); /* refreshed: k[1] is now the oldest */
    dir_secret_cache_add(cache, k[3], t0 + 4);
    SSO_CHECK(!dir_secret_cache_hit(cache, k[1], t0 + 4));
    SSO_CHECK(dir_secret_cache_hit(cache, k[0], t0 + 4) && dir_secret_cache_hit(cache, k[2], t0 + 4)
              && dir_secret_cache_hit(cache, k[3], t0 + 4));
    /* An expired entry is reused before a fresh one is evicted. */
    dir_secret_cache_add(cache, k[4], t0 + 302); /* k[2] (t0 + 2) has expired */
    SSO_CHECK(!dir_secret_cache_hit(cache, k[2], t0 + 302));
    SSO_CHECK(dir_secret_cache_hit(cache, k[0], t0 + 302) && dir_secret_cache_hit(cache, k[3], t0 + 302)
              && dir_secret_cache_hit(cache, k[4], t0 + 302));
done:
    dir_secret_cache_destroy(&cache);
    free(hash);
    free(rehash);
}
