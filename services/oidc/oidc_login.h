/* oidc_login: the bus legs of a login through an OIDC connection. UpstreamStart.Start (token ->
   oidc): the authorization request, from the provider's discovery (cached) and the
   transaction. The callback (/sso/oidc/callback, the browser back from the provider): the
   login found by its state (LoginContext), the provider's error passed on, else the code
   exchanged at the token endpoint, the ID token's signature verified against the provider's
   JWKS (refetched at most once per 30 s for an unknown kid) and its claims checked, the
   profile and the email domain guard, then LoginComplete (or LoginFail with the reason) at the
   directory. Every fetch runs off the loop (sso_service_offload), so a slow provider holds
   up only its own logins. */
#ifndef OIDC_LOGIN_H
#define OIDC_LOGIN_H
#include "sso_oidc_discovery.h"
#include "sso_service.h"

/* The service's state. */
typedef struct {
    sso_oidc_cache_t *cache; /* discovery and JWKS per issuer */
} oidc_state_t;

zframe_t *oidc_login_start(sso_service_t *service, zframe_t *payload);
/* The callback at OIDC_CALLBACK_PATH/<connection_id>. */
zframe_t *oidc_login_callback(sso_service_t *service, const Sso__HttpRequest *request,
                              const char *connection_id);

void oidc_login_test(bool verbose);
#endif
