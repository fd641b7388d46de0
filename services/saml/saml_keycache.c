/* saml_keycache: parsed IdP certificates and SP private keys, kept across requests. */
#include "saml_keycache.h"
#include "saml_xml.h"
#include "sso_test.h"
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmlsec/openssl/evp.h>

typedef enum { S_IDP_CERT = 1, S_SP_EVP } s_kind_t;

typedef struct {
    s_kind_t kind;             /* 0 = free slot */
    unsigned char digest[32];  /* SHA-256 of the PEM text */
    uint64_t last_use;
    xmlSecKeyPtr key;          /* S_IDP_CERT: the template callers get copies of */
    EVP_PKEY *pkey;            /* S_SP_EVP */
    char fingerprint[96];      /* S_IDP_CERT */
} s_entry_t;

/* The saml service runs its requests in fibers of one thread, and no cache call reaches the
   bus, so the mutex is never held across a switch; it only keeps the cache correct if a
   future caller runs validations on several threads (it is never contended today). */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_entry_t s_entries[SAML_KEYCACHE_CAPACITY];
static size_t s_capacity = SAML_KEYCACHE_CAPACITY;
static uint64_t s_clock;
static size_t s_hits, s_misses;
/* Fetched once: the implicit fetch behind EVP_sha256() costs a provider lookup per call. */
static EVP_MD *s_sha256;

static void s_entry_clear(s_entry_t *e)
{
    if (e->key)
        xmlSecKeyDestroy(e->key);
    EVP_PKEY_free(e->pkey);
    memset(e, 0, sizeof *e);
}

/* SHA-256 of the PEM text; -1 when it cannot be computed (the caller then parses uncached). */
static int s_digest(const char *pem, unsigned char out[32])
{
    if (!s_sha256)
        s_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned int len = 0;
    return s_sha256 && EVP_Digest(pem, strlen(pem), out, &len, s_sha256, NULL) == 1 && len == 32
           ? 0 : -1;
}

static s_entry_t *s_find(s_kind_t kind, const unsigned char digest[32])
{
    for (size_t i = 0; i < s_capacity; i++)
        if (s_entries[i].kind == kind && memcmp(s_entries[i].digest, digest, 32) == 0) {
            s_entries[i].last_use = ++s_clock;
            s_hits++;
            return &s_entries[i];
        }
    s_misses++;
    return NULL;
}

/* A free slot, or the least recently used one emptied. */
static s_entry_t *s_slot(void)
{
    s_entry_t *oldest = &s_entries[0];
    for (size_t i = 0; i < s_capacity; i++) {
        if (!s_entries[i].kind)
            return &s_entries[i];
        if (s_entries[i].last_use < oldest->last_use)
            oldest = &s_entries[i];
    }
    s_entry_clear(oldest);
    return oldest;
}

static s_entry_t *s_insert(s_kind_t kind, const unsigned char digest[32])
{
    s_entry_t *e = s_slot();
    e->kind = kind;
    memcpy(e->digest, digest, 32);
    e->last_use = ++s_clock;
    return e;
}

static EVP_PKEY *s_parse_sp_pkey(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    return key;
}

xmlSecKeyPtr saml_keycache_idp_key(const char *cert_pem, char fingerprint[96], char *why,
                                   size_t why_size)
{
    unsigned char digest[32];
    xmlSecKeyPtr out = NULL;
    pthread_mutex_lock(&s_lock);
    if (s_digest(cert_pem, digest) != 0) {
        pthread_mutex_unlock(&s_lock);
        return sso_xmldsig_key_from_pem(cert_pem, fingerprint, why, why_size);
    }
    s_entry_t *e = s_find(S_IDP_CERT, digest);
    if (!e) {
        char print[96];
        xmlSecKeyPtr key = sso_xmldsig_key_from_pem(cert_pem, print, why, why_size);
        if (key) {
            e = s_insert(S_IDP_CERT, digest);
            e->key = key;
            memcpy(e->fingerprint, print, sizeof print);
        }
    }
    if (e) {
        out = xmlSecKeyDuplicate(e->key);
        memcpy(fingerprint, e->fingerprint, 96);
        if (!out)
            snprintf(why, why_size, "config: could not load an IdP certificate's key");
    }
    pthread_mutex_unlock(&s_lock);
    return out;
}

EVP_PKEY *saml_keycache_sp_pkey(const char *key_pem)
{
    unsigned char digest[32];
    EVP_PKEY *out = NULL;
    pthread_mutex_lock(&s_lock);
    if (s_digest(key_pem, digest) != 0) {
        pthread_mutex_unlock(&s_lock);
        return s_parse_sp_pkey(key_pem);
    }
    s_entry_t *e = s_find(S_SP_EVP, digest);
    if (!e) {
        EVP_PKEY *key = s_parse_sp_pkey(key_pem);
        if (key) {
            e = s_insert(S_SP_EVP, digest);
            e->pkey = key;
        }
    }
    if (e && EVP_PKEY_up_ref(e->pkey) == 1)
        out = e->pkey;
    pthread_mutex_unlock(&s_lock);
    return out;
}

void saml_keycache_reset(size_t capacity)
{
    pthread_mutex_lock(&s_lock);
    for (size_t i = 0; i < SAML_KEYCACHE_CAPACITY; i++)
        s_entry_clear(&s_entries[i]);
    s_capacity = capacity == 0 || capacity > SAML_KEYCACHE_CAPACITY ? SAML_KEYCACHE_CAPACITY
                                                                    : capacity;
    s_clock = 0;
    s_hits = s_misses = 0;
    pthread_mutex_unlock(&s_lock);
}

