/* dir_secret_cache: remembers recent successful client-secret verifications, so a client that
   authenticates again with the same secret does not pay PBKDF2 (sso_secret_verify) each time.
   An entry is SHA-256 over (a per-cache random salt, client_id, the stored hash string, the
   presented secret), never the secret itself: a rotated secret or a deleted client changes or
   removes the stored hash, so its entries stop matching at once. Only successes are added.
   Bounded (the oldest entry is evicted) and each entry lives ttl seconds from its
   verification. Not thread-safe: the directory has one request loop. */
#ifndef DIR_SECRET_CACHE_H
#define DIR_SECRET_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIR_SECRET_CACHE_SIZE 256
#define DIR_SECRET_CACHE_TTL 300

typedef struct _dir_secret_cache_t dir_secret_cache_t;

/* NULL when out of memory or no random salt could be drawn. */
dir_secret_cache_t *dir_secret_cache_new(size_t capacity, int64_t ttl_seconds);
void dir_secret_cache_destroy(dir_secret_cache_t **self_p);

/* The entry key of (client_id, stored_hash, secret); -1 when the digest fails. */
int dir_secret_cache_key(const dir_secret_cache_t *self, const char *client_id,
                         const char *stored_hash, const char *secret, uint8_t key[32]);
/* True when key was added less than ttl seconds before now. */
bool dir_secret_cache_hit(const dir_secret_cache_t *self, const uint8_t key[32], int64_t now);
/* Remembers key as verified at now (evicting the oldest entry when full). */
void dir_secret_cache_add(dir_secret_cache_t *self, const uint8_t key[32], int64_t now);

/* True when (client_id, stored_hash, secret) verified less than ttl seconds before now: the
   secret is right, known without PBKDF2. False for a NULL self. */
bool dir_secret_cache_known(const dir_secret_cache_t *self, const char *client_id,
                            const char *stored_hash, const char *secret, int64_t now);
/* sso_secret_verify(secret, stored_hash) through the cache: a hit skips PBKDF2, a success is
   added, a failure is never remembered. A NULL self verifies without a cache. */
bool dir_secret_cache_verify(dir_secret_cache_t *self, const char *client_id,
                             const char *stored_hash, const char *secret, int64_t now);

void dir_secret_cache_test(bool verbose);
#endif
