/* ssoctl audit: the audit log of changes made through the management API and the dashboard. */
#include "ssoctl_cmd.h"


static const ssoctl_column_t s_columns[] = {
    {"TIME", "created_at"},   {"ACTOR", "actor"},   {"ACTION", "action"},
    {"TARGET", "target"},     {"STATUS", "status"}, {"FROM", "remote_addr"},
};
#define NCOLUMNS (sizeof s_columns / sizeof s_columns[0])

static int s_audit(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    static const ssoctl_filter_t filters[] = {{"actor", "actor", false},
                                              {"since", "since", true},
                                              {"until", "until", true},
                                              {NULL, NULL, false}};
    return ssoctl_show_newest(ctx, args, "/audit", filters, s_columns, NCOLUMNS);
}

static const char *const s_opts[] = {"actor", "since", "until", "limit", NULL};

const ssoctl_cmd_t ssoctl_audit_cmds[] = {
    {"audit", NULL, "audit [--actor A] [--since WHEN] [--until WHEN] [--limit N]",
     "Show the audit log, newest first: who changed what, when and from where.",
     "Options:\n"
     "  --actor A      only changes by A (an admin's email or a client's id)\n"
     "  --since WHEN   only changes at or after WHEN\n"
     "  --until WHEN   only changes before WHEN\n"
     "  --limit N      at most N rows (1-10000; default 50)\n"
     "\n"
     "WHEN is " SSOCTL_WHEN_HELP ".\n"
     "\n"
     "Columns: TIME, ACTOR, ACTION, TARGET, STATUS, FROM.\n"
     "\n"
     "Examples:\n"
     "  ssoctl audit --actor dev@example.com --limit 20\n"
     "  ssoctl audit --since 7d\n",
     s_opts, 0, 0, s_audit},
    {0},
};
