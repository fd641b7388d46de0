/* ssoctl directories: an organization's SCIM directories, their bearer tokens, and the users,
   groups and sync events their identity provider provisioned. */
#include "ssoctl_cmd.h"
#include <stdlib.h>

/* The API's bound of token's overlap_seconds. */
#define OVERLAP_MAX (7L * 24 * 3600)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const ssoctl_column_t s_list_columns[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"BASE URL", "scim_base_url"},
    {"CREATED", "created_at"},
};

static const ssoctl_column_t s_detail_rows[] = {
    {"ID", "id"},
    {"ORGANIZATION", "organization_id"},
    {"NAME", "name"},
    {"BASE URL", "scim_base_url"},
    /* Only create and rotate-token answers carry it: stored hashed, it is shown once. */
    {"TOKEN", "token"},
    {"TOKENS", "tokens.id"},
    {"TOKENS EXPIRE", "tokens.expires_at"},
    {"CREATED", "created_at"},
};

static const ssoctl_column_t s_user_columns[] = {
    {"ID", "id"},           {"USER NAME", "user_name"}, {"EMAIL", "email"},
    {"ACTIVE", "active"},   {"EXTERNAL ID", "external_id"}, {"DELETED", "deleted_at"},
};

static const ssoctl_column_t s_group_columns[] = {
    {"ID", "id"},         {"NAME", "display_name"}, {"MEMBERS", "members_count"},
    {"EXTERNAL ID", "external_id"}, {"DELETED", "deleted_at"},
};

static const ssoctl_column_t s_event_columns[] = {
    {"TIME", "created_at"},  {"TYPE", "type"},          {"RESOURCE", "resource_type"},
    {"ID", "resource_id"},   {"DETAIL", "detail"},
};

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *name = ssoctl_args_get(args, "name");
    int rc = ssoctl_nonempty(ctx, "ORG_ID", args->pos[0]);
    if (rc == 0 && name)
        rc = ssoctl_nonempty(ctx, "--name", name);
    if (rc != 0)
        return rc;
    json_t *body = json_object();
    if (body && name && json_object_set_new(body, "name", json_string(name)) != 0) {
        json_decref(body);
        return ssoctl_fail(ctx, "--name must be UTF-8 text");
    }
    char *path = ssoctl_path("/organizations/", args->pos[0], "/directories", NULL);
    json_t *result = NULL;
    rc = body && path ? ssoctl_call(ctx, "POST", path, body, &result)
                      : ssoctl_fail(ctx, "out of memory");
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_detail_rows, COUNT(s_detail_rows));
    if (rc == 0 && json_object_get(result, "token"))
        fprintf(ctx->err, "Save the token now: it is shown only once. Give the identity provider "
                          "the base URL and the token.\n");
    json_decref(result);
    json_decref(body);
    free(path);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_list(ctx, args, "/directories", s_list_columns, COUNT(s_list_columns));
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_get_id(ctx, "ID", "/directories/", args->pos[0], s_detail_rows,
                         COUNT(s_detail_rows));
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/directories/", args->pos[0], "SCIM directory");
}

static int s_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    json_t *result = NULL;
    int rc = ssoctl_rotate(ctx, args, "/directories/", "/token", OVERLAP_MAX, "7 days",
                           s_detail_rows, COUNT(s_detail_rows), &result);
    if (rc == 0 && !ctx->json) {
        /* The previous token, if it still works, is the second of the live ones. */
        json_t *previous = json_array_get(json_object_get(result, "tokens"), 1);
        const char *until = json_string_value(json_object_get(previous, "expires_at"));
        fprintf(ctx->err, "Save the new token now: it is shown only once. ");
        if (until)
            fprintf(ctx->err, "The previous token works until %s.\n", until);
        else
            fprintf(ctx->err, "The previous token no longer works.\n");
    }
    json_decref(result);
    return rc;
}

static int s_users(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_sub_list(ctx, "ID", "/directories/", args->pos[0], "/users", s_user_columns,
                           COUNT(s_user_columns));
}

static int s_groups(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_sub_list(ctx, "ID", "/directories/", args->pos[0], "/groups", s_group_columns,
                           COUNT(s_group_columns));
}

