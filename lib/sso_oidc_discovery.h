/* sso_oidc_discovery: an upstream OpenID Provider's discovery document (OpenID Connect
   Discovery 1.0) and its JWKS, fetched through sso_fetch's guard and checked against what the
   broker accepts (the cache of both per issuer is sso_oidc_cache). The directory checks a
   connection's discovery when it is created, changed or enabled; the oidc service uses the
   endpoints and the raw JWKS at login (parsing the keys is sso_jose's job). */
#ifndef SSO_OIDC_DISCOVERY_H
#define SSO_OIDC_DISCOVERY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSO_OIDC_DISCOVERY_MAX_BYTES (128 * 1024)
#define SSO_OIDC_JWKS_MAX_BYTES (256 * 1024)
#define SSO_OIDC_URL_MAX 2048
#define SSO_OIDC_FETCH_TIMEOUT_MS 4000
/* Lifetimes of a fetched document: Cache-Control max-age clamped to these bounds; the
   default when the answer has none; no-store or no-cache mean the minimum. */
#define SSO_OIDC_MAX_AGE_MIN_S 60
#define SSO_OIDC_MAX_AGE_MAX_S (24 * 3600)
#define SSO_OIDC_MAX_AGE_DEFAULT_S 3600
/* The ID token signature algorithms the broker accepts, one bit each. */
enum {
    SSO_OIDC_ALG_RS256 = 1 << 0,
    SSO_OIDC_ALG_RS384 = 1 << 1,
    SSO_OIDC_ALG_RS512 = 1 << 2,
    SSO_OIDC_ALG_PS256 = 1 << 3,
    SSO_OIDC_ALG_PS384 = 1 << 4,
    SSO_OIDC_ALG_PS512 = 1 << 5,
    SSO_OIDC_ALG_ES256 = 1 << 6,
    SSO_OIDC_ALG_ES384 = 1 << 7,
    SSO_OIDC_ALG_ES512 = 1 << 8,
};

/* The client authentications at the token endpoint the broker can use, one bit each. */
typedef enum {
    SSO_OIDC_AUTH_CLIENT_SECRET_BASIC = 1 << 0,
    SSO_OIDC_AUTH_CLIENT_SECRET_POST = 1 << 1,
    SSO_OIDC_AUTH_PRIVATE_KEY_JWT = 1 << 2, /* RFC 7523 client assertion, RS256 */
} sso_oidc_token_auth_t;

/* A checked discovery document. Owned strings; sso_oidc_discovery_free releases them. */
typedef struct {
    char *issuer;                 /* equal to the configured issuer, byte for byte */
    char *authorization_endpoint; /* https (loopback http only when private upstreams allowed) */
    char *token_endpoint;
    char *jwks_uri;
    char *userinfo_endpoint;      /* NULL when the provider lists none */
    unsigned algs;                /* SSO_OIDC_ALG_* bits offered and accepted; never 0 */
    unsigned auth_methods;        /* SSO_OIDC_AUTH_* bits listed (absent: basic); never 0 */
    unsigned auth_signing_algs;   /* SSO_OIDC_ALG_* bits of token_endpoint_auth_signing_alg_
                                     values_supported (absent: RS256) */
    bool pkce_s256;               /* code_challenge_methods_supported lists S256 */
    bool form_post;               /* response_modes_supported lists form_post */
    int64_t max_age_s;            /* lifetime from the answer's Cache-Control (fetch only) */
} sso_oidc_discovery_t;

/* Checks a discovery document (len bytes of json, at most SSO_OIDC_DISCOVERY_MAX_BYTES)
   against expected_issuer and fills out. 0, or -1 with the precise reason in why (printable
   ASCII, values from the document quoted and cut short) and out zeroed. */
int sso_oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer,
                             bool allow_private, sso_oidc_discovery_t *out, char *why,
                             size_t why_size);

/* GETs <issuer>/.well-known/openid-configuration (a trailing slash of the issuer removed
   first, OIDC Discovery section 4) through sso_fetch, requires HTTP 200 and a JSON content
   type, and parses it as above. Blocks for up to SSO_OIDC_FETCH_TIMEOUT_MS: call it off any
   event loop. 0, or -1 with the reason in why. */
int sso_oidc_discovery_fetch(const char *issuer, bool allow_private, sso_oidc_discovery_t *out,
                             char *why, size_t why_size);
/* The same within timeout_ms (a login's time left with its provider). */
int sso_oidc_discovery_fetch_within(const char *issuer, bool allow_private, long timeout_ms,
                                    sso_oidc_discovery_t *out, char *why, size_t why_size);

/* GETs a JWKS: HTTP 200, a JSON content type, a JSON object with a "keys" array (the keys
   themselves are sso_jose's to read). *json gets the raw text (caller frees), *max_age_s its
   lifetime from Cache-Control. 0, or -1 with the reason in why and *json NULL. */
int sso_oidc_jwks_fetch(const char *jwks_uri, bool allow_private, char **json,
                        int64_t *max_age_s, char *why, size_t why_size);
/* The same within timeout_ms. */
int sso_oidc_jwks_fetch_within(const char *jwks_uri, bool allow_private, long timeout_ms,
                               char **json, int64_t *max_age_s, char *why, size_t why_size);

/* A deep copy of src into dst; 0, or -1 (out of memory) with dst zeroed. */
int sso_oidc_discovery_copy(sso_oidc_discovery_t *dst, const sso_oidc_discovery_t *src);
void sso_oidc_discovery_free(sso_oidc_discovery_t *discovery);

/* "RS256" and the like: whether alg is one the discovery offered and the broker accepts
   (never "none", never an HMAC). */
bool sso_oidc_discovery_alg_ok(const sso_oidc_discovery_t *discovery, const char *alg);
/* The names of the algorithms of discovery->algs (offered and accepted), NULL-ended. */
#define SSO_OIDC_ALGS_MAX 9
void sso_oidc_discovery_algs(const sso_oidc_discovery_t *discovery,
                             const char *algs[SSO_OIDC_ALGS_MAX + 1]);

/* The client authentication for a connection configured with method (its options'
   token_endpoint_auth_method: "client_secret_basic", "client_secret_post", "private_key_jwt";
   NULL or "": client_secret_basic when listed, else client_secret_post), checked against what
   the discovery lists (private_key_jwt also needs RS256 among the assertion algorithms). 0 with
   *out, or -1 with the reason in why (what is configured, what the provider lists). */
int sso_oidc_discovery_auth_method(const sso_oidc_discovery_t *discovery, const char *method,
                                   sso_oidc_token_auth_t *out, char *why, size_t why_size);
/* "client_secret_basic" and so on; "" for no single known method. */
const char *sso_oidc_auth_method_name(sso_oidc_token_auth_t method);

/* The lifetime in seconds a Cache-Control value (NULL: absent) gives a document. */
int64_t sso_oidc_max_age(const char *cache_control);

void sso_oidc_discovery_test(bool verbose);
#endif
