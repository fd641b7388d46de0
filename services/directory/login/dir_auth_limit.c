/* dir_auth_limit: failed client authentications per client id and per address. */
#include "login/dir_auth_limit.h"
#include "sso_http.h"
#include "sso_test.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ADDRESS_FACTOR 4   /* an address may fail this many times a client's limit */
#define S_WINDOW_FACTOR 10   /* the window, in lockouts of base_ms */
#define S_MAX_DOUBLINGS 6    /* the longest lockout is base_ms << 6 */

typedef struct {
    char key[DIR_AUTH_LIMIT_KEY_MAX];
    bool used;
    int failures;          /* in the window that started at window_start */
    int lockouts;          /* in a row: each doubles the next */
    int64_t window_start;
    int64_t last_failure;
    int64_t locked_until;  /* 0 when not locked */
} s_entry_t;

struct _dir_auth_limit_t {
    size_t capacity;
    int max_failures;
    int64_t base_ms;
    int64_t window_ms;
    s_entry_t *entries;
    zhashx_t *index;       /* key -> entry (not owned) */
    size_t *free_slots;    /* a stack of unused entry indexes */
    size_t n_free;
};

dir_auth_limit_t *dir_auth_limit_new(size_t capacity, int max_failures, int64_t base_ms)
{
    if (capacity == 0 || max_failures < 1 || base_ms < 1)
        return NULL;
    dir_auth_limit_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->capacity = capacity;
    self->max_failures = max_failures;
    self->base_ms = base_ms;
    self->window_ms = base_ms * S_WINDOW_FACTOR;
    self->entries = calloc(capacity, sizeof *self->entries);
    self->free_slots = calloc(capacity, sizeof *self->free_slots);
    self->index = zhashx_new();
    if (!self->entries || !self->free_slots || !self->index) {
        dir_auth_limit_destroy(&self);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++)
        self->free_slots[i] = capacity - 1 - i;
    self->n_free = capacity;
    return self;
}

void dir_auth_limit_destroy(dir_auth_limit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dir_auth_limit_t *self = *self_p;
    zhashx_destroy(&self->index);
    free(self->entries);
    free(self->free_slots);
    free(self);
    *self_p = NULL;
}

static int s_key(const char *prefix, const char *text, char key[DIR_AUTH_LIMIT_KEY_MAX])
{
    if (!text || !*text)
        return -1;
    int n = snprintf(key, DIR_AUTH_LIMIT_KEY_MAX, "%s%s", prefix, text);
    return n > 0 && n < DIR_AUTH_LIMIT_KEY_MAX ? 0 : -1;
}

int dir_auth_limit_client_key(const char *client_id, const char *address,
                              char key[DIR_AUTH_LIMIT_KEY_MAX])
{
    char group[DIR_AUTH_LIMIT_KEY_MAX] = "", scoped[DIR_AUTH_LIMIT_KEY_MAX];
    if (!client_id || !*client_id)
        return -1;
    if (address && *address && sso_http_address_group(address, group, sizeof group) != 0)
        *group = '\0';
    int n = snprintf(scoped, sizeof scoped, "%s@%s", client_id, group);
    if (n < 0 || n >= (int) sizeof scoped)
        return -1;
    return s_key("c:", scoped, key);
}

int dir_auth_limit_address_key(const char *address, char key[DIR_AUTH_LIMIT_KEY_MAX])
{
    char group[DIR_AUTH_LIMIT_KEY_MAX];
    if (sso_http_address_group(address, group, sizeof group) != 0)
        return -1;
    return s_key("a:", group, key);
}

static bool s_is_address(const char *key)
{
    return key[0] == 'a';
}

static int64_t s_lockout_ms(const dir_auth_limit_t *self, int lockouts)
{
    int doublings = lockouts - 1 < S_MAX_DOUBLINGS ? lockouts - 1 : S_MAX_DOUBLINGS;
    return self->base_ms << doublings;
}

static void s_forget(dir_auth_limit_t *self, s_entry_t *entry)
{
    zhashx_delete(self->index, entry->key);
    memset(entry, 0, sizeof *entry);
    self->free_slots[self->n_free++] = (size_t) (entry - self->entries);
}

/* A free entry; when there is none, the oldest unlocked one is evicted, or when every entry
   is locked, the one whose lockout ends first. */
