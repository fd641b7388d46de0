/* saml_keycache: keys parsed from PEM, kept across requests. Every ACS POST used to parse each
   IdP certificate and the SP private key again (OpenSSL 3 decoder and provider lookups, most of
   the service's CPU per response); the connection's PEM text rarely changes, so the parsed key
   is kept.

   Entries are keyed by the SHA-256 of the PEM text together with what was asked of it, so a
   changed certificate or key is a different entry and is never served stale; the cache is
   bounded (the least recently used entry goes). Callers always get a reference of their own
   (xmlSecKeyDuplicate, EVP_PKEY_up_ref), so evicting or resetting never frees a key in use. Only
   successes are kept: a refused PEM is parsed (and refused) again on every call. */
#ifndef SAML_KEYCACHE_H
#define SAML_KEYCACHE_H
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <xmlsec/keys.h>

/* Default bound: a few keys per connection for a few dozen busy connections. */
#define SAML_KEYCACHE_CAPACITY 128

/* The public key of a configured IdP certificate as a new xmlsec key (caller destroys) and the
   certificate's SHA-256 fingerprint ("AB:CD:...", 95 chars + NUL). RSA keys under 2048 bits and
   keys that are neither RSA nor EC are refused: NULL with a "config: ..." reason in why. */
xmlSecKeyPtr saml_keycache_idp_key(const char *cert_pem, char fingerprint[96], char *why,
                                   size_t why_size);
/* The SP private key as an EVP_PKEY (caller EVP_PKEY_free's), for signing and decryption;
   NULL when the text is not a PEM private key. */
EVP_PKEY *saml_keycache_sp_pkey(const char *key_pem);

/* Empties the cache and sets its bound (0 = SAML_KEYCACHE_CAPACITY, at most that). */
void saml_keycache_reset(size_t capacity);
/* Counters since the last reset, and the number of entries held. */
void saml_keycache_stats(size_t *hits, size_t *misses, size_t *entries);

void saml_keycache_test(bool verbose);
#endif
