/* sso_oidc_cache: discovery documents and raw JWKS by issuer, with what their logins do with
   the provider now (failures remembered, fetches in flight, calls in progress). */
#include "sso_oidc_cache.h"
#include "sso_oidc_test_idp.h"
#include "sso_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *issuer;
    bool has_discovery;
    sso_oidc_discovery_t discovery;
    int64_t discovery_expires;
    char *jwks;
    int64_t jwks_expires;
    bool refreshed;          /* a forced JWKS refetch happened, at jwks_refreshed */
    int64_t jwks_refreshed;
    /* Per sso_oidc_doc_t: the last fetch's failure (why NULL: none) and a fetch in flight. */
    struct {
        char *why;
        int64_t at;
        bool fetching;
    } docs[2];
    int calls;               /* calls to the provider in progress */
} s_entry_t;

struct _sso_oidc_cache_t {
    s_entry_t *entries;
    size_t count;
    size_t max;
};

sso_oidc_cache_t *sso_oidc_cache_new(size_t max_entries)
{
    sso_oidc_cache_t *self = calloc(1, sizeof *self);
    if (!self || max_entries == 0)
        goto fail;
    self->entries = calloc(max_entries, sizeof *self->entries);
    if (!self->entries)
        goto fail;
    self->max = max_entries;
    return self;
fail:
    free(self);
    return NULL;
}

static void s_entry_clear(s_entry_t *entry)
{
    free(entry->issuer);
    sso_oidc_discovery_free(&entry->discovery);
    free(entry->jwks);
    free(entry->docs[SSO_OIDC_DOC_DISCOVERY].why);
    free(entry->docs[SSO_OIDC_DOC_JWKS].why);
    memset(entry, 0, sizeof *entry);
}

void sso_oidc_cache_destroy(sso_oidc_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sso_oidc_cache_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        s_entry_clear(&self->entries[i]);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

/* The last moment an entry is worth anything: its latest expiry, or the end of its refetch
   pause or of a failure's memory; never while logins use it (its counts would be lost). */
static int64_t s_entry_worth(const s_entry_t *entry)
{
    if (entry->calls > 0 || entry->docs[0].fetching || entry->docs[1].fetching)
        return INT64_MAX;
    int64_t worth = entry->has_discovery ? entry->discovery_expires : INT64_MIN;
    for (int doc = 0; doc < 2; doc++)
        if (entry->docs[doc].why && entry->docs[doc].at + SSO_OIDC_FAILURE_S > worth)
            worth = entry->docs[doc].at + SSO_OIDC_FAILURE_S;
    if (entry->jwks && entry->jwks_expires > worth)
        worth = entry->jwks_expires;
    if (entry->refreshed && entry->jwks_refreshed + SSO_OIDC_JWKS_REFRESH_S > worth)
        worth = entry->jwks_refreshed + SSO_OIDC_JWKS_REFRESH_S;
    return worth;
}

/* issuer's entry; with create, a new one when there is none (making room by dropping the
   entry worth least); NULL when absent or out of memory. */
static s_entry_t *s_entry(sso_oidc_cache_t *self, const char *issuer, bool create)
{
    if (!issuer)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->entries[i].issuer, issuer) == 0)
            return &self->entries[i];
    if (!create)
        return NULL;
    char *key = strdup(issuer);
    if (!key)
        return NULL;
    s_entry_t *entry = &self->entries[self->count];
    if (self->count == self->max) {
        entry = &self->entries[0];
        for (size_t i = 1; i < self->count; i++)
            if (s_entry_worth(&self->entries[i]) < s_entry_worth(entry))
                entry = &self->entries[i];
        if (s_entry_worth(entry) == INT64_MAX) {
            free(key); /* every entry in use */
            return NULL;
        }
        s_entry_clear(entry);
    }
    else
        self->count++;
    entry->issuer = key;
    return entry;
}

static void s_forget_failure(s_entry_t *entry, sso_oidc_doc_t doc)
{
    free(entry->docs[doc].why);
    entry->docs[doc].why = NULL;
}

int sso_oidc_cache_discovery_put(sso_oidc_cache_t *self, const sso_oidc_discovery_t *discovery,
                                 int64_t now)
{
    sso_oidc_discovery_t copy;
    if (!discovery->issuer || sso_oidc_discovery_copy(&copy, discovery) != 0)
        return -1;
    s_entry_t *entry = s_entry(self, discovery->issuer, true);
    if (!entry) {
        sso_oidc_discovery_free(&copy);
        return -1;
    }
    sso_oidc_discovery_free(&entry->discovery);
    entry->discovery = copy;
    entry->has_discovery = true;
    s_forget_failure(entry, SSO_OIDC_DOC_DISCOVERY);
    entry->discovery_expires = now + discovery->max_age_s;
    return 0;
}