static s_entry_t *s_claim(dir_auth_limit_t *self, int64_t now_ms)
{
    if (self->n_free == 0) {
        s_entry_t *victim = NULL;
        for (size_t i = 0; i < self->capacity; i++) {
            s_entry_t *e = &self->entries[i];
            bool locked = e->locked_until > now_ms;
            bool victim_locked = victim && victim->locked_until > now_ms;
            if (!victim || (!locked && victim_locked)
                || (locked == victim_locked && (locked ? e->locked_until < victim->locked_until
                                                       : e->last_failure < victim->last_failure)))
                victim = e;
        }
        s_forget(self, victim);
    }
    s_entry_t *entry = &self->entries[self->free_slots[--self->n_free]];
    entry->used = true;
    return entry;
}

int64_t dir_auth_limit_wait_ms(const dir_auth_limit_t *self, const char *key, int64_t now_ms)
{
    const s_entry_t *entry = key ? zhashx_lookup(self->index, key) : NULL;
    return entry && entry->locked_until > now_ms ? entry->locked_until - now_ms : 0;
}

void dir_auth_limit_failure(dir_auth_limit_t *self, const char *key, int64_t now_ms)
{
    if (!key || !*key || strlen(key) >= DIR_AUTH_LIMIT_KEY_MAX)
        return;
    s_entry_t *entry = zhashx_lookup(self->index, key);
    if (!entry) {
        entry = s_claim(self, now_ms);
        snprintf(entry->key, sizeof entry->key, "%s", key);
        entry->window_start = now_ms;
        zhashx_insert(self->index, entry->key, entry);
    }
    if (entry->locked_until > now_ms)
        return; /* refused before it could fail; a lockout is not lengthened by waiting it out */
    int64_t quiet_since = entry->last_failure > entry->locked_until ? entry->last_failure
                                                                    : entry->locked_until;
    if (entry->lockouts && now_ms - quiet_since >= self->window_ms)
        entry->lockouts = 0; /* a window of quiet after a lockout: the doubling starts over */
    if (now_ms - entry->window_start >= self->window_ms) {
        entry->failures = 0;
        entry->window_start = now_ms;
    }
    entry->last_failure = now_ms;
    int limit = s_is_address(key) ? self->max_failures * S_ADDRESS_FACTOR : self->max_failures;
    if (++entry->failures >= limit) {
        entry->lockouts++;
        entry->locked_until = now_ms + s_lockout_ms(self, entry->lockouts);
        entry->failures = 0;
        entry->window_start = now_ms;
    }
}

void dir_auth_limit_success(dir_auth_limit_t *self, const char *key)
{
    s_entry_t *entry = key ? zhashx_lookup(self->index, key) : NULL;
    if (entry)
        s_forget(self, entry);
}

size_t dir_auth_limit_size(const dir_auth_limit_t *self)
{
    return self->capacity - self->n_free;
}

/* ---- self-test ------------------------------------------------------------------------- */

