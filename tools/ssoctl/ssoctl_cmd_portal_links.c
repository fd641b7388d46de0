/* ssoctl portal-links: the links that open the admin portal for an organization's IT admin. */
#include "ssoctl_cmd.h"
#include <stdlib.h>

static const ssoctl_column_t s_columns[] = {
    {"ID", "id"},
    {"CREATED", "created_at"},
    {"EXPIRES", "expires_at"},
    {"USED", "used_at"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

/* The link is shown once, with its location (the only time the token is seen). */
static const ssoctl_column_t s_created[] = {
    {"ID", "id"},
    {"ORGANIZATION", "organization_id"},
    {"LOCATION", "location"},
    {"EXPIRES", "expires_at"},
};

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    long expires_in = 0;
    int rc = ssoctl_nonempty(ctx, "ORG_ID", args->pos[0]);
    if (rc == 0)
        rc = ssoctl_int_option(ctx, args, "expires-in", 300, 2592000, &expires_in);
    if (rc != 0)
        return rc;
    json_t *body = expires_in ? json_pack("{s:I}", "expires_in", (json_int_t) expires_in)
                              : json_object();
    char *path = ssoctl_path("/organizations/", args->pos[0], "/portal_links", NULL);
    rc = body && path ? ssoctl_call_show(ctx, "POST", path, body, s_created,
                                         sizeof s_created / sizeof s_created[0])
                      : ssoctl_fail(ctx, "out of memory");
    free(path);
    json_decref(body);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_list(ctx, args, "/portal_links", s_columns, NCOLUMNS);
}

static int s_revoke(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_org_delete(ctx, args, "/portal_links/", "LINK_ID", "portal link");
}

static const char *const s_create_opts[] = {"expires-in", NULL};

const ssoctl_cmd_t ssoctl_portal_links_cmds[] = {
    {"portal-links", "create", "portal-links create ORG_ID [--expires-in SECONDS]",
     "Make a link that opens the admin portal for an organization.",
     "Send the LOCATION to the organization's IT admin: it opens the portal where they\n"
     "set up their identity provider. It is shown once (only its hash is stored) and\n"
     "works once; the session it opens ends after 30 minutes idle or 8 hours.\n"
     "\n"
     "  --expires-in SECONDS  the link's lifetime, 300 (5 minutes) to 2592000 (30 days);\n"
     "                        7 days when absent\n"
     "\n"
     "Examples:\n"
     "  ssoctl portal-links create org_123\n"
     "  ssoctl portal-links create org_123 --expires-in 86400\n",
     s_create_opts, 1, 1, s_create},
    {"portal-links", "list", "portal-links list ORG_ID",
     "List an organization's live portal links (never their tokens).",
     "Live: neither expired nor revoked. USED is when the link was opened, if it was.\n"
     "Columns: ID, CREATED, EXPIRES, USED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl portal-links list org_123\n",
     NULL, 1, 1, s_list},
    {"portal-links", "revoke", "portal-links revoke ORG_ID LINK_ID",
     "Revoke a portal link and end the portal session opened with it.",
     "Examples:\n"
     "  ssoctl portal-links revoke org_123 pl_456\n",
     NULL, 2, 2, s_revoke},
    {0},
};
