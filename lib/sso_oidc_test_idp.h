/* sso_oidc_test_idp: for self-tests only, in lib/ and in the services: a stand-in OpenID
   Provider, a loopback HTTP server on a thread of its own that answers each GET or POST from a
   table of routes (by path), one connection at a time. No production path may call it: the
   services' binaries are linked with --gc-sections, so it drops out with the self-tests that
   use it (scripts/unit.sh checks their symbols for the kits); keep it that way. */
#ifndef SSO_OIDC_TEST_IDP_H
#define SSO_OIDC_TEST_IDP_H
#include <stddef.h>

typedef struct _sso_oidc_test_idp_t sso_oidc_test_idp_t;

sso_oidc_test_idp_t *sso_oidc_test_idp_new(void);
void sso_oidc_test_idp_destroy(sso_oidc_test_idp_t **self_p);
/* "http://127.0.0.1:<port>" */
const char *sso_oidc_test_idp_url(const sso_oidc_test_idp_t *self);
/* GET or POST path answers status with headers (whole lines, each ending "\r\n"; may be
   NULL) and body, after delay_ms; replaces an earlier route of path. 0, or -1 when the table
   is full. */
int sso_oidc_test_idp_route(sso_oidc_test_idp_t *self, const char *path, int status,
                            const char *headers, const char *body, int delay_ms);
/* Publishes, under path prefix ("/acme"), a discovery document every check accepts and an
   empty JWKS; its issuer (the server's URL and prefix) in issuer. 0 or -1. */
int sso_oidc_test_idp_provider(sso_oidc_test_idp_t *self, const char *prefix, char *issuer,
                               size_t issuer_size);
/* A discovery document every check accepts, for issuer (JSON text; caller frees; NULL out of
   memory). */
char *sso_oidc_test_idp_discovery(const char *issuer);
/* How many requests for path arrived. */
int sso_oidc_test_idp_hits(sso_oidc_test_idp_t *self, const char *path);

#endif