int sso_oidc_cache_discovery_get(sso_oidc_cache_t *self, const char *issuer, int64_t now,
                                 sso_oidc_discovery_t *out)
{
    memset(out, 0, sizeof *out);
    s_entry_t *entry = s_entry(self, issuer, false);
    if (!entry || !entry->has_discovery || now >= entry->discovery_expires)
        return 0;
    return sso_oidc_discovery_copy(out, &entry->discovery) == 0 ? 1 : -1;
}

int sso_oidc_cache_jwks_put(sso_oidc_cache_t *self, const char *issuer, const char *jwks,
                            int64_t now, int64_t max_age_s)
{
    char *copy = jwks ? strdup(jwks) : NULL;
    s_entry_t *entry = copy ? s_entry(self, issuer, true) : NULL;
    if (!entry) {
        free(copy);
        return -1;
    }
    free(entry->jwks);
    entry->jwks = copy;
    entry->jwks_expires = now + max_age_s;
    s_forget_failure(entry, SSO_OIDC_DOC_JWKS);
    return 0;
}

char *sso_oidc_cache_jwks_get(sso_oidc_cache_t *self, const char *issuer, int64_t now)
{
    s_entry_t *entry = s_entry(self, issuer, false);
    if (!entry || !entry->jwks || now >= entry->jwks_expires)
        return NULL;
    return strdup(entry->jwks);
}

bool sso_oidc_cache_jwks_refresh_allowed(sso_oidc_cache_t *self, const char *issuer,
                                         int64_t now)
{
    s_entry_t *entry = s_entry(self, issuer, true);
    if (!entry)
        return false;
    if (entry->refreshed && now - entry->jwks_refreshed < SSO_OIDC_JWKS_REFRESH_S)
        return false;
    entry->refreshed = true;
    entry->jwks_refreshed = now;
    return true;
}

static bool s_doc_ok(sso_oidc_doc_t doc)
{
    return doc == SSO_OIDC_DOC_DISCOVERY || doc == SSO_OIDC_DOC_JWKS;
}

int sso_oidc_cache_failure_put(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc,
                               const char *why, int64_t now)
{
    char *copy = why && s_doc_ok(doc) ? strdup(why) : NULL;
    s_entry_t *entry = copy ? s_entry(self, issuer, true) : NULL;
    if (!entry) {
        free(copy);
        return -1;
    }
    free(entry->docs[doc].why);
    entry->docs[doc].why = copy;
    entry->docs[doc].at = now;
    return 0;
}

