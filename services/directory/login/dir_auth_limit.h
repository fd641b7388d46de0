/* dir_auth_limit: limits failed client authentications, so that guessing secrets cannot keep
   the directory's one request thread busy with PBKDF2 (about 2 ms a try). Failures are
   counted per key (a registered client id, and the caller's address) over a window; the
   max_failures-th failure in a window locks the key for base_ms, doubling with each lockout
   in a row up to 64 times base_ms. A locked key is refused before any hashing, with the time
   left. A success clears the client's key (never an address's: one good client must not
   clear the way for guesses at others). A key idle (no failure) for a window after its
   lockout is forgotten.
   The table has a fixed number of entries: when it is full, the oldest unlocked entry is
   evicted (or, when all are locked, the one whose lockout ends first). Callers put only
   registered client ids in it, so random ids cost no entry of their own; they are counted
   by address. In memory only: a restart forgets it. Not thread-safe: the directory has one
   request loop. */
#ifndef DIR_AUTH_LIMIT_H
#define DIR_AUTH_LIMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIR_AUTH_LIMIT_SIZE 4096
#define DIR_AUTH_LIMIT_FAILURES 5        /* per client id in a window (per address: 4 times) */
#define DIR_AUTH_LIMIT_BASE_MS 60000     /* first lockout; the window is 10 times it */
#define DIR_AUTH_LIMIT_KEY_MAX 160       /* "c:" or "a:" + a client id (128) or an address */

typedef struct _dir_auth_limit_t dir_auth_limit_t;

/* capacity entries; max_failures per window; base_ms the first lockout (the window is
   10 * base_ms, the longest lockout 64 * base_ms). NULL when out of memory or an argument is
   0. */
dir_auth_limit_t *dir_auth_limit_new(size_t capacity, int max_failures, int64_t base_ms);
void dir_auth_limit_destroy(dir_auth_limit_t **self_p);

/* The keys: a registered client id as tried from one address, and an address (an IPv6 address
   stands for its /64, which one host usually holds whole). The client key includes the address
   because client ids are public: failures from elsewhere must not lock the client out where it
   really runs. Write key (DIR_AUTH_LIMIT_KEY_MAX bytes); -1 when the client id is empty or the
   key too long (then there is no key to count). */
int dir_auth_limit_client_key(const char *client_id, const char *address,
                              char key[DIR_AUTH_LIMIT_KEY_MAX]);
int dir_auth_limit_address_key(const char *address, char key[DIR_AUTH_LIMIT_KEY_MAX]);

/* 0 when key may try now; otherwise the milliseconds its lockout has left. */
int64_t dir_auth_limit_wait_ms(const dir_auth_limit_t *self, const char *key, int64_t now_ms);
/* Counts a failure of key (an address key counts against 4 times max_failures). */
void dir_auth_limit_failure(dir_auth_limit_t *self, const char *key, int64_t now_ms);
/* Forgets key (a client's success). */
void dir_auth_limit_success(dir_auth_limit_t *self, const char *key);
/* Entries in use (for tests). */
size_t dir_auth_limit_size(const dir_auth_limit_t *self);

void dir_auth_limit_test(bool verbose);
#endif
