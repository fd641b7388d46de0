/* ssoctl events: the login event log, newest first. */
#include "ssoctl_cmd.h"
#include "ssoctl_util.h"
#include <stdlib.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 10000
#define PAGE_MAX 100

/* Alternatives in each column keep the view useful whichever of the usual names the log
   uses for a field. */
static const ssoctl_column_t s_columns[] = {
    {"TIME", "created_at|time|timestamp"},
    {"RESULT", "outcome|result|status"},
    {"EMAIL", "email|user.email"},
    {"ORGANIZATION", "organization_id"},
    {"CONNECTION", "connection_id"},
    {"REASON", "error_description|reason|error"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

static int s_events(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    long limit = DEFAULT_LIMIT;
    int rc = ssoctl_int_option(ctx, args, "limit", 1, MAX_LIMIT, &limit);
    if (rc != 0)
        return rc;
    const char *org = ssoctl_args_get(args, "org");
    const char *connection = ssoctl_args_get(args, "connection");
    if (org)
        rc = ssoctl_nonempty(ctx, "--org", org);
    if (rc == 0 && connection)
        rc = ssoctl_nonempty(ctx, "--connection", connection);
    if (rc != 0)
        return rc;
    ssoctl_buf_t path = {0};
    ssoctl_buf_puts(&path, "/events");
    const char *sep = "?";
    if (org) {
        ssoctl_buf_puts(&path, "?organization_id=");
        ssoctl_buf_encoded(&path, org);
        sep = "&";
    }
    if (connection) {
        ssoctl_buf_puts(&path, sep);
        ssoctl_buf_puts(&path, "connection_id=");
        ssoctl_buf_encoded(&path, connection);
    }
    char *path_text = ssoctl_buf_take(&path);
    if (!path_text)
        return ssoctl_fail(ctx, "out of memory");
    json_t *list = NULL;
    const char *next = NULL;
    rc = ssoctl_list(ctx, path_text, limit < PAGE_MAX ? limit : PAGE_MAX, NULL, false,
                     (size_t) limit, &list, &next);
    free(path_text);
    if (rc == 0)
        rc = ssoctl_show_list(ctx, list, s_columns, NCOLUMNS);
    if (rc == 0 && next && !ctx->json)
        fprintf(ctx->err, "Showing the newest %ld; use --limit for more.\n", limit);
    json_decref(list);
    return rc;
}

static const char *const s_opts[] = {"org", "connection", "limit", NULL};

const ssoctl_cmd_t ssoctl_events_cmds[] = {
    {"events", NULL, "events [--org ORG_ID] [--connection CONN_ID] [--limit N]",
     "Show login events, newest first, with the reason a login failed.",
     "Options:\n"
     "  --org ORG_ID          only this organization's events\n"
     "  --connection CONN_ID  only this connection's events\n"
     "  --limit N             at most N events (1-10000; default 50)\n"
     "\n"
     "Columns: TIME, RESULT, EMAIL, ORGANIZATION, CONNECTION, REASON.\n"
     "\n"
     "Examples:\n"
     "  ssoctl events --org org_123\n"
     "  ssoctl events --connection conn_456 --limit 5 --json\n",
     s_opts, 0, 0, s_events},
    {0},
};
