#include "saml_conncache.h"
#include "sso_bus.h"
#include "sso_test.h"
#include <stdlib.h>
#include <string.h>

struct saml_conncache_t {
    Sso__Connection *entries[SAML_CONNCACHE_MAX];
    size_t n;
    size_t next_out; /* the oldest kept, when full: it is replaced first */
};

saml_conncache_t *saml_conncache_new(void)
{
    return calloc(1, sizeof(saml_conncache_t));
}

void saml_conncache_destroy(saml_conncache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    saml_conncache_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        sso__connection__free_unpacked(self->entries[i], NULL);
    free(self);
    *self_p = NULL;
}

/* A copy of conn by packing and unpacking it, as the bus would; NULL when out of memory. */
static Sso__Connection *s_copy(const Sso__Connection *conn)
{
    size_t size = sso__connection__get_packed_size(conn);
    uint8_t *packed = malloc(size ? size : 1);
    if (!packed)
        return NULL;
    sso__connection__pack(conn, packed);
    Sso__Connection *copy = sso__connection__unpack(NULL, size, packed);
    free(packed);
    return copy;
}

static Sso__Connection **s_find(saml_conncache_t *self, const char *id)
{
    for (size_t i = 0; self && id && i < self->n; i++)
        if (!strcmp(self->entries[i]->id, id))
            return &self->entries[i];
    return NULL;
}

Sso__Connection *saml_conncache_get(saml_conncache_t *self, const char *id)
{
    Sso__Connection **kept = s_find(self, id);
    return kept ? s_copy(*kept) : NULL;
}

int saml_conncache_put(saml_conncache_t *self, const Sso__Connection *conn)
{
    if (!self || !conn || !conn->id || !*conn->id || !conn->version || !*conn->version)
        return -1;
    Sso__Connection *copy = s_copy(conn);
    if (!copy)
        return -1;
    Sso__Connection **slot = s_find(self, conn->id);
    if (!slot && self->n < SAML_CONNCACHE_MAX)
        slot = &self->entries[self->n++];
    else if (!slot) {
        slot = &self->entries[self->next_out];
        self->next_out = (self->next_out + 1) % SAML_CONNCACHE_MAX;
    }
    if (*slot)
        sso__connection__free_unpacked(*slot, NULL);
    *slot = copy;
    return 0;
}

void saml_conncache_drop(saml_conncache_t *self, const char *id)
{
    Sso__Connection **kept = s_find(self, id);
    if (!kept)
        return;
    sso__connection__free_unpacked(*kept, NULL);
    /* The last one takes its place; the replacement order starts over. */
    *kept = self->entries[--self->n];
    self->entries[self->n] = NULL;
    self->next_out = 0;
}

size_t saml_conncache_size(const saml_conncache_t *self)
{
    return self ? self->n : 0;
}

void saml_conncache_test(bool verbose)
{
    (void) verbose;
    saml_conncache_t *cache = saml_conncache_new();
    SSO_CHECK(cache && saml_conncache_size(cache) == 0 && !saml_conncache_get(cache, "c1"));
    Sso__Connection conn = SSO__CONNECTION__INIT;
    conn.id = "c1";
    conn.version = "v1";
    conn.sp_private_key_pem = "KEY";
    SSO_CHECK(saml_conncache_put(cache, &conn) == 0 && saml_conncache_size(cache) == 1);
    /* A copy out: changing or freeing it leaves the kept one. */
    Sso__Connection *got = saml_conncache_get(cache, "c1");
    SSO_CHECK(got && got != &conn && !strcmp(got->version, "v1")
              && !strcmp(got->sp_private_key_pem, "KEY"));
    sso__connection__free_unpacked(got, NULL);
    /* Replaced under the same id, not added. */
    conn.version = "v2";
    SSO_CHECK(saml_conncache_put(cache, &conn) == 0 && saml_conncache_size(cache) == 1);
    got = saml_conncache_get(cache, "c1");
    SSO_CHECK(got && !strcmp(got->version, "v2"));
    sso__connection__free_unpacked(got, NULL);
    /* Without an id or a version: not kept. */
    conn.version = "";
    SSO_CHECK(saml_conncache_put(cache, &conn) == -1);
    conn.version = "v3";
    conn.id = "";
    SSO_CHECK(saml_conncache_put(cache, &conn) == -1 && saml_conncache_put(cache, NULL) == -1);
    SSO_CHECK(saml_conncache_put(NULL, &conn) == -1 && !saml_conncache_get(NULL, "c1"));
    /* Bounded: past the limit the oldest goes, the newest stay. */
    char id[32];
    for (int i = 0; i < SAML_CONNCACHE_MAX + 3; i++) {
        snprintf(id, sizeof id, "n%d", i);
        conn.id = id;
        SSO_CHECK(saml_conncache_put(cache, &conn) == 0);
    }
    SSO_CHECK(saml_conncache_size(cache) == SAML_CONNCACHE_MAX);
    got = saml_conncache_get(cache, "c1");
    SSO_CHECK(!got);
    sso__connection__free_unpacked(got, NULL);
    snprintf(id, sizeof id, "n%d", SAML_CONNCACHE_MAX + 2);
    got = saml_conncache_get(cache, id);
    SSO_CHECK(got != NULL);
    sso__connection__free_unpacked(got, NULL);
    /* Dropped: gone; dropping what is not kept does nothing. */
    saml_conncache_drop(cache, id);
    saml_conncache_drop(cache, "nothing");
    SSO_CHECK(!saml_conncache_get(cache, id)
              && saml_conncache_size(cache) == SAML_CONNCACHE_MAX - 1);
    saml_conncache_destroy(&cache);
    SSO_CHECK(cache == NULL);
    saml_conncache_destroy(&cache);
}
