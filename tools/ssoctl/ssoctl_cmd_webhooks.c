/* ssoctl webhooks: the endpoints that receive the broker's signed webhooks, their delivery log
   and manual redelivery. */
#include "ssoctl_cmd.h"
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What --events names, for help. */
#define EVENTS_HELP                                                                            \
    "login.succeeded, login.failed, connection.activated, connection.deactivated,\n"          \
    "                       directory.user.created|updated|deleted,\n"                        \
    "                       directory.group.created|updated|deleted|user_added|user_removed\n"

static const ssoctl_column_t s_list_columns[] = {
    {"ID", "id"},         {"URL", "url"},           {"EVENTS", "events"},
    {"DISABLED", "disabled"}, {"CREATED", "created_at"},
};

static const ssoctl_column_t s_detail_rows[] = {
    {"ID", "id"},
    {"URL", "url"},
    {"DESCRIPTION", "description"},
    {"EVENTS", "events"},
    {"DISABLED", "disabled"},
    /* Only create and rotate-secret answers carry it: it is shown once. */
    {"SECRET", "secret"},
    {"OLD SECRET SIGNS UNTIL", "previous_secret_expires_at"},
    {"CREATED", "created_at"},
    {"UPDATED", "updated_at"},
};

static const ssoctl_column_t s_delivery_columns[] = {
    {"ID", "id"},           {"EVENT", "event_type"},  {"STATUS", "status"},
    {"ATTEMPTS", "attempts"}, {"LAST HTTP", "last_http_status"}, {"NEXT", "next_attempt_at"},
    {"CREATED", "created_at"}, {"LAST ERROR", "last_error"},
};

/* --events "a,b" as a JSON array into body, when given (an empty name is refused here; the
   broker refuses unknown ones). 0 or a usage error. */
static int s_events(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, json_t *body)
{
    const char *events = ssoctl_args_get(args, "events");
    if (!events)
        return 0;
    json_t *list = json_array();
    for (const char *p = events; list;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > 64) {
            json_decref(list);
            return ssoctl_usage_error(ctx, "--events is a comma-separated list of event types");
        }
        json_array_append_new(list, json_stringn(p, len));
        if (!p[len])
            break;
        p += len + 1;
    }
    if (!list || json_object_set_new(body, "events", list) != 0)
        return ssoctl_fail(ctx, "--events must be UTF-8 text");
    return 0;
}

/* A string option into body[key], when given. 0 or EXIT_FAIL. */
static int s_text(ssoctl_ctx_t *ctx, const ssoctl_args_t *args, const char *option,
                  const char *key, json_t *body)
{
    const char *value = ssoctl_args_get(args, option);
    if (value && json_object_set_new(body, key, json_string(value)) != 0)
        return ssoctl_fail(ctx, "--%s must be UTF-8 text", option);
    return 0;
}

static void s_secret_note(ssoctl_ctx_t *ctx, const json_t *result)
{
    if (json_object_get(result, "secret") && !ctx->json)
        fprintf(ctx->err, "Save the secret now: it is shown only once. The app verifies each "
                          "webhook's webhook-signature with it (Standard Webhooks).\n");
}

static int s_create(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    int rc = ssoctl_nonempty(ctx, "URL", args->pos[0]);
    if (rc == 0 && ssoctl_args_get(args, "events"))
        rc = ssoctl_nonempty(ctx, "--events", ssoctl_args_get(args, "events"));
    if (rc != 0)
        return rc;
    json_t *body = json_pack("{s:s}", "url", args->pos[0]), *result = NULL;
    if (!body)
        return ssoctl_fail(ctx, "URL must be UTF-8 text");
    rc = s_events(ctx, args, body);
    if (rc == 0)
        rc = s_text(ctx, args, "description", "description", body);
    if (rc == 0)
        rc = ssoctl_call(ctx, "POST", "/webhooks", body, &result);
    if (rc == 0)
        rc = ssoctl_show_object(ctx, result, s_detail_rows, COUNT(s_detail_rows));
    if (rc == 0)
        s_secret_note(ctx, result);
    json_decref(result);
    json_decref(body);
    return rc;
}