void saml_keycache_stats(size_t *hits, size_t *misses, size_t *entries)
{
    pthread_mutex_lock(&s_lock);
    size_t n = 0;
    for (size_t i = 0; i < SAML_KEYCACHE_CAPACITY; i++)
        n += s_entries[i].kind != 0;
    if (hits)
        *hits = s_hits;
    if (misses)
        *misses = s_misses;
    if (entries)
        *entries = n;
    pthread_mutex_unlock(&s_lock);
}

/* -------------------------------------------------------------------------- self-test */

static EVP_PKEY *s_key_of(xmlSecKeyPtr key)
{
    return key ? xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(key)) : NULL;
}

/* True when hits/misses/entries moved to exactly these values. */
static bool s_stats_are(size_t hits, size_t misses, size_t entries)
{
    size_t h, m, n;
    saml_keycache_stats(&h, &m, &n);
    if (h == hits && m == misses && n == entries)
        return true;
    fprintf(stderr, "  keycache: hits %zu misses %zu entries %zu; expected %zu %zu %zu\n", h, m,
            n, hits, misses, entries);
    return false;
}

void saml_keycache_test(bool verbose)
{
    (void) verbose;
    SSO_CHECK(sso_xmlsec_init() == 0);
    char *key_a = NULL, *cert_a = NULL, *key_b = NULL, *cert_b = NULL, why[256] = "";
    SSO_CHECK(sso_xmldsig_test_keypair("a.test", &key_a, &cert_a) == 0);
    SSO_CHECK(sso_xmldsig_test_keypair("b.test", &key_b, &cert_b) == 0);
    if (!key_a || !key_b)
        goto done;
    char fp_a[96], fp_b[96], fp[96];
    SSO_CHECK(saml_cert_fingerprint_pem(cert_a, fp_a) == 0);
    SSO_CHECK(saml_cert_fingerprint_pem(cert_b, fp_b) == 0);
    saml_keycache_reset(2);
    SSO_CHECK(s_stats_are(0, 0, 0));

    /* Miss, then hit: each caller gets its own xmlsec key over the one parsed EVP_PKEY. */
    xmlSecKeyPtr k1 = saml_keycache_idp_key(cert_a, fp, why, sizeof why);
    SSO_CHECK(k1 && strcmp(fp, fp_a) == 0 && s_stats_are(0, 1, 1));
    memset(fp, 0, sizeof fp);
    xmlSecKeyPtr k2 = saml_keycache_idp_key(cert_a, fp, why, sizeof why);
    SSO_CHECK(k2 && k2 != k1 && strcmp(fp, fp_a) == 0 && s_stats_are(1, 1, 1));
    SSO_CHECK(s_key_of(k1) && s_key_of(k1) == s_key_of(k2));
    if (k1)
        xmlSecKeyDestroy(k1);
    SSO_CHECK(k2 && xmlSecKeyIsValid(k2) && EVP_PKEY_get_bits(s_key_of(k2)) == 2048);

    /* A changed certificate is another entry: its own key and fingerprint, never a or stale. */
    xmlSecKeyPtr k3 = saml_keycache_idp_key(cert_b, fp, why, sizeof why);
    SSO_CHECK(k3 && strcmp(fp, fp_b) == 0 && s_key_of(k3) != s_key_of(k2)
              && s_stats_are(1, 2, 2));
    if (k3)
        xmlSecKeyDestroy(k3);

    /* Bound 2, full: the SP key evicts the least recently used entry (certificate a). */
    EVP_PKEY *sp = saml_keycache_sp_pkey(key_a);
    SSO_CHECK(sp && s_stats_are(1, 3, 2));
    EVP_PKEY_free(sp);
    k1 = saml_keycache_idp_key(cert_a, fp, why, sizeof why);
    SSO_CHECK(k1 && strcmp(fp, fp_a) == 0 && s_stats_are(1, 4, 2));
    /* The key handed out before the eviction is still whole. */
    SSO_CHECK(k2 && xmlSecKeyIsValid(k2) && s_key_of(k1) != s_key_of(k2));
    if (k1)
        xmlSecKeyDestroy(k1);
    if (k2)
        xmlSecKeyDestroy(k2);
    sp = saml_keycache_sp_pkey(key_a); /* still there: certificate b went instead */
    SSO_CHECK(sp && s_stats_are(2, 4, 2));
    EVP_PKEY_free(sp);

    /* What was asked is part of the key: a certificate is no SP key, a private key is no IdP
       certificate, and a refusal is not remembered. */
    SSO_CHECK(saml_keycache_sp_pkey(cert_a) == NULL);
    SSO_CHECK(saml_keycache_idp_key(key_a, fp, why, sizeof why) == NULL
              && strstr(why, "not a PEM"));
    SSO_CHECK(saml_keycache_idp_key("junk", fp, why, sizeof why) == NULL
              && strstr(why, "not a PEM"));
    SSO_CHECK(s_stats_are(2, 7, 2));
    saml_keycache_reset(0);
    EVP_PKEY *p1 = saml_keycache_sp_pkey(key_b), *p2 = saml_keycache_sp_pkey(key_b);
    SSO_CHECK(p1 && p1 == p2 && EVP_PKEY_get_base_id(p1) == EVP_PKEY_RSA && s_stats_are(1, 1, 1));
    /* A reset frees the cache's reference only. */
    saml_keycache_reset(0);
    SSO_CHECK(p1 && EVP_PKEY_get_bits(p1) == 2048 && s_stats_are(0, 0, 0));
    EVP_PKEY_free(p1);
    EVP_PKEY_free(p2);
done:
    saml_keycache_reset(0);
    free(key_a);
    free(cert_a);
    free(key_b);
    free(cert_b);
}
