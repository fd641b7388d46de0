/* ssoctl clients: OAuth clients of the broker (the app's Auth0 tenant is one). */
#include "ssoctl_cmd.h"
#include <stdlib.h>

static const ssoctl_column_t s_list_columns[] = {
    {"ID", "id"},
    {"CLIENT ID", "client_id"},
    {"NAME", "name"},
    {"REDIRECT URIS", "redirect_uris"},
};

static const ssoctl_column_t s_detail_rows[] = {
    {"ID", "id"},
    {"CLIENT ID", "client_id"},
    /* Only the create response carries it: the secret is shown once, then stored hashed. */
    {"CLIENT SECRET", "client_secret"},
    {"NAME", "name"},
    {"REDIRECT URIS", "redirect_uris"},
    {"CREATED", "created_at"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *name = ssoctl_args_get(args, "name");
    size_t nuris = ssoctl_args_count(args, "redirect-uri");
    if (!name)
        return ssoctl_usage_error(ctx, "--name is required");
    if (nuris == 0)
        return ssoctl_usage_error(ctx, "at least one --redirect-uri is required");
    int rc = ssoctl_nonempty(ctx, "--name", name);
    for (size_t i = 0; rc == 0 && i < nuris; i++)
        rc = ssoctl_nonempty(ctx, "--redirect-uri", ssoctl_args_nth(args, "redirect-uri", i));
    if (rc != 0)
        return rc;
    json_t *uris = json_array();
    for (size_t i = 0; uris && i < nuris; i++)
        if (json_array_append_new(uris, json_string(ssoctl_args_nth(args, "redirect-uri", i)))) {
            json_decref(uris);
            uris = NULL;
        }
    json_t *body = uris ? json_pack("{s:s, s:o}", "name", name, "redirect_uris", uris) : NULL;
    if (!body)
        return ssoctl_fail(ctx, "--name and --redirect-uri must be UTF-8 text");
    json_t *result = NULL;
    rc = ssoctl_call(ctx, "POST", "/clients", body, &result);
    json_decref(body);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_detail_rows, COUNT(s_detail_rows));
    if (rc == 0 && json_object_get(result, "client_secret"))
        fprintf(ctx->err, "Save the client secret now: it is not shown again.\n");
    json_decref(result);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    json_t *list = NULL;
    const char *next = NULL;
    int rc = ssoctl_list(ctx, "/clients", 0, NULL, true, 0, &list, &next);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, s_list_columns, COUNT(s_list_columns));
    json_decref(list);
    return rc;
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_get_id(ctx, "ID", "/clients/", args->pos[0], s_detail_rows,
                         COUNT(s_detail_rows));
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/clients/", args->pos[0], "client");
}

static const char *const s_create_opts[] = {"name", "redirect-uri", NULL};

const ssoctl_cmd_t ssoctl_clients_cmds[] = {
    {"clients", "create", "clients create --name NAME --redirect-uri URI [--redirect-uri URI2...]",
     "Register an OAuth client; its secret is printed once.",
     "Options:\n"
     "  --name NAME          a label for the client\n"
     "  --redirect-uri URI   an allowed redirect URI (exact match); repeat for several\n"
     "\n"
     "The response holds client_id and client_secret. The secret is stored hashed and\n"
     "cannot be shown again: copy it into the Auth0 connection right away.\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients create --name \"Auth0 prod\" \\\n"
     "      --redirect-uri https://acme.us.auth0.com/login/callback\n",
     s_create_opts, 0, 0, s_create},
    {"clients", "list", "clients list", "List OAuth clients (secrets are never listed).",
     "Columns: ID, CLIENT ID, NAME, REDIRECT URIS.\n"
     "\n"
     "Examples:\n"
     "  ssoctl clients list\n",
     NULL, 0, 0, s_list},
    {"clients", "get", "clients get ID", "Show one OAuth client.",
     "Examples:\n"
     "  ssoctl clients get cli_123\n",
     NULL, 1, 1, s_get},
    {"clients", "delete", "clients delete ID", "Delete an OAuth client.",
     "Examples:\n"
     "  ssoctl clients delete cli_123\n",
     NULL, 1, 1, s_delete},
    {0},
};
