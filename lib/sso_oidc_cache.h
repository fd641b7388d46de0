/* sso_oidc_cache: discovery documents and raw JWKS by issuer, each with its expiry, the
   failures of their last fetches, and what the logins of the issuer do with its provider now
   (the fetches in flight, the calls waiting); at most max_entries issuers (the entry expiring
   first makes room; never one in use). Times are seconds on one clock the caller chooses. Not
   thread-safe: one owner (the oidc service's loop, whose fibers share it). */
#ifndef SSO_OIDC_CACHE_H
#define SSO_OIDC_CACHE_H
#include "sso_oidc_discovery.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token naming an unknown kid refetches its issuer's JWKS at most this often. */
#define SSO_OIDC_JWKS_REFRESH_S 30
/* A failed discovery or JWKS fetch is remembered this long, so the logins of that time fail
   at once with its reason instead of each waiting out another timeout: a provider that is
   down costs one fetch per 15 s, and one that comes back (or is mended) is used again
   within 15 s, sooner than a user retries twice. */
#define SSO_OIDC_FAILURE_S 15
/* Logins waiting on one issuer's provider at once (their calls in flight, or waiting for
   another login's fetch of the same document): beyond it a login fails at once. Half the
   default worker credit (32 fibers), so one slow provider leaves the other half to the
   other issuers; at 200 ms a call still about 30 logins/s per issuer and instance. */
#define SSO_OIDC_ISSUER_CALLS_MAX 16

typedef struct _sso_oidc_cache_t sso_oidc_cache_t;

/* The documents of an issuer that are fetched. */
typedef enum {
    SSO_OIDC_DOC_DISCOVERY = 0,
    SSO_OIDC_DOC_JWKS = 1,
} sso_oidc_doc_t;

sso_oidc_cache_t *sso_oidc_cache_new(size_t max_entries);
void sso_oidc_cache_destroy(sso_oidc_cache_t **self_p);

/* Stores a copy of discovery for its issuer until now + discovery->max_age_s. 0 or -1. */
int sso_oidc_cache_discovery_put(sso_oidc_cache_t *self, const sso_oidc_discovery_t *discovery,
                                 int64_t now);
/* 1 with a copy in out (free it) while the issuer's discovery is fresh; 0 when absent or
   expired; -1 out of memory. */
int sso_oidc_cache_discovery_get(sso_oidc_cache_t *self, const char *issuer, int64_t now,
                                 sso_oidc_discovery_t *out);

/* Stores a copy of the raw JWKS text of issuer until now + max_age_s. 0 or -1. */
int sso_oidc_cache_jwks_put(sso_oidc_cache_t *self, const char *issuer, const char *jwks,
                            int64_t now, int64_t max_age_s);
/* A copy of the issuer's raw JWKS while fresh (caller frees), else NULL. */
char *sso_oidc_cache_jwks_get(sso_oidc_cache_t *self, const char *issuer, int64_t now);

/* For a token that names a kid the cached JWKS lacks: true (and the time recorded) when the
   issuer's JWKS was not force-refetched in the last SSO_OIDC_JWKS_REFRESH_S seconds, else
   false (refuse the token without fetching). */
bool sso_oidc_cache_jwks_refresh_allowed(sso_oidc_cache_t *self, const char *issuer,
                                         int64_t now);

/* Remembers that fetching the issuer's doc failed at now with why, for SSO_OIDC_FAILURE_S
   seconds (a put of that doc forgets it). 0 or -1. */
int sso_oidc_cache_failure_put(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc,
                               const char *why, int64_t now);
/* 1 while a failure of the issuer's doc is remembered, with its reason and when it happened
   in why; else 0. */
int sso_oidc_cache_failure_get(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc,
                               int64_t now, char *why, size_t why_size);

/* Single flight: true when the caller is to fetch the issuer's doc (marked in flight until
   sso_oidc_cache_fetch_end; also when the cache has no room to mark it), false while another
   caller's fetch of it is in flight (wait for its outcome in the cache). */
bool sso_oidc_cache_fetch_begin(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc);
void sso_oidc_cache_fetch_end(sso_oidc_cache_t *self, const char *issuer, sso_oidc_doc_t doc);

/* A call to the issuer's provider begins (or a wait for another's fetch): 0, or -1 when
   SSO_OIDC_ISSUER_CALLS_MAX are in progress already (or no memory). Each 0 takes one
   sso_oidc_cache_call_end. */
int sso_oidc_cache_call_begin(sso_oidc_cache_t *self, const char *issuer);
void sso_oidc_cache_call_end(sso_oidc_cache_t *self, const char *issuer);

void sso_oidc_cache_test(bool verbose);
#endif