void dir_auth_limit_test(bool verbose)
{
    (void) verbose;
    const int64_t t0 = 1700000000000;
    const int64_t base = 1000, window = base * S_WINDOW_FACTOR;
    SSO_CHECK(dir_auth_limit_new(0, 5, base) == NULL && dir_auth_limit_new(8, 0, base) == NULL
              && dir_auth_limit_new(8, 5, 0) == NULL);
    dir_auth_limit_t *limit = dir_auth_limit_new(8, 5, base);
    SSO_CHECK(limit != NULL);
    if (!limit)
        return;
    char client[DIR_AUTH_LIMIT_KEY_MAX], address[DIR_AUTH_LIMIT_KEY_MAX];
    SSO_CHECK(dir_auth_limit_client_key("cli_a", "192.0.2.7", client) == 0
              && !strcmp(client, "c:cli_a@192.0.2.7"));
    SSO_CHECK(dir_auth_limit_address_key("192.0.2.7", address) == 0
              && !strcmp(address, "a:192.0.2.7"));

    /* Keys: absent, empty and too long give none; IPv6 by /64; mapped IPv4 as IPv4. */
    char key[DIR_AUTH_LIMIT_KEY_MAX], other[DIR_AUTH_LIMIT_KEY_MAX];
    SSO_CHECK(dir_auth_limit_client_key(NULL, "192.0.2.7", key) == -1
              && dir_auth_limit_client_key("", "192.0.2.7", key) == -1
              && dir_auth_limit_address_key(NULL, key) == -1
              && dir_auth_limit_address_key("", key) == -1);
    char long_id[DIR_AUTH_LIMIT_KEY_MAX + 8];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    SSO_CHECK(dir_auth_limit_client_key(long_id, "192.0.2.7", key) == -1);
    /* The same client from two addresses counts apart; from one /64 together. */
    SSO_CHECK(dir_auth_limit_client_key("cli_a", "192.0.2.8", other) == 0 && strcmp(client, other));
    SSO_CHECK(dir_auth_limit_client_key("cli_a", "2001:db8:1:2:aaaa::1", key) == 0
              && dir_auth_limit_client_key("cli_a", "2001:db8:1:2:bbbb::9", other) == 0
              && !strcmp(key, other));
    SSO_CHECK(dir_auth_limit_address_key("2001:db8:1:2:aaaa::1", key) == 0
              && dir_auth_limit_address_key("2001:db8:1:2:bbbb::9", other) == 0
              && !strcmp(key, other) && !strcmp(key, "a:2001:db8:1:2::/64"));
    SSO_CHECK(dir_auth_limit_address_key("2001:db8:1:3::1", other) == 0 && strcmp(key, other));
    SSO_CHECK(dir_auth_limit_address_key("::ffff:192.0.2.7", key) == 0
              && !strcmp(key, "a:192.0.2.7"));

    /* Four failures in the window: not locked; the fifth locks for base. */
    for (int i = 0; i < 4; i++)
        dir_auth_limit_failure(limit, client, t0 + i);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t0 + 4) == 0);
    dir_auth_limit_failure(limit, client, t0 + 4);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t0 + 4) == base);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t0 + 4 + base - 1) == 1);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t0 + 4 + base) == 0);
    /* Failures while locked change nothing (the caller refuses them before hashing). */
    dir_auth_limit_failure(limit, client, t0 + 10);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t0 + 10) == base - 6);
    /* Five more right after: the second lockout is twice as long. */
    int64_t t1 = t0 + 4 + base;
    for (int i = 0; i < 5; i++)
        dir_auth_limit_failure(limit, client, t1 + i);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t1 + 4) == 2 * base);
    /* Doubling is capped at 64 times base. */
    int64_t t = t1 + 4;
    for (int round = 0; round < 10; round++) {
        t += dir_auth_limit_wait_ms(limit, client, t);
        for (int i = 0; i < 5; i++)
            dir_auth_limit_failure(limit, client, t);
    }
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t) == 64 * base);
    /* A success forgets the client. */
    dir_auth_limit_success(limit, client);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t) == 0);
    dir_auth_limit_success(limit, client); /* unknown: nothing happens */
    dir_auth_limit_failure(limit, "", t); /* no key: nothing counted */
    dir_auth_limit_failure(limit, NULL, t);
    SSO_CHECK(dir_auth_limit_size(limit) == 0);

    /* The window: four failures, a window later four more: still not locked. */
    t += 1;
    for (int i = 0; i < 4; i++)
        dir_auth_limit_failure(limit, client, t + i);
    for (int i = 0; i < 4; i++)
        dir_auth_limit_failure(limit, client, t + window + i);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t + window + 4) == 0);
    /* After a lockout, a window of quiet starts the doubling over. */
    t += window + 4;
    dir_auth_limit_failure(limit, client, t);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t) == base);
    t += base + window;
    for (int i = 0; i < 5; i++)
        dir_auth_limit_failure(limit, client, t);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, client, t) == base);

    /* An address: many client ids (say random ones) from one address, 4 times the limit. */
    size_t before = dir_auth_limit_size(limit);
    for (int i = 0; i < 19; i++)
        dir_auth_limit_failure(limit, address, t + i);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, address, t + 19) == 0);
    dir_auth_limit_failure(limit, address, t + 19);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, address, t + 19) == base);
    SSO_CHECK(dir_auth_limit_size(limit) == before + 1);
    /* A success is no reset for an address. */
    dir_auth_limit_success(limit, client);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, address, t + 19) == base);

    /* Bounded: many keys fill the table and evict the oldest unlocked entries; the locked
       address and client survive. */
    for (int i = 0; i < 5; i++)
        dir_auth_limit_failure(limit, client, t + 19);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "c:cli_%d", i);
        dir_auth_limit_failure(limit, key, t + 20 + i);
    }
    SSO_CHECK(dir_auth_limit_size(limit) == 8);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, address, t + 200) > 0
              && dir_auth_limit_wait_ms(limit, client, t + 200) > 0);
    SSO_CHECK(dir_auth_limit_wait_ms(limit, "c:cli_0", t + 200) == 0);
    dir_auth_limit_destroy(&limit);
    SSO_CHECK(limit == NULL);
    dir_auth_limit_destroy(&limit);
}
