/* ssoctl orgs: organizations (the enterprise customers). */
#include "ssoctl_cmd.h"
#include "ssoctl_util.h"
#include <stdlib.h>

static const ssoctl_column_t s_columns[] = {
    {"ID", "id"},
    {"NAME", "display_name"},
    {"EXTERNAL ID", "external_id"},
    {"CREATED", "created_at"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *name = ssoctl_args_get(args, "name");
    const char *external_id = ssoctl_args_get(args, "external-id");
    if (!name)
        return ssoctl_usage_error(ctx, "--name is required");
    int rc = ssoctl_nonempty(ctx, "--name", name);
    if (rc == 0 && external_id)
        rc = ssoctl_nonempty(ctx, "--external-id", external_id);
    if (rc != 0)
        return rc;
    json_t *body = json_pack("{s:s}", "display_name", name);
    if (body && external_id
        && json_object_set_new(body, "external_id", json_string(external_id)) != 0) {
        json_decref(body);
        body = NULL;
    }
    if (!body)
        return ssoctl_fail(ctx, "--name and --external-id must be UTF-8 text");
    rc = ssoctl_call_show(ctx, "POST", "/organizations", body, s_columns, NCOLUMNS);
    json_decref(body);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    long page_size = 0;
    int rc = ssoctl_int_option(ctx, args, "page-size", 1, 1000, &page_size);
    if (rc != 0)
        return rc;
    bool all = ssoctl_args_flag(args, "all");
    const char *page_token = ssoctl_args_get(args, "page-token");
    if (all && page_token)
        return ssoctl_usage_error(ctx, "--all and --page-token do not go together");
    const char *search = ssoctl_args_get(args, "search");
    if (search && (rc = ssoctl_nonempty(ctx, "--search", search)) != 0)
        return rc;
    ssoctl_buf_t path = {0};
    ssoctl_buf_puts(&path, "/organizations");
    if (search) {
        ssoctl_buf_puts(&path, "?search=");
        ssoctl_buf_encoded(&path, search);
    }
    char *path_text = ssoctl_buf_take(&path);
    if (!path_text)
        return ssoctl_fail(ctx, "out of memory");
    json_t *list = NULL;
    const char *next = NULL;
    rc = ssoctl_list(ctx, path_text, page_size, page_token, all, 0, &list, &next);
    free(path_text);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, s_columns, NCOLUMNS);
    if (rc == 0 && next && !ctx->json)
        fprintf(ctx->err, "More organizations: %s --page-token %s (or --all)\n",
                search ? "the same command with" : "ssoctl orgs list", next);
    json_decref(list);
    return rc;
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_get_id(ctx, "ORG_ID", "/organizations/", args->pos[0], s_columns, NCOLUMNS);
}

/* PATCH /organizations/ID: only what is given changes. */
static int s_update(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    const char *name = ssoctl_args_get(args, "name");
    const char *external_id = ssoctl_args_get(args, "external-id");
    int rc = ssoctl_nonempty(ctx, "ORG_ID", args->pos[0]);
    if (rc == 0 && name)
        rc = ssoctl_nonempty(ctx, "--name", name);
    if (rc == 0 && external_id)
        rc = ssoctl_nonempty(ctx, "--external-id", external_id);
    if (rc == 0 && !name && !external_id)
        rc = ssoctl_usage_error(ctx, "nothing to change: give --name or --external-id");
    if (rc != 0)
        return rc;
    json_t *body = json_object();
    if (body
        && ((name && json_object_set_new(body, "display_name", json_string(name)) != 0)
            || (external_id
                && json_object_set_new(body, "external_id", json_string(external_id)) != 0))) {
        json_decref(body);
        return ssoctl_fail(ctx, "--name and --external-id must be UTF-8 text");
    }
    char *path = ssoctl_path("/organizations/", args->pos[0], NULL);
    rc = body && path ? ssoctl_call_show(ctx, "PATCH", path, body, s_columns, NCOLUMNS)
                      : ssoctl_fail(ctx, "out of memory");
    free(path);
    json_decref(body);
    return rc;
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ORG_ID", "/organizations/", args->pos[0], "organization");
}

static const char *const s_create_opts[] = {"name", "external-id", NULL};
static const char *const s_list_opts[] = {"search", "page-size", "page-token", "all", NULL};

const ssoctl_cmd_t ssoctl_orgs_cmds[] = {
    {"orgs", "create", "orgs create --name NAME [--external-id ID]",
     "Create an organization (an enterprise customer).",
     "Options:\n"
     "  --name NAME         display name, shown to the customer's users\n"
     "  --external-id ID    your own id for the customer (e.g. your tenant id); optional\n"
     "\n"
     "Examples:\n"
     "  ssoctl orgs create --name \"Acme Corp\"\n"
     "  ssoctl orgs create --name \"Acme Corp\" --external-id tenant-42 --json\n",
     s_create_opts, 0, 0, s_create},
    {"orgs", "list", "orgs list [--search TEXT] [--page-size N] [--page-token T] [--all]",
     "List organizations, one page at a time or all of them; or those a search finds.",
     "Options:\n"
     "  --search TEXT     only the organizations whose name contains TEXT (ASCII letters in\n"
     "                    any case), or whose external id, id or one of whose domains is\n"
     "                    TEXT; at most 200 bytes\n"
     "  --page-size N     organizations per page (1-1000; default: the server's)\n"
     "  --page-token T    continue from the token the previous page printed (with the same\n"
     "                    --search)\n"
     "  --all             fetch every page\n"
     "\n"
     "Columns: ID, NAME, EXTERNAL ID, CREATED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl orgs list\n"
     "  ssoctl orgs list --search acme\n"
     "  ssoctl orgs list --search acme.com --all --json\n",
     s_list_opts, 0, 0, s_list},
    {"orgs", "get", "orgs get ORG_ID", "Show one organization.",
     "Examples:\n"
     "  ssoctl orgs get org_123\n",
     NULL, 1, 1, s_get},
    {"orgs", "update", "orgs update ORG_ID [--name NAME] [--external-id ID]",
     "Rename an organization or change its external id.",
     "Only what is given changes; give at least one.\n"
     "  --name NAME         the new display name, shown to the customer's users\n"
     "  --external-id ID    your own id for the customer; another organization's is refused\n"
     "\n"
     "Examples:\n"
     "  ssoctl orgs update org_123 --name \"Acme Corporation\"\n"
     "  ssoctl orgs update org_123 --external-id tenant-42 --json\n",
     s_create_opts, 1, 1, s_update},
    {"orgs", "delete", "orgs delete ORG_ID",
     "Delete an organization.",
     "Examples:\n"
     "  ssoctl orgs delete org_123\n",
     NULL, 1, 1, s_delete},
    {0},
};
