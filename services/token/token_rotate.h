/* token_rotate: POST /api/v1/keys/rotate, for `ssoctl keys rotate`. A management bearer token,
   which the directory checks as it rotates (TokenWrites.KeyRotate, the function the
   dashboard's rotation runs): a new signing key published at once that signs only after the
   directory's SSO_KEY_ROTATION_DELAY_S (default 3600), so relying parties have fetched it
   first. */
#ifndef TOKEN_ROTATE_H
#define TOKEN_ROTATE_H
#include "sso_service.h"

zframe_t *token_rotate_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_rotate_test(bool verbose);
#endif
