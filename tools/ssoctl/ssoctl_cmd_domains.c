/* ssoctl domains: an organization's email domains, which route users to its connection. */
#include "ssoctl_cmd.h"
#include <stdlib.h>

static const ssoctl_column_t s_columns[] = {
    {"ID", "id"},
    {"DOMAIN", "domain"},
    {"ORGANIZATION", "organization_id"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

static int s_add(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    int rc = ssoctl_nonempty(ctx, "ORG_ID", args->pos[0]);
    if (rc == 0)
        rc = ssoctl_nonempty(ctx, "DOMAIN", args->pos[1]);
    if (rc != 0)
        return rc;
    json_t *body = json_pack("{s:s}", "domain", args->pos[1]);
    if (!body)
        return ssoctl_fail(ctx, "DOMAIN must be UTF-8 text");
    char *path = ssoctl_path("/organizations/", args->pos[0], "/domains", NULL);
    rc = ssoctl_call_show(ctx, "POST", path, body, s_columns, NCOLUMNS);
    free(path);
    json_decref(body);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_list(ctx, args, "/domains", s_columns, NCOLUMNS);
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_delete(ctx, args, "/domains/", "DOMAIN_ID", "domain");
}

const ssoctl_cmd_t ssoctl_domains_cmds[] = {
    {"domains", "add", "domains add ORG_ID DOMAIN",
     "Add an email domain to an organization.",
     "Users whose email is in DOMAIN sign in through the organization's connection.\n"
     "A domain belongs to one organization only.\n"
     "Domains match exactly (a.example.com is not example.com); public email domains\n"
     "such as gmail.com are refused.\n"
     "\n"
     "Examples:\n"
     "  ssoctl domains add org_123 acme.com\n",
     NULL, 2, 2, s_add},
    {"domains", "list", "domains list ORG_ID", "List an organization's domains.",
     "Columns: ID, DOMAIN, ORGANIZATION.\n"
     "\n"
     "Examples:\n"
     "  ssoctl domains list org_123\n",
     NULL, 1, 1, s_list},
    {"domains", "delete", "domains delete ORG_ID DOMAIN_ID", "Remove a domain.",
     "Examples:\n"
     "  ssoctl domains delete org_123 dom_456\n",
     NULL, 2, 2, s_delete},
    {0},
};
