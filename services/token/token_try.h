/* token_try: GET /dashboard/try/callback, where a "Try it" login of the developer dashboard
   ends (services/directory/dashboard/dir_dash_try). The directory redeems the code only for
   the dashboard session in the browser's cookie that started the try, once, with the try's
   PKCE verifier (TokenWrites.TryRedeem, as CodeRedeem does); this service then mints the ID
   token as /oauth/token does (token_code_mint) and answers a page with its header, its claims
   and the raw JWT (no script; every value escaped). Every refusal is a page. */
#ifndef TOKEN_TRY_H
#define TOKEN_TRY_H
#include "bus.pb-c.h"
#include "sso_service.h"

#define TOKEN_TRY_PATH "/dashboard/try/callback"
/* The access token a try's redemption issues (at_hash is over it); it is never shown. */
#define TOKEN_TRY_ACCESS_TTL 60

zframe_t *token_try_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_try_test(bool verbose);
#endif
