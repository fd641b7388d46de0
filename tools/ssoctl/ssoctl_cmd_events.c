/* ssoctl events: the login event log, newest first. */
#include "ssoctl_cmd.h"
#include <string.h>

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
    static const ssoctl_filter_t filters[] = {{"org", "organization_id", false},
                                              {"connection", "connection_id", false},
                                              {"outcome", "outcome", false},
                                              {"since", "since", true},
                                              {"until", "until", true},
                                              {NULL, NULL, false}};
    const char *outcome = ssoctl_args_get(args, "outcome");
    if (outcome && strcmp(outcome, "success") != 0 && strcmp(outcome, "failure") != 0)
        return ssoctl_usage_error(ctx, "--outcome must be success or failure");
    return ssoctl_show_newest(ctx, args, "/events", filters, s_columns, NCOLUMNS);
}

static const char *const s_opts[] = {"org", "connection", "outcome", "since", "until", "limit",
                                     NULL};

const ssoctl_cmd_t ssoctl_events_cmds[] = {
    {"events", NULL,
     "events [--org ORG_ID] [--connection CONN_ID] [--outcome success|failure] [--since WHEN] "
     "[--until WHEN] [--limit N]",
     "Show login events, newest first, with the reason a login failed.",
     "Options:\n"
     "  --org ORG_ID          only this organization's events\n"
     "  --connection CONN_ID  only this connection's events\n"
     "  --outcome OUTCOME     only the logins that succeeded (success) or failed (failure)\n"
     "  --since WHEN          only events at or after WHEN\n"
     "  --until WHEN          only events before WHEN\n"
     "  --limit N             at most N events (1-10000; default 50)\n"
     "\n"
     "WHEN is " SSOCTL_WHEN_HELP ".\n"
     "The broker does the filtering, so --limit counts the events that match.\n"
     "\n"
     "Columns: TIME, RESULT, EMAIL, ORGANIZATION, CONNECTION, REASON.\n"
     "\n"
     "Examples:\n"
     "  ssoctl events --org org_123\n"
     "  ssoctl events --outcome failure --since 24h\n"
     "  ssoctl events --since 2026-12-06T21:00:00Z --until 2026-12-07T09:00:00Z\n"
     "  ssoctl events --connection conn_456 --limit 5 --json\n",
     s_opts, 0, 0, s_events},
    {0},
};