int sso_oidc_cache_failure_get(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc,
                               int64_t now, char *why, size_t why_size)
{
    s_entry_t *entry = s_doc_ok(doc) ? s_entry(self, issuer, false) : NULL;
    if (!entry || !entry->docs[doc].why || now - entry->docs[doc].at >= SSO_OIDC_FAILURE_S
        || now < entry->docs[doc].at)
        return 0;
    char when[32] = "?";
    struct tm tm;
    time_t at = (time_t) entry->docs[doc].at;
    if (gmtime_r(&at, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(why, why_size, "%s (a failure of the fetch at %s, remembered for %d s)",
             entry->docs[doc].why, when, SSO_OIDC_FAILURE_S);
    return 1;
}

bool sso_oidc_cache_fetch_begin(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc)
{
    s_entry_t *entry = s_doc_ok(doc) ? s_entry(self, issuer, true) : NULL;
    if (!entry)
        return true;
    if (entry->docs[doc].fetching)
        return false;
    entry->docs[doc].fetching = true;
    return true;
}

void sso_oidc_cache_fetch_end(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc)
{
    s_entry_t *entry = s_doc_ok(doc) ? s_entry(self, issuer, false) : NULL;
    if (entry)
        entry->docs[doc].fetching = false;
}

int sso_oidc_cache_call_begin(sso_oidc_cache_t *self, const char *issuer)
{
    s_entry_t *entry = s_entry(self, issuer, true);
    if (!entry || entry->calls >= SSO_OIDC_ISSUER_CALLS_MAX)
        return -1;
    entry->calls++;
    return 0;
}

void sso_oidc_cache_call_end(sso_oidc_cache_t *self, const char *issuer)
{
    s_entry_t *entry = s_entry(self, issuer, false);
    if (entry && entry->calls > 0)
        entry->calls--;
}

/* ---- self-test --------------------------------------------------------------------------- */

#define S_ISSUER "https://idp.example.com"

static void s_test_cache(void)
{
    SSO_CHECK(!sso_oidc_cache_new(0));
    sso_oidc_cache_t *cache = sso_oidc_cache_new(2);
    SSO_CHECK(cache);
    if (!cache)
        return;
    char *text = sso_oidc_test_idp_discovery(S_ISSUER);
    sso_oidc_discovery_t d, got;
    char why[300];
    SSO_CHECK(sso_oidc_discovery_parse(text, strlen(text), S_ISSUER, false, &d, why, sizeof why)
              == 0);
    free(text);
    d.max_age_s = 100;
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 1000, &got) == 0 && !got.issuer);
    SSO_CHECK(sso_oidc_cache_discovery_put(cache, &d, 1000) == 0);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 1099, &got) == 1
              && got.issuer != d.issuer && !strcmp(got.token_endpoint, d.token_endpoint)
              && got.max_age_s == 100);
    sso_oidc_discovery_free(&got);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 1100, &got) == 0);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, "https://idp.example.com/", 1050, &got) == 0);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, NULL, 1050, &got) == 0);

    SSO_CHECK(!sso_oidc_cache_jwks_get(cache, S_ISSUER, 1000));
    SSO_CHECK(sso_oidc_cache_jwks_put(cache, S_ISSUER, "{\"keys\":[1]}", 1000, 60) == 0);
    SSO_CHECK(sso_oidc_cache_jwks_put(cache, S_ISSUER, NULL, 1000, 60) == -1);
    char *jwks = sso_oidc_cache_jwks_get(cache, S_ISSUER, 1059);
    SSO_CHECK(jwks && !strcmp(jwks, "{\"keys\":[1]}"));
    free(jwks);
    SSO_CHECK(!sso_oidc_cache_jwks_get(cache, S_ISSUER, 1060));
    /* A newer JWKS replaces the old one. */
    SSO_CHECK(sso_oidc_cache_jwks_put(cache, S_ISSUER, "{\"keys\":[2]}", 1060, 60) == 0);
    jwks = sso_oidc_cache_jwks_get(cache, S_ISSUER, 1061);
    SSO_CHECK(jwks && !strcmp(jwks, "{\"keys\":[2]}"));
    free(jwks);

    /* Unknown kid: one refetch per 30 s per issuer. */
    SSO_CHECK(sso_oidc_cache_jwks_refresh_allowed(cache, S_ISSUER, 2000));
    SSO_CHECK(!sso_oidc_cache_jwks_refresh_allowed(cache, S_ISSUER, 2000));
    SSO_CHECK(!sso_oidc_cache_jwks_refresh_allowed(cache, S_ISSUER, 2029));
    SSO_CHECK(sso_oidc_cache_jwks_refresh_allowed(cache, "https://b.example.com", 2029));
    SSO_CHECK(sso_oidc_cache_jwks_refresh_allowed(cache, S_ISSUER, 2030));
    SSO_CHECK(!sso_oidc_cache_jwks_refresh_allowed(cache, S_ISSUER, 2059));
    SSO_CHECK(!sso_oidc_cache_jwks_refresh_allowed(cache, NULL, 2059));

    /* Bounded: a third issuer replaces the entry worth least (b's, whose pause ended at
       2059), not the one still fresh. */
    SSO_CHECK(sso_oidc_cache_discovery_put(cache, &d, 3000) == 0);
    SSO_CHECK(sso_oidc_cache_jwks_put(cache, "https://c.example.com", "{\"keys\":[]}", 3000, 60)
              == 0);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 3001, &got) == 1);
    sso_oidc_discovery_free(&got);
    jwks = sso_oidc_cache_jwks_get(cache, "https://c.example.com", 3001);
    SSO_CHECK(jwks);
    free(jwks);
    /* b's refetch record went with it: its next unknown kid may refetch at once. */
    SSO_CHECK(sso_oidc_cache_jwks_refresh_allowed(cache, "https://b.example.com", 3001));
    /* ...which made room by dropping c's (expiring at 3060, before S_ISSUER's 3100). */
    SSO_CHECK(!sso_oidc_cache_jwks_get(cache, "https://c.example.com", 3001));
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 3001, &got) == 1);
    sso_oidc_discovery_free(&got);

    /* A failure is remembered SSO_OIDC_FAILURE_S seconds, per document, with when it was; a
       put of that document forgets it. */
    const char *b = "https://b.example.com";
    SSO_CHECK(sso_oidc_cache_failure_get(cache, b, SSO_OIDC_DOC_DISCOVERY, 3001, why,
                                         sizeof why) == 0);
    SSO_CHECK(sso_oidc_cache_failure_put(cache, b, SSO_OIDC_DOC_DISCOVERY, "HTTP 500", 3000)
              == 0);
    SSO_CHECK(sso_oidc_cache_failure_put(cache, b, SSO_OIDC_DOC_DISCOVERY, NULL, 3000) == -1);
    SSO_CHECK(sso_oidc_cache_failure_put(cache, b, (sso_oidc_doc_t) 7, "x", 3000) == -1);
    SSO_CHECK(sso_oidc_cache_failure_get(cache, b, SSO_OIDC_DOC_DISCOVERY, 3014, why,
                                         sizeof why) == 1
              && !strcmp(why, "HTTP 500 (a failure of the fetch at 1970-01-01T00:50:00Z, "
                              "remembered for 15 s)"));
    SSO_CHECK(sso_oidc_cache_failure_get(cache, b, SSO_OIDC_DOC_DISCOVERY, 3015, why,
                                         sizeof why) == 0);
    SSO_CHECK(sso_oidc_cache_failure_get(cache, b, SSO_OIDC_DOC_JWKS, 3001, why, sizeof why)
              == 0);
    SSO_CHECK(sso_oidc_cache_failure_get(cache, NULL, SSO_OIDC_DOC_JWKS, 3001, why, sizeof why)
              == 0);
    SSO_CHECK(sso_oidc_cache_failure_put(cache, b, SSO_OIDC_DOC_JWKS, "no keys", 3000) == 0
              && sso_oidc_cache_jwks_put(cache, b, "{\"keys\":[]}", 3001, 60) == 0
              && sso_oidc_cache_failure_get(cache, b, SSO_OIDC_DOC_JWKS, 3002, why,
                                            sizeof why) == 0);

    /* One fetch of a document at a time; at most SSO_OIDC_ISSUER_CALLS_MAX calls. */
    SSO_CHECK(sso_oidc_cache_fetch_begin(cache, b, SSO_OIDC_DOC_DISCOVERY)
              && !sso_oidc_cache_fetch_begin(cache, b, SSO_OIDC_DOC_DISCOVERY)
              && sso_oidc_cache_fetch_begin(cache, b, SSO_OIDC_DOC_JWKS));
    sso_oidc_cache_fetch_end(cache, b, SSO_OIDC_DOC_DISCOVERY);
    sso_oidc_cache_fetch_end(cache, b, SSO_OIDC_DOC_JWKS);
    SSO_CHECK(sso_oidc_cache_fetch_begin(cache, b, SSO_OIDC_DOC_DISCOVERY));
    for (int i = 0; i < SSO_OIDC_ISSUER_CALLS_MAX; i++)
        SSO_CHECK(sso_oidc_cache_call_begin(cache, b) == 0);
    SSO_CHECK(sso_oidc_cache_call_begin(cache, b) == -1);
    sso_oidc_cache_call_end(cache, b);
    SSO_CHECK(sso_oidc_cache_call_begin(cache, b) == 0);
    /* An issuer in use keeps its entry: the other one makes room, and when both are in use
       a third gets none. */
    SSO_CHECK(sso_oidc_cache_call_begin(cache, "https://c.example.com") == 0);
    SSO_CHECK(sso_oidc_cache_discovery_get(cache, S_ISSUER, 3001, &got) == 0);
    SSO_CHECK(sso_oidc_cache_call_begin(cache, "https://d.example.com") == -1);
    SSO_CHECK(!sso_oidc_cache_fetch_begin(cache, b, SSO_OIDC_DOC_DISCOVERY));
    sso_oidc_cache_fetch_end(cache, b, SSO_OIDC_DOC_DISCOVERY);
    for (int i = 0; i < SSO_OIDC_ISSUER_CALLS_MAX; i++)
        sso_oidc_cache_call_end(cache, b);
    sso_oidc_cache_call_end(cache, NULL);
    SSO_CHECK(sso_oidc_cache_call_begin(cache, "https://d.example.com") == 0);

    sso_oidc_discovery_free(&d);
    sso_oidc_cache_destroy(&cache);
    SSO_CHECK(!cache);
    sso_oidc_cache_destroy(&cache);
}

void sso_oidc_cache_test(bool verbose)
{
    (void) verbose;
    s_test_cache();
}
