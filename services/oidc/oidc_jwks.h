/* oidc_jwks: the public JWKS of a connection's private_key_jwt client key, served by the
   broker at OIDC_JWKS_PATH_PREFIX "<connection id>" OIDC_JWKS_PATH_SUFFIX for the provider to
   verify the broker's client assertions with (or to be pasted into it). Made from the
   connection's certificate (public; the directory gives it without secrets), the key's kid
   its RFC 7638 thumbprint, as oidc_exchange_assertion signs under. */
#ifndef OIDC_JWKS_H
#define OIDC_JWKS_H
#include "directory.pb-c.h"
#include "sso_service.h"
#include <jansson.h>

#define OIDC_JWKS_PATH_PREFIX "/sso/oidc/"
#define OIDC_JWKS_PATH_SUFFIX "/jwks"
/* Providers cache it; a key is made once per connection and kept, so minutes are safe. */
#define OIDC_JWKS_MAX_AGE_S 300

/* {"keys":[{RSA public JWK, kid, use "sig", alg "RS256"}]} of the certificate in cert_pem;
   caller decrefs; NULL when cert_pem (may be NULL) holds no RSA certificate. */
json_t *oidc_jwks_of_certificate(const char *cert_pem);

/* The HTTP answer for conn (NULL: none such): 200 with the JWKS, Cache-Control public with
   OIDC_JWKS_MAX_AGE_S and JSON; 404 when conn is no OIDC connection or has no client key. */
zframe_t *oidc_jwks_response(const Sso__Connection *conn);

/* GET OIDC_JWKS_PATH_PREFIX<connection_id>OIDC_JWKS_PATH_SUFFIX: the connection read from the
   directory (without secrets), then oidc_jwks_response; 503 when the directory does not
   answer. */
zframe_t *oidc_jwks_http(sso_service_t *service, const char *connection_id);

void oidc_jwks_test(bool verbose);
#endif