static int s_list(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    (void) args;
    return ssoctl_show_all(ctx, "/webhooks", s_list_columns, COUNT(s_list_columns));
}

static int s_get(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_get_id(ctx, "ID", "/webhooks/", args->pos[0], s_detail_rows,
                         COUNT(s_detail_rows));
}

static int s_update(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc != 0)
        return rc;
    const char *disabled = ssoctl_args_get(args, "disabled");
    if (disabled && strcmp(disabled, "true") != 0 && strcmp(disabled, "false") != 0)
        return ssoctl_usage_error(ctx, "--disabled must be true or false");
    json_t *body = json_object(), *result = NULL;
    rc = body ? s_events(ctx, args, body) : ssoctl_fail(ctx, "out of memory");
    if (rc == 0)
        rc = s_text(ctx, args, "endpoint", "url", body);
    if (rc == 0)
        rc = s_text(ctx, args, "description", "description", body);
    if (rc == 0 && disabled)
        json_object_set_new(body, "disabled", json_boolean(!strcmp(disabled, "true")));
    if (rc == 0 && json_object_size(body) == 0)
        rc = ssoctl_usage_error(ctx, "nothing to change: give --endpoint, --events, "
                                     "--description or --disabled");
    char *path = rc == 0 ? ssoctl_path("/webhooks/", args->pos[0], NULL) : NULL;
    if (rc == 0)
        rc = path ? ssoctl_call_show(ctx, "PATCH", path, body, s_detail_rows,
                                     COUNT(s_detail_rows))
                  : ssoctl_fail(ctx, "out of memory");
    free(path);
    json_decref(result);
    json_decref(body);
    return rc;
}

static int s_delete(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    return ssoctl_delete_id(ctx, "ID", "/webhooks/", args->pos[0], "webhook");
}

static int s_rotate(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    json_t *result = NULL;
    int rc = ssoctl_rotate(ctx, args, "/webhooks/", "/secret/rotate", 7L * 86400, "7 days",
                           s_detail_rows, COUNT(s_detail_rows), &result);
    if (rc == 0)
        s_secret_note(ctx, result);
    json_decref(result);
    return rc;
}

static const char *const s_rotate_opts[] = {"overlap", NULL};

static int s_deliveries(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    static const ssoctl_filter_t filters[] = {{"status", "status", false}, {NULL, NULL, false}};
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/webhooks/", args->pos[0], "/deliveries", NULL);
    rc = path ? ssoctl_show_newest(ctx, args, path, filters, s_delivery_columns,
                                   COUNT(s_delivery_columns))
              : ssoctl_fail(ctx, "out of memory");
    free(path);
    return rc;
}

static int s_redeliver(ssoctl_ctx_t *ctx, const ssoctl_args_t *args)
{
    int rc = ssoctl_nonempty(ctx, "ID", args->pos[0]);
    if (rc == 0)
        rc = ssoctl_nonempty(ctx, "DELIVERY_ID", args->pos[1]);
    if (rc != 0)
        return rc;
    char *path = ssoctl_path("/webhooks/", args->pos[0], "/deliveries/", args->pos[1],
                             "/retry", NULL);
    rc = path ? ssoctl_call_show(ctx, "POST", path, NULL, s_delivery_columns,
                                 COUNT(s_delivery_columns))
              : ssoctl_fail(ctx, "out of memory");
    free(path);
    return rc;
}

static const char *const s_create_opts[] = {"events", "description", NULL};
static const char *const s_update_opts[] = {"endpoint", "events", "description", "disabled",
                                            NULL};
static const char *const s_deliveries_opts[] = {"status", "limit", NULL};