/* The newest --limit events, as ssoctl events shows the login log. */
static int s_events(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    static const ssoctl_filter_t none[] = {{NULL, NULL, false}};
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/directories/", args->pos[0], "/events", NULL);
    rc = path ? ssoctl_show_newest(ctx, args, path, none, s_event_columns,
                                   COUNT(s_event_columns))
              : ssoctl_fail(ctx, "out of memory");
    free(path);
    return rc;
}

static const char *const s_create_opts[] = {"name", NULL};
static const char *const s_rotate_opts[] = {"overlap", NULL};
static const char *const s_events_opts[] = {"limit", NULL};

const ssoctl_cmd_t ssoctl_directories_cmds[] = {
    {"directories", "create", "directories create ORG_ID [--name NAME]",
     "Create a SCIM directory for an organization; its token is printed once.",
     "Options:\n"
     "  --name NAME   a label for the directory (default: \"SCIM directory\")\n"
     "\n"
     "Give the organization's identity provider (Okta, Entra ID) the BASE URL as the SCIM\n"
     "connector base URL and the TOKEN as its bearer token. The token is stored hashed and\n"
     "cannot be shown again; rotate-token makes a new one.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories create org_123\n"
     "  ssoctl directories create org_123 --name \"Okta provisioning\"\n",
     s_create_opts, 1, 1, s_create},
    {"directories", "list", "directories list ORG_ID",
     "List an organization's SCIM directories (never their tokens).",
     "Columns: ID, NAME, BASE URL, CREATED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories list org_123\n",
     NULL, 1, 1, s_list},
    {"directories", "get", "directories get ID",
     "Show a SCIM directory with its live tokens' ids and ends.",
     "Examples:\n"
     "  ssoctl directories get dir_123\n",
     NULL, 1, 1, s_get},
    {"directories", "rotate-token", "directories rotate-token ID [--overlap SECONDS|90m|24h|7d]",
     "Give a SCIM directory a new bearer token; it is printed once.",
     "Options:\n"
     "  --overlap DURATION   how long the previous token keeps working: seconds, or a\n"
     "                       number with m, h or d; 0 to 7 days. 0 stops it at once.\n"
     "                       Default: 1h\n"
     "\n"
     "Put the new token into the identity provider within the overlap. Only the new token\n"
     "and the one it replaced work: rotating again ends the older one at once.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories rotate-token dir_123\n"
     "  ssoctl directories rotate-token dir_123 --overlap 24h\n"
     "  ssoctl directories rotate-token dir_123 --overlap 0   # the old token leaked\n",
     s_rotate_opts, 1, 1, s_rotate},
    {"directories", "delete", "directories delete ID",
     "Delete a SCIM directory with its tokens, users, groups and events.",
     "Examples:\n"
     "  ssoctl directories delete dir_123\n",
     NULL, 1, 1, s_delete},
    {"directories", "users", "directories users ID",
     "List the users a SCIM directory's identity provider provisioned.",
     "Deleted users are listed too, with when they were deleted, until the retention ends.\n"
     "Columns: ID, USER NAME, EMAIL, ACTIVE, EXTERNAL ID, DELETED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories users dir_123\n"
     "  ssoctl --json directories users dir_123\n",
     NULL, 1, 1, s_users},
    {"directories", "groups", "directories groups ID",
     "List the groups a SCIM directory's identity provider provisioned.",
     "Columns: ID, NAME, MEMBERS, EXTERNAL ID, DELETED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories groups dir_123\n",
     NULL, 1, 1, s_groups},
    {"directories", "events", "directories events ID [--limit N]",
     "Show a SCIM directory's sync events, newest first.",
     "Options:\n"
     "  --limit N   at most N events (1-10000; default 50)\n"
     "\n"
     "Columns: TIME, TYPE, RESOURCE, ID, DETAIL.\n"
     "\n"
     "Examples:\n"
     "  ssoctl directories events dir_123\n"
     "  ssoctl directories events dir_123 --limit 500 --json\n",
     s_events_opts, 1, 1, s_events},
    {0},
};
