/* token_rotate: POST /api/v1/keys/rotate, for `ssoctl keys rotate`. Management bearer token
   (bearer_check); makes a new signing key that is published at once and signs only after
   SSO_KEY_ROTATION_DELAY_S (default 3600), so relying parties have fetched it first. */
#ifndef TOKEN_ROTATE_H
#define TOKEN_ROTATE_H
#include "sso_service.h"

#define TOKEN_ROTATION_DELAY_DEFAULT 3600
#define TOKEN_ROTATION_DELAY_MAX (30L * 86400)

/* The delay from SSO_KEY_ROTATION_DELAY_S's text (config->key_rotation_delay_s), or the
   default when it is NULL or empty; -1 (and a message) when invalid. */
int64_t token_rotate_delay_parse(const char *text);

zframe_t *token_rotate_http(sso_service_t *service, const Sso__HttpRequest *request);

void token_rotate_test(bool verbose);
#endif
