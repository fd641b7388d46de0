/* ssoctl events: the login event log, newest first. */
#include "ssoctl_cmd.h"

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
    static const char *const filters[][2] = {{"org", "organization_id"},
                                             {"connection", "connection_id"},
                                             {NULL, NULL}};
    return ssoctl_show_newest(ctx, args, "/events", filters, s_columns, NCOLUMNS);
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
