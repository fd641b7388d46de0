/* ssoctl admins: the developer dashboard's accounts and their one-time setup links. */
#include "ssoctl_cmd.h"
#include <stdlib.h>

static const ssoctl_column_t s_columns[] = {
    {"ID", "id"},
    {"EMAIL", "email"},
    {"STATUS", "status"},
    {"PASSWORD SET", "password_set"},
    {"LAST SIGN-IN", "last_sign_in_at"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

/* The setup link is shown once (only its hash is stored). */
static const ssoctl_column_t s_with_link[] = {
    {"ID", "id"},
    {"EMAIL", "email"},
    {"SETUP LINK", "setup_url"},
    {"EXPIRES", "setup_expires_at"},
};
#define NLINK (sizeof s_with_link / sizeof s_with_link[0])

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *email = ssoctl_args_get(args, "email");
    int rc = ssoctl_nonempty(ctx, "--email", email);
    if (rc != 0)
        return rc;
    json_t *body = json_pack("{s:s}", "email", email);
    if (!body)
        return ssoctl_fail(ctx, "--email must be UTF-8 text");
    rc = ssoctl_call_show(ctx, "POST", "/admins", body, s_with_link, NLINK);
    json_decref(body);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    json_t *list = NULL;
    const char *next = NULL;
    int rc = ssoctl_list(ctx, "/admins", 0, NULL, true, 0, &list, &next);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, s_columns, NCOLUMNS);
    json_decref(list);
    return rc;
}

/* POST /admins/ID/<action>, shown with columns. */
static int s_action(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *action,
                    const ssoctl_column_t *rows, size_t nrows)
{
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/admins/", args->pos[0], action, NULL);
    rc = path ? ssoctl_call_show(ctx, "POST", path, NULL, rows, nrows)
              : ssoctl_fail(ctx, "out of memory");
    free(path);
    return rc;
}

static int s_disable(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args, "/disable", s_columns, NCOLUMNS);
}

static int s_enable(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args, "/enable", s_columns, NCOLUMNS);
}

static int s_setup_link(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return s_action(ctx, args, "/setup_link", s_with_link, NLINK);
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/admins/", args->pos[0], "admin");
}

static const char *const s_create_opts[] = {"email", NULL};

const ssoctl_cmd_t ssoctl_admins_cmds[] = {
    {"admins", "create", "admins create --email EMAIL",
     "Create a developer dashboard account and print its one-time setup link.",
     "The link (valid 24 hours, once) is where the person sets a password; it is shown\n"
     "only now. Send it privately.\n"
     "\n"
     "Examples:\n"
     "  ssoctl admins create --email dev@example.com\n",
     s_create_opts, 0, 0, s_create},
    {"admins", "list", "admins list", "List the dashboard accounts.",
     "Columns: ID, EMAIL, STATUS, PASSWORD SET, LAST SIGN-IN.\n\nExamples:\n"
     "  ssoctl admins list --json\n", NULL, 0, 0, s_list},
    {"admins", "disable", "admins disable ID",
     "Disable an account: it cannot sign in, and its sessions end now.",
     "Examples:\n  ssoctl admins disable adm_123\n", NULL, 1, 1, s_disable},
    {"admins", "enable", "admins enable ID", "Enable a disabled account again.",
     "Examples:\n  ssoctl admins enable adm_123\n", NULL, 1, 1, s_enable},
    {"admins", "delete", "admins delete ID",
     "Delete an account with its sessions and setup link.",
     "Examples:\n  ssoctl admins delete adm_123\n", NULL, 1, 1, s_delete},
    {"admins", "setup-link", "admins setup-link ID",
     "Print a new one-time setup link for an account (the older one stops working).",
     "Use it when a link expired or was lost, or to reset a forgotten password.\n\n"
     "Examples:\n  ssoctl admins setup-link adm_123\n", NULL, 1, 1, s_setup_link},
    {0},
};