const ssoctl_cmd_t ssoctl_webhooks_cmds[] = {
    {"webhooks", "create", "webhooks create URL [--events LIST] [--description TEXT]",
     "Add an endpoint that receives signed webhooks; its secret is printed once.",
     "Options:\n"
     "  --events LIST        comma-separated event types to receive (default: all), of:\n"
     "                       " EVENTS_HELP
     "  --description TEXT   a note for people\n"
     "\n"
     "URL must use https (plain http only to a loopback host with\n"
     "SSO_ALLOW_PRIVATE_UPSTREAMS=1). Each delivery is a POST of {\"type\", \"timestamp\",\n"
     "\"data\"} with webhook-id, webhook-timestamp and webhook-signature headers (Standard\n"
     "Webhooks); verify it with the secret. Deliveries are retried for 3 days, in order per\n"
     "organization.\n"
     "\n"
     "Examples:\n"
     "  ssoctl webhooks create https://app.example.com/hooks/sso --events login.succeeded\n"
     "  ssoctl webhooks create https://app.example.com/hooks/sso \\\n"
     "      --events connection.activated,connection.deactivated --description \"Billing\"\n",
     s_create_opts, 1, 1, s_create},
    {"webhooks", "list", "webhooks list", "List the webhook endpoints (never their secrets).",
     "Columns: ID, URL, EVENTS, DISABLED, CREATED.\n"
     "\n"
     "Examples:\n"
     "  ssoctl webhooks list\n"
     "  ssoctl --json webhooks list\n",
     NULL, 0, 0, s_list},
    {"webhooks", "get", "webhooks get ID", "Show a webhook endpoint.",
     "Examples:\n"
     "  ssoctl webhooks get whk_123\n",
     NULL, 1, 1, s_get},
    {"webhooks", "update",
     "webhooks update ID [--endpoint URL] [--events LIST] [--description TEXT] "
     "[--disabled true|false]",
     "Change a webhook endpoint's URL, events, description, or pause it.",
     "Options:\n"
     "  --endpoint URL          the new URL (https)\n"
     "  --events LIST           the event types to receive from now on (replaces the list)\n"
     "  --description TEXT      a note for people\n"
     "  --disabled true|false   a disabled endpoint gets no new deliveries; those pending\n"
     "                          wait until it is enabled again (within their 3 days)\n"
     "\n"
     "Examples:\n"
     "  ssoctl webhooks update whk_123 --disabled true\n"
     "  ssoctl webhooks update whk_123 --events login.succeeded,login.failed\n",
     s_update_opts, 1, 1, s_update},
    {"webhooks", "delete", "webhooks delete ID",
     "Delete a webhook endpoint with its pending deliveries and their log.",
     "Examples:\n"
     "  ssoctl webhooks delete whk_123\n",
     NULL, 1, 1, s_delete},
    {"webhooks", "rotate-secret", "webhooks rotate-secret ID [--overlap SECONDS|90m|24h|7d]",
     "Give a webhook endpoint a new signing secret; it is printed once.",
     "Options:\n"
     "  --overlap DURATION   how long the old secret keeps signing beside the new one:\n"
     "                       seconds, or a number with m, h or d; 0 to 7 days. 0 stops it\n"
     "                       at once. Default: 24h\n"
     "\n"
     "During the overlap every delivery's webhook-signature carries both signatures\n"
     "(Standard Webhooks), so the app verifies with either secret: deploy the new one,\n"
     "then let the overlap end.\n"
     "\n"
     "Examples:\n"
     "  ssoctl webhooks rotate-secret whk_123\n"
     "  ssoctl webhooks rotate-secret whk_123 --overlap 0   # the old secret leaked\n",
     s_rotate_opts, 1, 1, s_rotate},
    {"webhooks", "deliveries", "webhooks deliveries ID [--status STATUS] [--limit N]",
     "Show a webhook endpoint's deliveries, newest first.",
     "Options:\n"
     "  --status STATUS   pending, delivered or failed\n"
     "  --limit N         at most N deliveries (1-10000; default 50)\n"
     "\n"
     "Columns: ID, EVENT, STATUS, ATTEMPTS, LAST HTTP, NEXT, CREATED, LAST ERROR.\n"
     "--json shows each attempt (time, HTTP status or error, duration).\n"
     "\n"
     "Examples:\n"
     "  ssoctl webhooks deliveries whk_123\n"
     "  ssoctl webhooks deliveries whk_123 --status failed\n",
     s_deliveries_opts, 1, 1, s_deliveries},
    {"webhooks", "redeliver", "webhooks redeliver ID DELIVERY_ID",
     "Send a delivery's message again (the same webhook-id), after the endpoint's others.",
     "Examples:\n"
     "  ssoctl webhooks redeliver whk_123 dlv_456\n",
     NULL, 2, 2, s_redeliver},
    {0},
};
