/* token_service: the token service's definition on the bus. */
#include "token_service.h"
#include "sso_log.h"
#include "token_http.h"
#include "token_sign.h"

static int s_init(sso_service_t *service)
{
    token_state_t *state = calloc(1, sizeof *state);
    if (!state || !(state->keys = token_keys_new())) {
        free(state);
        return -1;
    }
    service->state = state;
    return 0;
}

static void s_fini(sso_service_t *service)
{
    token_state_t *state = service->state;
    if (!state)
        return;
    token_keys_destroy(&state->keys);
    free(state);
    service->state = NULL;
}

static zframe_t *s_rpc(sso_service_t *service, const char *rpc, zframe_t *payload,
                       const Sso__Meta *meta)
{
    (void) meta;
    zframe_t *frame = token_sign_rpc(service, rpc, payload);
    if (!frame)
        sso_warn("unknown rpc %s", rpc);
    return frame;
}

/* TokenSign (proto/token.proto) is for the saml service's IdP-initiated logins only. */
static const char *const s_rpc_callers[] = {"saml", NULL};

const sso_service_def_t token_service = {
    .name = "token",
    .summary = "The OpenID Provider of the SSO broker: discovery, JWKS (/keys), the start of a\n"
               "login (/oauth/authorize), the token endpoint (/oauth/token), /userinfo, and\n"
               "the signing keys (POST /api/v1/keys/rotate). A bus worker that connects to\n"
               "SSO_BROKER_ENDPOINT; run several for more throughput. The directory makes\n"
               "rotated-in keys (its SSO_KEY_ROTATION_DELAY_S says when they sign).",
    .init = s_init,
    .fini = s_fini,
    .http = token_http,
    .rpc = s_rpc,
    .rpc_callers = s_rpc_callers,
    .concurrent = true, /* requests run in fibers; see sso_service.h */
};
