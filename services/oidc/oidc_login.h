/* oidc_login: the bus legs of a login through an OIDC connection. UpstreamStart.Start (token ->
   oidc): the authorization request, from the provider's discovery (cached) and the
   transaction. The callback (/sso/oidc/callback, the browser back from the provider): the
   login found by its state (LoginContext), the provider's error passed on, else the code
   exchanged at the token endpoint, the ID token's signature verified against the provider's
   JWKS (refetched at most once per 30 s for an unknown kid) and its claims checked, the
   profile and the email domain guard, then LoginComplete (or LoginFail with the reason) at the
   directory. Every call to the provider, within the request's budget, is oidc_calls'; the
   form_post re-post page and the response-mode check are oidc_repost's. */
#ifndef OIDC_LOGIN_H
#define OIDC_LOGIN_H
#include "sso_service.h"

/* UpstreamStart.Start, deadline_ms its Meta.deadline_ms. */
zframe_t *oidc_login_start(sso_service_t *service, zframe_t *payload, int64_t deadline_ms);
/* The callback at OIDC_CALLBACK_PATH/<connection_id>, deadline_ms its Meta.deadline_ms. */
zframe_t *oidc_login_callback(sso_service_t *service, const Sso__HttpRequest *request,
                              const char *connection_id, int64_t deadline_ms);

void oidc_login_test(bool verbose);
#endif
