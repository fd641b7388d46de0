/* ssoctl keys: the broker's ID-token signing keys. */
#include "ssoctl_cmd.h"

static int s_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    json_t *result = NULL;
    int rc = ssoctl_call(ctx, "POST", "/keys/rotate", NULL, &result);
    /* The response's shape is the endpoint's to define, so show it whole either way. */
    if (rc == 0 && result)
        rc = ssoctl_print_json(ctx, result);
    else if (rc == 0)
        fprintf(ctx->out, "Signing keys rotated.\n");
    json_decref(result);
    return rc;
}

const ssoctl_cmd_t ssoctl_keys_cmds[] = {
    {"keys", "rotate", "keys rotate",
     "Rotate the key that signs ID tokens.",
     "Calls POST /api/v1/keys/rotate and prints its JSON response.\n"
     "\n"
     "Examples:\n"
     "  ssoctl keys rotate\n",
     NULL, 0, 0, s_rotate},
    {0},
};
