/* dir_dash_try: "Try it" of the developer dashboard: a real login through the IdP simulator
   for the Test Organization, started by a signed-in admin, whose ID token the token service
   mints as for any client and shows. POST /dashboard/api/try (session and CSRF checked by
   the router; 404 with the simulator off) stores a try bound to the dashboard session: its
   state (SHA-256), its PKCE verifier (sealed), 10 minutes, single use, at most
   DIR_DASH_TRY_LIVE live ones per session; it answers the /oauth/authorize URL of the built-in
   client DIR_SEED_TRY_CLIENT_ID (organization_id = the Test Organization, state, nonce, the
   S256 challenge), which the dashboard opens in a new window. The login runs as any other
   and ends at <public url>/dashboard/try/callback?code&state, which the gateway sends to the
   token service; it calls TokenWrites.TryRedeem with the browser's Cookie header, and the
   directory redeems the code (dir_codes_spend, as CodeRedeem) only for the session that
   started the try, with the try's verifier, once. The client has no secret: the browser
   never holds one, and /oauth/token refuses its codes. */
#ifndef DIR_DASH_TRY_H
#define DIR_DASH_TRY_H
#include "dashboard/dir_dash_session.h"
#include "dir_rpc.h"

#define DIR_DASH_TRY_TTL 600
#define DIR_DASH_TRY_LIVE 5 /* its refusal's text says 5 */

/* POST /dashboard/api/try for session: 201 {id, authorize_url, expires_at}. */
zframe_t *dir_dash_try_http(dir_t *dir, const Sso__HttpRequest *request,
                            const dir_dash_session_t *session);

/* TokenWrites.TryRedeem: the grant as CodeRedeem answers it, or not_found (simulator off, no
   such try), access_denied (no live dashboard session in the cookie, or another one than the
   try's), consumed, expired, or CodeRedeem's invalid_grant. */
DIR_RPC_FN(dir_dash_try_redeem, Sso__TryRedeemRequest, Sso__CodeRedeemReply);

void dir_dash_try_test(bool verbose);
#endif
